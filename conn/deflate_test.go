package conn_test

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/fragment"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/deflate"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/status"
)

// loop is one end of an in-memory connection that never blocks: what is
// written goes to out, reads come from in. It lets one goroutine play
// both ends.
type loop struct{ in, out *bytes.Buffer }

func (l loop) Read(p []byte) (int, error)     { return l.in.Read(p) }
func (l loop) Write(p []byte) (int, error)    { return l.out.Write(p) }
func (loop) Close() error                     { return nil }
func (loop) SetReadDeadline(time.Time) error  { return nil }
func (loop) SetWriteDeadline(time.Time) error { return nil }

// deflatePair returns a client and a server Conn that agreed p, joined by
// buffers: c2s holds what the client sent and the server has not read,
// s2c the reverse.
func deflatePair(p handshake.DeflateParams, client, server conn.Config) (c, s *conn.Conn, c2s, s2c *bytes.Buffer) {
	c2s, s2c = new(bytes.Buffer), new(bytes.Buffer)
	if client.Compression == nil {
		client.Compression = &conn.Compression{}
	}
	if server.Compression == nil {
		server.Compression = &conn.Compression{}
	}
	client.Compression.Agreed, server.Compression.Agreed = p, p
	server.Role = conn.RoleServer
	return conn.New(loop{in: s2c, out: c2s}, &client), conn.New(loop{in: c2s, out: s2c}, &server), c2s, s2c
}

// textOf returns n bytes of text that compress well but not trivially.
func textOf(n int, seed int) []byte {
	var b []byte
	for i := seed; len(b) < n; i++ {
		b = fmt.Appendf(b, `{"id":%d,"name":"user%d","tags":["a","b%d"],"ok":%t}`+"\n", i, i*7%1000, i%13, i%3 == 0)
	}
	return b[:n]
}

// exchange sends m from one Conn to the other and checks it arrives,
// compressed (RSV1) when compress is true; it returns the wire size of the
// frame's payload.
func exchange(t *testing.T, from, to *conn.Conn, wire *bytes.Buffer, m []byte, compress bool) int {
	t.Helper()
	ctx := context.Background()
	if err := from.WriteMessage(ctx, frame.OpText, m); err != nil {
		t.Fatalf("WriteMessage(%d bytes): %v", len(m), err)
	}
	h, _, err := frame.ParseHeader(wire.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if h.Rsv1 != compress {
		t.Fatalf("message of %d bytes sent with RSV1 %v, want %v", len(m), h.Rsv1, compress)
	}
	op, got, err := to.ReadMessage(ctx)
	if err != nil || op != frame.OpText || !bytes.Equal(got, m) {
		t.Fatalf("ReadMessage = %v, %d bytes (equal %v), %v; want the %d bytes sent", op, len(got), bytes.Equal(got, m), err, len(m))
	}
	return int(h.Length)
}

// Messages go both ways, compressed above the threshold, with and without
// context takeover each way and with small windows; without takeover an
// identical message compresses to the same size each time, with it the
// second copy is far smaller.
func TestDeflateRoundTrip(t *testing.T) {
	for _, p := range []handshake.DeflateParams{
		{},
		{ClientNoContextTakeover: true},
		{ServerNoContextTakeover: true},
		{ClientNoContextTakeover: true, ServerNoContextTakeover: true},
		{ClientMaxWindowBits: 9, ServerMaxWindowBits: 10},
		{ClientMaxWindowBits: 8, ServerMaxWindowBits: 8, ServerNoContextTakeover: true},
	} {
		t.Run(p.String(), func(t *testing.T) {
			c, s, c2s, s2c := deflatePair(p, conn.Config{}, conn.Config{})
			for _, n := range []int{0, 1, 100, 127, 128, 1000, 3000, 40000, 200000} {
				m := textOf(n, n)
				for _, dir := range []struct {
					name       string
					from, to   *conn.Conn
					wire       *bytes.Buffer
					noTakeover bool
				}{
					{"client to server", c, s, c2s, p.ClientNoContextTakeover},
					{"server to client", s, c, s2c, p.ServerNoContextTakeover},
				} {
					first := exchange(t, dir.from, dir.to, dir.wire, m, n >= conn.DefaultCompressionThreshold)
					second := exchange(t, dir.from, dir.to, dir.wire, m, n >= conn.DefaultCompressionThreshold)
					if n < 1000 {
						continue
					}
					if first > n/2 {
						t.Errorf("%s: %d bytes compressed to %d", dir.name, n, first)
					}
					if dir.noTakeover && second != first {
						t.Errorf("%s without context takeover: the same %d bytes took %d then %d", dir.name, n, first, second)
					}
					if !dir.noTakeover && p.ClientMaxWindowBits == 0 && n <= 3000 && second >= first/2 {
						t.Errorf("%s with context takeover: the same %d bytes took %d then %d", dir.name, n, first, second)
					}
				}
			}
		})
	}
}

// The threshold: a negative one compresses every message, the empty one
// included; a large one leaves messages below it as they are.
func TestDeflateThreshold(t *testing.T) {
	c, s, c2s, _ := deflatePair(handshake.DeflateParams{},
		conn.Config{Compression: &conn.Compression{Threshold: -1}}, conn.Config{})
	exchange(t, c, s, c2s, nil, true)
	exchange(t, c, s, c2s, []byte("a"), true)
	c, s, c2s, _ = deflatePair(handshake.DeflateParams{},
		conn.Config{Compression: &conn.Compression{Threshold: 5000}}, conn.Config{})
	exchange(t, c, s, c2s, textOf(4999, 0), false)
	exchange(t, c, s, c2s, textOf(5000, 0), true)
	// WriteFrame never compresses; control frames neither.
	if err := c.WriteFrame(context.Background(), frame.New(frame.OpText, textOf(6000, 0))); err != nil {
		t.Fatal(err)
	}
	if h, _, _ := frame.ParseHeader(c2s.Bytes()); h.Rsv1 {
		t.Error("WriteFrame compressed its frame")
	}
	c2s.Reset()
	if err := c.Ping(context.Background(), textOf(125, 0)); err != nil {
		t.Fatal(err)
	}
	if h, _, _ := frame.ParseHeader(c2s.Bytes()); h.Rsv1 {
		t.Error("a ping was compressed")
	}
}

// For every window size, what the client sends inflates with compress/flate
// given only the last 2^bits bytes of the earlier messages as history: no
// back-reference reaches farther into them.
func TestDeflateWindowBits(t *testing.T) {
	for bits := 8; bits <= 15; bits++ {
		p := handshake.DeflateParams{ClientMaxWindowBits: bits, ServerMaxWindowBits: bits}
		c, s, _, _ := deflatePair(p, conn.Config{Compression: &conn.Compression{Preset: conn.CompressionBest}}, conn.Config{})
		var hist []byte
		for i := range 6 {
			m := textOf(3000*(i+1), i*100)
			if err := c.WriteMessage(context.Background(), frame.OpText, m); err != nil {
				t.Fatal(err)
			}
			f, err := s.ReadFrame(context.Background(), nil)
			if err != nil || !f.Rsv1 {
				t.Fatalf("bits %d: ReadFrame = %v, %v", bits, f.Header, err)
			}
			dict := hist[max(len(hist)-1<<bits, 0):]
			r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(f.Payload), strings.NewReader("\x00\x00\xff\xff\x01\x00\x00\xff\xff")), dict)
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, m) {
				t.Fatalf("bits %d, message %d: compress/flate gave %d bytes (equal %v), %v", bits, i, len(got), bytes.Equal(got, m), err)
			}
			hist = append(hist, m...)
		}
	}
}

