package mask

import (
	"fmt"
	"testing"
)

var benchSizes = []int{16, 125, 1 << 10, 64 << 10, 1 << 20}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkApply measures in-place masking of a hot buffer with Apply (the
// dispatcher), each kernel this CPU can run and the word-wise reference,
// next to copy() of the same size as the yardstick. The buffer starts one
// byte past an allocation and the key at position 1, so neither alignment
// nor phase is the easy case.
func BenchmarkApply(b *testing.B) {
	key := Key{0x37, 0xfa, 0x21, 0x3d}
	for _, n := range benchSizes {
		buf := make([]byte, n+1)[1:]
		b.Run(sizeName(n), func(b *testing.B) {
			for _, k := range kernels() {
				b.Run(k.name, func(b *testing.B) {
					b.SetBytes(int64(n))
					b.ReportAllocs()
					for b.Loop() {
						k.apply(buf, key, 1)
					}
				})
			}
			b.Run("copy", func(b *testing.B) {
				dst := make([]byte, n+1)[1:]
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					copy(dst, buf)
				}
			})
		})
	}
}

func BenchmarkSourceKey(b *testing.B) {
	s := NewSource()
	b.ReportAllocs()
	var sink Key
	for b.Loop() {
		sink = s.Key()
	}
	_ = sink
}
