package frame

import "strconv"

// Opcode is the 4-bit frame type of RFC 6455 §5.2 (Python: ABNF.OPCODE_*).
type Opcode uint8

// The opcodes defined by RFC 6455 §5.2. All others are reserved.
const (
	OpContinuation Opcode = 0x0 // Python: OPCODE_CONT
	OpText         Opcode = 0x1 // Python: OPCODE_TEXT
	OpBinary       Opcode = 0x2 // Python: OPCODE_BINARY
	OpClose        Opcode = 0x8 // Python: OPCODE_CLOSE
	OpPing         Opcode = 0x9 // Python: OPCODE_PING
	OpPong         Opcode = 0xA // Python: OPCODE_PONG
)

// String returns websocket-client's name of the opcode (OPCODE_MAP): cont,
// text, binary, close, ping or pong; a reserved opcode reads "opcode(0x3)".
func (o Opcode) String() string {
	switch o {
	case OpContinuation:
		return "cont"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "opcode(0x" + strconv.FormatUint(uint64(o), 16) + ")"
}

// IsControl reports whether o is a control opcode (0x8-0xF, §5.5), reserved
// control opcodes included.
func (o Opcode) IsControl() bool { return o&0x8 != 0 }

// IsData reports whether o is one of the data opcodes cont, text or binary.
func (o Opcode) IsData() bool { return o <= OpBinary }

// IsReserved reports whether o has no meaning in RFC 6455 (0x3-0x7 and
// 0xB-0xF) or does not fit in four bits.
func (o Opcode) IsReserved() bool {
	switch o {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return false
	}
	return true
}
