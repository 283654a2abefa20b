package handshake_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/framewire/ws/handshake"
)

func TestProxyConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"http_proxy":     "http://lower:3128",
		"HTTP_PROXY":     "http://upper:3128",
		"HTTPS_PROXY":    "http://secure:3128",
		"ALL_PROXY":      "socks5h://all:1080",
		"no_proxy":       "internal.example",
		"REQUEST_METHOD": "",
	}
	got := handshake.ProxyConfigFromEnv(func(k string) string { return env[k] })
	want := handshake.ProxyConfig{
		HTTPProxy:  "http://lower:3128",
		HTTPSProxy: "http://secure:3128",
		AllProxy:   "socks5h://all:1080",
		NoProxy:    "internal.example",
	}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	env["REQUEST_METHOD"] = "GET"
	if !handshake.ProxyConfigFromEnv(func(k string) string { return env[k] }).CGI {
		t.Error("CGI not detected")
	}
	// Reads the process environment each call: no caching.
	t.Setenv("https_proxy", "http://first:1")
	if c := handshake.ProxyConfigFromEnv(nil); c.HTTPSProxy != "http://first:1" {
		t.Errorf("HTTPSProxy = %q", c.HTTPSProxy)
	}
	t.Setenv("https_proxy", "http://second:1")
	if c := handshake.ProxyConfigFromEnv(nil); c.HTTPSProxy != "http://second:1" {
		t.Errorf("HTTPSProxy = %q", c.HTTPSProxy)
	}
}

func TestProxyConfigProxyFunc(t *testing.T) {
	tests := []struct {
		name string
		cfg  handshake.ProxyConfig
		url  string
		want string // "" = direct
	}{
		// websocket-client test_proxy_from_env: by scheme, no cross-fallback.
		{"ws uses http_proxy", handshake.ProxyConfig{HTTPProxy: "http://a:3128", HTTPSProxy: "http://b:3128"}, "ws://h/", "http://a:3128"},
		{"wss uses https_proxy", handshake.ProxyConfig{HTTPProxy: "http://a:3128", HTTPSProxy: "http://b:3128"}, "wss://h/", "http://b:3128"},
		{"no cross-fallback", handshake.ProxyConfig{HTTPProxy: "http://a:3128"}, "wss://h/", ""},
		{"aliases", handshake.ProxyConfig{HTTPSProxy: "http://b:3128"}, "https://h/", "http://b:3128"},
		{"no scheme means http", handshake.ProxyConfig{HTTPProxy: "a:3128"}, "ws://h/", "http://a:3128"},
		{"no port kept empty", handshake.ProxyConfig{HTTPProxy: "http://a"}, "ws://h/", "http://a"},
		{"spaces trimmed", handshake.ProxyConfig{HTTPProxy: "  http://a:1  "}, "ws://h/", "http://a:1"},
		{"userinfo kept", handshake.ProxyConfig{HTTPProxy: "http://us%20er:p%40ss@a:1"}, "ws://h/", "http://us%20er:p%40ss@a:1"},
		{"all_proxy fallback", handshake.ProxyConfig{AllProxy: "socks5h://s:1080"}, "wss://h/", "socks5h://s:1080"},
		{"scheme proxy beats all_proxy", handshake.ProxyConfig{HTTPProxy: "http://a:1", AllProxy: "socks5://s:1080"}, "ws://h/", "http://a:1"},
		{"socks in https_proxy", handshake.ProxyConfig{HTTPSProxy: "socks5://s:1080"}, "wss://h/", "socks5://s:1080"},
		// NO_PROXY (httpproxy rules).
		{"no_proxy exact", handshake.ProxyConfig{HTTPProxy: "http://a:1", NoProxy: "h.example"}, "ws://h.example/", ""},
		{"no_proxy subdomain", handshake.ProxyConfig{HTTPProxy: "http://a:1", NoProxy: "example.com"}, "ws://x.example.com/", ""},
		{"no_proxy label boundary", handshake.ProxyConfig{HTTPProxy: "http://a:1", NoProxy: ".example.com"}, "ws://badexample.com/", "http://a:1"},
		{"no_proxy leading dot", handshake.ProxyConfig{HTTPProxy: "http://a:1", NoProxy: ".example.com"}, "ws://x.example.com/", ""},
		{"no_proxy all_proxy too", handshake.ProxyConfig{AllProxy: "socks5://s:1", NoProxy: "h"}, "ws://h/", ""},
		{"no_proxy list with spaces", handshake.ProxyConfig{HTTPProxy: "http://a:1", NoProxy: " x , h "}, "ws://h/", ""},
		{"no_proxy star", handshake.ProxyConfig{HTTPProxy: "http://a:1", NoProxy: "*"}, "ws://any/", ""},
		{"no_proxy cidr v4", handshake.ProxyConfig{HTTPProxy: "http://a:1", NoProxy: "192.168.0.0/16"}, "ws://192.168.1.1/", ""},
		{"no_proxy cidr v4 miss", handshake.ProxyConfig{HTTPProxy: "http://a:1", NoProxy: "192.168.0.0/16"}, "ws://10.1.1.1/", "http://a:1"},
		{"no_proxy cidr v6", handshake.ProxyConfig{HTTPProxy: "http://a:1", NoProxy: "2001:db8::/32"}, "ws://[2001:db8::1]:8080/", ""},
		{"no_proxy port", handshake.ProxyConfig{HTTPProxy: "http://a:1", NoProxy: "h:8080"}, "ws://h:8080/", ""},
		{"no_proxy other port", handshake.ProxyConfig{HTTPProxy: "http://a:1", NoProxy: "h:8080"}, "ws://h:9090/", "http://a:1"},
		{"no_proxy default port", handshake.ProxyConfig{HTTPSProxy: "http://a:1", NoProxy: "h:443"}, "wss://h/", ""},
		{"loopback direct", handshake.ProxyConfig{HTTPProxy: "http://a:1"}, "ws://127.0.0.1:8080/", ""},
		{"localhost direct", handshake.ProxyConfig{HTTPProxy: "http://a:1"}, "ws://localhost/", ""},
		{"CGI refuses http_proxy", handshake.ProxyConfig{HTTPProxy: "http://a:1", CGI: true}, "ws://h/", "error"},
		{"zero value", handshake.ProxyConfig{}, "wss://h/", ""},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		p, err := tt.cfg.ProxyFunc()(u)
		got := ""
		switch {
		case err != nil:
			got = "error"
		case p != nil:
			got = p.String()
		}
		if got != tt.want {
			t.Errorf("%s: proxy for %s = %q (%v); want %q", tt.name, tt.url, got, err, tt.want)
		}
	}
	if _, err := (handshake.ProxyConfig{}).ProxyFunc()(&url.URL{Scheme: "ftp", Host: "h"}); !errors.Is(err, handshake.ErrInvalidURL) {
		t.Errorf("ftp: err = %v", err)
	}
}
