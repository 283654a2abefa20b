package conn_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/proxy"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

func dialErr(t *testing.T, d *conn.Dialer, url string) error {
	t.Helper()
	if d == nil {
		d = &conn.Dialer{}
	}
	c, err := noProxy(d).Dial(testCtx(t), url)
	if err == nil {
		c.CloseNow()
		t.Fatalf("Dial(%s) succeeded", url)
	}
	return err
}

// The request is laid out as websocket-client lays it out, with the
// options in their places (test_manual_headers).
func TestRequestLayout(t *testing.T) {
	checkLeaks(t)
	raw := make(chan string, 1)
	s := serve(t, func(p *wstest.Peer) {
		raw <- string(p.RawRequest)
		p.Upgrade(&wstest.Upgrade{Subprotocol: "chat"})
	})
	d := &conn.Dialer{
		Header:       http.Header{"X-Custom": {"1"}},
		Origin:       "http://example.org",
		Subprotocols: []string{"chat", "superchat"},
		Cookie:       "a=b",
		Host:         "example.com",
		Rand:         bytes.NewReader(make([]byte, 16)),
	}
	c := dial(t, d, s.URL+"/path?q=1")
	want := "GET /path?q=1 HTTP/1.1\r\n" +
		"Upgrade: websocket\r\n" +
		"Host: example.com\r\n" +
		"Origin: http://example.org\r\n" +
		"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Protocol: chat,superchat\r\n" +
		"X-Custom: 1\r\n" +
		"Cookie: a=b\r\n\r\n"
	if got := recv(t, raw); got != want {
		t.Errorf("request:\n%q\nwant\n%q", got, want)
	}
	if c.Subprotocol() != "chat" {
		t.Errorf("Subprotocol = %q", c.Subprotocol())
	}
}

// The default Host and Origin come from the URL.
func TestRequestDefaults(t *testing.T) {
	checkLeaks(t)
	raw := make(chan *http.Request, 1)
	s := serve(t, func(p *wstest.Peer) {
		raw <- p.Request
		p.Upgrade(nil)
	})
	dial(t, nil, strings.Replace(s.URL, "ws://", "http://", 1))
	r := recv(t, raw)
	if r.Host != s.Addr || r.Header.Get("Origin") != "http://"+s.Addr || r.URL.Path != "/" {
		t.Errorf("Host %q Origin %q path %q", r.Host, r.Header.Get("Origin"), r.URL.Path)
	}
}

