package deflate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"
	"unsafe"
)

// ErrCorrupt is the error, wrapped with what went wrong, of input that is
// not a valid DEFLATE stream (RFC 1951).
var ErrCorrupt = errors.New("deflate: corrupt input")

// ErrDistance is a back-reference to bytes before the start of the stream
// or farther back than the window: it wraps [ErrCorrupt].
var ErrDistance = fmt.Errorf("%w: distance beyond the history", ErrCorrupt)

// The decoding states of an Inflater: each step either completes or waits
// for input with nothing consumed, so decoding resumes at any byte.
const (
	stHeader   = iota // BFINAL and BTYPE (RFC 1951 §3.2.3)
	stStored          // LEN and NLEN of a stored block (§3.2.4)
	stCopy            // the bytes of a stored block
	stDynamic         // HLIT, HDIST and HCLEN (§3.2.7)
	stCodeLens        // the lengths of the code-length code
	stLens            // the literal/length and distance code lengths
	stSymbols         // the symbols of a Huffman block
	stMatch           // a back-reference being copied
	stEnd             // after the final block
)

// Primary table sizes: codes longer than these take the slow path.
const (
	litTableBits  = 10
	distTableBits = 8
	clenTableBits = 7
	longEntry     = 0xfff0 // a primary entry that starts a longer code
)

// huffman decodes one canonical Huffman code (RFC 1951 §3.2.2): a table
// indexed by the next bits for codes up to its width, and the canonical
// counts and symbols for longer ones. An entry is symbol<<4 | length; 0
// means no code starts with these bits.
type huffman struct {
	table []uint16
	tbits uint
	empty bool       // no code at all
	count [16]uint16 // codes of each length
	syms  []uint16   // symbols in canonical order
}

// build makes the code of the lengths. It fails for lengths that do not
// form a complete prefix code, except an empty code and a single code of
// one bit, which zlib writes and compress/flate accepts.
func (h *huffman) build(lens []uint8) bool {
	h.count = [16]uint16{}
	for _, l := range lens {
		h.count[l]++
	}
	h.count[0] = 0
	maxLen, left := 0, 1
	for l := 1; l < 16; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return false // over-subscribed
		}
		if h.count[l] > 0 {
			maxLen = l
		}
	}
	clear(h.table)
	h.empty = maxLen == 0
	if h.empty {
		return true
	}
	if left != 0 && !(maxLen == 1 && h.count[1] == 1) {
		return false // incomplete
	}
	var next [16]int
	for l, off := 1, 0; l < 16; l++ {
		next[l] = off
		off += int(h.count[l])
	}
	h.syms = h.syms[:cap(h.syms)]
	for s, l := range lens {
		if l > 0 {
			h.syms[next[l]] = uint16(s)
			next[l]++
		}
	}
	code := 0
	i := 0
	for l := 1; l <= maxLen; l++ {
		for range h.count[l] {
			s := h.syms[i]
			i++
			r := int(bits.Reverse16(uint16(code)) >> (16 - l))
			if uint(l) <= h.tbits {
				e := s<<4 | uint16(l)
				for j := r; j < len(h.table); j += 1 << l {
					h.table[j] = e
				}
			} else {
				h.table[r&(len(h.table)-1)] = longEntry
			}
			code++
		}
		code <<= 1
	}
	return true
}

// decodeLong decodes a code longer than the table's width from the n bits
// of v, walking the canonical code one bit at a time. It returns the
// symbol and its length, or length 0 when n bits are too few.
func (h *huffman) decodeLong(v uint64, n uint) (sym uint16, length uint, ok bool) {
	code, first, index := 0, 0, 0
	for l := uint(1); l < 16; l++ {
		if l > n {
			return 0, 0, true
		}
		code |= int(v>>(l-1)) & 1
		c := int(h.count[l])
		if code-first < c {
			return h.syms[index+code-first], l, true
		}
		index += c
		first = (first + c) << 1
		code <<= 1
	}
	return 0, 0, false
}

