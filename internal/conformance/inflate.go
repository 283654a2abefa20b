package conformance

import (
	"errors"
	"fmt"
)

// Errors of windowInflater. A message that breaks the agreed window or
// reaches into history it may not use is a client bug the suite fails.
var (
	errWindow    = errors.New("back-reference farther than the agreed window")
	errNoHistory = errors.New("back-reference before the start of the message, with no context takeover agreed")
	errCorrupt   = errors.New("invalid DEFLATE data")
	errInflated  = errors.New("inflated message over the fuzzing server's size limit")
)

// deflateTail is what a permessage-deflate sender strips from the end of a
// message and the receiver appends again (RFC 7692 §7.2.2): an empty
// stored block.
var deflateTail = [4]byte{0x00, 0x00, 0xff, 0xff}

// windowInflater inflates the messages of one direction of a
// permessage-deflate connection (RFC 7692 §7.2.2, RFC 1951) and checks
// what compress/flate's reader cannot: that no back-reference reaches
// farther than 2^bits bytes, and, without context takeover, that none
// reaches into an earlier message. It is a plain decoder built for
// checking, not for speed.
type windowInflater struct {
	window   int  // 1 << agreed window bits
	takeover bool // messages may refer to earlier ones

	hist     []byte // the last window bytes of earlier messages
	buf      []byte // history, then the message being inflated
	in       []byte // the message with deflateTail appended
	lit, dst huffman
	fixed    *[2]huffman
}

func newWindowInflater(bits int, takeover bool) *windowInflater {
	return &windowInflater{window: 1 << bits, takeover: takeover}
}

// inflate appends the inflated form of the compressed message src to dst.
// limit caps the inflated size. An empty src is taken as an empty message,
// as zlib-based peers take it.
func (z *windowInflater) inflate(dst, src []byte, limit int) ([]byte, error) {
	if len(src) == 0 {
		return dst, nil
	}
	z.in = append(append(z.in[:0], src...), deflateTail[:]...)
	z.buf = append(z.buf[:0], z.hist...)
	start := len(z.buf)
	r := bitReader{in: z.in}
	for {
		final, err := z.block(&r, start, limit)
		if err != nil {
			return dst, err
		}
		// Whole bytes left; the bits left of the current byte are padding
		// if the message ends here.
		left := len(r.in) - r.pos + int(r.n/8)
		if final {
			if left != len(deflateTail) {
				return dst, fmt.Errorf("%w: %d bytes after the final block", errCorrupt, left-len(deflateTail))
			}
			break
		}
		if left == 0 {
			break
		}
	}
	if z.takeover {
		keep := z.buf[max(0, len(z.buf)-z.window):]
		z.hist = append(z.hist[:0], keep...)
	}
	return append(dst, z.buf[start:]...), nil
}

// block decodes one DEFLATE block into z.buf and reports whether it was
// the final one (RFC 1951 §3.2.3).
func (z *windowInflater) block(r *bitReader, start, limit int) (bool, error) {
	final, ok := r.take(1)
	btype, ok2 := r.take(2)
	if !ok || !ok2 {
		return false, fmt.Errorf("%w: truncated block header", errCorrupt)
	}
	switch btype {
	case 0:
		return final == 1, z.stored(r, start, limit)
	case 1:
		if z.fixed == nil {
			z.fixed = fixedCodes()
		}
		return final == 1, z.codes(r, &z.fixed[0], &z.fixed[1], start, limit)
	case 2:
		if err := z.dynamic(r); err != nil {
			return false, err
		}
		return final == 1, z.codes(r, &z.lit, &z.dst, start, limit)
	}
	return false, fmt.Errorf("%w: reserved block type 3", errCorrupt)
}