// flateMessage compresses m as a permessage-deflate peer would, with w
// (which keeps its history), and returns the payload without 00 00 ff ff.
func flateMessage(t testing.TB, w *flate.Writer, buf *bytes.Buffer, m []byte) []byte {
	t.Helper()
	buf.Reset()
	w.Write(m)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	return bytes.Clone(b[:len(b)-4])
}

// serverFrames encodes frames as a server sends them.
func serverFrames(frames ...frame.Frame) []byte {
	var b []byte
	for _, f := range frames {
		b, _ = f.AppendBinary(b)
	}
	return b
}

// fragments splits a compressed payload into frames of at most size bytes,
// RSV1 on the first, with a ping after the first.
func fragments(op frame.Opcode, p []byte, size int) []frame.Frame {
	var fs []frame.Frame
	for first := true; first || len(p) > 0; first = false {
		k := min(size, len(p))
		h := frame.Header{Fin: k == len(p), Opcode: frame.OpContinuation}
		if first {
			h.Opcode, h.Rsv1 = op, true
		}
		fs = append(fs, frame.Frame{Header: h, Payload: p[:k]})
		if first {
			fs = append(fs, frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPing}, Payload: []byte("mid")})
		}
		p = p[k:]
	}
	return fs
}

// Fragmented compressed messages from a peer that keeps its context are
// inflated whole (ReadMessage) and fragment by fragment (DeliverFragments),
// with a ping between fragments and fragments as small as one byte.
func TestDeflateFragmented(t *testing.T) {
	for _, fire := range []bool{false, true} {
		for _, size := range []int{1, 7, 1000, 1 << 20} {
			t.Run(fmt.Sprintf("fire=%v,size=%d", fire, size), func(t *testing.T) {
				c, _, _, s2c := deflatePair(handshake.DeflateParams{}, conn.Config{DeliverFragments: fire}, conn.Config{})
				var buf bytes.Buffer
				w, _ := flate.NewWriter(&buf, flate.BestSpeed)
				for i, n := range []int{5000, 300, 70000} {
					if size == 1 && n > 5000 {
						n = 5000
					}
					m := textOf(n, i)
					s2c.Write(serverFrames(fragments(frame.OpText, flateMessage(t, w, &buf, m), size)...))
					var got []byte
					for {
						f, err := c.ReadDataFrame(context.Background(), nil)
						if err != nil {
							t.Fatal(err)
						}
						got = append(got, f.Payload...)
						if f.Fin {
							break
						}
						if !fire {
							t.Fatal("a fragment returned without DeliverFragments")
						}
					}
					if !bytes.Equal(got, m) {
						t.Fatalf("message %d: got %d bytes, want %d", i, len(got), n)
					}
				}
			})
		}
	}
}

