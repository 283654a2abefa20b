package pyrepr

import (
	"strconv"

	"github.com/framewire/ws/frame"
)

// AppendBytes appends b written as a Python bytes literal (b'...') to dst
// and returns the extended slice.
func AppendBytes(dst, b []byte) []byte {
	q := byte('\'')
	for _, c := range b {
		if c == '"' {
			q = '\''
			break
		}
		if c == '\'' {
			q = '"'
		}
	}
	const hex = "0123456789abcdef"
	dst = append(dst, 'b', q)
	for _, c := range b {
		switch {
		case c == q || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c < 0x20 || c >= 0x7F:
			dst = append(dst, '\\', 'x', hex[c>>4], hex[c&0xF])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, q)
}

// Bytes returns b written as a Python bytes literal (b'...').
func Bytes(b []byte) string {
	return string(AppendBytes(make([]byte, 0, len(b)+3), b))
}

// AppendFrame appends f as websocket-client's str() of an ABNF writes it,
// "fin=1 opcode=1 data=b'hi'", to dst and returns the extended slice. The
// opcode is a decimal number and the data is f.Payload.
func AppendFrame(dst []byte, f frame.Frame) []byte {
	fin := byte('0')
	if f.Fin {
		fin = '1'
	}
	dst = append(dst, "fin="...)
	dst = append(dst, fin)
	dst = append(dst, " opcode="...)
	dst = strconv.AppendUint(dst, uint64(f.Opcode), 10)
	dst = append(dst, " data="...)
	return AppendBytes(dst, f.Payload)
}

// Frame returns f as websocket-client's str() of an ABNF writes it.
func Frame(f frame.Frame) string {
	return string(AppendFrame(nil, f))
}
