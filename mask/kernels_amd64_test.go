//go:build !purego

package mask

// archKernels lists the vector kernels this CPU can run.
func archKernels() []kernel {
	ks := []kernel{{"sse2", kernelFunc(xorSSE2)}}
	if hasAVX2 {
		ks = append(ks, kernel{"avx2", kernelFunc(xorAVX2)})
	}
	if hasAVX512 {
		ks = append(ks, kernel{"avx512", kernelFunc(xorAVX512)})
	}
	return ks
}
