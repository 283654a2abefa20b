//go:build purego || !(amd64 || arm64)

package mask

// haveKernels reports whether applyFast calls a vector kernel.
const haveKernels = false

func applyFast(b []byte, key Key, pos int) int {
	return applyGeneric(b, key, pos)
}
