package conn

import (
	"context"
	"errors"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// DefaultCloseTimeout bounds [Conn.Close] when its context has no deadline:
// 3 seconds, websocket-client's close(timeout=3).
const DefaultCloseTimeout = 3 * time.Second

// Close performs the closing handshake (RFC 6455 §7.1.2): it sends a close
// frame with code and reason, waits for the peer's close frame, dropping
// any data frames that arrive meanwhile (checked, but not held: however
// large, they cost no memory), then closes the socket. It is
// websocket-client's close(status, reason, timeout).
//
// The frames other senders queued (see [Conn.WriteFrame]) go out first,
// in the close frame's write; nothing is queued after it.
//
// The code and reason are checked first (see [status.AppendClose]):
// an invalid code or a reason over 123 bytes is an error and nothing is
// sent. status.NoStatusReceived sends an empty close frame.
//
// The wait ends at ctx's deadline, or after [DefaultCloseTimeout] when ctx
// has none; the socket is closed in every case. Once the peer answered,
// Close waits at most half a second more for the server to close TCP, as
// RFC 6455 §7.1.1 has it do at once, so that it holds the TIME_WAIT. If
// another goroutine is inside a receiving call, or holds a [Receiver],
// Close lets it read the peer's answer and waits for it; data frames
// arriving while no receiving call is under way and no Receiver is held
// are Close's to drop (a holder's next Receive returns them). A
// goroutine that holds a Receiver releases it before it calls Close:
// otherwise Close waits its whole deadline for an answer only that
// goroutine could read. A read loop that must have everything the peer sends
// before its answer sends the close frame itself instead (WriteFrame with
// frame.OpClose; a NetConn's CloseWrite) and receives until the close
// frame, which completes the handshake.
// Close returns nil when the peer answered, a [*TimeoutError] when it did
// not in time, and an error matching [ErrClosed] when the connection was
// already closed or ended without the peer's answer (lost, failed, or
// closed by CloseNow), whether Close or another receiving call read it;
// that error wraps the cause, such as [ErrConnectionLost].
func (c *Conn) Close(ctx context.Context, code status.Code, reason string) error {
	var buf [frame.MaxControlPayload]byte
	payload, err := status.AppendClose(buf[:0], code, reason)
	if err != nil {
		return err
	}
	if err := c.readErr(); err != nil {
		return closedBy(err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultCloseTimeout)
		defer cancel()
	}
	if !c.closeSent.Load() {
		if err := c.send(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, payload); err != nil {
			c.terminate(ErrClosed, ErrClosed)
			if te, ok := err.(*TimeoutError); ok {
				// Close's own write timed out, and it closed the
				// connection. (Another call's timeout that closed it
				// comes wrapped in ErrClosed.)
				cp := *te
				cp.Op = "close"
				return &cp
			}
			return closedBy(err)
		}
	}
	switch lerr := c.rlock.lock(ctx, &c.done); lerr {
	case nil:
		err = c.drain(ctx)
		c.rlock.unlock()
	case errStopped:
		// Another receiving call ended the connection.
		err = c.answered()
	default:
		err = &TimeoutError{Op: "close", Ctx: lerr}
	}
	if _, ok := err.(*TimeoutError); ok && c.proto == protoHTTP2 {
		// A stream's Close waits a grace for the server to end its
		// side; a server that did not answer in time gets none, so
		// that Close ends at its deadline, as over HTTP/1.1.
		c.drop(ErrClosed, ErrClosed, func() error { return abort(c.t) })
	}
	c.terminate(ErrClosed, ErrClosed)
	if _, ok := err.(*TimeoutError); err != nil && !ok {
		err = closedBy(err) // the end Close read itself: lost or failed
	}
	return err
}

// drain reads frames until the peer's close frame; the caller holds the
// read lock.
func (c *Conn) drain(ctx context.Context) error {
	if c.readErr() != nil {
		return c.answered() // another call ended the connection
	}
	c.rbind.Arm(ctx)
	defer c.rbind.Disarm()
	if err := c.endStream(ctx); err != nil {
		if c.rf.h.Opcode == frame.OpClose && c.readErr() != nil {
			return nil // the peer's close came between the message's frames
		}
		return err
	}
	// What arrives now is dropped: it is still checked, but not held, so
	// that a peer sending large messages after our close frame costs
	// memory no longer than a few KiB. The Conn is ended after the drain.
	c.asm.Discard = true
	c.rf.closing = true
	if c.rf.mode == modeClosing {
		// ReadFrame returned the peer's close: the handshake is complete.
		return c.closing(ctx)
	}
	if c.rf.mode == modeFrame {
		// The rest of a frame ReadFrame began is of no use to anyone.
		c.rf.mode = modeNone
		c.rf.passed(c.rf.h)
		if err := c.rd.Discard(); err != nil {
			return err
		}
	}
	if c.rf.frameMsg {
		// The rest of a message ReadFrame began: the assembler, which has
		// not seen its first frames, drops it as binary, checking its
		// frames' order and size but not its text.
		c.rf.mode, c.rf.frameMsg = modeNone, false
		if err := c.asm.Begin(frame.Header{Opcode: frame.OpBinary}); err != nil {
			return c.readFailed(ctx, err)
		}
		if _, _, err := c.asm.End(); err != nil {
			return c.readFailed(ctx, err)
		}
	}
	for {
		ready, err := c.next()
		if err != nil {
			if isTimeout(err) {
				if cerr := ctxErr(ctx); cerr != nil {
					return &TimeoutError{Op: "close", Ctx: cerr, Err: err}
				}
			}
			return c.readFailed(ctx, err)
		}
		if ready && c.rf.h.Opcode == frame.OpClose {
			return c.peerClosed(ctx, frame.Frame{Header: c.rf.h, Payload: c.ctl[:c.rf.h.Length]}, false)
		}
	}
}

// answered returns nil when the connection ended with the peer's close
// frame, and otherwise the error it ended with: it was lost, failed or
// closed without the peer's answer.
func (c *Conn) answered() error {
	err := c.readErr()
	var ce *status.CloseError
	if err == nil || errors.As(err, &ce) && !errors.Is(err, ErrConnectionLost) {
		return nil
	}
	return err
}

// CloseNow closes the connection at once, without a closing handshake,
// from any goroutine: websocket-client's shutdown() and abort(). Blocked
// calls return an error matching [ErrClosed]. Unsent data is dropped: a
// TCP connection from the Dialer is reset (SO_LINGER 0), under TLS too
// (without a close_notify alert); a [Transport] with an Abort method is
// aborted, any other closed. A second call returns ErrClosed.
func (c *Conn) CloseNow() error {
	if !c.drop(ErrClosed, ErrClosed, func() error { return abort(c.t) }) {
		return ErrClosed
	}
	return nil
}
