package handshake

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// ProxyDialer opens a connection to a target through one proxy. It is
// websocket-client's http_proxy_host/port/auth, proxy_type and the tunnel
// code of _http.py. The zero value is not usable: Proxy must be set.
//
// Supported proxy URL schemes:
//
//   - http: a TCP connection to the proxy and an HTTP CONNECT request
//     (RFC 9110 §9.3.6). Default port 80.
//   - https: the same over TLS to the proxy. Default port 443.
//   - socks5: SOCKS version 5 (RFC 1928), the target name resolved
//     locally; socks5h: the name is sent to the proxy. Username/password
//     authentication (RFC 1929) is offered when credentials are set.
//     Default port 1080.
//   - socks4: SOCKS version 4, IPv4 only, the name resolved locally;
//     socks4a: the name is sent to the proxy. The username is sent as the
//     user ID; the password is ignored. Default port 1080.
//
// A ProxyDialer holds no state between calls and may be used concurrently.
type ProxyDialer struct {
	// Proxy is the proxy URL, such as "http://proxy:3128" or
	// "socks5h://user:pass@proxy:1080". Its user information gives the
	// credentials unless Auth is set.
	Proxy *url.URL

	// Auth, if not nil, replaces the credentials of Proxy.User
	// (websocket-client's http_proxy_auth). For HTTP proxies it is sent
	// as Proxy-Authorization: Basic.
	Auth *url.Userinfo

	// Header holds extra fields for the CONNECT request of HTTP and
	// HTTPS proxies, sent after Host and Proxy-Authorization in the order
	// of their sorted names. A Proxy-Authorization entry replaces the one
	// built from the credentials.
	Header http.Header

	// NetDial dials the proxy. Nil means a zero net.Dialer's DialContext.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)

	// TLSConfig configures TLS to an https proxy. Nil means the default
	// configuration; an empty ServerName is taken from Proxy. NextProtos
	// is replaced by "http/1.1".
	TLSConfig *tls.Config

	// Resolver resolves target names for socks4 and socks5. Nil means
	// net.DefaultResolver.
	Resolver *net.Resolver

	// MaxHeaderBytes limits the CONNECT response of an HTTP proxy. Zero
	// means DefaultMaxHeaderBytes.
	MaxHeaderBytes int
}

// DialContext connects to addr ("host:port") through the proxy and returns the
// tunnel: bytes written to it reach addr. network must be "tcp", "tcp4" or
// "tcp6"; the proxy itself is dialled with the same network.
//
// ctx bounds the whole operation: the connection to the proxy, TLS and the
// proxy's protocol. When ctx is done, a pending read or write is
// interrupted, the connection is closed and ctx's error is returned. The
// returned connection has no deadline set and outlives ctx.
//
// A refusal by the proxy is a [*ProxyError]; a proxy that cannot be
// reached, or a reply that breaks the proxy protocol, wraps [ErrProxy] (and
// the dial's own error); an invalid target address wraps [ErrInvalidURL].
func (d *ProxyDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("%w: network %q not supported", ErrProxy, network)
	}
	if d.Proxy == nil {
		return nil, fmt.Errorf("%w: no proxy URL", ErrProxy)
	}
	host, port, err := splitTarget(addr)
	if err != nil {
		return nil, err
	}
	scheme := strings.ToLower(d.Proxy.Scheme)
	switch scheme {
	case "http", "https", "socks4", "socks4a", "socks5", "socks5h":
	default:
		return nil, fmt.Errorf("%w: unsupported proxy scheme %q", ErrProxy, d.Proxy.Scheme)
	}
	if d.Proxy.Hostname() == "" {
		return nil, fmt.Errorf("%w: proxy URL has no host", ErrProxy)
	}
	proxyAddr := Addr(&url.URL{Scheme: scheme, Host: d.Proxy.Host})

	dial := d.NetDial
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}
	c, err := dial(ctx, network, proxyAddr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: cannot reach proxy %s: %w", ErrProxy, d.Proxy.Redacted(), err)
	}

	// Bind ctx to the connection for the rest of the dial: its deadline,
	// and an immediate deadline when it is cancelled.
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	tunnel, err := d.handshake(ctx, c, scheme, host, port)
	if !stop() {
		// ctx ended during the handshake: its error explains the failure
		// (or voids a success that raced with it).
		if tunnel != nil {
			tunnel.Close()
		} else {
			c.Close()
		}
		return nil, ctx.Err()
	}
	if err != nil {
		c.Close()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			// The socket deadline fired just before ctx's own timer.
			return nil, context.DeadlineExceeded
		}
		return nil, err
	}
	tunnel.SetDeadline(time.Time{})
	return tunnel, nil
}

