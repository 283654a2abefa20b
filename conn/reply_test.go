package conn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// maskedPong is the pong with payload p masked with abcd, as it must
// appear on the wire.
func maskedPong(p string) []byte {
	key := abcd()
	b := []byte{0x8a, 0x80 | byte(len(p)), key[0], key[1], key[2], key[3]}
	for i := range len(p) {
		b = append(b, p[i]^key[i%4])
	}
	return b
}

// A peer that floods pings and reads nothing cannot hold a receiving call
// with a context that never ends: the first pong that cannot be written
// within ReplyTimeout fails the connection, and every later call reports
// it closed.
func TestPingFloodNotRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		flooded := make(chan error, 1)
		c := dialPipe(t, nil, func(p *wstest.Peer) {
			p.Upgrade(nil)
			for {
				if err := p.WriteMessage(frame.OpPing, []byte("flood")); err != nil {
					flooded <- err
					return
				}
			}
		})
		start := time.Now()
		_, _, err := c.ReadMessage(context.Background())
		if d := time.Since(start); d != conn.ReplyTimeout {
			t.Errorf("ReadMessage returned after %v, want %v", d, conn.ReplyTimeout)
		}
		if !errors.Is(err, conn.ErrReplyTimeout) {
			t.Fatalf("ReadMessage = %v, want ErrReplyTimeout", err)
		}
		// The connection is gone: nothing in the error reads as a
		// timeout that a retry could outlast.
		var ne net.Error
		if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && (ne.Timeout() || ne.Temporary()) {
			t.Errorf("ReadMessage = %v matches a timeout to retry", err)
		}
		if err := <-flooded; err == nil {
			t.Error("the peer could still write: the socket is open")
		}
		_, _, err = c.ReadMessage(context.Background())
		if !errors.Is(err, conn.ErrClosed) || !errors.Is(err, conn.ErrReplyTimeout) {
			t.Errorf("second ReadMessage = %v, want ErrClosed wrapping ErrReplyTimeout", err)
		}
		if errors.As(err, &ne) && (ne.Timeout() || ne.Temporary()) {
			t.Errorf("second ReadMessage = %v is a net.Error timeout or temporary", err)
		}
	})
}

// A peer that reads slowly gets its pong whole, and the connection goes
// on.
func TestPongToSlowReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got := make(chan []byte, 1)
		c := dialPipe(t, &conn.Dialer{Config: conn.Config{MaskKey: abcd}}, func(p *wstest.Peer) {
			p.Upgrade(nil)
			p.WriteMessage(frame.OpPing, []byte("slow"))
			time.Sleep(conn.ReplyTimeout - time.Second)
			b := make([]byte, len(maskedPong("slow")))
			p.ReadFull(b)
			got <- b
			p.WriteMessage(frame.OpText, []byte("after"))
			code, _, _ := p.ReadClose()
			p.WriteClose(code, "")
		})
		if _, b, err := c.ReadMessage(context.Background()); err != nil || string(b) != "after" {
			t.Fatalf("ReadMessage = %q, %v", b, err)
		}
		if b, want := <-got, maskedPong("slow"); !bytes.Equal(b, want) {
			t.Errorf("peer read % x, want % x", b, want)
		}
		if err := c.Close(context.Background(), status.NormalClosure, ""); err != nil {
			t.Error(err)
		}
	})
}

// A receiving call whose context ends while it writes a pong finishes the
// pong instead of cutting it: it returns a *TimeoutError, the connection
// stays usable and the peer reads exactly one whole pong, then the close
// frame.
func TestPongNotCutByContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got := make(chan []byte, 1)
		closed := make(chan status.Code, 1)
		c := dialPipe(t, &conn.Dialer{Config: conn.Config{MaskKey: abcd}}, func(p *wstest.Peer) {
			p.Upgrade(nil)
			p.WriteMessage(frame.OpPing, []byte("p1"))
			// Read the socket itself, unbuffered, to take the pong
			// in two parts.
			b := make([]byte, len(maskedPong("p1")))
			io.ReadFull(p.Conn, b[:3]) // the pong has begun
			time.Sleep(time.Second)
			io.ReadFull(p.Conn, b[3:])
			got <- b
			p.WriteMessage(frame.OpText, []byte("next"))
			code, _, _ := p.ReadClose()
			closed <- code
			p.WriteClose(code, "")
		})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err := c.ReadMessage(ctx)
		var te *conn.TimeoutError
		if !errors.As(err, &te) || te.Broken || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ReadMessage = %v, want a *TimeoutError that leaves the connection usable", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("ReadMessage returned after %v, want 1s, when the pong was written", d)
		}
		if b, want := <-got, maskedPong("p1"); !bytes.Equal(b, want) {
			t.Errorf("peer read % x, want % x", b, want)
		}
		if _, b, err := c.ReadMessage(context.Background()); err != nil || string(b) != "next" {
			t.Fatalf("ReadMessage after the timeout = %q, %v", b, err)
		}
		if err := c.Close(context.Background(), status.NormalClosure, ""); err != nil {
			t.Error(err)
		}
		if code := <-closed; code != status.NormalClosure {
			t.Errorf("peer read close code %v after the pong", code)
		}
	})
}

