package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
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
	if taken.Load()+gaveUp.Load() != 8*300 || m.state.Load() != mutexUnlocked || m.queued() != 0 {
		t.Fatalf("taken %d, gave up %d, state %d, %d waiters", taken.Load(), gaveUp.Load(), m.state.Load(), m.queued())
	}
}

// A bounded wait gives up (errHeldUp) once a holder of the bounding kind
// has held the lock for its bound, counted from the holder's begin, a
// later holder's begin, or the wait's own start if the holder came
// first; while no such holder holds the lock it is unbounded. Every
// waiter keeps its place in the queue.
func TestCtxMutexBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var m ctxMutex
		var heldBy atomic.Bool
		if err := m.lock(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 4)
		start := time.Now()
		queue := func(name string, bound time.Duration) {
			go func() {
				var err error
				if bound > 0 {
					err = m.wait(context.Background(), nil, &heldBy, bound)
				} else {
					err = m.lock(context.Background(), nil)
				}
				got <- fmt.Sprintf("%s %v at %v", name, err, time.Since(start))
			}()
			synctest.Wait()
		}
		expect := func(want string) {
			t.Helper()
			if s := <-got; s != want {
				t.Fatalf("got %q, want %q", s, want)
			}
		}
		queue("first", 0)
		queue("bounded", time.Second)
		queue("third", 0)
		queue("bounded, served in time", 10*time.Second)
		time.Sleep(time.Minute) // no holder of the kind: no bound runs
		m.begin(&heldBy)        // at 1m
		time.Sleep(500 * time.Millisecond)
		m.begin(&heldBy) // a second holder of the kind began: the bounds count from here
		synctest.Wait()
		if len(got) != 0 {
			t.Fatalf("%q returned early", <-got)
		}
		expect("bounded conn: lock held up past the bound of the wait at 1m1.5s")
		m.unlock() // to first, in turn
		expect("first <nil> at 1m1.5s")
		heldBy.Store(false)
		m.unlock() // to third
		expect("third <nil> at 1m1.5s")
		time.Sleep(time.Minute) // the holder is of another kind: no bound
		m.unlock()
		expect("bounded, served in time <nil> at 2m1.5s")

		heldBy.Store(true) // the holder is of the kind before the wait began
		if err := m.wait(context.Background(), nil, &heldBy, time.Second); err != errHeldUp || time.Since(start) != 2*time.Minute+2500*time.Millisecond {
			t.Fatalf("wait behind a holder of the kind = %v at %v", err, time.Since(start))
		}
		if m.state.Load() != mutexLocked || m.queued() != 0 {
			t.Fatalf("state %d, %d waiters", m.state.Load(), m.queued())
		}
		m.unlock()
		if m.state.Load() != mutexUnlocked {
			t.Fatalf("state %d at the end", m.state.Load())
		}
		for w := m.free; w != nil; w = w.next {
			if len(w.ch) != 0 || w.bound != 0 || !w.since.IsZero() {
				t.Fatalf("a free node keeps %d values, bound %v, since %v", len(w.ch), w.bound, w.since)
			}
		}
	})
}

// A waiter gives up when its context ends or its stop signal fires, and
// the lock still works afterwards; a waiter that stays gets it in turn.
func TestCtxMutexGiveUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var m ctxMutex
		if err := m.lock(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := m.lock(ctx, nil); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 10*time.Millisecond {
			t.Fatalf("lock with a 10ms context = %v after %v", err, time.Since(start))
		}
		var stop doneSignal
		stop.fire()
		if err := m.lock(context.Background(), &stop); err != errStopped {
			t.Fatalf("lock with a fired stop = %v", err)
		}
		got := make(chan struct{})
		go func() {
			m.lock(context.Background(), nil)
			close(got)
		}()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("a waiter took a held lock")
		default:
		}
		m.unlock()
		<-got
		m.unlock()
		if !m.state.CompareAndSwap(mutexUnlocked, mutexLocked) {
			t.Fatal("lock not free at the end")
		}
	})
}

// queue starts a goroutine per context that waits for m, held by the
// caller, each one queued before the next starts. A goroutine that takes
// the lock sends its index on took and releases the lock; each sends what
// lock returned on done. stops[i], if not nil, is the stop signal of
// waiter i.
func queue(m *ctxMutex, ctxs []context.Context, stops []*doneSignal) (took chan int, done chan error) {
	took = make(chan int, len(ctxs))
	done = make(chan error, len(ctxs))
	for i, ctx := range ctxs {
		var stop *doneSignal
		if stops != nil {
			stop = stops[i]
		}
		go func() {
			err := m.lock(ctx, stop)
			if err == nil {
				took <- i
				m.unlock()
			}
			done <- err
		}()
		synctest.Wait() // waiter i is queued before waiter i+1 arrives
	}
	return took, done
}

// drain returns what n goroutines started by queue sent, once all ended.
func drain(took chan int, done chan error, n int) ([]int, []error) {
	var errs []error
	for range n {
		errs = append(errs, <-done)
	}
	close(took)
	var order []int
	for i := range took {
		order = append(order, i)
	}
	return order, errs
}

