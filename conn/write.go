package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/bind"
	"github.com/framewire/ws/internal/utf8check"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/status"
)

// ErrInvalidText reports a text message to send that is not UTF-8
// (RFC 6455 §5.6). Nothing was sent.
var ErrInvalidText = errors.New("conn: text message is not valid UTF-8")

// ErrMessageOpen reports a call that could not begin because a message
// sent in fragments stayed open: with [Conn.WriteFrame], its final frame
// was not sent within [ReplyTimeout]; with a [MessageWriter], the writer
// was not closed within ReplyTimeout, for a call that waits for it (see
// [Conn.NextWriter]). The call's context had no deadline. Nothing was
// sent.
var ErrMessageOpen = errors.New("conn: another message sent in fragments is still open")

// ErrNoMessageOpen reports a continuation frame sent with [Conn.WriteFrame]
// while no message sent in fragments is open: the peer would fail the
// connection (RFC 6455 §5.4). Nothing was sent.
var ErrNoMessageOpen = errors.New("conn: continuation frame with no message sent in fragments open")

// writeBufferSize is the size of a write buffer, lent by writePool to a
// Conn's writer for one locked section. Frames that fit together go out in
// one Write.
const writeBufferSize = 32 << 10

// writePool caches write buffers across connections. It is a cache only:
// no caller can observe its contents.
var writePool = sync.Pool{New: func() any {
	b := make([]byte, 0, writeBufferSize)
	return &b
}}

// largePieces are the sizes of the pieces in which a frame too long for a
// write buffer goes out: its payload is masked as it is copied into a
// buffer from largePools with room for frame.MaxHeaderLen bytes on top of
// the piece, which is written each time it fills. Where the watchdog of
// Config.WriteTimeout sees the peer take bytes during a Write (a TCP
// connection on Linux, TLS over it included) or there is no WriteTimeout,
// the buffer is the smallest that holds the whole frame, so that a frame
// up to 256 KiB leaves in one Write with a buffer no larger than it needs,
// and a longer frame in pieces of largePiece: measured on loopback
// (bench/README.md, "1 MiB in pieces of 256 KiB"), 256 KiB pieces send
// 1 MiB over TLS in 18% less time than 32 KiB ones, over plain TCP in
// 0.94-1.09x their time. Elsewhere each Write must end within
// WriteTimeout, and the pieces are the first size, 32 KiB, as the write
// buffer: a peer that takes a few KiB a second still keeps up.
var largePieces = [...]int{32 << 10, 64 << 10, 128 << 10, largePiece}

// largePiece is the longest piece: a frame longer than it leaves in
// several Writes.
const largePiece = 256 << 10

// largePools cache the buffers of frames longer than a write buffer, one
// pool per piece size; a writer holds one only for the locked section that
// writes such a frame (or while it keeps that frame's end after a stopped
// write).
var largePools = [len(largePieces)]sync.Pool{
	{New: func() any { return newLarge(0) }},
	{New: func() any { return newLarge(1) }},
	{New: func() any { return newLarge(2) }},
	{New: func() any { return newLarge(3) }},
}

// newLarge makes a buffer for largePools[i].
func newLarge(i int) *[]byte {
	b := make([]byte, 0, frame.MaxHeaderLen+largePieces[i])
	return &b
}

// largeClass returns the index in largePieces of the buffer for a frame of
// size bytes (header included): the smallest that holds it, or the
// largest.
func largeClass(size int) int {
	for i, n := range largePieces {
		if size <= frame.MaxHeaderLen+n {
			return i
		}
	}
	return len(largePieces) - 1
}

// putBuffer gives a writer's buffer back to the pool it came from.
func putBuffer(bp *[]byte) {
	*bp = (*bp)[:0]
	if cap(*bp) == writeBufferSize {
		writePool.Put(bp)
		return
	}
	largePools[largeClass(cap(*bp))].Put(bp)
}

