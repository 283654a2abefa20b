package conn

import (
	"context"
	"sync"
	"time"
)

// longAgo is a deadline in the past: setting it wakes a blocked read or
// write at once.
var longAgo = time.Unix(1, 0)

// binder ties one direction of a socket (reads or writes) to the context of
// the call in progress, without a goroutine: the context's deadline becomes
// the socket's deadline, and context.AfterFunc sets a deadline in the past
// when the context is cancelled. A context that can never end
// (context.Background) costs nothing.
type binder struct {
	set func(time.Time) error // SetReadDeadline or SetWriteDeadline

	mu    sync.Mutex
	gen   uint64 // identifies the call in progress
	armed bool   // the socket may have a deadline to clear
}

// bound is what arm returns and disarm takes.
type bound struct {
	stop func() bool
	ctx  context.Context
}

// arm binds ctx to the socket until disarm. Calls are serialised by the
// caller (one read, or one write, at a time).
func (b *binder) arm(ctx context.Context) bound {
	done := ctx.Done()
	if done == nil {
		return bound{}
	}
	b.mu.Lock()
	b.gen++
	gen := b.gen
	if dl, ok := ctx.Deadline(); ok {
		b.set(dl)
		b.armed = true
	}
	b.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		if b.gen == gen {
			b.set(longAgo)
			b.armed = true
		}
		b.mu.Unlock()
	})
	return bound{stop: stop, ctx: ctx}
}

// disarm undoes arm. Once it returns, the socket has no deadline left from
// this call and the AfterFunc can no longer set one.
func (b *binder) disarm(bd bound) {
	if bd.stop == nil {
		return
	}
	bd.stop()
	b.mu.Lock()
	b.gen++
	if b.armed {
		b.set(time.Time{})
		b.armed = false
	}
	b.mu.Unlock()
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
