package mask

import (
	crand "crypto/rand"
	"math/rand/v2"
)

// Source makes masking keys for one connection. RFC 6455 §5.3 asks for keys
// a server or proxy cannot predict, chosen fresh for every frame; Source
// draws them from a ChaCha8 generator seeded from crypto/rand, so a key costs
// a few nanoseconds and no system call. It never uses the math/rand globals.
//
// A Source is not safe for concurrent use: give each connection its own, or
// take keys under the lock that already orders the connection's writes.
//
// The zero Source is ready to use: it seeds itself from crypto/rand when it
// makes its first key.
//
// Source replaces websocket-client's get_mask_key (os.urandom by default).
type Source struct {
	gen    rand.ChaCha8
	seeded bool
	spare  uint32 // the unused half of the last 64-bit output
	ready  bool   // spare holds a key that has not been handed out
}

// NewSource returns a Source seeded from crypto/rand.
func NewSource() *Source {
	s := new(Source)
	s.seed()
	return s
}

// NewSourceSeed returns a Source whose keys are fixed by seed. Two Sources
// with the same seed make the same keys, which is what tests want and what a
// connection must never have: use [NewSource] for traffic.
func NewSourceSeed(seed [32]byte) *Source {
	s := new(Source)
	s.gen.Seed(seed)
	s.seeded = true
	return s
}

func (s *Source) seed() {
	var seed [32]byte
	crand.Read(seed[:]) // never fails since Go 1.24: it crashes the program instead
	s.gen.Seed(seed)
	s.seeded = true
}

// Key returns a new masking key. It does not allocate.
func (s *Source) Key() Key {
	if s.ready {
		s.ready = false
		return keyOf(s.spare)
	}
	if !s.seeded {
		s.seed()
	}
	v := s.gen.Uint64()
	s.spare, s.ready = uint32(v>>32), true
	return keyOf(uint32(v))
}

func keyOf(v uint32) Key {
	return Key{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
}
