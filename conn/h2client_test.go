package conn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/status"
)

// h2Frame is what a scripted HTTP/2 server read from the client: a copy
// of the frame's fields that the tests look at.
type h2Frame struct {
	Type      http2.FrameType
	StreamID  uint32
	Flags     http2.Flags
	Data      []byte              // DATA payload, PING data
	Fields    []hpack.HeaderField // decoded HEADERS
	Code      http2.ErrCode       // RST_STREAM, GOAWAY
	Increment uint32              // WINDOW_UPDATE
	Settings  []http2.Setting
}

// h2Peer is the server side of a scripted HTTP/2 connection over a
// net.Pipe: a goroutine reads every frame the client writes into frames,
// so that the client never blocks on the pipe, while the test writes the
// server's frames with fr.
type h2Peer struct {
	hold   chan struct{} // a lock (capacity 1): a test holding it stops the reading of the client's frames
	t      *testing.T
	nc     net.Conn
	fr     *http2.Framer
	frames chan h2Frame
	enc    *hpack.Encoder
	hbuf   bytes.Buffer
}

// rawH2Dialer returns a Dialer for HTTP2Only whose every connection is a
// net.Pipe served by script on a new h2Peer, after the preface and the
// server's SETTINGS (with ENABLE_CONNECT_PROTOCOL 1 and settings).
func rawH2Dialer(t *testing.T, script func(p *h2Peer), settings ...http2.Setting) *conn.Dialer {
	return pipeDialer(t, func(server net.Conn, wg *sync.WaitGroup) {
		defer server.Close()
		p := &h2Peer{t: t, nc: server, fr: http2.NewFramer(server, server), frames: make(chan h2Frame, 1024), hold: make(chan struct{}, 1)}
		p.enc = hpack.NewEncoder(&p.hbuf)
		table := uint32(4096)
		for _, st := range settings {
			if st.ID == http2.SettingHeaderTableSize {
				table = st.Val
			}
		}
		p.fr.ReadMetaHeaders = hpack.NewDecoder(table, nil)
		preface := make([]byte, len(http2.ClientPreface))
		if _, err := io.ReadFull(server, preface); err != nil || string(preface) != http2.ClientPreface {
			t.Errorf("client preface %q, %v", preface, err)
			return
		}
		wg.Go(p.readLoop)
		all := append([]http2.Setting{{ID: http2.SettingEnableConnectProtocol, Val: 1}}, settings...)
		if err := p.fr.WriteSettings(all...); err != nil {
			return
		}
		script(p)
	})
}

// readLoop copies the client's frames into p.frames until the pipe ends.
func (p *h2Peer) readLoop() {
	defer close(p.frames)
	for {
		p.hold <- struct{}{}
		<-p.hold
		f, err := p.fr.ReadFrame()
		if err != nil {
			return
		}
		hf := h2Frame{Type: f.Header().Type, StreamID: f.Header().StreamID, Flags: f.Header().Flags}
		switch f := f.(type) {
		case *http2.DataFrame:
			hf.Data = slices.Clone(f.Data())
		case *http2.MetaHeadersFrame:
			hf.Fields = f.Fields
		case *http2.RSTStreamFrame:
			hf.Code = f.ErrCode
		case *http2.GoAwayFrame:
			hf.Code = f.ErrCode
		case *http2.WindowUpdateFrame:
			hf.Increment = f.Increment
		case *http2.PingFrame:
			hf.Data = f.Data[:]
		case *http2.SettingsFrame:
			f.ForeachSetting(func(s http2.Setting) error { hf.Settings = append(hf.Settings, s); return nil })
		}
		p.frames <- hf
	}
}

// next returns the client's next frame of type typ, dropping others, or
// a zero h2Frame when the connection ended.
func (p *h2Peer) next(typ http2.FrameType) h2Frame {
	for f := range p.frames {
		if f.Type == typ {
			return f
		}
	}
	return h2Frame{}
}

// answer reads the next extended CONNECT and answers it with status 200
// and fields, returning its stream.
func (p *h2Peer) answer(fields ...string) uint32 {
	f := p.next(http2.FrameHeaders)
	p.headers(f.StreamID, false, append([]string{":status", "200"}, fields...)...)
	return f.StreamID
}

// handingH2Dialer is rawH2Dialer with a script that answers n extended
// CONNECTs, then hands the peer to the test and waits until release is
// called.
func handingH2Dialer(t *testing.T, n int, settings ...http2.Setting) (d *conn.Dialer, peer <-chan *h2Peer, release func()) {
	handed := make(chan *h2Peer, 1)
	done := make(chan struct{})
	d = rawH2Dialer(t, func(p *h2Peer) {
		for range n {
			p.answer()
		}
		handed <- p
		<-done
	}, settings...)
	return d, handed, func() { close(done) }
}

