package utf8check

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// cases are RFC 3629 boundary rows and websocket-client's validator tests.
var cases = []struct {
	name string
	in   string
	ok   bool
	// failAt is the index of the byte that makes the input invalid, or -1
	// when no byte does (valid, or valid so far but truncated).
	failAt int
}{
	{"empty", "", true, -1},
	{"ascii", "Hello, World", true, -1},
	{"2-byte", "\u00e9", true, -1},
	{"3-byte", "\u3053\u3093\u306b\u3061\u306f", true, -1},
	{"4-byte (websocket-client)", "\xf0\x90\x80\x80", true, -1},
	{"U+10FFFF", "\xf4\x8f\xbf\xbf", true, -1},
	{"U+FFFF", "\xef\xbf\xbf", true, -1},
	{"U+D7FF", "\xed\x9f\xbf", true, -1},
	{"U+E000", "\xee\x80\x80", true, -1},
	{"surrogate (websocket-client)", "\xed\xa0\x80", false, 1},
	{"above U+10FFFF", "\xf4\x90\x80\x80", false, 1},
	{"F5", "a\xf5\x80\x80\x80", false, 1},
	{"FF", "\xff", false, 0},
	{"overlong C0", "\xc0\xaf", false, 0},
	{"overlong C1", "\xc1\xbf", false, 0},
	{"overlong E0", "\xe0\x80\xaf", false, 1},
	{"overlong F0", "\xf0\x80\x80\xaf", false, 1},
	{"lone continuation", "ab\x80", false, 2},
	{"bad third byte", "\xe2\x82A", false, 2},
	{"bad fourth byte", "\xf0\x90\x80A", false, 3},
	{"truncated 3-byte (websocket-client passes)", "ab\xe2\x82", false, -1},
	{"truncated 4-byte", "\xf0\x90\x80", false, -1},
	{"autobahn 6.4.1", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64\x69\x74\x65\x64", false, 12},
	{"long ascii then bad", strings.Repeat("a", 37) + "\xff", false, 37},
	{"long mixed", strings.Repeat("ab\u00e9\u3053\U0001F600", 20), true, -1},
}

func TestValid(t *testing.T) {
	for _, c := range cases {
		if got := Valid([]byte(c.in)); got != c.ok {
			t.Errorf("%s: Valid(%q) = %v, want %v", c.name, c.in, got, c.ok)
		}
		if got := validRef([]byte(c.in)); got != c.ok {
			t.Errorf("%s: validRef(%q) = %v, want %v", c.name, c.in, got, c.ok)
		}
		if want := utf8.ValidString(c.in); want != c.ok {
			t.Errorf("%s: table disagrees with unicode/utf8", c.name)
		}
	}
}

func TestValidatorByteAtATime(t *testing.T) {
	for _, c := range cases {
		var v Validator
		failed := -1
		for i := 0; i < len(c.in); i++ {
			if !v.Write([]byte{c.in[i]}) {
				failed = i
				break
			}
		}
		if failed != c.failAt {
			t.Errorf("%s: failed at byte %d, want %d", c.name, failed, c.failAt)
		}
		if v.Complete() != c.ok {
			t.Errorf("%s: Complete() = %v, want %v", c.name, v.Complete(), c.ok)
		}
		if failed >= 0 && v.Write([]byte("a")) {
			t.Errorf("%s: Write after a failure succeeded", c.name)
		}
		v.Reset()
		if !v.Write([]byte("ok")) || !v.Complete() {
			t.Errorf("%s: Reset did not clear the state", c.name)
		}
	}
}

// firstBad returns the index of the byte at which p stops being a prefix of
// some valid UTF-8 text, or -1. It uses only unicode/utf8's own analysis.
func firstBad(p []byte) int {
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		if r != utf8.RuneError || size != 1 {
			i += size
			continue
		}
		// p[i:] does not start with a valid encoding. If it is a
		// complete (invalid) one, find the byte that broke it: the
		// shortest prefix of the tail that utf8 already calls full.
		if !utf8.FullRune(p[i:]) {
			return -1 // truncated but viable to the end
		}
		for j := i + 1; j <= len(p); j++ {
			if utf8.FullRune(p[i:j]) {
				return j - 1
			}
		}
	}
	return -1
}

// checkSplits feeds p to a Validator in pieces whose sizes come from cuts
// (a byte c means c+1 bytes; one byte each once cuts runs out) and compares the verdicts with unicode/utf8.
func checkSplits(t *testing.T, p, cuts []byte) {
	t.Helper()
	want := firstBad(p)
	var v Validator
	pos := 0
	k := 0
	for pos < len(p) {
		n := 1
		if k < len(cuts) {
			n = int(cuts[k]) + 1
			k++
		}
		n = min(n, len(p)-pos)
		ok := v.Write(p[pos : pos+n])
		end := pos + n
		switch {
		case want >= 0 && want < end:
			if ok {
				t.Fatalf("%x: piece [%d:%d] holds bad byte %d but Write returned true", p, pos, end, want)
			}
			if v.Complete() {
				t.Fatalf("%x: Complete after failure", p)
			}
			return
		case !ok:
			t.Fatalf("%x: piece [%d:%d] rejected, first bad byte is %d", p, pos, end, want)
		}
		pos = end
	}
	if v.Complete() != utf8.Valid(p) {
		t.Fatalf("%x: Complete() = %v, utf8.Valid = %v", p, v.Complete(), utf8.Valid(p))
	}
}

