package bench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framewire/ws/conn"
)

var idleConns = flag.Int("idle.conns", 1000, "connections each BenchmarkIdleConn case dials")

// rawClient is the baseline of BenchmarkIdleConn and BenchmarkDial: a TCP
// connection that sent a fixed opening handshake and read the answer, with
// no WebSocket library. Its figures are the sockets' own cost, which every
// library pays too.
type rawClient struct{ nc net.Conn }

const rawRequest = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// rawAccept is the Sec-WebSocket-Accept field of the answer to rawRequest
// (RFC 6455 §1.3's example key).
const rawAccept = "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"

var errRawAnswer = errors.New("bench: raw dial: not a 101 with the expected Sec-WebSocket-Accept")

func dialRaw(ctx context.Context, url string, nd netDial) (client, error) {
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
	var nc net.Conn
	var err error
	if nd != nil {
		nc, err = nd(ctx, "tcp", addr)
	} else {
		var d net.Dialer
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	if err := rawHandshake(nc); err != nil {
		nc.Close()
		return nil, err
	}
	return &rawClient{nc: nc}, nil
}

// rawHandshake writes rawRequest to nc and reads the answer's head, which
// must be a 101 with rawAccept.
func rawHandshake(nc net.Conn) error {
	if _, err := io.WriteString(nc, rawRequest); err != nil {
		return err
	}
	var buf [512]byte
	n := 0
	for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
		if n == len(buf) {
			return errRawAnswer
		}
		m, err := nc.Read(buf[n:])
		n += m
		if err != nil {
			return err
		}
	}
	if !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 101 ")) || !bytes.Contains(buf[:n], []byte(rawAccept)) {
		return errRawAnswer
	}
	return nil
}

func (r *rawClient) send(p []byte) error { _, err := r.nc.Write(p); return err }

func (r *rawClient) recv() ([]byte, error) {
	var b [1]byte
	_, err := r.nc.Read(b[:])
	return nil, err
}

func (r *rawClient) close() error { return r.nc.Close() }

// idleServer is a server of BenchmarkIdleConn: it accepts WebSockets at
// wsURL and holds them until close.
type idleServer interface {
	wsURL() string
	close()
}

// idleResult is what one BenchmarkIdleConn case measured.
type idleResult struct {
	heap, stack, goroutines, dialNs, allocBytes, allocs float64
}

// report reports r as b's metrics.
func (r idleResult) report(b *testing.B) {
	b.ReportMetric(r.heap, "heap-B/conn")
	b.ReportMetric(r.stack, "stack-B/conn")
	b.ReportMetric(r.goroutines, "goroutines/conn")
	b.ReportMetric(r.dialNs, "ns/op")
	b.ReportMetric(r.allocBytes, "B/op")
	b.ReportMetric(r.allocs, "allocs/op")
}