// data writes wire on stream id in DATA frames of at most 16 KiB, the
// client's SETTINGS_MAX_FRAME_SIZE.
func (p *h2Peer) data(id uint32, wire []byte) {
	for len(wire) > 0 {
		k := min(len(wire), 16<<10)
		p.fr.WriteData(id, false, wire[:k])
		wire = wire[k:]
	}
}

// headers writes a HEADERS frame of the fields, name and value in turn.
func (p *h2Peer) headers(id uint32, end bool, fields ...string) {
	p.hbuf.Reset()
	for i := 0; i < len(fields); i += 2 {
		p.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.hbuf.Bytes(), EndHeaders: true, EndStream: end})
}

// wsFrame returns an unmasked WebSocket text frame of msg, as a server
// sends it.
func wsFrame(msg string) []byte {
	b, _ := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpText, Length: int64(len(msg))}, Payload: []byte(msg)}.AppendBinary(nil)
	return b
}

// The client's SETTINGS turn server push off and give a modest initial
// window; it answers PING, acknowledges SETTINGS and ignores frames of
// unknown types, PRIORITY and padding; a response header block split into
// CONTINUATION frames is read whole.
func TestH2ClientFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got := make(chan []h2Frame, 1)
		d := rawH2Dialer(t, func(p *h2Peer) {
			seen := []h2Frame{p.next(http2.FrameSettings), {}} // the client's, then its ACK of ours
			var f h2Frame
			for f.Type != http2.FrameHeaders || seen[1].Type != http2.FrameSettings {
				g, ok := <-p.frames
				if !ok {
					return
				}
				switch g.Type {
				case http2.FrameSettings:
					seen[1] = g
				case http2.FrameHeaders:
					f = g
				}
			}
			p.hbuf.Reset()
			for _, kv := range [][2]string{{":status", "200"}, {"x-long", strings.Repeat("v", 300)}, {"x-more", "yes"}} {
				p.enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
			}
			block := p.hbuf.Bytes()
			p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: f.StreamID, BlockFragment: block[:100]})
			p.fr.WriteContinuation(f.StreamID, false, block[100:200])
			p.fr.WriteContinuation(f.StreamID, true, block[200:])
			p.fr.WriteRawFrame(0xfa, 0, f.StreamID, []byte("unknown frame type"))
			p.fr.WritePriority(f.StreamID, http2.PriorityParam{Weight: 9})
			p.fr.WritePing(false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
			seen = append(seen, p.next(http2.FramePing))
			p.fr.WriteDataPadded(f.StreamID, false, wsFrame("padded"), make([]byte, 40))
			got <- seen
			p.next(http2.FrameRSTStream)
		})
		c := dial(t, d, "ws://h2.test/")
		if v := c.Header().Get("X-More"); v != "yes" {
			t.Errorf("header field after CONTINUATION = %q, want yes", v)
		}
		if _, m, err := c.ReadMessage(context.Background()); err != nil || string(m) != "padded" {
			t.Errorf("ReadMessage = %q, %v; want padded", m, err)
		}
		seen := <-got
		settings := map[http2.SettingID]uint32{}
		for _, s := range seen[0].Settings {
			settings[s.ID] = s.Val
		}
		if v, ok := settings[http2.SettingEnablePush]; !ok || v != 0 {
			t.Errorf("client SETTINGS %v: want ENABLE_PUSH 0", seen[0].Settings)
		}
		if v := settings[http2.SettingInitialWindowSize]; v == 0 || v > 1<<20 {
			t.Errorf("client SETTINGS_INITIAL_WINDOW_SIZE = %d, want a modest window", v)
		}
		if !seen[1].Flags.Has(http2.FlagSettingsAck) {
			t.Errorf("second SETTINGS from the client is not an ACK")
		}
		if p := seen[2]; !p.Flags.Has(http2.FlagPingAck) || !bytes.Equal(p.Data, []byte{1, 2, 3, 4, 5, 6, 7, 8}) {
			t.Errorf("PING answer = %+v, want an ACK with the same data", p)
		}
		c.CloseNow()
	})
}

