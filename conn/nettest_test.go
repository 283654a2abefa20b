package conn_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
)

// netConns joins a client and a server Conn over a and b and returns
// their NetConns, with a stop function that closes both NetConns at once,
// which waits for a Close the test began, and after a grace period (two
// sides that both write on a net.Pipe and never read cannot exchange
// close frames) closes both Conns at once.
func netConns(a, b net.Conn) (c1, c2 net.Conn, stop func()) {
	cc := conn.New(a, nil)
	sc := conn.New(b, &conn.Config{Role: conn.RoleServer})
	ctx := context.Background()
	c1, c2 = conn.NetConn(ctx, cc, frame.OpBinary), conn.NetConn(ctx, sc, frame.OpBinary)
	stop = func() {
		var wg sync.WaitGroup
		wg.Go(func() { c1.Close() })
		wg.Go(func() { c2.Close() })
		closed := make(chan struct{})
		go func() { wg.Wait(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(200 * time.Millisecond):
		}
		cc.CloseNow()
		sc.CloseNow()
		<-closed
	}
	return c1, c2, stop
}

// The NetConn behaves as x/net's conformance test for net.Conn requires,
// deadlines included, over net.Pipe and over loopback TCP: a deadline
// that stops a Write leaves the stream whole and the connection usable.
func TestNetConnConformance(t *testing.T) {
	t.Run("Pipe", func(t *testing.T) {
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			a, b := net.Pipe()
			c1, c2, stop = netConns(a, b)
			return c1, c2, stop, nil
		})
	})
	t.Run("TCP", func(t *testing.T) {
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return nil, nil, nil, err
			}
			defer ln.Close()
			accepted := make(chan net.Conn, 1)
			go func() {
				b, err := ln.Accept()
				if err != nil {
					b = nil
				}
				accepted <- b
			}()
			a, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				return nil, nil, nil, err
			}
			b := <-accepted
			if b == nil {
				a.Close()
				return nil, nil, nil, net.ErrClosed
			}
			c1, c2, stop = netConns(a, b)
			return c1, c2, stop, nil
		})
	})
}
