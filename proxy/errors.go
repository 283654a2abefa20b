package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Causes of an [*Error], for errors.Is.
var (
	// ErrRefused reports a proxy that answered but would not open the
	// tunnel: an HTTP status other than 2xx, or a SOCKS reply other than
	// success. websocket-client raises WebSocketProxyException.
	ErrRefused = errors.New("proxy: tunnel refused")

	// ErrAuth reports a proxy that refused the credentials: HTTP 407, a
	// failed SOCKS5 username/password exchange or no acceptable SOCKS5
	// method, or SOCKS4 reply 93. It wraps [ErrRefused].
	ErrAuth = fmt.Errorf("%w: credentials not accepted", ErrRefused)

	// ErrProtocol reports a reply that breaks the proxy's protocol: a
	// malformed or oversized CONNECT response, a wrong SOCKS version, a
	// method that was not offered, or a connection closed mid-reply.
	ErrProtocol = errors.New("proxy: protocol violation")

	// ErrInvalid reports what the Dialer cannot send: an unsupported
	// proxy URL or network, an invalid target address, a header field
	// that could inject a line, a target or credentials that SOCKS
	// cannot carry, or a NetDial that returned no connection.
	ErrInvalid = errors.New("proxy: invalid request")
)

// Error reports a dial through a proxy that failed. Every error of
// [Dialer.DialContext] is an *Error, except the context's own error when
// the context ends the dial. Err says what went wrong: [ErrRefused] or
// [ErrAuth] for a refusal (StatusCode, Status and Header, or Code, then
// describe it), [ErrProtocol], [ErrInvalid], or the error of dialing the
// proxy, of TLS to it, or of resolving a name for SOCKS.
type Error struct {
	Proxy string // the proxy URL without its password

	// StatusCode, Status and Header describe an HTTP proxy's refusal of
	// CONNECT. StatusCode is 0 otherwise.
	StatusCode int
	Status     string // reason phrase, e.g. "Forbidden"
	Header     http.Header

	// Code is a SOCKS proxy's refusal: the CD byte of SOCKS4 (91, 92 or
	// 93), the REP byte of SOCKS5 (1 to 8, RFC 1928 §6), 0xff for no
	// acceptable method, or the status byte of a failed username/password
	// exchange (RFC 1929). It is 0 otherwise.
	Code int

	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("proxy: ")
	if e.Proxy != "" {
		b.WriteString(e.Proxy)
		b.WriteString(": ")
	}
	if e.StatusCode == 0 && e.Code == 0 {
		if e.Err != nil {
			b.WriteString(strings.TrimPrefix(e.Err.Error(), "proxy: "))
		}
		return b.String()
	}
	b.WriteString("refused: ")
	if e.StatusCode != 0 {
		b.WriteString(strconv.Itoa(e.StatusCode))
	} else {
		b.WriteString("code ")
		b.WriteString(strconv.Itoa(e.Code))
	}
	if e.Status != "" {
		b.WriteString(" ")
		b.WriteString(e.Status)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }
