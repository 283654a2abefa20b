package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/grow"
	"github.com/framewire/ws/status"
)

// ErrMixedRead reports a receiving call that cannot go on from where
// another kind of call stopped: [Conn.ReadFrame] in the middle of a frame
// or a fragmented message that another receiving call began, or the
// reverse, and [Conn.NextReader] in the middle of a message that
// [Conn.ReadDataFrame] or [Conn.ReadMessage] began (its first fragments
// are held, or were returned, by that call). Nothing is dropped: the call
// that began the frame or message goes on with it.
var ErrMixedRead = errors.New("conn: receiving call of another kind in the middle of a frame or message; go on with the call that began it")

// readMode is how a frame's payload is read: where it goes.
type readMode uint8

const (
	modeNone     readMode = iota // between frames
	modeMessage                  // ReadDataFrame, ReadMessage, Close: control payloads to ctl, data through the assembler
	modeFrame                    // ReadFrame: the payload to fbuf as it arrived
	modeStream                   // a MessageReader: data payloads to the caller's p, from a message's first frame to its last
	modeClosing                  // ReadFrame returned the peer's close frame (header in h, payload in ctl): the next receiving call answers it
	modeFrameMsg                 // between frames, in a message ReadFrame began (frameMsg): ReadFrame goes on with it
)

// inFrame is the read state of a Conn, one for every receiving call: the
// frame being read and the mode that began it. Every mode reads the payload
// through payload; only where the bytes go differs. A call continues only a
// frame its own mode began: another mode's is ErrMixedRead.
type inFrame struct {
	h    frame.Header // the frame's header; after its end, the last frame's
	n    int64        // payload bytes read so far
	mode readMode     // the mode reading it; modeNone between frames

	// peerFirst, in modeClosing, reports that the peer's close frame was
	// read before this side began writing one: the peer began the closing
	// handshake, even if this side's close, sent since, answers it.
	peerFirst bool
	// closing: Close is reading the peer's answer, under its context,
	// which bounds the whole of Close, the linger included.
	closing bool
	// frameMsg: the last data frame ReadFrame returned was not final, so
	// its message has frames to come, which only ReadFrame can take.
	frameMsg bool
}

// passed records that ReadFrame read the frame with header h whole, or
// that Close dropped it: a data frame leaves its message open unless it
// is final, a control frame changes nothing.
func (f *inFrame) passed(h frame.Header) {
	if h.Opcode.IsData() {
		f.frameMsg = !h.Fin
	}
}

// claim reports ErrMixedRead when a frame that another mode began is in
// progress; a receiving call checks it before it reads. After ReadFrame
// returned the peer's close frame, it answers it instead (see closing)
// and returns the error every receiving call returns from then on.
func (c *Conn) claim(ctx context.Context, mode readMode) error {
	switch c.rf.mode {
	case modeNone, mode:
		if mode == modeFrame && c.asm.Open() {
			// ReadDataFrame or ReadMessage stopped between fragments.
			return ErrMixedRead
		}
		return nil
	case modeFrameMsg:
		if mode == modeFrame {
			return nil // recvFrame begins the next frame
		}
	case modeClosing:
		if err := c.closing(ctx); err != nil {
			return err
		}
		return c.readErr()
	}
	return ErrMixedRead
}

// closing ends the connection after the peer's close frame that ReadFrame
// returned, as if this call had read it: it answers it with the same code
// unless a close frame was sent already (by its caller, with WriteFrame,
// or by Close), waits for the peer's end of stream and closes the socket.
func (c *Conn) closing(ctx context.Context) error {
	c.rf.mode = modeNone
	return c.peerClosed(ctx, frame.Frame{Header: c.rf.h, Payload: c.ctl[:c.rf.h.Length]}, c.rf.peerFirst)
}

