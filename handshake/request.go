package handshake

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Default limits applied by [ReadResponse].
const (
	DefaultMaxHeaderBytes = 16 << 10 // status line and header fields
	DefaultMaxBodyBytes   = 64 << 10 // body kept in a StatusError
)

// Request is the client's opening handshake (RFC 6455 §4.1): an HTTP/1.1
// GET with an Upgrade header. It replaces the header list that
// websocket-client builds in _get_handshake_headers, and it also holds the
// limits [ReadResponse] applies to the answer.
//
// A Request is not modified by [Request.AppendBinary], [Request.Write] or
// [ReadResponse], so it may be reused and shared by concurrent readers.
type Request struct {
	// URL is the target; its scheme is ws or wss (http and https are
	// accepted as aliases). The request target sent is its escaped path
	// ("/" if empty) and query. Use [ParseURL] to build it.
	URL *url.URL

	// Host, if not empty, replaces the Host header value; the address
	// dialled is not affected. By default it is the URL's host, with the
	// port unless it is the scheme's default one.
	Host string

	// Origin, if not empty, replaces the Origin header value. By default
	// it is "http://" (ws) or "https://" (wss) followed by the URL's host,
	// with the port unless it is the scheme's default one, as
	// websocket-client writes it: a Host override does not change it.
	// SuppressOrigin omits the header.
	Origin         string
	SuppressOrigin bool

	// Key is the Sec-WebSocket-Key: the base64 encoding of 16 random
	// bytes, from [NewKey]. It is required unless Header sets the header.
	Key string

	// Subprotocols are offered in one Sec-WebSocket-Protocol header,
	// comma-joined without spaces as websocket-client does. Each must be
	// an HTTP token; the server may select one of them.
	Subprotocols []string

	// Extensions are offered in one Sec-WebSocket-Extensions header,
	// joined with ", ". Each element is an extension with its parameters,
	// such as "permessage-deflate; client_max_window_bits".
	Extensions []string

	// Header holds additional header fields, sent after the fields above
	// in the order of their sorted names. An entry whose name matches one
	// of the fields the request builds itself (Upgrade, Host, Origin,
	// Sec-WebSocket-Key, Sec-WebSocket-Version, Connection,
	// Sec-WebSocket-Protocol, Sec-WebSocket-Extensions, Cookie), compared
	// without regard to case, replaces that field in its place; an entry
	// with no values removes it. Host, Origin, Sec-WebSocket-Key and
	// Sec-WebSocket-Version are sent at most once, so their entries (in
	// any case) may hold one value between them (a Host a valid one), and
	// an overriding Sec-WebSocket-Key exactly one. The response is then
	// validated against what was sent.
	Header http.Header

	// Cookie, if not empty, is sent as the Cookie header, last.
	Cookie string

	// MaxHeaderBytes limits the status line and header fields of the
	// response read by [ReadResponse]. Zero means
	// [DefaultMaxHeaderBytes].
	MaxHeaderBytes int

	// MaxBodyBytes limits the body that [ReadResponse] keeps in a
	// [*StatusError]. Zero means [DefaultMaxBodyBytes]; a negative value
	// means the body is not read.
	MaxBodyBytes int
}

// Indexes of the fields a Request builds, in the order they are sent. This
// is websocket-client's order, with Sec-WebSocket-Extensions added after
// Sec-WebSocket-Protocol.
const (
	slotUpgrade = iota
	slotHost
	slotOrigin
	slotKey
	slotVersion
	slotConnection
	slotProtocol
	slotExtensions
	slotCookie
	numSlots
)

var slotNames = [numSlots]string{
	"Upgrade",
	"Host",
	"Origin",
	"Sec-WebSocket-Key",
	"Sec-WebSocket-Version",
	"Connection",
	"Sec-WebSocket-Protocol",
	"Sec-WebSocket-Extensions",
	"Cookie",
}

func slotOf(name string) int {
	for i, s := range slotNames {
		if strings.EqualFold(name, s) {
			return i
		}
	}
	return -1
}

