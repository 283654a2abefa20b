package conn

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// errStopped is returned by ctxMutex.lock when its stop channel closed
// before the lock was free.
var errStopped = errors.New("conn: lock wait stopped")

// errRecheck is returned by ctxMutex.wait, without waiting, when its
// recheckIf is set as it would queue: the caller looks at the lock's
// holder again. errHeldUp is returned when a wait that recheck bounded
// ran out of its bound.
var (
	errRecheck = errors.New("conn: lock wait to be rechecked")
	errHeldUp  = errors.New("conn: lock held up past the bound of the wait")
)

// ctxMutex is a mutual exclusion lock whose waiters can give up when a
// context ends. Taking a free lock and releasing one nobody waits for cost
// one atomic compare-and-swap each; waiters queue in arrival order and the
// lock is handed to the first one on release. Waiting allocates nothing in
// steady state: each waiter is a node the lock keeps for reuse, one per
// goroutine that ever waited at once (its channel must belong to the
// goroutines that use the lock, which a pool shared by all locks would not
// ensure). The zero ctxMutex is unlocked.
type ctxMutex struct {
	state atomic.Int32 // mutexUnlocked, mutexLocked or mutexContended

	mu         sync.Mutex // guards the queue and free; taken only on the slow paths
	head, tail *waiter    // the queue, in arrival order
	free       *waiter    // nodes for reuse, linked through next
}

const (
	mutexUnlocked int32 = iota
	mutexLocked
	mutexContended // locked, and waiters may be queued: unlock takes the slow path
)

// A waiter is one goroutine waiting for a ctxMutex. Its channel receives
// true when the waiter is handed the lock, which takes it out of the
// queue, and, before that, false when recheck starts its bound. It is
// empty whenever the node is free.
type waiter struct {
	next    *waiter
	ch      chan bool     // room for the two values
	bound   time.Duration // a recheck bounds the wait by this; 0: never
	checked bool          // recheck has sent false
}

// lock takes the lock. It gives up, having taken nothing, when ctx ends
// (returning ctx.Err()) or when stop, which may be nil, is closed
// (returning errStopped).
func (m *ctxMutex) lock(ctx context.Context, stop <-chan struct{}) error {
	if m.state.CompareAndSwap(mutexUnlocked, mutexLocked) {
		return nil
	}
	return m.wait(ctx, stop, nil, 0)
}

// tryLock takes the lock if it is free, without waiting. It looks before
// it swaps: a lock found held costs no write to the shared state.
func (m *ctxMutex) tryLock() bool {
	return m.state.Load() == mutexUnlocked && m.state.CompareAndSwap(mutexUnlocked, mutexLocked)
}

// wait waits until the lock is handed to the caller. It gives up as lock
// does. With recheckIf, which may be nil, it bounds itself when the
// holder becomes one it must not wait for long: it returns errRecheck
// without waiting when recheckIf is set as it would queue, and, queued,
// gives up after bound from the holder's recheck, returning errHeldUp. A
// holder that sets recheckIf before it calls recheck so bounds every
// waiter, whether or not it saw recheckIf set; the waiters keep their
// place in the queue.
func (m *ctxMutex) wait(ctx context.Context, stop <-chan struct{}, recheckIf *atomic.Bool, bound time.Duration) error {
	m.mu.Lock()
	for {
		s := m.state.Load()
		if s == mutexUnlocked {
			if m.state.CompareAndSwap(mutexUnlocked, mutexLocked) {
				m.mu.Unlock()
				return nil
			}
			continue
		}
		// Mark the lock contended so that its holder's unlock looks for
		// waiters, which it can only do once m.mu is released below.
		if s == mutexContended || m.state.CompareAndSwap(mutexLocked, mutexContended) {
			break
		}
	}
	if recheckIf != nil && recheckIf.Load() {
		if m.head == nil {
			m.state.Store(mutexLocked) // drop the mark: nobody waits
		}
		m.mu.Unlock()
		return errRecheck
	}
	w := m.free
	if w == nil {
		w = &waiter{ch: make(chan bool, 2)}
	} else {
		m.free = w.next
	}
	if recheckIf != nil {
		w.bound = bound
	}
	m.push(w)
	m.mu.Unlock()
	defer m.release(w)

	var err error
	var heldUp *time.Timer
	for err == nil {
		var expired <-chan time.Time
		if heldUp != nil {
			expired = heldUp.C
		}
		select {
		case handed := <-w.ch:
			if handed {
				if heldUp != nil {
					heldUp.Stop()
				}
				return nil
			}
			heldUp = time.NewTimer(w.bound)
		case <-expired:
			err = errHeldUp
		case <-ctx.Done():
			err = ctx.Err()
		case <-stop:
			err = errStopped
		}
	}
	if heldUp != nil {
		heldUp.Stop()
	}
	m.mu.Lock()
	if m.remove(w) {
		select {
		case <-w.ch: // recheck's value, sent as w gave up
		default:
		}
		if m.head == nil {
			// The holder has not released (it would have handed the
			// lock to w), so the lock is still held: drop the mark.
			m.state.Store(mutexLocked)
		}
		m.mu.Unlock()
		return err
	}
	m.mu.Unlock()
	for !<-w.ch { // recheck's value may come before the hand-off
	}
	// The lock was handed to w while it gave up: pass it on.
	m.unlock()
	return err
}

// recheck starts the bound of every queued wait that has one (see wait):
// the holder calls it when it becomes one that such waits must not wait
// for long (see Conn.waitWrite). It costs one atomic load when nobody
// waits.
func (m *ctxMutex) recheck() {
	if m.state.Load() != mutexContended {
		return
	}
	m.mu.Lock()
	for w := m.head; w != nil; w = w.next {
		if w.bound > 0 && !w.checked {
			w.checked = true
			w.ch <- false
		}
	}
	m.mu.Unlock()
}

// release clears w, whose channel is empty, and keeps it for reuse.
func (m *ctxMutex) release(w *waiter) {
	m.mu.Lock()
	w.bound, w.checked = 0, false
	w.next = m.free
	m.free = w
	m.mu.Unlock()
}

// push appends w to the queue; m.mu is held.
func (m *ctxMutex) push(w *waiter) {
	w.next = nil
	if m.tail == nil {
		m.head = w
	} else {
		m.tail.next = w
	}
	m.tail = w
}

// remove takes w out of the queue and reports whether it was there; m.mu
// is held.
func (m *ctxMutex) remove(w *waiter) bool {
	var prev *waiter
	for x := m.head; x != nil; prev, x = x, x.next {
		if x != w {
			continue
		}
		if prev == nil {
			m.head = w.next
		} else {
			prev.next = w.next
		}
		if m.tail == w {
			m.tail = prev
		}
		w.next = nil
		return true
	}
	return false
}

// queued returns the number of waiters.
func (m *ctxMutex) queued() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for x := m.head; x != nil; x = x.next {
		n++
	}
	return n
}

// unlock releases the lock, handing it to the first waiter if there is one.
func (m *ctxMutex) unlock() {
	if m.state.CompareAndSwap(mutexLocked, mutexUnlocked) {
		return
	}
	m.mu.Lock()
	w := m.head
	if w == nil {
		m.state.Store(mutexUnlocked)
	} else {
		m.head = w.next
		w.next = nil
		if m.head == nil {
			m.tail = nil
			m.state.Store(mutexLocked) // held by w, nobody waiting
		}
		w.ch <- true
	}
	m.mu.Unlock()
}
