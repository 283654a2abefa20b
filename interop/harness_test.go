package interop

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// required reports whether a missing server fails a test instead of
// skipping it.
func required() bool {
	return os.Getenv("CI") == "true" || os.Getenv(KeyRequired) == "1"
}

// need returns the value of key, from the process environment or else the
// env file. When it is absent, or names an address where nothing listens
// or a file that does not exist, the test is skipped, or fails when
// required() holds.
func need(t testing.TB, key string) string {
	t.Helper()
	v, err := lookup(key)
	if err == nil {
		return v
	}
	msg := fmt.Sprintf("interop server %s not running: run make interop (%v)", key, err)
	if required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func lookup(key string) (string, error) {
	v := os.Getenv(key)
	if v == "" {
		e, err := LoadDefault()
		if err != nil {
			return "", err
		}
		var ok bool
		if v, ok = e.Get(key); !ok || v == "" {
			return "", fmt.Errorf("%s is not set in %s", key, e.Path())
		}
	}
	switch {
	case key == KeyCA:
		if _, err := os.Stat(v); err != nil {
			return "", err
		}
	case strings.Contains(v, "://"):
		u, err := url.Parse(v)
		if err != nil {
			return "", err
		}
		c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
		if err != nil {
			return "", err
		}
		c.Close()
	}
	return v, nil
}

const (
	wsGUID    = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" // RFC 6455 §1.3
	opCont    = 0x0
	opText    = 0x1
	opBinary  = 0x2
	opClose   = 0x8
	opPing    = 0x9
	opPong    = 0xA
	maxFrame  = 64 << 20
	ioTimeout = 60 * time.Second
)

// acceptKey is the Sec-WebSocket-Accept value for key (RFC 6455 §4.2.2).
func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// rawConn is a connection spoken by hand, for checking servers without
// the client.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

func newRawConn(t testing.TB, c net.Conn) *rawConn {
	t.Helper()
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	return &rawConn{Conn: c, br: bufio.NewReader(c)}
}

// tcpDial connects to host:port.
func tcpDial(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return newRawConn(t, c)
}

// tlsConfig trusts the bed's CA.
func tlsConfig(t testing.TB, serverName string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(need(t, KeyCA))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in the CA file")
	}
	return &tls.Config{RootCAs: pool, ServerName: serverName}
}

// startTLS runs a TLS client handshake over c.
func startTLS(t testing.TB, c *rawConn, serverName string) *rawConn {
	t.Helper()
	if c.br.Buffered() != 0 {
		t.Fatalf("%d bytes buffered before the TLS handshake", c.br.Buffered())
	}
	tc := tls.Client(c.Conn, tlsConfig(t, serverName))
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	return newRawConn(t, tc)
}

// dialURL connects to the server of a ws:// or wss:// URL.
func dialURL(t testing.TB, rawURL string) (*rawConn, *url.URL) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c := tcpDial(t, u.Host)
	if u.Scheme == "wss" {
		c = startTLS(t, c, u.Hostname())
	}
	return c, u
}

