package deflate

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// Alphabet sizes of RFC 1951 §3.2.5 and §3.2.7.
const (
	numLit     = 286 // literals, end of block, length codes
	numDist    = 30
	numCodeLen = 19
	endOfBlock = 256
	maxBits    = 15 // the longest literal/length or distance code
	maxCLBits  = 7  // the longest code-length code
)

// codeLenOrder is the order in which a dynamic block header lists the
// code-length code's lengths (RFC 1951 §3.2.7).
var codeLenOrder = [numCodeLen]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// Read-only tables filled once by init.
var (
	lengthCode  [256]uint8 // length-3 -> length code - 257
	lengthBase  [29]uint8  // length code - 257 -> smallest length-3
	lengthExtra [29]uint8
	distBase    [numDist]uint16 // distance code -> smallest distance-1
	distExtra   [numDist]uint8
	// distCodes8 holds the distance code of each distance-1 below 256,
	// then of the others by their bits above the seventh, which fix it.
	distCodes8 [512]uint8

	fixedLitLen   [numLit + 2]uint8 // RFC 1951 §3.2.6, with the two unused codes
	fixedLitCode  [numLit + 2]uint16
	fixedDistLen  [numDist]uint8
	fixedDistCode [numDist]uint16
)

func init() {
	for l := range 256 {
		var code int
		switch {
		case l < 8:
			code = l
		case l == 255:
			code = 28
		default:
			nb := bits.Len(uint(l)) - 1
			code = 4*(nb-1) + (l>>(nb-2))&3
		}
		lengthCode[l] = uint8(code)
		if code == 28 || lengthBase[code] == 0 && code != 0 {
			lengthBase[code] = uint8(l)
		}
	}
	for code := range 29 {
		if code >= 8 && code < 28 {
			lengthExtra[code] = uint8(code/4 - 1)
		}
	}
	for code := range numDist {
		if code >= 4 {
			nb := uint(code/2 - 1)
			distExtra[code] = uint8(nb)
			distBase[code] = uint16((2 | code&1) << nb)
		} else {
			distBase[code] = uint16(code)
		}
	}
	for d := range 256 {
		distCodes8[d] = uint8(distCodeOf(uint32(d)))
		distCodes8[256+d] = uint8(distCodeOf(uint32(d) << 7))
	}
	for s := range numLit + 2 {
		switch {
		case s < 144:
			fixedLitLen[s] = 8
		case s < 256:
			fixedLitLen[s] = 9
		case s < 280:
			fixedLitLen[s] = 7
		default:
			fixedLitLen[s] = 8
		}
	}
	canonical(fixedLitLen[:], fixedLitCode[:])
	for s := range numDist {
		fixedDistLen[s] = 5
	}
	canonical(fixedDistLen[:], fixedDistCode[:])
}

// distCode returns the distance code of a distance-1 below 32768: a
// table lookup.
func distCode(d uint32) uint32 {
	if d < 256 {
		return uint32(distCodes8[d])
	}
	return uint32(distCodes8[256+(d>>7)&255])
}

// distCodeOf computes the distance code of a distance-1 below 32768.
func distCodeOf(d uint32) uint32 {
	if d < 4 {
		return d
	}
	nb := uint32(bits.Len32(d)) - 1
	return 2*nb + (d>>(nb-1))&1
}

// canonical assigns the canonical Huffman codes of RFC 1951 §3.2.2 to the
// lengths, bit-reversed, since DEFLATE packs codes from their first bit.
func canonical(lens []uint8, codes []uint16) {
	var count [maxBits + 1]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [maxBits + 1]uint16
	code := uint16(0)
	for b := 1; b <= maxBits; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	for s, l := range lens {
		if l > 0 {
			codes[s] = bits.Reverse16(next[l]) >> (16 - l)
			next[l]++
		}
	}
}

