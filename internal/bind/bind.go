// Package bind ties a context to a connection's deadlines, without a
// goroutine: the context's deadline becomes the connection's, and
// context.AfterFunc sets a deadline in the past when the context ends
// during a call, which wakes a blocked read or write. conn binds its
// reads, its writes and its opening handshake with it, and proxy the
// handshake of its dialer.
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

	mu       sync.Mutex
	done     <-chan struct{} // Done of the registered context; nil: none
	stop     func() bool     // its AfterFunc's stop
	active   bool            // a call is bound: the AfterFunc may wake it
	dl       bool            // the connection has a deadline from the Binder
	released bool            // after Release: register nothing more

	// clean reports, without the lock, that nothing is registered and the
	// connection has no deadline from the Binder: a call with a context
	// that never ends (context.Background) then has nothing to do.
	clean atomic.Bool
}

// settle records whether the Binder is clean. b.mu is held.
func (b *Binder) settle() { b.clean.Store(b.done == nil && !b.dl) }

// Arm binds ctx to the connection until Disarm: ctx's deadline, or none,
// becomes the connection's, and ctx ending wakes the call.
func (b *Binder) Arm(ctx context.Context) {
	done := ctx.Done()
	if done == nil && b.clean.Load() {
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
		b.Conn.SetDeadline(past)
		b.dl = true
	case hasDL:
		b.Conn.SetDeadline(dl)
		b.dl = true
	case b.dl:
		b.Conn.SetDeadline(time.Time{})
		b.dl = false
	}
}

// cancelled is the AfterFunc of the context whose Done channel is done.
func (b *Binder) cancelled(done <-chan struct{}) {
	b.mu.Lock()
	if b.active && b.done == done {
		b.Conn.SetDeadline(past)
		b.dl = true
		b.settle()
	}
	b.mu.Unlock()
}

// Disarm ends the call that Arm bound. Once it returns, the context can no
// longer touch the connection; the deadline it left is replaced by the
// next Arm.
func (b *Binder) Disarm() {
	if b.clean.Load() {
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
	b.Conn.SetDeadline(dl)
	b.dl = true
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
		b.Conn.SetDeadline(time.Time{})
		b.dl = false
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