// readFailure reads until an error and checks it fails the connection
// with code.
func readFailure(t *testing.T, c *conn.Conn, code uint16) error {
	t.Helper()
	_, _, err := c.ReadMessage(context.Background())
	var fe *frame.Error
	if !errors.As(err, &fe) || uint16(fe.Code) != code {
		t.Fatalf("ReadMessage error %v, want a failure with %d", err, code)
	}
	return err
}

// Data that does not inflate fails the connection with 1007; RSV1 on a
// continuation frame with 1002.
func TestDeflateBadInput(t *testing.T) {
	c, _, _, s2c := deflatePair(handshake.DeflateParams{}, conn.Config{}, conn.Config{})
	s2c.Write(serverFrames(frame.Frame{Header: frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpBinary}, Payload: []byte{0xff, 0xff, 0xff, 0xff}}))
	readFailure(t, c, 1007)

	c, _, _, s2c = deflatePair(handshake.DeflateParams{}, conn.Config{}, conn.Config{})
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	p := flateMessage(t, w, &buf, textOf(1000, 0))
	s2c.Write(serverFrames(
		frame.Frame{Header: frame.Header{Rsv1: true, Opcode: frame.OpText}, Payload: p[:10]},
		frame.Frame{Header: frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpContinuation}, Payload: p[10:]},
	))
	readFailure(t, c, 1002)

	// A back-reference beyond the window the server agreed to, 2^9 bytes
	// here, is an inflate error, and so is a message cut inside a block.
	r := binaryOf(1200, 7)
	for i := range r {
		r[i] ^= byte(i * 131) // no repeat within 600 bytes
	}
	far := append(r[:600:600], r[:600]...)
	z, _ := deflate.NewCompressor(deflate.Config{WindowBits: 15})
	wide := z.Flush(z.Compress(nil, far))
	p9 := handshake.DeflateParams{ServerMaxWindowBits: 9}
	c, _, _, s2c = deflatePair(p9, conn.Config{}, conn.Config{})
	s2c.Write(serverFrames(frame.Frame{Header: frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpBinary}, Payload: wide[:len(wide)-4]}))
	if err := readFailure(t, c, 1007); !errors.Is(err, deflate.ErrDistance) {
		t.Errorf("beyond the window: %v, want deflate.ErrDistance", err)
	}
	c, _, _, s2c = deflatePair(handshake.DeflateParams{}, conn.Config{}, conn.Config{})
	s2c.Write(serverFrames(frame.Frame{Header: frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpText}, Payload: p[:len(p)-3]}))
	readFailure(t, c, 1007)

	// An empty message compressed by RFC 7692's rules is the byte 00
	// (§7.2.3.6); no payload at all does not inflate.
	c, _, _, s2c = deflatePair(handshake.DeflateParams{}, conn.Config{}, conn.Config{})
	s2c.Write(serverFrames(frame.Frame{Header: frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpText}, Payload: []byte{0}}))
	if _, m, err := c.ReadMessage(context.Background()); err != nil || len(m) != 0 {
		t.Errorf("the empty message 00: %q, %v; want an empty message", m, err)
	}
	s2c.Write(serverFrames(frame.Frame{Header: frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpText}}))
	readFailure(t, c, 1007)
}

// A compressed frame whose header declares more than the limit, alone or
// with the frames of the message before it, fails with 1009 before its
// payload is read or any room is made for it.
func TestDeflateDeclaredLength(t *testing.T) {
	header := func(h frame.Header) []byte {
		b, err := h.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hello := []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00} // RFC 7692 §7.2.3.1
	for _, wire := range [][]byte{
		append(header(frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpBinary, Length: 1<<20 + 1}), hello...),
		append(serverFrames(frame.Frame{Header: frame.Header{Rsv1: true, Opcode: frame.OpText}, Payload: hello[:4]}),
			append(header(frame.Header{Fin: true, Opcode: frame.OpContinuation, Length: 1<<20 - 3}), hello[4:]...)...),
	} {
		c, _, _, s2c := deflatePair(handshake.DeflateParams{}, conn.Config{MaxMessageSize: 1 << 20}, conn.Config{})
		s2c.Write(wire)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		readFailure(t, c, 1009)
		runtime.ReadMemStats(&after)
		// The inflater's 32 KiB window and the Conn's buffers, nothing
		// near the megabyte declared.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 128<<10 {
			t.Errorf("allocated %d KiB for a frame refused by its header", alloc>>10)
		}
	}
}

// zeroStream returns a raw DEFLATE stream of n MiB of zeros, without its
// last 00 00 ff ff: one compressed MiB repeated, each copy byte-aligned.
func zeroStream(t testing.TB, n int) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(make([]byte, 1<<20))
	w.Flush()
	one := buf.Bytes()
	return bytes.Repeat(one, n)[:len(one)*n-4]
}

