package interop

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/proxy"
)

func TestClientSubprotocol(t *testing.T) {
	checkGoroutines(t)
	tests := []struct {
		offer []string
		want  string // "*": any of the offered
	}{
		{nil, ""},
		{[]string{"chat"}, "chat"},
		{[]string{"superchat"}, "superchat"},
		{[]string{"nonesuch"}, ""},
		{[]string{"nonesuch", "superchat"}, "superchat"},
		// The Node.js and Autobahn servers take the first of their own
		// list; websockets 10 breaks the tie between the two lists' orders
		// in no fixed way.
		{[]string{"superchat", "chat"}, "*"},
	}
	for _, key := range echoServers {
		t.Run(key, func(t *testing.T) {
			ctx := testContext(t)
			for _, tt := range tests {
				t.Run(strings.Join(tt.offer, ","), func(t *testing.T) {
					d, u := clientDialer(t, key)
					d.Subprotocols = tt.offer
					c := dialClient(t, ctx, d, u)
					got := c.Subprotocol()
					want := tt.want
					if want == "*" && key != KeyPython {
						want = "chat"
					}
					if want == "*" && !slices.Contains(tt.offer, got) || want != "*" && got != want {
						t.Errorf("Subprotocol() = %q, want %q (offered %q)", got, tt.want, tt.offer)
					}
					if h := c.Header().Get("Sec-WebSocket-Protocol"); h != got {
						t.Errorf("Header() Sec-WebSocket-Protocol %q, Subprotocol() %q", h, got)
					}
					echoMessage(t, ctx, c, frame.OpText, []byte("subprotocol "+got))
					closeNormally(t, ctx, c)
				})
			}
		})
	}
}

// seenRequest is the JSON that /headers sends: {method, url, httpVersion,
// headers, rawHeaders} from Node.js, {path, headers} from Python.
type seenRequest struct {
	URL        string            `json:"url"`
	Path       string            `json:"path"`
	Headers    map[string]string `json:"headers"` // lower-case names
	RawHeaders [][2]string       `json:"rawHeaders"`
}

// requestSeen dials key's /headers path with d and returns what the
// server saw.
func requestSeen(t *testing.T, ctx context.Context, d *conn.Dialer, rawURL string) seenRequest {
	t.Helper()
	c := dialClient(t, ctx, d, rawURL)
	df, err := c.ReadDataFrame(ctx, nil)
	op, p := df.Opcode, df.Payload
	if err != nil || op != frame.OpText {
		t.Fatalf("ReadDataFrame = %v, %v; want the text message of /headers", op, err)
	}
	var r seenRequest
	if err := json.Unmarshal(p, &r); err != nil {
		t.Fatalf("%v in %s", err, p)
	}
	echoMessage(t, ctx, c, frame.OpText, []byte("after /headers"))
	closeNormally(t, ctx, c)
	return r
}

