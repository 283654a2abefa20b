package conn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/framewire/ws/frame"
)

// Answering a ping without waiting for the write lock.
//
// The receiving call never waits for the write lock to answer a ping
// (RFC 6455 §5.5.2): a send of a large message on a slow link may hold it
// far longer than a ping's sender would wait for the pong. Whoever holds
// the write lock when a ping arrives owes its pong instead, and writes it
// between two frames before it releases the lock; control frames may come
// between the frames of a message (§5.4), never inside a frame. Only the
// most recent ping is answered (§5.5.3): a newer one replaces the pong
// owed.
//
// The hand-over is two atomics, pongOwed and the lock's state, used in
// opposite orders by the two sides:
//
//   - the receiving call stores the pong's payload, sets pongOwed, then
//     tries the lock without waiting (answerPing);
//   - the holder writes the owed pong, releases the lock, then loads
//     pongOwed and, if set, tries the lock without waiting and writes it
//     (unlockWrite, releaseWrite).
//
// Go's atomics are sequentially consistent, so either the receiving call's
// try comes after the release and succeeds, and it writes the pong itself,
// or it comes before the release, and then so does the store of pongOwed,
// which the holder's load after the release sees. When both tries fail,
// the lock went to a third goroutine, which checks pongOwed before it
// releases in turn. No pong is left behind with the lock free.

// pongBox holds the payload of the pong owed to the peer. The receiving
// call makes it the first time a pong has to be left to the holder of the
// write lock, so a Conn whose pings meet no send holds none.
type pongBox struct {
	mu sync.Mutex // guards p and n, and pairs them with pongOwed
	n  int
	p  [frame.MaxControlPayload]byte

	out [frame.MaxControlPayload]byte // the payload being written, under the write lock
}

// sendPong answers the ping whose payload is c.ctl[:c.pong-1] and clears
// c.pong: see answerPing. The call's context plays no part.
func (c *Conn) sendPong(context.Context) error {
	p := c.ctl[:c.pong-1]
	c.pong = 0
	return c.answerPing(p)
}

// answerPing answers a ping with payload p on behalf of the receiving
// call, the only goroutine that does. With the write lock free it writes
// the pong at once and returns the pong's error; otherwise it leaves the
// pong to the holder and returns nil at once.
func (c *Conn) answerPing(p []byte) error {
	if c.wlock.tryLock() {
		// Nothing else can become owed while this goroutine holds the
		// lock; a pong still owed is older than this one.
		c.pongOwed.Store(false)
		err := c.writePong(p)
		if rerr := c.releaseWrite(); err == nil {
			err = rerr
		}
		return err
	}
	b := c.pongBox.Load()
	if b == nil {
		b = new(pongBox)
		c.pongBox.Store(b)
	}
	b.mu.Lock()
	b.n = copy(b.p[:], p)
	c.pongOwed.Store(true)
	b.mu.Unlock()
	// The holder may have released the lock before pongOwed was set.
	if c.wlock.tryLock() {
		return c.unlockWrite()
	}
	return nil
}

// unlockWrite writes the frames queued and the pong owed, if any, and
// releases the write lock, which the caller holds: every locked section
// of the write side ends here. It returns their first error.
func (c *Conn) unlockWrite() error {
	err := c.writeOwed()
	if err == errDetached {
		return nil
	}
	if rerr := c.releaseWrite(); err == nil {
		err = rerr
	}
	return err
}

// unlockWriteFor is unlockWrite for a call bound to ctx: when ctx ends
// while frames queued by other senders are still to be written, the call
// returns, and a goroutine writes them and releases the lock (see
// drainQueue).
func (c *Conn) unlockWriteFor(ctx context.Context) error {
	k := c.q.more.Load()
	if k == nil {
		// Nothing was ever queued: nothing to leave. A sender that
		// queues now hands its frame over as usual (releaseWrite).
		return c.unlockWrite()
	}
	k.stop = ctx.Done()
	return c.unlockWrite()
}

// errDetached is drainQueue's report that the rest of the queue, and the
// lock, went to drainDetached.
var errDetached = errors.New("conn: queued frames left to a goroutine")

// drainDetached writes the frames queued that a holder whose context
// ended left, and releases the write lock it took over from it.
func (c *Conn) drainDetached() {
	c.q.more.Load().stop = nil
	c.unlockWrite()
}

// writeOwed writes the frames queued (see queue.go), then the pong owed;
// the caller holds the write lock.
func (c *Conn) writeOwed() error {
	err := c.drainQueue()
	if err == errDetached {
		return err // the lock, and the pong owed, went to drainDetached
	}
	if c.pongOwed.Load() {
		if perr := c.flushPong(time.Time{}); err == nil {
			err = perr
		}
	}
	return err
}

// releaseWrite gives the writer's buffer back, and the encoder's, and
// releases the write lock, then takes it again, without waiting, for
// frames queued or a pong owed meanwhile, until none are (see the
// hand-over above, and queue.go). It returns the first error of their
// writes.
func (c *Conn) releaseWrite() error {
	var err error
	for {
		if c.q.shut.Load() {
			c.q.shut.Store(false)
		}
		c.w.release()
		if c.enc != nil {
			c.enc.release()
		}
		var stop <-chan struct{}
		k := c.q.more.Load()
		if k != nil {
			stop, k.stop = k.stop, nil
		}
		c.wlock.unlock()
		if !c.pongOwed.Load() && !c.q.pending.Load() || !c.wlock.tryLock() {
			return err
		}
		if k != nil {
			k.stop = stop
		}
		werr := c.writeOwed()
		if werr == errDetached {
			return err
		}
		if err == nil {
			err = werr
		}
	}
}

// flushPong writes the pong owed, if it still is, by dl (zero: within
// ReplyTimeout); the caller holds the write lock.
func (c *Conn) flushPong(dl time.Time) error {
	b := c.pongBox.Load()
	if b == nil {
		return nil
	}
	b.mu.Lock()
	owed := c.pongOwed.Swap(false)
	n := copy(b.out[:], b.p[:b.n])
	b.mu.Unlock()
	if !owed {
		return nil
	}
	return c.writePongBy(b.out[:n], dl)
}

// writePong writes a pong with payload p, within ReplyTimeout on a
// deadline of its own; the caller holds the write lock and has no context
// bound to the socket. A pong is not due once a close frame was sent, and
// is still written after the connection ended when a close frame is about
// to answer the peer (replying), as the ping came before it, unless a
// write cut a frame short: nothing may follow that. One that runs out of
// time means the peer is not reading: the connection fails with an error
// matching ErrReplyTimeout and the socket is closed at once.
func (c *Conn) writePong(p []byte) error { return c.writePongBy(p, time.Time{}) }

// writePongBy is writePong by dl; a zero dl is ReplyTimeout from now.
func (c *Conn) writePongBy(p []byte, dl time.Time) error {
	if c.closeSent.Load() {
		return nil
	}
	if err := c.writeErr(); err != nil && (!c.replying.Load() || c.w.cut) {
		return err
	}
	if dl.IsZero() {
		dl = time.Now().Add(ReplyTimeout)
	}
	c.wbind.Until(dl)
	_, err := c.put(frame.Header{Fin: true, Opcode: frame.OpPong, Masked: c.masks()}, p)
	switch {
	case err == nil:
		return nil
	case isTimeout(err):
		// The socket's timeout is named, not wrapped: the connection is
		// gone, and the error must not read as a timeout to retry.
		rerr := fmt.Errorf("%w: the peer did not read it: %v", ErrReplyTimeout, err)
		c.terminate(rerr, rerr)
		return rerr
	}
	return c.writeFailed(err)
}
