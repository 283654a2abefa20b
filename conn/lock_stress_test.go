package conn

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framewire/ws/frame"
)

// checkFree checks m is unlocked, nobody queued, every free node empty.
func checkFree(t *testing.T, m *ctxMutex, want int32) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.state.Load(); s != want {
		t.Errorf("state %d, want %d", s, want)
	}
	if m.head != nil || m.tail != nil {
		t.Errorf("waiters left queued")
	}
	n := 0
	for w := m.free; w != nil; w = w.next {
		n++
		if len(w.ch) != 0 {
			t.Errorf("free node with a value in its channel")
		}
	}
	t.Logf("%d free nodes", n)
}

// ctxMutex under load: holders that begin a bounding hold, waiters that
// give up by ctx or stop, bounded waiters; mutual exclusion holds and the
// lock ends free and clean.
func TestCtxMutexBoundStress(t *testing.T) {
	var m ctxMutex
	var flag atomic.Bool
	var holders atomic.Int32
	var taken, gaveUp, heldUpN atomic.Int64
	var stop doneSignal
	var stopOnce sync.Once
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 1))
			for j := 0; j < 3000; j++ {
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if r.IntN(3) == 0 {
					ctx, cancel = context.WithTimeout(context.Background(), time.Duration(r.IntN(20))*time.Microsecond)
				}
				var st *doneSignal
				if r.IntN(50) == 0 {
					st = &stop
				}
				var err error
				switch r.IntN(3) {
				case 0:
					err = m.lock(ctx, st)
				case 1:
					if m.tryLock() {
						err = nil
					} else {
						err = m.wait(ctx, st, &flag, time.Duration(1+r.IntN(50))*time.Microsecond)
					}
				default:
					if m.tryLock() {
						err = nil
					} else {
						err = m.wait(ctx, st, nil, 0)
					}
				}
				cancel()
				if err == errHeldUp {
					heldUpN.Add(1)
				}
				if err != nil {
					gaveUp.Add(1)
					continue
				}
				if holders.Add(1) != 1 {
					t.Error("two holders at once")
				}
				taken.Add(1)
				if r.IntN(4) == 0 {
					m.begin(&flag)
					m.begin(&flag) // a second begin in one hold sends nothing more
					if r.IntN(2) == 0 {
						time.Sleep(time.Microsecond)
					}
					flag.Store(false)
				}
				holders.Add(-1)
				m.unlock()
			}
		})
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		stopOnce.Do(stop.fire)
	}()
	wg.Wait()
	stopOnce.Do(stop.fire)
	t.Logf("taken %d, gave up %d (heldUp %d)", taken.Load(), gaveUp.Load(), heldUpN.Load())
	checkFree(t, &m, mutexUnlocked)
}

// A Conn's write lock under load: NextWriter open and closed,
// WriteMessages with and without deadlines, WriteMessage (queued), Flush,
// and a CloseNow part way; every call ends, none returns an internal
// error of the lock, and the write lock ends free and clean.
func TestWriteLockStress(t *testing.T) {
	for round := range 20 {
		a, b := net.Pipe()
		c := New(a, nil)
		peer := New(b, &Config{Role: RoleServer})
		go func() {
			for {
				if _, _, err := peer.ReadMessage(context.Background()); err != nil {
					io.Copy(io.Discard, b)
					return
				}
			}
		}()
		closeNow := round%2 == 1
		var wg sync.WaitGroup
		var bad atomic.Int64
		var okN, openN, closedN, toN atomic.Int64
		defer func() {
			t.Logf("round %d closeNow=%v: ok %d, ErrMessageOpen %d, closed %d, timeout %d", round, closeNow, okN.Load(), openN.Load(), closedN.Load(), toN.Load())
		}()
		check := func(err error) {
			switch {
			case err == nil:
				okN.Add(1)
			case errors.Is(err, ErrMessageOpen):
				openN.Add(1)
			case errors.Is(err, ErrClosed):
				closedN.Add(1)
			case errors.As(err, new(*TimeoutError)):
				toN.Add(1)
			default:
				t.Errorf("unexpected %v", err)
			}
			if err == nil || errors.Is(err, ErrMessageOpen) || errors.Is(err, ErrClosed) || errors.As(err, new(*TimeoutError)) {
				if err != nil && (errors.Is(err, errHandedOver) || errors.Is(err, errHeldUp)) {
					bad.Add(1)
					t.Errorf("internal error leaked: %v", err)
				}
				return
			}
			if errors.Is(err, errHeldUp) || errors.Is(err, errHandedOver) || errors.Is(err, errStopped) {
				bad.Add(1)
				t.Errorf("internal error leaked: %v", err)
			}
		}
		for g := range 10 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(round), uint64(g)))
				for range 200 {
					ctx, cancel := context.Background(), context.CancelFunc(func() {})
					if r.IntN(2) == 0 {
						ctx, cancel = context.WithTimeout(context.Background(), time.Duration(2000+r.IntN(30000))*time.Microsecond)
					}
					switch r.IntN(5) {
					case 0, 1:
						w, err := c.NextWriter(ctx, frame.OpBinary)
						check(err)
						if err == nil {
							w.Write(make([]byte, r.IntN(5000)))
							if r.IntN(3) == 0 {
								time.Sleep(time.Duration(r.IntN(200)) * time.Microsecond)
							}
							check(w.Close())
						}
					case 2:
						check(c.WriteMessages(ctx, frame.OpBinary, []byte("m")))
					case 3:
						check(c.WriteMessage(ctx, frame.OpBinary, []byte("q")))
					default:
						check(c.Flush(ctx))
					}
					cancel()
				}
			})
		}
		if closeNow {
			time.Sleep(time.Duration(5+round) * time.Millisecond)
			c.CloseNow()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			buf := make([]byte, 1<<20)
			t.Fatalf("round %d: calls hung", round)
			_ = buf
		}
		if !closeNow {
			checkFree(t, &c.wlock, mutexUnlocked)
		} else {
			c.wlock.mu.Lock()
			if c.wlock.head != nil {
				t.Errorf("waiters left queued after CloseNow")
			}
			for w := c.wlock.free; w != nil; w = w.next {
				if len(w.ch) != 0 {
					t.Errorf("free node with a value")
				}
			}
			c.wlock.mu.Unlock()
		}
		c.CloseNow()
		peer.CloseNow()
	}
}