func TestClientRequestHeaders(t *testing.T) {
	checkGoroutines(t)
	const absent = "<absent>"
	tests := []struct {
		name  string
		setup func(d *conn.Dialer, u *url.URL)
		want  map[string]string // "ORIGIN": the default origin; "HOST": the URL's host
	}{
		{"default", func(*conn.Dialer, *url.URL) {}, map[string]string{
			"host": "HOST", "origin": "ORIGIN", "upgrade": "websocket", "sec-websocket-version": "13",
			"cookie": absent, "authorization": absent, "sec-websocket-protocol": absent, "sec-websocket-extensions": absent,
		}},
		{"Origin", func(d *conn.Dialer, _ *url.URL) { d.Origin = "https://app.example.test" }, map[string]string{
			"origin": "https://app.example.test",
		}},
		{"SuppressOrigin", func(d *conn.Dialer, _ *url.URL) { d.SuppressOrigin = true }, map[string]string{
			"origin": absent,
		}},
		{"Header", func(d *conn.Dialer, _ *url.URL) {
			d.Header = http.Header{"X-Framewire-Test": {"one"}, "User-Agent": {"framewire-interop/1"}}
		}, map[string]string{"x-framewire-test": "one", "user-agent": "framewire-interop/1", "origin": "ORIGIN"}},
		{"Header replaces Origin", func(d *conn.Dialer, _ *url.URL) {
			d.Header = http.Header{"Origin": {"http://from-header.test"}}
		}, map[string]string{"origin": "http://from-header.test"}},
		{"Cookie", func(d *conn.Dialer, _ *url.URL) { d.Cookie = "a=1; b=2" }, map[string]string{
			"cookie": "a=1; b=2",
		}},
		{"Jar and Cookie", func(d *conn.Dialer, u *url.URL) {
			jar, _ := cookiejar.New(nil)
			hu := &url.URL{Scheme: "http", Host: u.Host, Path: "/"}
			if u.Scheme == "wss" {
				hu.Scheme = "https"
			}
			jar.SetCookies(hu, []*http.Cookie{{Name: "jar", Value: "yes"}, {Name: "other", Value: "path", Path: "/elsewhere"}})
			d.Jar = jar
			d.Cookie = "opt=1"
		}, map[string]string{"cookie": "jar=yes; opt=1"}},
		{"Host", func(d *conn.Dialer, _ *url.URL) {
			d.Host = "virtual.example.test:8443"
			if d.TLSConfig != nil {
				d.TLSConfig.ServerName = "localhost"
			}
		}, map[string]string{"host": "virtual.example.test:8443", "origin": "ORIGIN"}},
		{"Subprotocols", func(d *conn.Dialer, _ *url.URL) { d.Subprotocols = []string{"superchat", "chat"} }, map[string]string{
			"sec-websocket-protocol": "superchat,chat", // websocket-client joins with ","
		}},
	}
	for _, key := range echoServers {
		t.Run(key, func(t *testing.T) {
			ctx := testContext(t)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					d, base := clientDialer(t, key)
					u, err := url.Parse(base)
					if err != nil {
						t.Fatal(err)
					}
					tt.setup(d, u)
					got := requestSeen(t, ctx, d, base+"/headers?x=1")
					for name, want := range tt.want {
						switch want {
						case "ORIGIN":
							want = "http://" + u.Host
							if u.Scheme == "wss" {
								want = "https://" + u.Host
							}
						case "HOST":
							want = u.Host
						}
						v, ok := got.Headers[name]
						if !ok {
							v = absent
						}
						if v != want {
							t.Errorf("%s: %q, want %q", name, v, want)
						}
					}
					if !strings.Contains(strings.ToLower(got.Headers["connection"]), "upgrade") {
						t.Errorf("connection: %q, want upgrade", got.Headers["connection"])
					}
					if key == KeyWS || key == KeyWSDeflate || key == KeyNginx || key == KeyNginxTLS {
						if got.URL != "/headers?x=1" {
							t.Errorf("request target %q, want /headers?x=1", got.URL)
						}
					}
				})
			}
		})
	}
}

// TestClientRequestOrder checks the order of the request's fields as they
// reach the server: websocket-client's order.
func TestClientRequestOrder(t *testing.T) {
	checkGoroutines(t)
	ctx := testContext(t)
	d, u := clientDialer(t, KeyWS)
	d.Subprotocols = []string{"chat"}
	d.Cookie = "a=1"
	d.Header = http.Header{"X-B": {"2"}, "X-A": {"1"}}
	got := requestSeen(t, ctx, d, u+"/headers")
	var names []string
	for _, kv := range got.RawHeaders {
		names = append(names, kv[0])
	}
	want := []string{"Upgrade", "Host", "Origin", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Connection",
		"Sec-WebSocket-Protocol", "X-A", "X-B", "Cookie"}
	if !slices.Equal(names, want) {
		t.Errorf("fields %q, want %q", names, want)
	}
}

