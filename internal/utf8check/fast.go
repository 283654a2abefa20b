//go:build !purego

package utf8check

import (
	"encoding/binary"
	"unicode/utf8"
)

const highBits = 0x8080808080808080

// Valid reports whether p is entirely well-formed UTF-8. Short inputs are
// checked here, runs of ASCII eight bytes at a time; longer ones go to
// validComplete.
func Valid(p []byte) bool {
	if len(p) >= bulkLen {
		return validComplete(p)
	}
	var v Validator
	return v.write(p) && v.need == 0
}

// write is Write with a word-at-a-time scan over ASCII between sequences.
func (v *Validator) write(p []byte) bool {
	if v.failed {
		return false
	}
	i := 0
	// Finish a sequence left open by the previous call.
	for v.need > 0 {
		if i == len(p) {
			return true
		}
		if !v.step(p[i]) {
			return false
		}
		i++
	}
	if len(p)-i >= bulkLen {
		// Complete sequences go to validComplete, which checks them
		// many bytes at a time; a sequence cut by the end of p goes to
		// the state machine.
		q := p[i:]
		cut := len(q)
		if q[cut-1] >= 0x80 {
			cut = completePrefix(q)
		}
		if !validComplete(q[:cut]) {
			v.failed = true
			return false
		}
		for _, c := range q[cut:] {
			if !v.step(c) {
				return false
			}
		}
		return true
	}
	for i < len(p) {
		// Skip ASCII a word at a time.
		for len(p)-i >= 32 {
			q := p[i : i+32]
			w := binary.LittleEndian.Uint64(q) | binary.LittleEndian.Uint64(q[8:]) |
				binary.LittleEndian.Uint64(q[16:]) | binary.LittleEndian.Uint64(q[24:])
			if w&highBits != 0 {
				break
			}
			i += 32
		}
		for len(p)-i >= 8 && binary.LittleEndian.Uint64(p[i:])&highBits == 0 {
			i += 8
		}
		// Then byte by byte until the next ASCII boundary. A whole
		// sequence is checked inline when it fits in p.
		for i < len(p) {
			c := p[i]
			if c < 0x80 {
				i++
				if len(p)-i >= 8 && p[i] < 0x80 {
					break
				}
				continue
			}
			t := first[c]
			if t == bad {
				v.failed = true
				return false
			}
			n := int(t & 3)
			if len(p)-i > n {
				r := ranges[t>>2]
				if c1 := p[i+1]; c1 < r[0] || c1 > r[1] {
					v.failed = true
					return false
				}
				for j := 2; j <= n; j++ {
					if p[i+j]&0xC0 != 0x80 {
						v.failed = true
						return false
					}
				}
				i += n + 1
				continue
			}
			// The sequence runs past the end of p: feed it to the
			// state machine, which may fail on its way.
			for ; i < len(p); i++ {
				if !v.step(p[i]) {
					return false
				}
			}
			return true
		}
	}
	return true
}

// bulkLen is the length from which write hands complete sequences to
// validComplete: below it, the call costs more than the scan. It is at
// least kernelMin.
const bulkLen = 64

// completePrefix returns the length of the longest prefix of q that does
// not end inside a multi-byte sequence: q itself, or q up to the leading
// byte of a sequence that needs more bytes than q has left. Invalid bytes
// are left in the prefix for the validator to find.
func completePrefix(q []byte) int {
	for back := 1; back <= utf8.UTFMax && back <= len(q); back++ {
		c := q[len(q)-back]
		if c&0xC0 == 0x80 {
			continue // a continuation byte: look further back
		}
		t := first[c]
		if t != bad && int(t&3) >= back {
			return len(q) - back
		}
		break
	}
	return len(q)
}
