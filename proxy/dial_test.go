package proxy_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framewire/ws/internal/proxytest"
	"github.com/framewire/ws/proxy"
)

func proxyURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// echo checks that c reaches the echo server.
func echo(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "ping"); err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	if _, err := io.ReadFull(c, b[:]); err != nil || string(b[:]) != "ping" {
		t.Fatalf("echo = %q, %v", b, err)
	}
}

func TestProxyDial(t *testing.T) {
	target := proxytest.NewEcho(t)
	_, port, _ := net.SplitHostPort(target.Addr)
	tests := []struct {
		name       string
		server     func(testing.TB, proxytest.Config) *proxytest.Server
		cfg        proxytest.Config
		scheme     string
		userinfo   string
		auth       *url.Userinfo
		addr       string
		wantTarget string
		wantUser   string
		wantRaw    string // exact request bytes (HTTP head, SOCKS request)
	}{
		{
			name: "http", server: proxytest.NewHTTP, scheme: "http", addr: target.Addr,
			wantTarget: target.Addr,
			wantRaw:    crlf("CONNECT "+target.Addr+" HTTP/1.1", "Host: "+target.Addr, "X-Trace: 1"),
		},
		{
			name: "http basic auth from URL", server: proxytest.NewHTTP, cfg: proxytest.Config{User: "u", Password: "p w"},
			scheme: "http", userinfo: "u:p%20w@", addr: target.Addr, wantTarget: target.Addr, wantUser: "u",
		},
		{
			name: "http explicit auth wins", server: proxytest.NewHTTP, cfg: proxytest.Config{User: "u", Password: "right"},
			scheme: "http", userinfo: "u:wrong@", auth: url.UserPassword("u", "right"), addr: target.Addr, wantTarget: target.Addr, wantUser: "u",
		},
		{
			name: "http sends tunnel bytes with its answer", server: proxytest.NewHTTP, cfg: proxytest.Config{Extra: []byte("early")},
			scheme: "http", addr: target.Addr, wantTarget: target.Addr,
		},
		{
			name: "socks5 localhost resolved locally", server: proxytest.NewSOCKS5, scheme: "socks5",
			addr: "localhost:" + port, wantTarget: "127.0.0.1:" + port,
		},
		{
			name: "socks5h name sent to proxy", server: proxytest.NewSOCKS5, scheme: "socks5h",
			addr: "localhost:" + port, wantTarget: "localhost:" + port,
			wantRaw: "\x05\x01\x00\x03\x09localhost" + string([]byte{byte(atoi(port) >> 8), byte(atoi(port))}),
		},
		{
			name: "socks5 user/pass", server: proxytest.NewSOCKS5, cfg: proxytest.Config{User: "alice", Password: "secret"},
			scheme: "socks5", userinfo: "alice:secret@", addr: target.Addr, wantTarget: target.Addr, wantUser: "alice",
		},
		{
			name: "socks5 explicit auth", server: proxytest.NewSOCKS5, cfg: proxytest.Config{User: "alice", Password: "secret"},
			scheme: "socks5h", auth: url.UserPassword("alice", "secret"), addr: target.Addr, wantTarget: target.Addr, wantUser: "alice",
		},
		{
			name: "socks4", server: proxytest.NewSOCKS4, scheme: "socks4", userinfo: "bob@",
			addr: target.Addr, wantTarget: target.Addr, wantUser: "bob",
			wantRaw: "\x04\x01" + string([]byte{byte(atoi(port) >> 8), byte(atoi(port))}) + "\x7f\x00\x00\x01bob\x00",
		},
		{
			name: "socks4 localhost resolved locally", server: proxytest.NewSOCKS4, scheme: "socks4",
			addr: "localhost:" + port, wantTarget: "127.0.0.1:" + port,
		},
		{
			name: "socks4a name sent to proxy", server: proxytest.NewSOCKS4, scheme: "socks4a",
			addr: "localhost:" + port, wantTarget: "localhost:" + port,
			wantRaw: "\x04\x01" + string([]byte{byte(atoi(port) >> 8), byte(atoi(port))}) + "\x00\x00\x00\x01\x00localhost\x00",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.server(t, tt.cfg)
			d := &proxy.Dialer{
				URL:    proxyURL(t, tt.scheme+"://"+tt.userinfo+p.Addr),
				Auth:   tt.auth,
				Header: http.Header{"X-Trace": {"1"}},
			}
			c, err := d.DialContext(t.Context(), "tcp", tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if len(tt.cfg.Extra) > 0 {
				b := make([]byte, len(tt.cfg.Extra))
				if _, err := io.ReadFull(c, b); err != nil || string(b) != string(tt.cfg.Extra) {
					t.Fatalf("early bytes = %q, %v", b, err)
				}
			}
			echo(t, c)
			reqs := p.Requests()
			if len(reqs) != 1 {
				t.Fatalf("proxy saw %d requests", len(reqs))
			}
			r := reqs[0]
			if r.Target != tt.wantTarget || r.User != tt.wantUser {
				t.Errorf("proxy saw target %q user %q; want %q %q", r.Target, r.User, tt.wantTarget, tt.wantUser)
			}
			if tt.wantRaw != "" && string(r.Raw) != tt.wantRaw {
				t.Errorf("request bytes:\n got %q\nwant %q", r.Raw, tt.wantRaw)
			}
		})
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestProxyRefused(t *testing.T) {
	target := proxytest.NewEcho(t)
	tests := []struct {
		name     string
		server   func(testing.TB, proxytest.Config) *proxytest.Server
		cfg      proxytest.Config
		proxy    string // scheme://userinfo@ ; host appended
		status   int
		code     int
		wantAuth bool
	}{
		{name: "http 407 without credentials", server: proxytest.NewHTTP, cfg: proxytest.Config{User: "u", Password: "p"}, proxy: "http://", status: 407, wantAuth: true},
		{name: "http 407 wrong password", server: proxytest.NewHTTP, cfg: proxytest.Config{User: "u", Password: "p"}, proxy: "http://u:x@", status: 407, wantAuth: true},
		{name: "http 403", server: proxytest.NewHTTP, cfg: proxytest.Config{Status: 403}, proxy: "http://", status: 403},
		{name: "socks5 wrong password", server: proxytest.NewSOCKS5, cfg: proxytest.Config{User: "u", Password: "p"}, proxy: "socks5://u:x@", code: 1, wantAuth: true},
		{name: "socks5 no acceptable method", server: proxytest.NewSOCKS5, cfg: proxytest.Config{User: "u", Password: "p"}, proxy: "socks5://", code: 0xff, wantAuth: true},
		{name: "socks5 connection refused", server: proxytest.NewSOCKS5, cfg: proxytest.Config{Reply: 5}, proxy: "socks5h://", code: 5},
		{name: "socks5 ruleset", server: proxytest.NewSOCKS5, cfg: proxytest.Config{Reply: 2}, proxy: "socks5://", code: 2},
		{name: "socks4 rejected", server: proxytest.NewSOCKS4, cfg: proxytest.Config{Reply: 91}, proxy: "socks4://", code: 91},
		{name: "socks4 wrong user", server: proxytest.NewSOCKS4, cfg: proxytest.Config{User: "u"}, proxy: "socks4a://x@", code: 93, wantAuth: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.server(t, tt.cfg)
			d := &proxy.Dialer{URL: proxyURL(t, tt.proxy+p.Addr)}
			c, err := d.DialContext(t.Context(), "tcp", target.Addr)
			if err == nil {
				c.Close()
				t.Fatal("dial succeeded")
			}
			pe, ok := errors.AsType[*proxy.Error](err)
			if !ok || !errors.Is(err, proxy.ErrRefused) {
				t.Fatalf("err = %v; want a refusal *proxy.Error", err)
			}
			if pe.StatusCode != tt.status || pe.Code != tt.code {
				t.Errorf("got status %d code %d; want %d %d", pe.StatusCode, pe.Code, tt.status, tt.code)
			}
			if errors.Is(err, proxy.ErrAuth) != tt.wantAuth {
				t.Errorf("errors.Is(err, ErrAuth) = %v", !tt.wantAuth)
			}
			if strings.Contains(err.Error(), ":x@") || strings.Contains(pe.Proxy, ":x@") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// badProxy answers every connection with fixed bytes.
func badProxy(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				var b [512]byte
				c.Read(b[:])
				io.WriteString(c, reply)
			})
		}
	})
	return ln.Addr().String()
}

