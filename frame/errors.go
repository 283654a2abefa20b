package frame

import "github.com/framewire/ws/status"

// Error is a violation of RFC 6455 found in a frame. Code is the close code
// with which a receiver fails the connection: [status.ProtocolError] for a
// malformed frame, [status.InvalidPayload] for a close reason that is not
// UTF-8, [status.MessageTooBig] for a size limit.
//
// Error is websocket-client's WebSocketProtocolException (and
// WebSocketPayloadException for 1007).
type Error struct {
	Code status.Code // the close code for the violation
	msg  string
}

// NewError returns an error carrying a close code, for packages that report
// violations of their own (such as message reassembly).
func NewError(code status.Code, msg string) *Error { return &Error{Code: code, msg: msg} }

func (e *Error) Error() string { return e.msg }

// Is makes every *Error with code 1002 match [ErrProtocol], every one with
// 1007 match [ErrInvalidPayload] and every one with 1009 match
// [ErrTooBig].
func (e *Error) Is(target error) bool {
	switch target {
	case ErrProtocol:
		return e.Code == status.ProtocolError
	case ErrInvalidPayload:
		return e.Code == status.InvalidPayload
	case ErrTooBig:
		return e.Code == status.MessageTooBig
	}
	return false
}

// Categories, matched by every more specific error of the same close code.
var (
	ErrProtocol       = &Error{status.ProtocolError, "frame: protocol error"}
	ErrInvalidPayload = &Error{status.InvalidPayload, "frame: invalid payload data"}
	ErrTooBig         = &Error{status.MessageTooBig, "frame: too big"}
)

// Specific violations. Each is an *Error; detail is added with fmt.Errorf
// and %w, so errors.Is and errors.As both work on what this package returns.
var (
	ErrReservedBits       = &Error{status.ProtocolError, "frame: rsv is not implemented, yet"}
	ErrReservedOpcode     = &Error{status.ProtocolError, "frame: invalid opcode"}
	ErrFragmentedControl  = &Error{status.ProtocolError, "frame: control frame is fragmented"}
	ErrControlTooLong     = &Error{status.ProtocolError, "frame: control frame payload longer than 125 bytes"}
	ErrNonMinimalLength   = &Error{status.ProtocolError, "frame: payload length not in its shortest form"}
	ErrLengthOverflow     = &Error{status.ProtocolError, "frame: 64-bit payload length with its top bit set"}
	ErrClosePayloadLength = &Error{status.ProtocolError, "frame: invalid close frame: 1-byte payload"}
	ErrInvalidCloseCode   = &Error{status.ProtocolError, "frame: invalid close code"}
	ErrInvalidCloseReason = &Error{status.InvalidPayload, "frame: invalid close frame: reason is not UTF-8"}
)
