package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/framewire/ws/fragment"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// errMixedRead reports a RecvFrame call while another receiving call was
// in the middle of a frame, or the reverse.
var errMixedRead = errors.New("conn: RecvFrame mixed with RecvDataFrame in the middle of a frame")

// failTimeout bounds the close frame sent when failing the connection.
const failTimeout = time.Second

// RecvDataFrame returns the next data message: websocket-client's
// recv_data_frame. Fragments are joined (RFC 6455 §5.4) unless the Dialer
// set FireContFrame, in which case each fragment is returned as it ends,
// with Fin false on all but the last. The returned frame's Payload is valid
// until the next receiving call.
//
// Control frames are handled on the way: a ping is answered with a pong
// carrying the same payload; a pong is dropped; with Dialer.ControlFrames
// both are also returned. A close frame is answered with a close frame
// echoing its status code, the socket is closed, and RecvDataFrame returns
// (frame.OpClose, the close frame, nil); every later receiving call then
// returns a *[status.CloseError] with the peer's code and reason, and
// every send [ErrClosed].
//
// A frame or message that breaks RFC 6455 fails the connection (§7.1.7):
// a close frame with code 1002 (1007 for text that is not UTF-8, 1009 for
// a frame or message over the size limit) is sent, the socket is closed and
// the error is returned; errors.As with a *[frame.Error] gives the code.
// Text is checked as its bytes arrive, so invalid UTF-8 fails the
// connection before the rest of a long frame is read.
//
// When ctx ends, RecvDataFrame returns a [*TimeoutError] and the
// connection stays usable: the next call resumes exactly where this one
// stopped.
func (c *Conn) RecvDataFrame(ctx context.Context) (frame.Opcode, frame.Frame, error) {
	if err := lock(ctx, c.rsem, "read"); err != nil {
		return 0, frame.Frame{}, err
	}
	defer func() { <-c.rsem }()
	if err := c.readErr(); err != nil {
		return 0, frame.Frame{}, err
	}
	bd := c.rbind.arm(ctx)
	defer c.rbind.disarm(bd)
	for {
		if c.pong > 0 {
			if err := c.sendPong(ctx); err != nil {
				return 0, frame.Frame{}, err
			}
		}
		if c.rin && c.rawRead {
			return 0, frame.Frame{}, errMixedRead
		}
		f, msg, ready, err := c.next()
		if err != nil {
			return 0, frame.Frame{}, c.readFailed(ctx, err)
		}
		if !ready {
			continue
		}
		switch f.Opcode {
		case frame.OpPing:
			if !c.closeSent.Load() {
				c.pong = len(f.Payload) + 1
				if err := c.sendPong(ctx); err != nil {
					return 0, frame.Frame{}, err
				}
			}
			if c.ctlFrames {
				return frame.OpPing, f, nil
			}
		case frame.OpPong:
			if c.ctlFrames {
				return frame.OpPong, f, nil
			}
		case frame.OpClose:
			if err := c.peerClosed(ctx, f); err != nil {
				return 0, frame.Frame{}, err
			}
			return frame.OpClose, f, nil
		default:
			h := frame.Header{Fin: msg.Fin, Opcode: msg.Opcode, Length: int64(len(msg.Payload))}
			return msg.Opcode, frame.Frame{Header: h, Payload: msg.Payload}, nil
		}
	}
}

// RecvData returns the next message's type and payload, valid until the
// next receiving call: websocket-client's recv_data. A peer's close is
// returned as (frame.OpClose, its payload, nil) after it was answered; see
// [Conn.RecvDataFrame].
func (c *Conn) RecvData(ctx context.Context) (frame.Opcode, []byte, error) {
	op, f, err := c.RecvDataFrame(ctx)
	return op, f.Payload, err
}

