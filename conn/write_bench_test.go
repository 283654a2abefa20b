package conn_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/wstest"
)

// BenchmarkSendLarge sends 1 MiB binary messages over loopback TCP to a
// peer that discards them: 32 Writes of 32 KiB and a header's room.
func BenchmarkSendLarge(b *testing.B) {
	s := serve(b, wstest.Discard)
	sendLarge(b, dial(b, nil, s.URL))
}

// BenchmarkSendLargeTLS is BenchmarkSendLarge over TLS, which cuts each
// Write into records of 16 KiB.
func BenchmarkSendLargeTLS(b *testing.B) {
	pool, cert := testCA(b)
	s := wstest.NewTLSServer(wstest.Discard, &tls.Config{Certificates: []tls.Certificate{cert}})
	b.Cleanup(s.Close)
	sendLarge(b, dial(b, &conn.Dialer{TLSConfig: &tls.Config{RootCAs: pool}}, s.URL))
}

// sendLarge has c send 1 MiB binary messages.
func sendLarge(b *testing.B, c *conn.Conn) {
	p := make([]byte, 1<<20)
	ctx := context.Background()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.WriteMessage(ctx, frame.OpBinary, p); err != nil {
			b.Fatal(err)
		}
	}
}

// discardTransport takes every Write whole and keeps nothing.
type discardTransport struct{}

func (discardTransport) Read([]byte) (int, error)         { return 0, io.EOF }
func (discardTransport) Write(p []byte) (int, error)      { return len(p), nil }
func (discardTransport) Close() error                     { return nil }
func (discardTransport) SetReadDeadline(time.Time) error  { return nil }
func (discardTransport) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkEncodeLarge is BenchmarkSendLarge without the socket: a client
// Conn masks 1 MiB messages into a transport that discards them. It
// measures what a large message costs besides the system calls.
func BenchmarkEncodeLarge(b *testing.B) {
	sendLarge(b, conn.New(discardTransport{}, nil))
}

// BenchmarkEncodeBatch is BenchmarkSendBatch without the socket: a client
// Conn frames and masks bursts of 64 messages of 16 B into a transport
// that discards them; a message is one op. It measures what a message
// costs besides the system call.
func BenchmarkEncodeBatch(b *testing.B) {
	c := conn.New(discardTransport{}, nil)
	sendBursts(b, c)
}

// BenchmarkRecvBufferSize receives 1 KiB binary messages streamed as fast as
// the peer can over loopback TCP and over TLS, with a 4 KiB read buffer and
// with DefaultReadBufferSize: what the default's size buys per message.
func BenchmarkRecvBufferSize(b *testing.B) {
	const size = 1 << 10
	var batch []byte
	for len(batch) < 1<<20 {
		batch = append(batch, rawFrame(true, frame.OpBinary, make([]byte, size))...)
	}
	stream := func(p *wstest.Peer) {
		p.Upgrade(nil)
		for p.Write(batch) == nil {
		}
	}
	pool, cert := testCA(b)
	for _, transport := range []string{"tcp", "tls"} {
		for _, buf := range []int{4 << 10, conn.DefaultReadBufferSize} {
			b.Run(fmt.Sprintf("%s/%dKiB", transport, buf>>10), func(b *testing.B) {
				d := &conn.Dialer{Config: conn.Config{ReadBufferSize: buf}}
				var s *wstest.Server
				if transport == "tls" {
					s = wstest.NewTLSServer(stream, &tls.Config{Certificates: []tls.Certificate{cert}})
					b.Cleanup(s.Close)
					d.TLSConfig = &tls.Config{RootCAs: pool}
				} else {
					s = serve(b, stream)
				}
				c := dial(b, d, s.URL)
				ctx := context.Background()
				var p []byte
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					f, err := c.ReadDataFrame(ctx, p[:0])
					if err != nil || len(f.Payload) != size {
						b.Fatal(len(f.Payload), err)
					}
					p = f.Payload
				}
			})
		}
	}
}
