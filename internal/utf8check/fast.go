//go:build !purego

package utf8check

import "encoding/binary"

const highBits = 0x8080808080808080

// Valid reports whether p is entirely well-formed UTF-8. Runs of ASCII are
// checked eight bytes at a time.
func Valid(p []byte) bool {
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
