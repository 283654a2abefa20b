package conn_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// A NetConn Read that fails a message of the wrong type does so under the
// read lock, so that it races with nothing when Close runs in another
// goroutine (the race detector reported one when the failure came after
// the lock was released; it shows in about one run of three).
func TestNetConnWrongTypeWithClose(t *testing.T) {
	for range 300 {
		synctest.Test(t, func(t *testing.T) {
			client, peer := net.Pipe()
			c := conn.New(client, nil)
			defer func() { c.CloseNow(); peer.Close() }()
			nc := conn.NetConn(context.Background(), c, frame.OpBinary)
			go func() {
				peer.Write([]byte("\x81\x01x")) // text, where binary is expected
				io.Copy(io.Discard, peer)
			}()
			var wg sync.WaitGroup
			wg.Go(func() { nc.Read(make([]byte, 8)) })
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				defer cancel()
				c.Close(ctx, status.NormalClosure, "")
			})
			wg.Wait()
		})
	}
}
