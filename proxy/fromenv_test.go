package proxy_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/framewire/ws/proxy"
)

// clearProxyEnv empties every variable ReadEnv reads, for the test.
func clearProxyEnv(t *testing.T) {
	for _, k := range []string{"http_proxy", "https_proxy", "all_proxy", "no_proxy",
		"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD"} {
		t.Setenv(k, "")
	}
}

// FromEnvironment answers nil, without allocating, when the environment
// names no proxy (blank values and no_proxy alone name none), and reads a
// proxy set under either spelling of its name at every call.
func TestFromEnvironment(t *testing.T) {
	clearProxyEnv(t)
	ws := &http.Request{URL: &url.URL{Scheme: "http", Host: "h.example:80"}}
	wss := &http.Request{URL: &url.URL{Scheme: "https", Host: "h.example:443"}}
	direct := func(name string) {
		t.Helper()
		for _, req := range []*http.Request{ws, wss} {
			if pu, err := proxy.FromEnvironment(req); pu != nil || err != nil {
				t.Errorf("%s: %s: got %v, %v; want direct", name, req.URL, pu, err)
			}
		}
	}
	direct("empty")
	if n := testing.AllocsPerRun(100, func() { proxy.FromEnvironment(ws) }); n != 0 {
		t.Errorf("FromEnvironment with no proxy: %v allocations, want 0", n)
	}
	t.Setenv("no_proxy", "other.example")
	t.Setenv("HTTP_PROXY", " \t ")
	direct("blank")
	t.Setenv("HTTPS_PROXY", "http://secure.example:3128")
	if pu, err := proxy.FromEnvironment(wss); err != nil || pu == nil || pu.Host != "secure.example:3128" {
		t.Errorf("wss with HTTPS_PROXY: got %v, %v", pu, err)
	}
	if pu, err := proxy.FromEnvironment(ws); pu != nil || err != nil {
		t.Errorf("ws with HTTPS_PROXY only: got %v, %v; want direct", pu, err)
	}
	t.Setenv("all_proxy", "socks5h://all.example:1080")
	if pu, err := proxy.FromEnvironment(ws); err != nil || pu == nil || pu.Host != "all.example:1080" {
		t.Errorf("ws with all_proxy: got %v, %v", pu, err)
	}
}
