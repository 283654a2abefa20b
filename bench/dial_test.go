package bench

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/internal/childproc"
)

// dialServerEnv makes TestDialServer serve instead of skipping.
const dialServerEnv = "FW_BENCH_DIAL_SERVER"

// TestDialServer is the server of BenchmarkDial, run in a process of its
// own so that the benchmark counts only the client's allocations: it
// answers every opening handshake with 101, reads until the client
// closes, prints its URL on a line of its own and serves until its
// standard input ends.
func TestDialServer(t *testing.T) {
	if os.Getenv(dialServerEnv) == "" {
		t.Skip("run by BenchmarkDial")
	}
	s := startUpgradeServer(t, nil)
	os.Stdout.WriteString("\n" + s.wsURL() + "\n")
	io.Copy(io.Discard, os.Stdin)
}

// startUpgradeServer starts a server that answers each opening handshake
// with 101 and then reads until the client closes. count, if not nil, is
// incremented for every answer written.
func startUpgradeServer(tb testing.TB, count *atomic.Int64) *server {
	return serveEach(tb, func(nc net.Conn) {
		if acceptHandshake(nc, nil) != nil {
			return
		}
		if count != nil {
			count.Add(1)
		}
		io.Copy(io.Discard, nc)
	})
}

// dialServer starts TestDialServer in a child process, stopped at the end
// of the benchmark, and returns its URL.
func dialServer(b *testing.B) string {
	return childproc.Start(b, "TestDialServer", dialServerEnv, func(l string) bool { return strings.HasPrefix(l, "ws://") })
}

// dialLibraries are the clients of BenchmarkDial: raw, then every library
// whose dial is its own (gorilla-ReadMessage dials as gorilla does;
// gobwas-lowlevel dials as gobwas-wsutil does and then makes this
// package's buffers). Two rows show what bounding a dial costs:
// framewire-unbounded is framewire with no HandshakeTimeout, and
// gobwas-bounded is gobwas-wsutil with a Timeout as long as framewire's
// default bound (gorilla's DefaultDialer has a 45 s bound, coder and gws
// none).
func dialLibraries() []library {
	libs := []library{{name: "raw", dial: dialRaw}}
	for _, lib := range libraries() {
		if lib.name != "gorilla-ReadMessage" && lib.name != "gobwas-lowlevel" {
			libs = append(libs, lib)
		}
	}
	return append(libs,
		library{name: "framewire-unbounded", dial: dialFramewireUnbounded},
		library{name: "gobwas-bounded", dial: dialGobwasBounded},
	)
}

func dialFramewireUnbounded(ctx context.Context, url string, nd netDial) (client, error) {
	d := conn.Dialer{NetDial: nd, HandshakeTimeout: -1}
	c, err := d.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	return &framewireClient{c: c, ctx: context.Background()}, nil
}

func dialGobwasBounded(ctx context.Context, url string, nd netDial) (client, error) {
	return dialGobwasTimeout(ctx, url, nd, conn.DefaultHandshakeTimeout)
}

// Every client's dial completes the opening handshake: the server answered
// it, and a dial to a server whose Sec-WebSocket-Accept is wrong fails, so
// the client read the answer and checked it before returning.
func TestDialCompletesHandshake(t *testing.T) {
	var answered atomic.Int64
	good := startUpgradeServer(t, &answered)
	bad := serveEach(t, func(nc net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(nc))
		if err != nil {
			return
		}
		io.WriteString(nc, switchingProtocols(req.Header.Get("Sec-WebSocket-Key")+"x", ""))
	})
	ctx := context.Background()
	for _, lib := range dialLibraries() {
		t.Run(lib.name, func(t *testing.T) {
			before := answered.Load()
			c, err := lib.dial(ctx, good.wsURL(), nil)
			if err != nil {
				t.Fatal(err)
			}
			c.close()
			if n := answered.Load() - before; n != 1 {
				t.Errorf("the server answered %d handshakes, want 1", n)
			}
			if c, err := lib.dial(ctx, bad.wsURL(), nil); err == nil {
				c.close()
				t.Error("dial accepted a wrong Sec-WebSocket-Accept")
			}
		})
	}
}

// BenchmarkDial dials a loopback server and closes the connection at once,
// one op per dial: TCP connect, opening handshake, the client's setup and
// its close. The server runs in a child process (TestDialServer), so B/op
// and allocs/op are the client's alone (plus what the runtime allocates
// meanwhile). The raw row is net.Dialer and a hand-written handshake
// checked by hand, the floor every client pays.
func BenchmarkDial(b *testing.B) {
	url := dialServer(b)
	ctx := context.Background()
	for _, lib := range dialLibraries() {
		b.Run(lib.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, err := lib.dial(ctx, url, nil)
				if err != nil {
					b.Fatal(err)
				}
				c.close()
			}
		})
	}
}
