package conn_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/proxytest"
	"github.com/framewire/ws/proxy"
	"github.com/framewire/ws/wstest"
)

// Dial with a context that never ends bounds the handshake by
// HandshakeTimeout alone: a server that drips its 101 fails the dial with
// a TimeoutError when the bound passes, and a refusal whose body drips is
// the StatusError with what arrived.
func TestDialHandshakeBoundBackground(t *testing.T) {
	upgrade := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		strings.Repeat("X-Drip: .\r\n", 2000) + "\r\n"
	tests := []struct {
		name    string
		h       wstest.Handler
		refused bool
	}{
		{"101 dripped", func(p *wstest.Peer) { p.Trickle([]byte(upgrade), time.Second) }, false},
		{"refusal body dripped", func(p *wstest.Peer) {
			p.Write([]byte("HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n"))
			p.Trickle([]byte(strings.Repeat("no", 10000)), time.Second)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				served := make(chan struct{})
				d := &conn.Dialer{
					HandshakeTimeout: 7 * time.Second,
					Proxy:            proxy.Direct,
					NetDial: func(context.Context, string, string) (net.Conn, error) {
						client, server := net.Pipe()
						go func() {
							wstest.Serve(server, tt.h)
							close(served)
						}()
						return client, nil
					},
				}
				start := time.Now()
				c, err := d.Dial(context.Background(), "ws://pipe.test/")
				if err == nil {
					c.CloseNow()
					t.Fatal("Dial succeeded")
				}
				if took := time.Since(start); took != 7*time.Second {
					t.Errorf("Dial took %v, want 7s", took)
				}
				<-served // its next write fails
				if tt.refused {
					var se *handshake.StatusError
					if !errors.As(err, &se) || se.StatusCode != 403 || len(se.Body) < 7 {
						t.Fatalf("Dial = %v, want the 403 with the body that arrived", err)
					}
					return
				}
				var te *conn.TimeoutError
				if !errors.As(err, &te) || te.Op != "dial" || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Dial = %v, want a dial TimeoutError matching context.DeadlineExceeded", err)
				}
			})
		})
	}
}

// Dial with the zero Dialer's dialing and a context that never ends over
// real TCP: a server that never answers fails the dial with a
// TimeoutError once HandshakeTimeout has passed, and the dials before and
// after it succeed.
func TestDialBoundOverTCP(t *testing.T) {
	for _, k := range []string{"http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "REQUEST_METHOD"} {
		t.Setenv(k, "")
	}
	ok := serve(t, func(p *wstest.Peer) {
		if p.Upgrade(nil) == nil {
			p.ReadClose()
		}
	})
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 1)
	go func() {
		nc, err := silent.Accept()
		if err == nil {
			held <- nc
		}
	}()
	// Should the bound fail, the dial ends when this closes the socket.
	giveUp := time.AfterFunc(5*time.Second, func() { (<-held).Close() })
	defer func() {
		silent.Close()
		if giveUp.Stop() {
			select {
			case nc := <-held:
				nc.Close()
			default:
			}
		}
	}()
	d := &conn.Dialer{HandshakeTimeout: 300 * time.Millisecond}
	ctx := context.Background()
	dialOK := func() {
		t.Helper()
		c, err := d.Dial(ctx, ok.URL)
		if err != nil {
			t.Fatal(err)
		}
		c.CloseNow()
	}
	for range 3 {
		dialOK()
	}
	start := time.Now()
	c, err := d.Dial(ctx, "ws://"+silent.Addr().String()+"/")
	took := time.Since(start)
	if err == nil {
		c.CloseNow()
		t.Fatal("Dial to a server that never answers succeeded")
	}
	var te *conn.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial = %v, want a TimeoutError matching context.DeadlineExceeded", err)
	}
	if took < 300*time.Millisecond || took >= 5*time.Second {
		t.Errorf("Dial took %v, want the 300ms bound", took)
	}
	for range 3 {
		dialOK()
	}

	// Over TLS the bound is the socket's deadline: the handshake's
	// context has no Done channel to wake it.
	dt := &conn.Dialer{HandshakeTimeout: 300 * time.Millisecond, TLSConfig: &tls.Config{InsecureSkipVerify: true}}
	start = time.Now()
	c, err = dt.Dial(ctx, "wss://"+silentServer(t, func() {})+"/")
	took = time.Since(start)
	if err == nil {
		c.CloseNow()
		t.Fatal("Dial to a TLS server that never answers succeeded")
	}
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		t.Errorf("TLS: Dial = %v, want a TimeoutError matching context.DeadlineExceeded only", err)
	}
	if took < 300*time.Millisecond || took >= 5*time.Second {
		t.Errorf("TLS: Dial took %v, want the 300ms bound", took)
	}
}

// A dial from a context that never ends through a proxy from the
// environment is bounded by HandshakeTimeout while the proxy holds it.
func TestDialBoundEnvironmentProxy(t *testing.T) {
	for _, k := range []string{"http_proxy", "https_proxy", "all_proxy", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "no_proxy", "REQUEST_METHOD"} {
		t.Setenv(k, "")
	}
	hold := make(chan struct{})
	defer close(hold)
	p := proxytest.NewHTTP(t, proxytest.Config{Hold: hold})
	t.Setenv("HTTP_PROXY", "http://"+p.Addr)
	d := &conn.Dialer{HandshakeTimeout: 300 * time.Millisecond}
	start := time.Now()
	c, err := d.Dial(context.Background(), "ws://unreachable.invalid/")
	took := time.Since(start)
	if err == nil {
		c.CloseNow()
		t.Fatal("Dial through a proxy that never answers succeeded")
	}
	var te *conn.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial = %v, want a TimeoutError matching context.DeadlineExceeded", err)
	}
	if took < 300*time.Millisecond || took >= 5*time.Second {
		t.Errorf("Dial took %v, want the 300ms bound", took)
	}
	if len(p.Requests()) != 1 {
		t.Errorf("the proxy saw %d requests, want 1", len(p.Requests()))
	}
}