// AppendBinary appends the request, ending with the empty line, to b.
// Lines end with CRLF and appear in this order:
//
//	GET <path?query> HTTP/1.1
//	Upgrade: websocket
//	Host: <host[:port]>
//	Origin: <http|https>://<host[:port]>
//	Sec-WebSocket-Key: <key>
//	Sec-WebSocket-Version: 13
//	Connection: Upgrade
//	Sec-WebSocket-Protocol: <a,b>          (if Subprotocols)
//	Sec-WebSocket-Extensions: <x, y>       (if Extensions)
//	<Header fields, sorted by name>
//	Cookie: <Cookie>                       (if Cookie)
//
// It fails with [ErrInvalidHeader] if a name or value could inject
// another line or is otherwise invalid, with [ErrInvalidKey] for a bad
// Key, and with a [*URLError] for an unusable URL. On error b is returned
// unchanged.
func (r *Request) AppendBinary(b []byte) ([]byte, error) {
	if err := r.checkURL(); err != nil {
		return b, err
	}
	b0 := len(b)
	fail := func(err error) ([]byte, error) { return b[:b0], err }

	overridden, err := r.checkHeader()
	if err != nil {
		return b, err
	}
	var keyArr [16]string
	keys := keyArr[:0]
	for name := range r.Header {
		if slotOf(name) < 0 {
			keys = append(keys, name)
		}
	}
	slices.Sort(keys)

	b = append(b, "GET "...)
	b = appendResource(b, r.URL)
	b = append(b, " HTTP/1.1\r\n"...)
	for s := range numSlots {
		if overridden[s] {
			b = r.appendOverride(b, s)
		} else {
			if b, err = r.appendSlot(b, s); err != nil {
				return fail(err)
			}
		}
		if s == slotExtensions {
			for _, k := range keys {
				for _, v := range r.Header[k] {
					b = appendField(b, k, v)
				}
			}
		}
	}
	b = append(b, "\r\n"...)
	return b, nil
}