func TestClientRedirect(t *testing.T) {
	checkGoroutines(t)
	tests := []struct {
		path    string
		max     int    // Dialer.MaxRedirects: 0 the default, -1 none
		tooMany string // "": the dial succeeds; else the last Location's path
	}{
		{"/r301", 0, ""},
		{"/r302", 0, ""},
		{"/r307", 0, ""},
		{"/r308", 0, ""},
		{"/rrel", 0, ""},
		{"/rn/2", 0, ""},
		{"/rn/3", 0, ""}, // the default limit, 3
		{"/rn/4", 0, "/rn/0"},
		{"/rn/5", 0, "/rn/1"},
		{"/rn/5", 5, ""},
		{"/rn/1", -1, "/rn/0"}, // -1: none followed
		{"/r302", -1, "/"},
		{"/rloop", 0, "/rloop"},
		{"/rloop", 10, "/rloop"},
	}
	for _, key := range nodeServers {
		t.Run(key, func(t *testing.T) {
			ctx := testContext(t)
			for _, tt := range tests {
				t.Run(tt.path+"/"+strconv.Itoa(tt.max), func(t *testing.T) {
					d, base := clientDialer(t, key)
					d.MaxRedirects = tt.max
					if tt.tooMany == "" {
						c := dialClient(t, ctx, d, base+tt.path)
						if c.StatusCode() != http.StatusSwitchingProtocols {
							t.Errorf("StatusCode() = %d", c.StatusCode())
						}
						echoMessage(t, ctx, c, frame.OpBinary, []byte(tt.path))
						closeNormally(t, ctx, c)
						return
					}
					c, err := d.Dial(ctx, base+tt.path)
					if err == nil {
						c.CloseNow()
						t.Fatal("Dial succeeded, want ErrTooManyRedirects")
					}
					var re *handshake.RedirectError
					if !errors.Is(err, conn.ErrTooManyRedirects) || !errors.As(err, &re) || !errors.Is(err, handshake.ErrBadStatus) {
						t.Fatalf("Dial: %v, want ErrTooManyRedirects wrapping a *handshake.RedirectError", err)
					}
					want, _ := url.Parse(base + tt.tooMany)
					if re.StatusCode != http.StatusFound || re.Location.String() != want.String() {
						t.Errorf("last redirect %d to %v, want 302 to %v", re.StatusCode, re.Location, want)
					}
				})
			}
		})
	}
}

