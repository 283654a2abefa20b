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
		_, _, err := ParseClose(f.Payload, p)
		return err
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

// ValidateClose checks a close frame's payload as [Frame.Validate] does:
// it is [ParseClose] without the results.
func ValidateClose(payload []byte, p Policy) error {
	_, _, err := ParseClose(payload, p)
	return err
}

// ParseClose checks and decodes a close frame's payload in one pass: the
// code must be one a peer may send ([status.Code.IsValid]) and the reason
// UTF-8 unless p.SkipUTF8Validation is set, in which case a reason that is
// not UTF-8 is returned as it is. An empty payload is
// [status.NoStatusReceived] with no reason. A violation is an *Error
// carrying the close code to fail the connection with.
func ParseClose(payload []byte, p Policy) (status.Code, string, error) {
	if len(payload) > MaxControlPayload {
		return 0, "", ErrControlTooLong
	}
	code, reason, err := status.ParseClose(payload)
	switch {
	case err == nil:
		return code, reason, nil
	case errors.Is(err, status.ErrPayloadLength):
		return 0, "", ErrClosePayloadLength
	case errors.Is(err, status.ErrInvalidCode):
		return 0, "", fmt.Errorf("%w %d", ErrInvalidCloseCode, code)
	case errors.Is(err, status.ErrInvalidUTF8):
		if p.SkipUTF8Validation {
			return code, reason, nil
		}
		return 0, "", ErrInvalidCloseReason
	}
	return 0, "", err
}

// maxStringPayload is the number of payload bytes [Frame.String] shows.
const maxStringPayload = 32

// String formats the frame for debugging (fmt's %v): the opcode's name,
// fin, the RSV bits and the mask bit when set, the payload's length and
// its first 32 bytes as a Go string literal, followed by "..." when there
// are more:
//
//	text fin=true masked=true len=5 data="Hello"
//
// The masking key is not shown. websocket-client's form of a frame,
// "fin=1 opcode=1 data=b'Hello'", is what conn's Trace writes.
func (f Frame) String() string {
	b := make([]byte, 0, 64)
	b = append(b, f.Opcode.String()...)
	b = append(b, " fin="...)
	b = strconv.AppendBool(b, f.Fin)
	for _, flag := range [...]struct {
		set  bool
		name string
	}{{f.Rsv1, " rsv1=true"}, {f.Rsv2, " rsv2=true"}, {f.Rsv3, " rsv3=true"}, {f.Masked, " masked=true"}} {
		if flag.set {
			b = append(b, flag.name...)
		}
	}
	b = append(b, " len="...)
	b = strconv.AppendInt(b, int64(len(f.Payload)), 10)
	b = append(b, " data="...)
	b = strconv.AppendQuote(b, string(f.Payload[:min(len(f.Payload), maxStringPayload)]))
	if len(f.Payload) > maxStringPayload {
		b = append(b, "..."...)
	}
	return string(b)
}