// WriteFrame sends one frame: websocket-client's send_frame. It fills in
// the payload length and, for a client, masks the frame with a fresh key
// (RFC 6455 §5.3); the key in f is ignored and f.Payload is not modified.
// The frame is sent as given otherwise: no negotiated extension encodes it.
//
// The frame must be valid for RFC 6455 without extensions: no reserved bit
// or opcode, a control frame final and at most 125 bytes, a close frame's
// code and reason valid. Otherwise nothing is sent and the error is a
// *[frame.Error]. With [Config.AllowIllegalWrites] nothing is checked and
// the frame is sent as given: masked only if f.Masked says so (an opcode
// above 15, which has no wire form, is still refused with
// [frame.ErrUnencodable]). A close frame sent this way starts the closing
// handshake: later sends fail with [ErrClosed].
//
// WriteFrame may be called from several goroutines at once: each frame is
// written whole, never inside another goroutine's frame. What nil means
// depends on whether another write is in flight:
//
//   - With the Conn's write free, the call writes the frame itself and
//     returns when the frame was handed to the operating system, with
//     that write's error. ctx bounds the write (see [Conn]). Frames
//     other senders queued just before go out first; their calls have
//     returned, so a ctx that can end does not bound them: they are
//     written on their own, as queued frames are (see
//     [Config.WriteTimeout]), and the call's own write follows, so
//     against a stalled peer the call can return after ctx ended. A
//     close frame's write keeps ctx's bound (see [Conn.Close]). After
//     its own frame, the call writes the frames queued meanwhile, round
//     after round; once ctx has ended it returns at the end of the round
//     under way, and a goroutine of the Conn writes the rounds left.
//   - With a write in flight, the frame is copied, masked, into the
//     Conn's send queue and the call returns nil at once: the frame is
//     accepted, not yet written. The goroutine writing sends the queue,
//     in one write, before it lets go (and the one after it, if it left
//     first); ctx plays no further part, so a frame queued is sent
//     whole even if ctx ends. A write of queued frames that fails fails
//     the connection: the next call, Flush and Close report it, with an
//     error matching [ErrConnectionLost]. Call [Conn.Flush] to wait until
//     the frames accepted are written.
//   - When the queue would pass [DefaultSendQueueLimit] (see
//     [Conn.Buffered]), and for close frames, frames a negotiated
//     extension encodes and a Config with MaskKey, the call waits for its
//     turn to write, bounded by ctx, and returns as in the first case.
//
// Frames reach the wire in the order their calls queued or wrote them;
// the calls of one goroutine keep their order.
//
// A message may be sent in fragments (RFC 6455 §5.4): a text or binary
// frame that is not final opens it, continuation frames follow and the
// final one ends it. No other message comes between its frames, whatever
// call sends it: while it is open, control frames and continuation
// frames go out as above, but a call that begins a message (WriteFrame
// with a text or binary frame, WriteMessage, WriteMessages, WritePrepared,
// NextWriter, a NetConn's Write) sends nothing until it ends, and is
// never queued ahead of its frames. Such a call waits, bounded by its
// ctx, and when ctx has no deadline by [ReplyTimeout], after which it
// returns [ErrMessageOpen]; so a goroutine that begins a message while
// its own is open gets that error rather than waiting for ever. The
// message ends too when a close frame is written, or when the connection
// closes. A continuation frame with no message open is refused with
// [ErrNoMessageOpen]. With [Config.AllowIllegalWrites] nothing of this is
// tracked: frames go out as they are sent.
func (c *Conn) WriteFrame(ctx context.Context, f frame.Frame) error {
	if c.cfg.allowIllegalWrites {
		if f.Opcode > 0xf {
			return fmt.Errorf("%w: opcode %#x", frame.ErrUnencodable, byte(f.Opcode))
		}
		return c.sendHeader(ctx, f.Header, f.Payload, false, true)
	}
	if err := checkOut(f.Header, f.Payload); err != nil {
		return err
	}
	return c.send(ctx, f.Header, f.Payload)
}

// WriteMessage sends p as one message of type op (websocket-client's
// send, send_text and send_binary), in one frame, encoded by the
// negotiated extension if there is one. A text message must be UTF-8
// ([ErrInvalidText]) unless the Config set SkipUTF8Validation. A control
// opcode sends one control frame, checked as [Conn.WriteFrame] checks it,
// as websocket-client's send does; a continuation is no message and is
// refused with [ErrNotData]. Like
// WriteFrame, it returns once the message is written or, while another
// write is in flight, once it is accepted into the send queue; see
// [Conn.WriteFrame] for what nil means and when errors are reported.
func (c *Conn) WriteMessage(ctx context.Context, op frame.Opcode, p []byte) error {
	return c.writeMessage(ctx, op, p, true)
}

