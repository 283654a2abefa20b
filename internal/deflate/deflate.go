package deflate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"unsafe"
)

// ErrConfig is returned by [NewCompressor] for a [Config] field out of range.
var ErrConfig = errors.New("deflate: invalid config")

// The range of [Config.WindowBits] (RFC 7692 §7.1.2) and its default.
const (
	MinWindowBits     = 8
	MaxWindowBits     = 15
	DefaultWindowBits = 12
)

// Config sizes a [Compressor]. The zero value is [PresetDefault]'s.
type Config struct {
	// WindowBits is the base-2 logarithm of the farthest distance a
	// back-reference may reach, 8 to 15; zero means 12.
	WindowBits int
	// HashBits is the base-2 logarithm of the number of entries of the
	// match finder's hash table (two bytes each), 8 to 16; zero means
	// WindowBits.
	HashBits int
}

// Preset names a [Config] on the scale from least memory to best ratio.
type Preset int

const (
	// PresetDefault: a 4 KiB window and a 4096-entry hash table, about
	// 16 KiB per compressor between messages, python websockets' window.
	PresetDefault Preset = iota
	// PresetSmall: a 1 KiB window and a 1024-entry hash table, about 4 KiB.
	PresetSmall
	// PresetBest: the full 32 KiB window and a 65536-entry hash table,
	// about 192 KiB.
	PresetBest
)

// String returns the preset's name.
func (p Preset) String() string {
	switch p {
	case PresetDefault:
		return "default"
	case PresetSmall:
		return "small"
	case PresetBest:
		return "best"
	}
	return fmt.Sprintf("Preset(%d)", int(p))
}

// Config returns the preset's settings; an unknown preset gives the default.
func (p Preset) Config() Config {
	switch p {
	case PresetSmall:
		return Config{WindowBits: 10, HashBits: 10}
	case PresetBest:
		return Config{WindowBits: 15, HashBits: 16}
	}
	return Config{WindowBits: DefaultWindowBits, HashBits: DefaultWindowBits}
}

const (
	minMatch  = 4     // the matcher hashes and compares four bytes
	maxMatch  = 258   // RFC 1951 §3.2.5
	maxStored = 65535 // RFC 1951 §3.2.4
	hashMul   = 0x1e35a7bd
)

// A Compressor writes one raw DEFLATE stream (RFC 1951) as a series of
// messages, each ended by a sync flush. The zero value is ready to use with
// [PresetDefault]. A Compressor is not safe for concurrent use.
//
// Compress and Flush append to the caller's dst and return it; the
// Compressor keeps no reference to dst or to the input.
type Compressor struct {
	window int   // 1 << WindowBits: the farthest distance allowed
	shift  uint8 // 32 - HashBits

	buf   []byte     // 2*window bytes: history, then input not yet slid out
	table []uint16   // the last stream position, modulo 1<<16, of each hash of four bytes
	lent  *symbolBuf // during a message: the buffer the open block's symbols lie in
	nlits int        // the open block's literals: lent.lits[:nlits]
	nseqs int        // its matches: lent.seqs[:nseqs], and in lent.runs[:nseqs] the nlits before each

	base       int // the stream position of buf[0], modulo 1<<16 where stored in table
	pos        int // next position of buf to look for a match at
	end        int // bytes of buf filled
	covered    int // bytes of buf turned into tokens
	blockStart int // where the open block's input begins in buf, or -1 once it slid out

	acc  uint64 // output bits not yet appended, least significant first
	nacc uint   // number of bits in acc
}

