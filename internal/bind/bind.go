// Package bind ties a context to a connection's deadlines for the length
// of one call, without a goroutine per call: the context's deadline
// becomes the connection's, and context.AfterFunc sets a deadline in the
// past when the context is cancelled during the call, which wakes a
// blocked read or write. conn binds its reads, its writes and its opening
// handshake with it, and proxy its dialer's handshake.
package bind

import (
	"context"
	"sync"
	"time"
)

// past is a deadline in the past: setting it wakes a blocked call at once.
var past = time.Unix(1, 0)

// A Binder binds one call at a time to a connection. Set, the only field
// to fill in, sets the deadline of the direction bound: a net.Conn's
// SetReadDeadline, SetWriteDeadline or SetDeadline. Arm and Disarm (and
// Until) are serialised by the caller; the AfterFunc of a cancelled
// context is the only thing that runs beside them.
//
// Nothing is kept from one call to the next: a context that can end costs
// one context.AfterFunc registration per call (three allocations for the
// contexts of package context), one that cannot end (context.Background)
// costs nothing.
type Binder struct {
	Set func(time.Time) error

	stop func() bool // the AfterFunc's stop; nil: no call is bound
	dl   bool        // the connection has a deadline from Arm or Until

	mu    sync.Mutex
	call  uint64 // number of the bound call; a stale AfterFunc sees another
	fired bool   // the bound call's context ended and set past
}

// Arm binds ctx to the connection until Disarm.
func (b *Binder) Arm(ctx context.Context) {
	if dl, ok := ctx.Deadline(); ok {
		b.Set(dl)
		b.dl = true
	} else if b.dl {
		b.Set(time.Time{})
		b.dl = false
	}
	if ctx.Done() == nil {
		return
	}
	b.mu.Lock()
	b.call++
	call := b.call
	b.mu.Unlock()
	b.stop = context.AfterFunc(ctx, func() { b.cancelled(call) })
}

// cancelled is the AfterFunc of the context bound to call number call.
func (b *Binder) cancelled(call uint64) {
	b.mu.Lock()
	if b.call == call && !b.fired {
		b.Set(past)
		b.fired = true
	}
	b.mu.Unlock()
}

// Disarm ends the call Arm bound and reports whether its context ended
// before Disarm: its error then explains the call's failure, or voids a
// success that raced with it. Once Disarm returns, the context can no
// longer touch the connection, and the connection has no deadline left
// from the call.
func (b *Binder) Disarm() (ended bool) {
	if b.stop != nil {
		ended = !b.stop()
		b.stop = nil
		b.mu.Lock()
		b.call++ // an AfterFunc that has not locked yet finds another call
		if b.fired {
			b.fired = false
			b.dl = true // past, cleared below
		}
		b.mu.Unlock()
	}
	if b.dl {
		b.Set(time.Time{})
		b.dl = false
	}
	return ended
}

// Until gives the connection the fixed deadline dl, for a call that no
// context bounds; no call may be armed. The next Arm replaces it.
func (b *Binder) Until(dl time.Time) {
	b.Set(dl)
	b.dl = true
}
