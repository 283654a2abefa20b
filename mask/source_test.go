package mask

import (
	"math/rand/v2"
	"testing"
)

// TestSourceSeed checks that a seeded Source hands out the ChaCha8 stream
// of its seed, four bytes at a time, low half of each output first.
func TestSourceSeed(t *testing.T) {
	seed := [32]byte{'f', 'r', 'a', 'm', 'e', 'w', 'i', 'r', 'e'}
	s := NewSourceSeed(seed)
	gen := rand.NewChaCha8(seed)
	for i := range 100 {
		v := gen.Uint64()
		for half, want := range []uint32{uint32(v), uint32(v >> 32)} {
			if got := s.Key(); got != keyOf(want) {
				t.Fatalf("key %d: got % x, want % x", 2*i+half, got, keyOf(want))
			}
		}
	}
}

func TestSourceSeedsDiffer(t *testing.T) {
	a, b := NewSourceSeed([32]byte{1}), NewSourceSeed([32]byte{2})
	if keys(a) == keys(b) {
		t.Error("Sources with different seeds made the same keys")
	}
	c, d := NewSourceSeed([32]byte{3}), NewSourceSeed([32]byte{3})
	if keys(c) != keys(d) {
		t.Error("Sources with the same seed made different keys")
	}
}

// TestSourceRandom checks that NewSource and the zero Source are seeded from
// crypto/rand: three of them making the same 32 bytes has odds of 2^-256.
func TestSourceRandom(t *testing.T) {
	var zero Source
	a, b := keys(NewSource()), keys(NewSource())
	z := keys(&zero)
	if a == b || a == z || b == z {
		t.Errorf("keys repeat across Sources: %x %x %x", a, b, z)
	}
	if z == keys(NewSourceSeed([32]byte{})) {
		t.Error("the zero Source uses the zero seed")
	}
}

func TestSourceKeyAllocs(t *testing.T) {
	s := NewSource()
	if a := testing.AllocsPerRun(1000, func() { s.Key() }); a != 0 {
		t.Errorf("Key: %v allocations, want 0", a)
	}
}

// keys returns the next 8 keys of s.
func keys(s *Source) (all [8]Key) {
	for i := range all {
		all[i] = s.Key()
	}
	return all
}
