package conn

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/mask"
)

// Coalesced writes (group commit).
//
// A sender that finds the write lock held does not wait for it: it copies
// its frame, masked with a fresh key, into the Conn's send queue and
// returns. The holder sends what is queued before it releases the lock:
// with its own frame, the queued frames first, in one vectored write
// (writev over TCP; on their own first when its context can end, see
// sendTaken), and then, round after round, what was queued during its
// last write. So 8 senders of small messages cost about one system
// call for a whole queue, not one each, and a lone sender, which always
// finds the lock free, writes its own frame exactly as before.
//
// Nothing is left queued with the lock free. The hand-over is two
// atomics, pending and the lock's state, used in opposite orders, as for
// a pong owed (pong.go): a sender appends its frame, sets pending, then
// tries the lock without waiting, and if it gets it, drains the queue
// itself; a holder releases the lock, then loads pending and, if set,
// tries the lock again and drains (releaseWrite). Either the sender's try
// comes after the release and succeeds, or the holder's load comes after
// the sender's store and sees it; when both tries fail a third goroutine
// holds the lock, and it drains before it releases.
//
// The queue is bounded: a sender whose frame would take it past its limit
// waits for the lock instead, bounded by its context, and so does one
// that comes while the holder drains its last round (drainRounds): a
// holder's call ends even while others keep sending. A close frame is
// never queued: it takes the lock and goes out after every frame queued,
// and no frame is queued after it.
type sendQueue struct {
	n       atomic.Int64 // bytes queued
	pending atomic.Bool  // frames are queued
	shut    atomic.Bool  // the holder drains its last round: senders wait for the lock

	// The rest is made by the first sender that queues a frame, or by a
	// close frame, so that a Conn whose writes never meet keeps none of it.
	more atomic.Pointer[queueChunks]
}

// queueChunks is the part of a sendQueue that holds frames.
type queueChunks struct {
	mu     sync.Mutex
	bufs   []*[]byte    // whole frames in wire order, in chunks from writePool; under mu
	data   int          // how many of them are data frames; under mu
	src    *mask.Source // makes the keys of queued frames, under mu
	closed bool         // a close frame is on its way: nothing may follow it; under mu
	limit  int          // the most bytes queued; 0: DefaultSendQueueLimit

	// stop is the Done channel of the call holding the write lock, if
	// its context can end, under that lock: once it is closed, the
	// rounds of queued frames left are written by a goroutine of their
	// own (drainQueue). Here rather than in the Conn, which holds none of
	// it until frames are queued.
	stop <-chan struct{}

	// A message sent in fragments with WriteFrame (see openRole): open
	// while it is (set under mu, read without it too), and end, made
	// for the first sender that waits for it, closed when it ends; under
	// mu. A message nobody waits for allocates nothing.
	end  chan struct{}
	open atomic.Bool
}

// chunks returns the queue's chunks, made if none were.
func (q *sendQueue) chunks() *queueChunks {
	if k := q.more.Load(); k != nil {
		return k
	}
	q.more.CompareAndSwap(nil, new(queueChunks))
	return q.more.Load()
}

// DefaultSendQueueLimit bounds the bytes of frames a [Conn] holds in its
// send queue (see [Conn.Buffered]): 16 MiB, OkHttp's bound. A sender
// beyond it waits, bounded by its context, for its own turn to write.
const DefaultSendQueueLimit = 16 << 20

// drainRounds is how many writes of queued frames a holder makes before
// it releases the lock, at most: in its last round new frames are not
// queued, their senders wait for the lock.
const drainRounds = 8