// A pong owed while another goroutine's send holds the write lock does
// not wait for it: the sender writes it after its frame.
func TestPongWaitsForSender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seen := make(chan string, 2)
		c := dialPipe(t, nil, func(p *wstest.Peer) {
			p.Upgrade(nil)
			p.WriteMessage(frame.OpPing, []byte("p"))
			time.Sleep(conn.ReplyTimeout - time.Second) // read nothing meanwhile
			for range 2 {
				f, _ := p.ReadFrame()
				seen <- f.Opcode.String() + ":" + string(f.Payload[:min(len(f.Payload), 1)])
			}
			p.WriteMessage(frame.OpText, []byte("after"))
			code, _, _ := p.ReadClose()
			p.WriteClose(code, "")
		})
		sent := make(chan error, 1)
		go func() { sent <- c.WriteMessage(context.Background(), frame.OpBinary, []byte("big")) }()
		synctest.Wait() // the sender holds the write lock
		if _, b, err := c.ReadMessage(context.Background()); err != nil || string(b) != "after" {
			t.Fatalf("ReadMessage = %q, %v", b, err)
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		if a, b := <-seen, <-seen; a != "binary:b" || b != "pong:p" {
			t.Errorf("peer read %s then %s, want the binary message then the pong", a, b)
		}
		if err := c.Close(context.Background(), status.NormalClosure, ""); err != nil {
			t.Error(err)
		}
	})
}

// A ping received before the peer's close frame is answered (RFC 6455
// §5.5.2 excuses only pings after it), also when the pong was left to a
// sender holding the write lock: the pong follows the sender's frame and
// comes before the close frame that answers the peer.
func TestPongBeforeCloseEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seen := make(chan string, 3)
		c := dialPipe(t, nil, func(p *wstest.Peer) {
			p.Upgrade(nil)
			p.WriteMessage(frame.OpPing, []byte("p"))
			p.WriteClose(status.NormalClosure, "")
			time.Sleep(time.Second) // read nothing meanwhile
			for range 3 {
				f, err := p.ReadFrame()
				if err != nil {
					seen <- err.Error()
					continue
				}
				seen <- f.Opcode.String() + ":" + string(f.Payload[:min(len(f.Payload), 1)])
			}
		})
		sent := make(chan error, 1)
		go func() { sent <- c.WriteMessage(context.Background(), frame.OpBinary, []byte("big")) }()
		synctest.Wait() // the sender holds the write lock
		_, _, err := c.ReadMessage(context.Background())
		if ce := (*status.CloseError)(nil); !errors.As(err, &ce) || ce.Code != status.NormalClosure {
			t.Fatalf("ReadMessage = %v, want the peer's close", err)
		}
		<-sent
		got := []string{<-seen, <-seen, <-seen}
		if want := []string{"binary:b", "pong:p", "close:\x03"}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("peer read %q, want %q", got, want)
		}
	})
}

// A send that holds the write lock far longer than ReplyTimeout, to a
// peer that pings and then reads nothing for a while, neither fails the
// connection nor stalls the reader: the receiving call reads on at once,
// and the pong follows the sender's frame on the wire.
func TestPongLongSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seen := make(chan string, 2)
		c := dialPipe(t, nil, func(p *wstest.Peer) {
			p.Upgrade(nil)
			p.WriteMessage(frame.OpPing, []byte("p"))
			p.WriteMessage(frame.OpText, []byte("after"))
			time.Sleep(3 * conn.ReplyTimeout) // read nothing meanwhile
			for range 2 {
				f, _ := p.ReadFrame()
				seen <- f.Opcode.String() + ":" + string(f.Payload[:min(len(f.Payload), 1)])
			}
			code, _, _ := p.ReadClose()
			p.WriteClose(code, "")
		})
		sent := make(chan error, 1)
		go func() { sent <- c.WriteMessage(context.Background(), frame.OpBinary, []byte("long")) }()
		synctest.Wait() // the sender holds the write lock
		start := time.Now()
		if _, b, err := c.ReadMessage(context.Background()); err != nil || string(b) != "after" {
			t.Fatalf("ReadMessage = %q, %v", b, err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("ReadMessage returned after %v, want at once", d)
		}
		if err := <-sent; err != nil {
			t.Fatalf("the long send: %v", err)
		}
		if d := time.Since(start); d != 3*conn.ReplyTimeout {
			t.Errorf("the send returned after %v, want %v, when the peer read", d, 3*conn.ReplyTimeout)
		}
		if a, b := <-seen, <-seen; a != "binary:l" || b != "pong:p" {
			t.Errorf("peer read %s then %s, want the binary message then the pong", a, b)
		}
		if err := c.Close(context.Background(), status.NormalClosure, ""); err != nil {
			t.Error(err)
		}
	})
}

