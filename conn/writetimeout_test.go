package conn_test

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/wstest"
)

// A send whose context has no deadline, to a peer that reads nothing, is
// stopped by Config.WriteTimeout (30 seconds by default): the connection
// fails with ErrWriteTimeout, which reads as no timeout to retry, and
// every later call reports it. A context's deadline bounds its send
// alone; a negative WriteTimeout leaves the send unbounded.
func TestWriteTimeoutDefault(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration // Config.WriteTimeout
		ctx     time.Duration // the context's timeout; 0: Background, -1: cancellable
		want    time.Duration // when the send fails; 0: it does not
		wantCtx bool          // with a *TimeoutError, not ErrWriteTimeout
	}{
		{"default", 0, 0, conn.DefaultWriteTimeout, false},
		{"set", 2 * time.Second, 0, 2 * time.Second, false},
		{"cancellable context", 2 * time.Second, -1, 2 * time.Second, false},
		{"context deadline beyond it", 2 * time.Second, 10 * time.Second, 10 * time.Second, true},
		{"context deadline within it", 0, 3 * time.Second, 3 * time.Second, true},
		{"off", -1, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				defer close(release)
				h := func(p *wstest.Peer) {
					p.Upgrade(nil)
					<-release
				}
				d := &conn.Dialer{Config: conn.Config{WriteTimeout: tt.timeout}}
				c := dialPipe(t, d, h)
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				switch {
				case tt.ctx > 0:
					ctx, cancel = context.WithTimeout(ctx, tt.ctx)
				case tt.ctx < 0:
					ctx, cancel = context.WithCancel(ctx)
				}
				defer cancel()
				start := time.Now()
				done := make(chan error, 1)
				go func() { done <- c.WriteMessage(ctx, frame.OpBinary, make([]byte, 1<<20)) }()
				if tt.want == 0 {
					time.Sleep(time.Hour)
					synctest.Wait()
					select {
					case err := <-done:
						t.Fatalf("WriteMessage with no bound returned %v after an hour", err)
					default:
					}
					c.CloseNow()
					if err := <-done; !errors.Is(err, net.ErrClosed) {
						t.Errorf("WriteMessage after CloseNow = %v, want ErrClosed", err)
					}
					return
				}
				err := <-done
				if took := time.Since(start); took < tt.want || took > tt.want*9/8 {
					t.Errorf("WriteMessage returned after %v, want %v", took, tt.want)
				}
				if tt.wantCtx {
					var te *conn.TimeoutError
					if !errors.As(err, &te) || errors.Is(err, conn.ErrWriteTimeout) {
						t.Fatalf("WriteMessage = %v, want the context's *TimeoutError", err)
					}
					return
				}
				if !errors.Is(err, conn.ErrWriteTimeout) {
					t.Fatalf("WriteMessage = %v, want ErrWriteTimeout", err)
				}
				var ne net.Error
				if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && (ne.Timeout() || ne.Temporary()) {
					t.Errorf("WriteMessage = %v, which reads as a timeout to retry", err)
				}
				for name, call := range map[string]func() error{
					"WriteMessage": func() error { return c.WriteMessage(context.Background(), frame.OpText, []byte("x")) },
					"ReadMessage":  func() error { _, _, err := c.ReadMessage(context.Background()); return err },
				} {
					if err := call(); !errors.Is(err, conn.ErrClosed) || !errors.Is(err, conn.ErrWriteTimeout) {
						t.Errorf("%s after the write timeout = %v, want ErrClosed wrapping ErrWriteTimeout", name, err)
					}
				}
			})
		})
	}
}

// WriteTimeout bounds each write, not the send: a peer that reads slowly
// but steadily takes a message for much longer than WriteTimeout, and the
// send succeeds.
func TestWriteTimeoutSlowPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 1 << 20
		got := make(chan int, 1)
		h := func(p *wstest.Peer) {
			p.Upgrade(nil)
			buf := make([]byte, 4<<10)
			n := 0
			for n < size {
				time.Sleep(2 * time.Second) // 2 KiB/s: 16 s for each 32 KiB write
				if err := p.ReadFull(buf); err != nil {
					break
				}
				n += len(buf)
			}
			got <- n
			p.Discard()
		}
		c := dialPipe(t, nil, h)
		start := time.Now()
		if err := c.WriteMessage(context.Background(), frame.OpBinary, make([]byte, size)); err != nil {
			t.Fatalf("WriteMessage to a slow peer after %v: %v", time.Since(start), err)
		}
		if took := time.Since(start); took < 10*conn.DefaultWriteTimeout {
			t.Errorf("the send took %v, want the peer slow enough to take longer than 10 WriteTimeouts", took)
		}
		if n := <-got; n < size {
			t.Errorf("peer read %d bytes", n)
		}
	})
}

// Frames that senders queued behind a write in flight are bounded by
// WriteTimeout too, when the holder of the write lock sends them after
// its own: a peer that stops reading fails the connection with
// ErrWriteTimeout within WriteTimeout, not after ReplyTimeout, and every
// later call reports it.
func TestWriteTimeoutQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const wt = 2 * time.Second
		const size = 1 << 20
		read := make(chan time.Time, 1)
		queued, release := make(chan struct{}), make(chan struct{})
		defer close(release)
		h := func(p *wstest.Peer) {
			p.Upgrade(nil)
			// The first message only, its end once the second is queued.
			p.ReadFull(make([]byte, 1000))
			<-queued
			p.ReadFull(make([]byte, 14+size-1000))
			read <- time.Now()
			<-release
		}
		d := &conn.Dialer{Config: conn.Config{WriteTimeout: wt}}
		c := dialPipe(t, d, h)
		first := make(chan error, 1)
		go func() { first <- c.WriteMessage(context.Background(), frame.OpBinary, make([]byte, size)) }()
		synctest.Wait() // the first send holds the write lock
		if err := c.WriteMessage(context.Background(), frame.OpText, []byte("queued")); err != nil {
			t.Fatalf("a send queued behind the first = %v", err)
		}
		if n := c.Buffered(); n == 0 {
			t.Fatal("nothing queued")
		}
		close(queued)
		if err := <-first; err != nil {
			t.Errorf("the first send, whose frame was sent, = %v", err)
		}
		if took := time.Since(<-read); took < wt || took > wt*9/8 {
			t.Errorf("the queued frame was given up %v after the peer stopped reading, want %v", took, wt)
		}
		if err := c.Flush(context.Background()); !errors.Is(err, conn.ErrWriteTimeout) {
			t.Errorf("Flush = %v, want ErrWriteTimeout", err)
		}
	})
}
