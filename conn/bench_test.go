package conn_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/wstest"
)

var benchSizes = []int{1 << 10, 64 << 10}

// BenchmarkSend sends binary messages over loopback TCP to a peer that
// discards them.
func BenchmarkSend(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s := serve(b, wstest.Discard)
			c := dial(b, nil, s.URL)
			p := make([]byte, size)
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.SendBinary(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecv receives binary messages over loopback TCP from a peer
// that streams them as fast as it can.
func BenchmarkRecv(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			var batch []byte
			for len(batch) < 1<<20 {
				batch = append(batch, rawFrame(true, frame.OpBinary, make([]byte, size))...)
			}
			s := serve(b, func(p *wstest.Peer) {
				p.Upgrade(nil)
				for p.Write(batch) == nil {
				}
			})
			c := dial(b, nil, s.URL)
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if p, err := c.Recv(ctx); err != nil || len(p) != size {
					b.Fatal(len(p), err)
				}
			}
		})
	}
}

// BenchmarkEcho sends a message and receives its echo.
func BenchmarkEcho(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s := serve(b, wstest.Echo)
			c := dial(b, nil, s.URL)
			p := make([]byte, size)
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.SendBinary(ctx, p); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Recv(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIdleConn reports the heap held by an idle client connection:
// n connections are opened over net.Pipe, whose server ends the handler
// hands over and forgets, so only the client side and the pipes remain.
// The pipes are measured alone and subtracted.
func BenchmarkIdleConn(b *testing.B) {
	const n = 1000
	for b.Loop() {
		ends := make(chan net.Conn, n)
		s := wstest.NewServer(func(p *wstest.Peer) {
			p.Upgrade(nil)
			nc, _ := p.Hijack()
			ends <- nc
		})
		var d conn.Dialer
		conns := make([]*conn.Conn, 0, n)
		servers := make([]net.Conn, 0, n)
		before := heapInUse()
		for range n {
			c, err := d.DialConn(context.Background(), s.Pipe(), "ws://idle.test/")
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
			servers = append(servers, <-ends)
		}
		s.Close()
		total := heapInUse() - before

		pipes := make([]net.Conn, 0, 2*n)
		before = heapInUse()
		for range n {
			a, z := net.Pipe()
			pipes = append(pipes, a, z)
		}
		pipeBytes := heapInUse() - before

		b.ReportMetric(float64(total)/n, "B/conn")
		b.ReportMetric(float64(total-pipeBytes)/n, "B/conn-excl-pipe")
		for _, c := range conns {
			c.Shutdown()
		}
		for _, nc := range servers {
			nc.Close()
		}
		for _, p := range pipes {
			p.Close()
		}
		runtime.KeepAlive(conns)
	}
}

func heapInUse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