// writeMessage is WriteMessage; a sender that finds the write lock held
// queues its frame only if queue is set, and waits for the lock otherwise.
func (c *Conn) writeMessage(ctx context.Context, op frame.Opcode, p []byte, queue bool) error {
	if err := messageOp(op); err != nil {
		return err
	}
	if op == frame.OpText && !c.cfg.skipUTF8Validation && !utf8check.Valid(p) {
		return ErrInvalidText
	}
	h := frame.Header{Fin: true, Opcode: op, Masked: c.masks()}
	if op != frame.OpText && op != frame.OpBinary {
		// A final text or binary frame is valid whatever its length.
		if err := checkOut(h, p); err != nil {
			return err
		}
	}
	return c.sendHeader(ctx, h, p, op.IsData(), queue)
}

// WriteMessages sends each of ps as one message of type op, in order and
// together: no other goroutine's frame comes between them, and they leave
// in as few Writes as fit in the write buffer (one for small messages), so
// that a burst costs about one system call. Each message is checked as
// WriteMessage checks it before anything is sent; an error then sends
// none. It waits for its turn to write, bounded by ctx (a burst is never
// queued), sends the frames queued before it first, and returns when the
// last Write returned. A burst stopped by ctx
// may have sent its first messages, or kept them whole for the next
// write (see [TimeoutError]). See [Conn.WriteMessage].
func (c *Conn) WriteMessages(ctx context.Context, op frame.Opcode, ps ...[]byte) error {
	if err := messageOp(op); err != nil {
		return err
	}
	h := frame.Header{Fin: true, Opcode: op, Masked: c.masks()}
	if op.IsData() && len(ps) > 0 {
		// A data frame's header is valid or not whatever its length.
		if err := checkOut(h, nil); err != nil {
			return err
		}
	}
	for _, p := range ps {
		if op == frame.OpText && !c.cfg.skipUTF8Validation && !utf8check.Valid(p) {
			return ErrInvalidText
		}
		if !op.IsData() {
			if err := checkOut(h, p); err != nil {
				return err
			}
		}
	}
	var limit time.Time
	for {
		if err := c.lockWrite(ctx); err != nil {
			return err
		}
		end, err := c.sendBatch(ctx, h, ps)
		c.unlockWriteFor(ctx)
		if end == nil {
			return err
		}
		if err := c.awaitMessage(ctx, end, &limit); err != nil {
			return err
		}
	}
}

// Buffered returns the number of bytes of frames the Conn holds on their
// way out: the frames in its send queue (see [Conn.WriteMessage]), and the
// bytes of a Write to the operating system that has not returned, or that
// a write stopped by its context kept (see [TimeoutError]). The queue
// never holds more than [DefaultSendQueueLimit], counting the frames
// taken from it until their write returns: a sender that would go beyond
// it waits, bounded by its context, for its own turn to write.
func (c *Conn) Buffered() int {
	return int(c.q.n.Load() + c.w.busy.Load()&busyBytes)
}

// sendBatch is WriteMessages under the write lock. While a message sent
// in fragments is open, it sends nothing and returns the channel closed
// when that message ends.
func (c *Conn) sendBatch(ctx context.Context, h frame.Header, ps [][]byte) (<-chan struct{}, error) {
	if err := c.writeErr(); err != nil {
		return nil, err
	}
	if c.closeSent.Load() {
		return nil, ErrClosed
	}
	c.wbind.Arm(ctx)
	defer c.wbind.Disarm()
	n, end, err := c.takeFor(h, c.openRole(h.Opcode))
	if end != nil || err != nil {
		return end, c.wrote(ctx, n, err)
	}
	if err := c.sendTaken(ctx); err != nil {
		return nil, err
	}
	if c.enc == nil && c.trace == nil && c.cfg.maskKey == nil {
		// The common case, with fewer checks per message: keys from the
		// Conn's source, straight into the writer's buffer.
		if h.Masked && c.src == nil {
			c.src = mask.NewSource()
		}
		for _, p := range ps {
			h.Length = int64(len(p))
			if h.Masked {
				h.Key = c.src.Key()
			}
			k, err := c.w.frame(c.t, h, p)
			if n += k; err != nil {
				return nil, c.wrote(ctx, n, err)
			}
		}
		ps = nil
	}
	encoded := false
	for _, p := range ps {
		h, p := h, p
		if c.enc != nil && h.Opcode.IsData() && !c.enc.plain(len(p)) {
			var err error
			if h, p, err = c.encode(h, p); err != nil {
				return nil, err
			}
			encoded = true
		}
		k, err := c.frame(h, p)
		if n += k; err != nil {
			return nil, c.wroteEncoded(ctx, n, err, encoded)
		}
	}
	k, err := c.w.flush(c.t)
	return nil, c.wroteEncoded(ctx, n+k, err, encoded)
}