func TestClientHTTPStatus(t *testing.T) {
	checkGoroutines(t)
	user, pass := need(t, KeyUser), need(t, KeyPass)
	tests := []struct {
		name     string
		path     string
		userinfo *url.Userinfo
		header   http.Header
		status   int // 0: the dial succeeds
		body     string
	}{
		{"forbidden", "/forbidden", nil, nil, 403, "forbidden\n"},
		{"teapot", "/status/418", nil, nil, 418, "status 418\n"},
		{"server error", "/status/503", nil, nil, 503, "status 503\n"},
		{"basic without credentials", "/basic", nil, nil, 401, "unauthorized\n"},
		{"basic wrong password", "/basic", url.UserPassword(user, pass+"x"), nil, 401, "unauthorized\n"},
		{"basic from the URL", "/basic", url.UserPassword(user, pass), nil, 0, ""},
		{"basic from Header", "/basic", nil, http.Header{"Authorization": {basicAuth(user, pass)}}, 0, ""},
		{"Header wins over the URL", "/basic", url.UserPassword(user, "wrong"), http.Header{"Authorization": {basicAuth(user, pass)}}, 0, ""},
	}
	for _, key := range nodeServers {
		t.Run(key, func(t *testing.T) {
			ctx := testContext(t)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					d, base := clientDialer(t, key)
					d.Header = tt.header
					u, err := url.Parse(base + tt.path)
					if err != nil {
						t.Fatal(err)
					}
					u.User = tt.userinfo
					if tt.status == 0 {
						c := dialClient(t, ctx, d, u.String())
						echoMessage(t, ctx, c, frame.OpText, []byte(tt.name))
						closeNormally(t, ctx, c)
						return
					}
					c, err := d.Dial(ctx, u.String())
					if err == nil {
						c.CloseNow()
						t.Fatalf("Dial succeeded, want status %d", tt.status)
					}
					var se *handshake.StatusError
					if !errors.As(err, &se) || !errors.Is(err, handshake.ErrBadStatus) {
						t.Fatalf("Dial: %v, want a *handshake.StatusError", err)
					}
					if se.StatusCode != tt.status || string(se.Body) != tt.body {
						t.Errorf("StatusError %d body %q, want %d body %q", se.StatusCode, se.Body, tt.status, tt.body)
					}
					if tt.status == 401 && !strings.HasPrefix(se.Header.Get("Www-Authenticate"), "Basic") {
						t.Errorf("WWW-Authenticate %q, want Basic", se.Header.Get("Www-Authenticate"))
					}
				})
			}
		})
	}
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestClientTLS(t *testing.T) {
	checkGoroutines(t)
	base := need(t, KeyNginxTLS)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	localhost := "wss://localhost:" + u.Port()

	t.Run("trusted", func(t *testing.T) {
		for _, target := range []string{base, localhost} {
			ctx := testContext(t)
			d := &conn.Dialer{Proxy: proxy.Direct, TLSConfig: tlsConfig(t, "")}
			c := dialClient(t, ctx, d, target)
			echoMessage(t, ctx, c, frame.OpText, []byte("over TLS to "+target))
			closeNormally(t, ctx, c)
		}
	})

	t.Run("shared HTTP/2 config", func(t *testing.T) {
		ctx := testContext(t)
		cfg := tlsConfig(t, "")
		cfg.NextProtos = []string{"h2", "http/1.1"}
		d := &conn.Dialer{Proxy: proxy.Direct, TLSConfig: cfg}
		c := dialClient(t, ctx, d, base)
		echoMessage(t, ctx, c, frame.OpText, []byte("ALPN"))
		if !slices.Equal(cfg.NextProtos, []string{"h2", "http/1.1"}) {
			t.Errorf("the Dialer modified TLSConfig.NextProtos: %q", cfg.NextProtos)
		}
		closeNormally(t, ctx, c)
	})

	t.Run("unknown authority", func(t *testing.T) {
		ctx := testContext(t)
		for _, cfg := range []*tls.Config{nil, {}} {
			d := &conn.Dialer{Proxy: proxy.Direct, TLSConfig: cfg}
			c, err := d.Dial(ctx, base)
			if err == nil {
				c.CloseNow()
				t.Fatal("Dial succeeded without the bed's CA")
			}
			var ua x509.UnknownAuthorityError
			var cv *tls.CertificateVerificationError
			if !errors.As(err, &ua) || !errors.As(err, &cv) {
				t.Errorf("Dial: %v, want x509.UnknownAuthorityError in a tls.CertificateVerificationError", err)
			}
		}
	})

	t.Run("wrong name", func(t *testing.T) {
		ctx := testContext(t)
		d := &conn.Dialer{Proxy: proxy.Direct, TLSConfig: tlsConfig(t, "wrong.example.test")}
		c, err := d.Dial(ctx, base)
		if err == nil {
			c.CloseNow()
			t.Fatal("Dial succeeded with a name not in the certificate")
		}
		var he x509.HostnameError
		if !errors.As(err, &he) {
			t.Errorf("Dial: %v, want x509.HostnameError", err)
		}
	})

	t.Run("ws to the TLS port", func(t *testing.T) {
		ctx := testContext(t)
		d := &conn.Dialer{Proxy: proxy.Direct}
		c, err := d.Dial(ctx, "ws://"+u.Host+"/")
		if err == nil {
			c.CloseNow()
			t.Fatal("Dial succeeded")
		}
		var se *handshake.StatusError
		if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest {
			t.Errorf("Dial: %v, want nginx's 400 as a *handshake.StatusError", err)
		}
	})

	t.Run("wss to a plain port", func(t *testing.T) {
		ctx := testContext(t)
		d := &conn.Dialer{Proxy: proxy.Direct, TLSConfig: tlsConfig(t, "")}
		c, err := d.Dial(ctx, "wss://"+hostOf(t, KeyWS)+"/")
		if err == nil {
			c.CloseNow()
			t.Fatal("Dial succeeded")
		}
		var rhe tls.RecordHeaderError
		if !errors.As(err, &rhe) {
			t.Errorf("Dial: %v, want a tls.RecordHeaderError", err)
		}
	})
}

