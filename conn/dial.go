package conn

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
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/bind"
	"github.com/framewire/ws/proxy"
)

// DefaultMaxRedirects is the number of redirects a Dialer follows when
// MaxRedirects is 0: websocket-client's default redirect_limit.
const DefaultMaxRedirects = 3

// DefaultHandshakeTimeout bounds a dial whose Dialer leaves
// HandshakeTimeout zero: 30 seconds. A dial is name resolution, TCP and
// perhaps TLS to a proxy and to the server, the opening handshake, and up to
// DefaultMaxRedirects redirects that each repeat the lot, so the bound must
// outlast several TCP retransmissions on a lossy link (their waits double
// from one second: 1, 2, 4, 8 s) and a slow redirect chain; a few seconds
// would fail such dials. Past half a minute a person has given up and a
// program had better retry: net/http's default transport gives up
// connecting after the same 30 seconds. The bound is what stops a server
// that accepts and then drips its answer a byte at a time from holding the
// dial for hours.
const DefaultHandshakeTimeout = 30 * time.Second

// TCP keep-alive settings of the default dialer: websocket-client's
// TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT.
const (
	keepAliveIdle     = 30 * time.Second
	keepAliveInterval = 10 * time.Second
	keepAliveCount    = 3
)

// Dialer holds the options for opening a connection: websocket-client's
// create_connection and connect() options. The zero Dialer is ready to use.
// A Dialer may be used for several dials at once; it is not modified.
type Dialer struct {
	// NetDial opens the TCP connection, to the server or to the proxy
	// (websocket-client's socket option, generalised). Nil means a
	// net.Dialer with TCP keep-alive set as websocket-client sets it
	// (idle 30 s, interval 10 s, 3 probes); Go turns TCP_NODELAY on by
	// default.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)

	// TLSConfig configures TLS for wss URLs (websocket-client's sslopt).
	// Nil means the default: certificates verified against the system
	// roots. It is cloned, never modified: an empty ServerName becomes
	// the host of Host, or else of the URL, and NextProtos is set from
	// HTTP2: ["http/1.1"] with HTTP2Off, so a configuration shared with
	// an HTTP/2 client does not break the upgrade, ["h2", "http/1.1"]
	// with HTTP2Prefer and ["h2"] with HTTP2Only. It also configures TLS
	// to an https proxy, with the proxy's name.
	TLSConfig *tls.Config

	// Proxy returns the proxy URL for a request, or nil for a direct
	// connection: net/http's Transport.Proxy type, so http.ProxyURL and
	// http.ProxyFromEnvironment serve. The request's URL is the WebSocket
	// URL with scheme http for ws and https for wss; its header is empty.
	// Schemes http, https, socks4, socks4a, socks5 and socks5h are
	// supported (see proxy.Dialer). Nil means proxy.FromEnvironment, which
	// reads HTTP_PROXY for ws, HTTPS_PROXY for wss, ALL_PROXY for either
	// and NO_PROXY at every dial; to ignore the environment, use
	// proxy.Direct.
	Proxy func(*http.Request) (*url.URL, error)

	// ProxyHeader holds extra header fields for an HTTP CONNECT request
	// (see proxy.AppendConnect).
	ProxyHeader http.Header

	// Header holds extra header fields for the opening handshake
	// (websocket-client's header option). A field the handshake builds
	// itself (Host, Origin, Sec-WebSocket-Key, ...) is replaced; see
	// handshake.Request.Header.
	Header http.Header

	// Host replaces the Host header value; the address dialled is not
	// changed. Its host name is also used for TLS's ServerName.
	Host string

	// Origin replaces the default Origin header value; SuppressOrigin
	// leaves the header out.
	Origin         string
	SuppressOrigin bool

	// Subprotocols are offered in Sec-WebSocket-Protocol. The server's
	// choice must be one of them.
	Subprotocols []string

	// Cookie is sent in the Cookie header, after the cookies from Jar.
	Cookie string

	// Jar, if not nil, receives the cookies of every handshake response,
	// redirects included, and gives the cookies of every request. There
	// is no process-wide jar.
	Jar http.CookieJar

	// MaxRedirects is the number of redirects (301, 302, 303, 307, 308)
	// followed: 0 means DefaultMaxRedirects, a negative value none
	// (websocket-client's redirect_limit=0), as in [Config]'s convention.
	MaxRedirects int

	// HandshakeTimeout bounds the whole dial: name resolution, TCP,
	// proxy, TLS, handshake, the read of a refusal's body, and redirects.
	// Zero means DefaultHandshakeTimeout; a negative value means no limit
	// other than ctx.
	HandshakeTimeout time.Duration

	// AllowInsecureRedirect lets a redirect lead a wss dial to a ws URL,
	// so that the rest of the connection is plaintext. By default such a
	// redirect fails the dial with [ErrInsecureRedirect].
	AllowInsecureRedirect bool

	// Rand is read for the 16 bytes of the Sec-WebSocket-Key. Nil means
	// crypto/rand.
	Rand io.Reader

	// HTTP2 chooses the HTTP version of the opening handshake: HTTP/1.1
	// only (HTTP2Off, the zero value), HTTP/2 when the server agrees
	// (HTTP2Prefer), or HTTP/2 only (HTTP2Only). See [HTTP2Mode] and
	// docs/http2.md.
	HTTP2 HTTP2Mode

	// HTTP2Pool, if not nil, holds HTTP/2 connections that the
	// WebSockets of this Dialer, and of others given the same pool,
	// share: one per origin and proxy while its streams last. Nil means
	// each WebSocket over HTTP/2 has its own HTTP/2 connection, closed
	// with it.
	HTTP2Pool *HTTP2Pool

	// Config is the configuration of the connections this Dialer makes:
	// limits, UTF-8 policy, mask keys, trace (see [Config]). Its Role is
	// ignored: a dialed connection is a client. Its Trace and Logger also
	// receive the opening handshake.
	Config Config

	resolver *net.Resolver // for tests: the name lookups of the default dial
}