// queue copies the frame with header h, whose Length is set, and payload
// p into the send queue, masked with a fresh key if h.Masked, for the
// write lock's holder to send; the sender found the lock held. It reports
// false, having queued nothing, when the queue is shut or the frame would
// take it past its limit: the sender then waits for the lock. Otherwise
// the error is the connection's (the frame was not queued), or, when the
// holder had released the lock meanwhile and this sender wrote the queue
// itself, that write's (ctx ends its part as it ends a holder's, see
// drainQueue).
func (c *Conn) queue(ctx context.Context, h frame.Header, p []byte, r fragRole) (bool, error) {
	q := &c.q
	k := q.chunks()
	size := int64(h.Len() + len(p))
	limit := int64(k.limit)
	if limit == 0 {
		limit = DefaultSendQueueLimit
	}
	k.mu.Lock()
	if err := c.writeErr(); err != nil {
		k.mu.Unlock()
		return true, err
	}
	if k.closed || c.closeSent.Load() {
		k.mu.Unlock()
		return true, ErrClosed
	}
	if r == roleCont && !k.open.Load() {
		k.mu.Unlock()
		return true, ErrNoMessageOpen
	}
	if q.shut.Load() || q.n.Load()+size > limit || r == roleStart && k.open.Load() {
		k.mu.Unlock()
		return false, nil
	}
	k.mark(h, r)
	h.Key = mask.Key{}
	if h.Masked {
		if k.src == nil {
			k.src = mask.NewSource()
		}
		h.Key = k.src.Key()
	}
	if c.trace != nil {
		c.trace.sent(frame.Frame{Header: h, Payload: p})
	}
	k.put(h, p)
	if h.Opcode.IsData() {
		k.data++
	}
	q.n.Add(size)
	if q.pending.Load() {
		// No holder has taken the queue since the sender that set
		// pending, and the hand-over of that sender ensures a take after
		// it, which this frame, queued first, goes out with.
		k.mu.Unlock()
		return true, nil
	}
	q.pending.Store(true)
	k.mu.Unlock()
	if c.wlock.tryLock() {
		return true, c.unlockWriteFor(ctx)
	}
	return true, nil
}

// put appends a frame to the chunks, masked with h.Key if h.Masked; a
// frame longer than a chunk's room continues in the next. q.mu is held.
func (q *queueChunks) put(h frame.Header, p []byte) {
	b := q.room(h.Len())
	*b, _ = h.AppendBinary(*b)
	pos := 0
	for {
		var k int
		*b, k, pos = appendMasked(*b, p, h.Masked, h.Key, pos)
		if p = p[k:]; len(p) == 0 {
			return
		}
		b = q.grow()
	}
}

// room returns the last chunk if it has n bytes free, else a new one.
func (q *queueChunks) room(n int) *[]byte {
	if k := len(q.bufs); k > 0 {
		if b := q.bufs[k-1]; cap(*b)-len(*b) >= n {
			return b
		}
	}
	return q.grow()
}

// grow appends an empty chunk and returns it.
func (q *queueChunks) grow() *[]byte {
	b := writePool.Get().(*[]byte)
	*b = (*b)[:0]
	q.bufs = append(q.bufs, b)
	return b
}

// take moves the chunks queued to the end of dst and returns it; the
// queue is empty then. With closed no frame may be queued any more (a
// close frame follows); with shut senders wait for the lock until the
// holder releases it. The caller holds the write lock.
func (q *sendQueue) take(dst []*[]byte, closed, shut bool) []*[]byte {
	if !closed && !q.pending.Load() {
		// Nothing is queued, or a sender is queueing right now: it sets
		// pending after its frame, and the hand-over has the frame taken
		// (see above).
		if shut {
			q.shut.Store(true)
		}
		return dst
	}
	k := q.chunks()
	k.mu.Lock()
	dst = q.move(k, dst)
	if closed {
		k.closed = true
	}
	if shut {
		q.shut.Store(true)
	}
	k.mu.Unlock()
	return dst
}

// move moves the chunks queued to the end of dst and returns it; k.mu is
// held. Their bytes still count in q.n until the writer drops them
// (writer.dropQueued): the queue's limit bounds the frames being written
// too, not only those waiting.
func (q *sendQueue) move(k *queueChunks, dst []*[]byte) []*[]byte {
	dst = append(dst, k.bufs...)
	clear(k.bufs)
	k.bufs, k.data = k.bufs[:0], 0
	q.pending.Store(false)
	return dst
}

// sendControl writes the frames queued when they are all control frames,
// which other goroutines sent while a [MessageWriter] holds the write
// lock: they may go between the message's fragments (RFC 6455 §5.4), so
// that a ping waits for a fragment, not for the whole message. Data
// frames go after the message, and the control frames queued after them
// with them, in their order. The caller holds the write lock, between two
// fragments or before the first, with no call bound; the write is bound
// as the queue's writes are (bindQueued), and its failure fails the
// connection. The rest of a frame a stopped write cut and the writer
// kept (TimeoutError.Kept) goes out first, in a write of its own.
func (c *Conn) sendControl() error {
	k := c.q.more.Load()
	if k == nil || !c.q.pending.Load() {
		return nil
	}
	c.bindQueued()
	defer c.wbind.Disarm()
	n, err := c.flushKept()
	if err == nil {
		k.mu.Lock()
		if k.data > 0 {
			k.mu.Unlock()
			return nil // they all wait for the message's end
		}
		c.w.pre = c.q.move(k, c.w.pre)
		k.mu.Unlock()
		var m int
		m, err = c.w.flush(c.t)
		n += m
	}
	if err != nil {
		err = c.wroteQueued(n, err)
	}
	return err
}

