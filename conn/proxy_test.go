package conn_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/internal/proxytest"
	"github.com/framewire/ws/proxy"
	"github.com/framewire/ws/wstest"
)

// Dialer.Proxy gets net/http's view of the WebSocket URL: scheme http for
// ws and https for wss, so that net/http's rules pick HTTP_PROXY or
// HTTPS_PROXY; no credentials; the dial's context. Its error ends the dial
// as a *proxy.Error.
func TestProxyFuncRequest(t *testing.T) {
	stop := errors.New("stop here")
	for _, tt := range []struct{ url, want string }{
		{"ws://user:pw@example.com:8080/chat?room=1", "http://example.com:8080/chat?room=1"},
		{"wss://example.com/", "https://example.com/"},
		{"https://[2001:db8::1]/x", "https://[2001:db8::1]/x"},
	} {
		var got *http.Request
		d := &conn.Dialer{Proxy: func(r *http.Request) (*url.URL, error) {
			got = r
			return nil, stop
		}}
		_, err := d.Dial(testCtx(t), tt.url)
		if pe, ok := errors.AsType[*proxy.Error](err); !ok || !errors.Is(err, stop) || pe.Proxy != "" {
			t.Errorf("Dial(%s) = %v; want a *proxy.Error wrapping the function's error", tt.url, err)
		}
		if got == nil {
			t.Fatalf("Dial(%s): Proxy not called", tt.url)
		}
		if got.URL.String() != tt.want || got.Host != got.URL.Host || got.Method != http.MethodGet || got.Context().Done() == nil {
			t.Errorf("Dial(%s): Proxy got %s %s (Host %q); want GET %s with the dial's context", tt.url, got.Method, got.URL, got.Host, tt.want)
		}
	}
}

// A nil Proxy reads the environment at every dial, ALL_PROXY included: a
// changed variable takes effect at the next dial.
func TestEnvironmentProxyEachDial(t *testing.T) {
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "all_proxy"} {
		t.Setenv(k, "")
	}
	// The proxies refuse (SOCKS5 reply 2) after recording the request.
	first := proxytest.NewSOCKS5(t, proxytest.Config{Reply: 2})
	second := proxytest.NewSOCKS5(t, proxytest.Config{Reply: 2})
	for _, p := range []*proxytest.Server{first, second} {
		t.Setenv("ALL_PROXY", "socks5h://"+p.Addr)
		var d conn.Dialer
		_, err := d.Dial(testCtx(t), "wss://ws.example:9443/")
		pe, ok := errors.AsType[*proxy.Error](err)
		if !ok || pe.Code != 2 || pe.Proxy != "socks5h://"+p.Addr {
			t.Fatalf("Dial = %v; want the refusal of %s", err, p.Addr)
		}
		if reqs := p.Requests(); len(reqs) != 1 || reqs[0].Target != "ws.example:9443" {
			t.Errorf("proxy %s saw %+v", p.Addr, reqs)
		}
	}
}

// The trace shows the CONNECT exchange with an HTTP proxy before the
// handshake, as websocket-client's does, with the proxy's credentials
// redacted.
func TestTraceProxyConnect(t *testing.T) {
	s := serve(t, wstest.Echo)
	px := proxytest.NewHTTP(t, proxytest.Config{User: "u", Password: "secret"})
	var buf bytes.Buffer
	d := &conn.Dialer{
		Proxy:  http.ProxyURL(&url.URL{Scheme: "http", User: url.UserPassword("u", "secret"), Host: px.Addr}),
		Config: conn.Config{Trace: &buf},
	}
	dial(t, d, s.URL).CloseNow()
	got := buf.String()
	want := "--- request header ---\n" +
		"CONNECT " + s.Addr + " HTTP/1.1\r\nHost: " + s.Addr + "\r\nProxy-Authorization: ***\r\n\r\n\n" +
		"-----------------------\n" +
		"--- response header ---\n" +
		"HTTP/1.1 200 Connection established\n" +
		"-----------------------\n" +
		"--- request header ---\n" +
		"GET / HTTP/1.1\r\n"
	if !strings.HasPrefix(got, want) {
		t.Errorf("trace:\n%s\nwant it to begin:\n%s", got, want)
	}
}