// endStream drops the rest of a message a [MessageReader] left unfinished,
// so that another receiving call can begin: its bytes are still checked,
// and control frames between its fragments answered, as if they were read.
// ctx is bound to the transport.
func (c *Conn) endStream(ctx context.Context) error {
	if c.rf.mode != modeStream {
		return nil
	}
	// The message's reader is superseded from the first byte dropped,
	// even if this drain is stopped before the message ends.
	c.rs.seq++
	c.rs.ended = false
	if cap(c.fbuf) < drainChunk {
		c.fbuf = make([]byte, 0, drainChunk)
	}
	for {
		// fbuf is ReadFrame's, unused while a message is streamed.
		_, err := c.streamRead(ctx, c.fbuf[:cap(c.fbuf)])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// beginFrame reads the next header and makes it the frame that mode reads.
func (c *Conn) beginFrame(mode readMode) error {
	h, err := c.rd.ReadHeader()
	if err != nil {
		return err
	}
	c.rf.h, c.rf.n, c.rf.mode = h, 0, mode
	return nil
}

// payload reads the next bytes of the current frame's payload into p; it
// is called only while some are left, so io.EOF is unexpected.
func (c *Conn) payload(p []byte) (int, error) {
	n, err := c.rd.Read(p)
	c.rf.n += int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// ReplyTimeout bounds each frame a receiving call owes the peer: the pong
// answering a ping, the close frame answering the peer's, and the close
// frame that fails the connection. A pong's write takes at most this long,
// whoever writes it (see [Conn.ReadDataFrame]); for a close frame, the
// wait for the write lock, the write and the wait for the peer to end its
// side together do. The call's context plays no part: such a frame, once
// started, is never cut.
//
// After its close frame a Conn over TCP half-closes (FIN) and reads and
// drops what the peer still sends, at most 64 KiB, until the peer ends its
// side, and only then closes the socket: a socket closed with unread
// input resets the connection, and the peer could lose the close frame.
//
// A pong or close frame is at most 131 bytes and leaves at once when the
// peer reads, so the bound only matters when the peer has stopped reading,
// or, for a close frame, when another goroutine's send holds the write
// lock. Five seconds lets such a send finish (16 MiB, the default frame
// limit, at 30 Mbit/s) while a pong that late is already worthless to a
// peer pinging to detect a dead connection, which it typically does every
// 10 to 30 seconds.
const ReplyTimeout = 5 * time.Second

// ReadDataFrame returns the next data message: websocket-client's
// recv_data_frame and recv_data. Fragments are joined (RFC 6455 §5.4)
// unless the Config set DeliverFragments, in which case each fragment is
// returned as it ends, with Fin false on all but the last. The message's
// type is the frame's Opcode.
//
// The payload is appended to dst, and the frame's Payload is the result,
// owned by the caller: pass nil for a new slice, or a buffer to reuse
// (buf[:0]), which makes receiving allocation-free once the buffer has
// grown to the largest message. An empty dst with room is not copied
// into: the Conn trades it for the buffer the message arrived in, so the
// payload comes back in memory the caller now owns and dst's array becomes
// the Conn's. Keep f.Payload (buf = f.Payload) and never read dst's array
// after the call; with that, receiving copies nothing.
//
// Control frames are handled on the way: a ping is answered with a pong
// carrying the same payload; a pong is dropped; with Config.ControlFrames
// both are also returned. A close frame is answered with a close frame
// echoing its status code, the transport is closed, and ReadDataFrame
// returns the close frame with a nil error; every later call then returns
// [ErrClosed] wrapping a *[status.CloseError] with the peer's code and
// reason.
//
// A frame or message that breaks RFC 6455 fails the connection (§7.1.7):
// a close frame with code 1002 (1007 for text that is not UTF-8, 1009 for
// a frame or message over the size limit) is sent, the transport is closed
// and the error is returned; errors.As with a *[frame.Error] gives the
// code. Text is checked as its bytes arrive, so invalid UTF-8 fails the
// connection before the rest of a long frame is read.
//
// When ctx ends, ReadDataFrame returns a [*TimeoutError] and the
// connection stays usable: the next call resumes exactly where this one
// stopped. A pong or close frame being written when ctx ends is finished
// first, within [ReplyTimeout], never cut.
//
// A ping never makes ReadDataFrame wait for the write lock: while another
// goroutine's send holds it, the pong is left to that goroutine, which
// writes it after its frame, and ReadDataFrame reads on. A pong that
// cannot be written within ReplyTimeout, because the peer does not read,
// fails the connection: the error matches [ErrReplyTimeout] and the
// transport is closed.
//
// Any other error, except mixing it with [Conn.ReadFrame] in the middle of
// a frame, ends the connection: every later call returns an error matching
// [ErrClosed] that wraps the cause.
func (c *Conn) ReadDataFrame(ctx context.Context, dst []byte) (frame.Frame, error) {
	// lockRead's own fast path, written out: a free lock taken inline.
	if ctx.Err() != nil || !c.rlock.state.CompareAndSwap(mutexUnlocked, mutexLocked) {
		if err := c.lockRead(ctx); err != nil {
			return frame.Frame{}, err
		}
	}
	// Nothing on the path of a message already buffered, or on await's
	// (which reads a socket of the standard library's), calls code of the
	// caller's or panics, so it releases the lock itself, without a
	// defer.
	for {
		if op, p, ok, err := c.takeWhole(dst); ok {
			if err != nil {
				return frame.Frame{}, c.readFailedLocked(ctx, err)
			}
			c.rlock.unlock()
			return frame.Frame{Header: frame.Header{Fin: true, Opcode: op, Length: int64(len(p) - len(dst))}, Payload: p}, nil
		}
		waited, err := c.await(ctx)
		if err != nil {
			return frame.Frame{}, c.readFailedLocked(ctx, err)
		}
		if !waited {
			return c.readDataFrameLocked(ctx, dst)
		}
	}
}

// await waits, bound to ctx, for the next message's first bytes when none
// are buffered and reading them is the receiving call's next step, and
// reports whether it waited (see the reader's Wait): a receiving call
// waits here, near the top of its stack, before its deeper path reads.
// A goroutine's stack grows to fit the deepest call it makes and, once
// grown, stays so while it waits; waiting here, a goroutine waiting for
// the next message keeps the 2 KiB stack it started with (bench/
// BenchmarkIdleConn, the waiting rows). An error is the transport's, for
// readFailed. The read lock is held.
func (c *Conn) await(ctx context.Context) (waited bool, err error) {
	if c.ended.Load() || !c.wholeOK() || c.rd.Buffered() > 0 || !onSocket(c.t) {
		// Ended, or duties before any read (a pong owed, a message
		// streamed to drop), or bytes to read at once, or a transport
		// the reader does not wait on.
		return false, nil
	}
	c.rbind.Arm(ctx)
	err = c.rd.Wait()
	c.rbind.Disarm()
	return c.rd.Buffered() > 0, err
}

// takeWhole is the shortcut of ReadDataFrame for a message of one frame
// already whole in the read buffer, which needs no I/O, so ctx is not
// bound to the transport: it appends the payload to dst and ends the call
// with whole, whose error it returns. ok is false when the next message
// is not such, and nothing is read then. The read lock is held.
func (c *Conn) takeWhole(dst []byte) (op frame.Opcode, p []byte, ok bool, err error) {
	if c.ended.Load() || !c.wholeOK() {
		return 0, nil, false, nil
	}
	if op, p, ok = c.rd.ReadBuffered(dst); !ok {
		return 0, nil, false, nil
	}
	return op, p, true, c.whole(op, dst, p)
}

// readDataFrameLocked is ReadDataFrame once the read lock is taken, which
// it releases.
func (c *Conn) readDataFrameLocked(ctx context.Context, dst []byte) (frame.Frame, error) {
	defer c.rlock.unlock()
	return c.readDataFrameHeld(ctx, dst)
}

// readDataFrameHeld is ReadDataFrame under the read lock, past the shortcut
// of takeWhole.
func (c *Conn) readDataFrameHeld(ctx context.Context, dst []byte) (frame.Frame, error) {
	if err := c.readErr(); err != nil {
		return frame.Frame{}, err
	}
	return c.readDataFrame(ctx, dst)
}

// readFailedLocked is readFailed under the read lock, which it releases.
func (c *Conn) readFailedLocked(ctx context.Context, err error) error {
	defer c.rlock.unlock()
	return c.readFailed(ctx, err)
}

// readDataFrame is ReadDataFrame under the read lock, once the connection
// is known open and its message not buffered whole. The frame's Payload
// is dst with the payload appended, or, when dst was empty with room, the
// buffer traded for it.
func (c *Conn) readDataFrame(ctx context.Context, dst []byte) (frame.Frame, error) {
	c.rbind.Arm(ctx)
	if c.wholeOK() && !c.asm.Open() {
		// Inside a fragmented message (DeliverFragments) a new message is
		// an error its header shows: read it without waiting for more.
		op, p, ok, err := c.rd.ReadWhole(dst)
		if err != nil {
			err = c.readFailed(ctx, err)
			c.rbind.Disarm()
			return frame.Frame{}, err
		}
		if ok {
			c.rbind.Disarm()
			if err := c.whole(op, dst, p); err != nil {
				return frame.Frame{}, c.readFailed(ctx, err)
			}
			return frame.Frame{Header: c.rf.h, Payload: p}, nil
		}
	}
	var f frame.Frame
	var err error
	if c.ext != nil && c.wholeOK() {
		var p []byte
		var whole bool
		if p, whole, err = c.recvDeflatedWhole(ctx, dst); whole {
			c.rbind.Disarm()
			h := &c.rf.h
			return frame.Frame{Header: frame.Header{Fin: true, Opcode: h.Opcode, Length: int64(len(p) - len(dst))}, Payload: p}, nil
		}
	}
	if err == nil {
		f, err = c.recvDataFrame(ctx)
	}
	c.rbind.Disarm()
	if err != nil {
		return frame.Frame{}, err
	}
	if len(dst) == 0 && cap(dst) > 0 && f.Opcode.IsData() {
		// An empty buffer to fill: trade it for the assembler's, which
		// holds the message, instead of copying (see fragment's Swap).
		if p := c.asm.Swap(dst); p != nil {
			f.Payload, c.msg.Payload = p, nil
			return f, nil
		}
	}
	f.Payload = append(dst, f.Payload...)
	return f, nil
}

// ReadMessages reads a burst of messages under one turn of the read lock:
// the mirror of [Conn.WriteMessages]. It waits, bounded by ctx exactly as
// [Conn.ReadDataFrame] does, for the next message and returns it in ms[0];
// then it also returns, in ms[1:], every further message already whole in
// the read buffer, up to len(ms), without waiting for more. n is the
// number of frames in ms it filled. websocket-client has no batch
// receive; this is framewire's addition for a receiver that keeps up with
// a fast peer, where the lock and the call cost as much as a small
// message.
//
// The payloads are appended to buf, one after another, and buf is
// returned grown: each ms[i].Payload is a slice of it, capped at its
// end, valid while the caller keeps the returned buffer unchanged. Pass
// the returned buffer back (buf[:0]) and the same ms, and receiving
// allocates nothing once both have grown.
//
// Each frame is what successive ReadDataFrame calls would return, with
// the same checks: the message limit, UTF-8 of text, the frame rules.
// Pings between the messages are answered; with Config.ControlFrames
// pings and pongs are returned among them. A close frame ends the burst
// unread, so that the caller handles the messages before it (and may
// still answer them) before the close is answered: the next call
// answers it and returns it alone, as ReadDataFrame does. A message that
// is not whole in the buffer, one that an extension encoded or a message
// of several frames ends the burst too; the next call reads it.
//
// When a message after the first fails (a violation, which fails the
// connection as ReadDataFrame does), ReadMessages returns the n messages
// before it with the error, as an [io.Reader] returns the bytes it read:
// handle ms[:n] before the error. An error with n == 0 is ReadDataFrame's
// for the first message. With an empty ms it returns (0, buf, nil) at
// once.
func (c *Conn) ReadMessages(ctx context.Context, ms []frame.Frame, buf []byte) (n int, _ []byte, err error) {
	if len(ms) == 0 {
		return 0, buf, nil
	}
	if err := c.lockRead(ctx); err != nil {
		return 0, buf, err
	}
	defer c.rlock.unlock()
	if _, err := c.await(ctx); err != nil {
		return 0, buf, c.readFailed(ctx, err)
	}
	return c.readMessages(ctx, ms, buf)
}

// readMessages is ReadMessages under the read lock, for a non-empty ms.
func (c *Conn) readMessages(ctx context.Context, ms []frame.Frame, buf []byte) (n int, _ []byte, err error) {
	if err := c.readErr(); err != nil {
		return 0, buf, err
	}
	// Each frame's Length is its payload's; the payloads are sliced from
	// buf once it stops growing.
	start := len(buf)
	if c.wholeOK() {
		n, buf, err = c.readBuffered(ctx, ms, buf)
	}
	if n == 0 && err == nil {
		f, err := c.readDataFrame(ctx, buf)
		if err != nil {
			return 0, buf, err
		}
		start = len(f.Payload) - int(f.Length)
		buf = f.Payload
		ms[0] = f
		n = 1
		if f.Opcode == frame.OpClose {
			ms[0].Payload = buf[start:len(buf):len(buf)]
			return 1, buf, nil
		}
	}
	for err == nil && n < len(ms) && c.wholeOK() {
		var k int
		k, buf, err = c.readBuffered(ctx, ms[n:], buf)
		n += k
		if err != nil || n == len(ms) {
			break
		}
		var f frame.Frame
		var ok bool
		if f, ok, err = c.bufferedControl(ctx); !ok {
			break
		}
		if c.cfg.controlFrames {
			buf = append(buf, f.Payload...)
			ms[n] = f
			n++
		}
	}
	for i := range ms[:n] {
		end := start + int(ms[i].Length)
		ms[i].Payload = buf[start:end:end]
		start = end
	}
	return n, buf, err
}

// readBuffered takes for ReadMessages the messages of one frame whole in
// the read buffer (see the reader's ReadBufferedFrames), up to len(ms),
// and checks each as ReadDataFrame does. Their headers are set in ms and
// their payloads appended to buf; on an error the messages before the
// failed one are kept. The caller has checked wholeOK.
func (c *Conn) readBuffered(ctx context.Context, ms []frame.Frame, buf []byte) (int, []byte, error) {
	end := len(buf)
	n, buf := c.rd.ReadBufferedFrames(ms, buf)
	if n == 0 {
		return 0, buf, nil
	}
	k, err := c.asm.WholeFrames(ms[:n], buf[end:])
	if err != nil {
		for _, m := range ms[:k] {
			end += int(m.Length)
		}
		c.rf.h = ms[k].Header
		return k, buf[:end], c.readFailed(ctx, err)
	}
	c.rf.h = ms[n-1].Header
	return n, buf, nil
}

// bufferedControl reads the next frame for ReadMessages, after messages,
// when it is a control frame whole in the read buffer other than a close
// frame, and acts on it as recvDataFrame does: a ping is answered. It
// returns the frame, its payload in ctl, and true; any other next frame
// is left unread and ok is false. A close frame is left for the next
// call, so that the caller handles the messages before it is answered,
// as it would reading them one by one.
func (c *Conn) bufferedControl(ctx context.Context) (f frame.Frame, ok bool, err error) {
	if op, ok := c.rd.ControlBuffered(); !ok || op == frame.OpClose {
		return frame.Frame{}, false, nil
	}
	if _, err := c.next(); err != nil {
		return frame.Frame{}, false, c.readFailed(ctx, err)
	}
	f = frame.Frame{Header: c.rf.h, Payload: c.ctl[:c.rf.h.Length]}
	if err := c.control(ctx); err != nil {
		return frame.Frame{}, false, err
	}
	return f, true, nil
}

// recvDeflatedWhole is the shortcut of recvDataFrame for a message of one
// final frame that the negotiated extension marked: it is decoded straight
// into dst (decodeWhole), whether or not its payload is buffered, so an
// idle connection keeps no buffer of it. p is dst with the decoded payload
// appended, and c.rf.h the frame's header. Any other frame is left begun,
// and whole false, for recvDataFrame to go on with. The caller has checked
// wholeOK.
func (c *Conn) recvDeflatedWhole(ctx context.Context, dst []byte) (p []byte, whole bool, err error) {
	if err := c.beginFrame(modeMessage); err != nil {
		return nil, false, c.readFailed(ctx, err)
	}
	h := &c.rf.h
	if h.Rsv1 && h.Fin && (h.Opcode == frame.OpText || h.Opcode == frame.OpBinary) {
		p, err := c.decodeWhole(dst)
		if err != nil {
			return nil, false, c.readFailed(ctx, err)
		}
		return p, true, nil
	}
	if err := c.begun(); err != nil {
		return nil, false, c.readFailed(ctx, err)
	}
	return nil, false, nil
}

// wholeOK reports whether the next message may be read as one frame with
// the reader's ReadBuffered or ReadWhole: no frame, pong or compressed
// message is pending and no trace is on.
func (c *Conn) wholeOK() bool {
	return c.rf.mode == modeNone && c.pong == 0 && c.dec == nil && c.trace == nil
}

// whole ends a ReadDataFrame that read a message of one frame, with opcode
// op, into p, which is dst with the payload appended: the assembler checks
// it as a message of its own ([fragment.Assembler.Whole]) without holding
// a copy, and c.rf.h becomes the frame's header. It returns the
// assembler's error, for the caller to fail the connection with
// (readFailed).
func (c *Conn) whole(op frame.Opcode, dst, p []byte) error {
	c.rf.h = frame.Header{Fin: true, Opcode: op, Length: int64(len(p) - len(dst))}
	return c.asm.Whole(op, p[len(dst):])
}

// recvDataFrame is ReadDataFrame under the read lock, with ctx bound to
// the transport. The frame's payload is the Conn's own buffer.
func (c *Conn) recvDataFrame(ctx context.Context) (frame.Frame, error) {
	if err := c.endStream(ctx); err != nil {
		return frame.Frame{}, err
	}
	for {
		if c.pong > 0 {
			if err := c.sendPong(ctx); err != nil {
				return frame.Frame{}, err
			}
		}
		if err := c.claim(ctx, modeMessage); err != nil {
			return frame.Frame{}, err
		}
		ready, err := c.next()
		if err != nil {
			return frame.Frame{}, c.readFailed(ctx, err)
		}
		if !ready {
			continue
		}
		switch op := c.rf.h.Opcode; op {
		case frame.OpPing, frame.OpPong, frame.OpClose:
			f := frame.Frame{Header: c.rf.h, Payload: c.ctl[:c.rf.h.Length]}
			if err := c.control(ctx); err != nil {
				return frame.Frame{}, err
			}
			if op == frame.OpClose || c.cfg.controlFrames {
				return f, nil
			}
		default:
			m := &c.msg
			h := frame.Header{Fin: m.Fin, Opcode: m.Opcode, Length: int64(len(m.Payload))}
			return frame.Frame{Header: h, Payload: m.Payload}, nil
		}
	}
}

// control acts on the control frame just read, whose payload is in ctl:
// a ping is answered; a close frame is answered and the connection closed.
func (c *Conn) control(ctx context.Context) error {
	switch c.rf.h.Opcode {
	case frame.OpPing:
		if !c.closeSent.Load() {
			c.pong = int32(c.rf.h.Length) + 1
			return c.sendPong(ctx)
		}
	case frame.OpClose:
		return c.peerClosed(ctx, frame.Frame{Header: c.rf.h, Payload: c.ctl[:c.rf.h.Length]}, !c.closeBegun.Load())
	}
	return nil
}

// ReadMessage returns the next text or binary message, in a new slice
// the caller owns: websocket-client's recv, without the decoding of text
// to a string. Control frames are never returned. A peer's close is
// answered and returned as an error matching *[status.CloseError] (and
// [ErrClosed]). See [Conn.ReadDataFrame] for the rest, and for reading
// into a buffer of the caller's.
func (c *Conn) ReadMessage(ctx context.Context) (frame.Opcode, []byte, error) {
	if err := c.lockRead(ctx); err != nil {
		return 0, nil, err
	}
	// A deferred unlock: the reads may call the caller's code (a Logger,
	// a Transport), which may panic.
	defer c.rlock.unlock()
	for {
		op, p, err := c.receive(ctx, nil)
		if err != nil {
			return 0, nil, err
		}
		switch op {
		case frame.OpPing, frame.OpPong:
			continue
		case frame.OpClose:
			return 0, nil, c.readErr()
		}
		return op, p, nil
	}
}

// ReadFrame returns the next frame as it arrived: websocket-client's
// recv_frame. It does not join fragments, answer pings or answer a close;
// the caller does all of that. The frame is checked like in
// [Conn.ReadDataFrame] (a violation fails the connection), but fragment
// order and UTF-8 are not. Its payload is appended to dst, as with
// ReadDataFrame. A fragmented message belongs to the kind of call that
// read its first frame: between its fragments, ReadFrame refuses a
// message that a message call began, and the message calls refuse one
// that ReadFrame began, with [ErrMixedRead]; [Conn.Close] drops the rest
// of it.
//
// The peer's close frame is returned like any other, and the Conn keeps
// it. The caller may answer it with WriteFrame, or with Close, which
// sends its own code; otherwise the next receiving call answers it with
// the peer's code. Close, or the next receiving call, then waits for the
// peer to end the stream (see [ReplyTimeout] and [Conn.Close]) and closes
// the socket: the closing handshake is complete. Receiving calls after
// the close frame return an error matching [ErrClosed] and the peer's
// *[status.CloseError]. Close returns nil when it is the call that
// answers; after a receiving call answered, it returns that same error.
//
// With compression agreed, ReadFrame still returns frames as they arrived:
// RSV1 set on a compressed message's first frame, the payload compressed
// and as long as the header says. It stays the call that shows the wire
// (websocket-client, which implements no extension, has nothing else);
// the inflated data is what the message calls return. Under context
// takeover the Conn also inflates those payloads, dropping the output, so
// that its history follows the stream and the other receiving calls can
// take over between messages: the inflated bytes count against
// MaxMessageSize (1009), data that does not inflate fails the connection
// (1007), and so does a new message inside a compressed one (1002).
// Without context takeover nothing is inflated.
func (c *Conn) ReadFrame(ctx context.Context, dst []byte) (frame.Frame, error) {
	if err := c.lockRead(ctx); err != nil {
		return frame.Frame{}, err
	}
	defer c.rlock.unlock()
	// The wait for the next frame stays in this frame, not a deeper one:
	// see await.
	if !c.asm.Open() { // else a message call's fragments: ErrMixedRead
		if _, err := c.await(ctx); err != nil {
			return frame.Frame{}, c.readFailed(ctx, err)
		}
	}
	return c.readFrameHeld(ctx, dst)
}

// readFrameHeld is ReadFrame under the read lock, past the wait: the
// Conn's and a Receiver's.
func (c *Conn) readFrameHeld(ctx context.Context, dst []byte) (frame.Frame, error) {
	f, err := c.recvFrame(ctx)
	if err != nil {
		return frame.Frame{}, err
	}
	if len(dst) == 0 && cap(dst) > 0 {
		// Trade the caller's empty buffer for the one holding the frame.
		c.fbuf = dst[:0]
		return f, nil
	}
	f.Payload = append(dst, f.Payload...)
	return f, nil
}

// recvFrame is ReadFrame under the read lock; the payload is the Conn's
// own buffer.
func (c *Conn) recvFrame(ctx context.Context) (frame.Frame, error) {
	if err := c.readErr(); err != nil {
		return frame.Frame{}, err
	}
	c.rbind.Arm(ctx)
	defer c.rbind.Disarm()
	if err := c.endStream(ctx); err != nil {
		return frame.Frame{}, err
	}
	if err := c.claim(ctx, modeFrame); err != nil {
		return frame.Frame{}, err
	}
	if c.rf.mode == modeNone || c.rf.mode == modeFrameMsg {
		// A header not read whole leaves the mode as it was: the message
		// ReadFrame began stays its own.
		if err := c.beginFrame(modeFrame); err != nil {
			return frame.Frame{}, c.readFailed(ctx, err)
		}
		if cap(c.fbuf) > maxRetainedFrame {
			c.fbuf = nil
		}
		c.fbuf = c.fbuf[:0]
	}
	for c.rf.n < c.rf.h.Length {
		if len(c.fbuf) == cap(c.fbuf) {
			// Doubles as bytes arrive, never past the frame's length,
			// which the reader checked against MaxFrameSize.
			c.fbuf = grow.Buffer(c.fbuf, 1, int(min(c.rf.h.Length, math.MaxInt)))
		}
		n, err := c.payload(c.fbuf[len(c.fbuf):cap(c.fbuf)])
		c.fbuf = c.fbuf[:len(c.fbuf)+n]
		if err != nil {
			return frame.Frame{}, c.readFailed(ctx, err)
		}
	}
	c.rf.mode = modeNone
	f := frame.Frame{Header: c.rf.h, Payload: c.fbuf}
	c.rf.passed(f.Header)
	if c.rf.frameMsg {
		c.rf.mode = modeFrameMsg
	}
	if c.ext != nil && f.Opcode.IsData() {
		if err := c.ext.skim(f.Header, f.Payload); err != nil {
			return frame.Frame{}, c.readFailed(ctx, err)
		}
	}
	if f.Opcode == frame.OpClose {
		if _, _, err := frame.ParseClose(f.Payload, c.rd.Policy); err != nil {
			return frame.Frame{}, c.readFailed(ctx, err)
		}
		// Kept for the next receiving call or Close, which answers it
		// unless the caller does. No pong is due once the peer has
		// closed (RFC 6455 §5.5.2), so ctl is free.
		c.pong = 0
		if c.ctl == nil {
			c.ctl = new([frame.MaxControlPayload]byte)
		}
		copy(c.ctl[:], f.Payload)
		c.rf.mode, c.rf.peerFirst = modeClosing, !c.closeBegun.Load()
	}
	c.trace.received(f)
	return f, nil
}

// maxRetainedFrame is the largest ReadFrame buffer kept between calls.
const maxRetainedFrame = 64 << 10

// keepTraced keeps p, bytes of the payload of the frame being read, for
// the text trace, which shows a payload's first maxTracedPayload bytes
// only: the rest is not kept.
func (c *Conn) keepTraced(p []byte) {
	if room := maxTracedPayload - len(c.tpay); room > 0 {
		c.tpay = append(c.tpay, p[:min(len(p), room)]...)
	}
}

// maxRetainedTrace is the largest copy of a payload kept for the trace
// between frames.
const maxRetainedTrace = 64 << 10

// next reads until the current frame ends and reports whether it gave
// something to return. Then c.rf.h is the frame's header; a control
// frame's payload is in c.ctl, and for a data frame c.msg is the message
// (or fragment) the Assembler completed.
func (c *Conn) next() (bool, error) {
	if c.rf.mode == modeNone {
		if err := c.begin(modeMessage); err != nil {
			return false, err
		}
	}
	h := c.rf.h
	if h.Opcode.IsControl() {
		if err := c.controlPayload(); err != nil {
			return false, err
		}
		c.rf.mode = modeNone
		return true, nil
	}
	var err error
	if c.dec != nil {
		err = c.decodePayload()
	} else {
		err = c.streamPayload()
	}
	if err != nil {
		return false, err
	}
	c.rf.mode = modeNone
	if h.Fin {
		c.dec = nil
	}
	var ready bool
	c.msg, ready, err = c.asm.End()
	if c.trace != nil {
		c.trace.received(frame.Frame{Header: h, Payload: c.tpay})
		if cap(c.tpay) > maxRetainedTrace {
			c.tpay = nil
		}
	}
	return ready, err
}

// begin reads the next header and makes it the frame that mode reads; a
// data frame is begun in the assembler, which checks the order of
// fragments, and in the extension's decoder if its message is marked.
func (c *Conn) begin(mode readMode) error {
	if err := c.beginFrame(mode); err != nil {
		return err
	}
	return c.begun()
}

// begun is begin once the header is read.
func (c *Conn) begun() error {
	if c.trace != nil {
		c.tpay = c.tpay[:0]
	}
	h := &c.rf.h
	switch {
	case !h.Opcode.IsData():
		return nil
	case h.Rsv1 || h.Rsv2 || h.Rsv3 || c.dec != nil:
		return c.beginDecoded(*h)
	}
	return c.asm.Begin(*h)
}

// controlPayload reads the rest of the current control frame's payload
// into ctl.
func (c *Conn) controlPayload() error {
	h := c.rf.h
	if c.ctl == nil {
		c.ctl = new([frame.MaxControlPayload]byte)
	}
	for c.rf.n < h.Length {
		if _, err := c.payload(c.ctl[c.rf.n:h.Length]); err != nil {
			return err
		}
	}
	c.trace.received(frame.Frame{Header: h, Payload: c.ctl[:h.Length]})
	return nil
}

// beginDecoded starts a data frame in the assembler when it carries
// reserved bits or a decoded message is open. The first frame of a message
// carrying reserved bits, which the reader allows only for the extension
// that owns them, starts the extension's decoder; the frames of that
// message then feed it. The assembler is then told no length (a negative
// one, or 0 for a frame empty on the wire, which may count
// fragment.EmptyFrameCost): the decoded one is not known, and the limit
// applies to decoded bytes.
func (c *Conn) beginDecoded(h frame.Header) error {
	if h.Opcode != frame.OpContinuation {
		c.dec = nil
		if (h.Rsv1 || h.Rsv2 || h.Rsv3) && c.ext != nil {
			c.dec = c.ext.decoder(h)
		}
	}
	if c.dec != nil {
		if err := c.dec.next((*wireSource)(c), h.Length, h.Fin); err != nil {
			return err
		}
		if h.Length > 0 {
			h.Length = -1 // the decoded length is not known
		}
	}
	return c.asm.Begin(h)
}

// streamPayload reads the rest of the current data frame's payload
// straight into the Assembler's buffer, which checks it as it arrives.
func (c *Conn) streamPayload() error {
	for c.rf.n < c.rf.h.Length {
		buf := c.asm.Grow(int(min(c.rf.h.Length-c.rf.n, math.MaxInt)))
		n, err := c.payload(buf)
		if n > 0 {
			if c.trace.payloads() {
				c.keepTraced(buf[:n])
			}
			if cerr := c.asm.Commit(n); cerr != nil {
				return cerr
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// closeGrace bounds the wait for the peer's end of stream once the
// closing handshake is complete: RFC 6455 §7.1.1 has a server close TCP
// at once after it answered, and the client wait for that "a reasonable
// time" so that the server holds TIME_WAIT. A server that keeps TCP open
// is not waited for longer: the client closes first.
const closeGrace = 500 * time.Millisecond

// peerClosed handles a close frame from the peer: it answers with the same
// code unless a close frame was sent already, then closes the socket. The
// answer is bounded by ReplyTimeout, whatever ctx, so that a writer holding
// the write lock or a peer that stopped reading cannot keep the call
// waiting. peerFirst says that the frame came before this side began
// writing its close frame (which, sent since, answered it); otherwise the
// frame answers ours, even if it was read before our write returned.
func (c *Conn) peerClosed(ctx context.Context, f frame.Frame, peerFirst bool) error {
	code, reason, err := frame.ParseClose(f.Payload, c.rd.Policy)
	if err != nil {
		return c.readFailed(ctx, err)
	}
	ce := closeErrorOf(code, reason)
	sent := c.closeSent.Load()
	if !sent && !peerFirst {
		// Our close frame's write began before the peer's close was
		// read and has not returned: its outcome tells whether the
		// peer's close answers ours. Until it is known, later calls
		// report the peer's close.
		c.record(ce, ce)
		if sent = c.awaitCloseWrite(time.Now().Add(ReplyTimeout)); sent {
			c.answeredBy(ce)
		}
	}
	if sent {
		// Our close was sent (Close or a close frame sent with
		// WriteFrame): the handshake is complete. Later calls report
		// ErrClosed, wrapping the peer's close, as an answer to ours
		// unless the peer's came first.
		var end error = &answered{ce}
		if peerFirst {
			end = ce
		}
		c.record(end, end)
		dl := time.Now().Add(closeGrace)
		if cdl, ok := ctx.Deadline(); ok && cdl.Before(dl) {
			dl = cdl
		}
		c.lingerUntil(dl)
		c.terminate(end, end)
		return nil
	}
	var buf [2]byte
	echo, _ := status.AppendClose(buf[:0], code, "")
	c.closeWith(echo, ce, ce)
	return nil
}

// answeredBy turns the errors recorded for the peer's close ce, if they
// are still those, into those of an answer to our close.
func (c *Conn) answeredBy(ce *status.CloseError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range []*error{&c.rerr, &c.werr} {
		if cc, ok := (*e).(*closedCause); ok && cc.cause == ce {
			*e = closedBy(&answered{ce})
		}
	}
}

// awaitCloseWrite waits until dl for the write of our close frame, under
// way in another goroutine, to return (it holds the write lock), and
// reports whether the frame was sent.
func (c *Conn) awaitCloseWrite(dl time.Time) bool {
	if !c.lockWriteUntil(dl) {
		return c.closeSent.Load()
	}
	sent := c.closeSent.Load()
	c.unlockWrite()
	return sent
}

// lockWriteUntil takes the write lock, waiting until dl at the latest or
// until the connection ends, and reports whether it has it.
func (c *Conn) lockWriteUntil(dl time.Time) bool {
	if c.wlock.tryLock() {
		return true
	}
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	defer cancel()
	return c.wlock.lock(ctx, &c.done) == nil
}

// readFailed turns a read error into the error returned, failing or
// closing the connection as the error requires.
func (c *Conn) readFailed(ctx context.Context, err error) error {
	if e := c.readErr(); e != nil {
		return e // closed meanwhile: CloseNow, Close or a writer's failure
	}
	if isTimeout(err) {
		if cerr := ctxErr(ctx); cerr != nil {
			return &TimeoutError{Op: "read", Ctx: cerr, Err: err}
		}
	}
	c.tpay = nil
	var fe *frame.Error
	if errors.As(err, &fe) {
		return c.fail(fe.Code, err)
	}
	lost := lostErr(err)
	c.terminate(lost, lost)
	return lost
}

// fail fails the connection (RFC 6455 §7.1.7): it sends a close frame with
// code, unless one was sent already, within ReplyTimeout, then closes the
// socket.
func (c *Conn) fail(code status.Code, cause error) error {
	err := fmt.Errorf("conn: connection failed with %v: %w", code, cause)
	var buf [2]byte
	payload, _ := status.AppendClose(buf[:0], code, "")
	c.closeWith(payload, err, err)
	return err
}

// closeWith ends the connection with a close frame: it records the errors
// later calls return (so that concurrent senders stop at once), sends a
// close frame with payload unless one was sent already or sending has
// ended (the peer reset the connection), lingers until the peer's end of
// stream, all within ReplyTimeout or until the socket is closed by another
// goroutine, and closes the socket. The caller holds the read lock.
func (c *Conn) closeWith(payload []byte, rerr, werr error) {
	sending := c.writeErr() == nil // a peer's reset ends it: no close frame can go out
	// A ping received before the peer's close frame, or before the
	// violation, is still owed its pong (RFC 6455 §5.5.2), which goes out
	// before the close frame: replying lets the write lock's holder write
	// it once later sends are refused, and replyClose writes it if the
	// holder has not.
	c.replying.Store(sending)
	c.record(rerr, werr)
	dl := time.Now().Add(ReplyTimeout)
	if sending {
		c.replyClose(payload, dl)
	}
	c.lingerUntil(dl)
	c.terminate(rerr, werr)
}

// lingerUntil ends the writing side once a close frame is sent and reads
// what the peer still sends until dl (see linger), so that the socket is
// closed with nothing unread. The caller holds the read lock and has
// recorded the errors later calls return, so no frame follows the close
// frame; the frame being read, if any, is abandoned.
func (c *Conn) lingerUntil(dl time.Time) {
	if !c.closeSent.Load() {
		return
	}
	if c.done.fired() {
		return
	}
	// A receiving call's context stops bounding the socket: the linger
	// has its own deadline, and a context that ended during it would cut
	// it short, closing the socket with input unread, which resets TCP and
	// loses what was still to be sent (the close frame among it). Close's
	// context bounds all of Close.
	if !c.rf.closing {
		c.rbind.Disarm()
	}
	linger(c.t, dl)
}

// replyClose writes a close frame with payload unless one was sent
// already. Waiting for the write lock and writing end by dl, on a
// deadline of the frame's own; the wait ends early when the socket is
// closed by another goroutine. A close frame that runs out of time is
// given up: the caller closes the socket.
func (c *Conn) replyClose(payload []byte, dl time.Time) {
	if !c.lockWriteUntil(dl) {
		return
	}
	if !c.closeSent.Load() && !c.w.cut {
		// A write cut a frame short: no frame may follow, a close
		// frame no more than a pong.
		if c.pongOwed.Load() && c.flushPong(dl) != nil {
			c.unlockWrite()
			return
		}
		c.wbind.Until(dl)
		c.put(frame.Header{Fin: true, Opcode: frame.OpClose, Masked: c.masks()}, payload)
	}
	c.unlockWrite()
}
