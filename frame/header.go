package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/framewire/ws/mask"
)

// MaxHeaderLen is the longest encoded header: 2 bytes, an 8-byte extended
// length and a 4-byte masking key.
const MaxHeaderLen = 14

// MaxControlPayload is the largest payload of a control frame (§5.5).
const MaxControlPayload = 125

// The payload length takes one of three forms (§5.2): the 7 bits of the
// second byte, a 16-bit length after them, or a 64-bit one. Max7BitLength
// and Max16BitLength are the largest lengths of the first two forms; a
// length above Max16BitLength takes the 64-bit form. websocket-client's
// LENGTH_7 is Max7BitLength+1 (126) and its LENGTH_16 Max16BitLength+1
// (65536).
const (
	Max7BitLength  = 125
	Max16BitLength = 1<<16 - 1
)

// Values of the 7-bit length field that announce a longer form.
const (
	len16Bit = 126
	len64Bit = 127
)

// Header is the fixed part of a frame (RFC 6455 §5.2): everything but the
// payload. It is a plain value; the zero Header is a non-final, unmasked
// continuation frame with an empty payload.
type Header struct {
	Fin              bool // the final fragment of its message
	Rsv1, Rsv2, Rsv3 bool // reserved bits, set only by a negotiated extension
	Opcode           Opcode
	// Masked says whether the payload on the wire is masked with Key
	// (RFC 6455 §5.3): a client's frames are, a server's are not. Key is
	// part of the header only when Masked is set.
	Masked bool
	Key    mask.Key
	// Length is the payload length of the frame this header announces.
	// A [Frame] takes its length from its payload instead: its methods
	// ignore Length.
	Length int64
}

// ErrUnencodable is returned by AppendBinary for a header that has no wire
// form: an opcode above 0xF or a negative length.
var ErrUnencodable = errors.New("frame: header cannot be encoded")

// Len returns the number of bytes AppendBinary appends for h.
func (h Header) Len() int {
	n := 2
	switch {
	case h.Length > Max16BitLength:
		n += 8
	case h.Length > Max7BitLength:
		n += 2
	}
	if h.Masked {
		n += 4
	}
	return n
}

// AppendBinary appends the encoded header to b. The payload length always
// takes its shortest form, as §5.2 requires. Reserved opcodes and bits are
// encoded as given, so a test peer can build frames that break the rules;
// [Header.Validate] is the check.
func (h Header) AppendBinary(b []byte) ([]byte, error) {
	if h.Opcode > 0xF || h.Length < 0 {
		return b, ErrUnencodable
	}
	b0 := byte(h.Opcode)
	if h.Fin {
		b0 |= 0x80
	}
	if h.Rsv1 {
		b0 |= 0x40
	}
	if h.Rsv2 {
		b0 |= 0x20
	}
	if h.Rsv3 {
		b0 |= 0x10
	}
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	switch {
	case h.Length > Max16BitLength:
		b = append(b, b0, b1|len64Bit)
		b = binary.BigEndian.AppendUint64(b, uint64(h.Length))
	case h.Length > Max7BitLength:
		b = append(b, b0, b1|len16Bit)
		b = binary.BigEndian.AppendUint16(b, uint16(h.Length))
	default:
		b = append(b, b0, b1|byte(h.Length))
	}
	if h.Masked {
		b = append(b, h.Key[:]...)
	}
	return b, nil
}

// ParseHeader decodes the header at the start of b and returns it with the
// number of bytes it took. When b holds only part of a header it returns
// io.ErrUnexpectedEOF and consumes nothing. A length not in its shortest
// form ([ErrNonMinimalLength]) or a 64-bit length with the top bit set
// ([ErrLengthOverflow]) is an error; the other rules are left to
// [Header.Validate].
func ParseHeader(b []byte) (Header, int, error) {
	var h Header
	n, err := DecodeHeader(&h, b)
	return h, n, err
}

// DecodeHeader is [ParseHeader] writing the header into *h, which it
// leaves as it was on an error. It is the one header decoder: ParseHeader,
// [ReadHeader] and the reader use it; decoding in place spares a hot loop
// the copy of a returned Header.
func DecodeHeader(h *Header, b []byte) (int, error) {
	if len(b) < 2 || len(b) < headerSize(b[1]) {
		return 0, io.ErrUnexpectedEOF
	}
	b0, b1 := b[0], b[1]
	n := 2
	length := int64(b1 & 0x7F)
	switch length {
	case len16Bit:
		length = int64(binary.BigEndian.Uint16(b[2:4]))
		n = 4
		if length <= Max7BitLength {
			return 0, nonMinimal(16, length)
		}
	case len64Bit:
		v := binary.BigEndian.Uint64(b[2:10])
		n = 10
		if v>>63 != 0 {
			return 0, ErrLengthOverflow
		}
		length = int64(v)
		if length <= Max16BitLength {
			return 0, nonMinimal(64, length)
		}
	}
	h.Fin = b0&0x80 != 0
	h.Rsv1 = b0&0x40 != 0
	h.Rsv2 = b0&0x20 != 0
	h.Rsv3 = b0&0x10 != 0
	h.Opcode = Opcode(b0 & 0x0F)
	h.Masked = b1&0x80 != 0
	h.Length = length
	h.Key = mask.Key{}
	if h.Masked {
		h.Key = mask.Key(b[n : n+4])
		n += 4
	}
	return n, nil
}

// nonMinimal is the error for a length of bits bits that fits a shorter
// form. It is kept out of ParseHeader so that the common path stays small.
//
//go:noinline
func nonMinimal(bits int, length int64) error {
	return fmt.Errorf("%w: %d bytes in a %d-bit length", ErrNonMinimalLength, length, bits)
}