// NewCompressor returns a Compressor sized by cfg, with its history and
// hash table allocated. It fails with [ErrConfig] for a field out of range.
func NewCompressor(cfg Config) (*Compressor, error) {
	c := new(Compressor)
	if err := c.setup(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Compressor) setup(cfg Config) error {
	wb, hb := cfg.WindowBits, cfg.HashBits
	if wb == 0 {
		wb = DefaultWindowBits
	}
	if hb == 0 {
		hb = wb
	}
	if wb < MinWindowBits || wb > MaxWindowBits {
		return fmt.Errorf("%w: window bits %d outside %d to %d", ErrConfig, wb, MinWindowBits, MaxWindowBits)
	}
	if hb < 8 || hb > 16 {
		return fmt.Errorf("%w: hash bits %d outside 8 to 16", ErrConfig, hb)
	}
	c.window = 1 << wb
	c.shift = uint8(32 - hb)
	c.buf = make([]byte, 2*c.window)
	c.table = make([]uint16, 1<<hb)
	c.Reset()
	return nil
}

// symbolBuf holds the symbols of a block: up to 16384 literals and 8192
// matches, or a quarter of that with a window of 1 KiB or less. A block
// ends when either is full. Blocks that large amortise their Huffman
// tables; a Compressor borrows the buffer for the length of a message
// only, so that between messages it holds none. Literals are kept as
// bytes, apart from the matches, so that a run of them is one copy in
// and a tight loop out.
type symbolBuf struct {
	lits []byte
	seqs []uint32
	runs []uint16 // runs[j]: the literals before seqs[j], counted from the block's start
}

// symbolArrays and smallSymbolArrays are a symbolBuf with the arrays its
// slices cover, so that a pool makes one in one allocation.
type symbolArrays struct {
	symbolBuf
	lits [1 << 14]byte
	seqs [1 << 13]uint32
	runs [1 << 13]uint16
}

type smallSymbolArrays struct {
	symbolBuf
	lits [1 << 12]byte
	seqs [1 << 11]uint32
	runs [1 << 11]uint16
}

// symbolPools holds the symbol buffers of Compressors between messages,
// small ones first: a cache.
var symbolPools = [2]sync.Pool{
	{New: func() any {
		a := new(smallSymbolArrays)
		a.symbolBuf = symbolBuf{lits: a.lits[:], seqs: a.seqs[:], runs: a.runs[:]}
		return &a.symbolBuf
	}},
	{New: func() any {
		a := new(symbolArrays)
		a.symbolBuf = symbolBuf{lits: a.lits[:], seqs: a.seqs[:], runs: a.runs[:]}
		return &a.symbolBuf
	}},
}

func (c *Compressor) symbolPool() *sync.Pool {
	if c.window <= 1<<10 {
		return &symbolPools[0]
	}
	return &symbolPools[1]
}

// borrow gives the Compressor a symbol buffer for the message.
func (c *Compressor) borrow() {
	if c.lent == nil {
		c.lent = c.symbolPool().Get().(*symbolBuf)
		c.nlits, c.nseqs = 0, 0
	}
}

// giveBack returns the symbol buffer, with no symbol pending, to its pool.
func (c *Compressor) giveBack() {
	if c.lent != nil {
		c.symbolPool().Put(c.lent)
		c.lent = nil
	}
}

// Size reports the bytes the Compressor holds: the struct and its buffers,
// and during a message the block's symbol buffer.
func (c *Compressor) Size() int {
	n := int(unsafe.Sizeof(*c)) + cap(c.buf) + 2*cap(c.table)
	if s := c.lent; s != nil {
		n += cap(s.lits) + 4*cap(s.seqs) + 2*cap(s.runs)
	}
	return n
}

// WindowBits reports the window the Compressor's back-references stay in.
func (c *Compressor) WindowBits() int {
	c.init()
	return bits.Len(uint(c.window)) - 1
}

// Reset forgets the history and drops anything not yet flushed, so that the
// next message decodes on its own: permessage-deflate without context
// takeover calls it after each Flush.
func (c *Compressor) Reset() {
	c.base, c.pos, c.end, c.covered, c.blockStart = 0, 0, 0, 0, 0
	c.giveBack()
	c.acc, c.nacc = 0, 0
	// The table starts empty, as a new Compressor's: an entry left by
	// the stream before the reset could still point at bytes of the new
	// one that match, a valid back-reference that a new Compressor would
	// not find, so the output would depend on what the Compressor
	// compressed before. Within a stream, entries need no clearing when
	// the buffer slides: a candidate must lie in buf before the current
	// position, within the window, and match four bytes.
	clear(c.table)
}

func (c *Compressor) init() {
	if c.buf == nil {
		_ = c.setup(Config{}) // the default is valid
	}
}

// Compress appends to dst the compressed form of p, as far as whole blocks
// are ready, and returns the extended slice. The rest follows from later
// calls and from [Compressor.Flush].
func (c *Compressor) Compress(dst, p []byte) []byte {
	c.init()
	c.borrow()
	for len(p) > 0 {
		if c.end == len(c.buf) {
			dst = c.slide(dst)
		}
		n := copy(c.buf[c.end:], p)
		c.end += n
		p = p[n:]
		dst = c.match(dst)
	}
	return dst
}

// Flush ends the message: it writes the open block and an empty stored
// block, so that the output is byte-aligned and ends with 00 00 ff ff
// (RFC 7692 §7.2.1), and returns the extended dst.
func (c *Compressor) Flush(dst []byte) []byte {
	c.init()
	c.borrow()
	dst = c.matchTail(dst)
	if c.nlits+c.nseqs > 0 {
		dst = c.writeBlock(dst)
	}
	c.giveBack()
	dst = c.writeBits(dst, 0, 3) // BFINAL 0, BTYPE 00: stored
	dst = c.align(dst)
	return append(dst, 0, 0, 0xff, 0xff)
}

// slide keeps the last window of buf as history and makes room after it.
func (c *Compressor) slide(dst []byte) []byte {
	delta := c.end - c.window
	if c.blockStart >= 0 && c.blockStart < delta {
		// The block's input is its literals and the bytes its
		// matches cover.
		n := c.covered - c.blockStart
		if matched := n - c.nlits; matched*8 < n {
			// Little matched: the block may be best stored, which needs
			// its bytes, so write it while they are here.
			dst = c.writeBlock(dst)
		} else {
			c.blockStart = -1
		}
	}
	copy(c.buf, c.buf[delta:c.end])
	c.end -= delta
	c.pos -= delta
	c.covered -= delta
	if c.blockStart >= 0 {
		c.blockStart -= delta
	}
	c.base += delta
	return dst
}

func load32(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[i : i+4]) }
func load64(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i : i+8]) }