// stored copies a stored block (RFC 1951 §3.2.4).
func (z *windowInflater) stored(r *bitReader, start, limit int) error {
	r.align()
	if len(r.in)-r.pos < 4 {
		return fmt.Errorf("%w: truncated stored block", errCorrupt)
	}
	n := int(r.in[r.pos]) | int(r.in[r.pos+1])<<8
	nn := int(r.in[r.pos+2]) | int(r.in[r.pos+3])<<8
	r.pos += 4
	switch {
	case n != ^nn&0xffff:
		return fmt.Errorf("%w: stored block length %#04x and its complement %#04x disagree", errCorrupt, n, nn)
	case len(r.in)-r.pos < n:
		return fmt.Errorf("%w: truncated stored block", errCorrupt)
	case len(z.buf)-start+n > limit:
		return errInflated
	}
	z.buf = append(z.buf, r.in[r.pos:r.pos+n]...)
	r.pos += n
	return nil
}

// Code length alphabet order of a dynamic block header (RFC 1951 §3.2.7).
var codeLengthOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// dynamic reads the code tables of a dynamic block (RFC 1951 §3.2.7).
func (z *windowInflater) dynamic(r *bitReader) error {
	hlit, ok1 := r.take(5)
	hdist, ok2 := r.take(5)
	hclen, ok3 := r.take(4)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("%w: truncated dynamic block header", errCorrupt)
	}
	nlit, ndist := int(hlit)+257, int(hdist)+1
	if nlit > 286 || ndist > 30 {
		return fmt.Errorf("%w: %d literal/length and %d distance codes", errCorrupt, nlit, ndist)
	}
	var lengths [286 + 30]uint8
	for i := range int(hclen) + 4 {
		v, ok := r.take(3)
		if !ok {
			return fmt.Errorf("%w: truncated code lengths", errCorrupt)
		}
		lengths[codeLengthOrder[i]] = uint8(v)
	}
	var cl huffman
	if err := cl.build(lengths[:19]); err != nil {
		return err
	}
	clear(lengths[:19])
	for i := 0; i < nlit+ndist; {
		sym, err := r.decode(&cl)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var prev uint8
		var n uint32
		var ok bool
		switch sym {
		case 16:
			if i == 0 {
				return fmt.Errorf("%w: repeat with no previous length", errCorrupt)
			}
			prev = lengths[i-1]
			n, ok = r.take(2)
			n += 3
		case 17:
			n, ok = r.take(3)
			n += 3
		default:
			n, ok = r.take(7)
			n += 11
		}
		if !ok || i+int(n) > nlit+ndist {
			return fmt.Errorf("%w: code lengths run over", errCorrupt)
		}
		for range n {
			lengths[i] = prev
			i++
		}
	}
	if lengths[256] == 0 {
		return fmt.Errorf("%w: no end-of-block code", errCorrupt)
	}
	if err := z.lit.build(lengths[:nlit]); err != nil {
		return err
	}
	return z.dst.build(lengths[nlit : nlit+ndist])
}

// Base values and extra bits of length codes 257-285 and distance codes
// 0-29 (RFC 1951 §3.2.5).
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// codes decodes the symbols of a compressed block until end of block,
// checking each back-reference against the window and the history.
func (z *windowInflater) codes(r *bitReader, lit, dist *huffman, start, limit int) error {
	for {
		sym, err := r.decode(lit)
		if err != nil {
			return err
		}
		switch {
		case sym < 256:
			if len(z.buf)-start >= limit {
				return errInflated
			}
			z.buf = append(z.buf, byte(sym))
			continue
		case sym == 256:
			return nil
		case sym > 285:
			return fmt.Errorf("%w: length code %d", errCorrupt, sym)
		}
		extra, ok := r.take(uint(lengthExtra[sym-257]))
		if !ok {
			return fmt.Errorf("%w: truncated length", errCorrupt)
		}
		n := int(lengthBase[sym-257]) + int(extra)
		dsym, err := r.decode(dist)
		if err != nil {
			return err
		}
		if dsym > 29 {
			return fmt.Errorf("%w: distance code %d", errCorrupt, dsym)
		}
		extra, ok = r.take(uint(distExtra[dsym]))
		if !ok {
			return fmt.Errorf("%w: truncated distance", errCorrupt)
		}
		d := int(distBase[dsym]) + int(extra)
		switch {
		case d > z.window:
			return fmt.Errorf("%w: distance %d, window %d", errWindow, d, z.window)
		case d > len(z.buf) && !z.takeover:
			return fmt.Errorf("%w: distance %d, %d bytes into the message", errNoHistory, d, len(z.buf)-start)
		case d > len(z.buf):
			return fmt.Errorf("%w: distance %d, only %d bytes of history", errCorrupt, d, len(z.buf))
		case len(z.buf)-start+n > limit:
			return errInflated
		}
		from := len(z.buf) - d
		if d >= n {
			z.buf = append(z.buf, z.buf[from:from+n]...)
			continue
		}
		for i := range n {
			z.buf = append(z.buf, z.buf[from+i])
		}
	}
}

