//go:build !purego

package mask

import "golang.org/x/sys/cpu"

// The kernels XOR the n bytes at p with key, a key word for the position of
// p[0] (see word). They take any n, including 0, and any alignment; they are
// in mask_amd64.s.
//
//go:noescape
func xorSSE2(p *byte, n int, key uint64)

//go:noescape
func xorAVX2(p *byte, n int, key uint64)

//go:noescape
func xorAVX512(p *byte, n int, key uint64)

// The CPU is asked once, when the program starts; these never change after.
// SSE2 is part of amd64, so it needs no check.
var (
	hasAVX2   = cpu.X86.HasAVX2
	hasAVX512 = cpu.X86.HasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW
)

// avx512Min is the length from which AVX-512 is used where AVX2 also is.
// Below it the AVX2 kernel is as fast or faster: its head and tail are
// 32-byte vectors, and a 64-byte one crosses a cache line at almost every
// start address. Measured on an AMD EPYC (Zen 4 class), the two kernels
// reach the same speed from 4 KiB on.
const avx512Min = 4096

// haveKernels reports whether applyFast calls a vector kernel.
const haveKernels = true

func applyFast(b []byte, key Key, pos int) int {
	if len(b) == 0 {
		return pos & 3
	}
	k := word(key, pos)
	switch {
	case hasAVX512 && len(b) >= avx512Min:
		xorAVX512(&b[0], len(b), k)
	case hasAVX2:
		xorAVX2(&b[0], len(b), k)
	default:
		xorSSE2(&b[0], len(b), k)
	}
	return (pos + len(b)) & 3
}
