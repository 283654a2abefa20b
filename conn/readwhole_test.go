package conn

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"unsafe"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// A message of one frame that arrived whole goes from the read buffer
// straight to the caller's buffer: it comes back in dst's array, where the
// assembler's path would trade dst for the buffer it collected the message
// in. Frames that did not arrive whole, fragments and control frames take
// the assembler's path, in between, and come back all the same.
func TestWholeMessageReadIntoDst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, peer := net.Pipe()
		c := New(client, nil)
		go io.Copy(io.Discard, peer)
		t.Cleanup(func() { c.CloseNow(); peer.Close() })
		big := strings.Repeat("z", 1000)
		for _, tt := range []struct {
			name   string
			wire   []frame.Frame
			op     frame.Opcode
			want   string
			inDst  bool // arrives whole, so read straight into dst
			splits int  // bytes written first, in a write of their own
		}{
			{"16 B binary", []frame.Frame{dataFrame(frame.OpBinary, true, false, "0123456789abcdef")}, frame.OpBinary, "0123456789abcdef", true, 0},
			{"text", []frame.Frame{dataFrame(frame.OpText, true, false, "héllo")}, frame.OpText, "héllo", true, 0},
			{"empty", []frame.Frame{dataFrame(frame.OpBinary, true, false, "")}, frame.OpBinary, "", true, 0},
			{"header apart", []frame.Frame{dataFrame(frame.OpBinary, true, false, "split")}, frame.OpBinary, "split", false, 2},
			{"larger than the wait buffer", []frame.Frame{dataFrame(frame.OpBinary, true, false, big)}, frame.OpBinary, big, false, 0},
			{"fragments", []frame.Frame{dataFrame(frame.OpText, false, false, "ab"), dataFrame(frame.OpContinuation, true, false, "cd")}, frame.OpText, "abcd", false, 0},
			{"ping first", []frame.Frame{{Header: frame.Header{Fin: true, Opcode: frame.OpPing}, Payload: []byte("p")}, dataFrame(frame.OpBinary, true, false, "after")}, frame.OpBinary, "after", false, 0},
		} {
			wire := wireOf(t, tt.wire...)
			go func() {
				if tt.splits > 0 {
					peer.Write(wire[:tt.splits])
					wire = wire[tt.splits:]
				}
				peer.Write(wire)
			}()
			buf := make([]byte, 0, 2048)
			f, err := c.ReadDataFrame(t.Context(), buf)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if f.Opcode != tt.op || !f.Fin || string(f.Payload) != tt.want || f.Length != int64(len(tt.want)) {
				t.Fatalf("%s: got %v fin=%v len=%d %.20q, want %v %.20q", tt.name, f.Opcode, f.Fin, f.Length, f.Payload, tt.op, tt.want)
			}
			if inDst := unsafe.SliceData(f.Payload) == unsafe.SliceData(buf); tt.inDst && !inDst {
				t.Errorf("%s: the payload did not come back in dst's array", tt.name)
			}
		}
	})
}