// decode returns the next symbol from the n bits of v and its length;
// length 0 means more bits are needed, and !ok a bit sequence that is no
// code.
func (h *huffman) decode(v uint64, n uint) (sym uint16, length uint, ok bool) {
	e := h.table[v&uint64(len(h.table)-1)]
	switch {
	case e == longEntry:
		return h.decodeLong(v, n)
	case e == 0:
		// Only an incomplete code has holes: an empty one, or a single
		// code of one bit, where the first bit decides.
		return 0, 0, !h.empty && n == 0
	case uint(e&15) > n:
		return 0, 0, true
	}
	return e >> 4, uint(e & 15), true
}

// An Inflater decodes a raw DEFLATE stream (RFC 1951) given in pieces of
// any size into output buffers of any size, keeping 2^WindowBits bytes of
// history: permessage-deflate's receiving side (RFC 7692 §7.2.2).
// [NewInflater] allocates the window; the decoding tables, about 4 KiB,
// come from a pool when a Huffman block begins and go back to it at
// [Inflater.Restart] or [Inflater.Reset], so an Inflater between messages
// holds its history only. Inflating allocates nothing once the pool has
// tables. An Inflater is not safe for concurrent use.
type Inflater struct {
	win   []byte // the history: a ring of 1<<WindowBits bytes
	wr    int    // where the next decoded byte goes in win
	rd    int    // the next byte of win not yet returned
	avail int    // bytes of win that are history: min(bytes decoded, len(win))

	acc  uint64 // input bits not yet decoded, least significant first
	nacc uint   // number of bits in acc

	state int
	final bool // the block being decoded is the stream's last
	left  int  // bytes left of a stored block or of a match
	dist  int  // the distance of the match being copied

	nlit, ndist, nclen, idx int
	c                       *codes // during Huffman blocks
}

// codes holds the Huffman codes of a block and the code lengths they are
// built from, with their tables in place.
type codes struct {
	lit, dst, clen huffman
	fixed          bool // lit and dst hold the fixed codes (RFC 1951 §3.2.6)
	lens           [286 + 30]uint8

	litTable  [1 << litTableBits]uint16
	dstTable  [1 << distTableBits]uint16
	clenTable [1 << clenTableBits]uint16
	litSyms   [288]uint16
	dstSyms   [32]uint16
	clenSyms  [19]uint16
}

// codesPool holds the codes of Inflaters between messages: a cache.
var codesPool = sync.Pool{New: func() any {
	c := new(codes)
	c.lit = huffman{table: c.litTable[:], tbits: litTableBits, syms: c.litSyms[:0]}
	c.dst = huffman{table: c.dstTable[:], tbits: distTableBits, syms: c.dstSyms[:0]}
	c.clen = huffman{table: c.clenTable[:], tbits: clenTableBits, syms: c.clenSyms[:0]}
	return c
}}

// NewInflater returns an Inflater with a window of 2^windowBits bytes, 8 to
// 15; it fails with [ErrConfig] outside that range.
func NewInflater(windowBits int) (*Inflater, error) {
	if windowBits < MinWindowBits || windowBits > MaxWindowBits {
		return nil, fmt.Errorf("%w: window bits %d outside %d to %d", ErrConfig, windowBits, MinWindowBits, MaxWindowBits)
	}
	return &Inflater{win: make([]byte, 1<<windowBits)}, nil
}

// WindowBits reports the base-2 logarithm of the history kept.
func (f *Inflater) WindowBits() int { return bits.Len(uint(len(f.win))) - 1 }

// Size reports the bytes the Inflater holds: the struct, its window and,
// inside a message, its tables.
func (f *Inflater) Size() int {
	n := int(unsafe.Sizeof(*f)) + cap(f.win)
	if f.c != nil {
		n += int(unsafe.Sizeof(*f.c))
	}
	return n
}

// Reset forgets the history and starts a new stream: permessage-deflate
// without context takeover resets before each message.
func (f *Inflater) Reset() {
	f.wr, f.rd, f.avail = 0, 0, 0
	f.Restart()
}

// Restart starts a new stream that keeps the history: a message that ended
// with a final block leaves the next message of a connection with context
// takeover its history (RFC 7692 §7.2.3.4). Bits not decoded are dropped,
// and the tables go back to the pool.
func (f *Inflater) Restart() {
	f.acc, f.nacc = 0, 0
	f.state, f.final, f.left = stHeader, false, 0
	if f.c != nil {
		codesPool.Put(f.c)
		f.c = nil
	}
}

