package conn_test

import (
	"context"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/wstest"
)

// BenchmarkSendConcurrent has 8 goroutines send 16 B binary messages on
// one connection over loopback TCP to a peer that discards them, and
// reports how many messages went out per Write to the socket.
func BenchmarkSendConcurrent(b *testing.B) {
	s := serve(b, wstest.Discard)
	var writes atomic.Int64
	c := dial(b, &conn.Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		return countingConn{nc, &writes}, err
	}}, s.URL)
	ctx := context.Background()
	b.SetBytes(16)
	b.ReportAllocs()
	b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
	writes.Store(0)
	b.RunParallel(func(pb *testing.PB) {
		p := make([]byte, 16)
		for pb.Next() {
			if err := c.WriteMessage(ctx, frame.OpBinary, p); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/float64(max(1, writes.Load())), "msgs/write")
}

// countingConn counts its Writes in n.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

// BenchmarkSendLargeOneWrite is BenchmarkSendLarge's reference: the whole
// masked 1 MiB frame, encoded beforehand, handed to the socket in one
// Write.
func BenchmarkSendLargeOneWrite(b *testing.B) {
	s := serve(b, wstest.Discard)
	var nc net.Conn
	dial(b, &conn.Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var err error
		nc, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return nc, err
	}}, s.URL)
	h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Length: 1 << 20, Key: abcd()}
	buf, _ := h.AppendBinary(nil)
	buf = append(buf, make([]byte, 1<<20)...)
	b.SetBytes(1 << 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := nc.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEchoLatency sends 64 B messages and receives their echo, one
// at a time, and reports the median and 99th percentile round trip.
func BenchmarkEchoLatency(b *testing.B) {
	s := serve(b, wstest.Echo)
	c := dial(b, nil, s.URL)
	p := make([]byte, 64)
	ctx := context.Background()
	var rtts []time.Duration
	var mu sync.Mutex
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if err := c.WriteMessage(ctx, frame.OpBinary, p); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.ReadMessage(ctx); err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		rtts = append(rtts, time.Since(start))
		mu.Unlock()
	}
	slices.Sort(rtts)
	b.ReportMetric(float64(rtts[len(rtts)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(rtts[len(rtts)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkSendBatch has one goroutine send 16 B binary messages in bursts
// of 64 through WriteMessages; a message is one op.
func BenchmarkSendBatch(b *testing.B) {
	s := serve(b, wstest.Discard)
	c := dial(b, nil, s.URL)
	sendBursts(b, c)
}

// sendBursts has c send 16 B binary messages in bursts of 64 through
// WriteMessages; a message is one op.
func sendBursts(b *testing.B, c *conn.Conn) {
	ctx := context.Background()
	ps := make([][]byte, 64)
	for i := range ps {
		ps[i] = make([]byte, 16)
	}
	b.SetBytes(16)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%len(ps) != 0 {
			continue
		}
		if err := c.WriteMessages(ctx, frame.OpBinary, ps...); err != nil {
			b.Fatal(err)
		}
	}
}