// match finds back-references in buf from pos to end and adds them and
// the literals between them to the open block, writing the block each
// time it fills.
func (c *Compressor) match(dst []byte) []byte {
	for !c.scan() {
		// The block is full: write it, or if it is empty while the
		// literals pending before pos fill it, make a block of those.
		if c.nlits+c.nseqs > 0 {
			dst = c.writeBlock(dst)
		} else {
			dst = c.addLiterals(dst, c.pos)
		}
	}
	return c.addLiterals(dst, c.pos)
}

// scan is match's search: a greedy one with one candidate per hash, which
// skips faster through input that does not match. It reports whether it
// reached the end of buf; it stops early, before a position whose match
// might not fit the open block. It makes no call, so that its state stays
// in registers.
func (c *Compressor) scan() bool {
	buf := c.buf[:c.end]
	end := c.end
	i := c.pos
	table := c.table
	shift := c.shift & 31
	base := c.base
	window := c.window
	covered := c.covered
	// The literals pending before i must fit the block, with a margin,
	// and each match takes a sequence. The search stops 8 bytes before
	// the end, so that it loads eight bytes at a time unchecked; the last
	// few bytes of a message are left to matchTail.
	sb := c.lent
	limit := min(end-7, covered+len(sb.lits)-c.nlits-8)
	for c.nseqs < len(sb.seqs)-1 {
		var v, x uint64
		var dist, cand int
		for {
			if i >= limit {
				c.covered = covered
				c.pos = i
				return i+8 > end
			}
			v = loadAt(buf, i)
			h := (uint32(v) * hashMul) >> shift
			now := uint16(base + i)
			dist = int(now - table[h])
			table[h] = now
			cand = i - dist
			// cand is before i (dist > 0), not before buf and within the
			// window.
			if uint(cand) < uint(i) && dist <= window {
				x = loadAt(buf, cand) ^ v
				if uint32(x) == 0 {
					break
				}
			}
			// Each further 32 bytes without a match lengthen the step, up
			// to 8: incompressible input costs little. i stays at most end.
			i += 1 + min((i-covered)>>5, 7)
		}
		var n int
		if x != 0 {
			n = bits.TrailingZeros64(x) / 8
		} else {
			n = 8
			most := min(maxMatch, end-i)
			for n+8 <= most {
				if x := loadAt(buf, cand+n) ^ loadAt(buf, i+n); x != 0 {
					n += bits.TrailingZeros64(x) / 8
					goto found
				}
				n += 8
			}
			for n < most && buf[cand+n] == buf[i+n] {
				n++
			}
		}
	found:
		// The match may begin before i, in bytes skipped or not yet
		// matched.
		for i > covered && cand > 0 && n < maxMatch && buf[i-1] == buf[cand-1] {
			i--
			cand--
			n++
		}
		nl := c.nlits
		if r := i - covered; r > 0 {
			// Eight bytes at a time: the block has room to spare, and
			// buf holds eight bytes after i.
			lits := sb.lits[nl:]
			for k := 0; k < r; k += 8 {
				binary.LittleEndian.PutUint64(lits[k:k+8], loadAt(buf, covered+k))
			}
			nl += r
			c.nlits = nl
		}
		ns := c.nseqs
		sb.seqs[ns] = matchToken(n, dist)
		sb.runs[ns] = uint16(nl)
		c.nseqs = ns + 1
		i += n
		covered = i
		limit = min(end-7, covered+len(sb.lits)-nl-8)
		// Index the match's last positions, where the next match often
		// starts.
		if i+6 <= end {
			w := loadAt(buf, i-2)
			table[(uint32(w)*hashMul)>>shift] = uint16(base + i - 2)
			table[(uint32(w>>8)*hashMul)>>shift] = uint16(base + i - 1)
		}
	}
	c.covered = covered
	c.pos = i
	return false
}

