package conn

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/framewire/ws/frame"
)

// errStopped is returned by ctxMutex.lock when its stop channel closed
// before the lock was free.
var errStopped = errors.New("conn: lock wait stopped")

// ctxMutex is a mutual exclusion lock whose waiters can give up when a
// context ends. Taking a free lock and releasing one nobody waits for cost
// one atomic compare-and-swap each; waiters queue in arrival order and the
// lock is handed to the first one on release. A waiter may carry a frame
// that the holder sends for it instead (claim), which takes it out of the
// queue. Waiting allocates nothing in steady state: each waiter is a node
// the lock keeps for reuse, one per goroutine that ever waited at once
// (its channel must belong to the goroutines that use the lock, which a
// pool shared by all locks would not ensure). The zero ctxMutex is
// unlocked.
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
// one value when the waiter is handed the lock or, if claimed, when the
// holder has written its frame; it is empty whenever the node is free.
type waiter struct {
	next *waiter
	ch   chan struct{}

	// A frame the holder may send for the waiter (see Conn.sendHeader).
	job  bool
	h    frame.Header
	bp   *[]byte // a copy of the payload, from jobPool
	size int     // the frame's length on the wire

	claimed bool  // the holder took the frame; err is the result
	err     error // the frame's error, set before ch receives
}

// jobPool caches the buffers that hold a waiting frame's payload, of
// combineMax bytes. It is a cache only: no caller can observe its contents.
var jobPool = sync.Pool{New: func() any {
	b := make([]byte, 0, combineMax)
	return &b
}}

// payload returns the payload of w's frame.
func (w *waiter) payload() []byte { return *w.bp }

// lock takes the lock. It gives up, having taken nothing, when ctx ends
// (returning ctx.Err()) or when stop, which may be nil, is closed
// (returning errStopped).
func (m *ctxMutex) lock(ctx context.Context, stop <-chan struct{}) error {
	if m.state.CompareAndSwap(mutexUnlocked, mutexLocked) {
		return nil
	}
	_, _, err := m.wait(ctx, stop, false, frame.Header{}, nil)
	return err
}

// tryLock takes the lock if it is free, without waiting.
func (m *ctxMutex) tryLock() bool {
	return m.state.CompareAndSwap(mutexUnlocked, mutexLocked)
}

// wait waits until the lock is handed to the caller, or, with job, until
// the holder claimed and wrote the frame with header h (whose Length is
// set) and payload p, at most combineMax bytes: then claimed is true, werr
// is the frame's result and the caller holds nothing. It gives up as lock
// does; a claimed waiter never gives up, since its frame is on its way.
func (m *ctxMutex) wait(ctx context.Context, stop <-chan struct{}, job bool, h frame.Header, p []byte) (claimed bool, werr, err error) {
	m.mu.Lock()
	for {
		s := m.state.Load()
		if s == mutexUnlocked {
			if m.state.CompareAndSwap(mutexUnlocked, mutexLocked) {
				m.mu.Unlock()
				return false, nil, nil
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
		w = &waiter{ch: make(chan struct{}, 1)}
	} else {
		m.free = w.next
	}
	if job {
		w.job, w.h, w.size = true, h, h.Len()+len(p)
		w.bp = jobPool.Get().(*[]byte)
		*w.bp = append((*w.bp)[:0], p...)
	}
	m.push(w)
	m.mu.Unlock()
	defer m.release(w)

	select {
	case <-w.ch:
		return w.claimed, w.err, nil
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
		return false, nil, err
	}
	m.mu.Unlock()
	<-w.ch
	if w.claimed {
		return true, w.err, nil
	}
	// The lock was handed to w while it gave up: pass it on.
	m.unlock()
	return false, nil, err
}

// release clears w, whose channel is empty, and keeps it for reuse.
func (m *ctxMutex) release(w *waiter) {
	if w.bp != nil {
		jobPool.Put(w.bp)
	}
	*w = waiter{ch: w.ch}
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

// claim takes out of the queue, from its head and in order, the waiters
// with a job whose frames fit together in room bytes, and returns them
// linked through next; the caller holds the lock, sends their frames and
// then calls done. The first waiter without a job, or whose frame does
// not fit, stops the claim: the order of the queue is the order of the
// wire.
func (m *ctxMutex) claim(room int) *waiter {
	if m.state.Load() != mutexContended {
		return nil
	}
	m.mu.Lock()
	var first, last *waiter
	for w := m.head; w != nil && w.job && w.size <= room; w = m.head {
		room -= w.size
		m.head = w.next
		if m.head == nil {
			m.tail = nil
		}
		w.next, w.claimed = nil, true
		if last == nil {
			first = w
		} else {
			last.next = w
		}
		last = w
	}
	if first != nil && m.head == nil {
		m.state.Store(mutexLocked) // still held, nobody waiting
	}
	m.mu.Unlock()
	return first
}

// done tells the waiters claim returned that their frames were written,
// with err.
func done(ws *waiter, err error) {
	for ws != nil {
		next := ws.next
		ws.next, ws.err = nil, err
		ws.ch <- struct{}{}
		ws = next
	}
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
		w.ch <- struct{}{}
	}
	m.mu.Unlock()
}
