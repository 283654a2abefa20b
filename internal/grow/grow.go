// Package grow holds the one buffer-growth rule of the receive path: a
// payload buffer grows with the bytes that arrive, never from a length the
// peer declared. The frame reader, the message assembler and the
// connection's raw frame reads all grow their buffers with [Buffer].
package grow

// Min is the smallest buffer Buffer makes.
const Min = 512

// Buffer returns b, with its length and contents, and room for at least n
// more bytes. When b lacks the room, its capacity at least doubles (from
// Min bytes), so a buffer filled in many small steps costs linear time, but
// it never passes limit unless len(b)+n does; a negative limit means none.
// The limit is the caller's own bound (a configured size limit, or bytes
// already known to be coming), never a length the peer declared alone.
func Buffer(b []byte, n, limit int) []byte {
	need := len(b) + n
	if need <= cap(b) {
		return b
	}
	c := max(need, 2*cap(b), Min)
	if limit >= 0 {
		c = min(c, max(limit, need))
	}
	nb := make([]byte, len(b), c)
	copy(nb, b)
	return nb
}
