// Package mask implements the client-to-server masking of RFC 6455 §5.3:
// XORing a frame's payload with the frame's 4-byte key, and choosing keys.
//
// # Masking
//
// [Apply] masks a payload in place. Masking is its own inverse, so the same
// call unmasks. It takes the key position to start at and returns the one
// to continue from, so a payload can be masked in pieces of any size, as a
// streaming reader or writer sees it:
//
//	pos := 0
//	pos = mask.Apply(first, key, pos)
//	pos = mask.Apply(second, key, pos)
//
// Apply does not allocate. It is websocket-client's ABNF.mask, made in
// place and resumable.
//
// # Kernels
//
// Apply runs the fastest kernel the CPU has, chosen once when the program
// starts (with golang.org/x/sys/cpu):
//
//   - amd64: AVX2, or SSE2 on CPUs without it (every amd64 CPU has SSE2).
//     From 4 KiB on, AVX-512 (F and BW) where the CPU has it; below that
//     the AVX2 kernel is as fast or faster. The AVX kernels clear the upper
//     vector state (VZEROUPPER) on every return, so code that follows them
//     pays no AVX-SSE transition penalty.
//   - arm64: NEON.
//   - other architectures: a word-wise Go loop that XORs 8 bytes at a time.
//
// Inputs shorter than 64 bytes are masked in Go, 16 bytes at a time, with
// no call: for them a call into a kernel would cost more than the work.
// Every kernel takes any length and alignment; the amd64 kernels mask all
// but the two ends of an input with aligned vector loads and stores.
//
// Building with the purego tag (go build -tags purego) leaves the assembly
// out: Apply is then the word-wise Go loop on every architecture. The tests
// check every kernel the CPU can run against a byte-by-byte loop, for every
// length up to 300 bytes, every start offset within a 64-byte line and
// every key position, and a fuzz target does the same for random inputs.
//
// # Keys
//
// RFC 6455 §5.3 requires a fresh key for every frame, drawn from a strong
// source of entropy so that a server or an intermediary cannot predict it.
// A [Source] makes such keys from a ChaCha8 generator seeded from
// crypto/rand: a key costs a few nanoseconds and no system call or
// allocation, and never comes from the math/rand globals. A Source is not
// safe for concurrent use; a connection owns one and takes keys under its
// write lock. [NewSourceSeed] makes a Source with fixed keys for tests.
package mask
