package conn_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
)

// h2Dial dials n WebSockets to a server that answers them (see
// handingH2Dialer), through an HTTP2Pool when pooled and each over an
// HTTP/2 connection of its own otherwise (then n is 1), and returns them
// with the server's peer. Everything is released when the test ends.
func h2Dial(t *testing.T, n int, pooled bool) ([]*conn.Conn, *h2Peer) {
	t.Helper()
	d, peer, release := handingH2Dialer(t, n)
	t.Cleanup(release)
	if pooled {
		pool := new(conn.HTTP2Pool)
		t.Cleanup(func() { pool.Close() })
		d.HTTP2Pool = pool
	}
	cs := make([]*conn.Conn, n)
	for i := range cs {
		cs[i] = dial(t, d, "ws://h2.test/")
	}
	return cs, <-peer
}

// The answer to the extended CONNECT is checked as RFC 9113 has it, and a
// stream error keeps its cause for errors.Is: a :status that is not three
// digits, and a connection-specific field in a 2xx answer, are malformed
// (stream errors); a server's SETTINGS_ENABLE_PUSH 1 is a connection
// error (§6.5.2).
func TestH2ClientStrictAnswer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		script   func(p *h2Peer)
		settings []http2.Setting
		want     error
		stream   bool
	}{
		{"status +200", func(p *h2Peer) {
			p.headers(p.next(http2.FrameHeaders).StreamID, false, ":status", "+200")
			p.next(http2.FrameGoAway)
		}, nil, handshake.ErrMalformedResponse, true},
		{"status abc", func(p *h2Peer) {
			p.headers(p.next(http2.FrameHeaders).StreamID, false, ":status", "abc")
			p.next(http2.FrameGoAway)
		}, nil, handshake.ErrMalformedResponse, true},
		{"status 0200", func(p *h2Peer) {
			p.headers(p.next(http2.FrameHeaders).StreamID, false, ":status", "0200")
			p.next(http2.FrameGoAway)
		}, nil, handshake.ErrMalformedResponse, true},
		{"transfer-encoding", func(p *h2Peer) {
			p.answer("transfer-encoding", "chunked")
			p.next(http2.FrameGoAway)
		}, nil, handshake.ErrMalformedResponse, true},
		{"push enabled", func(p *h2Peer) {
			p.next(http2.FrameGoAway)
		}, []http2.Setting{{ID: http2.SettingEnablePush, Val: 1}}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := rawH2Dialer(t, tc.script, tc.settings...)
				c, err := d.Dial(context.Background(), "ws://h2.test/")
				if err == nil {
					c.CloseNow()
					t.Fatal("dial succeeded")
				}
				var he *conn.HTTP2Error
				if !errors.As(err, &he) || he.Stream != tc.stream || he.Code != http2.ErrCodeProtocol {
					t.Errorf("Dial = %v, want an HTTP2Error PROTOCOL_ERROR with Stream %v", err, tc.stream)
				}
				if tc.want != nil && !errors.Is(err, tc.want) {
					t.Errorf("Dial = %v, want it to match %v", err, tc.want)
				}
			})
		})
	}
}

// Frames on a stream the client reset are dropped, without a reset owed
// for each (a server repeating them would otherwise grow the client's
// queue of resets without bound while a write holds the lock); a
// WINDOW_UPDATE of 0 on an idle stream is a connection error (RFC 9113
// §5.1), not a reset of a stream never opened.
func TestH2ClientNoResetsForClosedStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cs, p := h2Dial(t, 2, true)
		a, b := cs[0], cs[1]
		p.fr.AllowIllegalWrites = true // WINDOW_UPDATEs of 0
		a.CloseNow()                   // stream 1: one RST_STREAM CANCEL
		if f := p.next(http2.FrameRSTStream); f.StreamID != 1 {
			t.Fatalf("first reset %+v, want stream 1's", f)
		}
		for range 100 {
			p.fr.WriteWindowUpdate(1, 0)
		}
		p.fr.WritePing(false, [8]byte{7})
		for f := range p.frames {
			if f.Type == http2.FramePing {
				break
			}
			if f.Type == http2.FrameRSTStream {
				t.Fatalf("the client reset stream %d again", f.StreamID)
			}
		}
		p.fr.WriteWindowUpdate(101, 0)
		if f := p.next(http2.FrameGoAway); f.Code != http2.ErrCodeProtocol {
			t.Errorf("after WINDOW_UPDATE 0 on idle stream 101: %+v, want GOAWAY PROTOCOL_ERROR", f)
		}
		b.CloseNow()
	})
}