// A reply that breaks the protocol is an *Error matching ErrProtocol, with
// what was wrong in its text.
func TestProxyProtocolErrors(t *testing.T) {
	tests := []struct {
		scheme, reply string
		want          string // in the error text
	}{
		{"http", "garbage\r\n\r\n", "malformed CONNECT response"},
		{"http", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: y\r\n", 5000) + "\r\n", "longer than 16384 bytes"},
		{"http", "HTTP/1.1 100 Continue\r\n\r\n" + strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 2000), "longer than 16384 bytes"},
		{"http", "HTTP/1.1 200 OK\r\n", "connection closed during the CONNECT response"},
		{"http", "", "connection closed during the CONNECT response"},
		{"socks5", "\x04\x00", "SOCKS5 reply version 4"},
		{"socks5", "\x05\x02", "method that was not offered"},
		{"socks5", "\x05", "connection closed during the SOCKS exchange"},
		{"socks4", "\x00\x5a\x00", "connection closed during the SOCKS exchange"},
		{"socks4", "\x05\x5a\x00\x00\x00\x00\x00\x00", "SOCKS4 reply version 5"},
		{"socks4", "\x00\x10\x00\x00\x00\x00\x00\x00", "SOCKS4 reply code 16"},
	}
	for _, tt := range tests {
		addr := badProxy(t, tt.reply)
		d := &proxy.Dialer{URL: proxyURL(t, tt.scheme+"://"+addr)}
		c, err := d.DialContext(t.Context(), "tcp", "127.0.0.1:9")
		if err == nil {
			c.Close()
		}
		pe, ok := errors.AsType[*proxy.Error](err)
		if !ok || !errors.Is(err, proxy.ErrProtocol) || errors.Is(err, proxy.ErrRefused) {
			t.Errorf("%s %.20q: err = %v; want an *Error matching ErrProtocol", tt.scheme, tt.reply, err)
			continue
		}
		if pe.Proxy != tt.scheme+"://"+addr || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "proxy: "+pe.Proxy+": ") {
			t.Errorf("%s %.20q: err = %q (Proxy %q); want it to name the proxy and say %q", tt.scheme, tt.reply, err, pe.Proxy, tt.want)
		}
	}
}

