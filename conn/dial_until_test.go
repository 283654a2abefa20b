package conn_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/handshake"
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
