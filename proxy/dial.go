package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/framewire/ws/internal/bind"
)

// DefaultMaxHeaderBytes bounds an HTTP proxy's answer to CONNECT when
// [Dialer.MaxHeaderBytes] is zero: 16 KiB, status line and header fields.
const DefaultMaxHeaderBytes = 16 << 10

// Dialer opens connections to targets through one proxy. It is
// websocket-client's http_proxy_host/port/auth, proxy_type and the tunnel
// code of _http.py. The zero value is not usable: URL must be set.
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
// A Dialer holds no state between calls and may be used concurrently.
type Dialer struct {
	// URL is the proxy's URL, such as "http://proxy:3128" or
	// "socks5h://user:pass@proxy:1080". Its user information gives the
	// credentials unless Auth is set.
	URL *url.URL

	// Auth, if not nil, replaces the credentials of URL.User
	// (websocket-client's http_proxy_auth). For HTTP proxies it is sent
	// as Proxy-Authorization: Basic.
	Auth *url.Userinfo

	// Header holds extra fields for the CONNECT request of HTTP and
	// HTTPS proxies; see [AppendConnect].
	Header http.Header

	// NetDial dials the proxy. Nil means a zero net.Dialer's DialContext.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)

	// TLSConfig configures TLS to an https proxy. Nil means the default
	// configuration; an empty ServerName is taken from URL. NextProtos
	// is replaced by "http/1.1".
	TLSConfig *tls.Config

	// Resolver resolves target names for socks4 and socks5. Nil means
	// net.DefaultResolver.
	Resolver *net.Resolver

	// MaxHeaderBytes limits the CONNECT response of an HTTP proxy. Zero
	// means DefaultMaxHeaderBytes.
	MaxHeaderBytes int

	// Trace, if not nil, is told of the CONNECT exchange with an HTTP or
	// HTTPS proxy, as websocket-client's trace shows it.
	Trace *Trace
}

// Trace has the hooks of [Dialer.Trace]. Either may be nil. They are
// called on the goroutine that dials, and must not keep their arguments.
type Trace struct {
	// Request is called with the CONNECT request, as it will be written
	// (credentials included), before it is written.
	Request func(req []byte)
	// Response is called with each response read to it, interim ones
	// included, before it is acted on. The body is not to be read.
	Response func(resp *http.Response)
}

// DialContext connects to addr ("host:port") through the proxy and returns
// the tunnel: bytes written to it reach addr. network must be "tcp",
// "tcp4" or "tcp6"; the proxy itself is dialled with the same network.
//
// ctx bounds the whole operation: the connection to the proxy, TLS and the
// proxy's protocol. When ctx is done, a pending read or write is
// interrupted, the connection is closed and ctx's error is returned. The
// returned connection has no deadline set and outlives ctx.
//
// Any other failure is an [*Error]; see there.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.dial(ctx, network, addr)
	if err != nil {
		if ctx.Err() != nil || err == context.DeadlineExceeded {
			return nil, err
		}
		if pe, ok := errors.AsType[*Error](err); ok {
			return nil, pe // a refusal, already described
		}
		e := &Error{Err: err}
		if d.URL != nil {
			e.Proxy = d.URL.Redacted()
		}
		return nil, e
	}
	return c, nil
}

func (d *Dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("%w: network %q not supported", ErrInvalid, network)
	}
	if d.URL == nil {
		return nil, fmt.Errorf("%w: no proxy URL", ErrInvalid)
	}
	host, port, err := splitTarget(addr)
	if err != nil {
		return nil, err
	}
	scheme := strings.ToLower(d.URL.Scheme)
	var defPort string
	switch scheme {
	case "http":
		defPort = "80"
	case "https":
		defPort = "443"
	case "socks4", "socks4a", "socks5", "socks5h":
		defPort = "1080"
	default:
		return nil, fmt.Errorf("%w: unsupported proxy scheme %q", ErrInvalid, d.URL.Scheme)
	}
	if d.URL.Hostname() == "" {
		return nil, fmt.Errorf("%w: proxy URL has no host", ErrInvalid)
	}
	proxyPort := d.URL.Port()
	if proxyPort == "" {
		proxyPort = defPort
	}
	user := d.URL.User
	if d.Auth != nil {
		user = d.Auth
	}
	// Refuse what cannot be sent before dialing.
	var connectReq []byte
	if scheme == "http" || scheme == "https" {
		connectReq, err = AppendConnect(make([]byte, 0, 256), addr, user, d.Header)
	} else {
		err = checkSOCKS(scheme, user, host)
	}
	if err != nil {
		return nil, err
	}

	dial := d.NetDial
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}
	c, err := dial(ctx, network, net.JoinHostPort(d.URL.Hostname(), proxyPort))
	if c == nil && err == nil {
		err = fmt.Errorf("%w: NetDial returned neither a connection nor an error", ErrInvalid)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}

	// Bind ctx to the connection for the rest of the dial: its deadline,
	// and an immediate deadline when it is cancelled.
	b := bind.Binder{Conn: c}
	b.Arm(ctx)
	tunnel, err := d.handshake(ctx, c, scheme, connectReq, user, host, port)
	if b.Release() {
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
	return tunnel, nil
}