// huffman is a canonical Huffman code (RFC 1951 §3.2.2) as a table indexed
// by the next maxLen bits of input, least significant first. Each entry
// holds symbol<<4 | code length; 0 marks bits that start no code.
type huffman struct {
	table  []uint16
	maxLen uint
}

// build makes the code of the given code lengths (0: symbol unused). An
// over-subscribed set of lengths is invalid; an incomplete one is allowed
// and its unused bit patterns fail when met.
func (h *huffman) build(lengths []uint8) error {
	var count [16]int
	h.maxLen = 0
	for _, l := range lengths {
		count[l]++
		h.maxLen = max(h.maxLen, uint(l))
	}
	count[0] = 0
	var next [16]int
	code, left := 0, 1
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
		if left = left<<1 - count[l]; left < 0 {
			return fmt.Errorf("%w: over-subscribed Huffman code", errCorrupt)
		}
	}
	size := 1 << h.maxLen
	if cap(h.table) < size {
		h.table = make([]uint16, size)
	}
	h.table = h.table[:size]
	clear(h.table)
	for sym, l := range lengths {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		rev := 0
		for i := range int(l) {
			rev |= (c >> i & 1) << (int(l) - 1 - i)
		}
		for i := rev; i < size; i += 1 << l {
			h.table[i] = uint16(sym)<<4 | uint16(l)
		}
	}
	return nil
}

// fixedCodes returns the fixed literal/length and distance codes (RFC 1951
// §3.2.6).
func fixedCodes() *[2]huffman {
	var lengths [288 + 30]uint8
	for i := range 288 {
		switch {
		case i < 144:
			lengths[i] = 8
		case i < 256:
			lengths[i] = 9
		case i < 280:
			lengths[i] = 7
		default:
			lengths[i] = 8
		}
	}
	for i := 288; i < len(lengths); i++ {
		lengths[i] = 5
	}
	var f [2]huffman
	f[0].build(lengths[:288]) // complete codes: no error
	f[1].build(lengths[288:])
	return &f
}

// bitReader reads the bits of a DEFLATE stream, least significant first.
type bitReader struct {
	in   []byte
	pos  int
	bits uint64
	n    uint
}

// fill loads bytes until k bits are buffered or the input ends.
func (r *bitReader) fill(k uint) {
	for r.n < k && r.pos < len(r.in) {
		r.bits |= uint64(r.in[r.pos]) << r.n
		r.pos++
		r.n += 8
	}
}

// take returns the next k bits; ok is false at the end of the input.
func (r *bitReader) take(k uint) (v uint32, ok bool) {
	if r.fill(k); r.n < k {
		return 0, false
	}
	v = uint32(r.bits & (1<<k - 1))
	r.bits >>= k
	r.n -= k
	return v, true
}

// align drops the bits left of the current byte and returns the whole
// bytes still buffered to the input.
func (r *bitReader) align() {
	r.pos -= int(r.n / 8)
	r.bits, r.n = 0, 0
}

// decode reads one symbol of h.
func (r *bitReader) decode(h *huffman) (int, error) {
	if h.maxLen == 0 {
		return 0, fmt.Errorf("%w: symbol of an empty code", errCorrupt)
	}
	r.fill(h.maxLen)
	e := h.table[r.bits&(1<<h.maxLen-1)]
	l := uint(e & 15)
	if e == 0 || l > r.n {
		return 0, fmt.Errorf("%w: bad or truncated Huffman code", errCorrupt)
	}
	r.bits >>= l
	r.n -= l
	return int(e >> 4), nil
}