// Recv returns the next text or binary message's payload, valid until the
// next receiving call: websocket-client's recv, without the decoding of
// text to a string. Control frames are never returned. A peer's close is
// answered and returned as a *[status.CloseError].
func (c *Conn) Recv(ctx context.Context) ([]byte, error) {
	for {
		op, f, err := c.RecvDataFrame(ctx)
		if err != nil {
			return nil, err
		}
		switch op {
		case frame.OpPing, frame.OpPong:
			continue
		case frame.OpClose:
			return nil, c.readErr()
		}
		return f.Payload, nil
	}
}

// RecvFrame returns the next frame as it arrived: websocket-client's
// recv_frame. It does not join fragments, answer pings or answer a close;
// the caller does all of that. The frame is checked like in
// [Conn.RecvDataFrame] (a violation fails the connection), but fragment
// order and UTF-8 are not. Its Payload is valid until the next receiving
// call. Do not switch between RecvFrame and the other receiving calls in
// the middle of a fragmented message.
func (c *Conn) RecvFrame(ctx context.Context) (frame.Frame, error) {
	if err := lock(ctx, c.rsem, "read"); err != nil {
		return frame.Frame{}, err
	}
	defer func() { <-c.rsem }()
	if err := c.readErr(); err != nil {
		return frame.Frame{}, err
	}
	if c.rin && !c.rawRead {
		return frame.Frame{}, errMixedRead
	}
	bd := c.rbind.arm(ctx)
	defer c.rbind.disarm(bd)
	if !c.rin {
		h, err := c.rd.ReadHeader()
		if err != nil {
			return frame.Frame{}, c.readFailed(ctx, err)
		}
		c.rh, c.rin, c.rawRead, c.rn = h, true, true, 0
		if cap(c.fbuf) > maxRetainedFrame {
			c.fbuf = nil
		}
		c.fbuf = c.fbuf[:0]
	}
	for int64(len(c.fbuf)) < c.rh.Length {
		if len(c.fbuf) == cap(c.fbuf) {
			grow := int64(max(2*cap(c.fbuf), 512))
			nb := make([]byte, len(c.fbuf), min(grow, c.rh.Length))
			copy(nb, c.fbuf)
			c.fbuf = nb
		}
		n, err := c.rd.Read(c.fbuf[len(c.fbuf):cap(c.fbuf)])
		c.fbuf = c.fbuf[:len(c.fbuf)+n]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return frame.Frame{}, c.readFailed(ctx, err)
		}
	}
	c.rin, c.rawRead = false, false
	f := frame.Frame{Header: c.rh, Payload: c.fbuf}
	if f.Opcode == frame.OpClose {
		if err := frame.ValidateClose(f.Payload, c.readPolicy); err != nil {
			return frame.Frame{}, c.readFailed(ctx, err)
		}
	}
	c.trace.received(f)
	return f, nil
}

// maxRetainedFrame is the largest RecvFrame buffer kept between calls.
const maxRetainedFrame = 64 << 10

// next reads until the current frame ends. For a data frame it returns the
// Assembler's verdict (ready, and the message); for a control frame, the
// frame itself with ready set, its payload in c.ctl.
func (c *Conn) next() (frame.Frame, fragment.Message, bool, error) {
	if !c.rin {
		h, err := c.rd.ReadHeader()
		if err != nil {
			return frame.Frame{}, fragment.Message{}, false, err
		}
		c.rh, c.rin, c.rn = h, true, 0
		if c.trace != nil {
			c.tpay = c.tpay[:0]
		}
		if h.Opcode.IsData() {
			if err := c.asm.Begin(h); err != nil {
				return frame.Frame{}, fragment.Message{}, false, err
			}
		}
	}
	h := c.rh
	if h.Opcode.IsControl() {
		for c.rn < int(h.Length) {
			n, err := c.rd.Read(c.ctl[c.rn:h.Length])
			c.rn += n
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return frame.Frame{}, fragment.Message{}, false, err
			}
		}
		c.rin = false
		f := frame.Frame{Header: h, Payload: c.ctl[:h.Length]}
		c.trace.received(f)
		return f, fragment.Message{}, true, nil
	}
	if err := c.streamPayload(); err != nil {
		return frame.Frame{}, fragment.Message{}, false, err
	}
	c.rin = false
	msg, ready, err := c.asm.End()
	if c.trace != nil {
		c.trace.received(frame.Frame{Header: h, Payload: c.tpay})
	}
	return frame.Frame{Header: h}, msg, ready, err
}