// buildLengths sets lens to the lengths of a Huffman code for freq whose
// codes are at most limit bits long. At least two symbols get a code, so
// that every code is complete, as strict inflaters require.
func buildLengths(freq []uint32, lens []uint8, limit int) {
	const most = numLit
	var leaves [most]uint64 // frequency<<16 | symbol, sorted by frequency
	n := 0
	for s, f := range freq {
		lens[s] = 0
		if f > 0 {
			leaves[n] = uint64(f)<<16 | uint64(s)
			n++
		}
	}
	for s := 0; n < 2; s++ {
		if freq[s] == 0 {
			leaves[n] = uint64(s)
			n++
		}
	}
	sortLeaves(leaves[:n])

	// Two queues: leaves in frequency order, then internal nodes, which are
	// made in non-decreasing weight order. Node ids below most are leaves.
	var weight [most]uint64
	var parent [2 * most]uint16
	li, ii, ni := 0, 0, 0
	pick := func() (id int, w uint64) {
		if li < n && (ii >= ni || leaves[li]>>16 <= weight[ii]) {
			li++
			return li - 1, leaves[li-1] >> 16
		}
		ii++
		return most + ii - 1, weight[ii-1]
	}
	for ni < n-1 {
		a, wa := pick()
		b, wb := pick()
		weight[ni] = wa + wb
		parent[a], parent[b] = uint16(most+ni), uint16(most+ni)
		ni++
	}
	var depth [most]uint8 // of internal nodes; the root, made last, is 0
	for j := ni - 2; j >= 0; j-- {
		depth[j] = depth[int(parent[most+j])-most] + 1
	}
	var count [maxBits + 2]int
	for k := range n {
		d := int(depth[int(parent[k])-most]) + 1
		count[min(d, limit)]++
	}

	// Clamping broke the Kraft equality: lengthen the longest codes below
	// the limit until the code fits, then shorten the longest until it is
	// complete.
	full := 1 << limit
	kraft := 0
	for d := 1; d <= limit; d++ {
		kraft += count[d] << (limit - d)
	}
	for kraft > full {
		d := limit - 1
		for count[d] == 0 {
			d--
		}
		count[d]--
		count[d+1]++
		kraft -= 1 << (limit - d - 1)
	}
	for kraft < full {
		d := limit
		for count[d] == 0 || 1<<(limit-d) > full-kraft {
			d--
		}
		count[d]--
		count[d-1]++
		kraft += 1 << (limit - d)
	}
	// The rarest symbols get the longest codes.
	k := 0
	for d := limit; d >= 1; d-- {
		for range count[d] {
			lens[leaves[k]&0xffff] = uint8(d)
			k++
		}
	}
}

// sortLeaves sorts leaves, frequency<<16 | symbol, in increasing order.
// Leaves arrive in symbol order, so long lists take a stable radix sort on
// the frequency's bytes, which keeps that order among equal frequencies;
// short ones an ordinary sort.
func sortLeaves(leaves []uint64) {
	if len(leaves) < 64 {
		slices.Sort(leaves)
		return
	}
	var most uint64
	for _, v := range leaves {
		most = max(most, v)
	}
	var tmp [numLit]uint64
	src, dst := leaves, tmp[:len(leaves)]
	for shift := uint(16); shift < 64 && most>>shift != 0; shift += 8 {
		var start [257]int
		for _, v := range src {
			start[(v>>shift)&0xff+1]++
		}
		if start[(src[0]>>shift)&0xff+1] == len(src) {
			continue // the same byte everywhere
		}
		for b := 1; b < 257; b++ {
			start[b] += start[b-1]
		}
		for _, v := range src {
			b := (v >> shift) & 0xff
			dst[start[b]] = v
			start[b]++
		}
		src, dst = dst, src
	}
	copy(leaves, src)
}