// Dial opens a connection to url with the zero [Dialer].
func Dial(ctx context.Context, url string) (*Conn, error) {
	var d Dialer
	return d.Dial(ctx, url)
}

// Dial opens a WebSocket connection to rawURL: websocket-client's
// create_connection. The URL's scheme is ws or wss, or http or https as
// their aliases; an IPv6 host is written in brackets; the port defaults to
// 80 or 443.
//
// Dial connects (through a proxy if one applies), does TLS for wss, sends
// the opening handshake and checks the answer (RFC 6455 §4.1). A redirect
// is followed, up to MaxRedirects times, to its Location, which may be
// relative and whose http(s) scheme is read as ws(s). When a redirect leads
// to another origin (RFC 6454: another scheme, host or port, so another
// port of the same host and wss to ws count), the credentials are dropped
// for the rest of the dial: the URL's user information, Authorization,
// Cookie and Proxy-Authorization fields of Header, the Cookie option and
// the Host override. Cookies from Jar are chosen for each URL anew. A
// redirect from wss to ws is refused unless AllowInsecureRedirect is set.
//
// With Config.Compression set, Dial offers permessage-deflate (RFC 7692)
// and compresses if the server agrees ([Conn.Compression]); a server that
// declines leaves the connection uncompressed. A permessage-deflate offer
// written into Header's Sec-WebSocket-Extensions fails the dial before it
// starts with [ErrExtensionHeader] (see there why). No other extension is
// implemented: Header may offer one, but a server that accepts it fails
// the dial with an error matching handshake.ErrBadExtension, and so does
// an answer to a permessage-deflate offer that breaks RFC 7692 (a
// *handshake.ExtensionError).
//
// Errors: a *[handshake.URLError] for a bad URL; an error matching
// [ErrAddress] and wrapping the resolver's *net.DNSError when
// the name cannot be resolved; a *[proxy.Error] from a proxy (a refusal
// matches proxy.ErrRefused); TLS errors as crypto/tls
// returns them; a *[handshake.StatusError] for an answer other than 101 or a
// redirect; [ErrTooManyRedirects] (wrapping the last
// *[handshake.RedirectError]); [ErrInsecureRedirect] for a redirect from
// wss to ws, unless AllowInsecureRedirect is set; handshake.ErrHandshake for
// a 101 that fails validation; a [*TimeoutError] whenever ctx or
// HandshakeTimeout ends the dial, whatever step it was at (it matches
// context.DeadlineExceeded or context.Canceled). The one exception is a
// refusal whose body was still arriving: it is the *[handshake.StatusError],
// with the body received so far. On error, nothing is left open.
func (d *Dialer) Dial(ctx context.Context, rawURL string) (*Conn, error) {
	u, err := handshake.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if err := d.checkHeader(u); err != nil {
		return nil, err
	}
	parent := ctx
	if dc := d.deadlineBound(ctx); dc != nil {
		ctx = dc
	} else {
		var cancel context.CancelFunc
		ctx, cancel = d.bound(ctx)
		defer cancel()
	}
	limit := d.MaxRedirects
	switch {
	case limit == 0:
		limit = DefaultMaxRedirects
	case limit < 0:
		limit = 0
	}
	st := d.newState()
	t := newTracer(d.Config.Trace, d.Config.Logger)
	for n := 0; ; n++ {
		c, err := d.dialOnce(ctx, parent, u, &st, t)
		if err == nil {
			return c, nil
		}
		var re *handshake.RedirectError
		if !errors.As(err, &re) {
			return nil, err
		}
		if n >= limit {
			return nil, fmt.Errorf("%w (limit %d): %w", ErrTooManyRedirects, limit, err)
		}
		next := re.Location
		if handshake.IsSecure(u) && !handshake.IsSecure(next) && !d.AllowInsecureRedirect {
			return nil, fmt.Errorf("%w: %w", ErrInsecureRedirect, err)
		}
		if !handshake.SameOrigin(u, next) {
			st.strip()
			next.User = nil
		}
		u = next
	}
}

