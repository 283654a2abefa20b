package status

import (
	"encoding/binary"
	"errors"
	"net"
	"strconv"
	"unicode/utf8"
)

// Code is a close status code (RFC 6455 §7.4). The constants below are the
// codes registered with IANA; websocket-client names them STATUS_*.
type Code uint16

// Registered close codes (RFC 6455 §7.4.1 and the IANA registry).
const (
	NormalClosure      Code = 1000 // Python: STATUS_NORMAL
	GoingAway          Code = 1001 // Python: STATUS_GOING_AWAY
	ProtocolError      Code = 1002 // Python: STATUS_PROTOCOL_ERROR
	UnsupportedData    Code = 1003 // Python: STATUS_UNSUPPORTED_DATA_TYPE
	NoStatusReceived   Code = 1005 // Python: STATUS_STATUS_NOT_AVAILABLE; never sent on the wire
	AbnormalClosure    Code = 1006 // Python: STATUS_ABNORMAL_CLOSED; never sent on the wire
	InvalidPayload     Code = 1007 // Python: STATUS_INVALID_PAYLOAD
	PolicyViolation    Code = 1008 // Python: STATUS_POLICY_VIOLATION
	MessageTooBig      Code = 1009 // Python: STATUS_MESSAGE_TOO_BIG
	MandatoryExtension Code = 1010 // Python: STATUS_INVALID_EXTENSION
	InternalError      Code = 1011 // Python: STATUS_UNEXPECTED_CONDITION
	ServiceRestart     Code = 1012 // Python: STATUS_SERVICE_RESTART
	TryAgainLater      Code = 1013 // Python: STATUS_TRY_AGAIN_LATER
	BadGateway         Code = 1014 // Python: STATUS_BAD_GATEWAY
	TLSHandshake       Code = 1015 // Python: STATUS_TLS_HANDSHAKE_ERROR; never sent on the wire
)

// MaxReasonLen is the longest close reason in bytes: a control frame carries
// at most 125 bytes, two of which are the code.
const MaxReasonLen = 123

var names = map[Code]string{
	NormalClosure:      "normal closure",
	GoingAway:          "going away",
	ProtocolError:      "protocol error",
	UnsupportedData:    "unsupported data",
	1004:               "reserved",
	NoStatusReceived:   "no status received",
	AbnormalClosure:    "abnormal closure",
	InvalidPayload:     "invalid payload data",
	PolicyViolation:    "policy violation",
	MessageTooBig:      "message too big",
	MandatoryExtension: "mandatory extension",
	InternalError:      "internal error",
	ServiceRestart:     "service restart",
	TryAgainLater:      "try again later",
	BadGateway:         "bad gateway",
	TLSHandshake:       "TLS handshake failure",
}

// String returns the code's registered name followed by its number, such as
// "normal closure (1000)". Unregistered codes read "close code 4001".
func (c Code) String() string {
	if n, ok := names[c]; ok {
		return n + " (" + strconv.Itoa(int(c)) + ")"
	}
	return "close code " + strconv.Itoa(int(c))
}

// IsValid reports whether c may be sent in a close frame. The set is
// websocket-client's acceptance set: 1000-1003, 1007-1014 and 3000-4999.
// 1004, 1005, 1006 and 1015 are reserved and never appear on the wire.
func (c Code) IsValid() bool {
	switch {
	case c >= 1000 && c <= 1003:
		return true
	case c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// Errors returned by [AppendClose] and [ParseClose].
var (
	ErrInvalidCode   = errors.New("status: invalid close code")
	ErrReasonTooLong = errors.New("status: close reason longer than 123 bytes")
	ErrInvalidUTF8   = errors.New("status: close reason is not valid UTF-8")
	ErrPayloadLength = errors.New("status: close payload of 1 byte")
)

// AppendClose appends the payload of a close frame carrying c and reason to
// b. NoStatusReceived stands for a close frame without a body and appends
// nothing (the reason must then be empty). Any other code must satisfy
// [Code.IsValid], and reason must be valid UTF-8 of at most [MaxReasonLen]
// bytes.
func AppendClose(b []byte, c Code, reason string) ([]byte, error) {
	if c == NoStatusReceived {
		if reason != "" {
			return b, ErrInvalidCode
		}
		return b, nil
	}
	if !c.IsValid() {
		return b, ErrInvalidCode
	}
	if len(reason) > MaxReasonLen {
		return b, ErrReasonTooLong
	}
	if !utf8.ValidString(reason) {
		return b, ErrInvalidUTF8
	}
	b = binary.BigEndian.AppendUint16(b, uint16(c))
	return append(b, reason...), nil
}

// ParseClose decodes the payload of a close frame. An empty payload yields
// NoStatusReceived and no reason. A 1-byte payload, a code that fails
// [Code.IsValid] or a reason that is not UTF-8 is an error; RFC 6455 §7.4
// asks the receiver to fail the connection for each. With ErrInvalidCode
// the code is returned, and with ErrInvalidUTF8 the code and the reason as
// they are, for a receiver that does not check UTF-8.
func ParseClose(p []byte) (Code, string, error) {
	switch len(p) {
	case 0:
		return NoStatusReceived, "", nil
	case 1:
		return 0, "", ErrPayloadLength
	}
	c := Code(binary.BigEndian.Uint16(p))
	if !c.IsValid() {
		return c, "", ErrInvalidCode
	}
	if !utf8.Valid(p[2:]) {
		return c, string(p[2:]), ErrInvalidUTF8
	}
	return c, string(p[2:]), nil
}

// CloseError reports that the peer closed the connection, with the code and
// reason of its close frame. It matches net.ErrClosed with errors.Is.
//
// CloseError is websocket-client's WebSocketConnectionClosedException.
type CloseError struct {
	Code   Code
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return "status: connection closed by peer: " + e.Code.String()
	}
	return "status: connection closed by peer: " + e.Code.String() + ": " + strconv.Quote(e.Reason)
}

// Unwrap returns net.ErrClosed.
func (e *CloseError) Unwrap() error { return net.ErrClosed }