// reopen lets a close frame that was not sent be followed after all.
func (q *sendQueue) reopen() {
	if k := q.more.Load(); k != nil {
		k.mu.Lock()
		k.closed = false
		k.mu.Unlock()
	}
}

// appendMasked appends to b as much of p as b's capacity holds, masked
// with key from key position pos if masked, and returns b, the number of
// bytes of p appended and the key position after them. It copies and
// masks maskSlice bytes at a time, so that the bytes copied are masked
// while they are still in the first-level cache.
func appendMasked(b, p []byte, masked bool, key mask.Key, pos int) ([]byte, int, int) {
	k := min(cap(b)-len(b), len(p))
	if !masked {
		return append(b, p[:k]...), k, pos
	}
	for s := p[:k]; len(s) > 0; {
		n := min(len(s), maskSlice)
		start := len(b)
		b = append(b, s[:n]...)
		pos = mask.Apply(b[start:], key, pos)
		s = s[n:]
	}
	return b, k, pos
}

// maskSlice is how many bytes appendMasked copies before it masks them:
// with the bytes they are copied from, they fit in a first-level cache.
const maskSlice = 16 << 10

// takeQueued has the writer send the frames queued before anything the
// caller appends: bytes kept by a stopped write go out first, in a write
// of their own, and the chunks queued go out with the writer's next
// flush. With closed, nothing may be queued after them. The caller holds
// the write lock and has bound the write; it returns the number of bytes
// written.
func (c *Conn) takeQueued(closed, shut bool) (int, error) {
	n, err := c.flushKept()
	if err == nil {
		c.w.pre = c.q.take(c.w.pre, closed, shut)
	}
	return n, err
}

// flushKept writes the bytes a stopped write kept, if any, and returns
// the number written; the caller holds the write lock and has bound the
// write.
func (c *Conn) flushKept() (int, error) {
	if c.w.bp != nil && len(*c.w.bp) > 0 {
		return c.w.flush(c.t)
	}
	return 0, nil
}

// drainQueue writes the frames queued, in at most drainRounds writes. The
// frames' senders have returned, and the holder's context bounded its own
// frame only: the writes are bounded as a send with no deadline is, by
// Config.WriteTimeout's watchdog, or, with WriteTimeout off, each within
// ReplyTimeout of its start. A write that fails fails the connection: the
// queued frames are lost, and every later call reports it. The caller
// holds the write lock, with no call bound. When the holder's context
// (queueChunks.stop) has ended before a round, the holder does not wait for the
// rest: a goroutine takes over the lock, writes the rounds left and
// releases it, and drainQueue returns errDetached, on which the holder
// returns without releasing the lock. So a holder's call outlasts its
// context by one round's write at most.
func (c *Conn) drainQueue() error {
	var err error
	for round := 1; c.q.pending.Load() || len(c.w.pre) > 0; round++ {
		if k := c.q.more.Load(); k != nil && k.stop != nil && isDone(k.stop) && c.writeErr() == nil {
			// The holder's context ended: it returns, and the rounds
			// left, then the lock, go to a goroutine.
			go c.drainDetached()
			return errDetached
		}
		if e := c.writeErr(); e != nil {
			// The connection ended: drop what is queued.
			c.w.pre = c.q.take(c.w.pre, false, false)
			c.w.dropQueued()
			if err == nil {
				err = e
			}
			continue
		}
		c.bindQueued()
		n, werr := c.takeQueued(false, round >= drainRounds)
		if werr == nil {
			var k int
			k, werr = c.w.flush(c.t)
			n += k
		}
		if werr != nil && err == nil {
			err = c.wroteQueued(n, werr)
		}
		c.wbind.Disarm()
	}
	return err
}

// wroteQueued is wrote for a write of queued frames bound by bindQueued:
// a timeout is the bound's, WriteTimeout's or, with that off,
// ReplyTimeout's, and fails the connection with ErrWriteTimeout, as a
// send's timeout without a deadline does.
func (c *Conn) wroteQueued(n int, err error) error {
	if err != nil && isTimeout(err) && c.wbind.Stall <= 0 {
		werr := fmt.Errorf("%w (queued frames, bound by ReplyTimeout with WriteTimeout off): %v", ErrWriteTimeout, err)
		c.drop(werr, werr, func() error { return abort(c.t) })
		return werr
	}
	return c.wrote(context.Background(), n, err)
}

