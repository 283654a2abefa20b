package deflate

import (
	"encoding/binary"
	"testing"
)

// TestLoadAt checks the search's load against the checked one at every
// offset of a buffer, the last eight bytes included.
func TestLoadAt(t *testing.T) {
	b := make([]byte, 64)
	for i := range b {
		b[i] = byte(i*37 + 11)
	}
	for i := 0; i+8 <= len(b); i++ {
		if got, want := loadAt(b, i), binary.LittleEndian.Uint64(b[i:]); got != want {
			t.Fatalf("offset %d: %#x, want %#x", i, got, want)
		}
	}
}