// The server's SETTINGS_MAX_FRAME_SIZE and SETTINGS_INITIAL_WINDOW_SIZE
// shape the client's DATA: no frame is larger, no more is sent than the
// window, and WINDOW_UPDATEs let the rest go. A send that the window
// holds back ends at its deadline.
func TestH2ClientSendWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxFrame, window, size = 16384, 20000, 40000
		data := make(chan int, 16)
		update := make(chan struct{})
		d := rawH2Dialer(t, func(p *h2Peer) {
			id := p.answer()
			go func() {
				for range update {
					p.fr.WriteWindowUpdate(0, 30000)
					p.fr.WriteWindowUpdate(id, 30000)
				}
			}()
			for f := range p.frames {
				if f.Type == http2.FrameData {
					data <- len(f.Data)
				}
			}
		}, http2.Setting{ID: http2.SettingMaxFrameSize, Val: maxFrame}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: window})
		defer close(update)
		c := dial(t, d, "ws://h2.test/")
		sent := make(chan error)
		go func() { sent <- c.WriteMessage(context.Background(), frame.OpBinary, make([]byte, size)) }()
		synctest.Wait()
		sizes := func() (got []int) {
			for len(data) > 0 {
				got = append(got, <-data)
			}
			return got
		}
		if got, want := sizes(), []int{maxFrame, window - maxFrame}; !slices.Equal(got, want) {
			t.Errorf("DATA sizes %v before a WINDOW_UPDATE, want %v", got, want)
		}
		update <- struct{}{}
		if err := <-sent; err != nil {
			t.Fatalf("WriteMessage after WINDOW_UPDATE: %v", err)
		}
		synctest.Wait()
		got, total := sizes(), 0
		for _, n := range got {
			total += n
		}
		if total != size+8-window || slices.Max(got) > maxFrame {
			t.Errorf("DATA sizes %v after a WINDOW_UPDATE, want %d bytes in frames of at most %d", got, size+8-window, maxFrame)
		}

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err := c.WriteMessage(ctx, frame.OpBinary, make([]byte, size))
		var te *conn.TimeoutError
		if !errors.As(err, &te) || time.Since(start) != time.Second {
			t.Errorf("WriteMessage beyond the window = %v after %v, want a *TimeoutError after 1s", err, time.Since(start))
		}
	})
}

// The client gives receive window back as the application reads, not as
// bytes arrive: a stream not read holds the server at the stream's
// window, and DATA beyond it resets the stream (FLOW_CONTROL_ERROR).
func TestH2ClientBackpressure(t *testing.T) {
	for _, overflow := range []bool{false, true} {
		t.Run(map[bool]string{false: "reader", true: "overflow"}[overflow], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 1000
				updates := make(chan h2Frame, 16)
				sent := make(chan int, 1)
				d := rawH2Dialer(t, func(p *h2Peer) {
					var window int
					for _, s := range p.next(http2.FrameSettings).Settings {
						if s.ID == http2.SettingInitialWindowSize {
							window = int(s.Val)
						}
					}
					id := p.answer()
					msg := wsFrame(strings.Repeat("x", n))
					total := 0
					for ; total+len(msg) <= window; total += len(msg) {
						p.fr.WriteData(id, false, msg)
					}
					if overflow {
						p.fr.WriteData(id, false, msg[:window-total+1])
					}
					sent <- total / len(msg)
					for f := range p.frames {
						if (f.Type == http2.FrameWindowUpdate || f.Type == http2.FrameRSTStream) && f.StreamID == id {
							updates <- f
						}
					}
				})
				c := dial(t, d, "ws://h2.test/")
				msgs := <-sent
				synctest.Wait()
				if overflow {
					if f := <-updates; f.Type != http2.FrameRSTStream || f.Code != http2.ErrCodeFlowControl {
						t.Errorf("after DATA beyond the window the client sent %+v, want RST_STREAM FLOW_CONTROL_ERROR", f)
					}
					var err error
					for err == nil {
						_, _, err = c.ReadMessage(context.Background())
					}
					var he *conn.HTTP2Error
					if !errors.Is(err, conn.ErrConnectionLost) || !errors.As(err, &he) || !he.Stream || he.Code != http2.ErrCodeFlowControl {
						t.Errorf("ReadMessage after the reset = %v, want the lost connection with an HTTP2Error, stream FLOW_CONTROL_ERROR", err)
					}
					return
				}
				if len(updates) != 0 {
					t.Fatalf("WINDOW_UPDATE %+v for a stream nobody read", <-updates)
				}
				for range msgs {
					if _, m, err := c.ReadMessage(context.Background()); err != nil || len(m) != n {
						t.Fatalf("ReadMessage = %d bytes, %v", len(m), err)
					}
				}
				synctest.Wait()
				var given uint32
				for len(updates) > 0 {
					given += (<-updates).Increment
				}
				if given < uint32(msgs*(n+4))/2 {
					t.Errorf("WINDOW_UPDATE gave back %d bytes after %d were read", given, msgs*(n+4))
				}
				c.CloseNow()
			})
		})
	}
}