// headerSize returns the size of the header whose second byte is b1.
func headerSize(b1 byte) int {
	n := 2
	switch b1 & 0x7F {
	case len16Bit:
		n += 2
	case len64Bit:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// ReadHeader reads and decodes one header from r with [ParseHeader]. It
// reads exactly the header's bytes and no more. A stream that ends inside a
// header gives io.ErrUnexpectedEOF; one that ends before it gives io.EOF.
//
// It allocates nothing when r has Peek and Discard methods, as a
// *bufio.Reader does, whose buffer it parses in place, or is an
// [io.ByteReader] such as a *bytes.Reader, which it reads byte by byte.
// From any other reader its 14-byte buffer escapes to the heap through
// Read: one small allocation per call.
func ReadHeader(r io.Reader) (Header, error) {
	switch r := r.(type) {
	case peeker:
		return readHeaderPeek(r)
	case io.ByteReader:
		return readHeaderBytes(r)
	}
	var buf [MaxHeaderLen]byte
	if _, err := io.ReadFull(r, buf[:2]); err != nil {
		return Header{}, err
	}
	n := headerSize(buf[1])
	if _, err := io.ReadFull(r, buf[2:n]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Header{}, err
	}
	h, _, err := ParseHeader(buf[:n])
	return h, err
}

// peeker is the part of *bufio.Reader that readHeaderPeek uses.
type peeker interface {
	Peek(n int) ([]byte, error)
	Discard(n int) (int, error)
}

// readHeaderPeek parses the header in r's buffer.
func readHeaderPeek(r peeker) (Header, error) {
	b, err := r.Peek(2)
	if err != nil {
		if err == io.EOF && len(b) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return Header{}, err
	}
	n := headerSize(b[1])
	if b, err = r.Peek(n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Header{}, err
	}
	h, _, err := ParseHeader(b)
	if _, derr := r.Discard(n); err == nil {
		err = derr
	}
	return h, err
}

func readHeaderBytes(r io.ByteReader) (Header, error) {
	var buf [MaxHeaderLen]byte
	n := 2
	for i := 0; i < n; i++ {
		c, err := r.ReadByte()
		if err != nil {
			if err == io.EOF && i > 0 {
				err = io.ErrUnexpectedEOF
			}
			return Header{}, err
		}
		buf[i] = c
		if i == 1 {
			n = headerSize(c)
		}
	}
	h, _, err := ParseHeader(buf[:n])
	return h, err
}

// Policy says what validation allows beyond the base protocol. The zero
// Policy is strict RFC 6455 with no extension: every reserved bit is an
// error.
type Policy struct {
	// Rsv1, Rsv2 and Rsv3 allow the matching reserved bit for a negotiated
	// extension that owns it, and only where a per-message extension may
	// set it: on the first frame of a data message (a text or binary
	// frame), never on a continuation or control frame. This is how RFC
	// 7692 (permessage-deflate, RSV1) defines its bit.
	Rsv1, Rsv2, Rsv3 bool
	// SkipUTF8Validation skips the UTF-8 check of close reasons (Python:
	// skip_utf8_validation). Close codes are checked regardless.
	SkipUTF8Validation bool
}

// rsvError is ErrReservedBits with the bits set, the frame and why they
// are refused.
func rsvError(h Header, p Policy) error {
	var bits []string
	for i, set := range [3]bool{h.Rsv1, h.Rsv2, h.Rsv3} {
		if set {
			bits = append(bits, fmt.Sprintf("RSV%d", i+1))
		}
	}
	why := "no negotiated extension defines it"
	switch {
	case (h.Rsv1 && !p.Rsv1) || (h.Rsv2 && !p.Rsv2) || (h.Rsv3 && !p.Rsv3):
	case h.Opcode.IsControl():
		why = "a control frame carries none"
	default:
		why = "only the first frame of a message carries it"
	}
	kind := h.Opcode.String()
	if h.Opcode == OpContinuation {
		kind = "continuation"
	}
	return fmt.Errorf("%w: %s on a %s frame: %s", ErrReservedBits, strings.Join(bits, "+"), kind, why)
}

// Validate checks the rules of §5.2 and §5.5 that a header alone shows:
// reserved bits not allowed by p (see [Policy]), reserved opcodes,
// fragmented control frames, control payloads over 125 bytes and 1-byte
// close payloads.
//
// Validate is the header half of websocket-client's ABNF.validate, made
// strict: websocket-client accepts fragmented close and pong frames and long
// pongs.
func (h Header) Validate(p Policy) error {
	if h.Rsv1 || h.Rsv2 || h.Rsv3 {
		first := h.Opcode == OpText || h.Opcode == OpBinary
		if !first || (h.Rsv1 && !p.Rsv1) || (h.Rsv2 && !p.Rsv2) || (h.Rsv3 && !p.Rsv3) {
			return rsvError(h, p)
		}
	}
	if h.Opcode.IsReserved() {
		return fmt.Errorf("%w %d", ErrReservedOpcode, h.Opcode)
	}
	if h.Opcode.IsControl() {
		if !h.Fin {
			return fmt.Errorf("%w: %s", ErrFragmentedControl, h.Opcode)
		}
		if h.Length > MaxControlPayload {
			return fmt.Errorf("%w: %s of %d bytes", ErrControlTooLong, h.Opcode, h.Length)
		}
		if h.Opcode == OpClose && h.Length == 1 {
			return ErrClosePayloadLength
		}
	}
	return nil
}