// Idle reports whether the stream is between blocks, with every decoded
// byte returned and no bit of the input unread: where a message ended by a
// sync flush leaves it (RFC 7692 §7.2.2), since the empty stored block of
// the flush ends on a byte boundary. Bits left over mean the input ended
// inside the header of a further block.
func (f *Inflater) Idle() bool {
	return f.state == stHeader && f.nacc == 0 && f.rd == f.wr
}

// Inflate decodes src into dst and returns the bytes written to dst and
// the bytes of src consumed. It stops when dst is full or src is
// exhausted: bits of src it cannot decode yet are kept, so the next call
// resumes with the following input. After the stream's final block, once
// every byte is returned, it returns io.EOF and consumes nothing more. An
// invalid stream fails with an error that wraps [ErrCorrupt], and the
// Inflater must then be Reset.
func (f *Inflater) Inflate(dst, src []byte) (n, used int, err error) {
	for {
		if f.rd < f.wr {
			k := copy(dst[n:], f.win[f.rd:f.wr])
			n += k
			f.rd += k
			if f.rd < f.wr {
				return n, used, nil
			}
		}
		if f.wr == len(f.win) {
			f.wr, f.rd = 0, 0
		}
		if n == len(dst) && len(dst) > 0 {
			return n, used, nil
		}
		if f.state == stEnd {
			return n, used, io.EOF
		}
		wr, nacc, state, left, idx := f.wr, f.nacc, f.state, f.left, f.idx
		k, err := f.step(src[used:])
		used += k
		if err != nil {
			return n, used, err
		}
		stuck := k == 0 && wr == f.wr && nacc == f.nacc && state == f.state && left == f.left && idx == f.idx
		if stuck && f.rd == f.wr {
			return n, used, nil
		}
	}
}

// fill moves whole bytes of src into acc until it holds at least 56 bits
// or src runs out, and returns the bytes taken.
func (f *Inflater) fill(src []byte) int {
	k := 0
	for f.nacc < 56 && k < len(src) {
		f.acc |= uint64(src[k]) << f.nacc
		f.nacc += 8
		k++
	}
	return k
}

func (f *Inflater) drop(n uint) {
	f.acc >>= n
	f.nacc -= n
}

// step decodes what it can into win from acc and src, and returns the
// bytes of src consumed.
func (f *Inflater) step(src []byte) (used int, err error) {
	used = f.fill(src)
	for {
		switch f.state {
		case stHeader:
			if f.nacc < 3 {
				return used, nil
			}
			f.final = f.acc&1 != 0
			typ := f.acc >> 1 & 3
			f.drop(3)
			switch typ {
			case 0:
				f.drop(f.nacc % 8)
				f.state = stStored
			case 1:
				if f.c == nil {
					f.c = codesPool.Get().(*codes)
				}
				if !f.c.fixed {
					f.c.buildFixed()
				}
				f.state = stSymbols
			case 2:
				if f.c == nil {
					f.c = codesPool.Get().(*codes)
				}
				f.state = stDynamic
			default:
				return used, fmt.Errorf("%w: block type 3", ErrCorrupt)
			}
		case stStored:
			if f.nacc < 32 {
				used += f.fill(src[used:])
				if f.nacc < 32 {
					return used, nil
				}
			}
			v := uint32(f.acc)
			f.drop(32)
			if uint16(v) != ^uint16(v>>16) {
				return used, fmt.Errorf("%w: stored block length and its complement disagree", ErrCorrupt)
			}
			f.left, f.state = int(uint16(v)), stCopy
		case stCopy:
			for f.left > 0 && f.wr < len(f.win) {
				if f.nacc >= 8 {
					f.put(byte(f.acc))
					f.drop(8)
					f.left--
					continue
				}
				k := copy(f.win[f.wr:min(len(f.win), f.wr+f.left)], src[used:])
				if k == 0 {
					return used, nil
				}
				f.advance(k)
				f.left -= k
				used += k
			}
			if f.left > 0 {
				return used, nil
			}
			f.endBlock()
		case stDynamic:
			if f.nacc < 14 {
				return used, nil
			}
			f.nlit = int(f.acc&31) + 257
			f.ndist = int(f.acc>>5&31) + 1
			f.nclen = int(f.acc>>10&15) + 4
			f.drop(14)
			if f.nlit > 286 || f.ndist > 30 {
				return used, fmt.Errorf("%w: %d literal/length and %d distance codes", ErrCorrupt, f.nlit, f.ndist)
			}
			f.c.lens = [len(f.c.lens)]uint8{}
			f.idx, f.state, f.c.fixed = 0, stCodeLens, false
		case stCodeLens:
			for f.idx < f.nclen {
				if f.nacc < 3 {
					used += f.fill(src[used:])
					if f.nacc < 3 {
						return used, nil
					}
				}
				f.c.lens[codeLenOrder[f.idx]] = uint8(f.acc & 7)
				f.drop(3)
				f.idx++
			}
			if !f.c.clen.build(f.c.lens[:19]) {
				return used, fmt.Errorf("%w: invalid code-length code", ErrCorrupt)
			}
			f.c.lens = [len(f.c.lens)]uint8{}
			f.idx, f.state = 0, stLens
		case stLens:
			if err := f.readLens(src, &used); err != nil || f.state == stLens {
				return used, err
			}
		case stSymbols:
			k, err := f.symbols(src[used:])
			used += k
			if err != nil || f.state == stSymbols {
				return used, err
			}
		case stMatch:
			f.copyMatch()
			if f.left > 0 {
				return used, nil
			}
			f.state = stSymbols
		case stEnd:
			return used, nil
		}
	}
}