// Padding is consumed at once, and given back in the stream's window as
// read bytes are: DATA frames of padding alone, which no Read consumes,
// do not shut the stream's window for good.
func TestH2ClientPaddingWindowReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, p := h2Dial(t, 1, false)
		pad := make([]byte, 255)
		for range 300 { // 76,800 bytes of window, over a quarter of 256 KiB
			p.fr.WriteDataPadded(1, false, nil, pad)
		}
		if f := p.next(http2.FrameWindowUpdate); f.StreamID != 1 || f.Increment < 64<<10 {
			t.Errorf("first WINDOW_UPDATE %+v, want stream 1's giving back at least 64 KiB", f)
		}
	})
}

// A burst of PINGs that arrives while a write holds the lock is answered
// when it lets go: a server that reads promptly is not taken for one that
// floods.
func TestH2ClientPingBurstDuringWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cs, p := h2Dial(t, 1, false)
		c := cs[0]
		p.hold <- struct{}{} // the server reads nothing for now
		wrote := make(chan error, 1)
		go func() { wrote <- c.WriteMessage(context.Background(), frame.OpBinary, make([]byte, 40000)) }()
		synctest.Wait() // the write holds the lock, stuck on the pipe
		for i := range 100 {
			p.fr.WritePing(false, [8]byte{byte(i)})
		}
		<-p.hold
		if err := <-wrote; err != nil {
			t.Fatalf("WriteMessage = %v", err)
		}
		for i := range 100 {
			if f := p.next(http2.FramePing); f.Flags&http2.FlagPingAck == 0 || f.Data[0] != byte(i) {
				t.Fatalf("answer %d: %+v", i, f)
			}
		}
	})
}

// A server whose SETTINGS_MAX_CONCURRENT_STREAMS is 0 gets no HEADERS
// (RFC 9113 §5.1.2): the dial fails as refused, without opening a stream.
func TestH2ClientMaxStreamsZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		headers := make(chan bool, 1)
		d := rawH2Dialer(t, func(p *h2Peer) {
			// Until the client closes the connection.
			headers <- p.next(http2.FrameHeaders).Type == http2.FrameHeaders
		}, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 0})
		_, err := d.Dial(context.Background(), "ws://h2.test/")
		var he *conn.HTTP2Error
		if !errors.As(err, &he) || he.Code != http2.ErrCodeRefusedStream {
			t.Errorf("Dial = %v, want an HTTP2Error REFUSED_STREAM", err)
		}
		if <-headers {
			t.Error("the client sent HEADERS")
		}
	})
}

// A pooled connection that one WebSocket's write fails with a socket
// timeout (the 30 s write limit) ends the other WebSockets on it as lost,
// not with a timeout: a read with a deadline of its own must not take it
// for that deadline, return at once and be retried for ever.
func TestH2ConnectionTimeoutIsLossForOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cs, p := h2Dial(t, 2, true)
		a, b := cs[0], cs[1]
		p.hold <- struct{}{} // the server reads nothing more
		go a.WriteMessage(context.Background(), frame.OpBinary, make([]byte, 40000))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		_, _, err := b.ReadMessage(ctx)
		var te *conn.TimeoutError
		if errors.As(err, &te) || !errors.Is(err, conn.ErrConnectionLost) || time.Since(start) > time.Minute {
			t.Errorf("ReadMessage = %v after %v, want ErrConnectionLost once the write limit failed the connection", err, time.Since(start))
		}
		<-p.hold
	})
}

