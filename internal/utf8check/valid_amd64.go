//go:build !purego

package utf8check

import (
	"unicode/utf8"

	"golang.org/x/sys/cpu"
)

// validAVX2 reports whether the n bytes at p are well-formed UTF-8 that
// ends on a character boundary. It needs n >= kernelMin; it is in
// valid_amd64.s and reads kernel.
//
//go:noescape
func validAVX2(p *byte, n int) bool

// hasAVX2 is read from the CPU once, when the program starts, and never
// changes after.
var hasAVX2 = cpu.X86.HasAVX2

// kernelMin is the shortest input validAVX2 takes: its last 32-byte block
// may overlap the one before, and the 32 bytes in front of it must be
// part of the input.
const kernelMin = 64

// validComplete reports whether q, which starts on a character boundary,
// is well-formed UTF-8 that ends on one.
func validComplete(q []byte) bool {
	if hasAVX2 && len(q) >= kernelMin {
		return validAVX2(&q[0], len(q))
	}
	return utf8.Valid(q)
}

// The kernel looks at every byte together with the three bytes before it
// (the previous block supplies them for the first bytes of a block). Two
// adjacent bytes, prev and cur, are classified by three 16-entry tables,
// indexed by prev's high nibble, prev's low nibble and cur's high nibble;
// each entry is a set of the error bits below, and a pair is in error
// when the three sets share a bit. Each bit names a rule of RFC 3629 §4
// and is set, in each table, for exactly the nibbles the rule involves.
const (
	errTooShort  = 1 << iota // a leading byte not followed by a continuation byte
	errTooLong               // a continuation byte after ASCII
	errOverlong3             // E0 80..9F
	errTooLarge              // F4 90..BF, F5..FF 90..BF
	errSurrogate             // ED A0..BF
	errOverlong2             // C0, C1 then a continuation byte
	errOverlong4             // F0 80..8F, and F5..FF 80..8F (beyond U+10FFFF)
	// errTwoConts marks a continuation byte after a continuation byte.
	// That pair is legal exactly when the byte two or three back is the
	// leading byte of a 3- or 4-byte sequence, which the kernel checks
	// separately: the two facts must agree.
	errTwoConts

	// errAny is set for every low nibble of prev: the rules above that
	// depend only on the high nibbles.
	errAny = errTooShort | errTooLong | errTwoConts
)

// kernelTables is the constant data of validAVX2; the offsets of its
// fields are written in valid_amd64.s.
type kernelTables struct {
	prevHigh [16]byte // offset 0
	prevLow  [16]byte // offset 16
	curHigh  [16]byte // offset 32
	// endMax holds, for the last three bytes of a 32-byte block, the
	// largest value that does not start a sequence running past the
	// block's end (0xFF elsewhere). offset 48
	endMax [32]byte
	// Bytes the kernel broadcasts. offset 80
	nibble  byte // 0x0F
	third   byte // 0xE0-0x80: a byte two back at or above 0xE0 saturates past 0x7F
	fourth  byte // 0xF0-0x80: likewise three back at or above 0xF0
	highBit byte // 0x80
}

var kernel = kernelTables{
	prevHigh: [16]byte{
		0x0: errTooLong, 0x1: errTooLong, 0x2: errTooLong, 0x3: errTooLong,
		0x4: errTooLong, 0x5: errTooLong, 0x6: errTooLong, 0x7: errTooLong,
		0x8: errTwoConts, 0x9: errTwoConts, 0xA: errTwoConts, 0xB: errTwoConts,
		0xC: errTooShort | errOverlong2,
		0xD: errTooShort,
		0xE: errTooShort | errOverlong3 | errSurrogate,
		0xF: errTooShort | errTooLarge | errOverlong4,
	},
	prevLow: [16]byte{
		0x0: errAny | errOverlong2 | errOverlong3 | errOverlong4,
		0x1: errAny | errOverlong2,
		0x2: errAny,
		0x3: errAny,
		0x4: errAny | errTooLarge,
		0x5: errAny | errTooLarge | errOverlong4,
		0x6: errAny | errTooLarge | errOverlong4,
		0x7: errAny | errTooLarge | errOverlong4,
		0x8: errAny | errTooLarge | errOverlong4,
		0x9: errAny | errTooLarge | errOverlong4,
		0xA: errAny | errTooLarge | errOverlong4,
		0xB: errAny | errTooLarge | errOverlong4,
		0xC: errAny | errTooLarge | errOverlong4,
		0xD: errAny | errTooLarge | errOverlong4 | errSurrogate,
		0xE: errAny | errTooLarge | errOverlong4,
		0xF: errAny | errTooLarge | errOverlong4,
	},
	curHigh: [16]byte{
		0x0: errTooShort, 0x1: errTooShort, 0x2: errTooShort, 0x3: errTooShort,
		0x4: errTooShort, 0x5: errTooShort, 0x6: errTooShort, 0x7: errTooShort,
		0x8: errTooLong | errTwoConts | errOverlong2 | errOverlong3 | errOverlong4,
		0x9: errTooLong | errTwoConts | errOverlong2 | errOverlong3 | errTooLarge,
		0xA: errTooLong | errTwoConts | errOverlong2 | errSurrogate | errTooLarge,
		0xB: errTooLong | errTwoConts | errOverlong2 | errSurrogate | errTooLarge,
		0xC: errTooShort, 0xD: errTooShort, 0xE: errTooShort, 0xF: errTooShort,
	},
	endMax: [32]byte{
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF0 - 1, 0xE0 - 1, 0xC0 - 1,
	},
	nibble:  0x0F,
	third:   0xE0 - 0x80,
	fourth:  0xF0 - 0x80,
	highBit: 0x80,
}