func (d *ProxyDialer) handshake(ctx context.Context, c net.Conn, scheme, host string, port uint16) (net.Conn, error) {
	user := d.Proxy.User
	if d.Auth != nil {
		user = d.Auth
	}
	switch scheme {
	case "https":
		var cfg *tls.Config
		if d.TLSConfig != nil {
			cfg = d.TLSConfig.Clone()
		} else {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = d.Proxy.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"} // CONNECT is sent in HTTP/1.1
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		return d.connect(tc, user, host, port)
	case "http":
		return d.connect(c, user, host, port)
	case "socks4", "socks4a":
		return d.socks4(ctx, c, scheme == "socks4a", user, host, port)
	default:
		return d.socks5(ctx, c, scheme == "socks5h", user, host, port)
	}
}

// AppendConnect appends an HTTP CONNECT request for addr ("host:port") to
// b: the request line, Host, Proxy-Authorization (Basic, when user is not
// nil and has a name, unless header sets it), and the fields of header in
// the order of their sorted names. An IPv6 host is bracketed.
// websocket-client's _tunnel sends the same request, without brackets. It
// fails with [ErrInvalidHeader] for a name or value that could inject a line,
// and with an error wrapping [ErrInvalidURL] for a bad addr.
func AppendConnect(b []byte, addr string, user *url.Userinfo, header http.Header) ([]byte, error) {
	host, port, err := splitTarget(addr)
	if err != nil {
		return b, err
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(port)))
	names := make([]string, 0, len(header))
	ownAuth := false
	for k, vs := range header {
		if !httpguts.ValidHeaderFieldName(k) {
			return b, headerErr(k)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return b, headerErr(k)
			}
		}
		if strings.EqualFold(k, "Host") {
			continue
		}
		if strings.EqualFold(k, "Proxy-Authorization") {
			ownAuth = true
		}
		names = append(names, k)
	}
	slices.Sort(names)
	b = append(b, "CONNECT "...)
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\n"...)
	b = appendField(b, "Host", target)
	if user != nil && user.Username() != "" && !ownAuth {
		pass, _ := user.Password()
		cred := user.Username() + ":" + pass
		b = append(b, "Proxy-Authorization: Basic "...)
		b = base64.StdEncoding.AppendEncode(b, []byte(cred))
		b = append(b, "\r\n"...)
	}
	for _, k := range names {
		for _, v := range header[k] {
			b = appendField(b, k, v)
		}
	}
	return append(b, "\r\n"...), nil
}

// connect runs HTTP CONNECT over c.
func (d *ProxyDialer) connect(c net.Conn, user *url.Userinfo, host string, port uint16) (net.Conn, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(int(port)))
	req, err := AppendConnect(make([]byte, 0, 256), addr, user, d.Header)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	max := d.MaxHeaderBytes
	if max <= 0 {
		max = DefaultMaxHeaderBytes
	}
	br := bufio.NewReaderSize(c, 1024)
	h, err := readHead(br, max, true)
	if err != nil {
		if errors.Is(err, ErrMalformedResponse) || errors.Is(err, ErrHeaderTooLarge) {
			return nil, fmt.Errorf("%w: %w", ErrProxy, err)
		}
		return nil, err
	}
	if h.code < 200 || h.code > 299 {
		return nil, &ProxyError{Proxy: d.Proxy.Redacted(), StatusCode: h.code, Status: h.reason, Header: h.header}
	}
	if br.Buffered() > 0 {
		// The proxy sent tunnel bytes along with its answer.
		return &bufferedConn{Conn: c, br: br}, nil
	}
	return c, nil
}

// bufferedConn is a connection whose first bytes sit in br.
type bufferedConn struct {
	net.Conn
	br *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) {
	if c.br != nil {
		if c.br.Buffered() > 0 {
			return c.br.Read(p)
		}
		c.br = nil
	}
	return c.Conn.Read(p)
}

// splitTarget splits "host:port" and checks both parts. An IPv6 zone is
// refused: it means nothing to a proxy.
func splitTarget(addr string) (string, uint16, error) {
	bad := func(reason string) (string, uint16, error) {
		return "", 0, fmt.Errorf("%w: target %q: %s", ErrInvalidURL, addr, reason)
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return bad(err.Error())
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return bad("invalid port")
	}
	if host == "" || len(host) > 255 {
		return bad("invalid host")
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; c <= ' ' || c >= 0x7f || c == '%' || c == '/' || c == '@' {
			return bad("invalid host")
		}
	}
	return host, uint16(n), nil
}
