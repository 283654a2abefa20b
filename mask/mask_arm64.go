//go:build !purego

package mask

// xorNEON XORs n bytes at p with key, a 64-bit word of the key rotated to
// the position of p[0] (see word). It takes any n and any alignment.
//
//go:noescape
func xorNEON(p *byte, n int, key uint64)

// haveKernels reports whether applyFast calls a vector kernel.
const haveKernels = true

func applyFast(b []byte, key Key, pos int) int {
	return applyNEON(b, key, pos)
}

func applyNEON(b []byte, key Key, pos int) int {
	if len(b) > 0 {
		xorNEON(&b[0], len(b), word(key, pos))
	}
	return (pos + len(b)) & 3
}
