package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/utf8check"
	"github.com/framewire/ws/status"
)

// errSuperseded is what a MessageReader returns once another receiving
// call has dropped the rest of its message.
var errSuperseded = fmt.Errorf("conn: message reader superseded by another receiving call: %w", io.ErrUnexpectedEOF)

// ErrWriterClosed reports a Write or Close on a [MessageWriter] that was
// closed already.
var ErrWriterClosed = errors.New("conn: message writer closed")

// ErrNotData reports a message type that is neither text nor binary.
var ErrNotData = errors.New("conn: a message is text or binary")

// streamState is the message a MessageReader streams, while the read mode
// is modeStream.
type streamState struct {
	seq    uint64 // bumped when a message reader begins and when its message ends
	inData bool   // a data frame of the message is being read
	ended  bool   // the last bump of seq was its message's end: that reader reads io.EOF
}

// MessageReader reads one received data message as a stream of bytes: its
// fragments' payloads, decoded by the negotiated extension if the message
// is marked, go straight into the caller's buffer, never into a buffer of
// the Conn's. It comes from [Conn.NextReader].
type MessageReader struct {
	c   *Conn
	ctx context.Context
	seq uint64
	eof atomic.Bool // its message ended: every Read returns io.EOF
}

// NextReader waits for the next text or binary message and returns its
// type and a reader of its bytes, which returns io.EOF at the message's
// end. Nothing is buffered: each Read takes what the peer has sent of the
// message so far, so a message of any length can be received in a small
// buffer. It is gorilla's NextReader, coder's Reader.
//
// The checks of [Conn.ReadDataFrame] apply as the bytes pass: the order of
// fragments, the size limit, counted on the message's (decoded) bytes
// (1009), and UTF-8 for text (1007 at the first byte that cannot be UTF-8,
// or at the end inside a character). A violation fails the connection and
// Read returns the error; the bytes of the Read that found it are not
// returned. Control frames between fragments are handled as ReadDataFrame
// does: pings answered, pongs dropped (never returned, whatever
// Config.ControlFrames says); a close frame is answered and Read returns an
// error matching *[status.CloseError] and [ErrClosed].
//
// ctx bounds the wait for the message and every Read of the reader: when it
// ends, the call returns a [*TimeoutError] and nothing is lost, so the
// message can be read on with [MessageReader.ReadContext] and a new
// context. Reads are serialised with the Conn's other receiving calls.
//
// A message that [Conn.ReadDataFrame] or [Conn.ReadMessage] began and
// stopped inside (at a context's end, or fragment by fragment with
// Config.DeliverFragments) is not taken over: NextReader returns
// [ErrMixedRead], and that call goes on with the message.
//
// Only one message is read at a time. A receiving call made before the
// reader reached io.EOF (NextReader, ReadMessage, ReadDataFrame, ReadFrame
// or Close) first reads and drops the rest of that message, with the same
// checks; the old reader's Read then fails with an error matching
// io.ErrUnexpectedEOF. Each call allocates the small reader; the message's
// bytes allocate nothing.
func (c *Conn) NextReader(ctx context.Context) (frame.Opcode, *MessageReader, error) {
	return c.nextReader(ctx, anyMessage)
}

// anyMessage is no opcode: nextReader takes messages of every type.
const anyMessage frame.Opcode = 0xFF

// nextReader is NextReader for a caller that takes only messages of type
// want, unless it is anyMessage: a message of another type fails the
// connection with 1003 ([ErrUnexpectedMessage]), under the read lock as
// every failure is.
func (c *Conn) nextReader(ctx context.Context, want frame.Opcode) (frame.Opcode, *MessageReader, error) {
	if err := c.lockRead(ctx); err != nil {
		return 0, nil, err
	}
	defer c.rlock.unlock()
	if !c.asm.Open() { // else ReadDataFrame's fragments: ErrMixedRead
		if _, err := c.await(ctx); err != nil {
			return 0, nil, c.readFailed(ctx, err)
		}
	}
	if err := c.readErr(); err != nil {
		return 0, nil, err
	}
	c.rbind.Arm(ctx)
	op, err := c.beginStream(ctx)
	c.rbind.Disarm()
	if err != nil {
		return 0, nil, err
	}
	if want != anyMessage && op != want {
		return 0, nil, c.fail(status.UnsupportedData, fmt.Errorf("%w: %v, want %v", ErrUnexpectedMessage, op, want))
	}
	return op, &MessageReader{c: c, ctx: ctx, seq: c.rs.seq}, nil
}