func TestValidatorSplits(t *testing.T) {
	for _, c := range cases {
		p := []byte(c.in)
		for n := 1; n <= 17; n++ {
			checkSplits(t, p, bytes.Repeat([]byte{byte(n - 1)}, len(p)))
		}
	}
}

func TestFirstBadAgreesWithTable(t *testing.T) {
	for _, c := range cases {
		if got := firstBad([]byte(c.in)); got != c.failAt {
			t.Errorf("%s: firstBad = %d, table says %d", c.name, got, c.failAt)
		}
	}
}

func TestAllShortSequences(t *testing.T) {
	// Every 1- and 2-byte input and every 3-byte input whose first byte is
	// not ASCII, each with an ASCII run in front to engage the fast path.
	pad := []byte("0123456789abcdef0")
	buf := make([]byte, 0, 32)
	for a := 0; a < 256; a++ {
		for b := 0; b < 256; b++ {
			buf = append(append(buf[:0], pad...), byte(a), byte(b))
			if Valid(buf) != utf8.Valid(buf) {
				t.Fatalf("Valid(%x) disagrees", buf)
			}
			if a < 0x80 {
				continue
			}
			for c := 0x7F; c <= 0xC0; c++ {
				buf = append(buf[:len(pad)+2], byte(c), 0x80)
				if Valid(buf) != utf8.Valid(buf) {
					t.Fatalf("Valid(%x) disagrees", buf)
				}
				checkSplits(t, buf, []byte{16, 0, 0, 0})
			}
		}
	}
}

// fuzzSeeds are the seeds of both fuzz targets besides the table: texts
// long enough for the bulk path, with and without a bad byte near a block
// boundary and at the end.
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	for _, c := range cases {
		seeds = append(seeds, []byte(c.in))
	}
	long := corpus(200, 70)
	seeds = append(seeds, long)
	for _, at := range []int{31, 32, 63, 64, 199} {
		p := bytes.Clone(long)
		p[at] = 0xC0
		seeds = append(seeds, p)
	}
	return append(seeds, append(corpus(130, 5), 0xF0, 0x9F))
}

// FuzzValid compares Valid with unicode/utf8.Valid on p, on every prefix
// and suffix of p (every length, and every offset from the start), and on
// p behind every number of ASCII bytes up to 64 (every position relative to
// the kernel's 32-byte blocks), padded so the bulk path runs.
func FuzzValid(f *testing.F) {
	for _, p := range fuzzSeeds() {
		f.Add(p)
	}
	pad := bytes.Repeat([]byte("a"), 64)
	f.Fuzz(func(t *testing.T, p []byte) {
		want := utf8.Valid(p)
		if got := Valid(p); got != want {
			t.Fatalf("Valid(%x) = %v, utf8.Valid = %v", p, got, want)
		}
		if got := validRef(p); got != want {
			t.Fatalf("validRef(%x) = %v, utf8.Valid = %v", p, got, want)
		}
		for i := range len(p) {
			if got, want := Valid(p[i:]), utf8.Valid(p[i:]); got != want {
				t.Fatalf("Valid(%x) = %v, utf8.Valid = %v", p[i:], got, want)
			}
			if got, want := Valid(p[:i]), utf8.Valid(p[:i]); got != want {
				t.Fatalf("Valid(%x) = %v, utf8.Valid = %v", p[:i], got, want)
			}
		}
		buf := make([]byte, 0, 2*len(pad)+len(p))
		for k := range len(pad) {
			buf = append(append(append(buf[:0], pad[:k]...), p...), pad...)
			if got := Valid(buf); got != want {
				t.Fatalf("Valid(%x) = %v, utf8.Valid = %v", buf, got, want)
			}
		}
	})
}

// FuzzValidator feeds p to a Validator in pieces cut where cuts says (1 to
// 256 bytes each) and compares each verdict with unicode/utf8.
func FuzzValidator(f *testing.F) {
	for _, p := range fuzzSeeds() {
		f.Add(p, []byte{0, 1, 2, 3})
		f.Add(p, []byte{70, 5, 99})
	}
	f.Fuzz(func(t *testing.T, p, cuts []byte) {
		checkSplits(t, p, cuts)
	})
}

// TestEveryPosition puts one non-ASCII byte, or one two-byte character, at
// every position of ASCII texts of every length up to 200 (past the 64
// bytes from which the fast path hands whole texts to validComplete, and
// over several of the kernel's 32-byte blocks), whole and
// after a character left open by the previous Write. A scan that
// steps over any byte of a word (the first one included) accepts a text
// with a bad byte there.
func TestEveryPosition(t *testing.T) {
	for n := 1; n <= 200; n++ {
		for k := range n {
			for _, row := range []struct {
				ins string
				ok  bool
			}{
				{"\x80", false}, // lone continuation byte
				{"\xff", false}, // never in UTF-8
				{"\xc3", false}, // leading byte followed by ASCII
				{"\u00e9", true},
			} {
				p := bytes.Repeat([]byte("a"), n)
				p = append(p[:k], append([]byte(row.ins), p[k+1:]...)...)
				if got := Valid(p); got != row.ok {
					t.Fatalf("Valid(%x) = %v, want %v", p, got, row.ok)
				}
				var v Validator
				if !v.Write([]byte("\xe2\x82")) {
					t.Fatal("open sequence rejected")
				}
				got := v.Write(append([]byte{0xac}, p...)) && v.Complete()
				if got != row.ok {
					t.Fatalf("Write(\\xe2\\x82) then Write(\\xac%x): %v, want %v", p, got, row.ok)
				}
			}
		}
	}
}