func TestClientProxy(t *testing.T) {
	checkGoroutines(t)
	tests := []struct {
		proxy  string // key of the proxy
		target string // key of the server
		host   string // "localhost": the target's name instead of 127.0.0.1
		header bool   // credentials in ProxyHeader instead of the URL
	}{
		{KeySquid, KeyWS, "", false},
		{KeySquid, KeyNginx, "", false},
		{KeySquid, KeyNginxTLS, "", false},
		{KeySquid, KeyNginxTLS, "localhost", false},
		{KeySquidNoAuth, KeyWS, "", true},
		{KeyTinyproxy, KeyWS, "", false},
		{KeyTinyproxy, KeyPython, "", false},
		{KeyTinyproxy, KeyNginxTLS, "", false},
		{KeyDante, KeyWS, "", false},
		{KeyDante, KeyAutobahn, "", false},
		{KeyDante, KeyNginxTLS, "", false},
		{KeyDante, KeyWS, "localhost", false},  // socks5: the client resolves
		{"socks5h", KeyWS, "localhost", false}, // KeyDante as socks5h: the proxy resolves
		{KeyDanteAuth, KeyWS, "", false},
		{KeyDanteAuth, KeyNginxTLS, "", false},
	}
	for _, tt := range tests {
		name := tt.proxy + "/" + tt.target + "/" + tt.host
		if tt.header {
			name += "/ProxyHeader"
		}
		t.Run(name, func(t *testing.T) {
			ctx := testContext(t)
			proxyKey := tt.proxy
			if proxyKey == "socks5h" {
				proxyKey = KeyDante
			}
			pu, err := url.Parse(need(t, proxyKey))
			if err != nil {
				t.Fatal(err)
			}
			if tt.proxy == "socks5h" {
				pu.Scheme = "socks5h"
			}
			d, target := clientDialer(t, tt.target)
			if tt.host != "" {
				target = strings.Replace(target, "127.0.0.1", tt.host, 1)
			}
			d.Proxy = http.ProxyURL(pu)
			if tt.header {
				d.ProxyHeader = http.Header{"Proxy-Authorization": {basicAuth(need(t, KeyUser), need(t, KeyPass))}}
			}
			c := dialClient(t, ctx, d, target+"/")
			if got := c.RemoteAddr().String(); got != pu.Host {
				t.Errorf("RemoteAddr() = %s, want the proxy's %s", got, pu.Host)
			}
			echoMessage(t, ctx, c, frame.OpText, []byte("through "+tt.proxy))
			echoMessage(t, ctx, c, frame.OpBinary, binaryPayload(200<<10))
			closeNormally(t, ctx, c)
		})
	}
}

func TestClientProxyErrors(t *testing.T) {
	checkGoroutines(t)
	user, pass := need(t, KeyUser), need(t, KeyPass)
	withUser := func(key string, ui *url.Userinfo) string {
		u, err := url.Parse(need(t, key))
		if err != nil {
			t.Fatal(err)
		}
		u.User = ui
		return u.String()
	}
	refused := closedPort(t)
	tests := []struct {
		name   string
		proxy  string
		target string // "" : the Node.js server
		http   int    // the HTTP proxy's status; 0 for SOCKS
		auth   bool   // errors.Is ErrProxyAuth
	}{
		{"squid without credentials", withUser(KeySquid, nil), "", 407, true},
		{"squid wrong password", withUser(KeySquid, url.UserPassword(user, pass+"x")), "", 407, true},
		{"squid unknown user", withUser(KeySquid, url.UserPassword("nobody-here", pass)), "", 407, true},
		{"squid target not allowed", withUser(KeySquid, url.UserPassword(user, pass)), "ws://192.0.2.1:80/", 403, false},
		{"dante-auth wrong password", withUser(KeyDanteAuth, url.UserPassword(user, pass+"x")), "", 0, true},
		{"dante-auth without credentials", withUser(KeyDanteAuth, nil), "", 0, true},
		{"dante target refused", withUser(KeyDante, nil), "ws://" + refused + "/", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			pu, err := url.Parse(tt.proxy)
			if err != nil {
				t.Fatal(err)
			}
			target := tt.target
			if target == "" {
				target = need(t, KeyWS)
			}
			d := &conn.Dialer{Proxy: http.ProxyURL(pu)}
			c, err := d.Dial(ctx, target)
			if err == nil {
				c.CloseNow()
				t.Fatal("Dial succeeded")
			}
			var pe *proxy.Error
			if !errors.As(err, &pe) || !errors.Is(err, proxy.ErrRefused) {
				t.Fatalf("Dial: %v, want a *proxy.Error", err)
			}
			if errors.Is(err, proxy.ErrAuth) != tt.auth {
				t.Errorf("Dial: %v; errors.Is(ErrProxyAuth) = %v, want %v", err, !tt.auth, tt.auth)
			}
			if pe.StatusCode != tt.http {
				t.Errorf("ProxyError.StatusCode = %d, want %d", pe.StatusCode, tt.http)
			}
			if tt.http == 0 && pe.Code == 0 {
				t.Errorf("ProxyError.Code = 0, want the SOCKS reply or status code")
			}
			if strings.Contains(err.Error(), pass) || strings.Contains(pe.Proxy, pass) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}

	t.Run("proxy not listening", func(t *testing.T) {
		ctx := testContext(t)
		d := &conn.Dialer{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: refused})}
		c, err := d.Dial(ctx, need(t, KeyWS))
		if err == nil {
			c.CloseNow()
			t.Fatal("Dial succeeded")
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("Dial: %v, want connection refused", err)
		}
	})
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestClientUnreachable(t *testing.T) {
	checkGoroutines(t)

	t.Run("connection refused", func(t *testing.T) {
		ctx := testContext(t)
		for _, scheme := range []string{"ws", "wss"} {
			d := &conn.Dialer{Proxy: proxy.Direct}
			c, err := d.Dial(ctx, scheme+"://"+closedPort(t)+"/")
			if err == nil {
				c.CloseNow()
				t.Fatal("Dial succeeded")
			}
			var oe *net.OpError
			if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &oe) || oe.Op != "dial" {
				t.Errorf("Dial %s: %v, want a dial *net.OpError matching ECONNREFUSED", scheme, err)
			}
		}
	})

	t.Run("unknown host", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(testContext(t), 10*time.Second)
		defer cancel()
		d := &conn.Dialer{Proxy: proxy.Direct}
		c, err := d.Dial(ctx, "ws://nonexistent.invalid/")
		if err == nil {
			c.CloseNow()
			t.Fatal("Dial succeeded")
		}
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsTimeout || errors.Is(err, context.DeadlineExceeded) {
			t.Skipf("name resolution timed out in this environment: %v", err)
		}
		if !errors.Is(err, conn.ErrAddress) || !errors.As(err, &dnsErr) {
			t.Fatalf("Dial: %v, want conn.ErrAddress wrapping a *net.DNSError", err)
		}
		if dnsErr.Name != "nonexistent.invalid" {
			t.Errorf("DNSError.Name = %q", dnsErr.Name)
		}
	})
}