func TestHandshakeFailures(t *testing.T) {
	tests := []struct {
		name string
		d    conn.Dialer
		h    wstest.Handler
		want error
	}{
		{"bad accept key", conn.Dialer{}, func(p *wstest.Peer) {
			p.Upgrade(&wstest.Upgrade{Accept: "dGhlIHNhbXBsZSBub25jZQ=="})
		}, handshake.ErrBadAccept},
		{"subprotocol not offered", conn.Dialer{Subprotocols: []string{"a"}}, func(p *wstest.Peer) {
			p.Upgrade(&wstest.Upgrade{Subprotocol: "b"})
		}, handshake.ErrBadSubprotocol},
		{"subprotocol without offer", conn.Dialer{}, func(p *wstest.Peer) {
			p.Upgrade(&wstest.Upgrade{Subprotocol: "b"})
		}, handshake.ErrBadSubprotocol},
		{"extension not offered", conn.Dialer{}, func(p *wstest.Peer) {
			p.Upgrade(&wstest.Upgrade{Extensions: "permessage-deflate"})
		}, handshake.ErrBadExtension},
		{"not an upgrade", conn.Dialer{}, func(p *wstest.Peer) {
			p.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"))
		}, handshake.ErrBadUpgrade},
		{"101 in HTTP/1.0", conn.Dialer{}, func(p *wstest.Peer) {
			p.Write([]byte("HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: " + acceptKey(p.Request.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"))
		}, handshake.ErrBadVersion},
		{"garbage", conn.Dialer{}, func(p *wstest.Peer) {
			p.Write([]byte("SSH-2.0-OpenSSH\r\n\r\n"))
		}, handshake.ErrMalformedResponse},
		{"closed before answering", conn.Dialer{}, func(p *wstest.Peer) {}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			s := serve(t, tt.h)
			if err := dialErr(t, &tt.d, s.URL); !errors.Is(err, tt.want) {
				t.Errorf("Dial = %v, want %v", err, tt.want)
			}
		})
	}
}

// A refused handshake is a StatusError with the status, headers and body
// (websocket-client's WebSocketBadStatusException).
func TestStatusError(t *testing.T) {
	checkLeaks(t)
	s := serve(t, func(p *wstest.Peer) {
		p.Respond(403, http.Header{"X-Why": {"no"}}, "nope!")
	})
	err := dialErr(t, nil, s.URL)
	var se *handshake.StatusError
	if !errors.As(err, &se) || !errors.Is(err, handshake.ErrBadStatus) {
		t.Fatalf("Dial = %v, want a StatusError", err)
	}
	if se.StatusCode != 403 || se.Status != "Forbidden" || se.Header.Get("X-Why") != "no" || string(se.Body) != "nope!" {
		t.Errorf("StatusError = %d %q %v %q", se.StatusCode, se.Status, se.Header, se.Body)
	}
}

// Redirects are followed: every status, relative locations, http(s)
// schemes; the limit is enforced.
func TestRedirects(t *testing.T) {
	checkLeaks(t)
	var s *wstest.Server
	s = serve(t, func(p *wstest.Peer) {
		switch p.Request.URL.Path {
		case "/301":
			p.Redirect(301, "/302", nil)
		case "/302":
			p.Redirect(302, strings.Replace(s.URL, "ws://", "http://", 1)+"/303", nil)
		case "/303":
			p.Redirect(303, "307?x=1", nil)
		case "/307":
			p.Redirect(307, "//"+s.Addr+"/308", nil)
		case "/308":
			p.Redirect(308, "/final", nil)
		case "/final":
			p.Upgrade(nil)
			p.WriteMessage(frame.OpText, []byte(p.Request.URL.String()))
			p.ReadClose()
		case "/loop":
			p.Redirect(302, "/loop", nil)
		}
	})
	c := dial(t, &conn.Dialer{MaxRedirects: 5}, s.URL+"/301")
	if _, p, err := c.ReadMessage(testCtx(t)); err != nil || string(p) != "/final" {
		t.Errorf("ReadMessage = %q, %v", p, err)
	}

	// Default limit 3: 5 redirects are too many.
	err := dialErr(t, nil, s.URL+"/301")
	var re *handshake.RedirectError
	if !errors.Is(err, conn.ErrTooManyRedirects) || !errors.As(err, &re) || re.Location.Path != "/308" {
		t.Errorf("Dial with 5 redirects = %v", err)
	}
	// A loop ends at the limit.
	if err := dialErr(t, nil, s.URL+"/loop"); !errors.Is(err, conn.ErrTooManyRedirects) {
		t.Errorf("loop: %v", err)
	}
	// A negative value: none followed.
	for _, n := range []int{-1, -5} {
		err = dialErr(t, &conn.Dialer{MaxRedirects: n}, s.URL+"/308")
		if !errors.Is(err, conn.ErrTooManyRedirects) || !errors.As(err, &re) || re.StatusCode != 308 {
			t.Errorf("MaxRedirects %d: %v", n, err)
		}
	}
	// Exactly the limit is followed.
	c = dial(t, &conn.Dialer{MaxRedirects: 1}, s.URL+"/308")
	if _, p, err := c.ReadMessage(testCtx(t)); err != nil || string(p) != "/final" {
		t.Errorf("MaxRedirects 1: ReadMessage = %q, %v", p, err)
	}
}

// Across hosts, credentials, the Cookie option and the Host override are
// dropped; the jar still applies per URL.
func TestRedirectCrossHost(t *testing.T) {
	checkLeaks(t)
	seen := make(chan *http.Request, 4)
	var other *wstest.Server
	other = serve(t, func(p *wstest.Peer) {
		seen <- p.Request
		p.Upgrade(nil)
		p.ReadClose()
	})
	// "localhost" is another host name for the same loopback listener.
	otherURL := "ws://localhost:" + other.Addr[strings.LastIndexByte(other.Addr, ':')+1:]
	first := serve(t, func(p *wstest.Peer) {
		seen <- p.Request
		p.Redirect(307, otherURL+"/there", http.Header{"Set-Cookie": {"sid=1; Path=/"}})
	})
	jar, _ := cookiejar.New(nil)
	d := &conn.Dialer{
		Header: http.Header{"Authorization": {"Bearer secret"}, "X-Keep": {"yes"}},
		Cookie: "opt=1",
		Host:   "first.example",
		Jar:    jar,
	}
	u := "ws://user:pass@" + first.Addr + "/here"
	dial(t, d, u)
	r1, r2 := recv(t, seen), recv(t, seen)
	if r1.Header.Get("Authorization") != "Bearer secret" || r1.Header.Get("Cookie") != "opt=1" || r1.Host != "first.example" {
		t.Errorf("first request: %v host %q", r1.Header, r1.Host)
	}
	if r2.Header.Get("Authorization") != "" || r2.Header.Get("Cookie") != "" || r2.Host != strings.TrimPrefix(otherURL, "ws://") || r2.Header.Get("X-Keep") != "yes" {
		t.Errorf("request after a cross-host redirect kept credentials: %v host %q", r2.Header, r2.Host)
	}
	// The jar got the cookie for 127.0.0.1, not for localhost.
	if cs := jar.Cookies(&url.URL{Scheme: "http", Host: first.Addr}); len(cs) != 1 || cs[0].Name != "sid" {
		t.Errorf("jar = %v", cs)
	}
}

// A redirect from wss to ws is refused unless AllowInsecureRedirect says
// otherwise; ws to wss, and wss to wss, are followed.
func TestRedirectDowngrade(t *testing.T) {
	checkLeaks(t)
	pool, cert := testCA(t)
	plain := serve(t, func(p *wstest.Peer) {
		p.Upgrade(nil)
		p.ReadClose()
	})
	var secure *wstest.Server
	secure = wstest.NewTLSServer(func(p *wstest.Peer) {
		switch p.Request.URL.Path {
		case "/down":
			p.Redirect(302, plain.URL+"/plain", nil)
		case "/https":
			p.Redirect(302, strings.Replace(plain.URL, "ws://", "http://", 1)+"/plain", nil)
		case "/same":
			p.Redirect(302, "/final", nil)
		default:
			p.Upgrade(nil)
			p.ReadClose()
		}
	}, &tls.Config{Certificates: []tls.Certificate{cert}})
	t.Cleanup(secure.Close)
	up := serve(t, func(p *wstest.Peer) { p.Redirect(301, secure.URL+"/final", nil) })
	cfg := &tls.Config{RootCAs: pool}

	for _, path := range []string{"/down", "/https"} {
		err := dialErr(t, &conn.Dialer{TLSConfig: cfg}, secure.URL+path)
		var re *handshake.RedirectError
		if !errors.Is(err, conn.ErrInsecureRedirect) || !errors.As(err, &re) || re.Location.Scheme != "ws" {
			t.Errorf("wss redirected to ws (%s): Dial = %v, want ErrInsecureRedirect", path, err)
		}
	}
	dial(t, &conn.Dialer{TLSConfig: cfg, AllowInsecureRedirect: true}, secure.URL+"/down")
	dial(t, &conn.Dialer{TLSConfig: cfg}, secure.URL+"/same")
	dial(t, &conn.Dialer{TLSConfig: cfg}, up.URL)
}

// URL user information becomes Basic credentials, on the same host only.
func TestURLUserinfo(t *testing.T) {
	checkLeaks(t)
	seen := make(chan string, 1)
	s := serve(t, func(p *wstest.Peer) {
		seen <- p.Request.Header.Get("Authorization")
		p.Upgrade(nil)
	})
	dial(t, nil, "ws://user:pass@"+s.Addr+"/")
	if got := recv(t, seen); got != "Basic dXNlcjpwYXNz" {
		t.Errorf("Authorization = %q", got)
	}
}

// The jar is fed by every response, redirects included, and consulted for
// every request; the Cookie option comes after the jar's cookies.
func TestCookieJarAcrossRedirect(t *testing.T) {
	checkLeaks(t)
	seen := make(chan string, 2)
	s := serve(t, func(p *wstest.Peer) {
		seen <- p.Request.Header.Get("Cookie")
		switch p.Request.URL.Path {
		case "/login":
			p.Redirect(302, "/ws", http.Header{"Set-Cookie": {"session=abc; Path=/"}})
		default:
			p.Upgrade(&wstest.Upgrade{Header: http.Header{"Set-Cookie": {"after=1; Path=/"}}})
		}
	})
	jar, _ := cookiejar.New(nil)
	dial(t, &conn.Dialer{Jar: jar, Cookie: "mine=2"}, s.URL+"/login")
	if got := recv(t, seen); got != "mine=2" {
		t.Errorf("first Cookie = %q", got)
	}
	if got := recv(t, seen); got != "session=abc; mine=2" {
		t.Errorf("Cookie after redirect = %q", got)
	}
	u := &url.URL{Scheme: "http", Host: s.Addr, Path: "/"}
	if cs := jar.Cookies(u); len(cs) != 2 {
		t.Errorf("jar = %v", cs)
	}
}

// Bad URLs are refused before any connection (test_bad_urls, test_ipv6).
func TestBadURLs(t *testing.T) {
	for _, u := range []string{"ws//example.com", "example.com", "ftp://x/", "ws://x/#frag", "ws:///path", "ws://x:99999/"} {
		var d conn.Dialer
		_, err := d.Dial(context.Background(), u)
		var ue *handshake.URLError
		if !errors.As(err, &ue) || !errors.Is(err, handshake.ErrInvalidURL) {
			t.Errorf("Dial(%q) = %v, want a URLError", u, err)
		}
	}
}

// A NetDial that returns neither a connection nor an error fails the dial
// with ErrNetDial on every path that calls it: directly, for TLS, to a
// proxy, and for HTTP/2.
func TestNetDialNil(t *testing.T) {
	nothing := func(context.Context, string, string) (net.Conn, error) { return nil, nil }
	for _, tt := range []struct {
		name string
		d    conn.Dialer
		url  string
	}{
		{"ws", conn.Dialer{}, "ws://127.0.0.1:9/"},
		{"wss", conn.Dialer{}, "wss://127.0.0.1:9/"},
		{"proxy", conn.Dialer{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: "127.0.0.1:9"})}, "ws://127.0.0.1:9/"},
		{"HTTP/2", conn.Dialer{HTTP2: conn.HTTP2Only}, "wss://127.0.0.1:9/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.d.NetDial = nothing
			if _, err := tt.d.Dial(context.Background(), tt.url); !errors.Is(err, conn.ErrNetDial) {
				t.Errorf("Dial = %v, want ErrNetDial", err)
			}
		})
	}
}