// wroteEncoded is wrote for a write that carried encoded messages
// (encoded): when it failed, the encoder forgets them, so that no later
// message refers to bytes the peer may never get.
func (c *Conn) wroteEncoded(ctx context.Context, n int, err error, encoded bool) error {
	if err != nil && encoded {
		c.enc.forget()
	}
	return c.wrote(ctx, n, err)
}

// messageOp refuses the opcode no message call sends: a continuation
// frame belongs to a message sent in fragments with WriteFrame.
func messageOp(op frame.Opcode) error {
	if op == frame.OpContinuation {
		return fmt.Errorf("%w: %v", ErrNotData, op)
	}
	return nil
}

// checkOut checks a frame to send against RFC 6455 without extensions.
func checkOut(h frame.Header, payload []byte) error {
	h.Length = int64(len(payload))
	if err := h.Validate(frame.Policy{}); err != nil {
		return err
	}
	if h.Opcode == frame.OpClose {
		return frame.ValidateClose(payload, frame.Policy{})
	}
	return nil
}

// Ping sends a ping with payload p, at most 125 bytes. The peer's pong is
// dropped by the receiving calls, or returned by them with
// Config.ControlFrames.
func (c *Conn) Ping(ctx context.Context, p []byte) error {
	f := frame.New(frame.OpPing, p)
	f.Masked = c.masks() // the role's, even with Config.AllowIllegalWrites
	return c.WriteFrame(ctx, f)
}

// msgEncoder is the write side of a negotiated extension (RFC 6455 §9.1),
// such as permessage-deflate (RFC 7692): the stage of the write pipeline
// between a data message sent with WriteMessage and its frame. It is used
// under the write lock, so messages reach it in the order of the wire.
// Control frames and WriteFrame's frames are never encoded.
type msgEncoder interface {
	// write takes the next part of the message; p is a copy lent for the
	// call only.
	write(p []byte) error
	// ready returns the message's encoded bytes not yet returned, to be
	// sent as a fragment, once there are at least n of them, and nil
	// before. They are valid until the next call.
	ready(n int) []byte
	// header returns h, the header of a message's first frame, with the
	// RSV bits the extension owns set: the header of the fragment of the
	// bytes ready returned.
	header(h frame.Header) frame.Header
	// finish ends the message. It returns h, the header of the message's
	// first frame, with the RSV bits the extension owns set unless the
	// message is sent as it is, and the payload to send: the rest of the
	// message, valid until release.
	finish(h frame.Header) (frame.Header, []byte, error)
	// release gives back what the last message held once it is written;
	// it is called as each locked section of the write side ends.
	release()
	// plain reports whether a whole message of n bytes is sent as it is,
	// not encoded, without going through the encoder: it costs no copy.
	plain(n int) bool
	// forget drops the message begun, if any, and the history the
	// messages after it could refer to: after a write of encoded bytes
	// failed, the peer may lack some of them, and a later message must
	// not depend on them. (Forgetting what the peer did get only costs
	// compression: a message may always refer to less.)
	forget()
}

// encode runs a message through the negotiated extension. The encoder is
// handed lent copies of p, never p itself, so that a payload the caller
// keeps on its stack stays there: an interface call would move it to the
// heap.
func (c *Conn) encode(h frame.Header, p []byte) (frame.Header, []byte, error) {
	bp := writePool.Get().(*[]byte)
	defer writePool.Put(bp)
	for len(p) > 0 {
		k := copy((*bp)[:cap(*bp)], p)
		if err := c.enc.write((*bp)[:k]); err != nil {
			return h, nil, err
		}
		p = p[k:]
	}
	return c.enc.finish(h)
}

