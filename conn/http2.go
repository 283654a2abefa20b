package conn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/framewire/ws/handshake"
	"golang.org/x/net/http2"
)

// HTTP2Mode chooses the HTTP version of a [Dialer]'s opening handshake: the
// HTTP/1.1 Upgrade of RFC 6455 §4, or the extended CONNECT of RFC 8441
// that carries a WebSocket in one stream of an HTTP/2 connection.
type HTTP2Mode int

const (
	// HTTP2Off dials HTTP/1.1 only, as websocket-client does. It is the
	// zero value: HTTP/2 changes how many TCP connections exist, where
	// latency comes from and what one failure takes down, so a user opts
	// in (docs/http2.md).
	HTTP2Off HTTP2Mode = iota

	// HTTP2Prefer offers HTTP/2 to a wss server through TLS's ALPN (h2,
	// http/1.1) and sends the extended CONNECT when the server sets
	// SETTINGS_ENABLE_CONNECT_PROTOCOL. It falls back to HTTP/1.1 when
	// ALPN chooses http/1.1, when the setting is missing and when the
	// server answers the CONNECT with a status other than 2xx. A ws URL
	// is dialled over HTTP/1.1: without TLS there is no way to learn
	// that a server speaks HTTP/2.
	HTTP2Prefer

	// HTTP2Only dials over HTTP/2 or fails: for wss, ALPN offers h2
	// alone; for ws, HTTP/2 is spoken in clear from the first byte (h2c
	// with prior knowledge, RFC 9113 §3.3), for loopback and tests.
	HTTP2Only
)

// String returns "off", "prefer" or "only".
func (m HTTP2Mode) String() string {
	switch m {
	case HTTP2Off:
		return "off"
	case HTTP2Prefer:
		return "prefer"
	case HTTP2Only:
		return "only"
	}
	return "HTTP2Mode(" + strconv.Itoa(int(m)) + ")"
}

// HTTP2Error reports an HTTP/2 error (RFC 9113 §5.4) that ended the stream
// carrying a WebSocket, or the HTTP/2 connection under it, during the dial
// or after it. Code is the error code (RFC 9113 §7).
//
// With Stream set, the error ended this stream alone: the server reset it
// (RST_STREAM with Code; Reason is empty), or it is going away and did not
// process it (GOAWAY; Code is REFUSED_STREAM and Reason says so), or the
// server broke HTTP/2 in this stream and the client reset it (Reason says
// what was wrong). A stream refused with REFUSED_STREAM was not processed,
// and opening it again is safe (RFC 9113 §8.7). Without Stream, the server
// broke HTTP/2 and the client ended the whole connection, sending GOAWAY
// with Code; Reason says what was wrong. Err, when set, is the error
// behind Reason (such as [handshake.ErrHeaderTooLarge]), which Unwrap
// returns, so that errors.Is finds it.
//
// A dial's error and, once a WebSocket is open, the error of its calls
// wrap it (find it with errors.As); the latter match [ErrConnectionLost]
// too, as a reset TCP connection does over HTTP/1.1.
type HTTP2Error struct {
	Code   http2.ErrCode
	Stream bool
	Reason string
	Err    error
}

func (e *HTTP2Error) Unwrap() error { return e.Err }

func (e *HTTP2Error) Error() string {
	if !e.Stream {
		return "conn: HTTP/2 connection error " + e.Code.String() + ": " + e.Reason
	}
	if e.Reason == "" {
		return "conn: HTTP/2 stream reset by the server: " + e.Code.String()
	}
	return "conn: HTTP/2 stream error " + e.Code.String() + ": " + e.Reason
}

// ErrHTTP2Unavailable reports that a WebSocket over HTTP/2 could not be
// opened with HTTP2Only: TLS's ALPN did not choose h2, or the server does
// not set SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3). With
// HTTP2Prefer these cases fall back to HTTP/1.1 instead.
var ErrHTTP2Unavailable = errors.New("conn: WebSocket over HTTP/2 not available")

// errNoConnect is the server's not allowing extended CONNECT.
var errNoConnect = fmt.Errorf("%w: the server does not set SETTINGS_ENABLE_CONNECT_PROTOCOL", ErrHTTP2Unavailable)

// Proto returns the HTTP version of the opening handshake: "HTTP/1.1",
// "HTTP/2.0" for a WebSocket over an HTTP/2 stream, or "" for a Conn made
// by [New].
func (c *Conn) Proto() string {
	switch c.proto {
	case protoHTTP11:
		return "HTTP/1.1"
	case protoHTTP2:
		return "HTTP/2.0"
	}
	return ""
}

// handshakeProto is the HTTP version of a Conn's opening handshake.
type handshakeProto uint8

const (
	protoNone   handshakeProto = iota // a Conn made by New
	protoHTTP11                       // HTTP/1.1
	protoHTTP2                        // an extended CONNECT over HTTP/2
)

// tryHTTP2 reports whether a dial to u begins over HTTP/2.
func (d *Dialer) tryHTTP2(u *url.URL) bool {
	return d.HTTP2 == HTTP2Only || d.HTTP2 == HTTP2Prefer && handshake.IsSecure(u)
}

