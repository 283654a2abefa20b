package conn

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// A NetConn's deadline contexts are children of its context until they
// end: the Conn's end, however it comes, ends them, so that a long-lived
// context keeps nothing of a NetConn never closed, and a deadline set
// afterwards makes no new child.
func TestNetConnEndsWithConn(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(t *testing.T, c *Conn, nc net.Conn, peer net.Conn)
	}{
		{"CloseNow", func(t *testing.T, c *Conn, nc, peer net.Conn) {
			c.CloseNow()
		}},
		{"peer's close read", func(t *testing.T, c *Conn, nc, peer net.Conn) {
			p, _ := status.AppendClose(nil, status.NormalClosure, "")
			b, _ := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}, Payload: p}.AppendBinary(nil)
			go peer.Write(b)
			if _, err := nc.Read(make([]byte, 8)); err != io.EOF {
				t.Fatalf("Read = %v; want io.EOF", err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background()) // lives on
			defer cancel()
			c, peer := discardingPipe(t)
			nc := NetConn(ctx, c, frame.OpBinary)
			if _, err := nc.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			n := nc.(*netConn)
			tt.end(t, c, nc, peer)
			<-c.done.wait()
			for name, d := range map[string]*deadline{"read": &n.rd, "write": &n.wd} {
				if d.context().Err() == nil {
					t.Errorf("%s context live after the Conn ended", name)
				}
				d.set(time.Now().Add(time.Hour))
				if d.context().Err() == nil {
					t.Errorf("%s context live after a deadline set once the Conn ended", name)
				}
			}
		})
	}
}