// GOAWAY: streams above its last stream ID fail as a lost connection,
// the others go on, and the pool opens a new connection for the next
// WebSocket.
func TestH2ClientGoAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dials := 0
		var d *conn.Dialer
		d = rawH2Dialer(t, func(p *h2Peer) {
			first := p.answer()
			second := p.answer()
			p.fr.WriteGoAway(first, http2.ErrCodeNo, nil)
			p.fr.WriteData(first, false, wsFrame("still here"))
			p.next(http2.FrameRSTStream)
			_ = second
			p.next(http2.FrameRSTStream)
		})
		nd := d.NetDial
		d.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials++
			return nd(ctx, network, addr)
		}
		var pool conn.HTTP2Pool
		defer pool.Close()
		d.HTTP2Pool = &pool
		a := dial(t, d, "ws://h2.test/")
		b := dial(t, d, "ws://h2.test/")
		ctx := context.Background()
		start := time.Now()
		_, _, err := b.ReadMessage(ctx)
		var he *conn.HTTP2Error
		if !errors.Is(err, conn.ErrConnectionLost) || time.Since(start) != 0 {
			t.Errorf("ReadMessage on a stream above GOAWAY's last stream = %v after %v, want ErrConnectionLost at once", err, time.Since(start))
		} else if !errors.As(err, &he) || !he.Stream || he.Code != http2.ErrCodeRefusedStream {
			t.Errorf("ReadMessage on a stream above GOAWAY's last stream = %v, want an HTTP2Error: stream refused", err)
		}
		if _, m, err := a.ReadMessage(ctx); err != nil || string(m) != "still here" {
			t.Errorf("ReadMessage on a stream GOAWAY kept = %q, %v", m, err)
		}
		if dials != 1 {
			t.Fatalf("%d connections, want 1", dials)
		}
		if _, err := d.Dial(ctx, "ws://h2.test/"); err != nil {
			t.Fatal(err)
		}
		if dials != 2 {
			t.Errorf("a dial after GOAWAY made %d connections in all, want 2", dials)
		}
		a.CloseNow()
	})
}

// A protocol error from the server (DATA on a stream never opened) ends
// the connection with GOAWAY PROTOCOL_ERROR; its WebSockets are lost.
func TestH2ClientProtocolError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		goaway := make(chan h2Frame, 1)
		d := rawH2Dialer(t, func(p *h2Peer) {
			p.answer()
			p.fr.WriteData(99, false, []byte("nobody's"))
			goaway <- p.next(http2.FrameGoAway)
		})
		c := dial(t, d, "ws://h2.test/")
		if _, _, err := c.ReadMessage(context.Background()); !errors.Is(err, conn.ErrConnectionLost) {
			t.Errorf("ReadMessage = %v, want ErrConnectionLost", err)
		}
		if f := <-goaway; f.Type != http2.FrameGoAway || f.Code != http2.ErrCodeProtocol {
			t.Errorf("the client sent %+v, want GOAWAY PROTOCOL_ERROR", f)
		}
	})
}

// A response header block larger than the client's
// SETTINGS_MAX_HEADER_LIST_SIZE fails the dial with ErrHeaderTooLarge
// (and the connection, which x/net's Framer stops decoding, with GOAWAY);
// the pool's next dial opens a new one.
func TestH2ClientHeaderLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conns := 0
		goaway := make(chan h2Frame, 1)
		d := rawH2Dialer(t, func(p *h2Peer) {
			if conns++; conns > 1 {
				id := p.answer()
				p.fr.WriteData(id, false, wsFrame("fine"))
				p.next(http2.FrameRSTStream)
				return
			}
			f := p.next(http2.FrameHeaders)
			p.hbuf.Reset()
			p.enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
			for i := range 40 {
				p.enc.WriteField(hpack.HeaderField{Name: "x-big-" + strings.Repeat("n", i), Value: strings.Repeat("v", 4000)})
			}
			block := p.hbuf.Bytes()
			p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: f.StreamID, BlockFragment: block[:16384]})
			for block = block[16384:]; len(block) > 0; {
				n := min(len(block), 16384)
				if p.fr.WriteContinuation(f.StreamID, n == len(block), block[:n]) != nil {
					break
				}
				block = block[n:]
			}
			goaway <- p.next(http2.FrameGoAway)
		})
		var pool conn.HTTP2Pool
		defer pool.Close()
		d.HTTP2Pool = &pool
		ctx := context.Background()
		if _, err := d.Dial(ctx, "ws://h2.test/"); !errors.Is(err, handshake.ErrHeaderTooLarge) {
			t.Errorf("Dial with a 160 KB answer = %v, want ErrHeaderTooLarge", err)
		}
		if f := <-goaway; f.Code != http2.ErrCodeProtocol {
			t.Errorf("the client sent %+v, want GOAWAY PROTOCOL_ERROR", f)
		}
		c := dial(t, d, "ws://h2.test/")
		if _, m, err := c.ReadMessage(ctx); err != nil || string(m) != "fine" {
			t.Errorf("ReadMessage = %q, %v", m, err)
		}
		c.CloseNow()
	})
}