// dialHTTP2 opens a WebSocket to u over HTTP/2, through the proxy pu if
// not nil. With HTTP2Prefer, it returns no Conn and no error when the dial
// is to fall back to HTTP/1.1, and the TLS connection whose ALPN chose
// http/1.1, if that is why.
func (d *Dialer) dialHTTP2(ctx context.Context, u *url.URL, pu *url.URL, st *dialState, t *tracer) (*Conn, net.Conn, error) {
	key := h2Key{secure: handshake.IsSecure(u), addr: handshake.Addr(u), tls: d.TLSConfig}
	if pu != nil {
		key.proxy, key.proxyHdr = pu.String(), proxyHeaderKey(d.ProxyHeader)
	}
	if key.secure {
		key.serverName = d.tlsConfig(u, st.host).ServerName
	}
	hc, nc, err := d.HTTP2Pool.conn(ctx, key, func(ctx context.Context) (*h2Client, net.Conn, error) {
		return d.dialH2Conn(ctx, u, st.host, pu, t)
	})
	if err == nil && hc == nil {
		if d.HTTP2 == HTTP2Prefer {
			return nil, nc, nil
		}
		nc.Close()
		err = fmt.Errorf("%w: TLS's ALPN chose %q", ErrHTTP2Unavailable, nc.(*tls.Conn).ConnectionState().NegotiatedProtocol)
	}
	if err == nil {
		var c *Conn
		if c, err = d.openStream(ctx, hc, u, st, t); err == nil {
			return c, nil, nil
		}
	}
	if d.HTTP2 == HTTP2Prefer && (errors.Is(err, ErrHTTP2Unavailable) || errors.Is(err, handshake.ErrBadStatus)) {
		return nil, nil, nil
	}
	return nil, nil, err
}

// dialH2Conn opens a new HTTP/2 connection to u, and returns it with the
// connection under it. When TLS's ALPN chooses another protocol, it
// returns only the TLS connection.
func (d *Dialer) dialH2Conn(ctx context.Context, u *url.URL, hostOverride string, pu *url.URL, t *tracer) (*h2Client, net.Conn, error) {
	protos := []string{"h2"}
	if d.HTTP2 == HTTP2Prefer {
		protos = []string{"h2", "http/1.1"}
	}
	nc, err := d.dialVia(ctx, u, hostOverride, pu, protos, t)
	if noApplicationProtocol(err) {
		return nil, nil, fmt.Errorf("%w: the server refused ALPN h2: %w", ErrHTTP2Unavailable, err)
	}
	if err != nil {
		return nil, nil, err
	}
	if tc, ok := nc.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol != "h2" {
		return nil, nc, nil
	}
	cc, err := newH2Client(ctx, nc)
	if err != nil {
		return nil, nil, err
	}
	return cc, nc, nil
}

// noApplicationProtocol reports whether err is the server's TLS alert
// no_application_protocol (RFC 7301 §3.2): it shares no protocol with the
// client's ALPN offer. crypto/tls exports no value for a received alert.
func noApplicationProtocol(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "remote error" && oe.Err != nil && oe.Err.Error() == "tls: no application protocol"
}

// openStream sends the extended CONNECT for u on hc (RFC 8441 §4-5) and
// makes the Conn over the stream it opens. It releases hc's stream on
// error.
func (d *Dialer) openStream(ctx context.Context, hc *h2Conn, u *url.URL, st *dialState, t *tracer) (*Conn, error) {
	req := new(handshake.Request)
	offers, err := d.request(req, u, st, "")
	var hdr http.Header
	if err == nil {
		hdr, err = req.ConnectHeader()
	}
	if err != nil {
		hc.release()
		return nil, err
	}
	hdr[":protocol"] = []string{handshake.ConnectProtocol}
	if !hasField(hdr, "User-Agent") {
		hdr["user-agent"] = []string{""} // none, as over HTTP/1.1
	}
	target := &url.URL{Scheme: "http", Host: req.Authority(), Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	if target.Path == "" {
		target.Path = "/"
	}
	if handshake.IsSecure(u) {
		target.Scheme = "https"
	}
	t.request(u, connectText(target, hdr))

	s, err := hc.cc.open(ctx, &http.Request{Proto: handshake.ConnectProtocol, URL: target, Host: target.Host}, hdr)
	var hresp *handshake.Response
	if err == nil {
		s.onEnd = hc.release
		var code int
		var h http.Header
		if code, h, err = s.answer(ctx.Done()); err == nil {
			var body io.Reader = stoppedBody{s, ctx.Done()}
			if code == http.StatusSwitchingProtocols {
				// HTTP/2 has no 101 (RFC 9113 §8.6): a refusal, with no
				// body to wait for.
				body = nil
			}
			hresp, err = handshake.CheckConnectResponse(code, h, body, req)
			d.answered(u, hresp, err, t, "HTTP/2.0")
		}
	} else {
		hc.release()
	}
	var c *Conn
	if err == nil {
		if c, err = d.established(s, hresp, flatten(hresp.Header), offers, t); err == nil {
			c.proto = protoHTTP2
			return c, nil
		}
	}
	if s != nil {
		s.Abort()
	}
	var se *handshake.StatusError
	if ctx.Err() != nil && !errors.As(err, &se) {
		return nil, &TimeoutError{Op: "dial", Ctx: ctx.Err(), Err: err}
	}
	return nil, dialError(ctx, err)
}

// connectText renders an extended CONNECT for the trace, pseudo-header
// fields first, in the shape of an HTTP/1.1 request.
func connectText(target *url.URL, h http.Header) []byte {
	var b []byte
	b = append(b, "CONNECT "...)
	b = append(b, target.RequestURI()...)
	b = append(b, " HTTP/2.0\r\n"...)
	b = append(b, ":authority: "+target.Host+"\r\n"...)
	b = append(b, ":scheme: "+target.Scheme+"\r\n"...)
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			if v != "" {
				b = append(b, k+": "+v+"\r\n"...)
			}
		}
	}
	return append(b, "\r\n"...)
}