// A bomb: about 1 MB on the wire that inflates to 1 GiB, or half that
// to half as much under a limit of 1 MiB (a frame over the limit is
// refused by its header), stops at the message limit with 1009, having
// allocated about what the limit needs.
func TestDeflateBomb(t *testing.T) {
	for _, limit := range []int64{1 << 20, 0} {
		bomb := zeroStream(t, 1024)
		if limit > 0 {
			bomb = zeroStream(t, 512)
		}
		c, _, _, s2c := deflatePair(handshake.DeflateParams{}, conn.Config{MaxMessageSize: limit}, conn.Config{})
		s2c.Write(serverFrames(frame.Frame{Header: frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpBinary}, Payload: bomb}))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		readFailure(t, c, 1009)
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		if limit == 0 {
			limit = 32 << 20
		}
		t.Logf("limit %d MiB, wire %d bytes: allocated %d KiB while reading", limit>>20, len(bomb), alloc>>10)
		if alloc > 4*uint64(limit) {
			t.Errorf("allocated %d KiB for a message limited to %d KiB", alloc>>10, limit>>10)
		}
	}
	// The sum of the compressed frames is limited too: empty stored
	// blocks inflate to nothing.
	c, _, _, s2c := deflatePair(handshake.DeflateParams{}, conn.Config{MaxMessageSize: 100}, conn.Config{})
	s2c.Write(serverFrames(fragments(frame.OpBinary, bytes.Repeat([]byte{0, 0, 0, 0xff, 0xff}, 200), 60)...))
	readFailure(t, c, 1009)
}

// A peer cannot keep a message open for ever with empty fragments: each
// empty continuation frame that is not final counts
// fragment.EmptyFrameCost against the message limit, so an endless run of
// them fails the connection with 1009, compressed or not, whole or
// streamed. Without that cost the reads below would run to the end of the
// stream, and an endless one would never end.
func TestEmptyFragmentsBounded(t *testing.T) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	deflated := flateMessage(t, w, &buf, []byte("x"))
	for _, compressed := range []bool{false, true} {
		for _, read := range []struct {
			name string
			f    func(c *conn.Conn) error
		}{
			{"ReadMessage", func(c *conn.Conn) error {
				_, _, err := c.ReadMessage(context.Background())
				return err
			}},
			{"NextReader", func(c *conn.Conn) error {
				_, r, err := c.NextReader(context.Background())
				if err == nil {
					_, err = io.Copy(io.Discard, r)
				}
				return err
			}},
		} {
			t.Run(fmt.Sprintf("compressed=%v/%s", compressed, read.name), func(t *testing.T) {
				const limit = 1000
				c, _, _, s2c := deflatePair(handshake.DeflateParams{}, conn.Config{MaxMessageSize: limit}, conn.Config{})
				first := frame.Frame{Header: frame.Header{Opcode: frame.OpBinary}, Payload: []byte("x")}
				if compressed {
					first.Rsv1, first.Payload = true, deflated
				}
				fs := []frame.Frame{first}
				for range limit/fragment.EmptyFrameCost + 1 {
					fs = append(fs, frame.Frame{Header: frame.Header{Opcode: frame.OpContinuation}})
				}
				s2c.Write(serverFrames(fs...))
				err := read.f(c)
				var fe *frame.Error
				if !errors.As(err, &fe) || fe.Code != status.MessageTooBig {
					t.Fatalf("read = %v, want a failure with 1009", err)
				}
			})
		}
	}
}

// A read that times out in the middle of a compressed message, inside a
// frame or between two of its frames, returns a *TimeoutError, and the
// next read returns the whole message.
func TestDeflateTimeoutResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := conn.New(a, &conn.Config{Compression: &conn.Compression{}})
		defer c.CloseNow()
		go io.Copy(io.Discard, b)
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.BestSpeed)
		for _, size := range []int{1 << 20, 3000} {
			m := textOf(20000, size)
			wire := serverFrames(fragments(frame.OpText, flateMessage(t, w, &buf, m), size)...)
			third := len(wire) / 3
			for range 2 {
				cut := third
				go b.Write(wire[:cut])
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, got, err := c.ReadMessage(ctx)
				cancel()
				var te *conn.TimeoutError
				if !errors.As(err, &te) {
					t.Fatalf("frames of %d, cut at %d: ReadMessage = %d bytes, %v, want a *TimeoutError", size, cut, len(got), err)
				}
				wire = wire[cut:]
			}
			go b.Write(wire)
			_, got, err := c.ReadMessage(context.Background())
			if err != nil || !bytes.Equal(got, m) {
				t.Fatalf("after the timeouts: %d bytes (equal %v), %v", len(got), bytes.Equal(got, m), err)
			}
		}
	})
}

