//go:build !unix

package reader

import (
	"io"
	"syscall"
)

// rawSource returns nil: waiting without a buffer is for unix sockets.
func rawSource(io.Reader) syscall.RawConn { return nil }

// fillRaw is never called without a raw connection.
func (r *Reader) fillRaw() error { panic("reader: no raw connection") }
