package conn_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
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

// The zero Dialer bounds a dial with a context that never ends: a server
// that drips its 101, or the body of its refusal, one byte a second, holds
// the dial for DefaultHandshakeTimeout and no longer. HandshakeTimeout
// sets another bound, and a negative one leaves only the context's.
func TestHandshakeTimeoutDefault(t *testing.T) {
	upgrade := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		strings.Repeat("X-Drip: .\r\n", 2000) + "\r\n"
	refusal := "HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n"
	dripUpgrade := func(p *wstest.Peer) { p.Trickle([]byte(upgrade), time.Second) }
	dripBody := func(p *wstest.Peer) {
		p.Write([]byte(refusal))
		p.Trickle([]byte(strings.Repeat("no", 10000)), time.Second)
	}
	tests := []struct {
		name    string
		timeout time.Duration // Dialer.HandshakeTimeout
		ctx     time.Duration // the context's timeout; 0: none
		h       wstest.Handler
		want    time.Duration
		refused bool // a StatusError with what arrived of the body
	}{
		{"101 dripped, zero Dialer", 0, 0, dripUpgrade, conn.DefaultHandshakeTimeout, false},
		{"refusal body dripped, zero Dialer", 0, 0, dripBody, conn.DefaultHandshakeTimeout, true},
		{"101 dripped, 5 s", 5 * time.Second, 0, dripUpgrade, 5 * time.Second, false},
		{"101 dripped, context first", 0, 2 * time.Second, dripUpgrade, 2 * time.Second, false},
		{"101 dripped, no bound but the context", -1, time.Hour, dripUpgrade, time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				if tt.ctx > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.ctx)
					defer cancel()
				}
				client, server := net.Pipe()
				served := make(chan struct{})
				go func() {
					wstest.Serve(server, tt.h)
					close(served)
				}()
				defer func() { <-served }() // its next write fails
				start := time.Now()
				d := &conn.Dialer{HandshakeTimeout: tt.timeout}
				c, err := d.DialConn(ctx, client, "ws://pipe.test/")
				if err == nil {
					c.CloseNow()
					t.Fatal("DialConn succeeded")
				}
				if took := time.Since(start); took != tt.want {
					t.Errorf("DialConn took %v, want %v", took, tt.want)
				}
				if tt.refused {
					// The header came at once, then one body byte a second.
					var se *handshake.StatusError
					if !errors.As(err, &se) || se.StatusCode != 403 || len(se.Body) < int(tt.want/time.Second) {
						t.Fatalf("DialConn = %v, want the 403 with the body that arrived", err)
					}
					return
				}
				var te *conn.TimeoutError
				if !errors.As(err, &te) || te.Op != "dial" || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("DialConn = %v, want a dial TimeoutError matching context.DeadlineExceeded", err)
				}
			})
		})
	}
}

// The zero Dialer's bound covers the lookup of a name too: a name server
// that never answers holds a dial with a context that never ends for
// HandshakeTimeout, not for the resolver's own timeouts and retries.
func TestHandshakeTimeoutLookup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		asked := make(chan struct{}, 64)
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			asked <- struct{}{} // and no answer within the resolver's time
			<-ctx.Done()
			return nil, ctx.Err()
		}}
		d := &conn.Dialer{HandshakeTimeout: time.Second}
		conn.SetResolver(d, r)
		start := time.Now()
		_, err := d.Dial(context.Background(), "ws://slow.test/")
		if took := time.Since(start); took != time.Second || len(asked) == 0 {
			t.Errorf("Dial took %v after %d queries, want 1s after at least one", took, len(asked))
		}
		var te *conn.TimeoutError
		if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Dial = %v, want a *TimeoutError matching DeadlineExceeded", err)
		}
	})
}

// lateCtx is a context whose deadline passes before it ends, as when a
// socket's deadline, set from the context's, fires before the context's
// own timer: it ends only when its parent does.
type lateCtx struct {
	context.Context
	deadline time.Time
}