// With context takeover both ways, a Conn sends and receives compressed
// messages without allocating.
func TestDeflateNoAllocs(t *testing.T) {
	if conn.RaceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		m    []byte
		p    handshake.DeflateParams
		op   frame.Opcode
	}{
		{"json-2KB", textOf(2000, 0), handshake.DeflateParams{}, frame.OpText},
		{"json-64KiB", textOf(64<<10, 0), handshake.DeflateParams{}, frame.OpText},
		{"text-64KiB", proseOf(64<<10, 0), handshake.DeflateParams{}, frame.OpText},
		{"binary-64KiB", binaryOf(64<<10, 0), handshake.DeflateParams{}, frame.OpBinary},
		{"json-64KiB/no-takeover", textOf(64<<10, 0), handshake.DeflateParams{ClientNoContextTakeover: true, ServerNoContextTakeover: true}, frame.OpText},
	} {
		c, s, _, _ := deflatePair(tc.p, conn.Config{}, conn.Config{})
		buf := make([]byte, 0, 4096)
		round := func() {
			if err := c.WriteMessage(ctx, tc.op, tc.m); err != nil {
				t.Fatal(err)
			}
			f, err := s.ReadDataFrame(ctx, buf[:0])
			if err != nil || !bytes.Equal(f.Payload, tc.m) {
				t.Fatal(err)
			}
			buf = f.Payload
		}
		round()
		round()
		send := testing.AllocsPerRun(50, func() {
			if err := c.WriteMessage(ctx, tc.op, tc.m); err != nil {
				t.Fatal(err)
			}
		})
		recv := testing.AllocsPerRun(50, func() {
			f, err := s.ReadDataFrame(ctx, buf[:0])
			if err != nil {
				t.Fatal(err)
			}
			buf = f.Payload
		})
		if send != 0 || recv != 0 {
			t.Errorf("%s: per message: %v allocations to send, %v to receive; want 0", tc.name, send, recv)
		}
	}
}

// The agreement is visible on the Conn and in the trace.
func TestDeflateAgreementShown(t *testing.T) {
	var trace bytes.Buffer
	p := handshake.DeflateParams{ClientMaxWindowBits: 12, ServerNoContextTakeover: true}
	c, _, _, _ := deflatePair(p, conn.Config{Trace: &trace}, conn.Config{})
	if got, ok := c.Compression(); !ok || got != p {
		t.Errorf("Compression() = %+v, %v", got, ok)
	}
	if want := "permessage-deflate; server_no_context_takeover; client_max_window_bits=12"; !strings.Contains(trace.String(), want) {
		t.Errorf("trace %q lacks %q", trace.String(), want)
	}
	if _, ok := conn.New(loop{in: new(bytes.Buffer), out: new(bytes.Buffer)}, nil).Compression(); ok {
		t.Error("Compression() true without compression")
	}
}

// A compressed message written with NextWriter in many Writes goes out
// as it is compressed: several frames, RSV1 on the first only, whose
// payloads joined inflate to the message with a window-limited inflater
// that takes them one by one, with the history of the message before
// under context takeover and with none without. The receiving Conn reads
// the same messages.
func TestDeflateStreamFragments(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		p    handshake.DeflateParams
		bits int
	}{
		{"takeover, 9 bits", handshake.DeflateParams{ClientMaxWindowBits: 9}, 9},
		{"takeover, 15 bits", handshake.DeflateParams{}, 15},
		{"no takeover, 10 bits", handshake.DeflateParams{ClientMaxWindowBits: 10, ClientNoContextTakeover: true}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp := &conn.Compression{Preset: conn.CompressionBest} // a 32 KiB window, cut to the agreement
			c, s, _, _ := deflatePair(tc.p, conn.Config{Compression: cp}, conn.Config{})
			inf, err := deflate.NewInflater(tc.bits)
			if err != nil {
				t.Fatal(err)
			}
			write := func(m []byte) {
				w, err := c.NextWriter(ctx, frame.OpText)
				if err != nil {
					t.Fatal(err)
				}
				for p, k := m, 1; len(p) > 0; k = k*7%4093 + 1 {
					k = min(k, len(p))
					if _, err := w.Write(p[:k]); err != nil {
						t.Fatal(err)
					}
					p = p[k:]
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 3 {
				m := proseOf(512<<10, i)
				write(m)
				if tc.p.ClientNoContextTakeover {
					inf.Reset()
				}
				var got []byte
				out := make([]byte, 1000)
				frames := 0
				for fin := false; !fin; frames++ {
					f, err := s.ReadFrame(ctx, nil)
					if err != nil {
						t.Fatal(err)
					}
					fin = f.Fin
					wantOp := frame.OpContinuation
					if frames == 0 {
						wantOp = frame.OpText
					}
					if f.Opcode != wantOp || f.Rsv1 != (frames == 0) {
						t.Fatalf("message %d, frame %d: %v rsv1=%v", i, frames, f.Opcode, f.Rsv1)
					}
					p := f.Payload
					if fin {
						p = append(p, 0, 0, 0xff, 0xff) // RFC 7692 §7.2.2
					}
					for len(p) > 0 {
						n, used, err := inf.Inflate(out, p)
						if err != nil {
							t.Fatalf("message %d, frame %d: %v", i, frames, err)
						}
						got, p = append(got, out[:n]...), p[used:]
					}
				}
				for n := 1; n > 0; {
					n, _, _ = inf.Inflate(out, nil)
					got = append(got, out[:n]...)
				}
				if !bytes.Equal(got, m) {
					t.Fatalf("message %d: %d frames inflate to %d bytes, differing from the %d sent", i, frames, len(got), len(m))
				}
				if frames < 3 {
					t.Errorf("message %d of %d bytes went out in %d frames", i, len(m), frames)
				}
				if i == 0 {
					t.Logf("%d bytes in %d frames", len(m), frames)
				}
			}
			// The receiving Conn inflates fragmented messages too, its
			// history now that of the frames read raw: start a new pair.
			c, s, _, _ = deflatePair(tc.p, conn.Config{Compression: cp}, conn.Config{})
			for i := range 2 {
				m := proseOf(200<<10, 10+i)
				write(m)
				if _, got, err := s.ReadMessage(ctx); err != nil || !bytes.Equal(got, m) {
					t.Fatalf("ReadMessage: %d bytes, %v", len(got), err)
				}
			}
		})
	}
}

