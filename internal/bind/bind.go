// Package bind ties a context to a connection's deadlines, without a
// goroutine: the context's deadline becomes the connection's, and
// context.AfterFunc sets a deadline in the past when the context ends
// during a call, which wakes a blocked read or write. A call whose
// context has no deadline can be given a default bound on how long the
// peer leaves it waiting (Binder.Stall). conn binds its reads, its writes
// and its opening handshake with it, and proxy the handshake of its
// dialer.
package bind

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
	"weak"
)

// past is a deadline in the past: setting it wakes a blocked call at once.
var past = time.Unix(1, 0)

// epoch is the origin of the monotonic clock readings the watchdogs keep:
// time.Since(epoch) is the cheapest reading of that clock, and a
// wall-clock reading would be fooled by a clock set back. It is written
// once, as the program starts: a constant, not state the Binders share.
var epoch = time.Now()

// Deadliner sets the deadline of what a Binder binds: a net.Conn's
// SetDeadline binds both directions; for one direction, a type whose
// SetDeadline calls SetReadDeadline or SetWriteDeadline. A pointer held as a
// Deadliner costs no allocation, where a method value would.
type Deadliner interface {
	SetDeadline(t time.Time) error
}

// Watched is a Deadliner that a Binder's Stall watchdog can ask about the
// operations it guards.
type Watched interface {
	Deadliner
	// Busy reports whether an operation is under way. An operation
	// marks itself under way before it calls Refresh.
	Busy() bool
	// Progress returns a count that moves as the peer makes progress:
	// with each operation begun, and, where the connection can tell,
	// each byte the peer takes (such as the bytes its TCP acknowledged).
	// It reports false when there is no count: then the watchdog sees
	// none.
	Progress() (int64, bool)
}

// A Binder binds the calls on one direction of a connection, one call at a
// time, to their contexts. Conn sets that direction's deadline. The caller
// serialises Arm, Disarm, Until and Refresh.
//
// The registration with context.AfterFunc outlives the call: the next call
// with the same context (or one with the same Done channel, such as a
// context.WithValue of it) reuses it, so a reader or writer that passes
// one cancellable context call after call allocates nothing. A call with
// another context, or Release, drops it. The registration refers to the
// Binder weakly: a long-lived context does not keep alive what holds it.
type Binder struct {
	Conn Deadliner

	// Stall, when positive, bounds the calls whose context has no
	// deadline by how long the peer may leave them waiting: a watchdog
	// wakes such a call, as a context's end would, once an operation has
	// been under way for Stall while the Watched's progress count stood
	// still. So a call whose peer takes bytes slowly, however long each
	// operation blocks, is never stopped. The watchdog looks eight times
	// per Stall while an operation is under way, so it wakes a call
	// between Stall and Stall and an eighth after the last progress, and
	// sleeps while none is: an idle connection costs nothing. Conn must
	// be a Watched.
	// Zero or negative: such calls have no deadline.
	Stall time.Duration

	mu   sync.Mutex
	done <-chan struct{} // Done of the registered context; nil: none
	stop func() bool     // its AfterFunc's stop
	dog  *watchdog       // made by the first call the Stall watchdog guards

	// flags tells the calls, without the lock, when they have nothing
	// to do (see settle).
	flags atomic.Uint32

	active   bool // a call is bound: the AfterFunc may wake it
	dl       bool // the connection has a deadline from the Binder
	guarded  bool // the calls have no deadline: the Stall watchdog guards them
	asleep   bool // and it sleeps, its timer stopped: Refresh wakes it
	released bool // after Release: register nothing more
}

// A watchdog wakes a call of its Binder that has waited Stall for progress.
// Its fields are guarded by the Binder's mu.
type watchdog struct {
	t     *time.Timer
	mark  int64         // the progress count when last seen
	since time.Duration // when it last moved, after epoch
}

const (
	flagBare    = 1 << iota // nothing is registered: no AfterFunc can wake a call
	flagClean               // and the connection has no deadline from the Binder
	flagGuarded             // and the Stall watchdog guards the calls
	flagAsleep              // the Stall watchdog guards the calls, asleep
)

// settle records the flags. b.mu is held.
func (b *Binder) settle() {
	var f uint32
	if b.done == nil {
		f = flagBare
		if !b.dl {
			f |= flagClean
			if b.guarded {
				f |= flagGuarded
			}
		}
	}
	if b.guarded && b.asleep {
		f |= flagAsleep
	}
	b.flags.Store(f)
}

// set gives the connection the deadline t (zero: none); the watchdog
// guards no call until the next Arm. b.mu is held.
func (b *Binder) set(t time.Time) {
	b.Conn.SetDeadline(t)
	b.dl, b.guarded = !t.IsZero(), false
}

