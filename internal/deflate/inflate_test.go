package deflate_test

import (
	"errors"
	"fmt"
)

// inflater is a small, slow DEFLATE decoder for tests, independent of both
// the compressor and compress/flate, that records the farthest distance a
// back-reference reaches. It decodes a stream of sync-flushed messages,
// never a final block.
type inflater struct {
	out     []byte // everything decoded so far: the history of the next message
	maxDist int
	// Of the Huffman-coded blocks decoded: how many, and the most
	// literals and matches one of them holds.
	blocks, mostLits, mostMatches int
}

var errInflate = errors.New("test inflater: invalid stream")

type bitReader struct {
	b   []byte
	bit int
}

func (r *bitReader) read(n int) (int, error) {
	v := 0
	for k := range n {
		if r.bit >= 8*len(r.b) {
			return 0, fmt.Errorf("%w: short input", errInflate)
		}
		v |= int(r.b[r.bit/8]>>(r.bit%8)&1) << k
		r.bit++
	}
	return v, nil
}

// huffman decodes a canonical code by walking its lengths one bit at a time.
type huffman struct {
	count [16]int
	sym   []int
}

func newHuffman(lens []int) *huffman {
	h := &huffman{}
	for _, l := range lens {
		h.count[l]++
	}
	h.count[0] = 0
	for l := 1; l < 16; l++ {
		for s, sl := range lens {
			if sl == l {
				h.sym = append(h.sym, s)
			}
		}
	}
	return h
}

func (h *huffman) decode(r *bitReader) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, err := r.read(1)
		if err != nil {
			return 0, err
		}
		code |= b
		if code-first < h.count[l] {
			return h.sym[index+code-first], nil
		}
		index += h.count[l]
		first = (first + h.count[l]) << 1
		code <<= 1
	}
	return 0, fmt.Errorf("%w: no such code", errInflate)
}

var (
	testLenBase  = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	testLenExtra = [29]int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	testDistBase = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	testOrder    = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// message decodes one message's output, which must end with a sync flush,
// and returns the bytes it decodes to.
func (f *inflater) message(b []byte) ([]byte, error) {
	start := len(f.out)
	r := &bitReader{b: b}
	for r.bit < 8*len(b) {
		hdr, err := r.read(3)
		if err != nil {
			return nil, err
		}
		if hdr&1 != 0 {
			return nil, fmt.Errorf("%w: final block", errInflate)
		}
		switch hdr >> 1 {
		case 0:
			r.bit = (r.bit + 7) / 8 * 8
			if r.bit/8+4 > len(b) {
				return nil, fmt.Errorf("%w: short stored header", errInflate)
			}
			p := b[r.bit/8:]
			n := int(p[0]) | int(p[1])<<8
			if n != int(^p[2])|int(^p[3])<<8 {
				return nil, fmt.Errorf("%w: LEN and NLEN disagree", errInflate)
			}
			if 4+n > len(p) {
				return nil, fmt.Errorf("%w: short stored block", errInflate)
			}
			f.out = append(f.out, p[4:4+n]...)
			r.bit += 8 * (4 + n)
		case 1:
			lit := make([]int, 288)
			for s := range lit {
				switch {
				case s < 144, s >= 280:
					lit[s] = 8
				case s < 256:
					lit[s] = 9
				default:
					lit[s] = 7
				}
			}
			dist := make([]int, 30)
			for s := range dist {
				dist[s] = 5
			}
			if err := f.codes(r, newHuffman(lit), newHuffman(dist)); err != nil {
				return nil, err
			}
		case 2:
			lit, dist, err := dynamicHeader(r)
			if err != nil {
				return nil, err
			}
			if err := f.codes(r, lit, dist); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: block type 3", errInflate)
		}
	}
	return f.out[start:], nil
}

func dynamicHeader(r *bitReader) (lit, dist *huffman, err error) {
	v, err := r.read(14)
	if err != nil {
		return nil, nil, err
	}
	nlit, ndist, nclen := v&31+257, v>>5&31+1, v>>10+4
	if nlit > 286 || ndist > 30 {
		return nil, nil, fmt.Errorf("%w: too many codes", errInflate)
	}
	clLens := make([]int, 19)
	for _, s := range testOrder[:nclen] {
		if clLens[s], err = r.read(3); err != nil {
			return nil, nil, err
		}
	}
	if !complete(clLens) {
		return nil, nil, fmt.Errorf("%w: incomplete code-length code", errInflate)
	}
	cl := newHuffman(clLens)
	lens := make([]int, 0, nlit+ndist)
	for len(lens) < nlit+ndist {
		s, err := cl.decode(r)
		if err != nil {
			return nil, nil, err
		}
		rep, val := 1, s
		switch s {
		case 16:
			if len(lens) == 0 {
				return nil, nil, fmt.Errorf("%w: repeat with nothing before", errInflate)
			}
			val = lens[len(lens)-1]
			x, err := r.read(2)
			rep = 3 + x
			if err != nil {
				return nil, nil, err
			}
		case 17, 18:
			nb, base := 3, 3
			if s == 18 {
				nb, base = 7, 11
			}
			x, err := r.read(nb)
			if err != nil {
				return nil, nil, err
			}
			val, rep = 0, base+x
		}
		for range rep {
			lens = append(lens, val)
		}
	}
	if len(lens) != nlit+ndist {
		return nil, nil, fmt.Errorf("%w: repeat past the end", errInflate)
	}
	if !complete(lens[:nlit]) || !complete(lens[nlit:]) {
		return nil, nil, fmt.Errorf("%w: incomplete code", errInflate)
	}
	return newHuffman(lens[:nlit]), newHuffman(lens[nlit:]), nil
}

// complete reports whether the lengths make a complete prefix code, as the
// compressor promises for every code it writes.
func complete(lens []int) bool {
	sum := 0
	for _, l := range lens {
		if l > 0 {
			sum += 1 << (15 - l)
		}
	}
	return sum == 1<<15
}

func (f *inflater) codes(r *bitReader, lit, dist *huffman) error {
	f.blocks++
	lits, matches := 0, 0
	for {
		s, err := lit.decode(r)
		if err != nil {
			return err
		}
		switch {
		case s < 256:
			f.out = append(f.out, byte(s))
			lits++
			f.mostLits = max(f.mostLits, lits)
			continue
		case s == 256:
			return nil
		case s > 285:
			return fmt.Errorf("%w: length code %d", errInflate, s)
		}
		x, err := r.read(testLenExtra[s-257])
		if err != nil {
			return err
		}
		n := testLenBase[s-257] + x
		ds, err := dist.decode(r)
		if err != nil {
			return err
		}
		if ds >= 30 {
			return fmt.Errorf("%w: distance code %d", errInflate, ds)
		}
		nb := 0
		if ds >= 4 {
			nb = ds/2 - 1
		}
		x, err = r.read(nb)
		if err != nil {
			return err
		}
		d := testDistBase[ds] + x
		if d > len(f.out) {
			return fmt.Errorf("%w: distance %d before the stream", errInflate, d)
		}
		f.maxDist = max(f.maxDist, d)
		matches++
		f.mostMatches = max(f.mostMatches, matches)
		for range n {
			f.out = append(f.out, f.out[len(f.out)-d])
		}
	}
}
