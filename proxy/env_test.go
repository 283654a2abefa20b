package proxy_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/framewire/ws/proxy"
)

func TestReadEnv(t *testing.T) {
	env := map[string]string{
		"http_proxy":     "http://lower:3128",
		"HTTP_PROXY":     "http://upper:3128",
		"HTTPS_PROXY":    "http://secure:3128",
		"ALL_PROXY":      "socks5h://all:1080",
		"no_proxy":       "internal.example",
		"REQUEST_METHOD": "",
	}
	got := proxy.ReadEnv(func(k string) string { return env[k] })
	want := proxy.Env{
		HTTPProxy:  "http://lower:3128",
		HTTPSProxy: "http://secure:3128",
		AllProxy:   "socks5h://all:1080",
		NoProxy:    "internal.example",
	}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	env["REQUEST_METHOD"] = "GET"
	if !proxy.ReadEnv(func(k string) string { return env[k] }).CGI {
		t.Error("CGI not detected")
	}
	// Reads the process environment each call: no caching.
	t.Setenv("https_proxy", "http://first:1")
	if c := proxy.ReadEnv(nil); c.HTTPSProxy != "http://first:1" {
		t.Errorf("HTTPSProxy = %q", c.HTTPSProxy)
	}
	t.Setenv("https_proxy", "http://second:1")
	if c := proxy.ReadEnv(nil); c.HTTPSProxy != "http://second:1" {
		t.Errorf("HTTPSProxy = %q", c.HTTPSProxy)
	}
}