// bindQueued binds the writes of frames whose senders returned: by
// Config.WriteTimeout's watchdog, or, with WriteTimeout off, within
// ReplyTimeout from now. The caller holds the write lock, with no call
// bound.
func (c *Conn) bindQueued() {
	if c.wbind.Stall > 0 {
		c.wbind.Arm(context.Background())
	} else {
		c.wbind.Until(time.Now().Add(ReplyTimeout))
	}
}

// sendTaken writes the frames a holder bound to ctx took from the queue
// (takeFor), on their own, when ctx can end: their senders returned, and
// the end of the holder's context must not cut them, which would fail the
// connection. They are bound as drainQueue binds them; a context that
// cannot end leaves them to go out with the holder's frame, in one write.
// The error is the connection's, final. The caller holds the write lock
// and has bound ctx, which is bound again on return.
func (c *Conn) sendTaken(ctx context.Context) error {
	if len(c.w.pre) == 0 || ctx.Done() == nil {
		return nil
	}
	c.wbind.Disarm()
	err := c.writeQueued()
	c.wbind.Arm(ctx)
	return err
}

// writeQueued writes the frames taken from the queue (c.w.pre), bound as
// the writes of frames whose senders returned are (bindQueued): its
// failure fails the connection. The caller holds the write lock, with no
// call bound.
func (c *Conn) writeQueued() error {
	c.bindQueued()
	n, err := c.w.flush(c.t)
	if err != nil {
		err = c.wroteQueued(n, err)
	}
	c.wbind.Disarm()
	return err
}

// Flush waits until the frames queued by senders that found a write in
// flight (see [Conn.WriteMessage]), and any bytes a stopped write kept,
// are written, and returns the first error of the writes that carried
// them: a write of queued frames that failed failed the connection, and
// Flush reports that error, as every later call does. ctx bounds the wait
// for the write lock and the write; a Flush it stops returns a
// [*TimeoutError], and if the write had begun, the frames are lost with
// the connection.
func (c *Conn) Flush(ctx context.Context) error {
	if err := c.lockWrite(ctx); err != nil {
		return err
	}
	err := c.writeErr()
	if err == nil && (c.q.pending.Load() || c.w.bp != nil && len(*c.w.bp) > 0) {
		c.wbind.Arm(ctx)
		n, werr := c.takeQueued(false, false)
		if werr == nil {
			var k int
			k, werr = c.w.flush(c.t)
			n += k
		}
		err = c.wrote(ctx, n, werr)
		c.wbind.Disarm()
	}
	if uerr := c.unlockWrite(); err == nil {
		err = uerr
	}
	return err
}

// vectorWriter is a transport that writes several buffers with one
// system call (writev).
type vectorWriter interface {
	writeBuffers(v *net.Buffers) (int64, error)
}

// writeVec writes v to t, with one system call when t can, else with one
// Write per buffer.
func writeVec(t io.Writer, v *net.Buffers) (int64, error) {
	if vw, ok := t.(vectorWriter); ok {
		return vw.writeBuffers(v)
	}
	return v.WriteTo(t)
}

// Messages sent in fragments with WriteFrame (RFC 6455 §5.4).
//
// A text or binary frame that is not final opens a message, which its
// final continuation frame ends; until then no other data message may
// begin on the wire. Each frame's role is applied at the moment it takes
// its place in the wire's order: in queue, under the queue's lock, or,
// for the write lock's holder, in the same section of that lock as its
// take of the frames queued before it (takeFor). A sender beginning a
// message looks after its take: a message opened after the take would
// follow its frame. One that finds a message open sends nothing, lets go
// of the write lock and waits for end, then starts over (awaitMessage);
// while a message is open such senders never queue. Control frames and
// continuation frames pass. With Config.AllowIllegalWrites no frame has a
// role, and nothing is tracked.

// A fragRole is what a frame does to a message sent in fragments.
type fragRole uint8

const (
	roleOther fragRole = iota // passes: a control frame, or any with AllowIllegalWrites
	roleStart                 // begins a message: waits while one is open, opens one unless final
	roleCont                  // continues the open message, and ends it if final
)

// openRole returns the role of frames with opcode op sent by c.
func (c *Conn) openRole(op frame.Opcode) fragRole {
	switch {
	case c.cfg.allowIllegalWrites:
		return roleOther
	case op == frame.OpText || op == frame.OpBinary:
		return roleStart
	case op == frame.OpContinuation:
		return roleCont
	}
	return roleOther
}

