//go:build purego || !(amd64 || arm64)

package deflate

// loadAt returns the eight bytes of b at i, little-endian: the reference
// for the unchecked load of load_fast.go.
func loadAt(b []byte, i int) uint64 { return load64(b, i) }