// handshake runs the proxy's protocol over c. connectReq is the CONNECT
// request for http and https.
func (d *Dialer) handshake(ctx context.Context, c net.Conn, scheme string, connectReq []byte, user *url.Userinfo, host string, port uint16) (net.Conn, error) {
	switch scheme {
	case "https":
		var cfg *tls.Config
		if d.TLSConfig != nil {
			cfg = d.TLSConfig.Clone()
		} else {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = d.URL.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"} // CONNECT is sent in HTTP/1.1
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		return d.connect(tc, connectReq)
	case "http":
		return d.connect(c, connectReq)
	case "socks4", "socks4a":
		return d.socks4(ctx, c, scheme == "socks4a", user, host, port)
	default:
		return d.socks5(ctx, c, scheme == "socks5h", user, host, port)
	}
}

// refused returns the error for a proxy's refusal.
func (d *Dialer) refused(e *Error, auth bool) *Error {
	e.Proxy = d.URL.Redacted()
	e.Err = ErrRefused
	if auth {
		e.Err = ErrAuth
	}
	return e
}

// AppendConnect appends an HTTP CONNECT request for addr ("host:port") to
// b: the request line, Host, Proxy-Authorization (Basic, when user is not
// nil and has a name, unless header sets it), and the fields of header in
// the order of their sorted names (a Host entry is left out). An IPv6 host
// is bracketed. websocket-client's _tunnel sends the same request, without
// brackets. It fails with an error wrapping [ErrInvalid] for a bad addr, or
// for a header name or value that could inject a line.
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
			return b, fmt.Errorf("%w: header field name %q", ErrInvalid, k)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return b, fmt.Errorf("%w: value of header field %s", ErrInvalid, k)
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
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, target...)
	b = append(b, "\r\n"...)
	if user != nil && user.Username() != "" && !ownAuth {
		pass, _ := user.Password()
		b = append(b, "Proxy-Authorization: Basic "...)
		b = base64.StdEncoding.AppendEncode(b, []byte(user.Username()+":"+pass))
		b = append(b, "\r\n"...)
	}
	for _, k := range names {
		for _, v := range header[k] {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...), nil
}

// connect sends the CONNECT request req over c and reads the answer.
func (d *Dialer) connect(c net.Conn, req []byte) (net.Conn, error) {
	if d.Trace != nil && d.Trace.Request != nil {
		d.Trace.Request(req)
	}
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	max := d.MaxHeaderBytes
	if max <= 0 {
		max = DefaultMaxHeaderBytes
	}
	// The limit covers the whole answer, interim 1xx answers included;
	// tunnel bytes that came with it stay in br.
	lr := &io.LimitedReader{R: c, N: int64(max)}
	br := bufio.NewReaderSize(lr, 1024)
	connectReq := &http.Request{Method: http.MethodConnect}
	for {
		resp, err := http.ReadResponse(br, connectReq)
		switch {
		case err == nil:
		case lr.N == 0:
			return nil, fmt.Errorf("%w: CONNECT response header longer than %d bytes", ErrProtocol, max)
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("%w: connection closed during the CONNECT response: %w", ErrProtocol, io.ErrUnexpectedEOF)
		case errors.As(err, new(net.Error)):
			return nil, err // a timeout or a broken connection
		default:
			return nil, fmt.Errorf("%w: malformed CONNECT response: %w", ErrProtocol, err)
		}
		if d.Trace != nil && d.Trace.Response != nil {
			d.Trace.Response(resp)
		}
		code := resp.StatusCode
		switch {
		case code >= 100 && code < 200 && code != http.StatusSwitchingProtocols:
			continue // interim answer
		case code < 200 || code > 299:
			return nil, d.refused(&Error{StatusCode: code, Status: reason(resp.Status), Header: resp.Header},
				code == http.StatusProxyAuthRequired)
		}
		if br.Buffered() > 0 {
			// The proxy sent tunnel bytes along with its answer.
			return &bufferedConn{Conn: c, br: br}, nil
		}
		return c, nil
	}
}

// reason returns the reason phrase of a Response.Status such as "407 Proxy
// Authentication Required".
func reason(status string) string {
	_, r, _ := strings.Cut(status, " ")
	return r
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
		return "", 0, fmt.Errorf("%w: target %q: %s", ErrInvalid, addr, reason)
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