func TestProxyDialArguments(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		d    proxy.Dialer
		net  string
		addr string
		want error
	}{
		{proxy.Dialer{}, "tcp", "h:80", proxy.ErrInvalid},
		{proxy.Dialer{URL: proxyURL(t, "ftp://p:1")}, "tcp", "h:80", proxy.ErrInvalid},
		{proxy.Dialer{URL: proxyURL(t, "http://:8080")}, "tcp", "h:80", proxy.ErrInvalid},
		{proxy.Dialer{URL: proxyURL(t, "http://p:1")}, "udp", "h:80", proxy.ErrInvalid},
		{proxy.Dialer{URL: proxyURL(t, "http://p:1")}, "tcp", "h", proxy.ErrInvalid},
		{proxy.Dialer{URL: proxyURL(t, "http://p:1")}, "tcp", "h\r\n:80", proxy.ErrInvalid},
		{proxy.Dialer{URL: proxyURL(t, "http://p:1"), Header: http.Header{"X": {"a\r\nb"}}}, "tcp", "h:80", proxy.ErrInvalid},
		{proxy.Dialer{URL: proxyURL(t, "socks4://p:1")}, "tcp", "[2001:db8::1]:80", proxy.ErrInvalid},
		{proxy.Dialer{URL: proxyURL(t, "socks5://"+strings.Repeat("u", 256)+"@p:1")}, "tcp", "h:80", proxy.ErrInvalid},
	}
	for _, tt := range tests {
		tt.d.NetDial = func(context.Context, string, string) (net.Conn, error) {
			t.Errorf("dialled for %v %q", tt.d.URL, tt.addr)
			return nil, errors.New("no")
		}
		if _, err := tt.d.DialContext(ctx, tt.net, tt.addr); !errors.Is(err, tt.want) || !errors.As(err, new(*proxy.Error)) {
			t.Errorf("%v %s %q: err = %v; want %v", tt.d.URL, tt.net, tt.addr, err, tt.want)
		}
	}
}

