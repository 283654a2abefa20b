package mask

import (
	"encoding/binary"
	"math/bits"
)

// Key is the 4-byte masking key of a client frame (RFC 6455 §5.3).
// Byte i of a payload is XORed with Key[i%4].
type Key [4]byte

// smallLen is the length below which [Apply] masks in Go, with no call: for
// a few words a call into a vector kernel costs more than the work.
const smallLen = 64

// Apply XORs b in place with key, starting at key position pos (0-3), and
// returns the key position to resume from for the bytes that follow b.
// Masking is its own inverse, so Apply also unmasks. Only the two low bits
// of pos are used, so any int is accepted.
//
// A payload may be masked in pieces of any length:
//
//	pos := 0
//	for _, piece := range pieces {
//		pos = mask.Apply(piece, key, pos)
//	}
//
// Apply does not allocate. It is websocket-client's ABNF.mask, made in
// place and resumable.
// Apply is marked nosplit: its frame is small and fixed and applyFast checks
// the stack itself, so the check at entry bought nothing but time, about
// 10% of a 16-byte call here.
//
//go:nosplit
func Apply(b []byte, key Key, pos int) int {
	if !haveKernels || len(b) >= smallLen {
		return applyFast(b, key, pos)
	}
	// Short input: 16 bytes at a time; a whole number of 16-byte blocks
	// returns at once, anything left takes a step of 8 and of 4 if needed,
	// then up to 3 single bytes.
	pos &= 3
	next := (pos + len(b)) & 3
	k := word(key, pos)
	for len(b) >= 16 {
		w0 := binary.LittleEndian.Uint64(b) ^ k
		w1 := binary.LittleEndian.Uint64(b[8:]) ^ k
		binary.LittleEndian.PutUint64(b, w0)
		binary.LittleEndian.PutUint64(b[8:], w1)
		b = b[16:]
	}
	if len(b) == 0 {
		return next
	}
	if len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	if len(b) >= 4 {
		binary.LittleEndian.PutUint32(b, binary.LittleEndian.Uint32(b)^uint32(k))
		b = b[4:]
	}
	if len(b) > 0 {
		b[0] ^= byte(k)
		if len(b) > 1 {
			b[1] ^= byte(k >> 8)
			if len(b) > 2 {
				b[2] ^= byte(k >> 16)
			}
		}
	}
	return next
}

// word returns key as a little-endian 64-bit word whose byte 0 is the key
// byte for position pos: XORing it into 8 payload bytes that start at key
// position pos masks them.
func word(key Key, pos int) uint64 {
	k := bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*(pos&3))
	return uint64(k)<<32 | uint64(k)
}

// applyGeneric is the reference implementation: a plain word-wise loop that
// every fast path is checked against, and the whole of [Apply] under the
// purego build tag. It XORs eight bytes at a time with the key rotated to
// the starting position, then finishes byte by byte.
func applyGeneric(b []byte, key Key, pos int) int {
	pos &= 3
	next := (pos + len(b)) & 3
	k := word(key, pos)
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= byte(k >> (8 * i))
	}
	return next
}
