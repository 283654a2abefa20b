package frame

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/status"
)

// Frame is one WebSocket frame: a [Header] and its payload. The payload is
// held unmasked; masking happens only in the bytes [Frame.AppendBinary]
// produces. The frame's payload length is len(Payload): [Frame.AppendBinary]
// and [Frame.Validate] take it from there and ignore Header.Length, so a
// Frame built without Length is encoded and validated as its payload says.
//
// Frame is websocket-client's ABNF.
type Frame struct {
	Header
	Payload []byte
}

// New returns a final, masked frame of opcode op carrying payload, the way a
// client sends it, with Length set to len(payload) for code that reads the
// Header alone. The masking key is left zero: the connection that sends
// the frame sets a fresh one. For a fragment, set Fin to false on the
// result. New keeps payload; it does not copy it.
//
// New is websocket-client's ABNF.create_frame.
func New(op Opcode, payload []byte) Frame {
	return Frame{
		Header:  Header{Fin: true, Opcode: op, Masked: true, Length: int64(len(payload))},
		Payload: payload,
	}
}

// AppendBinary appends the frame's wire form to b: the header, with the
// length taken from the payload (Header.Length is ignored), then the
// payload masked with Key when Masked is set. f.Payload is never modified.
//
// AppendBinary is websocket-client's ABNF.format.
func (f Frame) AppendBinary(b []byte) ([]byte, error) {
	h := f.header()
	b, err := h.AppendBinary(b)
	if err != nil {
		return b, err
	}
	n := len(b)
	b = append(b, f.Payload...)
	if h.Masked {
		mask.Apply(b[n:], h.Key, 0)
	}
	return b, nil
}

// Validate checks the header rules of [Header.Validate], with the length
// taken from the payload as [Frame.AppendBinary] takes it (Header.Length is
// ignored), and, for a close frame, the payload: the code must be one a
// peer may send ([status.Code.IsValid]) and the reason must be UTF-8 unless
// p.SkipUTF8Validation is set.
//
// Validate is websocket-client's ABNF.validate, made strict.
func (f Frame) Validate(p Policy) error {
	if err := f.header().Validate(p); err != nil {
		return err
	}
	if f.Opcode == OpClose {
		return ValidateClose(f.Payload, p)
	}
	return nil
}

// header returns f's Header with the length of its payload, the header its
// wire form carries.
func (f Frame) header() Header {
	h := f.Header
	h.Length = int64(len(f.Payload))
	return h
}

// ValidateClose checks a close frame's payload as [Frame.Validate] does and
// returns an *Error carrying the close code to fail the connection with.
func ValidateClose(payload []byte, p Policy) error {
	if len(payload) > MaxControlPayload {
		return ErrControlTooLong
	}
	_, _, err := status.ParseClose(payload)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, status.ErrPayloadLength):
		return ErrClosePayloadLength
	case errors.Is(err, status.ErrInvalidCode):
		return fmt.Errorf("%w %d", ErrInvalidCloseCode, uint16(payload[0])<<8|uint16(payload[1]))
	case errors.Is(err, status.ErrInvalidUTF8):
		if p.SkipUTF8Validation {
			return nil
		}
		return ErrInvalidCloseReason
	}
	return err
}

// String formats the frame as websocket-client prints an ABNF:
// "fin=1 opcode=1 data=b'hi'", the payload shown as a Python bytes literal.
func (f Frame) String() string {
	fin := "0"
	if f.Fin {
		fin = "1"
	}
	return "fin=" + fin + " opcode=" + strconv.Itoa(int(f.Opcode)) + " data=" + QuoteBytes(f.Payload)
}

// QuoteBytes returns b written as a Python bytes literal (b'...'), the form
// websocket-client's trace output uses.
func QuoteBytes(b []byte) string {
	q := byte('\'')
	for _, c := range b {
		if c == '\'' {
			q = '"'
		}
		if c == '"' {
			q = '\''
			break
		}
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, len(b)+3)
	out = append(out, 'b', q)
	for _, c := range b {
		switch {
		case c == q || c == '\\':
			out = append(out, '\\', c)
		case c == '\t':
			out = append(out, '\\', 't')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c < 0x20 || c >= 0x7F:
			out = append(out, '\\', 'x', hex[c>>4], hex[c&0xF])
		default:
			out = append(out, c)
		}
	}
	return string(append(out, q))
}