// Compression offers that cannot be sent fail the dial before it
// connects: a dial to a port nobody listens on reports them, not the
// refused connection.
func TestInvalidOfferBeforeDial(t *testing.T) {
	d := conn.Dialer{Config: conn.Config{Compression: &conn.Compression{
		Offers: []handshake.DeflateParams{{ServerMaxWindowBits: 16}},
	}}}
	if _, err := d.Dial(context.Background(), "ws://127.0.0.1:1/"); !errors.Is(err, handshake.ErrInvalidOffer) {
		t.Errorf("Dial = %v, want ErrInvalidOffer", err)
	}
}

// A name that does not resolve is ErrAddress wrapping the resolver's
// error (test_bad_urls' ws://example). The .invalid domain never resolves
// (RFC 6761).
func TestAddressError(t *testing.T) {
	d := &conn.Dialer{HandshakeTimeout: 5 * time.Second, Proxy: proxy.Direct}
	_, err := d.Dial(context.Background(), "ws://no-such-host.invalid/")
	var dns *net.DNSError
	switch {
	case errors.Is(err, conn.ErrAddress) && errors.As(err, &dns) && dns.Name == "no-such-host.invalid":
	case errors.Is(err, context.DeadlineExceeded):
		t.Skip("resolver timed out")
	default:
		t.Errorf("Dial = %v, want ErrAddress with the *net.DNSError", err)
	}
}

