//go:build !purego

package mask

import "golang.org/x/sys/cpu"

// The kernels XOR n bytes at p with key, a 64-bit word of the key rotated to
// the position of p[0] (see word). They take any n and any alignment.
//
//go:noescape
func xorSSE2(p *byte, n int, key uint64)

//go:noescape
func xorAVX2(p *byte, n int, key uint64)

//go:noescape
func xorAVX512(p *byte, n int, key uint64)

// The CPU is asked once, when the program starts; these never change after.
var (
	hasAVX2   = cpu.X86.HasAVX2
	hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW
)

// haveKernels reports whether applyFast calls a vector kernel.
const haveKernels = true

func applyFast(b []byte, key Key, pos int) int {
	switch {
	case hasAVX512:
		return applyAVX512(b, key, pos)
	case hasAVX2:
		return applyAVX2(b, key, pos)
	default:
		return applySSE2(b, key, pos)
	}
}

func applySSE2(b []byte, key Key, pos int) int {
	if len(b) > 0 {
		xorSSE2(&b[0], len(b), word(key, pos))
	}
	return (pos + len(b)) & 3
}

func applyAVX2(b []byte, key Key, pos int) int {
	if len(b) > 0 {
		xorAVX2(&b[0], len(b), word(key, pos))
	}
	return (pos + len(b)) & 3
}

func applyAVX512(b []byte, key Key, pos int) int {
	if len(b) > 0 {
		xorAVX512(&b[0], len(b), word(key, pos))
	}
	return (pos + len(b)) & 3
}