// send writes one frame, masked if the Conn is a client, not encoded.
func (c *Conn) send(ctx context.Context, h frame.Header, payload []byte) error {
	h.Masked = c.masks()
	return c.sendHeader(ctx, h, payload, false, true)
}

// masks reports whether the frames the Conn sends are masked: a client's
// are (RFC 6455 §5.3), a server's are not.
func (c *Conn) masks() bool { return c.cfg.role == RoleClient }

// sendHeader writes one frame, masked only if h says so, under the write
// lock: the pipeline of the sending calls. A message (msg) goes through
// the negotiated extension's encoder, then the frame through the Conn's
// writer; the frames queued meanwhile and a pong owed follow it (see
// unlockWrite). Their failure ends the connection but is not this call's
// error: its frame was sent.
//
// A sender that finds the lock held queues its frame instead and returns
// (see queue.go), unless queue is false (a NetConn's Write, which must
// honour its deadline), the frame is a close frame, needs the encoder
// (whose state follows the order of the wire), or takes its key from
// Config.MaskKey (a function that may not be called concurrently): those
// wait for the lock.
func (c *Conn) sendHeader(ctx context.Context, h frame.Header, payload []byte, msg, queue bool) error {
	if err := ctx.Err(); err != nil {
		return &TimeoutError{Op: "write", Ctx: err}
	}
	r := c.openRole(h.Opcode)
	var limit time.Time
	for {
		if !c.wlock.tryLock() {
			if queue && h.Opcode != frame.OpClose && !(msg && c.enc != nil) && c.cfg.maskKey == nil {
				h.Length = int64(len(payload))
				if queued, err := c.queue(ctx, h, payload, r); queued {
					return err
				}
			}
			if err := c.waitWrite(ctx); err != nil {
				return err
			}
		}
		end, err := c.sendLocked(ctx, h, payload, msg, r, queue && h.Opcode != frame.OpClose)
		c.unlockWriteFor(ctx)
		if end == nil {
			return err
		}
		if err := c.awaitMessage(ctx, end, &limit); err != nil {
			return err
		}
	}
}

// sendLocked is sendHeader under the write lock, for a frame of role r.
// The frames queued go first, with this one in the same write when it
// fits in the writer's buffer, or on their own, sparing them ctx's end,
// when spare is set (sendTaken). A frame beginning a message while another
// is open is not sent: sendLocked returns the channel closed when that
// message ends.
func (c *Conn) sendLocked(ctx context.Context, h frame.Header, payload []byte, msg bool, r fragRole, spare bool) (<-chan struct{}, error) {
	if err := c.writeErr(); err != nil {
		return nil, err
	}
	if c.closeSent.Load() {
		return nil, ErrClosed
	}
	if r == roleCont && !c.q.messageOpen() {
		return nil, ErrNoMessageOpen
	}
	c.wbind.Arm(ctx)
	var n int
	var end <-chan struct{}
	var err error
	n, end, err = c.takeFor(h, r)
	if end != nil {
		c.wbind.Disarm()
		return end, nil
	}
	if err == nil && spare {
		if err = c.sendTaken(ctx); err != nil {
			c.wbind.Disarm()
			return nil, err
		}
	}
	opened := err == nil && r == roleStart && !h.Fin
	ending := err == nil && r == roleCont && h.Fin
	encoded := err == nil && msg && c.enc != nil && !c.enc.plain(len(payload))
	if encoded {
		if h, payload, err = c.encode(h, payload); err != nil {
			c.wbind.Disarm()
			return nil, err
		}
	}
	if err == nil {
		var k int
		k, err = c.put(h, payload)
		n += k
	}
	onItsWay := err == nil || c.w.kept && c.w.whole
	switch {
	case opened && !onItsWay:
		c.q.endMessage() // the frame opening it is not on its way
	case ending && onItsWay:
		c.q.endMessage()
	}
	err = c.wroteEncoded(ctx, n, err, encoded)
	c.wbind.Disarm()
	return nil, err
}