// HandshakeTimeout and ctx abandon a dial to a silent server cleanly: the
// error is a timeout, the socket is closed and no goroutine is left.
func TestDialTimeout(t *testing.T) {
	checkLeaks(t)
	closed := make(chan error, 2)
	s := serve(t, func(p *wstest.Peer) {
		_, err := p.ReadFrame() // waits until the client gives up
		closed <- err
	})
	d := &conn.Dialer{HandshakeTimeout: 30 * time.Millisecond}
	err := dialErr(t, d, s.URL)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Dial = %v, want deadline exceeded", err)
	}
	if err := recv(t, closed); !errors.Is(err, io.EOF) {
		t.Errorf("server read %v, want EOF", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = noProxy(&conn.Dialer{}).Dial(ctx, s.URL)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Dial = %v, want canceled", err)
	}
	recv(t, closed)
}

// Trace prints websocket-client's enableTrace format, with secrets
// redacted.
func TestTrace(t *testing.T) {
	checkLeaks(t)
	s := serve(t, func(p *wstest.Peer) {
		p.Upgrade(&wstest.Upgrade{Header: http.Header{"Set-Cookie": {"s=1"}}})
		p.WriteMessage(frame.OpText, []byte("hi"))
		p.ReadClose()
	})
	var buf bytes.Buffer
	d := &conn.Dialer{
		Header: http.Header{"Authorization": {"Bearer secret"}},
		Cookie: "c=secret",
		Rand:   bytes.NewReader(make([]byte, 16)),
		Config: conn.Config{Trace: &buf, MaskKey: abcd},
	}
	c := dial(t, d, s.URL+"/t")
	ctx := testCtx(t)
	c.WriteMessage(ctx, frame.OpText, []byte("yo"))
	c.ReadMessage(ctx)
	got := buf.String()
	want := "--- request header ---\n" +
		"GET /t HTTP/1.1\r\nUpgrade: websocket\r\nHost: " + s.Addr + "\r\nOrigin: http://" + s.Addr + "\r\n" +
		"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\nConnection: Upgrade\r\n" +
		"Authorization: ***\r\nCookie: ***\r\n\r\n\n" +
		"-----------------------\n" +
		"--- response header ---\n" +
		"HTTP/1.1 101 Switching Protocols\n" +
		"Connection: Upgrade\n" +
		"Sec-Websocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\n" +
		"Set-Cookie: ***\n" +
		"Upgrade: websocket\n" +
		"-----------------------\n" +
		"++Sent raw: b'\\x81\\x82abcd\\x18\\r'\n" +
		"++Sent decoded: fin=1 opcode=1 data=b'yo'\n" +
		"++Rcv raw: b'\\x81\\x02hi'\n" +
		"++Rcv decoded: fin=1 opcode=1 data=b'hi'\n"
	if got != want {
		t.Errorf("trace:\n%s\nwant:\n%s", got, want)
	}
}