func TestEnvProxyFunc(t *testing.T) {
	tests := []struct {
		name string
		cfg  proxy.Env
		url  string
		want string // "" = direct
	}{
		// websocket-client test_proxy_from_env: by scheme, no cross-fallback.
		{"ws uses http_proxy", proxy.Env{HTTPProxy: "http://a:3128", HTTPSProxy: "http://b:3128"}, "ws://h/", "http://a:3128"},
		{"wss uses https_proxy", proxy.Env{HTTPProxy: "http://a:3128", HTTPSProxy: "http://b:3128"}, "wss://h/", "http://b:3128"},
		{"no cross-fallback", proxy.Env{HTTPProxy: "http://a:3128"}, "wss://h/", ""},
		{"aliases", proxy.Env{HTTPSProxy: "http://b:3128"}, "https://h/", "http://b:3128"},
		{"no scheme means http", proxy.Env{HTTPProxy: "a:3128"}, "ws://h/", "http://a:3128"},
		{"no port kept empty", proxy.Env{HTTPProxy: "http://a"}, "ws://h/", "http://a"},
		{"spaces trimmed", proxy.Env{HTTPProxy: "  http://a:1  "}, "ws://h/", "http://a:1"},
		{"userinfo kept", proxy.Env{HTTPProxy: "http://us%20er:p%40ss@a:1"}, "ws://h/", "http://us%20er:p%40ss@a:1"},
		{"all_proxy fallback", proxy.Env{AllProxy: "socks5h://s:1080"}, "wss://h/", "socks5h://s:1080"},
		{"scheme proxy beats all_proxy", proxy.Env{HTTPProxy: "http://a:1", AllProxy: "socks5://s:1080"}, "ws://h/", "http://a:1"},
		{"socks in https_proxy", proxy.Env{HTTPSProxy: "socks5://s:1080"}, "wss://h/", "socks5://s:1080"},
		// NO_PROXY (httpproxy rules).
		{"no_proxy exact", proxy.Env{HTTPProxy: "http://a:1", NoProxy: "h.example"}, "ws://h.example/", ""},
		{"no_proxy subdomain", proxy.Env{HTTPProxy: "http://a:1", NoProxy: "example.com"}, "ws://x.example.com/", ""},
		{"no_proxy label boundary", proxy.Env{HTTPProxy: "http://a:1", NoProxy: ".example.com"}, "ws://badexample.com/", "http://a:1"},
		{"no_proxy leading dot", proxy.Env{HTTPProxy: "http://a:1", NoProxy: ".example.com"}, "ws://x.example.com/", ""},
		{"no_proxy all_proxy too", proxy.Env{AllProxy: "socks5://s:1", NoProxy: "h"}, "ws://h/", ""},
		{"no_proxy list with spaces", proxy.Env{HTTPProxy: "http://a:1", NoProxy: " x , h "}, "ws://h/", ""},
		{"no_proxy star", proxy.Env{HTTPProxy: "http://a:1", NoProxy: "*"}, "ws://any/", ""},
		{"no_proxy cidr v4", proxy.Env{HTTPProxy: "http://a:1", NoProxy: "192.168.0.0/16"}, "ws://192.168.1.1/", ""},
		{"no_proxy cidr v4 miss", proxy.Env{HTTPProxy: "http://a:1", NoProxy: "192.168.0.0/16"}, "ws://10.1.1.1/", "http://a:1"},
		{"no_proxy cidr v6", proxy.Env{HTTPProxy: "http://a:1", NoProxy: "2001:db8::/32"}, "ws://[2001:db8::1]:8080/", ""},
		{"no_proxy port", proxy.Env{HTTPProxy: "http://a:1", NoProxy: "h:8080"}, "ws://h:8080/", ""},
		{"no_proxy other port", proxy.Env{HTTPProxy: "http://a:1", NoProxy: "h:8080"}, "ws://h:9090/", "http://a:1"},
		{"no_proxy default port", proxy.Env{HTTPSProxy: "http://a:1", NoProxy: "h:443"}, "wss://h/", ""},
		{"loopback direct", proxy.Env{HTTPProxy: "http://a:1"}, "ws://127.0.0.1:8080/", ""},
		{"localhost direct", proxy.Env{HTTPProxy: "http://a:1"}, "ws://localhost/", ""},
		{"CGI refuses http_proxy", proxy.Env{HTTPProxy: "http://a:1", CGI: true}, "ws://h/", "error"},
		{"zero value", proxy.Env{}, "wss://h/", ""},
		// A value that is not a URL with a host fails the requests that
		// would use it, and only those.
		{"invalid value", proxy.Env{HTTPProxy: "http://[bad"}, "ws://h/", "invalid"},
		{"invalid value, no host", proxy.Env{HTTPSProxy: "socks5://"}, "wss://h/", "invalid"},
		{"invalid value, escape", proxy.Env{AllProxy: "%zz"}, "ws://h/", "invalid"},
		{"invalid value, other scheme", proxy.Env{HTTPProxy: "http://[bad", HTTPSProxy: "http://b:1"}, "wss://h/", "http://b:1"},
		{"invalid value, no_proxy", proxy.Env{HTTPProxy: "http://[bad", NoProxy: "h"}, "ws://h/", ""},
		{"invalid value, loopback", proxy.Env{HTTPProxy: "http://[bad"}, "ws://127.0.0.1/", ""},
		{"scheme-less value with :// later", proxy.Env{HTTPProxy: "h:1/?x=http://y"}, "ws://h2/", "http://h:1/?x=http://y"},
		{"CGI takes all_proxy", proxy.Env{AllProxy: "socks5://s:1", CGI: true}, "ws://h/", "socks5://s:1"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		p, err := tt.cfg.ProxyFunc()(&http.Request{URL: u})
		got := ""
		switch {
		case errors.Is(err, proxy.ErrInvalid):
			got = "invalid"
		case err != nil:
			got = "error"
		case p != nil:
			got = p.String()
		}
		if got != tt.want {
			t.Errorf("%s: proxy for %s = %q (%v); want %q", tt.name, tt.url, got, err, tt.want)
		}
	}
	ftp := &http.Request{URL: &url.URL{Scheme: "ftp", Host: "h"}}
	if p, err := (proxy.Env{AllProxy: "http://a:1"}).ProxyFunc()(ftp); p != nil || err != nil {
		t.Errorf("ftp: %v, %v; want a direct connection", p, err)
	}
}