// beginStream reads frames until a data message begins and makes it the
// message streamed; control frames before it are handled on the way.
func (c *Conn) beginStream(ctx context.Context) (frame.Opcode, error) {
	if err := c.endStream(ctx); err != nil {
		return 0, err
	}
	if c.asm.Open() {
		// ReadDataFrame or ReadMessage stopped between fragments.
		return 0, ErrMixedRead
	}
	for {
		if c.pong > 0 {
			if err := c.sendPong(ctx); err != nil {
				return 0, err
			}
		}
		if err := c.claim(ctx, modeMessage); err != nil {
			return 0, err
		}
		if c.rf.mode == modeNone {
			if err := c.begin(modeMessage); err != nil {
				return 0, c.readFailed(ctx, err)
			}
		}
		h := c.rf.h
		if h.Opcode.IsData() {
			if c.rf.n > 0 {
				// ReadDataFrame stopped inside this frame.
				return 0, ErrMixedRead
			}
			c.rf.mode = modeStream
			c.rs.seq++
			c.rs.inData, c.rs.ended = true, false
			// The Assembler checks the bytes as they pass, keeping none.
			c.asm.Discard = true
			return h.Opcode, nil
		}
		if err := c.controlPayload(); err != nil {
			return 0, c.readFailed(ctx, err)
		}
		c.rf.mode = modeNone
		if err := c.control(ctx); err != nil {
			return 0, err
		}
		if h.Opcode == frame.OpClose {
			return 0, c.readErr()
		}
	}
}

// Read reads the next bytes of the message into p, within the context given
// to [Conn.NextReader]. It returns io.EOF at the message's end.
func (r *MessageReader) Read(p []byte) (int, error) {
	return r.ReadContext(r.ctx, p)
}