// h2Seeds are server byte streams after the preface and SETTINGS: an
// answer and a message, with CONTINUATION, padding, control frames and
// resets.
func h2Seeds() [][]byte {
	var seeds [][]byte
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	enc.WriteField(hpack.HeaderField{Name: "sec-websocket-protocol", Value: "chat"})
	block := slices.Clone(hb.Bytes())
	for _, script := range []func(fr *http2.Framer){
		func(fr *http2.Framer) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:1]})
			fr.WriteContinuation(1, true, block[1:])
			fr.WriteDataPadded(1, false, wsFrame("hi"), make([]byte, 7))
			fr.WriteData(1, true, nil)
		},
		func(fr *http2.Framer) {
			fr.WriteSettingsAck()
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndHeaders: true})
			fr.WritePing(false, [8]byte{1})
			fr.WriteWindowUpdate(0, 1000)
			fr.WriteWindowUpdate(1, 1000)
			fr.WriteRawFrame(0x20, 0, 1, []byte("?"))
			fr.WriteData(1, false, wsFrame("hello")[:3])
			fr.WriteRSTStream(1, http2.ErrCodeCancel)
		},
		func(fr *http2.Framer) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndHeaders: true})
			fr.WriteGoAway(0, http2.ErrCodeProtocol, []byte("bye"))
		},
		func(fr *http2.Framer) {
			fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30}, http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 20})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndHeaders: true, EndStream: true})
		},
	} {
		var b bytes.Buffer
		script(http2.NewFramer(&b, nil))
		seeds = append(seeds, b.Bytes())
	}
	return seeds
}

// FuzzH2Client feeds arbitrary server bytes, after the preface and a
// SETTINGS that allows extended CONNECT, to a dial and a receive over
// HTTP/2, then ends the connection: neither may panic, and both must end
// with the bytes, not at the context's deadline.
func FuzzH2Client(f *testing.F) {
	for _, s := range h2Seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) {
			client, server := net.Pipe()
			defer server.Close()
			go func() {
				preface := make([]byte, len(http2.ClientPreface))
				if _, err := io.ReadFull(server, preface); err != nil {
					return
				}
				go io.Copy(io.Discard, server)
				fr := http2.NewFramer(server, nil)
				if fr.WriteSettings(http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1}) == nil {
					server.Write(data)
				}
				server.Close()
			}()
			d := h2Dialer(conn.HTTP2Only)
			d.NetDial = func(context.Context, string, string) (net.Conn, error) { return client, nil }
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			c, err := d.Dial(ctx, "ws://h2.test/")
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Dial hung: %v", err)
			}
			if err != nil {
				return
			}
			defer c.CloseNow()
			for {
				_, _, err := c.ReadMessage(ctx)
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("ReadMessage hung: %v", err)
				}
				if err != nil {
					break
				}
			}
		})
	})
}

// A receive waiting with no deadline ends when its context is cancelled:
// the deadline set in the past wakes the stream's Read.
func TestH2ClientReadCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := rawH2Dialer(t, func(p *h2Peer) {
			p.answer()
			p.next(http2.FrameRSTStream)
		})
		c := dial(t, d, "ws://h2.test/")
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		_, _, err := c.ReadMessage(ctx)
		if !errors.Is(err, context.Canceled) || time.Since(start) != time.Second {
			t.Errorf("ReadMessage = %v after %v, want context.Canceled after 1s", err, time.Since(start))
		}
		c.CloseNow()
	})
}

// HTTP/2 errors are typed: a dial the server's stream reset ends, a dial
// whose connection the server's bad SETTINGS end, and an open WebSocket
// whose stream the server resets each return an *HTTP2Error with the
// code, the last wrapped with ErrConnectionLost.
func TestH2ClientErrorsTyped(t *testing.T) {
	for _, tc := range []struct {
		name     string
		script   func(p *h2Peer)
		settings []http2.Setting
		open     bool // the WebSocket opens, and its read fails
		stream   bool
		code     http2.ErrCode
	}{
		{"reset before the answer", func(p *h2Peer) {
			p.fr.WriteRSTStream(p.next(http2.FrameHeaders).StreamID, http2.ErrCodeRefusedStream)
			p.next(http2.FrameGoAway)
		}, nil, false, true, http2.ErrCodeRefusedStream},
		{"bad SETTINGS", func(p *h2Peer) {
			p.next(http2.FrameGoAway)
		}, []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 1 << 31}}, false, false, http2.ErrCodeFlowControl},
		{"reset after the answer", func(p *h2Peer) {
			p.fr.WriteRSTStream(p.answer(), http2.ErrCodeInternal)
			p.next(http2.FrameGoAway)
		}, nil, true, true, http2.ErrCodeInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := rawH2Dialer(t, tc.script, tc.settings...)
				ctx := context.Background()
				c, err := d.Dial(ctx, "ws://h2.test/")
				if tc.open {
					if err != nil {
						t.Fatal(err)
					}
					_, _, err = c.ReadMessage(ctx)
					if !errors.Is(err, conn.ErrConnectionLost) {
						t.Errorf("ReadMessage = %v, want ErrConnectionLost", err)
					}
					c.CloseNow()
				} else if err == nil {
					c.CloseNow()
					t.Fatal("dial succeeded")
				}
				var he *conn.HTTP2Error
				if !errors.As(err, &he) || he.Stream != tc.stream || he.Code != tc.code {
					t.Errorf("error %v, want an HTTP2Error with Stream %v and code %v", err, tc.stream, tc.code)
				}
			})
		})
	}
}

