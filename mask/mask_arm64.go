//go:build !purego

package mask

// xorNEON XORs the n bytes at p with key, a key word for the position of
// p[0] (see word). It takes any n, including 0, and any alignment; it is in
// mask_arm64.s.
//
//go:noescape
func xorNEON(p *byte, n int, key uint64)

// haveKernels reports whether applyFast calls a vector kernel.
const haveKernels = true

func applyFast(b []byte, key Key, pos int) int {
	if len(b) == 0 {
		return pos & 3
	}
	xorNEON(&b[0], len(b), word(key, pos))
	return (pos + len(b)) & 3
}