// dialOnce opens a connection to u without following a redirect: over
// HTTP/2 when HTTP2 asks for it and the server agrees, else over HTTP/1.1.
// parent is the caller's context, ctx the one bounded by HandshakeTimeout.
func (d *Dialer) dialOnce(ctx, parent context.Context, u *url.URL, st *dialState, t *tracer) (*Conn, error) {
	pu, err := d.proxyFor(ctx, u)
	if err != nil {
		return nil, err
	}
	if pu != nil {
		var cancel context.CancelFunc
		ctx, cancel = realBound(ctx, parent)
		defer cancel()
	}
	var nc net.Conn
	if d.tryHTTP2(u) {
		var c *Conn
		if c, nc, err = d.dialHTTP2(ctx, u, pu, st, t); c != nil || err != nil {
			return c, err
		}
	}
	if nc == nil {
		if nc, err = d.dialVia(ctx, u, st.host, pu, http1Protos, t); err != nil {
			return nil, err
		}
	}
	if parent.Done() == nil {
		// ctx ends only at its deadline, if it has one: nc's
		// deadline alone bounds the handshake.
		dl, _ := ctx.Deadline()
		return d.upgradeUntil(nc, dl, u, st, t)
	}
	return d.upgrade(ctx, nc, u, st, t)
}

// DialConn does the opening handshake over nc, which is already connected
// to the server (websocket-client's socket option): no proxy, no TLS (for
// wss, pass a *tls.Conn) and no redirects (a redirect is returned as a
// *[handshake.RedirectError]). On error nc is closed; on success the Conn
// owns it.
func (d *Dialer) DialConn(ctx context.Context, nc net.Conn, rawURL string) (*Conn, error) {
	u, err := handshake.ParseURL(rawURL)
	if err == nil {
		err = d.checkHeader(u)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	st := d.newState()
	t := newTracer(d.Config.Trace, d.Config.Logger)
	if ctx.Done() == nil {
		// A context that never ends has nothing to bind: the handshake
		// needs only its own bound, as nc's deadline.
		var limit time.Time
		if ht := d.handshakeTimeout(); ht > 0 {
			limit = time.Now().Add(ht)
		}
		return d.upgradeUntil(nc, limit, u, &st, t)
	}
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.upgrade(ctx, nc, u, &st, t)
}

// ErrInsecureRedirect reports a redirect from a wss URL to a ws URL, which
// would carry the connection in plaintext; see
// [Dialer.AllowInsecureRedirect]. The error also wraps the
// *[handshake.RedirectError].
var ErrInsecureRedirect = errors.New("conn: redirect from wss to ws refused")

// bound applies HandshakeTimeout to ctx.
func (d *Dialer) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if t := d.handshakeTimeout(); t > 0 {
		return context.WithTimeout(ctx, t)
	}
	return ctx, func() {}
}

