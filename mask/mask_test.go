package mask

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"
	"unsafe"
)

type kernel struct {
	name  string
	apply func(b []byte, key Key, pos int) int
}

// kernels lists every implementation that must agree with applyBytes:
// Apply itself, the reference, and each vector kernel this CPU can run.
func kernels() []kernel {
	return append([]kernel{
		{"Apply", Apply},
		{"generic", applyGeneric},
	}, archKernels()...)
}

// kernelFunc gives a vector kernel the signature of Apply, calling it for
// every length, 0 included, unlike Apply.
func kernelFunc(xor func(p *byte, n int, key uint64)) func([]byte, Key, int) int {
	return func(b []byte, key Key, pos int) int {
		xor(unsafe.SliceData(b), len(b), word(key, pos))
		return (pos + len(b)) & 3
	}
}

// applyBytes is the test oracle: RFC 6455 §5.3 read literally, one byte at
// a time.
func applyBytes(b []byte, key Key, pos int) int {
	for i := range b {
		b[i] ^= key[(pos+i)%4]
	}
	return (pos + len(b)) % 4
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Wire vectors: each row is read both ways, plain -> masked and back.
var vectors = []struct {
	name   string
	key    Key
	plain  string
	masked string // hex
}{
	{"RFC 6455 §5.7 masked Hello", Key{0x37, 0xfa, 0x21, 0x3d}, "Hello", "7f9f4d5158"},
	{"websocket-client send Hello", Key{'a', 'b', 'c', 'd'}, "Hello", "29070f080e"},
	{"websocket-client send こんにちは", Key{'a', 'b', 'c', 'd'}, "こんにちは", "82e3f087e3f180e5ca81e2c582e3cc"},
	{"websocket-client pong", Key{'a', 'b', 'c', 'd'}, "Please PONG this", "310e0605120743342e2c2444150a0a17"},
	{"empty payload", Key{'a', 'b', 'c', 'd'}, "", ""},
	{"zero key leaves data", Key{}, "data", "64617461"},
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		want := unhex(t, v.masked)
		for _, k := range kernels() {
			t.Run(v.name+"/"+k.name, func(t *testing.T) {
				b := []byte(v.plain)
				if next := k.apply(b, v.key, 0); next != len(v.plain)%4 {
					t.Errorf("mask: next position %d, want %d", next, len(v.plain)%4)
				}
				if !bytes.Equal(b, want) {
					t.Errorf("mask(%q) = %x, want %x", v.plain, b, want)
				}
				k.apply(b, v.key, 0)
				if string(b) != v.plain {
					t.Errorf("unmask(%s) = %q, want %q", v.masked, b, v.plain)
				}
			})
		}
	}
}

// TestVectorsInPieces masks each vector one split at a time, resuming from
// the position each call returns.
func TestVectorsInPieces(t *testing.T) {
	for _, v := range vectors {
		want := unhex(t, v.masked)
		for split := 0; split <= len(v.plain); split++ {
			for _, k := range kernels() {
				b := []byte(v.plain)
				pos := k.apply(b[:split], v.key, 0)
				k.apply(b[split:], v.key, pos)
				if !bytes.Equal(b, want) {
					t.Errorf("%s/%s split at %d: got %x, want %x", v.name, k.name, split, b, want)
				}
			}
		}
	}
}

// TestAllShapes checks every kernel against applyBytes for every length
// 0-300, every start offset 0-15 within a buffer and every key position,
// and that no byte outside the slice changes.
func TestAllShapes(t *testing.T) {
	const maxLen, maxOff, guard = 300, 64, 64
	key := Key{0x37, 0xfa, 0x21, 0x3d}
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]byte, guard+maxOff+maxLen+guard)
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	got := make([]byte, len(src))
	want := make([]byte, len(src))
	for _, k := range kernels() {
		for n := 0; n <= maxLen; n++ {
			for off := range maxOff {
				for pos := range 4 {
					copy(got, src)
					copy(want, src)
					lo, hi := guard+off, guard+off+n
					gotNext := k.apply(got[lo:hi:hi], key, pos)
					wantNext := applyBytes(want[lo:hi], key, pos)
					if gotNext != wantNext || !bytes.Equal(got, want) {
						t.Fatalf("%s: len %d offset %d pos %d: next %d, want %d; bytes differ at %d",
							k.name, n, off, pos, gotNext, wantNext, firstDiff(got, want)-lo)
					}
				}
			}
		}
	}
}

