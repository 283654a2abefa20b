//go:build !purego && (amd64 || arm64)

package deflate

import "unsafe"

// loadAt returns the eight bytes of b at i, little-endian, without a bounds
// check: the search calls it only where its own bounds hold (i >= 0 and
// i+8 <= len(b)), which FuzzRoundTrip and the purego build, whose loadAt
// checks, keep honest. Both architectures are little-endian and load
// unaligned words.
func loadAt(b []byte, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}
