package mask

import ("testing";"fmt")

func BenchmarkTmpAlign(b *testing.B) {
	key := Key{0x37, 0xfa, 0x21, 0x3d}
	for _, n := range []int{1024, 64<<10} {
		for _, off := range []int{0, 1, 32} {
			buf := make([]byte, n+64)[off:off+n]
			for _, k := range kernels()[2:] {
				b.Run(fmt.Sprintf("%d/%d/%s", n, off, k.name), func(b *testing.B) {
					b.SetBytes(int64(n))
					for b.Loop() { k.apply(buf, key, 1) }
				})
			}
			b.Run(fmt.Sprintf("%d/%d/copy", n, off), func(b *testing.B) {
				dst := make([]byte, n+64)[off:off+n]
				b.SetBytes(int64(n))
				for b.Loop() { copy(dst, buf) }
			})
		}
	}
}