// Messages that arrive together are read from the read buffer without a
// read of the transport, and with every check of the slow path: UTF-8 of
// text, the message limit, the order of fragments, a context that ended.
func TestBufferedMessages(t *testing.T) {
	// A lead frame longer than the reader's wait buffer, so that what
	// follows it is in the read buffer, whole, when the lead is read.
	lead := dataFrame(frame.OpBinary, true, false, strings.Repeat("lead", 30))
	long := strings.Repeat("é", 200)
	for _, tt := range []struct {
		name string
		cfg  Config
		wire []frame.Frame
		want []string // payloads read after lead, in order
		code status.Code
	}{
		{"sizes", Config{}, []frame.Frame{dataFrame(frame.OpText, true, false, "héllo"), dataFrame(frame.OpBinary, true, false, ""),
			dataFrame(frame.OpBinary, true, false, "0123456789abcdef"), dataFrame(frame.OpText, true, false, long)}, []string{"héllo", "", "0123456789abcdef", long}, 0},
		{"invalid UTF-8", Config{}, []frame.Frame{dataFrame(frame.OpText, true, false, "ok\xff")}, nil, status.InvalidPayload},
		{"invalid UTF-8, not checked", Config{SkipUTF8Validation: true}, []frame.Frame{dataFrame(frame.OpText, true, false, "ok\xff")}, []string{"ok\xff"}, 0},
		{"over the message limit", Config{MaxMessageSize: 130}, []frame.Frame{dataFrame(frame.OpBinary, true, false, long[:131])}, nil, status.MessageTooBig},
		{"at the message limit", Config{MaxMessageSize: 130}, []frame.Frame{dataFrame(frame.OpText, true, false, long[:130])}, []string{long[:130]}, 0},
		{"over the frame limit", Config{MaxFrameSize: 130}, []frame.Frame{dataFrame(frame.OpBinary, true, false, long[:131])}, nil, status.MessageTooBig},
		{"text inside a fragmented message", Config{DeliverFragments: true}, []frame.Frame{dataFrame(frame.OpText, false, false, "ab"),
			dataFrame(frame.OpText, true, false, "cd")}, []string{"ab"}, status.ProtocolError},
		{"masked", Config{}, []frame.Frame{{Header: frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Key: [4]byte{1, 2, 3, 4}}, Payload: []byte("m")}},
			nil, status.ProtocolError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, peer := net.Pipe()
				c := New(client, &tt.cfg)
				defer c.CloseNow()
				go io.Copy(io.Discard, peer)
				defer peer.Close()
				go peer.Write(wireOf(t, append([]frame.Frame{lead}, tt.wire...)...))
				if f, err := c.ReadDataFrame(t.Context(), nil); err != nil || string(f.Payload) != string(lead.Payload) {
					t.Fatalf("lead: %q, %v", f.Payload, err)
				}
				buf := make([]byte, 0, 1024)
				for _, want := range tt.want {
					f, err := c.ReadDataFrame(t.Context(), buf[:0])
					if err != nil || string(f.Payload) != want || f.Length != int64(len(want)) || !f.Fin && !tt.cfg.DeliverFragments {
						t.Fatalf("got %.20q (length %d, fin %v), %v; want %.20q", f.Payload, f.Length, f.Fin, err, want)
					}
					if f.Fin && len(want) > 0 && unsafe.SliceData(f.Payload) != unsafe.SliceData(buf) {
						t.Errorf("%.20q did not come back in dst's array", want)
					}
				}
				if tt.code == 0 {
					return
				}
				_, err := c.ReadDataFrame(t.Context(), buf[:0])
				var fe *frame.Error
				if !errors.As(err, &fe) || fe.Code != tt.code || !errors.Is(err, ErrClosed) && c.readErr() == nil {
					t.Fatalf("got %v, want a failure with %v", err, tt.code)
				}
			})
		})
	}
}

// A context that ended fails a receive even when its message is buffered,
// and leaves the message for the next call.
func TestBufferedMessageEndedContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, peer := net.Pipe()
		c := New(client, nil)
		defer c.CloseNow()
		defer peer.Close()
		go peer.Write(wireOf(t, dataFrame(frame.OpBinary, true, false, "one"), dataFrame(frame.OpBinary, true, false, "two")))
		if f, err := c.ReadDataFrame(t.Context(), nil); err != nil || string(f.Payload) != "one" {
			t.Fatalf("first: %q, %v", f.Payload, err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var te *TimeoutError
		if _, err := c.ReadDataFrame(ctx, nil); !errors.As(err, &te) {
			t.Fatalf("ended context: %v, want a *TimeoutError", err)
		}
		if f, err := c.ReadDataFrame(t.Context(), nil); err != nil || string(f.Payload) != "two" {
			t.Fatalf("second: %q, %v", f.Payload, err)
		}
	})
}

