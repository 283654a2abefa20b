package conn

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"testing"
)

// tcpPair returns both ends of a loopback TCP connection, closed when
// the test ends.
func tcpPair(t *testing.T) (client, peer net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, err = ln.Accept()
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); peer.Close() })
	return client, peer
}

// A dialed TCP connection is its own transport, with every optional
// method of one: vectored writes that reach the peer in order, Abort,
// CloseWrite and the addresses. Bytes read past the handshake put a
// prefix in front of it.
func TestTCPTransport(t *testing.T) {
	nc, peer := tcpPair(t)

	tr := transportOf(nc, nil)
	defer tr.Close()
	if _, ok := tr.(*tcpTransport); !ok {
		t.Fatalf("transportOf(*net.TCPConn) = %T, want *tcpTransport", tr)
	}
	if _, ok := tr.(aborter); !ok {
		t.Error("no Abort")
	}
	if _, ok := tr.(halfCloser); !ok {
		t.Error("no CloseWrite")
	}
	if localAddr(tr) != nc.LocalAddr() || remoteAddr(tr) != nc.RemoteAddr() {
		t.Errorf("addresses %v, %v; want %v, %v", localAddr(tr), remoteAddr(tr), nc.LocalAddr(), nc.RemoteAddr())
	}
	if _, ok := tr.(vectorWriter); !ok {
		t.Fatal("no vectored write")
	}
	v := net.Buffers{[]byte("one "), []byte("two "), []byte("three")}
	if n, err := writeVec(tr, &v); n != 13 || err != nil {
		t.Fatalf("writeVec = %d, %v; want 13, nil", n, err)
	}
	got := make([]byte, 13)
	if _, err := io.ReadFull(peer, got); err != nil || string(got) != "one two three" {
		t.Fatalf("peer read %q, %v; want %q", got, err, "one two three")
	}

	if p, ok := transportOf(nc, []byte("x")).(*prefixed); !ok || p.Transport != tr {
		t.Errorf("with bytes past the handshake: %T, want *prefixed over the TCP transport", p)
	}
}

// A Conn reads frames straight from a plain TCP or Unix socket, so that a
// receive waiting for the next frame can wait on the socket holding no
// buffer; through the transport whenever the transport's reads do more
// (TLS, bytes left over from the handshake) or the connection is not one
// of those sockets.
func TestReadSource(t *testing.T) {
	tcp, _ := tcpPair(t)
	pipe, other := net.Pipe()
	defer pipe.Close()
	defer other.Close()

	for _, tt := range []struct {
		name   string
		t      Transport
		socket bool
	}{
		{"tcp", transportOf(tcp, nil), true},
		{"tcp, bytes left from the handshake", transportOf(tcp, []byte{0x81, 0}), false},
		{"tls over tcp", transportOf(tls.Client(tcp, &tls.Config{}), nil), false},
		{"pipe", transportOf(pipe, nil), false},
	} {
		got := readSource(tt.t)
		if tt.socket && got != net.Conn(tcp) {
			t.Errorf("%s: reads from %T, want the *net.TCPConn", tt.name, got)
		}
		if !tt.socket && got != io.Reader(tt.t) {
			t.Errorf("%s: reads from %T, want the transport", tt.name, got)
		}
	}
}

// A receive that waits on a TCP socket for its frame allocates nothing,
// whether the frame is there at once or arrives while it waits.
func TestSocketWaitAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	client, peer := tcpPair(t)
	c := New(client, nil)
	defer c.CloseNow()
	msg := []byte{0x82, 0x05, 'h', 'e', 'l', 'l', 'o'}
	later := make(chan struct{})
	go func() {
		for range later {
			peer.Write(msg)
		}
	}()
	defer close(later)
	ctx := context.Background()
	buf := make([]byte, 0, 16)
	for _, arrives := range []string{"before the receive", "while it waits"} {
		n := testing.AllocsPerRun(200, func() {
			if arrives == "before the receive" {
				peer.Write(msg)
			} else {
				later <- struct{}{}
			}
			if f, err := c.ReadDataFrame(ctx, buf[:0]); err != nil || string(f.Payload) != "hello" {
				t.Fatalf("%q, %v", f.Payload, err)
			}
		})
		if n != 0 {
			t.Errorf("frame arriving %s: %v allocations per receive, want 0", arrives, n)
		}
	}
}
