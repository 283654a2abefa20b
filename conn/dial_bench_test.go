package conn_test

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/wstest"
)

// zeroRand reads as an endless run of zero bytes: a Sec-WebSocket-Key
// known in advance, so that a canned answer can accept it.
type zeroRand struct{}

func (zeroRand) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// cannedUpgrade is the 101 answer to a request whose key was read from
// zeroRand.
var cannedUpgrade = []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Accept: " + acceptKey(base64.StdEncoding.EncodeToString(make([]byte, 16))) + "\r\n\r\n")

// dialCanned runs one DialConn over m, rewound to answer with
// cannedUpgrade, and shuts the Conn down.
func dialCanned(tb testing.TB, d *conn.Dialer, m *memConn) {
	m.head = cannedUpgrade // read, never written
	c, err := d.DialConn(context.Background(), m, "ws://memory.test/chat?room=1")
	if err != nil {
		tb.Fatal(err)
	}
	c.CloseNow()
}

// BenchmarkDialConn measures the dialer's own work: building the request,
// reading and checking a canned 101 answer, and setting up the Conn, over
// an in-memory transport.
func BenchmarkDialConn(b *testing.B) {
	d := &conn.Dialer{Rand: zeroRand{}}
	m := &memConn{}
	b.ReportAllocs()
	for b.Loop() {
		dialCanned(b, d, m)
	}
}

// maxDialAllocs is what a DialConn may allocate: the URL, the key, the
// answer's fields, and the Conn with its reader and transport.
const maxDialAllocs = 15

// DialConn over a canned answer allocates at most maxDialAllocs times:
// the request and the answer's reader are pooled, the answer's fields are
// slices of one string, and a context that never ends binds nothing.
func TestDialConnAllocs(t *testing.T) {
	if conn.RaceEnabled {
		t.Skip("the race detector drops pooled buffers at random")
	}
	d := &conn.Dialer{Rand: zeroRand{}}
	m := &memConn{}
	dialCanned(t, d, m) // fill the pool
	if n := testing.AllocsPerRun(100, func() { dialCanned(t, d, m) }); n > maxDialAllocs {
		t.Errorf("DialConn: %v allocations, want at most %d", n, maxDialAllocs)
	}
}

// BenchmarkDialLoopback dials a wstest server over loopback TCP: the
// dialer's work plus net.Dial's own allocations. Env reads the (empty)
// proxy environment on each dial as the zero Dialer does; Direct skips it.
func BenchmarkDialLoopback(b *testing.B) {
	s := serve(b, func(p *wstest.Peer) {
		if p.Upgrade(nil) == nil {
			p.ReadClose()
		}
	})
	for _, name := range []string{"Env", "Direct"} {
		b.Run(name, func(b *testing.B) {
			for _, k := range []string{"http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD"} {
				b.Setenv(k, "")
			}
			d := &conn.Dialer{}
			if name == "Direct" {
				noProxy(d)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				c, err := d.Dial(ctx, s.URL)
				if err != nil {
					b.Fatal(err)
				}
				c.CloseNow()
			}
		})
	}
}
