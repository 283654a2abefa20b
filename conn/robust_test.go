package conn_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// The answer to the peer's close is bounded by ReplyTimeout even with a
// context that never ends: neither a writer holding the write lock nor a
// peer that stopped reading holds the receiving call for longer.
func TestPeerCloseAnswerBounded(t *testing.T) {
	for _, writer := range []bool{true, false} {
		name := "peer stops reading"
		if writer {
			name = "writer holds the lock"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				c := dialPipe(t, nil, func(p *wstest.Peer) {
					p.Upgrade(nil)
					p.WriteClose(4001, "going")
					<-release // and read nothing more
				})
				sent := make(chan error, 1)
				if writer {
					go func() { sent <- c.WriteMessage(context.Background(), frame.OpBinary, make([]byte, 1<<10)) }()
					synctest.Wait() // the writer is blocked with the lock held
				}
				start := time.Now()
				f, err := c.ReadDataFrame(context.Background(), nil)
				op := f.Opcode
				if err != nil || op != frame.OpClose || string(f.Payload) != "\x0f\xa1going" {
					t.Fatalf("ReadDataFrame = %v %q %v", op, f.Payload, err)
				}
				if d := time.Since(start); d != conn.ReplyTimeout {
					t.Errorf("ReadDataFrame took %v, want the %v bound", d, conn.ReplyTimeout)
				}
				if writer {
					if err := <-sent; !errors.Is(err, net.ErrClosed) {
						t.Errorf("blocked writer got %v, want net.ErrClosed", err)
					}
				}
				_, _, err = c.ReadMessage(context.Background())
				var ce *status.CloseError
				if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "going" {
					t.Errorf("ReadMessage after the close = %v, want the peer's 4001", err)
				}
				close(release)
			})
		})
	}
}

// A pong whose write timed out in ReadDataFrame is sent by the next
// receiving call, ReadFrame included, before it reads.
func TestOwedPongSentByRecvFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		seen := make(chan string, 1)
		c := dialPipe(t, nil, func(p *wstest.Peer) {
			p.Upgrade(nil)
			p.WriteMessage(frame.OpPing, []byte("p1"))
			<-release
			p.ReadFrame() // the binary message that held the write lock
			f, err := p.ReadFrame()
			if err != nil {
				seen <- err.Error()
				return
			}
			seen <- f.Opcode.String() + ":" + string(f.Payload)
			p.WriteMessage(frame.OpText, []byte("after"))
			p.ReadClose()
		})
		sent := make(chan error, 1)
		go func() { sent <- c.WriteMessage(context.Background(), frame.OpBinary, make([]byte, 1<<10)) }()
		synctest.Wait() // the writer is blocked with the lock held

		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		f, err := c.ReadDataFrame(ctx, nil)
		cancel()
		var te *conn.TimeoutError
		if !errors.As(err, &te) || te.Broken || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ReadDataFrame = %v, want a timeout while sending the pong", err)
		}
		close(release)
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		f, err = c.ReadFrame(context.Background(), nil)
		if err != nil || f.Opcode != frame.OpText || string(f.Payload) != "after" {
			t.Fatalf("ReadFrame = %v, %v", f, err)
		}
		if got := <-seen; got != "pong:p1" {
			t.Errorf("server got %q after the binary message, want the owed pong", got)
		}
		c.Close(context.Background(), status.NormalClosure, "")
	})
}

// With the trace on, the copy of a large received payload is not kept
// after the frame.
func TestTraceDropsLargePayload(t *testing.T) {
	checkLeaks(t)
	big := bytes.Repeat([]byte("x"), 1<<20)
	s := serve(t, func(p *wstest.Peer) {
		p.Upgrade(nil)
		p.WriteMessage(frame.OpBinary, big)
		p.WriteMessage(frame.OpText, []byte("small"))
		p.ReadClose()
	})
	var trace bytes.Buffer
	c := dial(t, &conn.Dialer{Config: conn.Config{Trace: &trace}}, s.URL)
	ctx := testCtx(t)
	if _, p, err := c.ReadMessage(ctx); err != nil || !bytes.Equal(p, big) {
		t.Fatalf("ReadMessage = %d bytes, %v", len(p), err)
	}
	if n := conn.TraceBufferCap(c); n > 64<<10 {
		t.Errorf("trace keeps %d bytes after a 1 MiB frame", n)
	}
	if _, p, err := c.ReadMessage(ctx); err != nil || string(p) != "small" {
		t.Fatalf("ReadMessage = %q, %v", p, err)
	}
	if n := conn.TraceBufferCap(c); n == 0 || n > 64<<10 {
		t.Errorf("trace buffer of %d bytes after a small frame, want it kept for reuse", n)
	}
	out := trace.String()
	if !strings.Contains(out, "++Rcv decoded: fin=1 opcode=2 data=b'xxxx") || !strings.Contains(out, "++Rcv decoded: fin=1 opcode=1 data=b'small'") {
		t.Errorf("trace lacks the received frames")
	}
}

