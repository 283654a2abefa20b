package conn_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/wstest"
)

var benchSizes = []int{125, 1 << 10, 64 << 10}

// sizeName names a benchmark size: 125B, 1KiB, 64KiB.
func sizeName(n int) string {
	if n%(1<<10) == 0 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkSend sends binary messages over loopback TCP to a peer that
// discards them.
func BenchmarkSend(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			s := serve(b, wstest.Discard)
			c := dial(b, nil, s.URL)
			p := make([]byte, size)
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.WriteMessage(ctx, frame.OpBinary, p); err != nil {
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
		b.Run(sizeName(size), func(b *testing.B) {
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
				if _, p, err := c.ReadMessage(ctx); err != nil || len(p) != size {
					b.Fatal(len(p), err)
				}
			}
		})
	}
}

// BenchmarkRecvMemory receives binary messages from a connection that
// lives in memory and serves the same frames forever: the receiving path
// (locks, header parsing, validation, reassembly, buffers) with no socket
// and no scheduler in the way.
func BenchmarkRecvMemory(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			c := dialMemory(b, rawFrame(true, frame.OpBinary, make([]byte, size)))
			ctx := context.Background()
			var buf []byte
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if f, err := c.ReadDataFrame(ctx, buf[:0]); err != nil || len(f.Payload) != size {
					b.Fatal(len(f.Payload), err)
				} else {
					buf = f.Payload
				}
			}
		})
	}
}

// BenchmarkReadFrameMemory reads 16-byte frames at the frame level from a
// connection in memory, by the Conn's ReadFrame (which takes the read
// lock each call) and by a held Receiver's.
func BenchmarkReadFrameMemory(b *testing.B) {
	for _, held := range []bool{false, true} {
		name := "Conn"
		if held {
			name = "Receiver"
		}
		b.Run(name, func(b *testing.B) {
			c := dialMemory(b, rawFrame(true, frame.OpBinary, make([]byte, 16)))
			ctx := context.Background()
			read := c.ReadFrame
			if held {
				r, err := c.Receiver(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer r.Release()
				read = r.ReadFrame
			}
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				f, err := read(ctx, buf[:0])
				if err != nil || len(f.Payload) != 16 {
					b.Fatal(len(f.Payload), err)
				}
				buf = f.Payload
			}
		})
	}
}

// BenchmarkRecvMemoryContext is BenchmarkRecvMemory at 125 B with the
// contexts applications pass: one that can be cancelled, one with a
// deadline, and a fresh value context of the latter on every call.
func BenchmarkRecvMemoryContext(b *testing.B) {
	type key struct{}
	for _, kind := range []string{"WithCancel", "WithTimeout", "WithValue-per-call"} {
		b.Run(kind, func(b *testing.B) {
			c := dialMemory(b, rawFrame(true, frame.OpBinary, make([]byte, 125)))
			ctx, cancel := context.WithCancel(context.Background())
			if kind != "WithCancel" {
				ctx, cancel = context.WithTimeout(context.Background(), time.Hour)
			}
			defer cancel()
			b.ReportAllocs()
			for b.Loop() {
				cctx := ctx
				if kind == "WithValue-per-call" {
					cctx = context.WithValue(ctx, key{}, nil)
				}
				if _, err := c.ReadDataFrame(cctx, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// dialMemory opens a Conn over a memConn that serves frame forever, shut
// down when the test ends.
func dialMemory(tb testing.TB, frame []byte) *conn.Conn {
	tb.Helper()
	c := openMemory(tb, frame)
	tb.Cleanup(func() { c.CloseNow() })
	return c
}

// openMemory is dialMemory leaving the Conn to the caller.
func openMemory(tb testing.TB, frame []byte) *conn.Conn {
	tb.Helper()
	return openMemoryWith(tb, conn.Dialer{}, frame)
}

// openMemoryWith is openMemory with the options of d (but its Rand).
func openMemoryWith(tb testing.TB, d conn.Dialer, frame []byte) *conn.Conn {
	tb.Helper()
	var zero [16]byte
	d.Rand = bytes.NewReader(zero[:])
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + acceptKey(base64.StdEncoding.EncodeToString(zero[:])) + "\r\n\r\n"
	c, err := d.DialConn(context.Background(), &memConn{head: []byte(resp), frame: frame}, "ws://memory.test/")
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// memConn is a net.Conn that reads as a handshake response followed by
// the same frame over and over, and discards what is written to it.
type memConn struct {
	net.Conn // nil: only the methods below are called
	head     []byte
	frame    []byte
	pos      int
}

func (m *memConn) Read(p []byte) (int, error) {
	if len(m.head) > 0 {
		n := copy(p, m.head)
		m.head = m.head[n:]
		return n, nil
	}
	n := 0
	for n < len(p) {
		k := copy(p[n:], m.frame[m.pos:])
		n += k
		m.pos = (m.pos + k) % len(m.frame)
	}
	return n, nil
}

func (m *memConn) Write(p []byte) (int, error)      { return len(p), nil }
func (m *memConn) Close() error                     { return nil }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkEcho sends a message and receives its echo.
func BenchmarkEcho(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			s := serve(b, wstest.Echo)
			c := dial(b, nil, s.URL)
			p := make([]byte, size)
			buf := make([]byte, 0, size)
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.WriteMessage(ctx, frame.OpBinary, p); err != nil {
					b.Fatal(err)
				}
				f, err := c.ReadDataFrame(ctx, buf[:0])
				if err != nil {
					b.Fatal(err)
				}
				buf = f.Payload
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
			c.CloseNow()
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