// readLens decodes the code lengths of a dynamic block and builds its
// codes.
func (f *Inflater) readLens(src []byte, used *int) error {
	n := f.nlit + f.ndist
	for f.idx < n {
		if f.nacc < 7+7 {
			*used += f.fill(src[*used:])
		}
		sym, l, ok := f.c.clen.decode(f.acc, f.nacc)
		if !ok {
			return fmt.Errorf("%w: invalid code length symbol", ErrCorrupt)
		}
		if l == 0 {
			return nil
		}
		var extra uint
		rep, val := 1, uint8(sym)
		switch sym {
		case 16:
			if f.idx == 0 {
				return fmt.Errorf("%w: repeat of no code length", ErrCorrupt)
			}
			extra, rep, val = 2, 3, f.c.lens[f.idx-1]
		case 17:
			extra, rep, val = 3, 3, 0
		case 18:
			extra, rep, val = 7, 11, 0
		}
		if l+extra > f.nacc {
			return nil
		}
		rep += int(f.acc >> l & (1<<extra - 1))
		f.drop(l + extra)
		if f.idx+rep > n {
			return fmt.Errorf("%w: code lengths repeat past the end", ErrCorrupt)
		}
		for range rep {
			f.c.lens[f.idx] = val
			f.idx++
		}
	}
	if !f.c.lit.build(f.c.lens[:f.nlit]) || !f.c.dst.build(f.c.lens[f.nlit:n]) {
		return fmt.Errorf("%w: invalid Huffman code lengths", ErrCorrupt)
	}
	f.state = stSymbols
	return nil
}

// buildFixed makes lit and dst the fixed codes (RFC 1951 §3.2.6).
func (c *codes) buildFixed() {
	// All 32 distance codes: the two unused complete the code, and are
	// rejected when they appear.
	var dist [32]uint8
	for s := range dist {
		dist[s] = 5
	}
	c.lit.build(fixedLitLen[:])
	c.dst.build(dist[:])
	c.fixed = true
}

func (f *Inflater) endBlock() {
	if f.final {
		f.state = stEnd
	} else {
		f.state = stHeader
	}
}

// put appends one byte to the window.
func (f *Inflater) put(b byte) {
	f.win[f.wr] = b
	f.advance(1)
}

func (f *Inflater) advance(k int) {
	f.wr += k
	f.avail = min(f.avail+k, len(f.win))
}

// copyMatch copies as much of the current match as fits before the end
// of the window.
func (f *Inflater) copyMatch() {
	win := f.win
	for f.left > 0 && f.wr < len(win) {
		from := f.wr - f.dist
		var k int
		if from < 0 {
			// The match starts before the ring's wrap point.
			from += len(win)
			k = copy(win[f.wr:min(len(win), f.wr+f.left)], win[from:])
		} else {
			// Overlapping: win[from:wr] repeats with period dist, and
			// each copy makes the source longer.
			end := min(len(win), f.wr+f.left)
			k = 0
			for f.wr+k < end {
				k += copy(win[f.wr+k:end], win[from:f.wr+k])
			}
		}
		f.advance(k)
		f.left -= k
	}
}

