package conn

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// errStopped is returned by ctxMutex.lock when its stop signal fired
// before the lock was free.
var errStopped = errors.New("conn: lock wait stopped")

// errHeldUp is returned by ctxMutex.wait when a holder of the kind that
// bounds the wait held the lock for the bound (see wait).
var errHeldUp = errors.New("conn: lock held up past the bound of the wait")

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
// queue, and, before that, false when begin starts its bound. It is
// empty whenever the node is free.
type waiter struct {
	next  *waiter
	ch    chan bool     // room for the two values
	bound time.Duration // how long a holder of the bounding kind may hold it up; 0: no bound
	since time.Time     // when the holder that bounds it began; zero: no such holder
	timer *time.Timer   // the bound's, kept with the node; stopped whenever it is free
}

// arm starts w's timer for d, making it the first time.
func (w *waiter) arm(d time.Duration) *time.Timer {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	return w.timer
}

// lock takes the lock. It gives up, having taken nothing, when ctx ends
// (returning ctx.Err()) or when stop, which may be nil, fires
// (returning errStopped), unless the lock is handed to it as it gives up:
// then it returns nil, holding the lock, since the holder that handed it
// over left its caller's duties (frames queued, a pong owed) to it.
func (m *ctxMutex) lock(ctx context.Context, stop *doneSignal) error {
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
// does. With heldBy, which may be nil, it is bounded while the lock is
// held by holders of a kind that set heldBy with begin when they take
// it: once one has held it for bound, counted from its start or
// the wait's, whichever is later, the wait gives up with errHeldUp. The
// waiter keeps its place in the queue while other holders come and go.
func (m *ctxMutex) wait(ctx context.Context, stop *doneSignal, heldBy *atomic.Bool, bound time.Duration) error {
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
	w := m.free
	if w == nil {
		w = &waiter{ch: make(chan bool, 2)}
	} else {
		m.free = w.next
	}
	var timer *time.Timer
	var expired <-chan time.Time
	if heldBy != nil {
		w.bound = bound
		// A holder that set heldBy before this load renewed the bounds
		// before this waiter was queued: its bound starts now. One
		// that sets it later finds the waiter queued.
		if heldBy.Load() {
			w.since = time.Now()
			timer = w.arm(bound)
			expired = timer.C
		}
	}
	m.push(w)
	m.mu.Unlock()
	defer m.release(w)
	var stopped <-chan struct{}
	if stop != nil {
		stopped = stop.wait()
	}

	var err error
	for err == nil {
		select {
		case handed := <-w.ch:
			if handed {
				stopTimer(timer)
				return nil
			}
			// begin: a holder that bounds the wait began.
			timer = w.arm(bound)
			expired = timer.C
		case <-expired:
			expired, err = m.heldUp(w, heldBy, timer)
		case <-ctx.Done():
			err = ctx.Err()
		case <-stopped:
			err = errStopped
		}
	}
	stopTimer(timer)
	if err == errHandedOver {
		return nil
	}
	m.mu.Lock()
	if m.remove(w) {
		select {
		case <-w.ch: // begin's value, sent as w gave up
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
	for !<-w.ch { // begin's value may come before the hand-off
	}
	// The lock was handed to w while it gave up: w takes it, as at
	// errHandedOver. Passing it on here would leave what the releasing
	// holder left to w (frames queued, a pong owed) to nobody.
	return nil
}

// errHandedOver is heldUp's report that the lock was handed to the waiter
// as its bound ran out.
var errHandedOver = errors.New("conn: lock handed over")

// heldUp decides, when w's timer fires, whether the wait gives up
// (errHeldUp, w still queued for wait to remove), goes on with its bound
// renewed by a later holder of the bounding kind (the timer reset, its
// channel returned) or unbounded (no such holder holds the lock now), or
// has the lock already (errHandedOver).
func (m *ctxMutex) heldUp(w *waiter, heldBy *atomic.Bool, timer *time.Timer) (<-chan time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	queued := false
	for x := m.head; x != nil && !queued; x = x.next {
		queued = x == w
	}
	switch {
	case !queued:
		for !<-w.ch { // the hand-off, maybe after begin's value
		}
		return nil, errHandedOver
	case !heldBy.Load():
		w.since = time.Time{} // the next begin starts a new bound
		return nil, nil
	}
	if left := w.bound - time.Since(w.since); left > 0 {
		timer.Reset(left) // a later holder of the kind began
		return timer.C, nil
	}
	return nil, errHeldUp
}

// stopTimer stops t, if any.
func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// begin sets heldBy, as a holder of the kind that bounds waits does when
// it begins, and starts or renews, from now, the bounds of the waits
// queued (see wait). While waits are queued heldBy is set under m.mu, so
// that no wait's timer finds it set with the since of an earlier holder;
// a wait that queues after it is set starts its own bound. It costs one
// atomic load when nobody waits.
func (m *ctxMutex) begin(heldBy *atomic.Bool) {
	if m.state.Load() != mutexContended {
		heldBy.Store(true)
		if m.state.Load() != mutexContended {
			return
		}
	}
	now := time.Now()
	m.mu.Lock()
	heldBy.Store(true)
	for w := m.head; w != nil; w = w.next {
		if w.bound == 0 {
			continue
		}
		if w.since.IsZero() {
			w.ch <- false // start the bound
		}
		w.since = now // or renew it, from now
	}
	m.mu.Unlock()
}

// release clears w, whose channel is empty, and keeps it for reuse.
func (m *ctxMutex) release(w *waiter) {
	m.mu.Lock()
	w.bound, w.since = 0, time.Time{}
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
