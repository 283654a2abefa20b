package conn

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
)

// A Conn reads frames straight from a plain TCP or Unix socket, so that a
// receive waiting for the next frame can wait on the socket holding no
// buffer; through the transport whenever the transport's reads do more
// (TLS, bytes left over from the handshake) or the connection is not one
// of those sockets.
func TestReadSource(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			io.Copy(io.Discard, c)
		}
	}()
	tcp, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
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