// The bytes a client sends depend on the messages and the agreement only,
// not on what the compressors taken from the pool without context
// takeover compressed before: the same sequence sent twice on fresh
// connections is the same on the wire. Before the second run, a message
// leaves in the pooled compressor's hash table positions that point at a
// copy of the sequence's last 100 bytes 500 bytes back, where a new
// compressor finds only one beyond its window. Masks are fixed so that the
// frames compare whole.
func TestDeflateDeterministic(t *testing.T) {
	key := func() mask.Key { return mask.Key{1, 2, 3, 4} }
	r := rand.New(rand.NewPCG(1, 2))
	letters := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcdefghijklmnop"[r.IntN(16)]
		}
		return b
	}
	for _, tc := range []struct {
		preset conn.CompressionPreset
		p      handshake.DeflateParams
	}{
		{conn.CompressionDefault, handshake.DeflateParams{ClientNoContextTakeover: true, ServerNoContextTakeover: true}},
		{conn.CompressionSmall, handshake.DeflateParams{ClientNoContextTakeover: true}},
		{conn.CompressionDefault, handshake.DeflateParams{ClientNoContextTakeover: true, ClientMaxWindowBits: 9}},
		{conn.CompressionDefault, handshake.DeflateParams{}},
		{conn.CompressionSmall, handshake.DeflateParams{ClientMaxWindowBits: 9}},
	} {
		bits := map[conn.CompressionPreset]int{conn.CompressionDefault: 12, conn.CompressionSmall: 10}[tc.preset]
		if tc.p.ClientMaxWindowBits != 0 {
			bits = min(bits, tc.p.ClientMaxWindowBits)
		}
		// R, then R[500:700] where R[500] is just within the window, and
		// R[500:600] again 500 bytes later, beyond the window from R.
		head := letters(1000)
		at := max(1<<bits+250, 1000)
		m := append(append(append(append(bytes.Clone(head), letters(at-1000)...), head[500:700]...), letters(300)...), head[500:600]...)
		seq := [][]byte{m, wordsOf(3000, 1), m}
		send := func(before []byte) []byte {
			cfg := conn.Config{MaskKey: key, Compression: &conn.Compression{Preset: tc.preset, Threshold: -1}}
			if before != nil {
				c, s, _, _ := deflatePair(tc.p, cfg, conn.Config{})
				if err := c.WriteMessage(context.Background(), frame.OpBinary, before); err != nil {
					t.Fatal(err)
				}
				if _, _, err := s.ReadMessage(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			c, s, c2s, _ := deflatePair(tc.p, cfg, conn.Config{})
			var wire []byte
			for _, m := range seq {
				if err := c.WriteMessage(context.Background(), frame.OpBinary, m); err != nil {
					t.Fatal(err)
				}
				wire = append(wire, c2s.Bytes()...)
				if _, got, err := s.ReadMessage(context.Background()); err != nil || !bytes.Equal(got, m) {
					t.Fatalf("ReadMessage: %d bytes, %v", len(got), err)
				}
			}
			return wire
		}
		want := send(nil)
		// The message before leaves R[500:600] at m's positions of
		// R[500:700].
		if got := send(append(make([]byte, at), head[500:600]...)); !bytes.Equal(got, want) {
			t.Errorf("%v, %v: the same messages sent again are %d bytes on the wire, first %d", tc.preset, tc.p, len(got), len(want))
		}
	}
}

// wordsOf returns n bytes of JSON-like text made of words picked by a
// generator seeded with seed.
func wordsOf(n int, seed uint64) []byte {
	words := strings.Fields("id name user event value status ok error time tags type data items count price region alpha beta gamma delta")
	r := rand.New(rand.NewPCG(seed, 1))
	var b []byte
	for len(b) < n {
		b = fmt.Appendf(b, `{"%s":%d,"%s":"%s%d"}`+"\n",
			words[r.IntN(len(words))], r.IntN(100000), words[r.IntN(len(words))], words[r.IntN(len(words))], r.IntN(1000))
	}
	return b[:n]
}

// ReadFrame returns the frames of compressed messages as they arrived,
// RSV1 set on the first, and the Conn still inflates their payloads under
// context takeover, so that the other receiving calls go on with the
// stream: each message here repeats part of the one before it, which the
// server compresses as back-references into its history.
func TestDeflateReadFrameKeepsHistory(t *testing.T) {
	ctx := context.Background()
	for _, p := range []handshake.DeflateParams{{}, {ServerMaxWindowBits: 9}, {ServerNoContextTakeover: true}} {
		c, _, _, s2c := deflatePair(p, conn.Config{}, conn.Config{})
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.BestSpeed)
		if p.ServerMaxWindowBits != 0 {
			w, _ = flate.NewWriter(&buf, flate.HuffmanOnly) // no reference beyond 2^9
		}
		base := textOf(3000, 5)
		msgs := make([][]byte, 8)
		for i := range msgs {
			msgs[i] = append(bytes.Clone(base[i*300:i*300+400]), textOf(200, i)...)
		}
		// Odd messages come in 3 fragments; a ping follows each first frame.
		for i, m := range msgs {
			z := flateMessage(t, w, &buf, m)
			if p.ServerNoContextTakeover {
				w.Reset(&buf)
			}
			size := len(z)
			if i%2 == 1 {
				size = len(z)/3 + 1
			}
			s2c.Write(serverFrames(fragments(frame.OpText, z, size)...))
		}
		for i, m := range msgs {
			if i%3 != 0 {
				if _, got, err := c.ReadMessage(ctx); err != nil || !bytes.Equal(got, m) {
					t.Fatalf("%v: message %d: ReadMessage = %q, %v; want %q", p, i, got, err, m)
				}
				continue
			}
			var wire []byte
			for {
				f, err := c.ReadFrame(ctx, nil)
				if err != nil {
					t.Fatalf("%v: message %d: ReadFrame: %v", p, i, err)
				}
				if f.Opcode == frame.OpPing { // fragments sends one after the first frame
					continue
				}
				if first := wire == nil; f.Rsv1 != first || (f.Opcode == frame.OpText) != first {
					t.Fatalf("%v: message %d: frame %v, want RSV1 and text on the first frame only", p, i, f.Header)
				}
				wire = append(wire, f.Payload...)
				if f.Fin {
					break
				}
			}
			if got := inflateAll(t, wire); bytes.Equal(got, m) && p.ServerMaxWindowBits == 0 && !p.ServerNoContextTakeover && i > 0 {
				t.Errorf("%v: message %d inflates on its own: the test needs back-references", p, i)
			}
		}
	}
}