// A server that answers the close, ends its side with END_STREAM and then
// resets the stream (RST_STREAM CANCEL, as HAProxy does) lets Close
// return nil at once; the reset after END_STREAM loses nothing.
func TestH2ClientEndThenReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := rawH2Dialer(t, func(p *h2Peer) {
			id := p.answer()
			p.next(http2.FrameData) // the client's close frame
			closing, _ := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose, Length: 2}, Payload: []byte{0x03, 0xe8}}.AppendBinary(nil)
			p.fr.WriteData(id, true, closing)
			p.fr.WriteRSTStream(id, http2.ErrCodeCancel)
			p.next(http2.FrameGoAway) // until the pipe closes
		})
		c := dial(t, d, "ws://h2.test/")
		start := time.Now()
		if err := c.Close(context.Background(), status.NormalClosure, ""); err != nil || time.Since(start) != 0 {
			t.Errorf("Close = %v after %v, want nil at once", err, time.Since(start))
		}
	})
}

// The client's header encoder keeps to the server's
// SETTINGS_HEADER_TABLE_SIZE: with 0, its header blocks use no dynamic
// table, which the server's decoder would reject.
func TestH2ClientHeaderTable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := rawH2Dialer(t, func(p *h2Peer) {
			for range 2 {
				p.answer()
			}
			p.next(http2.FrameRSTStream)
		}, http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0})
		var pool conn.HTTP2Pool
		defer pool.Close()
		d.HTTP2Pool = &pool
		d.Header = map[string][]string{"X-Repeated": {"the same field in both requests"}}
		for range 2 {
			dial(t, d, "ws://h2.test/")
		}
	})
}

// A receive waiting on a stream with no deadline returns once the stream
// ends on this side, by CloseNow or by a Close the server never answers:
// ending the stream wakes it, as over HTTP/1.1 closing the socket does.
func TestH2ClientEndWakesReader(t *testing.T) {
	for _, end := range []string{"CloseNow", "Close"} {
		t.Run(end, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d, _, release := handingH2Dialer(t, 1) // then answers nothing
				defer release()
				c := dial(t, d, "ws://h2.test/")
				read := make(chan error, 1)
				go func() {
					_, _, err := c.ReadMessage(context.Background())
					read <- err
				}()
				synctest.Wait() // the read waits for the server
				if end == "CloseNow" {
					c.CloseNow()
				} else {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					c.Close(ctx, status.NormalClosure, "")
					cancel()
				}
				synctest.Wait()
				select {
				case err := <-read:
					if !errors.Is(err, conn.ErrClosed) {
						t.Errorf("ReadMessage = %v, want ErrClosed", err)
					}
				default:
					t.Fatal("ReadMessage still waiting after " + end)
				}
			})
		})
	}
}

// A stream's receive and its CloseNow never wait for the write lock that
// another stream's write holds while the server does not read its socket:
// the window the receive gives back and the stream's reset are owed to
// the lock's holder, and go out when it lets go.
func TestH2ClientStreamNotHeldByOtherWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, peer, release := handingH2Dialer(t, 2)
		defer release()
		var pool conn.HTTP2Pool
		defer pool.Close()
		d.HTTP2Pool = &pool
		a := dial(t, d, "ws://h2.test/")
		b := dial(t, d, "ws://h2.test/")
		p := <-peer
		p.hold <- struct{}{}
		wrote := make(chan error, 1)
		go func() { wrote <- a.WriteMessage(context.Background(), frame.OpBinary, make([]byte, 40000)) }()
		synctest.Wait() // a's write is stuck on the pipe, holding the write lock
		// Past a quarter of the stream's window: its read gives window back.
		msg := strings.Repeat("x", 100<<10)
		p.data(3, wsFrame(msg))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		if _, m, err := b.ReadMessage(ctx); err != nil || len(m) != len(msg) || time.Since(start) != 0 {
			t.Errorf("ReadMessage = %d bytes, %v after %v; want %d bytes at once", len(m), err, time.Since(start), len(msg))
		}
		start = time.Now()
		b.CloseNow()
		if took := time.Since(start); took != 0 {
			t.Errorf("CloseNow took %v, want no wait", took)
		}
		<-p.hold
		if err := <-wrote; err != nil {
			t.Errorf("WriteMessage = %v", err)
		}
		if f := p.next(http2.FrameWindowUpdate); f.StreamID != 3 {
			t.Errorf("first WINDOW_UPDATE after the write %+v, want stream 3's", f)
		}
		if f := p.next(http2.FrameRSTStream); f.StreamID != 3 || f.Code != http2.ErrCodeCancel {
			t.Errorf("RST_STREAM after the write %+v, want stream 3 CANCEL", f)
		}
		a.CloseNow()
	})
}