// marks reports whether a frame with header h and role r opens or ends
// a message.
func marks(h frame.Header, r fragRole) bool {
	return r == roleStart && !h.Fin || r == roleCont && h.Fin
}

// mark applies the role r of the frame with header h, which takes its
// place on the wire now; k.mu is held, and a frame beginning a message
// finds none open.
func (k *queueChunks) mark(h frame.Header, r fragRole) {
	switch {
	case r == roleStart && !h.Fin:
		k.open.Store(true)
	case r == roleCont && h.Fin && k.open.Load():
		k.endMessage()
	}
}

// endMessage ends the open message, waking its waiters; k.mu is held.
func (k *queueChunks) endMessage() {
	if k.end != nil {
		close(k.end)
		k.end = nil
	}
	k.open.Store(false)
}

// waitEnd returns the channel closed when the open message ends, made
// for the first waiter; k.mu is held and a message is open.
func (k *queueChunks) waitEnd() <-chan struct{} {
	if k.end == nil {
		k.end = make(chan struct{})
	}
	return k.end
}

// messageOpen reports whether a message sent in fragments is open.
func (q *sendQueue) messageOpen() bool {
	k := q.more.Load()
	return k != nil && k.open.Load()
}

// endMessage ends the open message, if there is one: a close frame was
// written, or the frame that opened it was not.
func (q *sendQueue) endMessage() {
	if k := q.more.Load(); k != nil {
		k.mu.Lock()
		if k.open.Load() {
			k.endMessage()
		}
		k.mu.Unlock()
	}
}

// takeFor takes the frames queued ahead of the frame with header h and
// role r, which the write lock's holder writes next (see takeQueued), and
// applies r. It returns, having applied nothing, the channel closed when
// the open message ends if the frame must wait for it. The caller holds
// the write lock and has bound the write.
func (c *Conn) takeFor(h frame.Header, r fragRole) (int, <-chan struct{}, error) {
	// Until the caller's frame is appended, bytes an earlier write kept
	// are none of its own (TimeoutError.Kept).
	c.w.whole = false
	switch {
	case c.q.more.Load() == nil && !marks(h, r):
		// Nothing was ever queued and no message opened: a sender that
		// queues from now on comes after this frame.
		return 0, nil, nil
	case r == roleStart || marks(h, r):
		return c.takeMarking(h, r)
	case c.q.pending.Load():
		n, err := c.takeQueued(false, false)
		return n, nil, err
	}
	return 0, nil, nil
}

// takeMarking is takeFor for a frame that begins or ends a message: its
// take, its look for an open message and its mark are one section of the
// queue's lock. A frame beginning a message must look at the queue it
// takes: a message whose last frames are queued behind that take is open
// for this frame, though its end is already marked.
func (c *Conn) takeMarking(h frame.Header, r fragRole) (int, <-chan struct{}, error) {
	n, err := c.flushKept()
	if err != nil {
		return n, nil, err
	}
	k := c.q.chunks()
	k.mu.Lock()
	defer k.mu.Unlock()
	c.w.pre = c.q.move(k, c.w.pre)
	if r == roleStart && k.open.Load() {
		return n, k.waitEnd(), nil
	}
	if r == roleStart {
		k.mark(h, r)
	}
	// A message ends when its final frame is on its way: sendLocked
	// marks it once written (or kept), so that one stopped before it left
	// stays open, to be ended by a call again; while the holder writes,
	// no other message can be queued.
	return n, nil, nil
}

// awaitMessage waits until end is closed (the open message ended) or the
// connection is closed, bounded by ctx and, when ctx has no deadline, by
// ReplyTimeout from the first wait of the call, whose time it keeps in
// limit: then it returns [ErrMessageOpen]. The caller holds no lock.
func (c *Conn) awaitMessage(ctx context.Context, end <-chan struct{}, limit *time.Time) error {
	var expired <-chan time.Time
	if _, ok := ctx.Deadline(); !ok {
		if limit.IsZero() {
			*limit = time.Now().Add(ReplyTimeout)
		}
		t := time.NewTimer(time.Until(*limit))
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-end:
		return nil
	case <-c.done.wait():
		return nil
	case <-ctx.Done():
		return &TimeoutError{Op: "write", Ctx: ctx.Err()}
	case <-expired:
		return ErrMessageOpen
	}
}
