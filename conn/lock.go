package conn

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
)

// errStopped is returned by ctxMutex.lock when its stop channel closed
// before the lock was free.
var errStopped = errors.New("conn: lock wait stopped")

// ctxMutex is a mutual exclusion lock whose waiters can give up when a
// context ends. Taking a free lock and releasing one nobody waits for cost
// one atomic compare-and-swap each; waiters queue in arrival order and the
// lock is handed to the first one on release. The zero ctxMutex is
// unlocked.
type ctxMutex struct {
	state atomic.Int32 // mutexUnlocked, mutexLocked or mutexContended

	mu      sync.Mutex      // guards waiters; taken only on the slow paths
	waiters []chan struct{} // each receives one value when it is handed the lock
}

const (
	mutexUnlocked int32 = iota
	mutexLocked
	mutexContended // locked, and waiters may be queued: unlock takes the slow path
)

// lock takes the lock. It gives up, having taken nothing, when ctx ends
// (returning ctx.Err()) or when stop, which may be nil, is closed
// (returning errStopped).
func (m *ctxMutex) lock(ctx context.Context, stop <-chan struct{}) error {
	if m.state.CompareAndSwap(mutexUnlocked, mutexLocked) {
		return nil
	}
	return m.lockSlow(ctx, stop)
}

// tryLock takes the lock if it is free, without waiting.
func (m *ctxMutex) tryLock() bool {
	return m.state.CompareAndSwap(mutexUnlocked, mutexLocked)
}

func (m *ctxMutex) lockSlow(ctx context.Context, stop <-chan struct{}) error {
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
	w := make(chan struct{}, 1)
	m.waiters = append(m.waiters, w)
	m.mu.Unlock()

	var err error
	select {
	case <-w:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-stop:
		err = errStopped
	}
	m.mu.Lock()
	if i := slices.Index(m.waiters, w); i >= 0 {
		m.waiters = slices.Delete(m.waiters, i, i+1)
		if len(m.waiters) == 0 {
			// The holder has not released (it would have handed the
			// lock to w), so the lock is still held: drop the mark.
			m.state.Store(mutexLocked)
		}
		m.mu.Unlock()
		return err
	}
	m.mu.Unlock()
	// The lock was handed to w while it gave up: pass it on.
	<-w
	m.unlock()
	return err
}

// unlock releases the lock, handing it to the first waiter if there is one.
func (m *ctxMutex) unlock() {
	if m.state.CompareAndSwap(mutexLocked, mutexUnlocked) {
		return
	}
	m.mu.Lock()
	if len(m.waiters) == 0 {
		m.state.Store(mutexUnlocked)
	} else {
		w := m.waiters[0]
		m.waiters[0] = nil
		m.waiters = m.waiters[1:]
		if len(m.waiters) == 0 {
			m.waiters = nil
			m.state.Store(mutexLocked) // held by w, nobody waiting
		}
		w <- struct{}{}
	}
	m.mu.Unlock()
}