// After the connection ends, in any way, every call returns an error
// matching ErrClosed that still wraps the cause.
func TestCallsAfterEndMatchErrClosed(t *testing.T) {
	tests := []struct {
		name  string
		peer  wstest.Handler
		cause func(error) bool
	}{
		{"connection lost", func(p *wstest.Peer) { p.Upgrade(nil) }, func(err error) bool {
			var ce *status.CloseError
			return errors.Is(err, conn.ErrConnectionLost) && errors.As(err, &ce) && ce.Code == status.AbnormalClosure
		}},
		{"peer's close", func(p *wstest.Peer) {
			p.Upgrade(nil)
			p.WriteClose(4001, "bye")
			p.ReadClose()
		}, func(err error) bool {
			var ce *status.CloseError
			return errors.As(err, &ce) && ce.Code == 4001 && ce.Reason == "bye"
		}},
		{"protocol error", func(p *wstest.Peer) {
			p.Upgrade(nil)
			p.WriteFrame(frame.Frame{Header: frame.Header{Fin: true, Opcode: 3}})
			p.ReadClose()
		}, func(err error) bool {
			var fe *frame.Error
			return errors.As(err, &fe) && fe.Code == status.ProtocolError
		}},
		{"pong not read", func(p *wstest.Peer) {
			p.Upgrade(nil)
			p.WriteMessage(frame.OpPing, nil)
			time.Sleep(2 * conn.ReplyTimeout) // reading nothing
			p.ReadFrame()
		}, func(err error) bool { return errors.Is(err, conn.ErrReplyTimeout) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				peerDone := make(chan struct{})
				c := dialPipe(t, nil, func(p *wstest.Peer) {
					defer close(peerDone)
					tt.peer(p)
				})
				defer func() { <-peerDone }()
				_, _, first := c.ReadMessage(context.Background())
				if !tt.cause(first) {
					t.Fatalf("first ReadMessage = %v, not the cause", first)
				}
				ctx := context.Background()
				calls := map[string]func() error{
					"ReadMessage":   func() error { _, _, err := c.ReadMessage(ctx); return err },
					"ReadDataFrame": func() error { _, err := c.ReadDataFrame(ctx, nil); return err },
					"ReadFrame":     func() error { _, err := c.ReadFrame(ctx, nil); return err },
					"WriteMessage":  func() error { return c.WriteMessage(ctx, frame.OpText, []byte("x")) },
					"Ping":          func() error { return c.Ping(ctx, nil) },
					"Close":         func() error { return c.Close(ctx, status.NormalClosure, "") },
				}
				for name, call := range calls {
					if err := call(); !errors.Is(err, conn.ErrClosed) || !tt.cause(err) {
						t.Errorf("%s = %v, want ErrClosed wrapping the cause", name, err)
					}
				}
			})
		})
	}
}

// Answering a ping allocates nothing: each ReadDataFrame below reads a
// ping, writes its pong and returns the binary message after it.
func TestPingAllocs(t *testing.T) {
	c := dialMemory(t, append(rawFrame(true, frame.OpPing, []byte("keepalive")), rawFrame(true, frame.OpBinary, []byte("data"))...))
	ctx := t.Context()
	buf := make([]byte, 0, 16)
	recv := func() {
		if f, err := c.ReadDataFrame(ctx, buf[:0]); err != nil || string(f.Payload) != "data" {
			t.Fatalf("ReadDataFrame = %q, %v", f.Payload, err)
		}
	}
	recv() // the first pong draws the masking key source
	if n := testing.AllocsPerRun(100, recv); n != 0 {
		t.Errorf("ReadDataFrame with a ping to answer: %v allocations, want 0", n)
	}
}

// BenchmarkRecvPing receives messages that each follow a ping to answer.
func BenchmarkRecvPing(b *testing.B) {
	c := dialMemory(b, append(rawFrame(true, frame.OpPing, []byte("keepalive")), rawFrame(true, frame.OpBinary, make([]byte, 125))...))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.ReadMessage(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