// TestClientDialConn does the handshake over connections the caller
// opened: TCP, and TLS over TCP.
func TestClientDialConn(t *testing.T) {
	checkGoroutines(t)
	for _, key := range []string{KeyWS, KeyNginxTLS} {
		t.Run(key, func(t *testing.T) {
			ctx := testContext(t)
			d, base := clientDialer(t, key)
			u, err := url.Parse(base)
			if err != nil {
				t.Fatal(err)
			}
			var nd net.Dialer
			nc, err := nd.DialContext(ctx, "tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			if u.Scheme == "wss" {
				nc = tls.Client(nc, tlsConfig(t, "127.0.0.1"))
			}
			c, err := d.DialConn(ctx, nc, base+"/")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.CloseNow() })
			echoMessage(t, ctx, c, frame.OpText, []byte("over my own socket"))
			closeNormally(t, ctx, c)

			// A redirect is returned, not followed.
			nc, err = nd.DialContext(ctx, "tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			if u.Scheme == "wss" {
				nc = tls.Client(nc, tlsConfig(t, "127.0.0.1"))
			}
			c2, err := d.DialConn(ctx, nc, base+"/r302")
			var re *handshake.RedirectError
			if !errors.As(err, &re) {
				if c2 != nil {
					c2.CloseNow()
				}
				t.Fatalf("DialConn to /r302: %v, want a *handshake.RedirectError", err)
			}
		})
	}
}

// TestClientTrace checks that the trace of a real handshake does not show
// credentials.
func TestClientTrace(t *testing.T) {
	checkGoroutines(t)
	ctx := testContext(t)
	d, base := clientDialer(t, KeyWS)
	var trace bytes.Buffer
	d.Config.Trace = &trace
	d.Cookie = "session=s3cr3t-cookie"
	u, _ := url.Parse(base + "/basic")
	u.User = url.UserPassword(need(t, KeyUser), need(t, KeyPass))
	c := dialClient(t, ctx, d, u.String())
	echoMessage(t, ctx, c, frame.OpText, []byte("traced"))
	closeNormally(t, ctx, c)
	out := trace.String()
	for _, secret := range []string{"s3cr3t-cookie", base64.StdEncoding.EncodeToString([]byte(need(t, KeyUser) + ":" + need(t, KeyPass)))} {
		if strings.Contains(out, secret) {
			t.Errorf("the trace shows %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"GET /basic HTTP/1.1", "101", "traced"} {
		if !strings.Contains(out, want) {
			t.Errorf("the trace lacks %q:\n%s", want, out)
		}
	}
}
