package conn

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ctxMutex excludes: goroutines that take it, some with contexts that end
// while they wait, never hold it together, and it ends up free.
func TestCtxMutexExcludes(t *testing.T) {
	var m ctxMutex
	var holders, taken, gaveUp atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 300 {
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if (i+j)%3 == 0 {
					ctx, cancel = context.WithTimeout(context.Background(), time.Duration(j%5)*time.Microsecond)
				}
				err := m.lock(ctx, nil)
				cancel()
				if err != nil {
					gaveUp.Add(1)
					continue
				}
				if holders.Add(1) != 1 {
					t.Error("two holders at once")
				}
				taken.Add(1)
				holders.Add(-1)
				m.unlock()
			}
		})
	}
	wg.Wait()
	if taken.Load()+gaveUp.Load() != 8*300 || m.state.Load() != mutexUnlocked || len(m.waiters) != 0 {
		t.Fatalf("taken %d, gave up %d, state %d, %d waiters", taken.Load(), gaveUp.Load(), m.state.Load(), len(m.waiters))
	}
}

// A waiter gives up when its context ends or its stop channel closes, and
// the lock still works afterwards; a waiter that stays gets it in turn.
func TestCtxMutexGiveUp(t *testing.T) {
	var m ctxMutex
	if err := m.lock(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := m.lock(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock with an ending context = %v", err)
	}
	stop := make(chan struct{})
	close(stop)
	if err := m.lock(context.Background(), stop); err != errStopped {
		t.Fatalf("lock with a closed stop = %v", err)
	}
	got := make(chan struct{})
	go func() {
		m.lock(context.Background(), nil)
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("a waiter took a held lock")
	case <-time.After(10 * time.Millisecond):
	}
	m.unlock()
	<-got
	m.unlock()
	if !m.state.CompareAndSwap(mutexUnlocked, mutexLocked) {
		t.Fatal("lock not free at the end")
	}
}

// Taking and releasing a free lock allocates nothing.
func TestCtxMutexNoAllocs(t *testing.T) {
	var m ctxMutex
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		m.lock(ctx, nil)
		m.unlock()
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
