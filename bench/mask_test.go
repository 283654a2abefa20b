package bench

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/gobwas/ws"

	"github.com/framewire/ws/mask"
)

// maskSizes are the payload sizes of BenchmarkMask: a tiny frame, the
// largest control frame, a typical message, a large message and one that
// no longer fits in L2.
var maskSizes = []int{16, 125, 1 << 10, 64 << 10, 1 << 20}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// maskers are the masking functions compared, each called the way its
// library calls it, always from key phase 0 (lxzan/gws only masks whole
// frames, so it has no phase argument).
var maskers = []struct {
	name  string
	apply func(b []byte, key [4]byte)
}{
	{"framewire", func(b []byte, key [4]byte) { mask.Apply(b, key, 0) }},
	{"gobwas", func(b []byte, key [4]byte) { ws.Cipher(b, key, 0) }},
	{"gorilla", func(b []byte, key [4]byte) { gorillaMaskBytes(key, 0, b) }},
	{"coder", func(b []byte, key [4]byte) { coderMask(b, binary.LittleEndian.Uint32(key[:])) }},
	{"gws", func(b []byte, key [4]byte) { gwsMaskXOR(b, key[:]) }},
}

// TestMaskersAgree checks that every masking function computes the same
// bytes, so the benchmark compares equal work.
func TestMaskersAgree(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for n := range 300 {
		want := make([]byte, n)
		for i := range want {
			want[i] = byte(i*7) ^ key[i%4]
		}
		for _, m := range maskers {
			b := make([]byte, n+1)[1:]
			for i := range b {
				b[i] = byte(i * 7)
			}
			m.apply(b, key)
			if string(b) != string(want) {
				t.Fatalf("%s: length %d: wrong result", m.name, n)
			}
		}
	}
}

// BenchmarkMask measures in-place masking of a hot buffer that starts one
// byte past an allocation (payloads follow a 2-14 byte header, so they are
// rarely aligned).
func BenchmarkMask(b *testing.B) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for _, n := range maskSizes {
		buf := make([]byte, n+1)[1:]
		for _, m := range maskers {
			b.Run(sizeName(n)+"/"+m.name, func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					m.apply(buf, key)
				}
			})
		}
	}
}
