//go:build !purego

package mask

// archKernels lists the vector kernels this CPU can run.
func archKernels() []kernel {
	return []kernel{{"neon", kernelFunc(xorNEON)}}
}