// deadlineCtx bounds a dial whose context never ends: it has the bound as
// its deadline and no Done channel, so it needs no timer, and net.Dialer
// applies the deadline to the connect as a socket deadline instead of
// registering on the context. Err reports context.DeadlineExceeded once
// the deadline has passed. It is used only where conn and the standard
// library's dialing are all that see it; each step that could block
// beyond the deadline without a Done channel (the TLS handshake, the
// opening handshake) sets the deadline on the socket itself.
type deadlineCtx struct {
	context.Context // context.Background
	deadline        time.Time
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *deadlineCtx) Err() error {
	if time.Now().Before(c.deadline) {
		return nil
	}
	return context.DeadlineExceeded
}

// deadlineBound returns a deadlineCtx for a dial from ctx, or nil when the
// dial must derive its bound from ctx with [Dialer.bound]: ctx can end or
// has a deadline, there is no bound, or the context may reach code other
// than conn's and the standard library's (NetDial, Proxy, HTTP/2). A proxy
// from the environment is handled per attempt: see realBound.
func (d *Dialer) deadlineBound(ctx context.Context) *deadlineCtx {
	ht := d.handshakeTimeout()
	if ht <= 0 || ctx.Done() != nil || d.NetDial != nil || d.Proxy != nil || d.HTTP2 != HTTP2Off {
		return nil
	}
	if _, ok := ctx.Deadline(); ok {
		return nil
	}
	return &deadlineCtx{Context: ctx, deadline: time.Now().Add(ht)}
}

// realBound returns ctx, or, when ctx is a deadlineCtx, a context from
// parent that a timer ends at the same deadline, for a dial through a
// proxy or a name's lookup, whose code binds its steps to the context's
// Done channel.
func realBound(ctx, parent context.Context) (context.Context, context.CancelFunc) {
	if dc, ok := ctx.(*deadlineCtx); ok {
		return context.WithDeadline(parent, dc.deadline)
	}
	return ctx, func() {}
}

// handshakeTimeout returns the bound of a dial: HandshakeTimeout, or
// DefaultHandshakeTimeout for zero; not positive means none.
func (d *Dialer) handshakeTimeout() time.Duration {
	if d.HandshakeTimeout == 0 {
		return DefaultHandshakeTimeout
	}
	return d.HandshakeTimeout
}

// dialState is what a redirect may have to drop.
type dialState struct {
	host   string
	cookie string
	header http.Header
	strict bool // credentials were dropped: do not use URL user information
}

func (d *Dialer) newState() dialState {
	return dialState{host: d.Host, cookie: d.Cookie, header: d.Header}
}

// strip drops the credentials and the Host override before a redirect to
// another origin.
func (st *dialState) strip() {
	st.host, st.cookie, st.strict = "", "", true
	h := st.header.Clone()
	for k := range h {
		switch strings.ToLower(k) {
		case "authorization", "cookie", "proxy-authorization", "host":
			delete(h, k)
		}
	}
	st.header = h
}

// http1Protos is what TLS offers for a WebSocket over HTTP/1.1.
var http1Protos = []string{"http/1.1"}