// testCA makes a CA and a certificate for 127.0.0.1 and "ws.test".
func testCA(t testing.TB) (*x509.CertPool, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "framewire test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "ws.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"ws.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// wss works with the right CA, fails without it, and never negotiates h2.
func TestTLS(t *testing.T) {
	checkLeaks(t)
	pool, cert := testCA(t)
	sni := make(chan string, 4)
	srvCfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			sni <- h.ServerName + "|" + strings.Join(h.SupportedProtos, ",")
			return nil, nil
		},
	}
	s := wstest.NewTLSServer(wstest.Echo, srvCfg)
	t.Cleanup(s.Close)

	shared := &tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}}
	c := dial(t, &conn.Dialer{TLSConfig: shared}, s.URL)
	ctx := testCtx(t)
	if err := c.WriteMessage(ctx, frame.OpText, []byte("secure")); err != nil {
		t.Fatal(err)
	}
	if _, p, err := c.ReadMessage(ctx); err != nil || string(p) != "secure" {
		t.Errorf("ReadMessage = %q, %v", p, err)
	}
	if got := recv(t, sni); got != "|http/1.1" {
		t.Errorf("ClientHello SNI|ALPN = %q, want no SNI for an IP and http/1.1 only", got)
	}
	if len(shared.NextProtos) != 2 {
		t.Errorf("the Dialer's tls.Config was modified")
	}
	c.Close(ctx, 1000, "")

	// The Host override gives the SNI name.
	c = dial(t, &conn.Dialer{TLSConfig: &tls.Config{RootCAs: pool}, Host: "ws.test"}, s.URL)
	if got := recv(t, sni); got != "ws.test|http/1.1" {
		t.Errorf("SNI with Host override = %q", got)
	}
	c.Close(ctx, 1000, "")

	// Without the CA: refused.
	err := dialErr(t, &conn.Dialer{}, s.URL)
	var ue x509.UnknownAuthorityError
	if !errors.As(err, &ue) {
		var ve *tls.CertificateVerificationError
		if !errors.As(err, &ve) {
			t.Errorf("Dial without the CA = %v, want a verification error", err)
		}
	}
	<-sni
}