// A binary message of one frame that fits the read buffer is not begun
// until it is whole: a receive that times out in the middle of it consumes
// nothing, and the next receive, of either kind, reads it all.
func TestWholeFrameCutByTimeout(t *testing.T) {
	f := dataFrame(frame.OpBinary, true, false, strings.Repeat("é", 100))
	for _, next := range []string{"ReadDataFrame", "ReadFrame"} {
		t.Run(next, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, rest := halfFrame(t, nil, f, 70)
				var to *TimeoutError
				if _, err := c.ReadDataFrame(shortCtx(t), nil); !errors.As(err, &to) {
					t.Fatalf("first call: %v, want a timeout", err)
				}
				rest()
				read := c.ReadDataFrame
				if next == "ReadFrame" {
					read = c.ReadFrame
				}
				buf := make([]byte, 0, 512)
				g, err := read(t.Context(), buf)
				if err != nil || string(g.Payload) != string(f.Payload) || g.Opcode != frame.OpBinary || !g.Fin {
					t.Fatalf("%s: %v %.20q, %v", next, g.Opcode, g.Payload, err)
				}
			})
		})
	}
}

// Text is checked as its bytes arrive, also in a frame small enough for
// the read buffer: invalid UTF-8 at its start fails the connection with
// 1007 before the rest of the frame comes (Autobahn 6.4.3 and 6.4.4).
func TestInvalidTextFailsBeforeFrameEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := dataFrame(frame.OpText, true, false, "ok\xffrest of the frame")
		c, _ := halfFrame(t, nil, f, 5)
		_, err := c.ReadDataFrame(shortCtx(t), nil)
		var fe *frame.Error
		if !errors.As(err, &fe) || fe.Code != status.InvalidPayload {
			t.Fatalf("got %v, want a failure with 1007 before the frame ends", err)
		}
	})
}

// sizedReads is a Transport that records the largest read asked of it.
type sizedReads struct {
	net.Conn
	largest int
}

func (s *sizedReads) Read(p []byte) (int, error) {
	s.largest = max(s.largest, len(p))
	return s.Conn.Read(p)
}

// Config.ReadBufferSize is the size of the reads a Conn asks of its
// transport, 16 KiB by default, rounded up to a power of two within 64
// bytes and 1 MiB.
func TestReadBufferSize(t *testing.T) {
	for _, tt := range []struct {
		size, want int
	}{
		{0, DefaultReadBufferSize},
		{-1, DefaultReadBufferSize},
		{4096, 4096},
		{1000, 1024},
		{100, 128},
		{10, 64},
		{5 << 20, 1 << 20},
	} {
		synctest.Test(t, func(t *testing.T) {
			client, peer := net.Pipe()
			tr := &sizedReads{Conn: client}
			c := New(tr, &Config{ReadBufferSize: tt.size})
			go io.Copy(io.Discard, peer)
			t.Cleanup(func() { c.CloseNow(); peer.Close() })
			msg := strings.Repeat("m", min(3000, tt.want-16))
			wire := wireOf(t, dataFrame(frame.OpBinary, true, false, msg))
			go func() {
				// The message arrives in two writes, the header apart, so
				// that the Conn reads past its wait buffer.
				peer.Write(wire[:2])
				peer.Write(wire[2:])
			}()
			f, err := c.ReadDataFrame(t.Context(), nil)
			if err != nil || string(f.Payload) != msg {
				t.Fatalf("size %d: %d bytes, %v", tt.size, len(f.Payload), err)
			}
			// The first read goes to the wait buffer, the next ones to
			// the read buffer, past the bytes already in it.
			if tr.largest <= tt.want/2 || tr.largest > tt.want {
				t.Errorf("size %d: largest read %d bytes, want a %d-byte buffer", tt.size, tr.largest, tt.want)
			}
		})
	}
}
