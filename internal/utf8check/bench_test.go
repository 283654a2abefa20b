package utf8check

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// corpus builds n bytes of JSON-like text from a fixed seed: runs of
// characters inside quoted strings, where a character is ASCII with
// probability ascii (in percent) and otherwise a 2-, 3- or 4-byte one in
// the proportions 3:6:1 (Cyrillic, CJK, emoji). The text is cut on a
// character boundary and padded with spaces to exactly n bytes.
func corpus(n, ascii int) []byte {
	r := rand.New(rand.NewPCG(1, uint64(ascii)))
	p := make([]byte, 0, n+utf8.UTFMax)
	p = append(p, '[')
	for len(p) < n {
		p = append(p, `{"k":"`...)
		for range 8 + r.IntN(24) {
			var c rune
			switch k := r.IntN(100); {
			case k < ascii:
				c = rune(' ' + r.IntN(95))
				if c == '"' || c == '\\' {
					c = 'x'
				}
			case k < ascii+(100-ascii)*3/10:
				c = rune(0x0400 + r.IntN(0x100))
			case k < ascii+(100-ascii)*9/10:
				c = rune(0x4E00 + r.IntN(0x5200))
			default:
				c = rune(0x1F600 + r.IntN(0x50))
			}
			p = utf8.AppendRune(p, c)
		}
		p = append(p, `"},`...)
	}
	for len(p) > n || !utf8.Valid(p) {
		p = p[:len(p)-1]
	}
	for len(p) < n {
		p = append(p, ' ')
	}
	return p
}

// benchCorpora are the inputs of BenchmarkValid: pure ASCII, mixed text
// (70% ASCII characters, like JSON with non-Latin strings) and mostly
// multi-byte text (5% ASCII, CJK-like), each at 1 KiB and 64 KiB.
var benchCorpora = []struct {
	name string
	in   []byte
}{
	{"ASCII/1KiB", corpus(1<<10, 100)},
	{"ASCII/64KiB", corpus(64<<10, 100)},
	{"Mixed/1KiB", corpus(1<<10, 70)},
	{"Mixed/64KiB", corpus(64<<10, 70)},
	{"CJK/1KiB", corpus(1<<10, 5)},
	{"CJK/64KiB", corpus(64<<10, 5)},
}

// streamChunk is the piece size the streaming benchmark writes, the size
// of a connection's read buffer; most pieces cut a character in two.
const streamChunk = 4 << 10

// BenchmarkValid measures Valid and the streaming Validator against
// unicode/utf8.Valid and against copying the same bytes (memmove), in
// the same run, so that ratios can be read from one output.
func BenchmarkValid(b *testing.B) {
	for _, c := range benchCorpora {
		if !utf8.Valid(c.in) {
			b.Fatalf("%s: corpus is not valid UTF-8", c.name)
		}
		b.Run(c.name+"/utf8check", func(b *testing.B) {
			b.SetBytes(int64(len(c.in)))
			b.ReportAllocs()
			for b.Loop() {
				if !Valid(c.in) {
					b.Fatal("invalid")
				}
			}
		})
		b.Run(c.name+"/Validator", func(b *testing.B) {
			b.SetBytes(int64(len(c.in)))
			b.ReportAllocs()
			var v Validator
			for b.Loop() {
				v.Reset()
				for p := c.in; len(p) > 0; {
					n := min(streamChunk, len(p))
					if !v.Write(p[:n]) {
						b.Fatal("invalid")
					}
					p = p[n:]
				}
				if !v.Complete() {
					b.Fatal("incomplete")
				}
			}
		})
		b.Run(c.name+"/unicode-utf8", func(b *testing.B) {
			b.SetBytes(int64(len(c.in)))
			b.ReportAllocs()
			for b.Loop() {
				if !utf8.Valid(c.in) {
					b.Fatal("invalid")
				}
			}
		})
		b.Run(c.name+"/memmove", func(b *testing.B) {
			dst := make([]byte, len(c.in))
			b.SetBytes(int64(len(c.in)))
			b.ReportAllocs()
			for b.Loop() {
				copy(dst, c.in)
			}
		})
	}
}