// Waiters are handed the lock in the order they arrived.
func TestCtxMutexArrivalOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var m ctxMutex
		m.lock(context.Background(), nil)
		ctxs := make([]context.Context, 6)
		for i := range ctxs {
			ctxs[i] = context.Background()
		}
		took, done := queue(&m, ctxs, nil)
		m.unlock()
		order, _ := drain(took, done, len(ctxs))
		if !slices.Equal(order, []int{0, 1, 2, 3, 4, 5}) {
			t.Errorf("waiters took the lock in the order %v, want their arrival order", order)
		}
		if m.state.Load() != mutexUnlocked || m.queued() != 0 {
			t.Errorf("state %d, %d waiters at the end", m.state.Load(), m.queued())
		}
	})
}

// A waiter whose context ends, or whose stop signal fires, leaves the
// queue: it takes nothing, the waiters behind it get the lock in their
// order, and once the last waiter left the holder releases without
// looking for any.
func TestCtxMutexWaiterLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var m ctxMutex
		m.lock(context.Background(), nil)
		ctx1, cancel1 := context.WithCancel(context.Background())
		defer cancel1()
		stops := []*doneSignal{nil, nil, new(doneSignal), nil}
		ctxs := []context.Context{context.Background(), ctx1, context.Background(), context.Background()}
		took, done := queue(&m, ctxs, stops)
		cancel1()
		stops[2].fire()
		synctest.Wait()
		if len(done) != 2 {
			t.Fatalf("%d waiters gave up, want the 2 told to", len(done))
		}
		if e1, e2 := <-done, <-done; !(errors.Is(e1, context.Canceled) && e2 == errStopped || errors.Is(e2, context.Canceled) && e1 == errStopped) {
			t.Errorf("waiters gave up with %v and %v", e1, e2)
		}
		m.unlock()
		order, _ := drain(took, done, 2)
		if !slices.Equal(order, []int{0, 3}) {
			t.Errorf("the lock went to %v, want [0 3]", order)
		}

		// The only waiter leaves: the lock is held without waiters again.
		m.lock(context.Background(), nil)
		ctx, cancel := context.WithCancel(context.Background())
		took, done = queue(&m, []context.Context{ctx}, nil)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("the waiter gave up with %v", err)
		}
		if s := m.state.Load(); s != mutexLocked || m.queued() != 0 {
			t.Errorf("after the last waiter left: state %d, %d waiters; want locked, none", s, m.queued())
		}
		m.unlock()
		if len(took) != 0 || m.state.Load() != mutexUnlocked {
			t.Errorf("state %d at the end", m.state.Load())
		}
	})
}

// A waiter whose context ends as the lock is handed to it either takes
// the lock or passes it on: the waiter behind it gets the lock in both
// cases, after it if it took it, and nobody holds it twice.
func TestCtxMutexHandOverWhileLeaving(t *testing.T) {
	for i := range 200 {
		synctest.Test(t, func(t *testing.T) {
			var m ctxMutex
			m.lock(context.Background(), nil)
			ctx, cancel := context.WithCancel(context.Background())
			took, done := queue(&m, []context.Context{ctx, context.Background()}, nil)
			// No synctest.Wait between the two: the waiter wakes for
			// its context while the lock is on its way to it.
			if i%2 == 0 {
				cancel()
				m.unlock()
			} else {
				m.unlock()
				cancel()
			}
			order, errs := drain(took, done, 2)
			want := []int{1}
			if errs[0] == nil && errs[1] == nil {
				want = []int{0, 1} // the first took the lock before its context ended
			}
			if !slices.Equal(order, want) {
				t.Errorf("the lock went to %v (lock returned %v), want %v", order, errs, want)
			}
			if m.state.Load() != mutexUnlocked || m.queued() != 0 {
				t.Errorf("state %d, %d waiters at the end", m.state.Load(), m.queued())
			}
		})
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

// CloseNow releases the sending calls that wait for the write lock while
// an open MessageWriter holds it between its Writes: each returns an
// error matching ErrClosed at once. (WriteMessage waits for the lock only
// when its frame does not fit in the send queue.)
func TestCloseNowReleasesLockWaiters(t *testing.T) {
	calls := map[string]func(c *Conn) error{
		"WriteMessage, queue full": func(c *Conn) error {
			c.q.chunks().limit = 1
			return c.WriteMessage(context.Background(), frame.OpBinary, []byte("x"))
		},
		"WriteMessages": func(c *Conn) error { return c.WriteMessages(context.Background(), frame.OpBinary, []byte("x")) },
		"NextWriter": func(c *Conn) error {
			_, err := c.NextWriter(context.Background(), frame.OpBinary)
			return err
		},
		"Flush": func(c *Conn) error { return c.Flush(context.Background()) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, peer := net.Pipe()
				c := New(client, nil)
				go io.Copy(io.Discard, peer)
				defer peer.Close()
				w, err := c.NextWriter(context.Background(), frame.OpBinary)
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- call(c) }()
				synctest.Wait()
				c.CloseNow()
				synctest.Wait()
				select {
				case err := <-done:
					if !errors.Is(err, ErrClosed) {
						t.Errorf("%s = %v, want ErrClosed", name, err)
					}
				default:
					t.Errorf("%s still waiting after CloseNow", name)
					w.Close()
					<-done
				}
			})
		})
	}
}