// ReadContext is Read within ctx instead of the context given to
// NextReader: when ctx ends, it returns a [*TimeoutError], and a later call
// resumes where this one stopped.
func (r *MessageReader) ReadContext(ctx context.Context, p []byte) (int, error) {
	if r.eof.Load() {
		return 0, io.EOF // at once, whatever ctx and the other receiving calls
	}
	c := r.c
	if err := c.lockRead(ctx); err != nil {
		return 0, err
	}
	defer c.rlock.unlock()
	if r.eof.Load() || c.rs.ended && c.rs.seq == r.seq+1 {
		// The message ended, whichever goroutine read its end.
		r.eof.Store(true)
		return 0, io.EOF
	}
	if err := c.readErr(); err != nil {
		return 0, err
	}
	if r.seq != c.rs.seq || c.rf.mode != modeStream {
		return 0, errSuperseded
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.rbind.Arm(ctx)
	n, err := c.streamRead(ctx, p)
	c.rbind.Disarm()
	if err == io.EOF {
		r.eof.Store(true)
	}
	return n, err
}

// streamRead reads the next bytes of the streamed message into p, handling
// the control frames between its fragments, and returns io.EOF (possibly
// with bytes) at its end. An error other than io.EOF has been through
// readFailed. The caller holds the read lock and has bound ctx.
func (c *Conn) streamRead(ctx context.Context, p []byte) (int, error) {
	s := &c.rs
	for {
		if s.inData {
			n, end, err := c.passPayload(p)
			if err != nil {
				return 0, c.readFailed(ctx, err)
			}
			if end {
				if err := c.endData(); err != nil {
					return 0, c.readFailed(ctx, err)
				}
				if c.rf.mode == modeNone {
					return n, io.EOF
				}
			}
			if n > 0 {
				return n, nil
			}
			continue
		}
		if c.pong > 0 {
			if err := c.sendPong(ctx); err != nil {
				return 0, err
			}
		}
		if c.rf.n == c.rf.h.Length {
			// Between frames: the next one is a fragment or a control
			// frame, read in the same mode.
			if err := c.begin(modeStream); err != nil {
				return 0, c.readFailed(ctx, err)
			}
			if c.rf.h.Opcode.IsData() {
				s.inData = true
				continue
			}
		}
		if err := c.controlPayload(); err != nil {
			return 0, c.readFailed(ctx, err)
		}
		if err := c.control(ctx); err != nil {
			return 0, err
		}
		if c.rf.h.Opcode == frame.OpClose {
			return 0, c.readErr()
		}
	}
}

// passPayload reads the next bytes of the current data frame into p,
// decoded if the message is, checks them, and reports whether the frame
// has ended.
func (c *Conn) passPayload(p []byte) (n int, end bool, err error) {
	if c.dec != nil {
		n, err = c.dec.Read(p)
		if err == io.EOF {
			end, err = true, nil
		}
	} else {
		left := c.rf.h.Length - c.rf.n
		if int64(len(p)) > left {
			p = p[:left]
		}
		if left > 0 {
			n, err = c.payload(p)
			if c.trace.payloads() {
				c.keepTraced(p[:n])
			}
		}
		end = c.rf.n == c.rf.h.Length
	}
	if n > 0 {
		if cerr := c.asm.Write(p[:n]); cerr != nil {
			return 0, false, cerr
		}
	}
	return n, end, err
}

// endData ends the current data frame; after the message's last one, the
// read mode is modeNone.
func (c *Conn) endData() error {
	h := c.rf.h
	c.rs.inData = false
	if c.trace != nil {
		c.trace.received(frame.Frame{Header: h, Payload: c.tpay})
		if cap(c.tpay) > maxRetainedTrace {
			c.tpay = nil
		}
	}
	if _, _, err := c.asm.End(); err != nil {
		return err
	}
	if !h.Fin {
		return nil
	}
	c.dec = nil
	c.rf.mode = modeNone
	c.rs.seq++
	c.rs.ended = true
	c.asm.Discard = false
	return nil
}

// MessageWriter writes one data message as a stream of bytes, in fragments
// (RFC 6455 §5.4). It comes from [Conn.NextWriter] and holds the Conn's
// write lock from then until Close.
type MessageWriter struct {
	c    *Conn
	ctx  context.Context
	op   frame.Opcode // the next frame's: the message's type, then continuation
	bp   *[]byte      // bytes not sent yet, in a buffer lent by writePool
	text bool         // check the bytes as UTF-8
	v    utf8check.Validator
	err  error // the first error, returned by every later call
	done bool  // Close was called
}

// NextWriter begins a message of type op (text or binary, else
// [ErrNotData]) and returns a writer of its bytes; Close ends the
// message. It is gorilla's NextWriter, coder's Writer.
//
// Written bytes are gathered in a buffer and sent as a fragment each time
// it fills (32 KiB), so a message of any length is sent with a bounded
// buffer; Close sends the last fragment, which may be empty. When an
// extension that encodes messages (permessage-deflate) is negotiated, the
// bytes are encoded as the buffer fills, and the encoded bytes are sent as
// a fragment each time at least 32 KiB of them are ready (all that are),
// the rest at Close: the
// message's first frame carries the extension's RSV bit (RFC 7692 §6.1).
// A message shorter than Compression.Threshold goes out uncompressed, in
// one frame, at Close; the writer holds at most 512 KiB of it to decide,
// and a message still shorter then goes out uncompressed, in fragments. Text is checked as it is written: a Write holding
// bytes that cannot be UTF-8 sends none of them and returns
// [ErrInvalidText], as does every later Write; Close then ends the
// message with the valid bytes before them, dropping a character left
// unfinished, and returns ErrInvalidText too. A character split between
// Writes is never split between fragments.
//
// Messages are atomic: from NextWriter until Close, the writer holds the
// Conn's write lock, so no frame of another message comes between this
// one's. Other sending calls find a write in flight: those that queue
// their frames then (WriteMessage, WriteFrame and Ping, with the
// exceptions [Conn.WriteFrame] lists) return, and their frames go out
// after the message (control frames before its end, see below); the others (WriteMessages, Flush, Close, other
// writers, and the exceptions) wait until Close, bounded by their ctx,
// and, when it has no deadline, by [ReplyTimeout] of one writer's hold
// (from the later of the writer's start and their own), after which they
// return [ErrMessageOpen] (a goroutine that opens a second writer before
// closing its first gets that error rather than waiting for ever); they
// keep their turn meanwhile. While a message sent
// in fragments with [Conn.WriteFrame] is open, NextWriter waits until it
// ends, as WriteFrame says. Pongs the receiving
// side owes, and control frames other goroutines queued (pings, with no
// data frame queued before them), are sent between fragments (RFC 6455
// §5.4) and at the start of the writer's next Write; those owed or queued
// while the writer is idle wait for its next Write or Close. Always Close
// a writer.
//
// ctx bounds the wait for the write lock and every Write and Close. A write
// stopped when it ends returns a [*TimeoutError]. Once a fragment has
// been sent, a message that cannot be finished leaves the connection
// unusable for data: a failed Write or Close then closes the connection,
// unless the peer reset it, which ends sending only, as for every sending
// call: what the peer sent before, such as its close frame, is still read.
// So does a first fragment stopped after its first bytes went out: its
// TimeoutError is Broken.
//
// Each call allocates the small writer; the message's bytes allocate
// nothing ([Conn.WriteMessage] and [Conn.WriteFrame] allocate nothing).
func (c *Conn) NextWriter(ctx context.Context, op frame.Opcode) (*MessageWriter, error) {
	if op != frame.OpText && op != frame.OpBinary {
		return nil, fmt.Errorf("%w: %v", ErrNotData, op)
	}
	var limit time.Time
	for {
		if err := c.lockWrite(ctx); err != nil {
			return nil, err
		}
		err := c.writeErr()
		if err == nil && c.closeSent.Load() {
			err = ErrClosed
		}
		var end <-chan struct{}
		if err == nil {
			// Frames queued before the message go out before its first
			// fragment: in the same write, or before it when ctx can end
			// (sendTaken).
			c.wbind.Arm(ctx)
			var n int
			n, end, err = c.takeFor(frame.Header{Fin: true, Opcode: op}, c.openRole(op))
			err = c.wrote(ctx, n, err)
			if err == nil && end == nil {
				err = c.sendTaken(ctx)
			}
			c.wbind.Disarm()
		}
		if err == nil && end == nil {
			break
		}
		c.unlockWrite()
		if err != nil {
			return nil, err
		}
		if err := c.awaitMessage(ctx, end, &limit); err != nil {
			return nil, err
		}
	}
	// Waits that began before are bounded as if they began now.
	c.wlock.begin(&c.streaming)
	return &MessageWriter{
		c:    c,
		ctx:  ctx,
		op:   op,
		bp:   writePool.Get().(*[]byte),
		text: op == frame.OpText && !c.cfg.skipUTF8Validation,
	}, nil
}

// Write adds p to the message, sending a fragment each time the buffer
// fills. It returns len(p) unless there is an error.
func (w *MessageWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, ErrWriterClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.text && !w.v.Write(p) {
		w.err = ErrInvalidText
		return 0, w.err
	}
	if c := w.c; c.pongOwed.Load() || c.q.pending.Load() {
		// A pong owed or a ping queued while the writer was idle goes
		// out now, not with the next fragment.
		if err := w.between(); err != nil {
			w.err = err
			return 0, err
		}
	}
	n := 0
	for len(p) > 0 {
		b := *w.bp
		k := copy(b[len(b):cap(b)], p)
		*w.bp = b[:len(b)+k]
		p, n = p[k:], n+k
		if len(*w.bp) == cap(*w.bp) {
			if err := w.flush(false); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// Close ends the message with a final frame and releases the Conn's write
// lock. A second Close returns [ErrWriterClosed].
func (w *MessageWriter) Close() error {
	if w.done {
		return ErrWriterClosed
	}
	w.done = true
	c := w.c
	defer func() {
		*w.bp = (*w.bp)[:0]
		writePool.Put(w.bp)
		w.bp = nil
		c.streaming.Store(false)
		c.unlockWrite()
	}()
	err := w.err
	if err != nil && !errors.Is(err, ErrInvalidText) {
		return err
	}
	if b := *w.bp; w.text {
		if t := partialTail(b); t > 0 {
			*w.bp, err = b[:len(b)-t], ErrInvalidText
		}
	}
	if ferr := w.flush(true); ferr != nil {
		return ferr
	}
	return err
}

// flush sends the bytes gathered as a fragment (fin: the message's last),
// or hands them to the extension's encoder; the caller holds the write
// lock. A character left unfinished at the end of text stays for the next
// fragment. A failure is kept in w.err; after a fragment was sent, it
// closes the connection, unless sending had ended (the peer's reset).
func (w *MessageWriter) flush(fin bool) error {
	c := w.c
	b := *w.bp
	k := len(b)
	if w.text && !fin {
		k -= partialTail(b)
	}
	h := frame.Header{Fin: fin, Opcode: w.op, Masked: c.masks()}
	err := c.writeErr()
	if err == nil && c.closeSent.Load() {
		err = ErrClosed
	}
	payload := b[:k]
	send := fin || c.enc == nil
	if err == nil && c.enc != nil {
		err = c.enc.write(payload)
		payload = nil
		switch {
		case err != nil:
		case fin:
			h, payload, err = c.enc.finish(h)
		default:
			// A fragment each time a buffer's worth of encoded bytes
			// is ready, with the header of the message's first frame.
			if payload = c.enc.ready(cap(b)); payload != nil {
				h, send = c.enc.header(h), true
			}
		}
		if w.op == frame.OpContinuation {
			h.Rsv1, h.Rsv2, h.Rsv3 = false, false, false // the first frame's only (RFC 7692 §6.1)
		}
	}
	if err == nil && send {
		c.wbind.Arm(w.ctx)
		n, werr := c.put(h, payload)
		err = c.wroteEncoded(w.ctx, n, werr, c.enc != nil)
		c.wbind.Disarm()
		if err == nil && !fin {
			w.op = frame.OpContinuation
			err = w.between()
		}
	}
	if err != nil {
		if c.enc != nil {
			// The message is given up: the encoder must not go on with it
			// in the next one.
			c.enc.forget()
		}
		te, isTE := err.(*TimeoutError)
		// A fragment went out, or goes out with the next write (the
		// first, kept): the message can never end, and the connection
		// closes. A timeout that closes it is Broken. A write that ended
		// sending (the peer's reset, see writeFailed) leaves the socket
		// to the receiving calls, which read what the peer sent before.
		if w.op == frame.OpContinuation || isTE && te.Kept && !fin {
			if isTE && !te.Broken {
				cp := *te
				cp.Kept, cp.Broken = false, true
				err = &cp
			}
			if c.writeErr() == nil {
				c.terminate(err, err)
			}
		}
		w.err = err
		return err
	}
	*w.bp = b[:copy(b, b[k:])]
	return nil
}

// between writes, between two fragments of the message (or before its
// first), the pong owed and the control frames queued, if any (see
// sendControl). The caller holds the write lock.
func (w *MessageWriter) between() error {
	c := w.c
	if c.pongOwed.Load() {
		if err := c.flushPong(time.Time{}); err != nil {
			return err
		}
	}
	return c.sendControl()
}

// partialTail returns the length of the character that valid UTF-8 b ends
// inside of: 0 when b ends on a character boundary.
func partialTail(b []byte) int {
	for i := 1; i <= 3 && i <= len(b); i++ {
		c := b[len(b)-i]
		switch {
		case c&0xc0 == 0x80: // a continuation byte
			continue
		case c >= 0xf0 && i < 4, c >= 0xe0 && i < 3, c >= 0xc0 && i < 2:
			return i
		}
		return 0
	}
	return 0
}