// connectProxy is an HTTP CONNECT proxy on 127.0.0.1 that records the
// requests it got.
type connectProxy struct {
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	requests []*http.Request
	conns    []net.Conn
}

func newConnectProxy(t *testing.T) *connectProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *connectProxy) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.requests = append(p.requests, req)
	p.mu.Unlock()
	if req.Method != http.MethodConnect || req.Header.Get("Proxy-Authorization") != "Basic dTpw" {
		io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
		return
	}
	up, err := net.Dial("tcp", req.Host)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer up.Close()
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{})
	go func() {
		io.Copy(up, br)
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	c.(*net.TCPConn).CloseWrite()
	<-done
}

// An explicit proxy is used through HTTP CONNECT, with its credentials;
// a refusal is a typed ProxyError.
func TestHTTPProxy(t *testing.T) {
	checkLeaks(t)
	s := serve(t, wstest.Echo)
	px := newConnectProxy(t)
	pu, _ := url.Parse("http://u:p@" + px.ln.Addr().String())
	d := &conn.Dialer{Proxy: http.ProxyURL(pu), ProxyHeader: http.Header{"X-Proxy": {"1"}}}
	c := dial(t, d, s.URL)
	ctx := testCtx(t)
	c.WriteMessage(ctx, frame.OpText, []byte("via proxy"))
	if _, p, err := c.ReadMessage(ctx); err != nil || string(p) != "via proxy" {
		t.Errorf("ReadMessage = %q, %v", p, err)
	}
	c.Close(ctx, 1000, "")
	px.mu.Lock()
	req := px.requests[0]
	px.mu.Unlock()
	if req.Host != s.Addr || req.Header.Get("X-Proxy") != "1" {
		t.Errorf("CONNECT %q headers %v", req.Host, req.Header)
	}

	bad, _ := url.Parse("http://u:wrong@" + px.ln.Addr().String())
	err := dialErr(t, &conn.Dialer{Proxy: http.ProxyURL(bad)}, s.URL)
	var pe *proxy.Error
	if !errors.As(err, &pe) || pe.StatusCode != 407 || !errors.Is(err, proxy.ErrAuth) || !errors.Is(err, proxy.ErrRefused) {
		t.Errorf("Dial with bad proxy credentials = %v", err)
	}
}