// dialVia opens the transport to u: TCP, through the proxy pu if not nil,
// then TLS for wss, offering the application protocols protos.
func (d *Dialer) dialVia(ctx context.Context, u *url.URL, hostOverride string, pu *url.URL, protos []string, t *tracer) (net.Conn, error) {
	addr := handshake.Addr(u)
	var nc net.Conn
	var err error
	switch {
	case pu != nil:
		netDial := d.netDial
		if d.NetDial == nil {
			nd := netDialer()
			netDial = nd.DialContext
		}
		pd := &proxy.Dialer{URL: pu, Header: d.ProxyHeader, NetDial: netDial, Trace: t.proxyTrace(pu)}
		if d.TLSConfig != nil {
			pd.TLSConfig = d.TLSConfig.Clone()
			pd.TLSConfig.ServerName = ""
			pd.TLSConfig.NextProtos = nil
		}
		nc, err = pd.DialContext(ctx, "tcp", addr)
	case d.NetDial != nil:
		nc, err = d.netDial(ctx, "tcp", addr)
	default:
		network, dctx := "tcp", ctx
		if ip, err := netip.ParseAddr(u.Hostname()); err != nil {
			// A name is looked up first, and the resolver stops at a
			// context's Done channel only, never at its deadline alone.
			var cancel context.CancelFunc
			dctx, cancel = realBound(ctx, ctx)
			defer cancel()
		} else if ip.Is4() {
			network = "tcp4" // the same dial, without sorting addresses by family
		}
		nd := netDialer() // called directly, it stays on the stack
		nd.Resolver = d.resolver
		nc, err = nd.DialContext(dctx, network, addr)
	}
	if err != nil {
		return nil, dialError(ctx, err)
	}
	if !handshake.IsSecure(u) {
		return nc, nil
	}
	cfg := d.tlsConfig(u, hostOverride)
	cfg.NextProtos = protos
	tc := tls.Client(nc, cfg)
	if dc, ok := ctx.(*deadlineCtx); ok {
		// No Done channel to bind: the deadline goes on the socket.
		nc.SetDeadline(dc.deadline)
		if err = tc.Handshake(); err == nil {
			nc.SetDeadline(time.Time{})
		}
	} else {
		b := bind.Binder{Conn: nc}
		b.Arm(ctx)
		err = tc.Handshake()
		b.Release()
	}
	if err != nil {
		nc.Close()
		return nil, dialError(ctx, err)
	}
	return tc, nil
}

// netDial calls NetDial, refusing a nil connection that comes without an
// error.
func (d *Dialer) netDial(ctx context.Context, network, addr string) (net.Conn, error) {
	nc, err := d.NetDial(ctx, network, addr)
	if nc == nil && err == nil {
		return nil, ErrNetDial
	}
	return nc, err
}

// netDialer is the dialer used when NetDial is nil.
func netDialer() *net.Dialer {
	return &net.Dialer{KeepAliveConfig: net.KeepAliveConfig{
		Enable:   true,
		Idle:     keepAliveIdle,
		Interval: keepAliveInterval,
		Count:    keepAliveCount,
	}}
}

// tlsConfig is the TLS configuration of a connection to u: a clone of
// TLSConfig, with the server name filled in.
func (d *Dialer) tlsConfig(u *url.URL, hostOverride string) *tls.Config {
	cfg := &tls.Config{}
	if d.TLSConfig != nil {
		cfg = d.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
		if hostOverride != "" {
			cfg.ServerName = hostOnly(hostOverride)
		}
	}
	return cfg
}

// hostOnly strips the port and brackets from a Host header value.
func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
}

