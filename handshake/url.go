package handshake

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/idna"
)

// ParseURL parses a WebSocket URL (RFC 6455 §3) and returns it in a
// canonical form: scheme "ws" or "wss", and a host that is ASCII (an
// internationalised name is converted with IDNA). It is websocket-client's
// parse_url.
//
// The scheme is case-insensitive; "http" and "https" are accepted as
// aliases of "ws" and "wss". The host is required; an IPv6 literal is
// written in brackets ("ws://[::1]:8080/"). A port, when given, must be in
// 1-65535; when absent, [Addr] supplies 80 or 443. Spaces and non-ASCII
// bytes in the query are percent-encoded. User information is kept
// in the URL and is never sent by [Request]. A fragment, even an empty one,
// is refused because RFC 6455 §3 forbids it ("#" in a path must be written
// %23).
//
// Errors are [*URLError] values, which wrap [ErrInvalidURL].
func ParseURL(s string) (*url.URL, error) {
	fail := func(reason string, err error) (*url.URL, error) {
		red := redacted(s)
		if ue, ok := err.(*url.Error); ok && red != s {
			// url.Parse's message may quote a part of the password.
			ue.URL, ue.Err = red, errPasswordHidden
		}
		return nil, &URLError{URL: red, Reason: reason, Err: err}
	}
	if strings.IndexByte(s, '#') >= 0 {
		return fail("fragment not allowed", nil)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fail("cannot parse", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "ws", "http":
		u.Scheme = "ws"
	case "wss", "https":
		u.Scheme = "wss"
	case "":
		return fail("missing scheme", nil)
	default:
		return fail("unsupported scheme "+strconv.Quote(u.Scheme), nil)
	}
	if u.Opaque != "" {
		return fail("missing host", nil)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return fail("missing host", nil)
	}
	if strings.IndexByte(host, ':') >= 0 && !strings.HasPrefix(u.Host, "[") {
		return fail("invalid host", nil) // an IPv6 literal needs brackets
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fail("invalid port "+strconv.Quote(port), nil)
		}
	}
	rebuild := strings.HasSuffix(u.Host, ":") // "ws://h:/" has an empty port
	if !isASCII(host) {
		a, err := idna.Lookup.ToASCII(host)
		if err != nil {
			return fail("invalid host name", err)
		}
		if a == "" {
			// Every character was one IDNA maps to nothing, such as a
			// soft hyphen.
			return fail("missing host", nil)
		}
		host, rebuild = a, true
	}
	if rebuild {
		u.Host = joinHost(host, port)
	}
	if !httpguts.ValidHostHeader(u.Host) {
		return fail("invalid host", nil)
	}
	u.RawQuery = escapeQuery(u.RawQuery)
	return u, nil
}

// escapeQuery percent-encodes the bytes of a raw query that cannot appear
// in a request line: spaces, controls and non-ASCII bytes.
func escapeQuery(q string) string {
	if validTarget(q) {
		return q
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(q)+16)
	for i := 0; i < len(q); i++ {
		if c := q[i]; c <= ' ' || c >= 0x7f {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

// Addr returns the "host:port" address to dial for u: its host and its
// port, or the scheme's default port (80 for ws and http, 443 for wss and
// https). An IPv6 literal is bracketed.
func Addr(u *url.URL) string {
	host := u.Hostname()
	if u.Port() != "" && strings.IndexByte(host, ':') >= 0 == strings.HasPrefix(u.Host, "[") {
		return u.Host // already what JoinHostPort would build
	}
	return net.JoinHostPort(host, portOf(u))
}

// SameHost reports whether a and b name the same host, compared without
// regard to case, port or scheme. To decide whether credentials may follow
// a redirect, use [SameOrigin], which also compares scheme and port.
func SameHost(a, b *url.URL) bool {
	return strings.EqualFold(a.Hostname(), b.Hostname())
}

// SameOrigin reports whether a and b have the same origin (RFC 6454 §4):
// the same scheme, host and port, with ws and http, and wss and https,
// taken as one scheme each, host names compared without regard to case,
// and an absent port read as the scheme's default. After a redirect to a
// URL of another origin (another host, another port of the same host, or
// another scheme, such as wss to ws), a client should drop credentials it
// was given for the first: Authorization and Cookie headers and a Host
// override.
func SameOrigin(a, b *url.URL) bool {
	return IsSecure(a) == IsSecure(b) && SameHost(a, b) && portOf(a) == portOf(b)
}

// portOf returns u's port, or its scheme's default port.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return defaultPort(u.Scheme)
}

// IsSecure reports whether u's scheme asks for TLS ("wss" or "https").
func IsSecure(u *url.URL) bool {
	s := u.Scheme
	return strings.EqualFold(s, "wss") || strings.EqualFold(s, "https")
}

func defaultPort(scheme string) string {
	switch strings.ToLower(scheme) {
	case "wss", "https":
		return "443"
	case "socks4", "socks4a", "socks5", "socks5h":
		return "1080"
	}
	return "80"
}

// joinHost writes host and an optional port, bracketing an IPv6 literal.
func joinHost(host, port string) string {
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	if port == "" {
		return host
	}
	return host + ":" + port
}

// appendHostPort appends the Host header value for u: the host, bracketed
// if it is an IPv6 literal and without any zone, followed by the port
// unless it is the scheme's default.
func appendHostPort(b []byte, u *url.URL) []byte {
	host := u.Hostname()
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	if strings.IndexByte(host, ':') >= 0 {
		b = append(b, '[')
		b = append(b, host...)
		b = append(b, ']')
	} else {
		b = append(b, host...)
	}
	if port := u.Port(); port != "" && port != defaultPort(u.Scheme) {
		b = append(b, ':')
		b = append(b, port...)
	}
	return b
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// errPasswordHidden replaces the detail of a url.Parse error for a URL
// with a password.
var errPasswordHidden = errors.New("details hidden: the URL holds a password")

// redacted is s with the password of its user information, if any,
// replaced by "xxxxx", as [url.URL.Redacted] writes it. When s does not
// parse, the password may hold any character (an unescaped "/", "?" or
// "#" is a common mistake): it is taken to run from the first ":" after
// "//" to the last "@", unless the user name before that ":" holds one of
// "/?#@".
func redacted(s string) string {
	if u, err := url.Parse(s); err == nil {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
		if u.Fragment == "" {
			return s
		}
	}
	i := strings.Index(s, "//")
	if i < 0 {
		return s
	}
	start := i + len("//")
	rest := s[start:]
	colon := strings.IndexByte(rest, ':')
	at := strings.LastIndexByte(rest, '@')
	if colon < 0 || at < colon || strings.ContainsAny(rest[:colon], "/?#@") {
		return s
	}
	return s[:start+colon+1] + "xxxxx" + s[start+at:]
}