// The environment's proxy applies when Dialer.Proxy is nil.
func TestEnvironmentProxy(t *testing.T) {
	px := newConnectProxy(t)
	t.Setenv("HTTP_PROXY", "http://u:p@"+px.ln.Addr().String())
	t.Setenv("http_proxy", "")
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	// Loopback targets bypass environment proxies, so use a name the proxy
	// will fail to reach: the proxy answers 502, which proves it was used.
	var d conn.Dialer
	_, err := d.Dial(testCtx(t), "ws://unreachable.invalid/")
	var pe *proxy.Error
	if !errors.As(err, &pe) || pe.StatusCode != 502 {
		t.Errorf("Dial = %v, want the proxy's 502", err)
	}
}

// DialConn runs the handshake over a connection the caller made, here a
// net.Pipe served by the test server.
func TestDialConn(t *testing.T) {
	checkLeaks(t)
	s := serve(t, wstest.Echo)
	var d conn.Dialer
	c, err := d.DialConn(testCtx(t), s.Pipe(), "ws://pipe.test/")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ctx := testCtx(t)
	c.WriteMessage(ctx, frame.OpText, []byte("over a pipe"))
	if _, p, err := c.ReadMessage(ctx); err != nil || string(p) != "over a pipe" {
		t.Errorf("ReadMessage = %q, %v", p, err)
	}
	// A redirect cannot be followed over a given connection.
	r := serve(t, func(p *wstest.Peer) { p.Redirect(301, "/x", nil) })
	_, err = d.DialConn(testCtx(t), r.Pipe(), "ws://pipe.test/")
	var re *handshake.RedirectError
	if !errors.As(err, &re) {
		t.Errorf("DialConn redirect = %v", err)
	}
}

// A refusal without a framed body from a server that keeps the connection
// open is reported at once, not after the dial's deadline; and one whose
// declared body never arrives is still reported as the refusal when the
// deadline ends the read of its body.
func TestStatusErrorServerKeepsOpen(t *testing.T) {
	checkLeaks(t)
	tests := []struct {
		name, head string
		body       string
	}{
		{"unframed", "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nnope", "nope"},
		{"short content-length", "HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\nnope", "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hold := make(chan struct{})
			s := serve(t, func(p *wstest.Peer) {
				p.Write([]byte(tt.head))
				<-hold
			})
			t.Cleanup(func() { close(hold) }) // before the server's Close
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := noProxy(&conn.Dialer{}).Dial(ctx, s.URL)
			var se *handshake.StatusError
			if !errors.As(err, &se) || se.StatusCode != 403 || string(se.Body) != tt.body {
				t.Fatalf("Dial = %v; want the 403 with body %q", err, tt.body)
			}
			if tt.name == "unframed" && ctx.Err() != nil {
				t.Errorf("Dial waited for the deadline")
			}
		})
	}
}

