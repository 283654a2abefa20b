package bench

import (
	"bytes"
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/framewire/ws/frame"
)

// sendLibraries are the clients of the send benchmarks: those of the echo
// benchmark but gorilla-ReadMessage, which sends as gorilla does.
func sendLibraries() []library {
	return slices.DeleteFunc(libraries(), func(l library) bool { return l.name == "gorilla-ReadMessage" })
}

// concurrentSafe lists the clients whose send may be called from several
// goroutines at once, as their documentation says. gorilla's forbids
// concurrent writers ("Applications are responsible for ensuring that no
// more than one goroutine calls the write methods"), and the gobwas
// helpers write through one bufio.Writer or with several Writes per
// message, so their sends are serialised with a mutex, as their users do.
var concurrentSafe = map[string]bool{"framewire": true, "coder": true, "gws": true}

// lockedClient serialises a client's sends with a mutex.
type lockedClient struct {
	mu sync.Mutex
	client
}

func (l *lockedClient) send(p []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.client.send(p)
}

func dialSender(b *testing.B, lib library, url string) client {
	c, err := lib.dial(context.Background(), url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.close() })
	if !concurrentSafe[lib.name] {
		c = &lockedClient{client: c}
	}
	return c
}

// BenchmarkSendConcurrent has 8 goroutines send 16 B binary messages on
// one connection to a server that discards them; one op is one message.
// Where a peer needs a mutex for concurrent writers, its users' mutex is
// counted.
func BenchmarkSendConcurrent(b *testing.B) {
	srv := startDiscardServer(b)
	for _, lib := range sendLibraries() {
		b.Run("16B/"+lib.name, func(b *testing.B) {
			c := dialSender(b, lib, srv.url)
			b.SetBytes(16)
			b.ReportAllocs()
			b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				p := make([]byte, 16)
				for pb.Next() {
					if err := c.send(p); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// batchSize is how many messages BenchmarkSendBatch hands to framewire's
// WriteMessages at once.
const batchSize = 64

// BenchmarkSendBatch has one goroutine send 16 B binary messages to a
// server that discards them; one op is one message. framewire sends them
// in bursts of 64 through WriteMessages; the peers, which have no batch
// call, send one message per call, each the way it sends fastest.
func BenchmarkSendBatch(b *testing.B) {
	srv := startDiscardServer(b)
	for _, lib := range sendLibraries() {
		b.Run("16B/"+lib.name, func(b *testing.B) {
			c := dialSender(b, lib, srv.url)
			ps := make([][]byte, batchSize)
			for i := range ps {
				ps[i] = make([]byte, 16)
			}
			send := func(i int) error { return c.send(ps[i%batchSize]) }
			if f, ok := c.(*framewireClient); ok {
				send = func(i int) error {
					if i%batchSize != 0 {
						return nil
					}
					return f.c.WriteMessages(f.ctx, frame.OpBinary, ps...)
				}
			}
			b.SetBytes(16)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := send(i); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSendLarge sends 1 MiB binary messages to a server that discards
// them. one-write is the floor: the whole masked frame, encoded
// beforehand, handed to the socket in one Write.
func BenchmarkSendLarge(b *testing.B) {
	srv := startDiscardServer(b)
	const size = 1 << 20
	libs := append(sendLibraries(), library{name: "one-write", dial: dialRaw})
	for _, lib := range libs {
		b.Run("1MiB/"+lib.name, func(b *testing.B) {
			c := dialSender(b, lib, srv.url)
			p := payloadOf(size)
			if lib.name == "one-write" {
				h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Length: size, Key: [4]byte{1, 2, 3, 4}}
				buf, _ := h.AppendBinary(nil)
				p = append(buf, p...)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if err := c.send(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEchoLatency sends 64 B binary messages to the echo server and
// waits for each echo, and reports the median and 99th percentile of the
// round trips (p50-ns, p99-ns) besides their mean (ns/op).
func BenchmarkEchoLatency(b *testing.B) {
	srv := startEchoServer(b)
	p := payloadOf(64)
	for _, lib := range sendLibraries() {
		b.Run("64B/"+lib.name, func(b *testing.B) {
			c, err := lib.dial(context.Background(), srv.url, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.close()
			rtts := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				if err := c.send(p); err != nil {
					b.Fatal(err)
				}
				if _, err := c.recv(); err != nil {
					b.Fatal(err)
				}
				if len(rtts) < cap(rtts) {
					rtts = append(rtts, time.Since(start))
				}
			}
			reportLatency(b, rtts)
		})
	}
}

// reportLatency reports the median and 99th percentile of rtts.
func reportLatency(b *testing.B, rtts []time.Duration) {
	if len(rtts) == 0 {
		return
	}
	slices.Sort(rtts)
	b.ReportMetric(float64(rtts[len(rtts)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(rtts[len(rtts)*99/100].Nanoseconds()), "p99-ns")
}

// TestSendersDeliver checks that every client's messages reach the server
// whole when the send benchmarks drive it: 8 goroutines, then a batch.
func TestSendersDeliver(t *testing.T) {
	srv := startEchoServer(t)
	for _, lib := range sendLibraries() {
		t.Run(lib.name, func(t *testing.T) {
			c, err := lib.dial(t.Context(), srv.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			if !concurrentSafe[lib.name] {
				c = &lockedClient{client: c}
			}
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 10 {
						if err := c.send([]byte{byte(g), byte(i)}); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			seen := map[[2]byte]bool{}
			for range 80 {
				m, err := c.recv()
				if err != nil || len(m) != 2 {
					t.Fatalf("recv: %q, %v", m, err)
				}
				seen[[2]byte(m)] = true
			}
			if len(seen) != 80 {
				t.Fatalf("%d distinct messages echoed, want 80", len(seen))
			}
			f, ok := c.(*framewireClient)
			if !ok {
				return
			}
			ps := [][]byte{{1}, {2, 2}, {3, 3, 3}}
			if err := f.c.WriteMessages(f.ctx, frame.OpBinary, ps...); err != nil {
				t.Fatal(err)
			}
			for _, want := range ps {
				if m, err := c.recv(); err != nil || !bytes.Equal(m, want) {
					t.Fatalf("batch echo %q, %v; want %q", m, err, want)
				}
			}
		})
	}
}
