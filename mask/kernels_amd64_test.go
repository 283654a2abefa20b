//go:build !purego

package mask

// archKernels lists the vector kernels this CPU can run.
func archKernels() []kernel {
	ks := []kernel{{"sse2", applySSE2}}
	if hasAVX2 {
		ks = append(ks, kernel{"avx2", applyAVX2})
	}
	if hasAVX512 {
		ks = append(ks, kernel{"avx512", applyAVX512})
	}
	return ks
}