// A NetDial that returns neither a connection nor an error is refused
// with ErrInvalid, for every scheme.
func TestProxyNetDialNil(t *testing.T) {
	for _, p := range []string{"http://p:1", "https://p:1", "socks5://p:1", "socks4://p:1"} {
		d := &proxy.Dialer{URL: proxyURL(t, p), NetDial: func(context.Context, string, string) (net.Conn, error) { return nil, nil }}
		if _, err := d.DialContext(t.Context(), "tcp", "h:80"); !errors.Is(err, proxy.ErrInvalid) || !errors.As(err, new(*proxy.Error)) {
			t.Errorf("%s: err = %v; want a *proxy.Error matching ErrInvalid", p, err)
		}
	}
}

func TestProxyDefaultPortAndNetDial(t *testing.T) {
	var got []string
	d := &proxy.Dialer{
		NetDial: func(_ context.Context, network, addr string) (net.Conn, error) {
			got = append(got, network+" "+addr)
			return nil, errors.New("stop")
		},
	}
	for _, p := range []string{"http://p", "https://p", "socks5://p", "socks4a://p", "http://[::1]", "socks5h://p:99"} {
		d.URL = proxyURL(t, p)
		d.DialContext(t.Context(), "tcp4", "h:80")
	}
	want := "tcp4 p:80,tcp4 p:443,tcp4 p:1080,tcp4 p:1080,tcp4 [::1]:80,tcp4 p:99"
	if strings.Join(got, ",") != want {
		t.Errorf("dialled %q; want %q", got, want)
	}
}

func TestProxyCancel(t *testing.T) {
	target := proxytest.NewEcho(t)
	for _, tc := range []struct {
		name   string
		server func(testing.TB, proxytest.Config) *proxytest.Server
		scheme string
	}{
		{"http", proxytest.NewHTTP, "http"},
		{"socks4", proxytest.NewSOCKS4, "socks4"},
		{"socks5", proxytest.NewSOCKS5, "socks5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			hold := make(chan struct{})
			defer close(hold)
			// The proxy reads the request, cancels the dial, and never
			// answers: only the cancellation can end DialContext.
			p := tc.server(t, proxytest.Config{Hold: hold, OnRequest: func(proxytest.Request) { cancel() }})
			d := &proxy.Dialer{URL: proxyURL(t, tc.scheme+"://"+p.Addr)}
			c, err := d.DialContext(ctx, "tcp", target.Addr)
			if err == nil {
				c.Close()
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v; want context.Canceled", err)
			}
		})
	}
	t.Run("deadline", func(t *testing.T) {
		hold := make(chan struct{})
		defer close(hold)
		p := proxytest.NewHTTP(t, proxytest.Config{Hold: hold})
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		d := &proxy.Dialer{URL: proxyURL(t, "http://"+p.Addr)}
		_, err := d.DialContext(ctx, "tcp", target.Addr)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v; want context.DeadlineExceeded", err)
		}
	})
}

