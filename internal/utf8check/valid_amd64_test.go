//go:build !purego

package utf8check

import (
	"bytes"
	"testing"
	"unicode/utf8"
	"unsafe"
)

func TestKernelLayout(t *testing.T) {
	// The offsets valid_amd64.s reads.
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"prevHigh", unsafe.Offsetof(kernel.prevHigh), 0},
		{"prevLow", unsafe.Offsetof(kernel.prevLow), 16},
		{"curHigh", unsafe.Offsetof(kernel.curHigh), 32},
		{"endMax", unsafe.Offsetof(kernel.endMax), 48},
		{"nibble", unsafe.Offsetof(kernel.nibble), 80},
		{"third", unsafe.Offsetof(kernel.third), 81},
		{"fourth", unsafe.Offsetof(kernel.fourth), 82},
		{"highBit", unsafe.Offsetof(kernel.highBit), 83},
	} {
		if c.got != c.want {
			t.Errorf("kernel.%s at offset %d, the assembly reads %d", c.name, c.got, c.want)
		}
	}
}

func needAVX2(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2 on this CPU")
	}
}

// kernelPositions are where the kernel tests put their bytes in a 96-byte
// ASCII text: the start, across the first block boundary, in the block
// checked when more than 32 bytes are left, across the start of the last
// (overlapping) block, and at the very end.
var kernelPositions = []int{0, 29, 30, 31, 62, 63, 64, 65, 93}

// TestKernelAllTriples runs the kernel on three-byte strings put at each
// of kernelPositions and compares with unicode/utf8: ASCII around them
// changes nothing, so the verdict is that of the three bytes. The first
// byte is every non-ASCII byte and three ASCII ones (the quads below cover
// the ASCII classes); the other two are every byte.
func TestKernelAllTriples(t *testing.T) {
	needAVX2(t)
	step := 1
	if testing.Short() {
		step = 7
	}
	firsts := []byte{0x00, 0x41, 0x7F}
	for c := 0x80; c <= 0xFF; c++ {
		firsts = append(firsts, byte(c))
	}
	buf := bytes.Repeat([]byte("a"), 96)
	for _, a := range firsts {
		for x := 0; x < 1<<16; x += step {
			tri := []byte{a, byte(x >> 8), byte(x)}
			want := utf8.Valid(tri)
			for _, at := range kernelPositions {
				copy(buf[at:], tri)
				if got := validAVX2(&buf[0], len(buf)); got != want {
					t.Fatalf("bytes %x at %d: kernel says %v, utf8.Valid %v", tri, at, got, want)
				}
				copy(buf[at:], "aaa")
			}
		}
	}
}

// classBytes holds each end of every range RFC 3629 §4 distinguishes, and
// of every nibble the kernel's tables are indexed by.
var classBytes = []byte{
	0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2,
	0xCF, 0xD0, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3,
	0xF4, 0xF5, 0xF7, 0xF8, 0xFF,
}

// TestKernelClassQuads runs the kernel on every four-byte string of
// classBytes, at each of kernelPositions and as the whole text of each
// length from 64 to 70 with the string at the end.
func TestKernelClassQuads(t *testing.T) {
	needAVX2(t)
	buf := bytes.Repeat([]byte("a"), 96)
	q := make([]byte, 4)
	for _, a := range classBytes {
		for _, b := range classBytes {
			for _, c := range classBytes {
				for _, d := range classBytes {
					q[0], q[1], q[2], q[3] = a, b, c, d
					want := utf8.Valid(q)
					for _, at := range kernelPositions[:len(kernelPositions)-1] {
						copy(buf[at:], q)
						if got := validAVX2(&buf[0], len(buf)); got != want {
							t.Fatalf("bytes %x at %d: kernel says %v, utf8.Valid %v", q, at, got, want)
						}
						copy(buf[at:], "aaaa")
					}
					for n := 64; n <= 70; n++ {
						copy(buf[n-4:], q)
						if got := validAVX2(&buf[0], n); got != want {
							t.Fatalf("bytes %x ending %d bytes: kernel says %v, utf8.Valid %v", q, n, got, want)
						}
						copy(buf[n-4:], "aaaa")
					}
				}
			}
		}
	}
}

// TestKernelMutations breaks a long mixed text at every position with each
// of a few bytes and compares Valid and a Validator fed in large pieces
// with unicode/utf8.
func TestKernelMutations(t *testing.T) {
	needAVX2(t)
	text := corpus(300, 70)
	for at := range text {
		for _, c := range []byte{0x41, 0x80, 0xBF, 0xC0, 0xE0, 0xED, 0xF4, 0xFF} {
			p := bytes.Clone(text)
			p[at] = c
			if got, want := Valid(p), utf8.Valid(p); got != want {
				t.Fatalf("byte %d set to %x: Valid = %v, utf8.Valid = %v", at, c, got, want)
			}
			checkSplits(t, p, []byte{99, 200, 70})
		}
	}
}
