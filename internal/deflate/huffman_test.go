package deflate

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// checkCode fails unless lens is a complete prefix code within limit bits
// that gives a code to every symbol with a frequency.
func checkCode(t *testing.T, freq []uint32, lens []uint8, limit int) {
	t.Helper()
	kraft := 0
	for s, l := range lens {
		if int(l) > limit {
			t.Fatalf("symbol %d: length %d beyond the limit %d", s, l, limit)
		}
		if freq[s] > 0 && l == 0 {
			t.Fatalf("symbol %d of frequency %d has no code", s, freq[s])
		}
		if l > 0 {
			kraft += 1 << (limit - int(l))
		}
	}
	if kraft != 1<<limit {
		t.Fatalf("Kraft sum %d/%d: the code is not complete", kraft, 1<<limit)
	}
}

// TestBuildLengthsLimit: Fibonacci frequencies make the deepest Huffman
// trees, far beyond 15 bits (and 7 for the code-length code).
func TestBuildLengthsLimit(t *testing.T) {
	for _, tc := range []struct{ n, limit int }{{numLit, maxBits}, {numDist, maxBits}, {numCodeLen, maxCLBits}} {
		freq := make([]uint32, tc.n)
		a, b := uint32(1), uint32(1)
		for s := range freq {
			freq[s] = a
			a, b = b, min(a+b, 1<<30)
		}
		lens := make([]uint8, tc.n)
		buildLengths(freq, lens, tc.limit)
		checkCode(t, freq, lens, tc.limit)
		if lens[tc.n-1] > lens[0] {
			t.Errorf("the most frequent symbol got %d bits, the rarest %d", lens[tc.n-1], lens[0])
		}
	}
}

func TestBuildLengthsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for range 2000 {
		n := []int{numLit, numDist, numCodeLen}[r.IntN(3)]
		limit := maxBits
		if n == numCodeLen {
			limit = maxCLBits
		}
		freq := make([]uint32, n)
		for s := range freq {
			switch r.IntN(3) {
			case 0:
			case 1:
				freq[s] = uint32(r.IntN(4))
			default:
				freq[s] = uint32(1) << r.IntN(20)
			}
		}
		lens := make([]uint8, n)
		buildLengths(freq, lens, limit)
		checkCode(t, freq, lens, limit)
	}
}

// TestBuildLengthsOptimal: without the limit in play the lengths are a
// Huffman code's: 1, 2, 3, 3 for frequencies 8, 4, 2, 2.
func TestBuildLengthsOptimal(t *testing.T) {
	freq := []uint32{2, 8, 2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	lens := make([]uint8, len(freq))
	buildLengths(freq, lens, maxCLBits)
	want := []uint8{3, 1, 3, 2}
	for s, l := range want {
		if lens[s] != l {
			t.Fatalf("lengths %v, want %v", lens[:4], want)
		}
	}
}

// TestSortLeaves: the radix sort orders leaves as slices.Sort does, for
// every list length and for frequencies of one to four bytes.
func TestSortLeaves(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for n := range numLit + 1 {
		for _, most := range []uint32{1, 200, 1 << 15, 1 << 30} {
			leaves := make([]uint64, n)
			for s := range leaves {
				leaves[s] = uint64(r.Uint32N(most+1))<<16 | uint64(s)
			}
			want := slices.Clone(leaves)
			slices.Sort(want)
			sortLeaves(leaves)
			if !slices.Equal(leaves, want) {
				t.Fatalf("%d leaves below %d: got %v, want %v", n, most, leaves, want)
			}
		}
	}
}

// TestDistCode checks the distance code of every distance against the
// ranges of RFC 1951 §3.2.5: code c covers distBase[c]+1 to
// distBase[c]+2^distExtra[c].
func TestDistCode(t *testing.T) {
	for d := uint32(0); d < 1<<15; d++ {
		c := distCode(d)
		if c >= numDist || d < uint32(distBase[c]) || d-uint32(distBase[c]) >= 1<<distExtra[c] {
			t.Fatalf("distance %d: code %d", d+1, c)
		}
	}
}