// dialError classifies an error from dialing or a handshake step.
func dialError(ctx context.Context, err error) error {
	if cerr := endedBy(ctx, err); cerr != nil {
		return &TimeoutError{Op: "dial", Ctx: cerr, Err: err}
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && !dns.IsTimeout {
		return fmt.Errorf("%w %s: %w", ErrAddress, dns.Name, err)
	}
	return err
}

// endedBy returns the error of ctx when ctx explains err: ctx has ended, or
// err is a timeout (a socket's deadline, or context.DeadlineExceeded from a
// step that checks the clock) and ctx's deadline has passed. A socket's
// deadline is set from ctx's and may fire before ctx's own timer, so
// ctx.Err() alone misses that case.
func endedBy(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if dl, ok := ctx.Deadline(); ok && isTimeout(err) && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// upgrade runs the opening handshake over nc, bound to ctx. It closes nc on
// error.
func (d *Dialer) upgrade(ctx context.Context, nc net.Conn, u *url.URL, st *dialState, t *tracer) (*Conn, error) {
	b := bind.Binder{Conn: nc}
	b.Arm(ctx)
	c, err := d.handshake(nc, u, st, t)
	if b.Release() {
		nc.Close()
		var se *handshake.StatusError
		if errors.As(err, &se) {
			// The answer came; only its body was cut short.
			return nil, err
		}
		return nil, &TimeoutError{Op: "dial", Ctx: ctx.Err(), Err: err}
	}
	if err != nil {
		nc.Close()
		if cerr := endedBy(ctx, err); cerr != nil {
			return nil, &TimeoutError{Op: "dial", Ctx: cerr, Err: err}
		}
		return nil, err
	}
	return c, nil
}

// upgradeUntil is upgrade for a context that never ends: limit (zero:
// none) is nc's deadline during the handshake, and its passing fails the
// dial as the end of a context's deadline does.
func (d *Dialer) upgradeUntil(nc net.Conn, limit time.Time, u *url.URL, st *dialState, t *tracer) (*Conn, error) {
	bounded := !limit.IsZero()
	if bounded {
		nc.SetDeadline(limit)
	}
	c, err := d.handshake(nc, u, st, t)
	if err != nil {
		nc.Close()
		var se *handshake.StatusError
		if bounded && !time.Now().Before(limit) && !errors.As(err, &se) {
			return nil, &TimeoutError{Op: "dial", Ctx: context.DeadlineExceeded, Err: err}
		}
		return nil, err
	}
	if bounded {
		nc.SetDeadline(time.Time{})
	}
	return c, nil
}

// handshake sends the request and reads the response.
func (d *Dialer) handshake(nc net.Conn, u *url.URL, st *dialState, t *tracer) (*Conn, error) {
	key, err := handshake.NewKey(d.Rand)
	if err != nil {
		return nil, err
	}
	var req handshake.Request
	offers, err := d.request(&req, u, st, key)
	if err != nil {
		return nil, err
	}
	hb := handshakePool.Get().(*handshakeBuffers)
	defer hb.release()
	raw, err := req.AppendBinary(hb.req[:0])
	hb.req = raw
	if err != nil {
		return nil, err
	}
	t.request(u, raw)
	if _, err := nc.Write(raw); err != nil {
		return nil, err
	}
	br := hb.br
	br.Reset(nc)
	// The Conn keeps the answer's fields as a list: a map is made only
	// for the jar and the trace.
	var resp handshake.Response
	fields, err := handshake.ReadResponseFields(br, &req, &resp)
	if err == nil && (d.Jar != nil || t != nil) {
		resp.Header = unflatten(fields)
	}
	d.answered(u, &resp, err, t, "HTTP/1.1")
	if err != nil {
		return nil, err
	}
	var rest []byte
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		rest = append([]byte(nil), b...)
	}
	return d.established(transportOf(nc, rest), &resp, fields, offers, t)
}

// answered gives the cookies of the server's answer to the jar and the
// answer, in the HTTP version proto, to the trace: resp when err is nil,
// else the refusal or redirect in err.
func (d *Dialer) answered(u *url.URL, resp *handshake.Response, err error, t *tracer, proto string) {
	if err == nil {
		d.storeCookies(u, resp.Header)
		t.response(proto, resp.StatusCode, resp.Status, resp.Header)
		return
	}
	var se *handshake.StatusError
	var re *handshake.RedirectError
	switch {
	case errors.As(err, &re):
		d.storeCookies(u, re.Header)
		t.response(proto, re.StatusCode, re.Status, re.Header)
	case errors.As(err, &se):
		d.storeCookies(u, se.Header)
		t.response(proto, se.StatusCode, se.Status, se.Header)
	}
}

// established makes the client Conn over tr of the accepted answer resp,
// whose header fields are fields (name, value, name, value...), with the
// permessage-deflate offers made.
func (d *Dialer) established(tr Transport, resp *handshake.Response, fields []string, offers []handshake.DeflateParams, t *tracer) (*Conn, error) {
	agreed, compressed, err := acceptExtensions(resp.Extensions, offers)
	if err != nil {
		return nil, err
	}
	cfg := d.Config
	cfg.Role = RoleClient
	c := newConn(tr, &cfg, t)
	c.status, c.subprotocol, c.fields = uint16(resp.StatusCode), resp.Subprotocol, fields
	c.proto = protoHTTP11
	if compressed {
		c.useDeflate(cfg.Compression, agreed)
	}
	return c, nil
}

// request builds in req the opening handshake to u, with key as the
// Sec-WebSocket-Key (none over HTTP/2), and returns the permessage-deflate
// offers made in it.
func (d *Dialer) request(req *handshake.Request, u *url.URL, st *dialState, key string) ([]handshake.DeflateParams, error) {
	*req = handshake.Request{
		URL:            u,
		Host:           st.host,
		Origin:         d.Origin,
		SuppressOrigin: d.SuppressOrigin,
		Key:            key,
		Subprotocols:   d.Subprotocols,
		Header:         st.header,
		Cookie:         d.cookies(u, st),
	}
	var offers []handshake.DeflateParams
	if cp := d.Config.Compression; cp != nil {
		offers = cp.offers()
		var err error
		if req.Extensions, err = handshake.DeflateOffer(offers...); err != nil {
			return nil, err
		}
	}
	if u.User != nil && !st.strict && !hasField(st.header, "Authorization") {
		pass, _ := u.User.Password()
		req.Header = st.header.Clone()
		if req.Header == nil {
			req.Header = http.Header{}
		}
		cred := base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + pass))
		req.Header.Set("Authorization", "Basic "+cred)
	}
	return offers, nil
}

