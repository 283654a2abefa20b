package utf8check

// A sequence is checked with two facts taken from its first byte: how many
// continuation bytes follow, and the range the first continuation byte must
// fall in (RFC 3629 §4). Later continuation bytes are always 0x80-0xBF.
//
// The first-byte table packs both facts into one byte: the low two bits hold
// the number of continuation bytes (0 for ASCII) and the upper bits index
// ranges. The value bad marks a byte that can never start a sequence.
const bad = 0xFF

const (
	rangeTail = iota // 80..BF
	rangeE0          // A0..BF: no overlong 3-byte forms
	rangeED          // 80..9F: no surrogates
	rangeF0          // 90..BF: no overlong 4-byte forms
	rangeF4          // 80..8F: nothing above U+10FFFF
)

// ranges gives the allowed [lo, hi] of the first continuation byte for each
// range index.
var ranges = [...][2]byte{
	rangeTail: {0x80, 0xBF},
	rangeE0:   {0xA0, 0xBF},
	rangeED:   {0x80, 0x9F},
	rangeF0:   {0x90, 0xBF},
	rangeF4:   {0x80, 0x8F},
}

// first classifies every possible first byte. It is built once and never
// changes.
var first = buildFirst()

func buildFirst() [256]byte {
	var t [256]byte
	for i := range t {
		c := byte(i)
		switch {
		case c < 0x80:
			t[i] = 0
		case c < 0xC2: // continuation bytes and the overlong C0, C1
			t[i] = bad
		case c < 0xE0:
			t[i] = rangeTail<<2 | 1
		case c == 0xE0:
			t[i] = rangeE0<<2 | 2
		case c == 0xED:
			t[i] = rangeED<<2 | 2
		case c < 0xF0:
			t[i] = rangeTail<<2 | 2
		case c == 0xF0:
			t[i] = rangeF0<<2 | 3
		case c < 0xF4:
			t[i] = rangeTail<<2 | 3
		case c == 0xF4:
			t[i] = rangeF4<<2 | 3
		default: // F5..FF
			t[i] = bad
		}
	}
	return t
}

// validRef is the byte-at-a-time reference implementation of [Valid].
func validRef(p []byte) bool {
	var v Validator
	return v.writeRef(p) && v.Complete()
}

// Validator checks UTF-8 that arrives in pieces. The zero Validator is ready
// to use and expects the start of a character. A Validator is not safe for
// concurrent use.
type Validator struct {
	need   uint8 // continuation bytes still expected
	lo, hi byte  // range of the next continuation byte
	failed bool
}

// Write checks the next piece of input. It returns false as soon as the
// input seen so far, p included, cannot be the start of valid UTF-8, and
// keeps returning false until [Validator.Reset].
func (v *Validator) Write(p []byte) bool {
	return v.write(p)
}

// Complete reports whether the input seen so far is valid UTF-8 that ends on
// a character boundary: false after a failure or inside a multi-byte
// sequence.
func (v *Validator) Complete() bool {
	return !v.failed && v.need == 0
}

// Reset forgets all input, ready for a new text.
func (v *Validator) Reset() {
	*v = Validator{}
}

// writeRef is the byte-at-a-time reference for Write.
func (v *Validator) writeRef(p []byte) bool {
	if v.failed {
		return false
	}
	for i := 0; i < len(p); i++ {
		if !v.step(p[i]) {
			return false
		}
	}
	return true
}

// step feeds one byte; it records and reports a failure.
func (v *Validator) step(c byte) bool {
	if v.need == 0 {
		if c < 0x80 {
			return true
		}
		t := first[c]
		if t == bad {
			v.failed = true
			return false
		}
		v.need = t & 3
		r := ranges[t>>2]
		v.lo, v.hi = r[0], r[1]
		return true
	}
	if c < v.lo || c > v.hi {
		v.failed = true
		return false
	}
	v.need--
	v.lo, v.hi = 0x80, 0xBF
	return true
}
