//go:build !unix

package reader

// rawWait is how a Reader waits on a socket without a buffer: on unix
// systems only.
type rawWait struct{}

// newRawWait returns nil: waiting without a buffer is for unix sockets.
func newRawWait(*Reader) *rawWait { return nil }

// fillRaw is never called without a rawWait.
func (r *Reader) fillRaw() error { panic("reader: no raw connection") }