// matchTail ends the message's search in the last bytes of buf, which
// scan leaves: a plain search of one candidate per position, each
// compared byte by byte.
func (c *Compressor) matchTail(dst []byte) []byte {
	buf := c.buf[:c.end]
	for i := c.pos; i+minMatch <= len(buf); {
		h := (load32(buf, i) * hashMul) >> (c.shift & 31)
		now := uint16(c.base + i)
		dist := int(now - c.table[h])
		c.table[h] = now
		cand := i - dist
		n := 0
		if uint(cand) < uint(i) && dist <= c.window {
			for i+n < len(buf) && n < maxMatch && buf[cand+n] == buf[i+n] {
				n++
			}
		}
		if n < minMatch {
			i++
			continue
		}
		dst = c.addLiterals(dst, i)
		dst = c.addMatch(dst, n, dist)
		i += n
	}
	c.pos = len(buf)
	return c.addLiterals(dst, len(buf))
}

// addLiterals adds buf[covered:to] to the block's literals, writing the
// block each time they fill it.
func (c *Compressor) addLiterals(dst []byte, to int) []byte {
	for c.covered < to {
		n := copy(c.lent.lits[c.nlits:], c.buf[c.covered:to])
		c.nlits += n
		c.covered += n
		if c.nlits == len(c.lent.lits) {
			dst = c.writeBlock(dst)
		}
	}
	return dst
}

// matchToken codes a match as (length-3)<<18 | distance code<<13 | the
// distance's extra bits, so that writing a block looks the distance code
// up once.
func matchToken(length, dist int) uint32 {
	d := uint32(dist - 1)
	dc := distCode(d)
	return uint32(length-3)<<18 | dc<<13 | (d - uint32(distBase[dc&31]))
}

// addMatch adds a match after the literals added since the last one,
// writing the block if that fills it.
func (c *Compressor) addMatch(dst []byte, length, dist int) []byte {
	c.lent.seqs[c.nseqs] = matchToken(length, dist)
	c.lent.runs[c.nseqs] = uint16(c.nlits)
	c.nseqs++
	c.covered += length
	if c.nseqs == len(c.lent.seqs) {
		dst = c.writeBlock(dst)
	}
	return dst
}

// writeBits appends the n low bits of v to the stream.
func (c *Compressor) writeBits(dst []byte, v uint64, n uint) []byte {
	c.acc |= v << c.nacc
	c.nacc += n
	if c.nacc >= 48 {
		dst = binary.LittleEndian.AppendUint64(dst, c.acc)
		dst = dst[:len(dst)-2]
		c.acc >>= 48
		c.nacc -= 48
	}
	return dst
}

// align pads the stream with zero bits to a byte boundary and appends
// every pending byte.
func (c *Compressor) align(dst []byte) []byte {
	for c.nacc > 0 {
		dst = append(dst, byte(c.acc))
		c.acc >>= 8
		c.nacc -= min(8, c.nacc)
	}
	c.acc = 0
	return dst
}
