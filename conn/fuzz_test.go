package conn_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/wstest"
)

// FuzzRecv feeds arbitrary server bytes after a valid handshake. The client
// must never panic or hang, must keep its memory within its limits, and
// must end with an error once the bytes run out.
func FuzzRecv(f *testing.F) {
	f.Add([]byte("\x81\x05hello"))
	f.Add([]byte("\x01\x03Bre\x89\x01p\x80\x03vit"))
	f.Add([]byte("\x88\x02\x03\xe8"))
	f.Add([]byte("\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := wstest.NewServer(func(p *wstest.Peer) {
			p.Upgrade(nil)
			// Read what the client sends (a close frame failing the
			// connection), or it would wait for ReplyTimeout on the
			// synchronous pipe, 5 s for every such input.
			go io.Copy(io.Discard, p.Conn)
			p.Write(data)
		})
		defer s.Close()
		d := conn.Dialer{Config: conn.Config{MaxFrameSize: 1 << 16, MaxMessageSize: 1 << 17, ControlFrames: true}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := d.DialConn(ctx, s.Pipe(), "ws://fuzz.test/")
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		for range len(data) + 2 {
			f, err := c.ReadDataFrame(ctx, nil)
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("ReadDataFrame hung")
			}
			if err != nil {
				return
			}
			if len(f.Payload) > 1<<17 {
				t.Fatalf("payload of %d bytes beyond the limit", len(f.Payload))
			}
		}
		t.Fatal("more messages than input bytes")
	})
}
