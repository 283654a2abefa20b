package conn

import (
	"context"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/utf8check"
)

// PreparedMessage is one message checked and copied once, for sending the
// same payload to many connections with [Conn.WritePrepared]. Each Conn
// frames it as its role requires: a client masks it with a fresh key of
// its own (RFC 6455 §5.3), a server sends it unmasked. It is never
// encoded by a negotiated extension: a compressing Conn sends it
// uncompressed, which the extension allows. A PreparedMessage is
// immutable and safe for any number of goroutines and Conns at once.
type PreparedMessage struct {
	op      frame.Opcode
	payload []byte
}

// NewPreparedMessage checks p as a message of type op, as
// [Conn.WriteMessage] does (a text message must be UTF-8: [ErrInvalidText];
// a continuation is refused with [ErrNotData]), and returns it prepared for sending. p is copied: the caller may reuse
// it.
func NewPreparedMessage(op frame.Opcode, p []byte) (*PreparedMessage, error) {
	if err := messageOp(op); err != nil {
		return nil, err
	}
	if op == frame.OpText && !utf8check.Valid(p) {
		return nil, ErrInvalidText
	}
	if err := checkOut(frame.Header{Fin: true, Opcode: op}, p); err != nil {
		return nil, err
	}
	return &PreparedMessage{op: op, payload: append([]byte(nil), p...)}, nil
}

// WritePrepared sends pm as one message, in one frame; it allocates
// nothing. It is [Conn.WriteMessage] without the checks, done once by
// NewPreparedMessage, and without the negotiated extension: while another
// write is in flight, it is queued and returns at once (see
// [Conn.WriteFrame]).
func (c *Conn) WritePrepared(ctx context.Context, pm *PreparedMessage) error {
	h := frame.Header{Fin: true, Opcode: pm.op, Masked: c.masks()}
	return c.sendHeader(ctx, h, pm.payload, false, true)
}
