//go:build unix

package reader

import (
	"io"
	"net"
	"os"
	"syscall"
)

// rawSource returns the raw connection of src when src is a TCP or Unix
// socket, whose readiness can be awaited without a buffer, or nil. Only
// those two types qualify: a wrapper that has a SyscallConn method may do
// work in its Read that reading the socket directly would skip.
func rawSource(src io.Reader) syscall.RawConn {
	var rc syscall.RawConn
	var err error
	switch c := src.(type) {
	case *net.TCPConn:
		rc, err = c.SyscallConn()
	case *net.UnixConn:
		rc, err = c.SyscallConn()
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	return rc
}

// fillRaw is fill for a source with a raw connection, when no pooled
// buffer is held (and so nothing is buffered): it waits until the socket
// is readable, takes a pooled buffer only then, and reads into it with one
// system call. A call waiting for the next frame so holds no buffer and
// reads a frame of any size up to the buffer's in one read.
func (r *Reader) fillRaw() error {
	var n int
	var rerr error
	err := r.rc.Read(func(fd uintptr) bool {
		r.acquire()
		for {
			n, rerr = syscall.Read(int(fd), r.buf[r.w:])
			if rerr != syscall.EINTR {
				break
			}
		}
		if n > 0 {
			return true
		}
		r.giveBack()
		return rerr != syscall.EAGAIN
	})
	switch {
	case n > 0:
		r.w += n
		return nil
	case err != nil:
		return err
	case rerr != nil:
		return &net.OpError{Op: "read", Net: "raw", Err: os.NewSyscallError("read", rerr)}
	}
	return io.EOF
}
