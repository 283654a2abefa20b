package bench

import (
	"context"
	"net"
	"testing"
)

// startStreamServer starts the server of BenchmarkRecvLoopback: after the
// opening handshake it waits for the client's first bytes, so that no
// frame arrives with the handshake response (which gobwas' wsutil client
// refuses), then writes stream over and over until the client goes away,
// reading nothing more.
func startStreamServer(tb testing.TB, stream []byte) *server {
	return serveEach(tb, upgraded(func(nc net.Conn) {
		var start [1]byte
		if _, err := nc.Read(start[:]); err != nil {
			return
		}
		for {
			if _, err := nc.Write(stream); err != nil {
				return
			}
		}
	}))
}

// BenchmarkRecvLoopback receives binary messages over loopback TCP from a
// server that streams them without pause; one op is one message. Client
// and server share the machine's cores, so compare ratios within one run.
func BenchmarkRecvLoopback(b *testing.B) {
	for _, size := range []int{16, 1 << 10} {
		srv := startStreamServer(b, serverFrames(size))
		for _, lib := range libraries() {
			b.Run(sizeName(size)+"/"+lib.name, func(b *testing.B) {
				c, err := lib.dial(context.Background(), srv.url, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer c.close()
				if err := c.send([]byte("go")); err != nil {
					b.Fatal(err)
				}
				recvLoop(b, c, size)
			})
		}
	}
}