// handshake sends an opening handshake for u over c and reads the
// response. It returns the response and the key it sent.
func (c *rawConn) handshake(t testing.TB, u *url.URL, extra http.Header) (*http.Response, string) {
	t.Helper()
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", u.RequestURI(), u.Host)
	fmt.Fprintf(&b, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", key)
	for k, vs := range extra {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(c.br, &http.Request{Method: http.MethodGet, URL: u})
	if err != nil {
		t.Fatalf("reading the handshake response: %v", err)
	}
	return resp, key
}

// upgrade connects to rawURL and completes an opening handshake, checking
// the 101 response (RFC 6455 §4.1, §4.2.2).
func upgrade(t testing.TB, rawURL string, extra http.Header) (*rawConn, *http.Response) {
	t.Helper()
	c, u := dialURL(t, rawURL)
	return c, c.mustUpgrade(t, u, extra)
}

func (c *rawConn) mustUpgrade(t testing.TB, u *url.URL, extra http.Header) *http.Response {
	t.Helper()
	resp, key := c.handshake(t, u, extra)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		t.Fatalf("GET %s: status %s, body %q; want 101", u, resp.Status, body)
	}
	if got := resp.Header.Get("Upgrade"); !strings.EqualFold(got, "websocket") {
		t.Errorf("Upgrade: %q, want websocket", got)
	}
	if got := resp.Header.Get("Connection"); !strings.EqualFold(got, "upgrade") {
		t.Errorf("Connection: %q, want Upgrade", got)
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(key); got != want {
		t.Fatalf("Sec-WebSocket-Accept: %q, want %q", got, want)
	}
	return resp
}

// writeFrame sends one masked frame (RFC 6455 §5.2, §5.3).
func (c *rawConn) writeFrame(t testing.TB, fin bool, op byte, payload []byte) {
	t.Helper()
	b0 := op
	if fin {
		b0 |= 0x80
	}
	buf := make([]byte, 0, 14+len(payload))
	buf = append(buf, b0)
	switch n := len(payload); {
	case n <= 125:
		buf = append(buf, 0x80|byte(n))
	case n <= 0xFFFF:
		buf = append(buf, 0x80|126)
		buf = binary.BigEndian.AppendUint16(buf, uint16(n))
	default:
		buf = append(buf, 0x80|127)
		buf = binary.BigEndian.AppendUint64(buf, uint64(n))
	}
	var key [4]byte
	rand.Read(key[:])
	buf = append(buf, key[:]...)
	start := len(buf)
	buf = append(buf, payload...)
	for i := range payload {
		buf[start+i] ^= key[i&3]
	}
	if _, err := c.Write(buf); err != nil {
		t.Fatalf("writing a frame: %v", err)
	}
}

// readFrame reads one frame from the server, which must not be masked. The
// payload grows as bytes arrive, up to maxFrame.
func (c *rawConn) readFrame(t testing.TB) (fin bool, op byte, payload []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		t.Fatalf("reading a frame header: %v", err)
	}
	if h[1]&0x80 != 0 {
		t.Fatal("the server sent a masked frame")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			t.Fatal(err)
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			t.Fatal(err)
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if n > maxFrame {
		t.Fatalf("frame of %d bytes, limit %d", n, maxFrame)
	}
	var p bytes.Buffer
	if _, err := io.CopyN(&p, c.br, int64(n)); err != nil {
		t.Fatalf("reading a %d-byte payload: %v", n, err)
	}
	return h[0]&0x80 != 0, h[0] & 0x0F, p.Bytes()
}

// readMessage reads a data message, joining fragments and answering
// pings, or a close frame.
func (c *rawConn) readMessage(t testing.TB) (op byte, payload []byte) {
	t.Helper()
	var msg []byte
	first := byte(0xFF)
	for {
		fin, fop, p := c.readFrame(t)
		switch fop {
		case opPing:
			c.writeFrame(t, true, opPong, p)
			continue
		case opPong:
			continue
		case opClose:
			return opClose, p
		case opCont:
			if first == 0xFF {
				t.Fatal("continuation frame without a message")
			}
		case opText, opBinary:
			if first != 0xFF {
				t.Fatalf("opcode %#x inside a fragmented message", fop)
			}
			first = fop
		default:
			t.Fatalf("unexpected opcode %#x", fop)
		}
		msg = append(msg, p...)
		if fin {
			return first, msg
		}
	}
}

// closePayload builds a close frame's payload (RFC 6455 §5.5.1).
func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// parseClose splits a close frame's payload.
func parseClose(t testing.TB, p []byte) (uint16, string) {
	t.Helper()
	if len(p) < 2 {
		t.Fatalf("close payload %q has no code", p)
	}
	return binary.BigEndian.Uint16(p), string(p[2:])
}

// closeHandshake sends a normal close and expects the server's close frame
// in reply (RFC 6455 §5.5.1, §7.1.2).
func (c *rawConn) closeHandshake(t testing.TB) {
	t.Helper()
	c.writeFrame(t, true, opClose, closePayload(1000, "done"))
	for {
		op, p := c.readMessage(t)
		if op != opClose {
			continue
		}
		if len(p) >= 2 {
			if code, _ := parseClose(t, p); code != 1000 {
				t.Errorf("close reply code %d, want 1000", code)
			}
		}
		return
	}
}

// echo sends a message and checks that the same one comes back.
func (c *rawConn) echo(t testing.TB, op byte, payload []byte) {
	t.Helper()
	c.writeFrame(t, true, op, payload)
	gotOp, got := c.readMessage(t)
	if gotOp != op || !bytes.Equal(got, payload) {
		t.Fatalf("echo of %d bytes (opcode %#x): got %d bytes (opcode %#x)", len(payload), op, len(got), gotOp)
	}
}

// echoSession is the session of the echo tests: a text, a binary, an
// empty text and a 70,000-byte binary echoed (the 64-bit length form,
// and over HTTP/2 more than the initial flow-control window), a ping
// answered with a pong of the same payload, then the closing handshake.
func (c *rawConn) echoSession(t testing.TB) {
	t.Helper()
	c.echo(t, opText, []byte("héllo, framewire"))
	c.echo(t, opBinary, []byte{0, 1, 2, 0xFF, 0xFE})
	c.echo(t, opText, nil)
	c.echo(t, opBinary, bytes.Repeat([]byte{0xA5}, 70000))
	c.writeFrame(t, true, opPing, []byte("are you there"))
	if _, op, p := c.readFrame(t); op != opPong || string(p) != "are you there" {
		t.Errorf("ping answered with opcode %#x %q, want a pong with the same payload", op, p)
	}
	c.closeHandshake(t)
}

// connectProxy asks an HTTP proxy for a tunnel to target (RFC 9110 §9.3.6).
// auth is "user:pass", or "" for none.
func (c *rawConn) connectProxy(t testing.TB, target, auth string) *http.Response {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", target, target)
	if auth != "" {
		fmt.Fprintf(&b, "Proxy-Authorization: Basic %s\r\n", base64.StdEncoding.EncodeToString([]byte(auth)))
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(c.br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("reading the CONNECT response: %v", err)
	}
	return resp
}

// errSOCKS reports a SOCKS5 refusal.
var errSOCKS = errors.New("socks5 refused")

// socksGreet offers the methods and returns the one the server chose
// (RFC 1928 §3).
func (c *rawConn) socksGreet(t testing.TB, methods ...byte) byte {
	t.Helper()
	msg := append([]byte{5, byte(len(methods))}, methods...)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	var r [2]byte
	if _, err := io.ReadFull(c.br, r[:]); err != nil {
		t.Fatalf("reading the method selection: %v", err)
	}
	if r[0] != 5 {
		t.Fatalf("method selection version %d, want 5", r[0])
	}
	return r[1]
}

// socksLogin runs the username/password subnegotiation (RFC 1929 §2) and
// returns its status, 0 for success.
func (c *rawConn) socksLogin(t testing.TB, user, pass string) byte {
	t.Helper()
	msg := []byte{1, byte(len(user))}
	msg = append(msg, user...)
	msg = append(msg, byte(len(pass)))
	msg = append(msg, pass...)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	var r [2]byte
	if _, err := io.ReadFull(c.br, r[:]); err != nil {
		t.Fatalf("reading the login status: %v", err)
	}
	if r[0] != 1 {
		t.Fatalf("login status version %d, want 1", r[0])
	}
	return r[1]
}

// socksConnect sends CONNECT for host:port, host being an IPv4 literal or a
// name (RFC 1928 §4, §5, §6).
func (c *rawConn) socksConnect(t testing.TB, hostport string) error {
	t.Helper()
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	port, err := net.LookupPort("tcp", portStr)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte{5, 1, 0}
	if ip := net.ParseIP(host).To4(); ip != nil {
		msg = append(append(msg, 1), ip...)
	} else {
		msg = append(append(msg, 3, byte(len(host))), host...)
	}
	msg = binary.BigEndian.AppendUint16(msg, uint16(port))
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	var r [4]byte
	if _, err := io.ReadFull(c.br, r[:]); err != nil {
		t.Fatalf("reading the CONNECT reply: %v", err)
	}
	var addrLen int
	switch r[3] {
	case 1:
		addrLen = 4
	case 4:
		addrLen = 16
	case 3:
		l, err := c.br.ReadByte()
		if err != nil {
			t.Fatal(err)
		}
		addrLen = int(l)
	default:
		t.Fatalf("reply address type %d", r[3])
	}
	if _, err := io.CopyN(io.Discard, c.br, int64(addrLen+2)); err != nil {
		t.Fatal(err)
	}
	if r[1] != 0 {
		return fmt.Errorf("%w: reply %d", errSOCKS, r[1])
	}
	return nil
}

// hostOf returns the host:port of a URL-valued key.
func hostOf(t testing.TB, key string) string {
	t.Helper()
	u, err := url.Parse(need(t, key))
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
