package main

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/framewire/ws/conn"
)

// netDialFunc opens the TCP connection, as conn.Dialer.NetDial.
type netDialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// defaultNetDial is the connection conn.Dialer opens when NetDial is nil:
// TCP keep-alive as websocket-client sets it.
func defaultNetDial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{KeepAliveConfig: net.KeepAliveConfig{
		Enable:   true,
		Idle:     conn.KeepAliveIdle,
		Interval: conn.KeepAliveInterval,
		Count:    conn.KeepAliveCount,
	}}
	return d.DialContext(ctx, network, addr)
}

// readGate keeps the trace (-vv) in the order things happen. The trace
// shows a frame as sent once it is written, so a server quick to answer
// could have its answer read and traced first. While wsdump sends a frame,
// the gate holds back what the connection reads, for at most a bound, so
// the answer is traced after the frame it answers. A nil *readGate does
// nothing.
type readGate struct {
	mu   sync.Mutex
	held chan struct{} // closed when the send ends; nil when reads pass
}

// send runs f, holding reads back until it returns or limit passes.
func (g *readGate) send(limit time.Duration, f func() error) error {
	if g == nil {
		return f()
	}
	held := make(chan struct{})
	g.mu.Lock()
	g.held = held
	g.mu.Unlock()
	var once sync.Once
	release := func() {
		once.Do(func() {
			g.mu.Lock()
			if g.held == held {
				g.held = nil
			}
			g.mu.Unlock()
			close(held)
		})
	}
	t := time.AfterFunc(limit, release)
	defer t.Stop()
	defer release()
	return f()
}

// wait blocks while a send holds reads back.
func (g *readGate) wait() {
	g.mu.Lock()
	held := g.held
	g.mu.Unlock()
	if held != nil {
		<-held
	}
}

// dial wraps netDial so that the connection's reads pass through g.
func (g *readGate) dial(netDial netDialFunc) netDialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := netDial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &gatedConn{Conn: nc, g: g}, nil
	}
}

// gatedConn is a net.Conn whose reads return only when its gate lets them.
type gatedConn struct {
	net.Conn
	g *readGate
}

func (c *gatedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.g.wait()
	return n, err
}