// An extension other than permessage-deflate offered through Header and
// accepted by the server fails the dial: conn does not implement it, so
// its first RSV1 frame would fail.
func TestExtensionRefused(t *testing.T) {
	checkLeaks(t)
	closed := make(chan error, 1)
	s := serve(t, func(p *wstest.Peer) {
		p.Upgrade(&wstest.Upgrade{Extensions: "x-webkit-deflate-frame"})
		_, err := p.ReadFrame()
		closed <- err
	})
	d := &conn.Dialer{Header: http.Header{"Sec-WebSocket-Extensions": {"x-webkit-deflate-frame"}}}
	err := dialErr(t, d, s.URL)
	if !errors.Is(err, handshake.ErrBadExtension) || !errors.Is(err, handshake.ErrHandshake) {
		t.Errorf("Dial = %v, want handshake.ErrBadExtension", err)
	}
	if err := recv(t, closed); !errors.Is(err, io.EOF) {
		t.Errorf("server read %v, want the socket closed", err)
	}
}

// CloseNow resets the TCP connection, over TLS too: the server sees a reset,
// not an orderly end (nor TLS's close_notify), and a reader started before
// it returns, whether or not it blocked first (TestAbortUnblocksReader
// makes sure it did).
func TestAbortResets(t *testing.T) {
	pool, cert := testCA(t)
	for _, secure := range []bool{false, true} {
		name := "tcp"
		if secure {
			name = "tls"
		}
		t.Run(name, func(t *testing.T) {
			checkLeaks(t)
			got := make(chan error, 1)
			h := func(p *wstest.Peer) {
				p.Upgrade(nil)
				_, err := p.ReadFrame()
				got <- err
			}
			var s *wstest.Server
			d := &conn.Dialer{}
			if secure {
				s = wstest.NewTLSServer(h, &tls.Config{Certificates: []tls.Certificate{cert}})
				d.TLSConfig = &tls.Config{RootCAs: pool}
			} else {
				s = wstest.NewServer(h)
			}
			t.Cleanup(s.Close)
			c := dial(t, d, s.URL)
			done := make(chan error, 1)
			go func() {
				_, _, err := c.ReadMessage(context.Background())
				done <- err
			}()
			if err := c.CloseNow(); err != nil {
				t.Fatal(err)
			}
			if err := recv(t, done); !errors.Is(err, net.ErrClosed) {
				t.Errorf("blocked ReadMessage after CloseNow = %v", err)
			}
			if err := recv(t, got); !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("server read %v, want a connection reset", err)
			}
			if err := c.CloseNow(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("second CloseNow = %v", err)
			}
		})
	}
}