// Check reports the error [Request.AppendBinary] would return for r,
// without writing anything: a client can refuse a request that cannot be
// sent before it connects for nothing.
func (r *Request) Check() error {
	if err := r.checkURL(); err != nil {
		return err
	}
	overridden, err := r.checkHeader()
	if err != nil {
		return err
	}
	for s := range numSlots {
		if !overridden[s] {
			if err := r.checkSlot(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkHeader checks the names and values of r.Header, and the entries
// replacing built-in fields sent once; it reports which built-in fields
// Header entries replace.
func (r *Request) checkHeader() (overridden [numSlots]bool, err error) {
	for name, vs := range r.Header {
		if !httpguts.ValidHeaderFieldName(name) {
			return overridden, headerErr(name)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return overridden, headerErr(name)
			}
		}
		if s := slotOf(name); s >= 0 {
			overridden[s] = true
		}
	}
	for _, s := range singleSlots {
		if overridden[s] {
			if err := r.checkSingle(s); err != nil {
				return overridden, err
			}
		}
	}
	return overridden, nil
}

// singleSlots are the built-in fields that a request carries at most once
// (RFC 9112 §3.2, RFC 6454 §7.3, RFC 6455 §11.3.1 and §11.3.5): an
// overriding Header entry may give one value, or none to remove the field,
// except Sec-WebSocket-Key, which needs exactly one.
var singleSlots = [...]int{slotHost, slotOrigin, slotKey, slotVersion}

// checkSingle checks the Header entries that replace s, one of
// singleSlots.
func (r *Request) checkSingle(s int) error {
	vs, ok := r.override(s)
	bad := len(vs) > 1 || s == slotKey && ok && len(vs) == 0 ||
		s == slotHost && len(vs) == 1 && !httpguts.ValidHostHeader(vs[0])
	if bad {
		return headerErr(slotNames[s])
	}
	return nil
}

// checkSlot checks the value r gives the built-in field s.
func (r *Request) checkSlot(s int) error {
	ok := true
	switch s {
	case slotHost:
		ok = r.Host == "" || httpguts.ValidHostHeader(r.Host)
	case slotOrigin:
		ok = r.SuppressOrigin || r.Origin == "" || httpguts.ValidHeaderFieldValue(r.Origin)
	case slotKey:
		if !validKey(r.Key) {
			return ErrInvalidKey
		}
	case slotProtocol:
		for _, p := range r.Subprotocols {
			ok = ok && p != "" && httpguts.ValidHeaderFieldName(p)
		}
	case slotExtensions:
		for _, e := range r.Extensions {
			ok = ok && strings.TrimSpace(e) != "" && httpguts.ValidHeaderFieldValue(e)
		}
	case slotCookie:
		ok = httpguts.ValidHeaderFieldValue(r.Cookie)
	}
	if !ok {
		return headerErr(slotNames[s])
	}
	return nil
}

// appendSlot appends the built-in field s, if it is sent, once checkSlot
// accepts it.
func (r *Request) appendSlot(b []byte, s int) ([]byte, error) {
	if err := r.checkSlot(s); err != nil {
		return b, err
	}
	name := slotNames[s]
	switch s {
	case slotUpgrade:
		return appendField(b, name, "websocket"), nil
	case slotHost:
		if r.Host != "" {
			return appendField(b, name, r.Host), nil
		}
		b = append(b, "Host: "...)
		b = appendHostPort(b, r.URL)
		return append(b, "\r\n"...), nil
	case slotOrigin:
		switch {
		case r.SuppressOrigin:
			return b, nil
		case r.Origin != "":
			return appendField(b, name, r.Origin), nil
		}
		b = append(b, "Origin: http"...)
		if IsSecure(r.URL) {
			b = append(b, 's')
		}
		b = append(b, "://"...)
		b = appendHostPort(b, r.URL)
		return append(b, "\r\n"...), nil
	case slotKey:
		return appendField(b, name, r.Key), nil
	case slotVersion:
		return appendField(b, name, "13"), nil
	case slotConnection:
		return appendField(b, name, "Upgrade"), nil
	case slotProtocol:
		if len(r.Subprotocols) == 0 {
			return b, nil
		}
		b = append(b, name...)
		b = append(b, ": "...)
		for i, p := range r.Subprotocols {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, p...)
		}
		return append(b, "\r\n"...), nil
	case slotExtensions:
		if len(r.Extensions) == 0 {
			return b, nil
		}
		b = append(b, name...)
		b = append(b, ": "...)
		for i, e := range r.Extensions {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, e...)
		}
		return append(b, "\r\n"...), nil
	case slotCookie:
		if r.Cookie == "" {
			return b, nil
		}
		return appendField(b, name, r.Cookie), nil
	}
	return b, nil
}

// appendOverride appends the Header entries that replace field s, in the
// order of their names. Names and values were checked by the caller.
func (r *Request) appendOverride(b []byte, s int) []byte {
	var names []string
	for k := range r.Header {
		if strings.EqualFold(k, slotNames[s]) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range r.Header[k] {
			b = appendField(b, k, v)
		}
	}
	return b
}

// Write writes the request to w in a single Write call, as websocket-client
// sends it in one send.
func (r *Request) Write(w io.Writer) error {
	b, err := r.AppendBinary(make([]byte, 0, 512))
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// override returns the values of the Header entries replacing field s, and
// whether there are any such entries.
func (r *Request) override(s int) ([]string, bool) {
	var vs []string
	found := false
	for k, v := range r.Header {
		if strings.EqualFold(k, slotNames[s]) {
			found = true
			vs = append(vs, v...)
		}
	}
	return vs, found
}

// sentKey returns the Sec-WebSocket-Key that the request sends.
func (r *Request) sentKey() (string, bool) {
	if vs, ok := r.override(slotKey); ok {
		if len(vs) != 1 {
			return "", false
		}
		return strings.TrimSpace(vs[0]), true
	}
	return r.Key, true
}

// offered returns the comma-separated elements of field s as sent:
// Subprotocols or Extensions, or the Header entries that replace them.
func (r *Request) offered(s int) []string {
	if vs, ok := r.override(s); ok {
		var out []string
		for _, v := range vs {
			out = appendList(out, v)
		}
		return out
	}
	if s == slotProtocol {
		return r.Subprotocols
	}
	return r.Extensions
}

func (r *Request) checkURL() error {
	u := r.URL
	if u == nil {
		return &URLError{Reason: "no URL"}
	}
	switch strings.ToLower(u.Scheme) {
	case "ws", "wss", "http", "https":
	default:
		return &URLError{URL: u.Redacted(), Reason: "unsupported scheme"}
	}
	if u.Hostname() == "" || u.Opaque != "" {
		return &URLError{URL: u.Redacted(), Reason: "missing host"}
	}
	if !validTarget(u.EscapedPath()) || !validTarget(u.RawQuery) {
		return &URLError{URL: u.Redacted(), Reason: "invalid character in path or query"}
	}
	return nil
}

// appendResource appends the request target: the escaped path, "/" when
// empty, and the query if there is one.
func appendResource(b []byte, u *url.URL) []byte {
	p := u.EscapedPath()
	if p == "" {
		b = append(b, '/')
	} else {
		b = append(b, p...)
	}
	if u.RawQuery != "" || u.ForceQuery {
		b = append(b, '?')
		b = append(b, u.RawQuery...)
	}
	return b
}

// validTarget reports whether s can be sent in a request line: printable
// ASCII without spaces.
func validTarget(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

func headerErr(name string) error {
	return &headerError{name: name}
}

// headerError is ErrInvalidHeader with the offending field name. The value
// is left out: it may hold a secret.
type headerError struct{ name string }

func (e *headerError) Error() string {
	return ErrInvalidHeader.Error() + " " + quoteName(e.name)
}

func (e *headerError) Unwrap() error { return ErrInvalidHeader }

// quoteName quotes a header name for an error message, replacing bytes that
// are not printable ASCII.
func quoteName(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s) && i < 64; i++ {
		if c := s[i]; c >= ' ' && c < 0x7f && c != '"' {
			sb.WriteByte(c)
		} else {
			sb.WriteByte('?')
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// appendList appends the elements of the comma-separated list v to out,
// trimmed of spaces; empty elements are skipped and commas inside quoted
// strings do not split.
func appendList(out []string, v string) []string {
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case c == '\\' && quoted:
			i++
		case c == ',' && !quoted:
			if e := strings.TrimSpace(v[start:i]); e != "" {
				out = append(out, e)
			}
			start = i + 1
		}
	}
	if start < len(v) {
		if e := strings.TrimSpace(v[start:]); e != "" {
			out = append(out, e)
		}
	}
	return out
}