// handshakeBuffers are what an opening handshake borrows: the bytes of
// the request and the reader of the answer. Nothing taken from them
// outlives the handshake: the answer's fields are strings and the bytes
// read past it are copied out.
type handshakeBuffers struct {
	req []byte
	br  *bufio.Reader
}

var handshakePool = sync.Pool{New: func() any {
	return &handshakeBuffers{req: make([]byte, 0, 512), br: bufio.NewReaderSize(nil, 4096)}
}}

// release gives hb back to the pool, unless its request buffer grew for a
// large request.
func (hb *handshakeBuffers) release() {
	hb.br.Reset(nil)
	if cap(hb.req) > 4096 {
		return
	}
	hb.req = hb.req[:0]
	handshakePool.Put(hb)
}

func hasField(h http.Header, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// httpURL returns u with its scheme as net/http names it, without user
// information, for the jar and the proxy function.
func httpURL(u *url.URL) *url.URL {
	v := *u
	v.User = nil
	if handshake.IsSecure(u) {
		v.Scheme = "https"
	} else {
		v.Scheme = "http"
	}
	return &v
}

// cookies builds the Cookie header: the jar's cookies for u, then the
// Cookie option (websocket-client's order).
func (d *Dialer) cookies(u *url.URL, st *dialState) string {
	var parts []string
	if d.Jar != nil {
		for _, c := range d.Jar.Cookies(httpURL(u)) {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	if st.cookie != "" {
		parts = append(parts, st.cookie)
	}
	return strings.Join(parts, "; ")
}

// storeCookies gives the Set-Cookie fields of a response to the jar.
func (d *Dialer) storeCookies(u *url.URL, h http.Header) {
	if d.Jar == nil || len(h["Set-Cookie"]) == 0 {
		return
	}
	resp := http.Response{Header: h}
	if cs := resp.Cookies(); len(cs) > 0 {
		d.Jar.SetCookies(httpURL(u), cs)
	}
}

// proxyFor asks Proxy (nil: proxy.FromEnvironment) for u's proxy, with a
// request whose URL has scheme http for ws and https for wss.
func (d *Dialer) proxyFor(ctx context.Context, u *url.URL) (*url.URL, error) {
	f := d.Proxy
	if f == nil {
		if e := proxy.ReadEnv(nil); e.HTTPProxy == "" && e.HTTPSProxy == "" && e.AllProxy == "" {
			return nil, nil // what FromEnvironment would answer
		}
		f = proxy.FromEnvironment
	}
	v := httpURL(u)
	req := (&http.Request{Method: http.MethodGet, URL: v, Host: v.Host, Header: http.Header{}}).WithContext(ctx)
	pu, err := f(req)
	if err != nil {
		return nil, &proxy.Error{Err: fmt.Errorf("choosing a proxy: %w", err)}
	}
	return pu, nil
}

// checkHeader refuses, before anything is dialled, a request to u that
// could not be sent (handshake.ErrInvalidHeader, as the handshake would
// refuse it, but before a proxy is told where to and before the Host
// override becomes a TLS server name), Compression.Offers that cannot be
// sent (handshake.ErrInvalidOffer) and a permessage-deflate offer in
// Header's Sec-WebSocket-Extensions, whatever its spelling: see
// ErrExtensionHeader.
func (d *Dialer) checkHeader(u *url.URL) error {
	req := handshake.Request{
		URL:            u,
		Host:           d.Host,
		Origin:         d.Origin,
		SuppressOrigin: d.SuppressOrigin,
		Key:            checkKey,
		Subprotocols:   d.Subprotocols,
		Header:         d.Header,
		Cookie:         d.Cookie,
	}
	check := req.Check
	if d.HTTP2 == HTTP2Only {
		check = req.CheckConnect // no HTTP/1.1 request is ever sent
	}
	if err := check(); err != nil {
		return err
	}
	if cp := d.Config.Compression; cp != nil && cp.Offers != nil {
		if _, err := handshake.DeflateOffer(cp.Offers...); err != nil {
			return err // before a connection is made for nothing
		}
	}
	var values []string
	for k, vs := range d.Header {
		if strings.EqualFold(k, "Sec-WebSocket-Extensions") {
			values = append(values, vs...)
		}
	}
	if len(values) == 0 {
		return nil
	}
	// Malformed offers count too: the server may read them otherwise.
	if offers, err := handshake.ParseDeflateOffers(values); len(offers) == 0 && err == nil {
		return nil
	}
	if d.Config.Compression != nil {
		return fmt.Errorf("%w, and Dialer.Config.Compression makes the offer: remove it from Header", ErrExtensionHeader)
	}
	return fmt.Errorf("%w: set Dialer.Config.Compression instead", ErrExtensionHeader)
}

// checkKey stands for the key in checkHeader's request: RFC 6455's
// sample, valid as every key NewKey makes is.
const checkKey = "dGhlIHNhbXBsZSBub25jZQ=="

// acceptExtensions checks the extensions the server accepted against the
// permessage-deflate offers made (none: compression is off) and returns
// the agreement, if any (RFC 7692 §5). permessage-deflate is the only
// extension implemented: any other fails the dial, and so does
// permessage-deflate when it was not offered.
func acceptExtensions(accepted []string, offers []handshake.DeflateParams) (handshake.DeflateParams, bool, error) {
	if len(offers) > 0 {
		agreed, ok, err := handshake.ParseDeflateAnswer(accepted, offers)
		if err != nil {
			return agreed, false, err
		}
		for _, e := range accepted {
			if name := extensionName(e); !strings.EqualFold(name, handshake.DeflateExtension) {
				return agreed, false, &handshake.ExtensionError{Extension: name, Reason: "accepted by the server, but not implemented by conn"}
			}
		}
		return agreed, ok, nil
	}
	if len(accepted) == 0 {
		return handshake.DeflateParams{}, false, nil
	}
	name := extensionName(accepted[0])
	reason := "accepted by the server, but not implemented by conn"
	if strings.EqualFold(name, handshake.DeflateExtension) {
		reason = "accepted by the server, but not offered"
	}
	return handshake.DeflateParams{}, false, &handshake.ExtensionError{Extension: name, Reason: reason}
}

// extensionName returns the token of an extension element.
func extensionName(e string) string {
	name, _, _ := strings.Cut(e, ";")
	return strings.TrimSpace(name)
}