// closeWritten records the write of a close frame that returned err: once
// it is written no frame may follow it. A close frame kept after a write
// stopped early is dropped with the bytes kept, which cuts the frames
// before it: no data frame may follow a close frame that is not sent.
func (c *Conn) closeWritten(err error) {
	if err != nil {
		c.closeBegun.Store(false)
	}
	switch {
	case err == nil:
		c.closeSent.Store(true)
		c.q.endMessage() // no message can end after it: senders waiting fail
	case c.w.kept:
		c.w.abandon()
	case !c.w.cut:
		c.q.reopen() // nothing of it went out: frames may follow
	}
}

// wrote turns the result of a write of n bytes bound to ctx into the error
// returned; the caller holds the write lock.
func (c *Conn) wrote(ctx context.Context, n int, err error) error {
	if err == nil {
		return nil
	}
	if isTimeout(err) && c.wbind.Stall > 0 && ctxErr(ctx) == nil {
		if werr := c.writeErr(); werr != nil {
			// The connection ended (CloseNow) while the write waited
			// on a socket it shares (HTTP/2): that end is the answer.
			return werr
		}
		// The call had no deadline: Config.WriteTimeout stopped it, and
		// a peer that reads nothing for so long is gone. What is still
		// unsent would never leave: the connection is reset (as by
		// CloseNow), and its resources go at once.
		werr := fmt.Errorf("%w: %v", ErrWriteTimeout, err)
		c.drop(werr, werr, func() error { return abort(c.t) })
		return werr
	}
	if c.w.dropped && !isReset(err) {
		// The write carried queued frames, whose senders returned: the
		// connection fails, and every later call reports it. (A peer's
		// reset ends sending only, in writeFailed: what it sent before
		// is still to be read.)
		lost := lostErr(err)
		c.drop(lost, lost, func() error { return closeBroken(c.t) })
	}
	if cerr := ctxErr(ctx); cerr != nil && isTimeout(err) {
		// Some transports (TLS) cannot resume any write after a timeout.
		broken := c.w.cut || isBroken(err)
		kept := !broken && c.w.kept && c.w.whole
		te := &TimeoutError{Op: "write", Broken: broken, Kept: kept, Ctx: cerr, Err: err}
		if broken {
			// Under TLS a close_notify after the cut record would
			// reach the peer as a corrupt record: none is sent.
			c.drop(te, te, func() error { return closeBroken(c.t) })
		}
		return te
	}
	return c.writeFailed(err)
}

// put writes one frame through the writer, masked with a fresh key if
// h.Masked, and returns the number of bytes written; the caller holds the
// write lock. A close frame goes out after the frames queued, in the same
// write, and no frame is queued after it.
func (c *Conn) put(h frame.Header, payload []byte) (int, error) {
	n := 0
	var err error
	if h.Opcode == frame.OpClose {
		c.closeBegun.Store(true)
		n, err = c.takeQueued(true, false)
	}
	if err == nil {
		var k int
		k, err = c.frame(h, payload)
		n += k
	}
	if err == nil {
		var k int
		k, err = c.w.flush(c.t)
		n += k
	}
	if h.Opcode == frame.OpClose {
		c.closeWritten(err)
	}
	return n, err
}

// frame appends one frame to the writer, masked with a fresh key if
// h.Masked, and returns the number of bytes written to the transport to
// make room; the caller holds the write lock.
func (c *Conn) frame(h frame.Header, payload []byte) (int, error) {
	h.Length = int64(len(payload))
	switch {
	case !h.Masked:
		h.Key = mask.Key{}
	case c.cfg.maskKey != nil:
		h.Key = c.cfg.maskKey()
	default:
		if c.src == nil {
			c.src = mask.NewSource()
		}
		h.Key = c.src.Key()
	}
	if c.trace != nil {
		// Traced before it is written, as websocket-client does, so that
		// a quick answer is never traced before the frame it answers.
		c.trace.sent(frame.Frame{Header: h, Payload: payload})
	}
	return c.w.frame(c.t, h, payload)
}

// writeFailed turns a write error that is no timeout into the error
// returned, and fails the connection. When the peer reset the connection
// (ECONNRESET, EPIPE), what it sent before may still wait unread in the
// socket: typically its close frame saying why it gave up, such as 1009
// for a message too big. Then only sending ends; receiving calls read on
// and return that close frame, or fail the connection at the end of the
// stream, and close the socket (as Close and CloseNow do). Any other
// error closes the socket at once.
func (c *Conn) writeFailed(err error) error {
	if e := c.writeErr(); e != nil {
		return e
	}
	lost := lostErr(err)
	if isReset(err) {
		c.mu.Lock()
		if !c.ended.Load() {
			c.werr = closedBy(lost)
			c.ended.Store(true)
		}
		c.mu.Unlock()
		c.q.endMessage() // senders waiting for it find sending ended
		return lost
	}
	c.terminate(lost, lost)
	return lost
}

