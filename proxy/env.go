package proxy

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"golang.org/x/net/http/httpproxy"
)

// Env chooses a proxy for a request the way environment variables
// describe it: websocket-client's get_proxy_info with http_proxy,
// https_proxy and no_proxy, plus all_proxy. The zero value selects no
// proxy. It holds plain strings; nothing is cached.
type Env struct {
	// HTTPProxy is the proxy for ws and http URLs (http_proxy).
	HTTPProxy string
	// HTTPSProxy is the proxy for wss and https URLs (https_proxy).
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

// ReadEnv reads an Env through getenv, which is [os.Getenv] when nil:
// http_proxy, https_proxy, all_proxy and no_proxy, each falling back to its
// upper-case name, and CGI from REQUEST_METHOD. The lower-case name wins
// when both are set.
func ReadEnv(getenv func(string) string) Env {
	if getenv == nil {
		getenv = os.Getenv
	}
	get := func(lower, upper string) string {
		if v := getenv(lower); v != "" {
			return v
		}
		return getenv(upper)
	}
	return Env{
		HTTPProxy:  get("http_proxy", "HTTP_PROXY"),
		HTTPSProxy: get("https_proxy", "HTTPS_PROXY"),
		AllProxy:   get("all_proxy", "ALL_PROXY"),
		NoProxy:    get("no_proxy", "NO_PROXY"),
		CGI:        getenv("REQUEST_METHOD") != "",
	}
}

// ProxyFunc returns a function of net/http's Transport.Proxy type that
// gives the proxy URL for a request, or nil for a direct connection. http
// and ws URLs use HTTPProxy, https and wss URLs use HTTPSProxy, each
// replaced by AllProxy when empty; other schemes are reached directly. A
// proxy value without a scheme is taken as http; without a port, [Dialer]
// uses the scheme's default. Hosts in NoProxy, "localhost" and loopback
// addresses are reached directly. A proxy value that is not a URL with a
// host (a typo such as "http://[::1" or "socks5://") fails every request
// that would go through it with an error wrapping [ErrInvalid], rather
// than let it go direct unnoticed. The matching is that of
// golang.org/x/net/http/httpproxy. Changing e afterwards does not affect
// the function.
func (e Env) ProxyFunc() func(*http.Request) (*url.URL, error) {
	cfg := httpproxy.Config{
		HTTPProxy:  strings.TrimSpace(e.HTTPProxy),
		HTTPSProxy: strings.TrimSpace(e.HTTPSProxy),
		NoProxy:    e.NoProxy,
		// CGI refuses HTTPProxy only, which a request's Proxy header
		// can set; AllProxy standing in for it is not refused.
		CGI: e.CGI && strings.TrimSpace(e.HTTPProxy) != "",
	}
	all := strings.TrimSpace(e.AllProxy)
	httpFrom, httpsFrom := "HTTPProxy", "HTTPSProxy"
	if cfg.HTTPProxy == "" {
		cfg.HTTPProxy, httpFrom = all, "AllProxy"
	}
	if cfg.HTTPSProxy == "" {
		cfg.HTTPSProxy, httpsFrom = all, "AllProxy"
	}
	// An invalid value is replaced by a placeholder, so that the
	// matching still says which requests would use it.
	const placeholder = "http://invalid-proxy.invalid"
	httpErr, httpsErr := checkProxyValue(httpFrom, cfg.HTTPProxy), checkProxyValue(httpsFrom, cfg.HTTPSProxy)
	if httpErr != nil {
		cfg.HTTPProxy = placeholder
	}
	if httpsErr != nil {
		cfg.HTTPSProxy = placeholder
	}
	f := cfg.ProxyFunc()
	return func(req *http.Request) (*url.URL, error) {
		v := url.URL{Host: req.URL.Host}
		var bad error
		switch strings.ToLower(req.URL.Scheme) {
		case "ws", "http":
			v.Scheme, bad = "http", httpErr
		case "wss", "https":
			v.Scheme, bad = "https", httpsErr
		default:
			return nil, nil
		}
		u, err := f(&v)
		if u != nil && bad != nil {
			return nil, bad
		}
		return u, err
	}
}

// checkProxyValue returns an error wrapping ErrInvalid for a proxy value
// that is neither empty nor a URL with a host. As httpproxy reads it, a
// value that does not parse as a URL with a scheme and a host is read
// again with "http://" before it, unless it has a scheme of its own (a
// "scheme://" at its start), which would make that a URL of another host.
// The error names the field (Env's) and does not quote the value, which
// may hold a password.
func checkProxyValue(field, v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		// A value with a scheme of its own is not read as a host.
		if i := strings.Index(v, "://"); i > 0 && !strings.ContainsAny(v[:i], "/?#@:") {
			u, err = nil, ErrInvalid
		} else {
			u, err = url.Parse("http://" + v)
		}
	}
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("%w: the proxy in %s is not a URL with a host", ErrInvalid, field)
	}
	return nil
}

// FromEnvironment is a proxy function of net/http's Transport.Proxy type
// that reads the environment through [ReadEnv] on every call: the nil
// Proxy of conn.Dialer. It differs from [http.ProxyFromEnvironment] in two
// ways: that one reads the environment once per process and keeps what it
// read, and it does not know all_proxy.
func FromEnvironment(req *http.Request) (*url.URL, error) {
	e := ReadEnv(os.Getenv)
	if e.direct() {
		return nil, nil
	}
	return e.ProxyFunc()(req)
}

// direct reports whether e names no proxy at all, so that ProxyFunc's
// function would answer nil for every request.
func (e Env) direct() bool {
	return strings.TrimSpace(e.HTTPProxy) == "" && strings.TrimSpace(e.HTTPSProxy) == "" &&
		strings.TrimSpace(e.AllProxy) == ""
}

// Direct is a proxy function that always connects directly, whatever the
// environment says: set it as conn.Dialer's Proxy to ignore the
// environment.
func Direct(*http.Request) (*url.URL, error) { return nil, nil }