// writeBlock writes the open block's tokens as the cheapest of a dynamic,
// fixed or stored block and empties the token buffer.
func (c *Compressor) writeBlock(dst []byte) []byte {
	var litFreq [numLit]uint32
	var distFreq [numDist]uint32
	// Four literals a step: the loop's own instructions count as much
	// as the counting.
	ls := c.lent.lits[:c.nlits]
	for ; len(ls) >= 4; ls = ls[4:] {
		litFreq[ls[0]]++
		litFreq[ls[1]]++
		litFreq[ls[2]]++
		litFreq[ls[3]]++
	}
	for _, b := range ls {
		litFreq[b]++
	}
	for _, t := range c.lent.seqs[:c.nseqs] {
		litFreq[257+int(lengthCode[(t>>18)&0xff])]++
		distFreq[(t>>13)&31]++
	}
	litFreq[endOfBlock] = 1
	extra := 0 // bits of length and distance extras, the same in every encoding
	for lc, nb := range lengthExtra {
		extra += int(litFreq[257+lc]) * int(nb)
	}
	for dc, nb := range distExtra {
		extra += int(distFreq[dc]) * int(nb)
	}

	var litLen [numLit]uint8
	var distLen [numDist]uint8
	buildLengths(litFreq[:], litLen[:], maxBits)
	buildLengths(distFreq[:], distLen[:], maxBits)
	nlit := numLit
	for litLen[nlit-1] == 0 {
		nlit--
	}
	ndist := numDist
	for distLen[ndist-1] == 0 {
		ndist--
	}

	// The header's code lengths, run-length coded (RFC 1951 §3.2.7).
	var all [numLit + numDist]uint8
	copy(all[:], litLen[:nlit])
	copy(all[nlit:], distLen[:ndist])
	var sym, rep [numLit + numDist]uint8
	nsym := runLengths(all[:nlit+ndist], sym[:], rep[:])
	var clFreq [numCodeLen]uint32
	for _, s := range sym[:nsym] {
		clFreq[s]++
	}
	var clLen [numCodeLen]uint8
	buildLengths(clFreq[:], clLen[:], maxCLBits)
	nclen := numCodeLen
	for clLen[codeLenOrder[nclen-1]] == 0 {
		nclen--
	}

	dynamic := 3 + 5 + 5 + 4 + 3*nclen + extra
	dynamic += 2*int(clFreq[16]) + 3*int(clFreq[17]) + 7*int(clFreq[18])
	for s, f := range clFreq {
		dynamic += int(f) * int(clLen[s])
	}
	fixed := 3 + extra
	for s, f := range litFreq {
		dynamic += int(f) * int(litLen[s])
		fixed += int(f) * int(fixedLitLen[s])
	}
	for s, f := range distFreq {
		dynamic += int(f) * int(distLen[s])
		fixed += int(f) * 5
	}
	stored := -1
	if c.blockStart >= 0 {
		n := c.covered - c.blockStart
		chunks := max(1, (n+maxStored-1)/maxStored)
		// Each chunk: a 3-bit header padded to a byte, LEN and NLEN.
		stored = chunks*(8+32) + 8*n + 8
	}

	switch {
	case stored >= 0 && stored <= dynamic && stored <= fixed:
		dst = c.writeStored(dst, c.buf[c.blockStart:c.covered])
	case fixed <= dynamic:
		dst = c.writeBits(dst, 1<<1, 3) // BFINAL 0, BTYPE 01
		dst = c.writeTokens(dst, fixed, fixedLitLen[:], fixedLitCode[:], fixedDistLen[:], fixedDistCode[:])
	default:
		dst = c.writeBits(dst, 2<<1, 3) // BFINAL 0, BTYPE 10
		dst = c.writeBits(dst, uint64(nlit-257)|uint64(ndist-1)<<5|uint64(nclen-4)<<10, 14)
		for _, s := range codeLenOrder[:nclen] {
			dst = c.writeBits(dst, uint64(clLen[s]), 3)
		}
		var clCode [numCodeLen]uint16
		canonical(clLen[:], clCode[:])
		for k, s := range sym[:nsym] {
			dst = c.writeBits(dst, uint64(clCode[s]), uint(clLen[s]))
			switch s {
			case 16:
				dst = c.writeBits(dst, uint64(rep[k]), 2)
			case 17:
				dst = c.writeBits(dst, uint64(rep[k]), 3)
			case 18:
				dst = c.writeBits(dst, uint64(rep[k]), 7)
			}
		}
		var litCode [numLit]uint16
		var distCodes [numDist]uint16
		canonical(litLen[:], litCode[:])
		canonical(distLen[:], distCodes[:])
		dst = c.writeTokens(dst, dynamic, litLen[:], litCode[:], distLen[:], distCodes[:])
	}
	c.nlits, c.nseqs = 0, 0
	c.blockStart = c.covered
	return dst
}

// runLengths codes lens with the code-length alphabet: 0-15 literally, 16
// to repeat the previous length 3-6 times, 17 and 18 for runs of 3-10 and
// 11-138 zeros. It stores each symbol and its repeat-count extra and
// returns how many there are.
func runLengths(lens []uint8, sym, rep []uint8) int {
	n := 0
	emit := func(s, r uint8) {
		sym[n], rep[n] = s, r
		n++
	}
	for i := 0; i < len(lens); {
		l := lens[i]
		run := 1
		for i+run < len(lens) && lens[i+run] == l {
			run++
		}
		i += run
		if l == 0 {
			for run >= 11 {
				r := min(run, 138)
				emit(18, uint8(r-11))
				run -= r
			}
			if run >= 3 {
				emit(17, uint8(run-3))
				run = 0
			}
		} else {
			emit(l, 0)
			run--
			for run >= 3 {
				r := min(run, 6)
				emit(16, uint8(r-3))
				run -= r
			}
		}
		for ; run > 0; run-- {
			emit(l, 0)
		}
	}
	return n
}