// Close over HTTP/2 ends at its context's deadline when the server does
// not answer, as over HTTP/1.1: the stream is reset then, without the
// grace a stream's close gives a server to end its side.
func TestH2CloseUnansweredBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cs, p := h2Dial(t, 1, false)
		c := cs[0]
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		var te *conn.TimeoutError
		if err := c.Close(ctx, 1000, ""); !errors.As(err, &te) {
			t.Errorf("Close = %v, want a TimeoutError", err)
		}
		if took := time.Since(start); took != 200*time.Millisecond {
			t.Errorf("Close took %v, want its context's 200ms", took)
		}
		if f := p.next(http2.FrameRSTStream); f.StreamID != 1 {
			t.Errorf("after Close: %+v, want the stream reset", f)
		}
	})
}

// A header block may come in as many frames as a block of the largest
// header list in frames of 64 bytes, but a server that sends empty
// CONTINUATION frames for ever, which the Framer's bound on a block's
// bytes lets through, fails the connection at once (ENHANCE_YOUR_CALM)
// instead of holding the read loop, and the dial, until its deadline.
func TestH2ClientContinuationFlood(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frames int // 0: for ever
	}{{"1024 frames", 1024}, {"endless", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := rawH2Dialer(t, func(p *h2Peer) {
					f := p.next(http2.FrameHeaders)
					p.hbuf.Reset()
					p.enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
					p.enc.WriteField(hpack.HeaderField{Name: "x-pad", Value: strings.Repeat("v", 100)})
					block := p.hbuf.Bytes()
					if p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: f.StreamID, BlockFragment: block[:1]}) != nil {
						return
					}
					block = block[1:]
					for i := 2; tc.frames == 0 || i <= tc.frames; i++ {
						var frag []byte
						if tc.frames > 0 && len(block) > tc.frames-i {
							frag, block = block[:1], block[1:]
						}
						if p.fr.WriteContinuation(f.StreamID, i == tc.frames, frag) != nil {
							return
						}
					}
					p.next(http2.FrameRSTStream)
				})
				start := time.Now()
				c, err := d.Dial(context.Background(), "ws://h2.test/")
				if tc.frames > 0 {
					if err != nil {
						t.Fatalf("Dial = %v", err)
					}
					if v := c.Header().Get("X-Pad"); len(v) != 100 {
						t.Errorf("x-pad has %d bytes, want 100", len(v))
					}
					c.CloseNow()
					return
				}
				var he *conn.HTTP2Error
				if !errors.As(err, &he) || he.Code != http2.ErrCodeEnhanceYourCalm {
					t.Errorf("Dial = %v, want an HTTP2Error ENHANCE_YOUR_CALM", err)
				}
				if d := time.Since(start); d != 0 {
					t.Errorf("Dial returned after %v, want at once", d)
				}
			})
		})
	}
}

// An HTTP2Only Dialer is checked before dialling by the rules of the
// extended CONNECT: Header entries replacing fields HTTP/2 does not send
// (Sec-WebSocket-Key, Host) are ignored there, so they do not stop the
// dial, as HTTP/1.1's rules would.
func TestH2OnlyCheckedAsConnect(t *testing.T) {
	for name, h := range map[string]http.Header{
		"no key":    {"Sec-WebSocket-Key": {}},
		"two hosts": {"Host": {"a.test", "b.test"}},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := rawH2Dialer(t, func(p *h2Peer) { p.answer(); p.next(http2.FrameRSTStream) })
				d.Header = h
				c, err := d.Dial(context.Background(), "ws://h2.test/")
				if err != nil {
					t.Fatalf("Dial = %v", err)
				}
				c.CloseNow()
			})
		})
	}
}