// symbols decodes the symbols of a Huffman block into win until the block
// ends, win is full, or the input runs short. It returns the bytes of src
// consumed. The decoder's state lives in locals, written back on return.
func (f *Inflater) symbols(src []byte) (used int, err error) {
	win := f.win
	lit, dst := &f.c.lit, &f.c.dst
	acc, nacc, wr := f.acc, f.nacc, f.wr
	for {
		// Refill: with eight bytes of input, load them at once, leaving
		// in acc's top bits copies of bits not yet consumed; they are
		// identical to what a later load puts there, and masked off on
		// return.
		if used+8 <= len(src) {
			acc |= binary.LittleEndian.Uint64(src[used:]) << nacc
			used += int(63-nacc) >> 3
			nacc |= 56
		} else {
			acc &= 1<<nacc - 1
			for nacc < 56 && used < len(src) {
				acc |= uint64(src[used]) << nacc
				nacc += 8
				used++
			}
		}
		if wr == len(win) {
			break
		}
		// The table gives most symbols; decode handles the rest.
		e := lit.table[acc&(1<<litTableBits-1)]
		l := uint(e & 15)
		sym := e >> 4
		if l == 0 || l > nacc {
			var ok bool
			if sym, l, ok = lit.decode(acc, nacc); !ok {
				err = fmt.Errorf("%w: invalid literal/length code", ErrCorrupt)
				break
			}
			if l == 0 {
				break
			}
		}
		if sym < 256 {
			acc >>= l
			nacc -= l
			win[wr] = byte(sym)
			wr++
			continue
		}
		if sym == 256 {
			acc >>= l
			nacc -= l
			f.endBlock()
			break
		}
		sym -= 257
		if sym >= 29 {
			err = fmt.Errorf("%w: length code %d", ErrCorrupt, sym+257)
			break
		}
		// The length and the distance are decoded together or not at
		// all: at most 15+5+15+13 bits.
		le := uint(lengthExtra[sym])
		if l+le > nacc {
			break
		}
		length := int(lengthBase[sym]) + 3 + int(acc>>l&(1<<le-1))
		v, n := acc>>(l+le), nacc-l-le
		de := dst.table[v&(1<<distTableBits-1)]
		dl := uint(de & 15)
		dsym := de >> 4
		if dl == 0 || dl > n {
			var ok bool
			if dsym, dl, ok = dst.decode(v, n); !ok {
				err = fmt.Errorf("%w: invalid distance code", ErrCorrupt)
				break
			}
			if dl == 0 {
				break
			}
		}
		if dsym >= 30 {
			err = fmt.Errorf("%w: distance code %d", ErrCorrupt, dsym)
			break
		}
		dx := uint(distExtra[dsym])
		if dl+dx > n {
			break
		}
		dist := int(distBase[dsym]) + 1 + int(v>>dl&(1<<dx-1))
		acc >>= l + le + dl + dx
		nacc -= l + le + dl + dx
		if dist > min(f.avail+wr-f.wr, len(win)) {
			err = ErrDistance
			break
		}
		if wr+length <= len(win) && dist <= wr {
			// The common case: the match and its source are inside
			// the window without wrapping.
			from := wr - dist
			if dist >= length {
				copy(win[wr:wr+length], win[from:from+length])
			} else {
				for k := 0; k < length; {
					k += copy(win[wr+k:wr+length], win[from:wr+k])
				}
			}
			wr += length
			continue
		}
		f.advanceTo(wr)
		f.left, f.dist = length, dist
		f.copyMatch()
		wr = f.wr
		if f.left > 0 {
			f.state = stMatch
			break
		}
	}
	f.acc, f.nacc = acc&(1<<nacc-1), nacc
	f.advanceTo(wr)
	return used, err
}

// advanceTo moves the write position to wr, counting the bytes decoded
// since f.wr as history.
func (f *Inflater) advanceTo(wr int) {
	f.advance(wr - f.wr)
}