// TestLarge covers the unrolled loops with lengths around their block sizes
// and well beyond, at odd offsets and every key position.
func TestLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lengths := []int{511, 512, 513, 1023, 1024, 1025, 4095, 4096 + 3, 65536 + 61, 1<<20 + 7}
	for range 20 {
		lengths = append(lengths, 300+rng.IntN(20000))
	}
	for _, k := range kernels() {
		for _, n := range lengths {
			off := rng.IntN(64)
			pos := rng.IntN(4)
			key := Key{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}
			src := make([]byte, off+n+8)
			for i := range src {
				src[i] = byte(rng.Uint32())
			}
			got := bytes.Clone(src)
			want := bytes.Clone(src)
			gotNext := k.apply(got[off:off+n], key, pos)
			wantNext := applyBytes(want[off:off+n], key, pos)
			if gotNext != wantNext || !bytes.Equal(got, want) {
				t.Fatalf("%s: len %d offset %d pos %d: next %d, want %d; bytes differ at %d",
					k.name, n, off, pos, gotNext, wantNext, firstDiff(got, want)-off)
			}
		}
	}
}

// TestPosition checks that only the two low bits of pos count.
func TestPosition(t *testing.T) {
	key := Key{1, 2, 3, 4}
	for _, pos := range []int{-5, -1, 4, 7, 1 << 30} {
		for _, n := range []int{3, 40} {
			for _, k := range kernels() {
				got := make([]byte, n)
				want := make([]byte, n)
				gotNext := k.apply(got, key, pos)
				wantNext := applyBytes(want, key, pos&3)
				if gotNext != wantNext || !bytes.Equal(got, want) {
					t.Errorf("%s: len %d pos %d: got %x next %d, want %x next %d", k.name, n, pos, got, gotNext, want, wantNext)
				}
			}
		}
	}
}

func TestApplyAllocs(t *testing.T) {
	b := make([]byte, 4096)
	key := Key{1, 2, 3, 4}
	for _, n := range []int{0, 7, 125, 4096} {
		if a := testing.AllocsPerRun(100, func() { Apply(b[:n], key, 1) }); a != 0 {
			t.Errorf("Apply of %d bytes: %v allocations, want 0", n, a)
		}
	}
}

func FuzzApply(f *testing.F) {
	f.Add([]byte("Hello"), uint32(0x3d21fa37), uint8(0), uint8(0))
	f.Add(bytes.Repeat([]byte{0x55}, 300), uint32(0x64636261), uint8(3), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, key32 uint32, pos, off uint8) {
		key := Key{byte(key32), byte(key32 >> 8), byte(key32 >> 16), byte(key32 >> 24)}
		p := int(pos & 3)
		o := int(off % 64)
		want := bytes.Clone(data)
		wantNext := applyBytes(want, key, p)
		for _, k := range kernels() {
			buf := make([]byte, o+len(data)+o)
			copy(buf[o:], data)
			got := buf[o : o+len(data) : o+len(data)]
			if next := k.apply(got, key, p); next != wantNext {
				t.Errorf("%s: next position %d, want %d", k.name, next, wantNext)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: len %d offset %d pos %d: bytes differ at %d", k.name, len(data), o, p, firstDiff(got, want))
			}
			if firstDiff(buf[:o], make([]byte, o)) != o || firstDiff(buf[o+len(data):], make([]byte, o)) != o {
				t.Errorf("%s: wrote outside the slice", k.name)
			}
		}
	})
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