// A redirect to another port of the same host is
// another origin: credentials, the Cookie option and the Host override are
// dropped. A redirect on the same origin keeps them.
func TestRedirectOtherPort(t *testing.T) {
	checkLeaks(t)
	seen := make(chan *http.Request, 4)
	other := serve(t, func(p *wstest.Peer) {
		seen <- p.Request
		p.Upgrade(nil)
		p.ReadClose()
	})
	first := serve(t, func(p *wstest.Peer) {
		seen <- p.Request
		if p.Request.URL.Path == "/same" {
			p.Redirect(307, "/there", nil)
			return
		}
		if p.Request.URL.Path == "/there" {
			p.Upgrade(nil)
			p.ReadClose()
			return
		}
		p.Redirect(307, other.URL+"/there", nil)
	})
	d := &conn.Dialer{
		Header: http.Header{"Authorization": {"Bearer secret"}},
		Cookie: "opt=1",
		Host:   "first.example",
	}
	kept := func(r *http.Request) bool {
		return r.Header.Get("Authorization") == "Bearer secret" && r.Header.Get("Cookie") == "opt=1" && r.Host == "first.example"
	}

	dial(t, d, first.URL+"/same")
	if r1, r2 := recv(t, seen), recv(t, seen); !kept(r1) || !kept(r2) {
		t.Errorf("same-origin redirect dropped credentials: %v host %q", r2.Header, r2.Host)
	}

	dial(t, d, "ws://user:pass@"+first.Addr+"/elsewhere")
	r1, r2 := recv(t, seen), recv(t, seen)
	if !kept(r1) {
		t.Errorf("first request: %v host %q", r1.Header, r1.Host)
	}
	if r2.Header.Get("Authorization") != "" || r2.Header.Get("Cookie") != "" || r2.Host != other.Addr {
		t.Errorf("request after a redirect to another port kept credentials: %v host %q", r2.Header, r2.Host)
	}
}

// A peer that closes with a reason and resets the connection while the
// client still sends (a server refusing a message too big) is heard: the
// write fails with the lost connection, and the next receive returns the
// peer's close frame, which was already in the socket, at once. That
// holds for a message streamed by a MessageWriter too, whose failed
// fragment ends the message: sending ends, the socket stays for the
// receiving calls, which do not wait for the writer, still open, to let go
// of the write lock (no close frame can answer the peer's).
func TestWriteResetKeepsPeerClose(t *testing.T) {
	big := make([]byte, 64<<10)
	for _, s := range []struct {
		name string
		send func(ctx context.Context, c *conn.Conn) (after func() error, err error)
	}{
		{"WriteMessage", func(ctx context.Context, c *conn.Conn) (func() error, error) {
			var err error
			for err == nil && ctx.Err() == nil {
				err = c.WriteMessage(ctx, frame.OpBinary, big)
			}
			return nil, err
		}},
		{"NextWriter", func(ctx context.Context, c *conn.Conn) (func() error, error) {
			w, err := c.NextWriter(ctx, frame.OpBinary)
			if err != nil {
				return nil, err
			}
			for err == nil && ctx.Err() == nil {
				_, err = w.Write(big)
			}
			return w.Close, err
		}},
	} {
		t.Run(s.name, func(t *testing.T) { testWriteResetKeepsPeerClose(t, s.send) })
	}
}

func testWriteResetKeepsPeerClose(t *testing.T, send func(ctx context.Context, c *conn.Conn) (func() error, error)) {
	checkLeaks(t)
	s := serve(t, func(p *wstest.Peer) {
		p.Upgrade(nil)
		p.ReadFrame()
		p.WriteClose(status.MessageTooBig, "limit 1 KiB")
		// Returning closes the socket with the client's bytes unread:
		// the kernel answers them with a reset.
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := dial(t, nil, s.URL)
	defer c.CloseNow()
	if err := c.WriteMessage(ctx, frame.OpBinary, []byte("first")); err != nil {
		t.Fatal(err)
	}
	after, err := send(ctx, c)
	if !errors.Is(err, conn.ErrConnectionLost) || !(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
		t.Fatalf("send = %v, want the reset connection lost", err)
	}
	start := time.Now()
	_, _, err = c.ReadMessage(ctx)
	var ce *status.CloseError
	if !errors.As(err, &ce) || ce.Code != status.MessageTooBig || ce.Reason != "limit 1 KiB" {
		t.Fatalf("ReadMessage after the reset = %v, want the peer's close 1009", err)
	}
	if d := time.Since(start); d >= conn.ReplyTimeout/2 {
		t.Errorf("ReadMessage after the reset took %v, want it at once", d)
	}
	if after != nil {
		if err := after(); !errors.Is(err, conn.ErrConnectionLost) {
			t.Errorf("closing the sender after = %v, want the lost connection", err)
		}
	}
	if err := c.WriteMessage(ctx, frame.OpText, []byte("x")); !errors.Is(err, conn.ErrClosed) {
		t.Errorf("WriteMessage after = %v, want ErrClosed", err)
	}
	if _, _, err := c.ReadMessage(ctx); !errors.Is(err, conn.ErrClosed) {
		t.Errorf("second ReadMessage = %v, want ErrClosed", err)
	}
}
