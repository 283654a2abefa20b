// Package bind ties a context to a connection's deadlines, without a
// goroutine: the context's deadline becomes the connection's, and
// context.AfterFunc sets a deadline in the past when the context ends
// during a call, which wakes a blocked read or write. A call whose
// context has no deadline can be given a default bound on how long the
// connection blocks it (Binder.Stall). conn binds its reads, its writes
// and its opening handshake with it, and proxy the handshake of its
// dialer.
package bind

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"weak"
)

// past is a deadline in the past: setting it wakes a blocked call at once.
var past = time.Unix(1, 0)

// epoch is the origin of the monotonic clock readings the Binders keep
// (fresh): time.Since(epoch) is the cheapest reading of that clock, and a
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

// A Binder binds the calls on one direction of a connection, one call at a
// time, to their contexts. Conn, the only field to fill in, sets that
// direction's deadline. The caller serialises Arm, Disarm and Until.
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
	// deadline by how long the connection may make them wait: the
	// connection's deadline is then a horizon, at most Stall ahead, that
	// Refresh moves on before each operation, so that every operation
	// has between 15/16 of Stall and Stall to finish. A call that keeps
	// making progress is never stopped; one whose operation blocks for
	// Stall is. Zero or negative: such calls have no deadline.
	Stall time.Duration

	mu       sync.Mutex
	done     <-chan struct{} // Done of the registered context; nil: none
	stop     func() bool     // its AfterFunc's stop
	active   bool            // a call is bound: the AfterFunc may wake it
	dl       bool            // the connection has a deadline from the Binder
	horizon  bool            // that deadline is the Stall horizon
	released bool            // after Release: register nothing more

	// fresh is how long after epoch the horizon stays fresh enough to be
	// left alone, or math.MaxInt64 when the deadline is no horizon (0
	// before the first deadline): Refresh reads it without the lock.
	fresh atomic.Int64

	// flags tells the calls with a context that never ends, without the
	// lock, when they have nothing to do (see settle).
	flags atomic.Uint32
}

const (
	flagBare   = 1 << iota // nothing is registered: no AfterFunc can wake a call
	flagClean              // and the connection has no deadline from the Binder
	flagSteady             // and its deadline is the Stall horizon
)

// settle records the flags. b.mu is held.
func (b *Binder) settle() {
	var f uint32
	if b.done == nil {
		f = flagBare
		if !b.dl {
			f |= flagClean
		}
		if b.horizon {
			f |= flagSteady
		}
	}
	b.flags.Store(f)
}

// set gives the connection the deadline t, which is no horizon (zero:
// none). b.mu is held.
func (b *Binder) set(t time.Time) {
	b.Conn.SetDeadline(t)
	b.dl, b.horizon = !t.IsZero(), false
	b.fresh.Store(math.MaxInt64)
}

// setHorizon gives the connection the deadline Stall from now. b.mu is
// held.
func (b *Binder) setHorizon() {
	now := time.Since(epoch)
	b.Conn.SetDeadline(epoch.Add(now + b.Stall))
	b.dl, b.horizon = true, true
	b.fresh.Store(int64(now + b.Stall/16))
}

// Refresh moves the Stall horizon on before an operation of the call
// bound, if it is the connection's deadline and less than 15/16 of Stall
// is left of it; it costs a clock reading otherwise. An operation of a
// call whose context has a deadline, or has ended, is left alone.
func (b *Binder) Refresh() {
	if b.Stall > 0 && time.Since(epoch) >= time.Duration(b.fresh.Load()) {
		b.refresh()
	}
}

// refresh is Refresh once the horizon is stale.
func (b *Binder) refresh() {
	b.mu.Lock()
	if b.horizon {
		b.setHorizon()
	}
	b.mu.Unlock()
}

// Arm binds ctx to the connection until Disarm: ctx's deadline becomes
// the connection's (when it has none: the Stall horizon, or no deadline),
// and ctx ending wakes the call.
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
		if !b.horizon {
			b.setHorizon()
		}
	case b.dl:
		b.set(time.Time{})
	}
}

// quiet is the flag that tells a call with a context that never ends
// that the connection's deadline is already the one it needs.
func (b *Binder) quiet() uint32 {
	if b.Stall > 0 {
		return flagSteady
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