// A stream's reset owed to the write lock's holder goes out before the
// HEADERS of a stream opened on the slot it gave back: the server never
// sees more open streams than its SETTINGS_MAX_CONCURRENT_STREAMS. Here
// the read loop holds the lock, stuck answering a PING to a server that
// stopped reading, when a WebSocket is closed and a new one dialled.
func TestH2ClientResetBeforeNewStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, peer, release := handingH2Dialer(t, 2, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 2})
		defer release()
		var pool conn.HTTP2Pool
		defer pool.Close()
		d.HTTP2Pool = &pool
		a := dial(t, d, "ws://h2.test/")
		dial(t, d, "ws://h2.test/")
		p := <-peer
		synctest.Wait()
		p.hold <- struct{}{} // the peer reads one more frame at most
		p.fr.WritePing(false, [8]byte{1})
		synctest.Wait() // its answer was read; the peer reads nothing more
		p.fr.WritePing(false, [8]byte{2})
		synctest.Wait() // the read loop holds the write lock, writing the answer
		a.CloseNow()    // RST_STREAM 1 owed; the slot goes back to the pool
		dialed := make(chan error, 1)
		go func() {
			c, err := d.Dial(context.Background(), "ws://h2.test/")
			if err == nil {
				c.CloseNow()
			}
			dialed <- err
		}()
		synctest.Wait() // the new stream waits for the write lock
		<-p.hold
		var order []string
		for len(order) < 2 {
			f, ok := <-p.frames
			if !ok {
				break
			}
			switch f.Type {
			case http2.FrameHeaders:
				order = append(order, fmt.Sprint("HEADERS ", f.StreamID))
				p.headers(f.StreamID, false, ":status", "200")
			case http2.FrameRSTStream:
				order = append(order, fmt.Sprint("RST_STREAM ", f.StreamID))
			}
		}
		if len(order) == 0 || order[0] != "RST_STREAM 1" {
			t.Errorf("frames on the wire %v, want RST_STREAM 1 before any HEADERS", order)
		}
		if err := <-dialed; err != nil {
			t.Errorf("Dial = %v", err)
		}
	})
}

// A stream that reads while nothing else writes gives its window back at
// once, read after read: an owed WINDOW_UPDATE is written by whoever finds
// the write lock free, here the reader itself.
func TestH2ClientWindowWithoutWriters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, peer, release := handingH2Dialer(t, 1)
		defer release()
		c := dial(t, d, "ws://h2.test/")
		p := <-peer
		msg := strings.Repeat("x", 100<<10) // past a quarter of the stream's window
		for round := range 8 {
			p.data(1, wsFrame(msg))
			if _, m, err := c.ReadMessage(context.Background()); err != nil || len(m) != len(msg) {
				t.Fatalf("round %d: ReadMessage = %d bytes, %v", round, len(m), err)
			}
			synctest.Wait()
			var given uint32
			for len(p.frames) > 0 {
				if f := <-p.frames; f.Type == http2.FrameWindowUpdate && f.StreamID == 1 {
					given += f.Increment
				}
			}
			if given == 0 {
				t.Fatalf("round %d: no WINDOW_UPDATE for stream 1", round)
			}
		}
	})
}

// The read loop never waits for the write lock: while a write is stuck on
// a server that does not read its socket, a PING is still read (its
// answer owed to the writer) and the DATA after it reaches its stream.
func TestH2ClientReadsWhileWriteBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, peer, release := handingH2Dialer(t, 1) // the test reads the client's frames from then on
		defer release()
		c := dial(t, d, "ws://h2.test/")
		p := <-peer
		p.hold <- struct{}{}
		wrote := make(chan error, 1)
		go func() { wrote <- c.WriteMessage(context.Background(), frame.OpBinary, make([]byte, 40000)) }()
		synctest.Wait() // the writer is stuck on the pipe, holding the write lock
		p.fr.WritePing(false, [8]byte{'p'})
		p.fr.WriteData(1, false, wsFrame("after the ping"))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, m, err := c.ReadMessage(ctx); err != nil || string(m) != "after the ping" {
			t.Errorf("ReadMessage while a write is blocked = %q, %v", m, err)
		}
		<-p.hold
		if err := <-wrote; err != nil {
			t.Errorf("WriteMessage = %v", err)
		}
		if f := p.next(http2.FramePing); !f.Flags.Has(http2.FlagPingAck) || f.Data[0] != 'p' {
			t.Errorf("PING answer %+v, want an ACK", f)
		}
		c.CloseNow()
	})
}