// measureIdle dials n connections with lib to srv and reports what they
// cost once the garbage is collected: live heap, goroutine stack and
// goroutines per connection, and dial time and allocation per dial (prime
// included). With prime set, it runs on each connection once dialled (to
// exchange a message). With waiting set, each connection also has a
// goroutine blocked in recv, as a client waiting for its next message has
// (unless the library runs its own reading goroutine); with waiting set
// to dialerWaits, that goroutine is the one that dialled, as in a client
// that dials and then reads in one goroutine.
func measureIdle(b *testing.B, srv idleServer, lib library, n int, waiting waitMode, prime func(client) error) idleResult {
	defer srv.close()
	clients := make([]client, 0, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	start := time.Now()
	for range n {
		var c client
		var err error
		if waiting == dialerWaits && !lib.reads {
			dialled := make(chan struct{})
			go func() {
				c, err = lib.dial(context.Background(), srv.wsURL(), nil)
				close(dialled)
				if err == nil {
					c.recv()
				}
			}()
			<-dialled
		} else {
			c, err = lib.dial(context.Background(), srv.wsURL(), nil)
		}
		if err != nil {
			for _, c := range clients {
				c.close()
			}
			b.Fatalf("dial %d: %v", len(clients), err)
		}
		clients = append(clients, c)
		if prime != nil {
			if err := prime(c); err != nil {
				for _, c := range clients {
					c.close()
				}
				b.Fatalf("connection %d: %v", len(clients), err)
			}
		}
		if waiting == freshWaits && !lib.reads {
			go c.recv()
		}
	}
	dial := time.Since(start)
	var allocs runtime.MemStats
	runtime.ReadMemStats(&allocs)
	if waiting != noWait {
		// Let every reader reach its blocking read.
		time.Sleep(200 * time.Millisecond)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	// The server closes first, so the TIME_WAIT states stay on its side
	// and do not use up the client's ephemeral ports over many cases.
	srv.close()
	for _, c := range clients {
		c.close()
	}
	// Wait for the libraries' goroutines to see the close, so the next case
	// starts from the same place.
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > g0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	fn := float64(n)
	return idleResult{
		heap:       (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / fn,
		stack:      (float64(after.StackInuse) - float64(before.StackInuse)) / fn,
		goroutines: float64(g1-g0) / fn,
		dialNs:     float64(dial.Nanoseconds()) / fn,
		allocBytes: float64(allocs.TotalAlloc-before.TotalAlloc) / fn,
		allocs:     float64(allocs.Mallocs-before.Mallocs) / fn,
	}
}

// waitMode says whether an idle connection of measureIdle has a goroutine
// waiting in a receive, and which.
type waitMode int

const (
	noWait      waitMode = iota
	freshWaits           // one started once the connection is dialled
	dialerWaits          // the one that dialled it
)

// waitModes are the modes of BenchmarkIdleConn by name.
var waitModes = map[string]waitMode{"idle": noWait, "waiting": freshWaits, "dialer-waiting": dialerWaits}

// warmGoroutines starts n goroutines and waits for them to end. The
// runtime keeps the descriptor of every goroutine that ended (about 0.4 KB
// of heap) for the next one started: without this, the first case that
// starts a goroutine per connection would pay for the descriptors in its
// heap figure and the cases after it, reusing them, would not.
func warmGoroutines(n int) {
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { <-release })
	}
	close(release)
	wg.Wait()
}

// BenchmarkIdleConn measures what an open, idle client connection costs:
// heap-B/conn (live heap after GC, both sockets included), stack-B/conn,
// goroutines/conn; ns/op, B/op and allocs/op are per dial. The raw row is
// a bare TCP connection with a handshake and no library, to subtract; in
// the waiting mode a goroutine is blocked in its Read of one byte, the
// least a client's waiting receive can cost.
// gobwas/ws is measured as its Dialer leaves the connection (the
// gobwas-wsutil row): a net.Conn and nothing else; the gobwas-lowlevel
// client and gorilla-ReadMessage are skipped, since their extra memory is
// this package's own buffers or the same connection as gorilla.
//
// The framewire-http2 row, next to framewire's, opens the same number of
// WebSockets over one HTTP/2 connection (one HTTP2Pool, h2c) to
// h2HoldServer; its figures include that connection's share.
//
// The measurement dials -idle.conns connections once per run (when the
// framework calls with b.N == 1) and reports the same figures for the
// framework's later, larger b.N calls, which do no work.
func BenchmarkIdleConn(b *testing.B) {
	warmGoroutines(2 * *idleConns)
	libs := append([]library{{name: "raw", dial: dialRaw}}, libraries()...)
	for _, mode := range []string{"idle", "waiting", "dialer-waiting"} {
		for _, lib := range libs {
			switch {
			case lib.name == "gorilla-ReadMessage", lib.name == "gobwas-lowlevel":
				continue // same connection as gorilla; the bench's own buffers
			}
			var res idleResult
			b.Run(mode+"/"+lib.name, func(b *testing.B) {
				if b.N == 1 {
					res = measureIdle(b, startHoldServer(b, nil), lib, *idleConns, waitModes[mode], nil)
				}
				res.report(b)
			})
			if lib.name != "framewire" {
				continue
			}
			var h2 idleResult
			b.Run(mode+"/framewire-http2", func(b *testing.B) {
				if b.N == 1 {
					var pool conn.HTTP2Pool
					defer pool.Close()
					h2 = measureIdle(b, startH2HoldServer(b), framewireHTTP2(&pool), *idleConns, waitModes[mode], nil)
				}
				h2.report(b)
			})
		}
	}
}