// inflateAll inflates one message's payload with no history; it returns
// nil if that fails.
func inflateAll(t *testing.T, p []byte) []byte {
	t.Helper()
	got, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}))))
	if err != nil {
		return nil
	}
	return got
}

// What ReadFrame inflates to keep the history is checked as ReadMessage
// checks it: data that does not inflate fails the connection with 1007,
// more than the limit inflated with 1009, and a new message inside a
// compressed one with 1002. Without context takeover nothing depends on
// those payloads, and ReadFrame returns them unchecked, as it does text.
func TestDeflateReadFrameChecks(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	bomb := flateMessage(t, w, &buf, make([]byte, 4<<20))
	w.Reset(&buf)
	half := flateMessage(t, w, &buf, textOf(1000, 0))
	for _, tc := range []struct {
		name   string
		p      handshake.DeflateParams
		frames []frame.Frame
		code   uint16 // 0: no error
	}{
		{"garbage", handshake.DeflateParams{}, []frame.Frame{{Header: frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpBinary}, Payload: []byte{0xff, 0xff, 0xff, 0xff}}}, 1007},
		{"bomb", handshake.DeflateParams{}, fragments(frame.OpBinary, bomb, 1000), 1009},
		{"message inside", handshake.DeflateParams{}, []frame.Frame{
			{Header: frame.Header{Rsv1: true, Opcode: frame.OpText}, Payload: half[:10]},
			{Header: frame.Header{Fin: true, Opcode: frame.OpText}, Payload: []byte("x")},
		}, 1002},
		{"garbage without takeover", handshake.DeflateParams{ServerNoContextTakeover: true}, []frame.Frame{{Header: frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpBinary}, Payload: []byte{0xff, 0xff, 0xff, 0xff}}}, 0},
	} {
		c, _, _, s2c := deflatePair(tc.p, conn.Config{MaxMessageSize: 1 << 20}, conn.Config{})
		s2c.Write(serverFrames(tc.frames...))
		var err error
		for range tc.frames {
			if _, err = c.ReadFrame(ctx, nil); err != nil {
				break
			}
		}
		var fe *frame.Error
		switch {
		case tc.code == 0 && err != nil:
			t.Errorf("%s: ReadFrame: %v", tc.name, err)
		case tc.code != 0 && (!errors.As(err, &fe) || uint16(fe.Code) != tc.code):
			t.Errorf("%s: ReadFrame error %v, want a failure with %d", tc.name, err, tc.code)
		}
	}
}