// streamPayload feeds the rest of the current data frame's payload to the
// Assembler as it arrives, through a lent buffer.
func (c *Conn) streamPayload() error {
	if c.rh.Length == 0 {
		return nil
	}
	bp := writePool.Get().(*[]byte)
	defer writePool.Put(bp)
	buf := (*bp)[:cap(*bp)]
	for {
		n, err := c.rd.Read(buf)
		if n > 0 {
			if c.trace != nil {
				c.tpay = append(c.tpay, buf[:n]...)
			}
			if werr := c.asm.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
}

// sendPong sends the pong owed for the ping whose payload is in c.ctl.
func (c *Conn) sendPong(ctx context.Context) error {
	payload := c.ctl[:c.pong-1]
	err := c.send(ctx, frame.Header{Fin: true, Opcode: frame.OpPong}, payload)
	var te *TimeoutError
	if errors.As(err, &te) && !te.Broken {
		return err // still owed: the next call sends it
	}
	c.pong = 0
	if errors.Is(err, ErrClosed) && c.closeSent.Load() {
		return nil // we are closing: no pong is due
	}
	return err
}

// peerClosed handles a close frame from the peer: it answers with the same
// code unless a close frame was sent already, then closes the socket.
func (c *Conn) peerClosed(ctx context.Context, f frame.Frame) error {
	if err := frame.ValidateClose(f.Payload, c.readPolicy); err != nil {
		return c.readFailed(ctx, err)
	}
	code, reason, _ := status.ParseClose(f.Payload)
	if len(f.Payload) >= 2 {
		reason = string(f.Payload[2:]) // kept even when not UTF-8 under SkipUTF8Validation
	}
	ce := closeErrorOf(code, reason)
	if c.closeSent.Load() {
		// This is the answer to our close (Close or a close frame sent
		// with SendFrame): later calls report ErrClosed, wrapping it.
		c.terminate(closedBy(ce), closedBy(ce))
		return nil
	}
	var buf [2]byte
	echo, _ := status.AppendClose(buf[:0], code, "")
	c.send(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, echo)
	c.terminate(ce, closedBy(ce))
	return nil
}

// readFailed turns a read error into the error returned, failing or
// closing the connection as the error requires.
func (c *Conn) readFailed(ctx context.Context, err error) error {
	if e := c.readErr(); e != nil {
		return e // closed meanwhile: Abort, Shutdown, Close or a writer's failure
	}
	if isTimeout(err) {
		if cerr := ctxErr(ctx); cerr != nil {
			return &TimeoutError{Op: "read", Ctx: cerr, Err: err}
		}
	}
	var fe *frame.Error
	if errors.As(err, &fe) {
		return c.fail(fe.Code, err)
	}
	lost := lostErr(err)
	c.terminate(lost, closedBy(lost))
	return lost
}

// fail fails the connection (RFC 6455 §7.1.7): it sends a close frame with
// code, unless one was sent already, within failTimeout, then closes the
// socket.
func (c *Conn) fail(code status.Code, cause error) error {
	err := fmt.Errorf("conn: connection failed with %v: %w", code, cause)
	if !c.closeSent.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), failTimeout)
		var buf [2]byte
		payload, _ := status.AppendClose(buf[:0], code, "")
		c.send(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, payload)
		cancel()
	}
	c.terminate(closedBy(err), closedBy(err))
	return err
}
