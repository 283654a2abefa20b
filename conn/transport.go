package conn

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"
)

// Transport is the byte stream a [Conn] runs over: a TCP or TLS
// connection from [Dialer.Dial], any net.Conn, or a stream of another
// protocol. Its opening handshake is done before [New] gets it.
//
// Deadlines are how a blocked call is interrupted: a Conn turns a call's
// context into read and write deadlines, and a deadline in the past must
// make a blocked Read or Write return at once with an error whose
// Timeout method reports true (os.ErrDeadlineExceeded, as net.Conn does).
//
// What a stopped call leaves behind is part of the contract, so that every
// Conn keeps the same promises whatever runs under it:
//   - A Read stopped by a deadline loses no byte: the next Read continues
//     the stream. TCP, TLS and net.Pipe do so, and a Conn over them
//     resumes a stopped receive exactly where it was. A transport with no
//     deadlines of its own (a stream of an HTTP/2 connection) implements
//     them itself, for example by buffering what arrives for the stream
//     and having Read wait on that buffer until the deadline, and so keeps
//     this promise too.
//   - A Write stopped by a deadline before it wrote anything leaves the
//     stream usable. A transport that cannot resume any write after a
//     timeout (TLS: crypto/tls fails every later write) says so by
//     returning an error matching [ErrBroken]; the Conn is then closed.
//
// A transport may also have these methods, which a Conn uses when present:
//
//	Abort() error          // close at once, dropping unsent data (CloseNow)
//	LocalAddr() net.Addr   // for Conn.LocalAddr
//	RemoteAddr() net.Addr  // for Conn.RemoteAddr
type Transport interface {
	io.ReadWriteCloser
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

// aborter is a Transport that can close at once, dropping unsent data.
type aborter interface{ Abort() error }

// halfCloser is a Transport that can end its writing side alone: the peer
// reads the end of the stream while this side still reads.
type halfCloser interface{ CloseWrite() error }

// lingerMax is the most a lingering close reads from the peer before it
// closes the transport anyway.
const lingerMax = 64 << 10

// linger ends the writing side of t, then reads and drops what the peer
// still sends, until its end of stream, lingerMax bytes or dl, whichever
// comes first. A TCP socket closed while input is unread is reset (RST),
// and the peer may then lose the close frame sent just before; after
// linger the close is a plain FIN. A transport that cannot half-close is
// left as it is. The caller holds the read side and closes t after.
func linger(t Transport, dl time.Time) {
	hc, ok := t.(halfCloser)
	if !ok || !time.Now().Before(dl) {
		return
	}
	// TLS's CloseWrite writes an alert on a deadline of its own (5 s in
	// crypto/tls), which a peer that reads nothing would make it wait
	// for: it is cut at dl.
	cut := time.AfterFunc(time.Until(dl), func() { t.SetWriteDeadline(time.Unix(1, 0)) })
	err := hc.CloseWrite()
	cut.Stop()
	if err != nil {
		return
	}
	t.SetReadDeadline(dl)
	io.CopyN(io.Discard, t, lingerMax)
}

// netTransport adapts a connection from the dialer or a caller's net.Conn:
// it resets TCP on Abort (under TLS too) and reports TLS write timeouts as
// broken, since crypto/tls cannot resume a write.
type netTransport struct {
	net.Conn
	tls bool
}

// transportOf wraps nc, with bytes read past the handshake served first.
// A TCP connection is its own transport, seen as a tcpTransport, so that
// the usual dial allocates nothing here.
func transportOf(nc net.Conn, buffered []byte) Transport {
	var t Transport
	switch c := nc.(type) {
	case *net.TCPConn:
		t = (*tcpTransport)(c)
	case *tls.Conn:
		t = &netTransport{Conn: nc, tls: true}
	default:
		t = &netTransport{Conn: nc}
	}
	if len(buffered) > 0 {
		t = &prefixed{Transport: t, buf: buffered}
	}
	return t
}

// tcpTransport is netTransport for a TCP connection: the same
// *net.TCPConn with the methods of a transport, so that making one costs
// no allocation.
type tcpTransport net.TCPConn

func (t *tcpTransport) tcp() *net.TCPConn { return (*net.TCPConn)(t) }

func (t *tcpTransport) Read(b []byte) (int, error)         { return t.tcp().Read(b) }
func (t *tcpTransport) Write(b []byte) (int, error)        { return t.tcp().Write(b) }
func (t *tcpTransport) Close() error                       { return t.tcp().Close() }
func (t *tcpTransport) SetReadDeadline(d time.Time) error  { return t.tcp().SetReadDeadline(d) }
func (t *tcpTransport) SetWriteDeadline(d time.Time) error { return t.tcp().SetWriteDeadline(d) }
func (t *tcpTransport) LocalAddr() net.Addr                { return t.tcp().LocalAddr() }
func (t *tcpTransport) RemoteAddr() net.Addr               { return t.tcp().RemoteAddr() }
func (t *tcpTransport) CloseWrite() error                  { return t.tcp().CloseWrite() }

// writeBuffers writes v with one system call (writev).
func (t *tcpTransport) writeBuffers(v *net.Buffers) (int64, error) { return v.WriteTo(t.tcp()) }

// Abort resets the connection (SO_LINGER 0) and closes it.
func (t *tcpTransport) Abort() error {
	t.tcp().SetLinger(0)
	return t.tcp().Close()
}

func (t *netTransport) Write(b []byte) (int, error) {
	n, err := t.Conn.Write(b)
	if err != nil && t.tls && isTimeout(err) {
		err = &brokenError{err}
	}
	return n, err
}

// writeBuffers writes v with one system call (writev) over TCP, one
// Write per buffer over TLS.
func (t *netTransport) writeBuffers(v *net.Buffers) (int64, error) {
	n, err := v.WriteTo(t.Conn)
	if err != nil && t.tls && isTimeout(err) {
		err = &brokenError{err}
	}
	return n, err
}

// Abort resets the TCP connection under any TLS layers (SO_LINGER 0),
// without a close_notify alert, and closes it.
func (t *netTransport) Abort() error {
	raw := t.under(nil)
	if tc, ok := raw.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	return raw.Close()
}

// closeUnder closes the connection under any TLS layers as it is (FIN),
// without a close_notify alert: after a write cut a TLS record, the peer
// would read the alert as the record's end, a corrupt record.
func (t *netTransport) closeUnder() error { return t.under(nil).Close() }

// CloseWrite ends the writing side: under TLS a close_notify alert is sent
// first, then the TCP connection is half-closed (FIN).
func (t *netTransport) CloseWrite() error {
	hc, ok := t.under((*tls.Conn).CloseWrite).(halfCloser)
	if !ok {
		return errors.ErrUnsupported
	}
	return hc.CloseWrite()
}

// under returns the connection under any TLS layers, calling each layer's
// f, if not nil, on the way down.
func (t *netTransport) under(f func(*tls.Conn) error) net.Conn {
	raw := t.Conn
	for {
		tc, ok := raw.(*tls.Conn)
		if !ok {
			return raw
		}
		if f != nil {
			f(tc)
		}
		raw = tc.NetConn()
	}
}

// brokenError is a write timeout after which the transport cannot resume.
type brokenError struct{ err error }

func (e *brokenError) Error() string   { return e.err.Error() }
func (e *brokenError) Unwrap() []error { return []error{e.err, ErrBroken} }
func (e *brokenError) Timeout() bool   { return true }

// readSource is what a Conn over t reads frames from: the socket itself
// when t is a plain TCP or Unix connection, whose reads netTransport does
// not change, so that a receive waiting for the next frame can wait on
// the socket without holding a buffer (see reader.NewSize); t otherwise.
func readSource(t io.Reader) io.Reader {
	if tt, ok := t.(*tcpTransport); ok {
		return tt.tcp()
	}
	if nt, ok := t.(*netTransport); ok && !nt.tls {
		switch nc := nt.Conn.(type) {
		case *net.TCPConn, *net.UnixConn:
			return nc
		}
	}
	return t
}

// onSocket reports whether the frame reader of t reads a TCP or Unix
// socket itself (readSource), which it can wait on without a buffer.
func onSocket(t io.Reader) bool {
	switch readSource(t).(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

// prefixed serves bytes read past the handshake before reading its
// transport again.
type prefixed struct {
	Transport
	buf []byte
}

func (p *prefixed) Read(b []byte) (int, error) {
	if len(p.buf) > 0 {
		n := copy(b, p.buf)
		p.buf = p.buf[n:]
		if len(p.buf) == 0 {
			p.buf = nil
		}
		return n, nil
	}
	return p.Transport.Read(b)
}

// writeBuffers writes v to the transport under the prefix.
func (p *prefixed) writeBuffers(v *net.Buffers) (int64, error) { return writeVec(p.Transport, v) }

// Abort passes the optional methods of the transport under the prefix on.
func (p *prefixed) Abort() error { return abort(p.Transport) }

func (p *prefixed) closeUnder() error { return closeBroken(p.Transport) }

// CloseWrite half-closes the transport under the prefix when it can.
func (p *prefixed) CloseWrite() error {
	if hc, ok := p.Transport.(halfCloser); ok {
		return hc.CloseWrite()
	}
	return errors.ErrUnsupported
}

func (p *prefixed) LocalAddr() net.Addr  { return localAddr(p.Transport) }
func (p *prefixed) RemoteAddr() net.Addr { return remoteAddr(p.Transport) }

// closeBroken closes t after a write cut a frame: as Close does, but under
// TLS without the close_notify alert that would follow the cut record.
func closeBroken(t Transport) error {
	if u, ok := t.(interface{ closeUnder() error }); ok {
		return u.closeUnder()
	}
	return t.Close()
}

// abort closes t at once: through its Abort method, or else Close.
func abort(t Transport) error {
	if a, ok := t.(aborter); ok {
		return a.Abort()
	}
	return t.Close()
}

func localAddr(t Transport) net.Addr {
	if a, ok := t.(interface{ LocalAddr() net.Addr }); ok {
		return a.LocalAddr()
	}
	return nil
}

func remoteAddr(t Transport) net.Addr {
	if a, ok := t.(interface{ RemoteAddr() net.Addr }); ok {
		return a.RemoteAddr()
	}
	return nil
}

// isBroken reports whether err says the transport cannot resume writing.
func isBroken(err error) bool { return errors.Is(err, ErrBroken) }
