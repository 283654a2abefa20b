package conn

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// errStopped is returned by ctxMutex.lock when its stop channel closed
// before the lock was free.
var errStopped = errors.New("conn: lock wait stopped")

// errRecheck is returned by ctxMutex.lock to a waiter that ctxMutex.recheck
// took out of the queue, for it to look at the lock's new holder.
var errRecheck = errors.New("conn: lock wait to be rechecked")

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
// one value when the waiter leaves the queue other than by giving up: true
// when it is handed the lock, false when recheck took it out. It is empty
// whenever the node is free.
type waiter struct {
	next *waiter
	ch   chan bool
}

// lock takes the lock. It gives up, having taken nothing, when ctx ends
// (returning ctx.Err()), when stop, which may be nil, is closed (returning
// errStopped), or when the holder calls recheck (returning errRecheck).
func (m *ctxMutex) lock(ctx context.Context, stop <-chan struct{}) error {
	if m.state.CompareAndSwap(mutexUnlocked, mutexLocked) {
		return nil
	}
	return m.wait(ctx, stop, nil)
}

// tryLock takes the lock if it is free, without waiting. It looks before
// it swaps: a lock found held costs no write to the shared state.
func (m *ctxMutex) tryLock() bool {
	return m.state.Load() == mutexUnlocked && m.state.CompareAndSwap(mutexUnlocked, mutexLocked)
}

// wait waits until the lock is handed to the caller. It gives up as lock
// does, and returns errRecheck without waiting when recheckIf, which may
// be nil, is set as it would be queued: a holder that sets it before it
// calls recheck so finds every waiter that did not see it set.
func (m *ctxMutex) wait(ctx context.Context, stop <-chan struct{}, recheckIf *atomic.Bool) error {
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
		w = &waiter{ch: make(chan bool, 1)}
	} else {
		m.free = w.next
	}
	m.push(w)
	m.mu.Unlock()
	defer m.release(w)

	var err error
	select {
	case handed := <-w.ch:
		if handed {
			return nil
		}
		return errRecheck
	case <-ctx.Done():
		err = ctx.Err()
	case <-stop:
		err = errStopped
	}
	m.mu.Lock()
	if m.remove(w) {
		if m.head == nil {
			// The holder has not released (it would have handed the
			// lock to w), so the lock is still held: drop the mark.
			m.state.Store(mutexLocked)
		}
		m.mu.Unlock()
		return err
	}
	m.mu.Unlock()
	if <-w.ch {
		// The lock was handed to w while it gave up: pass it on.
		m.unlock()
	}
	return err
}

// recheck takes the waiters queued now out of the queue, so that each
// returns errRecheck and looks at the lock's holder again: the holder
// calls it when it becomes one that waiters bound differently (see
// Conn.waitWrite). It costs one atomic load when nobody waits.
func (m *ctxMutex) recheck() {
	if m.state.Load() != mutexContended {
		return
	}
	m.mu.Lock()
	for w := m.head; w != nil; {
		next := w.next
		w.next = nil
		w.ch <- false
		w = next
	}
	m.head, m.tail = nil, nil
	m.state.Store(mutexLocked) // still held by the caller, nobody waiting
	m.mu.Unlock()
}

// release clears w, whose channel is empty, and keeps it for reuse.
func (m *ctxMutex) release(w *waiter) {
	m.mu.Lock()
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