// writeTokens writes the block's symbols and the end of block with the
// given codes; size bounds the block's bits.
func (c *Compressor) writeTokens(dst []byte, size int, litLen []uint8, litCode []uint16, distLen []uint8, distCodes []uint16) []byte {
	// A match is at most 48 bits (a 15-bit length code and 5 extra bits, a
	// 15-bit distance code and 13 extra bits), three literals at most 45.
	// With fewer than 8 bits pending, either fits the 64-bit accumulator,
	// which is then stored whole and advanced by its complete bytes: one
	// unchecked store per match or three literals, into room reserved for
	// the whole block.
	dst = slices.Grow(dst, size/8+16)
	for c.nacc >= 8 {
		dst = append(dst, byte(c.acc))
		c.acc >>= 8
		c.nacc -= 8
	}
	out := dst[:cap(dst)]
	n := len(dst)
	acc, nacc := c.acc, c.nacc

	// Each code packed with its length in one word, so that a symbol costs
	// one table load: a literal's code | bits<<16; a match length's code
	// and extra bits | bits<<24 | 2^bits<<32, per length; a distance
	// code's code | 2^code bits<<16 | code and extra bits<<32.
	var lit [256]uint32
	for b := range lit {
		lit[b] = uint32(litCode[b]) | uint32(litLen[b])<<16
	}
	var lens [256]uint64
	for l := range lens {
		lc := lengthCode[l]
		cl := litLen[257+int(lc)]
		nb := cl + lengthExtra[lc]
		lens[l] = uint64(litCode[257+int(lc)]) | uint64(l-int(lengthBase[lc]))<<cl | uint64(nb)<<24 | 1<<(32+nb)
	}
	var dists [32]uint64
	for dc := range numDist {
		dists[dc] = uint64(distCodes[dc]) | 1<<(16+distLen[dc]) | uint64(distLen[dc]+distExtra[dc])<<32
	}
	lits, seqs := c.lent.lits[:c.nlits], c.lent.seqs[:c.nseqs]
	runs := c.lent.runs[:len(seqs)]
	li := 0
	for j := 0; ; j++ {
		// The literals before match j, or after the last match.
		to := len(lits)
		if j < len(seqs) {
			to = int(runs[j])
		}
		if li < to {
			run := lits[li:to]
			li = to
			for len(run) >= 3 {
				e0, e1, e2 := lit[run[0]], lit[run[1]], lit[run[2]]
				run = run[3:]
				acc |= uint64(e0&0xffff) << (nacc & 63)
				nacc += uint(e0 >> 16)
				acc |= uint64(e1&0xffff) << (nacc & 63)
				nacc += uint(e1 >> 16)
				acc |= uint64(e2&0xffff) << (nacc & 63)
				nacc += uint(e2 >> 16)
				binary.LittleEndian.PutUint64(out[n:n+8], acc)
				k := nacc >> 3
				n += int(k)
				acc >>= (k * 8) & 63
				nacc &= 7
			}
			// At most two literals, 30 bits, and a match, 48, on top of
			// 7: one store between them.
			for _, b := range run {
				e := lit[b]
				acc |= uint64(e&0xffff) << (nacc & 63)
				nacc += uint(e >> 16)
			}
			binary.LittleEndian.PutUint64(out[n:n+8], acc)
			k := nacc >> 3
			n += int(k)
			acc >>= (k * 8) & 63
			nacc &= 7
		}
		if j == len(seqs) {
			break
		}
		// The match's bits are put together by multiplying by powers
		// of two, not shifting, so that one shift count is in play.
		t := seqs[j]
		e := lens[uint8(t>>18)]
		d := dists[(t>>13)&31]
		db := d&0xffff | uint64(t&0x1fff)*(d>>16&0xffff)
		acc |= (e&0xffffff | db*(e>>32)) << (nacc & 63)
		nacc += uint(e>>24&0xff) + uint(d>>32)
		binary.LittleEndian.PutUint64(out[n:n+8], acc)
		k := nacc >> 3
		n += int(k)
		acc >>= (k * 8) & 63
		nacc &= 7
	}
	c.acc, c.nacc = acc, nacc
	return c.writeBits(out[:n], uint64(litCode[endOfBlock]), uint(litLen[endOfBlock]))
}

// writeStored writes p as stored blocks of at most 65535 bytes each.
func (c *Compressor) writeStored(dst, p []byte) []byte {
	for first := true; first || len(p) > 0; first = false {
		n := min(len(p), maxStored)
		dst = c.writeBits(dst, 0, 3) // BFINAL 0, BTYPE 00
		dst = c.align(dst)
		dst = append(dst, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		dst = append(dst, p[:n]...)
		p = p[n:]
	}
	return dst
}