func (c lateCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Whatever step a dial is at when its context's deadline passes or the
// context is cancelled, the error is a *TimeoutError that matches the
// context's error: while connecting, in an HTTP, SOCKS5 or SOCKS4 proxy's
// exchange, in TLS, and while reading the response. The deadline rows
// use a context whose deadline passes seconds before it ends, so the
// socket's deadline always fires first.
func TestDialTimeoutEveryStep(t *testing.T) {
	checkLeaks(t)
	target := serve(t, func(p *wstest.Peer) { p.ReadFrame() })
	type path struct {
		url   string
		proxy string
	}
	paths := []struct {
		name  string
		start func(t *testing.T, arrived func()) path
	}{
		{"TCP connect", func(t *testing.T, arrived func()) path {
			arrived()
			return path{url: target.URL}
		}},
		{"response read", func(t *testing.T, arrived func()) path {
			s := serve(t, func(p *wstest.Peer) {
				arrived()
				p.ReadFrame() // until the client gives up
			})
			return path{url: s.URL}
		}},
		{"HTTP proxy", func(t *testing.T, arrived func()) path {
			p := proxytest.NewHTTP(t, proxytest.Config{Hold: make(chan struct{}), OnRequest: func(proxytest.Request) { arrived() }})
			return path{url: target.URL, proxy: "http://" + p.Addr}
		}},
		{"SOCKS5 proxy", func(t *testing.T, arrived func()) path {
			p := proxytest.NewSOCKS5(t, proxytest.Config{Hold: make(chan struct{}), OnRequest: func(proxytest.Request) { arrived() }})
			return path{url: target.URL, proxy: "socks5://" + p.Addr}
		}},
		{"SOCKS4 proxy", func(t *testing.T, arrived func()) path {
			p := proxytest.NewSOCKS4(t, proxytest.Config{Hold: make(chan struct{}), OnRequest: func(proxytest.Request) { arrived() }})
			return path{url: target.URL, proxy: "socks4://" + p.Addr}
		}},
		{"TLS", func(t *testing.T, arrived func()) path {
			return path{url: "wss://" + silentServer(t, arrived)}
		}},
	}
	for _, p := range paths {
		for _, cancelled := range []bool{false, true} {
			name := p.name + "/deadline"
			if cancelled {
				name = p.name + "/cancel"
			}
			t.Run(name, func(t *testing.T) {
				parent, stop := context.WithTimeout(context.Background(), 5*time.Second)
				defer stop()
				ctx, want := context.Context(lateCtx{parent, time.Now().Add(100 * time.Millisecond)}), context.DeadlineExceeded
				if p.name == "TCP connect" {
					ctx = lateCtx{parent, time.Now().Add(-time.Millisecond)}
				}
				arrivedCh := make(chan struct{})
				arrived := func() {
					select {
					case <-arrivedCh:
					default:
						close(arrivedCh)
					}
				}
				if cancelled {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(parent)
					want = context.Canceled
					go func() {
						<-arrivedCh
						cancel()
					}()
				}
				at := p.start(t, arrived)
				d := &conn.Dialer{Proxy: proxy.Direct, TLSConfig: &tls.Config{InsecureSkipVerify: true}}
				if at.proxy != "" {
					pu, _ := url.Parse(at.proxy)
					d.Proxy = http.ProxyURL(pu)
				}
				c, err := d.Dial(ctx, at.url)
				if err == nil {
					c.CloseNow()
					t.Fatal("Dial succeeded")
				}
				var te *conn.TimeoutError
				if !errors.As(err, &te) || te.Op != "dial" || !errors.Is(err, want) {
					t.Errorf("Dial = %v (%T), want a dial TimeoutError matching %v", err, err, want)
				}
				if parent.Err() != nil {
					t.Errorf("Dial returned when the context ended, not at its deadline")
				}
			})
		}
	}
}

// silentServer accepts connections on 127.0.0.1, calls arrived when a
// client's first bytes come, and never answers.
func silentServer(t *testing.T, arrived func()) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		var b [1]byte
		if _, err := nc.Read(b[:]); err == nil {
			arrived()
			io.Copy(io.Discard, nc)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}