// An IPv6 literal is dialled on its address, and the Host header carries
// it in brackets with the port.
func TestDialIPv6(t *testing.T) {
	checkLeaks(t)
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	hosts := make(chan string, 1)
	served := make(chan struct{})
	go func() {
		defer close(served)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		wstest.Serve(nc, func(p *wstest.Peer) {
			hosts <- p.Request.Host
			p.Upgrade(nil)
			p.Echo()
		})
	}()
	t.Cleanup(func() {
		ln.Close()
		<-served
	})
	port := ln.Addr().(*net.TCPAddr).Port
	c := dial(t, nil, "ws://[::1]:"+strconv.Itoa(port)+"/v6")
	want := "[::1]:" + strconv.Itoa(port)
	if got := recv(t, hosts); got != want {
		t.Errorf("Host = %q, want %q", got, want)
	}
	if ra := c.RemoteAddr().String(); ra != want {
		t.Errorf("RemoteAddr = %s, want %s", ra, want)
	}
	ctx := testCtx(t)
	if err := c.WriteMessage(ctx, frame.OpText, []byte("six")); err != nil {
		t.Fatal(err)
	}
	if _, p, err := c.ReadMessage(ctx); err != nil || string(p) != "six" {
		t.Errorf("ReadMessage = %q, %v", p, err)
	}
	if err := c.Close(ctx, status.NormalClosure, ""); err != nil {
		t.Errorf("Close = %v", err)
	}
}

// A dialed Conn tells the HTTP version and status of its handshake; a
// Conn made by New has none.
func TestProtoStatus(t *testing.T) {
	s := serve(t, func(p *wstest.Peer) {
		if p.Upgrade(nil) == nil {
			p.ReadClose()
		}
	})
	c := dial(t, noProxy(&conn.Dialer{}), s.URL)
	defer c.CloseNow()
	if c.Proto() != "HTTP/1.1" || c.StatusCode() != http.StatusSwitchingProtocols {
		t.Errorf("dialed: Proto, Status = %q, %d; want HTTP/1.1, 101", c.Proto(), c.StatusCode())
	}
	a, b := net.Pipe()
	defer b.Close()
	n := conn.New(a, nil)
	defer n.CloseNow()
	if n.Proto() != "" || n.StatusCode() != 0 {
		t.Errorf("New: Proto, Status = %q, %d; want \"\", 0", n.Proto(), n.StatusCode())
	}
}

// A request that cannot be sent is refused before anything is dialled:
// no connection is made, no proxy learns the target, and a bad Host
// override never becomes a TLS server name or an HTTP/2 :authority.
func TestDialRefusesUnsendableFirst(t *testing.T) {
	for name, d := range map[string]conn.Dialer{
		"Host with CR LF":        {Host: "a\r\nX-Injected: 1"},
		"Host with NUL, HTTP/2":  {Host: "a\x00b", HTTP2: conn.HTTP2Only},
		"Host with a space":      {Host: "a b/c?d", HTTP2: conn.HTTP2Prefer},
		"Header value with CR":   {Header: http.Header{"X-A": {"a\rb"}}},
		"Header name with space": {Header: http.Header{"X A": {"1"}}},
		"two Origin entries":     {Header: http.Header{"Origin": {"http://a", "http://b"}}},
		"Origin with LF":         {Origin: "http://o\n"},
		"Subprotocol with comma": {Subprotocols: []string{"a,b"}},
		"Cookie with CR LF":      {Cookie: "a=1\r\nX: 1"},
	} {
		for _, target := range []string{"ws://h.test/", "wss://h.test/"} {
			dialled := 0
			d.NetDial = func(context.Context, string, string) (net.Conn, error) {
				dialled++
				return nil, errors.New("dialled")
			}
			d.Proxy = func(*http.Request) (*url.URL, error) {
				dialled++
				return nil, nil
			}
			_, err := d.Dial(context.Background(), target)
			if !errors.Is(err, handshake.ErrInvalidHeader) || dialled > 0 {
				t.Errorf("%s, %s: Dial = %v after %d dials or proxy choices, want ErrInvalidHeader before any", name, target, err, dialled)
			}
		}
	}
}
