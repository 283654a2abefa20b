package conn

import (
	"context"
	"errors"
	"runtime"
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

	// pending is the number of bytes of the frames in the queue, changed
	// under mu. A waiter whose frame would take it beyond limit (zero:
	// DefaultSendQueueLimit) waits for the lock without queueing its
	// frame, so the copies never hold more than the limit.
	pending atomic.Int64
	limit   int

	// hot is set when a frame is queued and cleared by a holder that
	// found none to claim: see gather.
	hot atomic.Bool
}

// DefaultSendQueueLimit bounds the bytes of small frames a [Conn] copies
// while their senders wait for the one in flight (see [Conn.Buffered]).
// A sender beyond it waits, without a copy, for its own turn to write.
const DefaultSendQueueLimit = 16 << 20

// combineSpins is how many times a waiter whose frame was queued yields
// the processor before it sleeps until its frame is written: it lets the
// holder, and the other writers, run on, and the holder often writes the
// frame meanwhile, which saves waking a sleeping goroutine. With 8
// writers of 16 B on 2 cores, 1 measured faster than 0 (the holder finds
// few frames to claim) and 4 (the writers yield to each other in turn).
const combineSpins = 1

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
		size := h.Len() + len(p)
		limit := m.limit
		if limit == 0 {
			limit = DefaultSendQueueLimit
		}
		job = m.pending.Load()+int64(size) <= int64(limit)
		if job {
			w.job, w.h, w.size = true, h, size
			w.bp = jobPool.Get().(*[]byte)
			*w.bp = append((*w.bp)[:0], p...)
			m.pending.Add(int64(size))
			m.hot.Store(true)
		}
	}
	m.push(w)
	m.mu.Unlock()
	defer m.release(w)

	for i := 0; job && i < combineSpins && len(w.ch) == 0; i++ {
		runtime.Gosched()
	}
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
		m.dequeued(w)
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

// dequeued takes w's frame, if any, out of the count of queued bytes; w
// has just left the queue and m.mu is held.
func (m *ctxMutex) dequeued(w *waiter) {
	if w.job {
		m.pending.Add(-int64(w.size))
	}
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
		if m.hot.Load() {
			m.hot.Store(false)
		}
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
		m.dequeued(w)
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
	if first == nil {
		m.hot.Store(false)
	}
	return first
}

// gather lets the goroutines that are ready to run send, before the
// holder claims the frames queued: while writers queued frames recently
// (hot), the holder yields the processor once, so that the writers that
// were runnable queue theirs and go out in the holder's write rather than
// each in a write of its own. A lone writer never yields.
func (m *ctxMutex) gather() {
	if m.hot.Load() {
		runtime.Gosched()
	}
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
		m.dequeued(w)
		if m.head == nil {
			m.tail = nil
			m.state.Store(mutexLocked) // held by w, nobody waiting
		}
		w.ch <- struct{}{}
	}
	m.mu.Unlock()
}
