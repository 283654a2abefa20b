package conn

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
)

// A plain holder releases the write lock to a queued NextWriter while a
// WriteMessages without a deadline starts at a random moment around it;
// the writer is never closed. The WriteMessages ends with ErrMessageOpen
// no later than ReplyTimeout after the writer opened, whichever of it and
// NextWriter's begin came first.
func TestWaitAroundWriterOpenBounded(t *testing.T) {
	counts := map[string]int{}
	for i := range 500 {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			c := New(a, nil)
			defer func() { c.CloseNow(); b.Close() }()
			go io.Copy(io.Discard, b)
			ctx := context.Background()
			if !c.wlock.tryLock() {
				t.Fatal("lock")
			}
			opened := make(chan time.Time, 1)
			go func() {
				w, err := c.NextWriter(ctx, frame.OpBinary)
				if err != nil {
					t.Error(err)
					return
				}
				opened <- time.Now()
				_ = w // never closed
			}()
			synctest.Wait()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			res := make(chan error, 1)
			spin := r.IntN(40)
			go func() {
				for range spin {
					runtime.Gosched()
				}
				res <- c.WriteMessages(ctx, frame.OpBinary, []byte("w"))
			}()
			for range r.IntN(40) {
				runtime.Gosched()
			}
			c.wlock.unlock()
			var err error
			var at time.Time
			select {
			case err = <-res:
				at = time.Now()
			case <-time.After(time.Hour):
				t.Fatalf("iteration %d: WriteMessages still waiting an hour later", i)
			}
			var o time.Time
			select {
			case o = <-opened:
			default:
				counts["W first"]++
				if err != nil {
					t.Errorf("W first but err %v", err)
				}
				return
			}
			switch {
			case err == nil:
				counts["nil?"]++
				t.Errorf("iteration %d: WriteMessages succeeded while the writer is open", i)
			case errors.Is(err, ErrMessageOpen):
				if d := at.Sub(o); d > ReplyTimeout {
					t.Errorf("iteration %d: ErrMessageOpen %v after the writer opened", i, d)
				}
				counts["ErrMessageOpen"]++
			default:
				t.Errorf("iteration %d: %v", i, err)
			}
		})
	}
	t.Log(counts)
}
