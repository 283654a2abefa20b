package conn_test

import (
	"context"
	"testing"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/wstest"
)

// The watchdog of Config.WriteTimeout reads the peer's progress as the
// bytes its TCP acknowledged, over TCP and TLS: the count grows past what
// was sent once the peer has read it. A connection over no TCP socket
// (here a pipe) has no count.
func TestProgress(t *testing.T) {
	const size = 256 << 10
	for _, tls := range []bool{false, true} {
		name := map[bool]string{false: "tcp", true: "tls"}[tls]
		t.Run(name, func(t *testing.T) {
			read := make(chan struct{})
			h := func(p *wstest.Peer) {
				p.Upgrade(nil)
				p.ReadFull(make([]byte, size))
				close(read)
				p.Discard()
			}
			var s *wstest.Server
			if tls {
				s = wstest.NewTLSServer(h, nil)
			} else {
				s = wstest.NewServer(h)
			}
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := s.Dialer().Dial(ctx, s.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			before, ok := conn.Acked(c)
			if !ok {
				t.Fatal("no progress count over TCP")
			}
			if err := c.WriteMessage(ctx, frame.OpBinary, make([]byte, size)); err != nil {
				t.Fatal(err)
			}
			<-read
			// The peer read it all, so its TCP received it all; its
			// acknowledgements may trail by a delayed-ACK interval.
			for {
				n, _ := conn.Acked(c)
				if n-before >= size {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("progress grew by %d bytes, want at least %d", n-before, size)
				case <-time.After(time.Millisecond):
				}
			}
		})
	}
	t.Run("pipe", func(t *testing.T) {
		s := wstest.NewServer(func(p *wstest.Peer) { p.Upgrade(nil); p.Discard() })
		defer s.Close()
		var d conn.Dialer
		c, err := d.DialConn(context.Background(), s.Pipe(), "ws://pipe.test/")
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if n, ok := conn.Acked(c); ok {
			t.Errorf("Acked over a pipe = %d, true; want none", n)
		}
	})
}