// A compressed send stopped before its first byte leaves the connection
// usable, and the message after it arrives intact: the compressor forgets
// what the peer never got, rather than refer the next message to it.
// m2 repeats the end of m1, which a compressor that remembered m1 would
// send as a back-reference into bytes the peer does not have.
func TestDeflateStoppedSendForgotten(t *testing.T) {
	m1 := textOf(200000, 1)
	m2 := m1[len(m1)-3000:]
	sends := map[string]func(ctx context.Context, c *conn.Conn) error{
		"WriteMessage": func(ctx context.Context, c *conn.Conn) error {
			return c.WriteMessage(ctx, frame.OpBinary, m1)
		},
		"WriteMessages": func(ctx context.Context, c *conn.Conn) error {
			return c.WriteMessages(ctx, frame.OpBinary, m1[:1000], m1)
		},
		"NextWriter": func(ctx context.Context, c *conn.Conn) error {
			w, err := c.NextWriter(ctx, frame.OpBinary)
			if err != nil {
				return err
			}
			_, err = w.Write(m1) // its first fragment cannot leave
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			return err
		},
	}
	for name, send := range sends {
		for _, takeover := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/takeover=%v", name, takeover), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					a, b := net.Pipe()
					agreed := handshake.DeflateParams{ClientNoContextTakeover: !takeover}
					c := conn.New(a, &conn.Config{Compression: &conn.Compression{Threshold: -1, Agreed: agreed}})
					s := conn.New(b, &conn.Config{Role: conn.RoleServer, Compression: &conn.Compression{Agreed: agreed}})
					defer c.CloseNow()
					defer s.CloseNow()
					ctx := context.Background()
					received := func(want []byte) {
						t.Helper()
						_, got, err := s.ReadMessage(ctx)
						if err != nil || !bytes.Equal(got, want) {
							t.Fatalf("peer got %.24q (%d bytes), %v; want %.24q (%d bytes)", got, len(got), err, want, len(want))
						}
					}
					go c.WriteMessage(ctx, frame.OpBinary, m1[:50000]) // history for the stopped send
					received(m1[:50000])

					stop, cancel := context.WithTimeout(ctx, time.Second) // the peer reads nothing meanwhile
					err := send(stop, c)
					cancel()
					var te *conn.TimeoutError
					if !errors.As(err, &te) || te.Kept || te.Broken {
						t.Fatalf("stopped send = %v, want a *TimeoutError, nothing kept", err)
					}
					go c.WriteMessage(ctx, frame.OpBinary, m2)
					received(m2)
				})
			})
		}
	}
}

// A MessageWriter holds a message's first bytes until they reach the
// Threshold, at most 512 KiB: with a larger Threshold the message, still
// shorter, leaves as it is, in fragments, while the caller writes (it
// was held whole and sent as one frame at Close, 156 MiB of heap for 64
// MiB written), and the next message allocates nothing but its writer.
// A Threshold the message reaches within 512 KiB compresses it.
// WriteMessage sends a message below the Threshold without copying it
// into the encoder.
func TestDeflateStreamThresholdBounded(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		threshold int
		compress  bool
	}{
		{"threshold never reached", math.MaxInt, false},
		{"threshold reached within 512 KiB", 256 << 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s, c2s, _ := deflatePair(handshake.DeflateParams{}, conn.Config{Compression: &conn.Compression{Threshold: tc.threshold}}, conn.Config{MaxMessageSize: -1})
			m := proseOf(8<<20, 1)
			w, err := c.NextWriter(ctx, frame.OpBinary)
			if err != nil {
				t.Fatal(err)
			}
			for p := m; len(p) > 0; p = p[64<<10:] {
				if _, err := w.Write(p[:64<<10]); err != nil {
					t.Fatal(err)
				}
			}
			if held := len(m) - c2s.Len(); !tc.compress && held > 512<<10+64<<10 {
				t.Errorf("%d bytes of the message held before Close, want at most 512 KiB", held)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			var got []byte
			frames, rsv1 := 0, false
			for fin := false; !fin; frames++ {
				f, err := s.ReadFrame(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				fin, rsv1 = f.Fin, rsv1 || f.Rsv1
				got = append(got, f.Payload...)
			}
			if rsv1 != tc.compress || frames < 2 || !tc.compress && !bytes.Equal(got, m) {
				t.Errorf("%d frames, RSV1 %v, %d bytes; want a message in fragments, compressed %v", frames, rsv1, len(got), tc.compress)
			}
		})
	}
	c, _, c2s, _ := deflatePair(handshake.DeflateParams{}, conn.Config{Compression: &conn.Compression{Threshold: 8 << 20}}, conn.Config{})
	m := proseOf(4<<20, 2)
	send := func() {
		c2s.Reset() // the wire keeps its room
		c.WriteMessage(ctx, frame.OpBinary, m)
	}
	stream := func() {
		c2s.Reset()
		w, _ := c.NextWriter(ctx, frame.OpBinary)
		for p := m; len(p) > 0; p = p[64<<10:] {
			w.Write(p[:64<<10])
		}
		w.Close()
	}
	if conn.RaceEnabled {
		return // the race detector's pools drop buffers at random
	}
	// No collection while measuring: it would empty the pools.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	if allocs := testing.AllocsPerRun(3, send); allocs != 0 {
		t.Errorf("WriteMessage of %d bytes below the Threshold: %v allocations, want 0", len(m), allocs)
	}
	if allocs := testing.AllocsPerRun(3, stream); allocs != 1 {
		t.Errorf("a MessageWriter's message of %d bytes below the Threshold: %v allocations, want 1 (the writer)", len(m), allocs)
	}
}