// writer encodes frames for the transport: the last stage of the write
// pipeline, used under the write lock. Frames are appended to a buffer
// lent by writePool and written with one Write by flush, so that several
// frames can leave together. A frame longer than that buffer moves what it
// holds to a larger one from largePools, which is written each time it
// fills (its piece's worth of the payload per Write after the first), the
// payload masked as it is copied. The payload is never handed to the
// transport itself, which would move a payload kept on the caller's stack
// to the heap. release gives the buffer back when the lock is released:
// an idle Conn holds none.
//
// A frame that fits in the buffer is never split across two Writes. So
// when a Write stopped by a deadline wrote part of the buffer, the rest
// holds whole frames (and the end of the one it cut), which are kept and
// go out first with the next Write: the stream stays valid and the Conn
// usable. Only a frame larger than the buffer, cut with part of its
// payload still in the caller's hands, cannot be finished.
type writer struct {
	bp *[]byte // the lent buffer, holding the bytes not yet written; nil between locked sections unless kept

	cont    bool // the buffer starts inside a frame whose first bytes were written
	open    bool // a frame is being copied in pieces: its payload's rest is the caller's
	whole   bool // the last frame appended lies whole in the buffer
	kept    bool // the last flush stopped early and kept the rest of the buffer
	cut     bool // the last flush stopped inside a frame that can never be finished
	big     bool // a large frame's buffer may exceed 32 KiB (see largePieces)
	dropped bool // the last flush failed with frames of pre (below) in it

	// busy is read by other goroutines: the bytes in a Write that has
	// not returned, or kept (busyBytes, see Conn.Buffered), whether a
	// Write is under way (busyWriting) and how many began (from busyOps
	// up, wrapping), which the watchdog of Config.WriteTimeout reads.
	busy atomic.Int64
	ops  int64 // the Writes begun, for busy

	// deadline binds the Writes to their call and wakes the watchdog of
	// Config.WriteTimeout when it sleeps.
	deadline *bind.Binder

	// Frames queued by other senders (see queue.go), to be written before
	// the buffer by the next flush, in one vectored write. They count in
	// the queue's bytes, queued, until they are written or dropped, so
	// that the queue's limit bounds them too.
	pre    []*[]byte
	queued *atomic.Int64
	vec    net.Buffers // the buffers of that write, consumed as written
	iov    net.Buffers // vec's array, kept for reuse
}

// The parts of writer.busy.
const (
	busyBytes   = 1<<40 - 1
	busyWriting = 1 << 40
	busyOps     = 41
)

// begin records a Write of n bytes under way, before it starts; the
// watchdog of Config.WriteTimeout, asleep while no Write was, wakes.
func (w *writer) begin(n int) {
	w.ops++
	w.busy.Store(int64(n) | busyWriting | w.ops%(1<<(63-busyOps))<<busyOps)
	w.deadline.Refresh()
}

// ended records a Write returned, with n bytes kept.
func (w *writer) ended(n int) {
	w.busy.Store(int64(n) | w.ops%(1<<(63-busyOps))<<busyOps)
}

// frame appends the frame with header h and payload, masked with h.Key if
// h.Masked (payload itself is not modified), writing to t what does not
// fit. It returns the number of bytes written to t. The header must have a
// wire form.
func (w *writer) frame(t io.Writer, h frame.Header, payload []byte) (int, error) {
	if w.bp == nil {
		w.bp = writePool.Get().(*[]byte)
	}
	w.whole = false
	n := 0
	size := h.Len() + len(payload)
	if size > writeBufferSize {
		i := 0
		if w.big {
			i = largeClass(size)
		}
		if cap(*w.bp) < frame.MaxHeaderLen+largePieces[i] {
			w.enlarge(i)
		}
	}
	if room := cap(*w.bp) - len(*w.bp); size > room && (size <= cap(*w.bp) || h.Len() > room) {
		k, err := w.flush(t)
		if n += k; err != nil {
			return n, err
		}
	}
	*w.bp, _ = h.AppendBinary(*w.bp)
	pos := 0
	for {
		var k int
		*w.bp, k, pos = appendMasked(*w.bp, payload, h.Masked, h.Key, pos)
		payload = payload[k:]
		if len(payload) == 0 {
			w.whole = true
			return n, nil
		}
		w.open = true
		k, err := w.flush(t)
		w.open = false
		if n += k; err != nil {
			return n, err
		}
		w.cont = true
	}
}

