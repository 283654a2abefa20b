package conn_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/net/http2"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/childproc"
	"github.com/framewire/ws/internal/h2test"
	"github.com/framewire/ws/wstest"
)

// benchServerEnv makes TestBenchServer serve instead of skipping.
const benchServerEnv = "FW_BENCH_SERVER"

// TestBenchServer is the echo servers of the HTTP/2 benchmarks, run in a
// process of their own so that only the client's memory is measured: an
// HTTP/1.1 server, an h2c server with x/net's defaults (it reads frames of
// up to 1 MiB) and one that reads frames of up to 16 KiB, the protocol's
// default, whose URLs it prints on one line, serving until its standard
// input ends.
func TestBenchServer(t *testing.T) {
	if os.Getenv(benchServerEnv) == "" {
		t.Skip("run by the HTTP/2 benchmarks")
	}
	h1 := wstest.NewServer(wstest.Echo)
	defer h1.Close()
	h2 := h2test.NewServer(&http2.Server{MaxConcurrentStreams: 4096}, nil, http.HandlerFunc(h2test.Echo))
	defer h2.Close()
	small := h2test.NewServer(&http2.Server{MaxConcurrentStreams: 4096, MaxReadFrameSize: 16 << 10}, nil, http.HandlerFunc(h2test.Echo))
	defer small.Close()
	os.Stdout.WriteString("\n" + h1.URL + " " + h2.URL + " " + small.URL + "\n")
	io.Copy(io.Discard, os.Stdin)
}

// benchServers starts TestBenchServer in a child process, stopped at the
// end of the benchmark, and returns its URLs, HTTP/1.1 first.
func benchServers(b *testing.B) []string {
	line := childproc.Start(b, "TestBenchServer", benchServerEnv, func(l string) bool { return len(strings.Fields(l)) == 3 })
	return strings.Fields(line)
}

// The transports compared, with the index of their server's URL.
var benchProtos = []struct {
	name   string
	mode   conn.HTTP2Mode
	server int
}{
	{"http1.1", conn.HTTP2Off, 0},
	{"http2", conn.HTTP2Only, 1},
	{"http2-16KiB-frames", conn.HTTP2Only, 2},
}

// BenchmarkHTTP2Echo sends 125 bytes and receives their echo over
// loopback, over HTTP/1.1 and over an HTTP/2 stream (h2c), in one run.
func BenchmarkHTTP2Echo(b *testing.B) {
	urls := benchServers(b)
	for _, p := range benchProtos[:2] {
		b.Run(p.name+"/125B", func(b *testing.B) {
			c := dial(b, h2Dialer(p.mode), urls[p.server]+"/")
			msg := make([]byte, 125)
			buf := make([]byte, 0, 125)
			ctx := context.Background()
			b.SetBytes(125)
			b.ReportAllocs()
			for b.Loop() {
				if err := c.WriteMessage(ctx, frame.OpBinary, msg); err != nil {
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

// BenchmarkHTTP2Idle reports the memory, heap and goroutine stacks, that
// the client holds per idle WebSocket: 1,000 HTTP/1.1 connections, or
// 1,000 WebSockets over one pooled HTTP/2 connection. In the -reading
// rows each WebSocket has a goroutine waiting in ReadMessage, as an
// application that receives has, after one message echoed.
func BenchmarkHTTP2Idle(b *testing.B) {
	const n = 1000
	urls := benchServers(b)
	for _, reading := range []bool{false, true} {
		for _, p := range benchProtos {
			name := p.name
			if reading {
				name += "-reading"
			}
			b.Run(name, func(b *testing.B) {
				url := urls[p.server]
				for b.Loop() {
					var pool conn.HTTP2Pool
					d := h2Dialer(p.mode)
					d.HTTP2Pool = &pool
					conns := make([]*conn.Conn, 0, n)
					got := make(chan struct{})
					before := memInUse()
					for range n {
						c, err := d.Dial(context.Background(), url+"/")
						if err != nil {
							b.Fatal(err)
						}
						conns = append(conns, c)
						if reading {
							go receive(c, got)
							if err := c.WriteMessage(context.Background(), frame.OpText, []byte("hi")); err != nil {
								b.Fatal(err)
							}
							<-got
						}
					}
					total := memInUse() - before
					b.ReportMetric(float64(total)/n, "B/ws")
					for _, c := range conns {
						c.CloseNow()
					}
					pool.Close()
				}
			})
		}
	}
}

// receive reads messages from c until an error, telling got of each.
func receive(c *conn.Conn, got chan<- struct{}) {
	for {
		if _, _, err := c.ReadMessage(context.Background()); err != nil {
			return
		}
		got <- struct{}{}
	}
}

// memInUse is the heap and the goroutine stacks in use.
func memInUse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse)
}
