//go:build unix

package reader

import (
	"io"
	"net"
	"os"
	"syscall"
)

// rawWait is how a Reader waits on a TCP or Unix socket without a
// buffer: the socket's raw connection and the callback its Read calls,
// made once, at the Reader's first wait, so that waiting allocates nothing
// after that.
type rawWait struct {
	rc   syscall.RawConn
	read func(fd uintptr) bool // the callback of rc.Read, bound to this rawWait
	r    *Reader
	err  error // the last read's error, taken by rawFailed
}

// newRawWait returns a rawWait for r's source when it is a TCP or Unix
// socket, whose readiness can be awaited without a buffer, or nil. Only
// those two types qualify: a wrapper that has a SyscallConn method may do
// work in its Read that reading the socket directly would skip.
func newRawWait(r *Reader) *rawWait {
	var rc syscall.RawConn
	var err error
	switch c := r.src.(type) {
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
	w := &rawWait{rc: rc, r: r}
	// The raw connection's Read calls this first at once, then each time
	// the socket is readable: it takes a pooled buffer and reads into it,
	// and gives the buffer back when nothing came. It reports whether the
	// read is over (bytes, the end of the stream or an error) rather than
	// to be waited for. A closure, rather than a method value, which
	// would add a wrapper's frame to the stack of every wait.
	w.read = func(fd uintptr) bool {
		r := w.r
		r.acquire()
		var n int
		var err error
		for {
			n, err = syscall.Read(int(fd), r.buf[r.w:])
			if err != syscall.EINTR {
				break
			}
		}
		if n > 0 {
			r.w += n
			return true
		}
		r.giveBack()
		w.err = err
		return err != syscall.EAGAIN
	}
	return w
}

// fillRaw is fill for a source with a rawWait, when no pooled buffer is
// held (and so nothing is buffered): it waits until the socket is
// readable, takes a pooled buffer only then, and reads into it with one
// system call. A call waiting for the next frame so holds no buffer and
// reads a frame of any size up to the buffer's in one read.
func (r *Reader) fillRaw() error {
	w := r.raw
	w.r = r // r may be a copy of the Reader that made w
	w.err = nil
	err := w.rc.Read(w.read)
	if r.w > r.r {
		w.err = nil
		return nil
	}
	return r.rawFailed(err)
}

// rawFailed is fillRaw's error when nothing came: err from the raw
// connection's Read, else that of the system call, else the end of the
// stream. Apart, it leaves fillRaw's frame small, which every wait has on
// its stack.
func (r *Reader) rawFailed(err error) error {
	w := r.raw
	rerr := w.err
	w.err = nil
	switch {
	case err != nil:
		// A deadline or a close: name it as the socket's Read would.
		if oe, ok := err.(*net.OpError); ok && oe.Op == "raw-read" {
			e := *oe
			e.Op = "read"
			return &e
		}
		return err
	case rerr != nil:
		nc := r.src.(net.Conn)
		return &net.OpError{Op: "read", Net: nc.LocalAddr().Network(), Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: os.NewSyscallError("read", rerr)}
	}
	return io.EOF
}