// flush writes the bytes appended so far with one Write and returns the
// number written. Afterwards the buffer is empty, unless the Write was
// stopped by a deadline after it began a frame that can be finished: then
// it holds the bytes not written (kept).
func (w *writer) flush(t io.Writer) (int, error) {
	w.kept, w.cut, w.dropped = false, false, false
	if len(w.pre) > 0 {
		return w.flushQueued(t)
	}
	if w.bp == nil || len(*w.bp) == 0 {
		return 0, nil
	}
	buf := *w.bp
	w.begin(len(buf))
	n, err := t.Write(buf)
	rest := buf[:0]
	begun := n > 0 || w.cont
	switch {
	case err == nil || !begun || !isTimeout(err):
	case w.open || isBroken(err):
		w.cut = true
	default:
		rest = buf[:copy(buf, buf[n:])]
		w.kept = true
	}
	*w.bp = rest
	w.cont = w.kept
	w.ended(len(rest))
	return n, err
}

// flushQueued is flush with frames queued: it writes them, then the
// buffer, in one vectored write. Nothing is kept when it stops: the
// frames queued belong to senders that returned already, so a failure
// cuts the stream (dropped).
func (w *writer) flushQueued(t io.Writer) (int, error) {
	iov := w.iov[:0]
	for _, b := range w.pre {
		iov = append(iov, *b)
	}
	if w.bp != nil && len(*w.bp) > 0 {
		iov = append(iov, *w.bp)
	}
	size := 0
	for _, b := range iov {
		size += len(b)
	}
	w.iov, w.vec = iov, iov
	own := 0 // the frames queued are counted in queued
	if w.bp != nil {
		own = len(*w.bp)
	}
	w.begin(own)
	n, err := writeVec(t, &w.vec)
	clear(w.iov)
	w.dropQueued()
	if w.bp != nil {
		*w.bp = (*w.bp)[:0]
	}
	w.cont = false
	w.ended(0)
	if err != nil {
		w.cut, w.dropped = true, true
	}
	return int(n), err
}

// dropQueued gives the chunks of pre back to writePool, written or not:
// they no longer count in the queue's bytes.
func (w *writer) dropQueued() {
	for i, b := range w.pre {
		w.queued.Add(-int64(len(*b)))
		*b = (*b)[:0]
		writePool.Put(b)
		w.pre[i] = nil
	}
	w.pre = w.pre[:0]
}

// abandon drops the bytes kept, which leaves a frame cut: the connection
// can no longer be written.
func (w *writer) abandon() {
	if w.kept {
		*w.bp = (*w.bp)[:0]
		w.ended(0)
		w.kept, w.cont, w.cut = false, false, true
	}
}

// enlarge moves the bytes appended so far to a buffer from largePools[i].
func (w *writer) enlarge(i int) {
	bp := largePools[i].Get().(*[]byte)
	*bp = append((*bp)[:0], *w.bp...)
	putBuffer(w.bp)
	w.bp = bp
}

// release gives the buffer back to its pool, unless it holds bytes kept
// for the next Write.
func (w *writer) release() {
	if w.bp != nil && len(*w.bp) == 0 {
		putBuffer(w.bp)
		w.bp = nil
	}
}

// closedBy returns ErrClosed wrapping the reason the connection closed.
func closedBy(cause error) error {
	if cause == nil {
		return ErrClosed
	}
	if errors.Is(cause, ErrClosed) {
		return cause
	}
	return &closedCause{cause}
}

// lostErr is the error for a connection that ended without a close frame.
// isReset reports whether a write failed because the peer reset the
// connection (ECONNRESET, EPIPE).
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func lostErr(err error) error {
	return fmt.Errorf("%w: %w: %w", ErrConnectionLost, closeErrorOf(status.AbnormalClosure, ""), err)
}