// watch starts the watchdog anew, as if progress were seen now: it looks
// an eighth of Stall later. b.mu is held.
func (b *Binder) watch() {
	if b.released {
		return // the connection's last call is over: nothing to guard
	}
	b.guarded, b.asleep = true, false
	d := b.dog
	if d == nil {
		d = &watchdog{}
		wb := weak.Make(b)
		d.t = time.AfterFunc(b.Stall/8, func() {
			if b := wb.Value(); b != nil {
				b.look()
			}
		})
		b.dog = d
	} else {
		d.t.Reset(b.Stall / 8)
	}
	d.since = time.Since(epoch)
	d.mark, _ = b.Conn.(Watched).Progress()
}

// look is the watchdog's timer. With an operation under way, it notes any
// progress, and wakes the call once there was none for Stall. With none,
// it sleeps: the next operation wakes it (Refresh).
func (b *Binder) look() {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.settle()
	w := b.Conn.(Watched)
	if !b.guarded || b.asleep {
		return
	}
	if !w.Busy() {
		// Asleep first, then busy again: an operation marks itself
		// busy, then looks for the flag (Refresh), so one of the two
		// sees the other.
		b.asleep = true
		b.settle()
		if !w.Busy() {
			return
		}
		b.asleep = false
	}
	d := b.dog
	now := time.Since(epoch)
	if n, ok := w.Progress(); ok && n != d.mark {
		d.mark, d.since = n, now
	}
	if left := d.since + b.Stall - now; left > 0 {
		d.t.Reset(min(left, b.Stall/8))
		return
	}
	b.set(past) // wakes the operation, which reports the timeout
}

// Refresh is called before each operation, once it is marked under way
// (see Watched): it wakes the Stall watchdog if it sleeps, as if progress
// were seen now. Otherwise it costs one atomic load.
func (b *Binder) Refresh() {
	if b.flags.Load()&flagAsleep != 0 {
		b.mu.Lock()
		if b.guarded && b.asleep {
			b.watch()
			b.settle()
		}
		b.mu.Unlock()
	}
}

// Arm binds ctx to the connection until Disarm: ctx's deadline becomes
// the connection's (when it has none, the Stall watchdog guards the call,
// if there is one), and ctx ending wakes the call.
func (b *Binder) Arm(ctx context.Context) {
	done := ctx.Done()
	if done == nil && b.flags.Load()&b.quiet() != 0 {
		return // nothing to bind and nothing to undo
	}
	dl, hasDL := ctx.Deadline()
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.settle()
	if done != b.done && !b.released {
		b.unregister()
		if done != nil {
			wb := weak.Make(b)
			b.done = done
			b.stop = context.AfterFunc(ctx, func() {
				if b := wb.Value(); b != nil {
					b.cancelled(done)
				}
			})
		}
	}
	b.active = done != nil // only a registered context can wake the call
	switch {
	case isClosed(done):
		// ctx ended before this call: its AfterFunc found no call to
		// wake, or has not run yet.
		b.set(past)
	case hasDL:
		b.set(dl)
	case b.Stall > 0:
		if b.dl {
			b.set(time.Time{})
		}
		if !b.guarded {
			b.watch()
		}
	case b.dl:
		b.set(time.Time{})
	}
}

// quiet is the flag that tells a call with a context that never ends
// that the connection is already bound as it needs.
func (b *Binder) quiet() uint32 {
	if b.Stall > 0 {
		return flagGuarded
	}
	return flagClean
}

// cancelled is the AfterFunc of the context whose Done channel is done.
func (b *Binder) cancelled(done <-chan struct{}) {
	b.mu.Lock()
	if b.active && b.done == done {
		b.set(past)
		b.settle()
	}
	b.mu.Unlock()
}

// Disarm ends the call that Arm bound. Once it returns, the context can no
// longer touch the connection; the deadline it left is replaced by the
// next Arm.
func (b *Binder) Disarm() {
	if b.flags.Load()&flagBare != 0 {
		return // Arm bound nothing: no AfterFunc can wake this call
	}
	b.mu.Lock()
	b.active = false
	b.mu.Unlock()
}

// Until gives the connection the fixed deadline dl, for a call that no
// context bounds. No call may be armed: the registered context, should it
// end meanwhile, leaves the connection alone. The next Arm replaces dl.
func (b *Binder) Until(dl time.Time) {
	b.mu.Lock()
	b.set(dl)
	b.settle()
	b.mu.Unlock()
}

// Release drops the registration for good and clears the connection's
// deadline: the call bound last was the connection's last, or its
// handshake is over. It reports whether the registered context ended
// while registered, which, for a handshake, explains its failure or voids
// a success that raced with it.
func (b *Binder) Release() (ended bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.released = true
	ended = b.unregister()
	if b.dl {
		b.set(time.Time{})
	}
	b.guarded = false
	if b.dog != nil {
		b.dog.t.Stop()
	}
	b.settle()
	return ended
}

// unregister stops the registration, if any, and reports whether its
// AfterFunc had started. b.mu is held.
func (b *Binder) unregister() (started bool) {
	if b.stop != nil {
		started = !b.stop()
	}
	b.done, b.stop = nil, nil
	return started
}

// isClosed reports whether done is a closed channel (a nil one never is).
func isClosed(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}
