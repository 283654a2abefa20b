package conn

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/framewire/ws/internal/bind"
)

// longAgo is a deadline in the past: setting it wakes a blocked read or
// write at once.
var longAgo = time.Unix(1, 0)

// binder ties one direction of a socket (reads or writes) to the context of
// the call in progress, without a goroutine: the context's deadline becomes
// the socket's deadline, and context.AfterFunc sets a deadline in the past
// when the context is cancelled during a call.
//
// The registration and the deadline outlive the call: a caller that passes
// the same context (or one with the same Done channel, such as a
// context.WithValue of it) call after call pays for neither again, so a
// receive or send with a cancellable context allocates nothing in steady
// state. A context that can never end (context.Background) costs nothing,
// and the next call with another context, or release when the connection
// ends, drops what the last one left.
type binder struct {
	set func(time.Time) error // SetReadDeadline or SetWriteDeadline

	perCall bool // TEMPORARY: bind per call through alt, for the comparison
	alt     bind.Binder

	// left reports that a registration or a deadline is left from an
	// earlier call, so that a call with a context that cannot end has
	// something to undo. Only arm and unbind change it.
	left atomic.Bool

	mu       sync.Mutex
	done     <-chan struct{} // Done of the registered context; nil: none
	stop     func() bool     // its AfterFunc's stop
	dl       time.Time       // the deadline the socket has from us; zero: none
	active   bool            // a call is in progress
	fired    bool            // the socket has a past deadline from a cancellation
	released bool            // the connection ended: register nothing more
}

// bound is what arm returns and disarm takes: whether arm bound anything.
type bound bool

// arm binds ctx to the socket until disarm. Calls are serialised by the
// caller (one read, or one write, at a time).
func (b *binder) arm(ctx context.Context) bound {
	if b.perCall {
		b.alt.Arm(ctx)
		return true
	}
	done := ctx.Done()
	if done == nil {
		if b.left.Load() {
			b.mu.Lock()
			b.unbind()
			b.mu.Unlock()
		}
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.released {
		return false
	}
	if done != b.done {
		b.unbind()
		b.done = done
		// The registration refers to the binder weakly: a Conn that is
		// dropped without being closed is not kept alive by a context
		// that outlives it.
		wb := weak.Make(b)
		b.stop = context.AfterFunc(ctx, func() {
			if b := wb.Value(); b != nil {
				b.cancelled(done)
			}
		})
		b.left.Store(true)
	}
	dl, _ := ctx.Deadline()
	if !dl.Equal(b.dl) {
		b.set(dl)
		b.dl = dl
		b.left.Store(true)
	}
	b.active = true
	select {
	case <-done:
		// Cancelled before the call bound it: the AfterFunc may have run
		// already and found no call to stop.
		b.fire()
	default:
	}
	return true
}

// until gives the socket the fixed deadline dl, for a write that no
// context bounds. No call may be armed: a cancellation of the registered
// context then leaves the socket alone, and the next arm replaces dl.
func (b *binder) until(dl time.Time) {
	if b.perCall {
		b.alt.Until(dl)
		return
	}
	b.mu.Lock()
	if !dl.Equal(b.dl) {
		b.set(dl)
		b.dl = dl
		b.left.Store(true)
	}
	b.mu.Unlock()
}

// cancelled is the AfterFunc of the context whose Done channel is done.
func (b *binder) cancelled(done <-chan struct{}) {
	b.mu.Lock()
	if b.active && b.done == done {
		b.fire()
	}
	b.mu.Unlock()
}

// fire wakes the call in progress with a deadline in the past. b.mu is
// held.
func (b *binder) fire() {
	if !b.fired {
		b.set(longAgo)
		b.fired = true
	}
}

// disarm ends the call arm bound. Once it returns, the AfterFunc can no
// longer touch the socket, and a past deadline set by a cancellation is
// gone; the context's own deadline stays for the next call.
func (b *binder) disarm(bd bound) {
	if b.perCall {
		b.alt.Disarm()
		return
	}
	if !bd {
		return
	}
	b.mu.Lock()
	b.active = false
	if b.fired || isClosed(b.done) {
		// The context has ended: nothing of it is worth keeping, least of
		// all a deadline that has passed.
		b.unbind()
	}
	b.mu.Unlock()
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

// release drops the registration for good; the connection has ended and
// must not stay reachable from a long-lived context.
func (b *binder) release() {
	b.mu.Lock()
	b.released = true
	if b.stop != nil {
		b.stop()
	}
	b.done, b.stop = nil, nil
	b.mu.Unlock()
}

// unbind stops the registration and clears the socket's deadline. b.mu is
// held.
func (b *binder) unbind() {
	if b.stop != nil {
		b.stop()
	}
	if !b.dl.IsZero() || b.fired {
		b.set(time.Time{})
	}
	b.done, b.stop, b.dl, b.fired = nil, nil, time.Time{}, false
	b.left.Store(false)
}

// ctxErr returns the context error that explains a socket timeout during
// the call: ctx.Err(), or context.DeadlineExceeded when the socket reached
// the context's deadline a moment before the context noticed.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); ok {
		return context.DeadlineExceeded
	}
	return nil
}
