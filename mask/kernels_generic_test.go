//go:build purego || !(amd64 || arm64)

package mask

// archKernels lists the vector kernels this CPU can run: none in this build.
func archKernels() []kernel {
	return nil
}