// A write stopped halfway by the stream's window is kept and finished by
// the next send; the stream is then whole again, so Close ends it
// (END_STREAM after the close frame) rather than resetting it as it does
// while a frame is still cut.
func TestH2ClientKeptWriteEndsStream(t *testing.T) {
	for _, finish := range []bool{false, true} {
		t.Run(fmt.Sprintf("finished=%v", finish), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ended := make(chan h2Frame, 1)
				window := make(chan struct{})
				d := rawH2Dialer(t, func(p *h2Peer) {
					id := p.answer()
					<-window
					p.fr.WriteWindowUpdate(0, 1<<20)
					p.fr.WriteWindowUpdate(id, 1<<20)
					var wire []byte // the client's WebSocket frames, parsed as they complete
					for f := range p.frames {
						switch {
						case f.Type == http2.FrameRSTStream:
							ended <- f
							return
						case f.Type == http2.FrameData && f.Flags.Has(http2.FlagDataEndStream):
							ended <- f
							return
						case f.Type == http2.FrameData:
							wire = append(wire, f.Data...)
							for {
								r := bytes.NewReader(wire)
								h, err := frame.ReadHeader(r)
								if err != nil || int64(r.Len()) < h.Length {
									break
								}
								wire = wire[len(wire)-r.Len()+int(h.Length):]
								if h.Opcode == frame.OpClose {
									closing, _ := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose, Length: 2}, Payload: []byte{0x03, 0xe8}}.AppendBinary(nil)
									p.fr.WriteData(id, true, closing)
								}
							}
						}
					}
				}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
				c := dial(t, d, "ws://h2.test/")
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				err := c.WriteMessage(ctx, frame.OpBinary, make([]byte, 100))
				cancel()
				var te *conn.TimeoutError
				if !errors.As(err, &te) || !te.Kept {
					t.Fatalf("WriteMessage past the window = %v, want a *TimeoutError with the rest kept", err)
				}
				close(window)
				if finish {
					if err := c.WriteMessage(context.Background(), frame.OpBinary, []byte("next")); err != nil {
						t.Fatalf("WriteMessage after the window opened: %v", err)
					}
				}
				if err := c.Close(context.Background(), status.NormalClosure, ""); err != nil {
					t.Errorf("Close = %v", err)
				}
				f := <-ended
				if f.Type != http2.FrameData {
					t.Errorf("the stream ended with %v %v, want END_STREAM", f.Type, f.Code)
				}
			})
		})
	}
}

// On an HTTP/2 connection of its own (no HTTP2Pool), a write stuck on a
// server that does not read its socket ends at the call's context, as over
// HTTP/1.1, not at the connection's 30 s write limit, which a pooled
// connection keeps: its socket is every WebSocket's. The cut write ends
// the connection, the WebSocket's alone.
func TestH2SoloWriteBoundedByContext(t *testing.T) {
	for _, cancelled := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			cs, p := h2Dial(t, 1, false)
			c := cs[0]
			p.hold <- struct{}{} // the server reads nothing more
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if cancelled {
				ctx, cancel = context.WithCancel(context.Background())
				time.AfterFunc(2*time.Second, cancel)
			}
			start := time.Now()
			err := c.WriteMessage(ctx, frame.OpBinary, make([]byte, 100000))
			var te *conn.TimeoutError
			if took := time.Since(start); took != 2*time.Second || !errors.As(err, &te) {
				t.Errorf("WriteMessage = %v after %v, want a TimeoutError at 2s", err, took)
			}
			start = time.Now()
			c.Close(context.Background(), status.NormalClosure, "")
			if took := time.Since(start); took > conn.DefaultCloseTimeout {
				t.Errorf("Close took %v", took)
			}
			<-p.hold
		})
	}
}

// A write stuck on a pooled connection's socket cannot be cut by the
// CloseNow of its WebSocket (the socket is every WebSocket's), but when
// it ends it reports that CloseNow, as every blocked call does: an error
// matching ErrClosed, not the write timeout.
func TestH2PooledWriteAfterCloseNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cs, p := h2Dial(t, 1, true)
		c := cs[0]
		p.hold <- struct{}{} // the server reads nothing more
		wrote := make(chan error, 1)
		go func() { wrote <- c.WriteMessage(context.Background(), frame.OpBinary, make([]byte, 100000)) }()
		synctest.Wait()
		c.CloseNow()
		if err := <-wrote; !errors.Is(err, conn.ErrClosed) {
			t.Errorf("WriteMessage = %v, want ErrClosed", err)
		}
		<-p.hold
	})
}

// A solo connection's write cut by its deadline on the socket ended the
// connection: the TimeoutError says so (Broken, ErrBroken), and the next
// call reports the connection closed by it, not a WriteTimeout that
// played no part, even when the server was only slow.
func TestH2SoloCutWriteBroken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cs, p := h2Dial(t, 1, false)
		c := cs[0]
		p.hold <- struct{}{}
		time.AfterFunc(3*time.Second, func() { <-p.hold }) // slow, not dead
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := c.WriteMessage(ctx, frame.OpBinary, make([]byte, 20000))
		var te *conn.TimeoutError
		if !errors.As(err, &te) || !te.Broken || !errors.Is(err, conn.ErrBroken) {
			t.Fatalf("WriteMessage = %v, want a broken TimeoutError", err)
		}
		time.Sleep(4 * time.Second)
		err = c.WriteMessage(context.Background(), frame.OpBinary, []byte("next"))
		if !errors.Is(err, conn.ErrClosed) || errors.Is(err, conn.ErrWriteTimeout) {
			t.Errorf("next WriteMessage = %v, want ErrClosed (by the cut write)", err)
		}
	})
}