func TestProxyHTTPS(t *testing.T) {
	target := proxytest.NewEcho(t)
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.RequestURI+" "+r.Header.Get("Proxy-Authorization"))
		mu.Unlock()
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", r.RequestURI)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer up.Close()
		w.WriteHeader(http.StatusOK)
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.Flush()
		done := make(chan struct{})
		go func() { io.Copy(up, brw); up.(*net.TCPConn).CloseWrite(); close(done) }()
		io.Copy(c, up)
		<-done
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failing TLS handshake below
	srv.StartTLS()
	defer srv.Close()

	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.NextProtos = nil
	u := proxyURL(t, srv.URL) // https://127.0.0.1:port, in the test certificate
	d := &proxy.Dialer{URL: u, TLSConfig: cfg, Auth: url.UserPassword("u", "p")}
	c, err := d.DialContext(t.Context(), "tcp", target.Addr)
	if err != nil {
		t.Fatal(err)
	}
	echo(t, c)
	c.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "CONNECT "+target.Addr+" Basic dTpw" {
		t.Errorf("proxy saw %q", seen)
	}

	// Without the test CA, TLS to the proxy fails.
	d = &proxy.Dialer{URL: u}
	if c, err := d.DialContext(t.Context(), "tcp", target.Addr); err == nil {
		c.Close()
		t.Error("TLS with an unknown CA succeeded")
	}
}

// A proxy that cannot be reached is reported as a proxy failure that names
// the proxy, without its password, and keeps the dial's own error.
func TestProxyUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	for _, scheme := range []string{"http", "socks4", "socks5h"} {
		t.Run(scheme, func(t *testing.T) {
			d := &proxy.Dialer{URL: &url.URL{Scheme: scheme, User: url.UserPassword("u", "s3cret"), Host: addr}}
			_, err := d.DialContext(context.Background(), "tcp", "example.com:80")
			var oe *net.OpError
			if !errors.As(err, new(*proxy.Error)) || !errors.As(err, &oe) {
				t.Fatalf("DialContext: %v; want a *proxy.Error wrapping the *net.OpError", err)
			}
			if msg := err.Error(); !strings.Contains(msg, addr) || strings.Contains(msg, "s3cret") {
				t.Errorf("error %q must name the proxy and hide its password", msg)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := &proxy.Dialer{URL: &url.URL{Scheme: "http", Host: addr}}
	if _, err := d.DialContext(ctx, "tcp", "example.com:80"); err != context.Canceled {
		t.Errorf("cancelled dial: %v, want context.Canceled", err)
	}
}

// Many proxies answer CONNECT in HTTP/1.0; only a WebSocket 101 must be
// HTTP/1.1.
func TestProxyHTTP10Answer(t *testing.T) {
	addr := badProxy(t, "HTTP/1.0 200 Connection established\r\n\r\n")
	d := &proxy.Dialer{URL: proxyURL(t, "http://"+addr)}
	c, err := d.DialContext(t.Context(), "tcp", "127.0.0.1:9")
	if err != nil {
		t.Fatalf("HTTP/1.0 200 from the proxy: %v", err)
	}
	c.Close()
}

// Trace sees the CONNECT request as written and every answer read to
// it, the interim one included, refused or not.
func TestProxyTrace(t *testing.T) {
	for _, tt := range []struct {
		reply string
		codes []int
		ok    bool
	}{
		{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nVia: p\r\n\r\n", []int{100, 200}, true},
		{"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", []int{407}, false},
	} {
		addr := badProxy(t, tt.reply)
		var req []byte
		var codes []int
		d := &proxy.Dialer{URL: proxyURL(t, "http://u:p@"+addr), Trace: &proxy.Trace{
			Request:  func(b []byte) { req = append(req, b...) },
			Response: func(r *http.Response) { codes = append(codes, r.StatusCode) },
		}}
		c, err := d.DialContext(t.Context(), "tcp", "127.0.0.1:9")
		if (err == nil) != tt.ok {
			t.Errorf("%q: DialContext = %v", tt.reply, err)
		}
		if c != nil {
			c.Close()
		}
		want, _ := proxy.AppendConnect(nil, "127.0.0.1:9", url.UserPassword("u", "p"), nil)
		if string(req) != string(want) || !slices.Equal(codes, tt.codes) {
			t.Errorf("%q: traced %q and %v; want %q and %v", tt.reply, req, codes, want, tt.codes)
		}
	}
}
