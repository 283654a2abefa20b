package conn_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/handshake"
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
// answer's text and its list of fields, and the Conn with its reader and
// transport; 8 today, and one to spare.
const maxDialAllocs = 9

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

// rawRequest is a fixed opening handshake, for the floor of
// TestDialLoopbackAllocs.
const rawRequest = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// readHead reads from nc into buf until the empty line that ends an HTTP
// head, and returns what it read.
func readHead(nc net.Conn, buf []byte) ([]byte, error) {
	n := 0
	for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
		if n == len(buf) {
			return nil, errors.New("head too long")
		}
		m, err := nc.Read(buf[n:])
		n += m
		if err != nil {
			return nil, err
		}
	}
	return buf[:n], nil
}

// upgradeOne answers the opening handshake on nc with 101 and reads until
// the client closes: the same work whoever the client is.
func upgradeOne(nc net.Conn, buf []byte) {
	defer nc.Close()
	req, err := readHead(nc, buf)
	if err != nil {
		return
	}
	const field = "\r\nSec-WebSocket-Key: "
	i := bytes.Index(req, []byte(field))
	if i < 0 {
		return
	}
	key, _, _ := bytes.Cut(req[i+len(field):], []byte("\r\n"))
	fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		handshake.AcceptKey(string(key)))
	for {
		if _, err := nc.Read(buf); err != nil {
			return
		}
	}
}

// maxDialOverRaw is what a Dial with the zero Dialer may allocate beyond a
// raw dial over loopback TCP: 7 today (the URL, the key, the answer's
// text and its list of fields, the Conn with its reader, and the context
// that carries the bound's deadline), and one to spare.
const maxDialOverRaw = 8

// A Dial with the zero Dialer over loopback TCP allocates at most
// maxDialOverRaw times more than a raw dial: net.Dialer.DialContext with
// context.Background, a fixed handshake written and its answer read into a
// buffer. Both dial the same in-process server, one connection at a time,
// and both counts include its allocations (and net's), which the
// difference cancels; the proxy environment is read and found empty.
func TestDialLoopbackAllocs(t *testing.T) {
	if conn.RaceEnabled {
		t.Skip("the race detector drops pooled buffers at random")
	}
	for _, k := range []string{"http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD"} {
		t.Setenv(k, "")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1024)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			upgradeOne(nc, buf)
		}
	}()
	defer func() { ln.Close(); <-done }()
	addr := ln.Addr().String()
	ctx := context.Background()
	buf := make([]byte, 1024)
	raw := func() {
		var nd net.Dialer
		nc, err := nd.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if _, err := io.WriteString(nc, rawRequest); err != nil {
			t.Fatal(err)
		}
		if _, err := readHead(nc, buf); err != nil {
			t.Fatal(err)
		}
	}
	var d conn.Dialer
	url := "ws://" + addr + "/"
	dial := func() {
		c, err := d.Dial(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		c.CloseNow()
	}
	raw()
	dial()
	floor := testing.AllocsPerRun(200, raw)
	n := testing.AllocsPerRun(200, dial)
	t.Logf("raw dial %v allocations, Dial %v", floor, n)
	if n-floor > maxDialOverRaw {
		t.Errorf("Dial: %v allocations, %v more than a raw dial; want at most %d more", n, n-floor, maxDialOverRaw)
	}
}
