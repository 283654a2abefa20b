package handshake

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"golang.org/x/net/http/httpproxy"
)

// ProxyConfig chooses a proxy for a WebSocket URL the way environment
// variables describe it: websocket-client's get_proxy_info with
// http_proxy, https_proxy and no_proxy, plus ALL_PROXY. The zero value
// selects no proxy. It holds plain strings; nothing is cached between
// [ProxyConfig.ProxyFunc] calls.
type ProxyConfig struct {
	// HTTPProxy is the proxy for ws URLs (http_proxy).
	HTTPProxy string
	// HTTPSProxy is the proxy for wss URLs (https_proxy).
	HTTPSProxy string
	// AllProxy is used when the field for the URL's scheme is empty
	// (all_proxy), typically "socks5h://host:1080".
	AllProxy string
	// NoProxy lists hosts reached directly (no_proxy): comma-separated
	// host names, which also match their subdomains (".example.com"
	// matches subdomains only, on a label boundary), IP addresses, CIDR
	// ranges, optionally with ":port", or "*" for all.
	NoProxy string
	// CGI refuses HTTPProxy, which a CGI client can set through a
	// "Proxy:" request header.
	CGI bool
}

// ProxyConfigFromEnv reads a ProxyConfig through getenv, which is
// [os.Getenv] when nil: http_proxy, https_proxy, all_proxy and no_proxy,
// each falling back to its upper-case name, and CGI from REQUEST_METHOD.
// The lower-case name wins when both are set. It reads the variables on
// every call.
func ProxyConfigFromEnv(getenv func(string) string) ProxyConfig {
	if getenv == nil {
		getenv = os.Getenv
	}
	get := func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return getenv(strings.ToUpper(name))
	}
	return ProxyConfig{
		HTTPProxy:  get("http_proxy"),
		HTTPSProxy: get("https_proxy"),
		AllProxy:   get("all_proxy"),
		NoProxy:    get("no_proxy"),
		CGI:        getenv("REQUEST_METHOD") != "",
	}
}

// ProxyFunc returns a function that gives the proxy URL for a WebSocket
// URL, or nil for a direct connection. ws (and http) URLs use HTTPProxy,
// wss (and https) URLs use HTTPSProxy, each replaced by AllProxy when
// empty. A proxy value without a scheme is taken as http; without a port,
// [ProxyDialer] uses the scheme's default. Hosts in NoProxy, "localhost"
// and loopback addresses are reached directly, as with net/http. An
// unparsable proxy value is ignored. The matching is that of
// golang.org/x/net/http/httpproxy. Changing c afterwards does not affect
// the function.
func (c ProxyConfig) ProxyFunc() func(u *url.URL) (*url.URL, error) {
	cfg := httpproxy.Config{
		HTTPProxy:  strings.TrimSpace(c.HTTPProxy),
		HTTPSProxy: strings.TrimSpace(c.HTTPSProxy),
		NoProxy:    c.NoProxy,
		CGI:        c.CGI,
	}
	all := strings.TrimSpace(c.AllProxy)
	if cfg.HTTPProxy == "" {
		cfg.HTTPProxy = all
	}
	if cfg.HTTPSProxy == "" {
		cfg.HTTPSProxy = all
	}
	f := cfg.ProxyFunc()
	return func(u *url.URL) (*url.URL, error) {
		v := url.URL{Host: u.Host}
		switch strings.ToLower(u.Scheme) {
		case "ws", "http":
			v.Scheme = "http"
		case "wss", "https":
			v.Scheme = "https"
		default:
			return nil, fmt.Errorf("%w: scheme %q has no proxy setting", ErrInvalidURL, u.Scheme)
		}
		return f(&v)
	}
}
