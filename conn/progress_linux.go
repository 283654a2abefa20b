package conn

import (
	"crypto/tls"
	"net"

	"golang.org/x/sys/unix"
)

// progress returns the number of bytes the peer's TCP acknowledged on the
// connection under t (TCP_INFO's tcpi_bytes_acked): it grows while the
// peer takes what is sent, even while a Write stays blocked until the
// kernel frees a third of the send buffer. It reports false for a
// transport over no TCP connection it can reach, such as a stream of an
// HTTP/2 connection, whose acknowledgements belong to all its streams.
func progress(t Transport) (int64, bool) {
	tc := tcpOf(t)
	if tc == nil {
		return 0, false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var acked int64
	ok := false
	rc.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err == nil {
			acked, ok = int64(info.Bytes_acked), true
		}
	})
	return acked, ok
}

// progressSeen reports whether progress can count the bytes the peer
// takes on t: whether a TCP connection is under it.
func progressSeen(t Transport) bool { return tcpOf(t) != nil }

// tcpOf returns the TCP connection under t, or nil.
func tcpOf(t Transport) *net.TCPConn {
	for {
		switch x := t.(type) {
		case *tcpTransport:
			return x.tcp()
		case *net.TCPConn:
			return x
		case *tls.Conn:
			t = x.NetConn()
		case *prefixed:
			t = x.Transport
		case *netTransport:
			tcp, _ := x.under(nil).(*net.TCPConn)
			return tcp
		default:
			return nil
		}
	}
}
