package conn

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/utf8check"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/status"
)

// ErrInvalidText reports a text message to send that is not UTF-8
// (RFC 6455 §5.6). Nothing was sent.
var ErrInvalidText = errors.New("conn: text message is not valid UTF-8")

// writeBufferSize is the size of a write buffer: a frame whose header and
// payload fit is written with one Write call, a longer one in pieces of
// this size. Buffers are lent by writePool for the duration of one write.
const writeBufferSize = 32 << 10

// writePool caches write buffers across connections. It is a cache only:
// no caller can observe its contents.
var writePool = sync.Pool{New: func() any {
	b := make([]byte, 0, writeBufferSize)
	return &b
}}

// WriteFrame sends one frame: websocket-client's send_frame. It fills in
// the payload length and, for a client, masks the frame with a fresh key
// (RFC 6455 §5.3); the key in f is ignored and f.Payload is not modified.
//
// The frame must be valid for RFC 6455 without extensions: no reserved bit
// or opcode, a control frame final and at most 125 bytes, a close frame's
// code and reason valid. Otherwise nothing is sent and the error is a
// *[frame.Error]. With [Config.AllowIllegalWrites] nothing is checked and
// the frame is sent as given: masked only if f.Masked says so. A close
// frame sent this way starts the closing handshake: later sends fail with
// [ErrClosed].
//
// WriteFrame may be called from several goroutines at once: each frame is
// written whole. It returns when the frame was handed to the operating
// system. See [Conn] for what a context that ends does.
func (c *Conn) WriteFrame(ctx context.Context, f frame.Frame) error {
	if c.cfg.AllowIllegalWrites {
		return c.sendHeader(ctx, f.Header, f.Payload)
	}
	f.Length = int64(len(f.Payload))
	if err := f.Header.Validate(frame.Policy{}); err != nil {
		return err
	}
	if f.Opcode == frame.OpClose {
		if err := frame.ValidateClose(f.Payload, frame.Policy{}); err != nil {
			return err
		}
	}
	return c.send(ctx, f.Header, f.Payload)
}

// WriteMessage sends p as one message of type op (websocket-client's
// send, send_text and send_binary), in one frame. A text message must be
// UTF-8 ([ErrInvalidText]) unless the Config set SkipUTF8Validation. See
// [Conn.WriteFrame].
func (c *Conn) WriteMessage(ctx context.Context, op frame.Opcode, p []byte) error {
	if op == frame.OpText && !c.cfg.SkipUTF8Validation && !utf8check.Valid(p) {
		return ErrInvalidText
	}
	return c.WriteFrame(ctx, frame.New(op, p))
}

// Ping sends a ping with payload p, at most 125 bytes. The peer's pong is
// dropped by the receiving calls, or returned by them with
// Config.ControlFrames.
func (c *Conn) Ping(ctx context.Context, p []byte) error {
	return c.WriteFrame(ctx, frame.New(frame.OpPing, p))
}

// send writes one frame under the write lock, masked if the Conn is a
// client.
func (c *Conn) send(ctx context.Context, h frame.Header, payload []byte) error {
	h.Masked = c.masks()
	return c.sendHeader(ctx, h, payload)
}

// masks reports whether the frames the Conn sends are masked: a client's
// are (RFC 6455 §5.3), a server's are not.
func (c *Conn) masks() bool { return c.cfg.Role == RoleClient }

// sendHeader writes one frame, masked only if h says so, under the write
// lock.
func (c *Conn) sendHeader(ctx context.Context, h frame.Header, payload []byte) error {
	if err := lock(ctx, &c.wlock, "write"); err != nil {
		return err
	}
	defer c.wlock.unlock()
	if err := c.writeErr(); err != nil {
		return err
	}
	if c.closeSent.Load() {
		return ErrClosed
	}
	c.wbind.Arm(ctx)
	err := c.writeLocked(ctx, h, payload)
	c.wbind.Disarm()
	return err
}

// writeLocked writes one frame, masked with a fresh key if h.Masked; the
// caller holds the write lock and has bound ctx to the socket.
func (c *Conn) writeLocked(ctx context.Context, h frame.Header, payload []byte) error {
	n, err := c.put(h, payload)
	if err == nil {
		return nil
	}
	if cerr := ctxErr(ctx); cerr != nil && isTimeout(err) {
		// Some transports (TLS) cannot resume any write after a timeout.
		broken := n > 0 || isBroken(err)
		te := &TimeoutError{Op: "write", Broken: broken, Ctx: cerr, Err: err}
		if broken {
			c.terminate(te, te)
		}
		return te
	}
	return c.writeFailed(err)
}

// put writes one frame, masked with a fresh key if h.Masked, and returns
// the number of bytes written; the caller holds the write lock.
func (c *Conn) put(h frame.Header, payload []byte) (int, error) {
	h.Length = int64(len(payload))
	switch {
	case !h.Masked:
		h.Key = mask.Key{}
	case c.cfg.MaskKey != nil:
		h.Key = c.cfg.MaskKey()
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
	n, err := c.writeFrame(h, payload)
	if err == nil && h.Opcode == frame.OpClose {
		c.closeSent.Store(true)
	}
	return n, err
}

// writeFailed turns a write error that is no timeout into the error
// returned, closing the connection.
func (c *Conn) writeFailed(err error) error {
	if e := c.writeErr(); e != nil {
		return e
	}
	lost := lostErr(err)
	c.terminate(lost, lost)
	return lost
}

// writeFrame writes the header and the masked payload, through a lent
// buffer, and returns the number of bytes written.
func (c *Conn) writeFrame(h frame.Header, payload []byte) (int, error) {
	bp := writePool.Get().(*[]byte)
	defer writePool.Put(bp)
	buf, _ := h.AppendBinary((*bp)[:0])
	hl := len(buf)
	k := min(cap(buf)-hl, len(payload))
	buf = append(buf, payload[:k]...)
	pos := 0
	if h.Masked {
		pos = mask.Apply(buf[hl:], h.Key, 0)
	}
	payload = payload[k:]
	total, err := c.t.Write(buf)
	for err == nil && len(payload) > 0 {
		k = min(cap(buf), len(payload))
		buf = append(buf[:0], payload[:k]...)
		if h.Masked {
			pos = mask.Apply(buf, h.Key, pos)
		}
		payload = payload[k:]
		var n int
		n, err = c.t.Write(buf)
		total += n
	}
	return total, err
}

// closedBy returns ErrClosed wrapping the reason the connection closed.
func closedBy(cause error) error {
	if cause == nil {
		return ErrClosed
	}
	if errors.Is(cause, ErrClosed) {
		return cause
	}
	return fmt.Errorf("%w: %w", ErrClosed, cause)
}

// lostErr is the error for a connection that ended without a close frame.
func lostErr(err error) error {
	return fmt.Errorf("%w: %w: %w", ErrConnectionLost, closeErrorOf(status.AbnormalClosure, ""), err)
}
