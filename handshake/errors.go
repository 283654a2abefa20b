package handshake

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// ErrHandshake is the category of the errors reported when a 101 response
// fails the checks of RFC 6455 §4.1. Each of [ErrBadVersion],
// [ErrBadUpgrade], [ErrBadConnection], [ErrBadAccept], [ErrBadSubprotocol]
// and [ErrBadExtension] wraps it. websocket-client reports all of them as
// "Invalid WebSocket Header".
var ErrHandshake = errors.New("handshake: invalid upgrade response")

// Errors reported by [ReadResponse] for a 101 response that fails
// validation. Each wraps [ErrHandshake].
var (
	ErrBadVersion     = fmt.Errorf("%w: 101 response is not HTTP/1.1", ErrHandshake)
	ErrBadUpgrade     = fmt.Errorf("%w: Upgrade is not websocket", ErrHandshake)
	ErrBadConnection  = fmt.Errorf("%w: Connection lacks the upgrade token", ErrHandshake)
	ErrBadAccept      = fmt.Errorf("%w: Sec-WebSocket-Accept does not match the key", ErrHandshake)
	ErrBadSubprotocol = fmt.Errorf("%w: subprotocol was not offered", ErrHandshake)
	ErrBadExtension   = fmt.Errorf("%w: extension not acceptable", ErrHandshake)
)

// Errors about the HTTP syntax of the server's response.
var (
	// ErrMalformedResponse reports a status line or header field that is
	// not valid HTTP/1.1.
	ErrMalformedResponse = errors.New("handshake: malformed HTTP response")
	// ErrHeaderTooLarge reports a header section longer than the limit
	// (see [Request.MaxHeaderBytes]).
	ErrHeaderTooLarge = errors.New("handshake: response header too large")
)

// ErrInvalidHeader reports a request header field (name or value, including
// the Host, Origin, Cookie, key, subprotocols and extensions) that could not
// be sent safely: a CR, LF, NUL or other control byte in a value, or a name
// that is not an HTTP token. It prevents header injection.
var ErrInvalidHeader = errors.New("handshake: invalid request header field")

// ErrInvalidKey reports a [Request.Key] that is not the base64 encoding of
// 16 bytes (RFC 6455 §4.1, item 7).
var ErrInvalidKey = errors.New("handshake: Sec-WebSocket-Key must be base64 of 16 bytes")

// ErrBadStatus is the category of [*StatusError] and [*RedirectError]: the
// server answered with a status other than 101.
var ErrBadStatus = errors.New("handshake: unexpected HTTP status")

// ErrBadRedirect reports a redirect response whose Location header is
// missing or is not a usable WebSocket URL. The error also unwraps to a
// [*StatusError] that carries the status and headers.
var ErrBadRedirect = errors.New("handshake: invalid redirect Location")

// ExtensionError reports an extension in the server's answer that the
// client cannot accept: one it did not offer, one answered twice, or, for
// permessage-deflate, a parameter that RFC 7692 §7 does not allow (see
// [ParseDeflateAnswer]); or, with Offer set, an offer in a client's
// request that a server cannot take (see [ParseDeflateOffers]). It wraps
// [ErrBadExtension]. websocket-client does not check extensions.
type ExtensionError struct {
	Extension string // the extension token as received, e.g. "permessage-deflate"
	Param     string // the parameter at fault, or "" when it is the whole element
	Value     string // the parameter's value, unquoted, or "" when it has none
	Reason    string // what is wrong, e.g. "outside 8-15"
	Offer     bool   // the element is a request's offer, not the server's answer
}

func (e *ExtensionError) Error() string {
	s := ErrHandshake.Error() + ": extension " + quoteName(e.Extension)
	if e.Offer {
		s = "handshake: invalid extension offer " + quoteName(e.Extension)
	}
	if e.Param != "" {
		s += " parameter " + quoteName(e.Param)
		if e.Value != "" {
			v := e.Value
			if len(v) > 32 {
				v = v[:32]
			}
			s += "=" + strconv.Quote(v)
		}
	}
	return s + ": " + e.Reason
}

// Unwrap returns [ErrBadExtension].
func (e *ExtensionError) Unwrap() error { return ErrBadExtension }

// ErrInvalidURL is the category of [*URLError].
var ErrInvalidURL = errors.New("handshake: invalid WebSocket URL")

// URLError reports a URL that [ParseURL] cannot use. It wraps
// [ErrInvalidURL] and, when there is one, the error from [url.Parse].
// websocket-client raises ValueError for the same inputs.
type URLError struct {
	URL    string // the input, its password (if any) replaced by "xxxxx"
	Reason string // what is wrong, e.g. "fragment not allowed"
	Err    error  // the url.Parse error, or nil
}

func (e *URLError) Error() string {
	s := "handshake: invalid WebSocket URL " + strconv.Quote(e.URL) + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns [ErrInvalidURL] and the underlying error, if any.
func (e *URLError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidURL, e.Err}
	}
	return []error{ErrInvalidURL}
}

// StatusError reports a response whose status is neither 101 nor a
// redirect. It is websocket-client's WebSocketBadStatusException. Body holds
// at most [Request.MaxBodyBytes] bytes of the response body; it is
// incomplete when the body was longer or could not be read in full.
type StatusError struct {
	StatusCode int
	Status     string // reason phrase, e.g. "Forbidden"
	Header     http.Header
	Body       []byte
}

func (e *StatusError) Error() string {
	s := "handshake: server answered " + strconv.Itoa(e.StatusCode)
	if e.Status != "" {
		s += " " + e.Status
	}
	return s + ", not a WebSocket upgrade"
}

// Unwrap returns [ErrBadStatus].
func (e *StatusError) Unwrap() error { return ErrBadStatus }

// Response returns the refusal as net/http describes a response, as
// gorilla/websocket and coder/websocket return it from a failed dial: a
// new *http.Response whose Body reads the bounded copy in e.Body.
func (e *StatusError) Response() *http.Response {
	status := strconv.Itoa(e.StatusCode)
	if e.Status != "" {
		status += " " + e.Status
	}
	return &http.Response{
		Status:        status,
		StatusCode:    e.StatusCode,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        e.Header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(e.Body)),
		ContentLength: int64(len(e.Body)),
	}
}

// RedirectError reports a redirect (301, 302, 303, 307 or 308) whose
// Location is a usable WebSocket URL. The caller may dial Location; see
// [SameOrigin] for what to drop when it points elsewhere.
type RedirectError struct {
	StatusCode int
	Status     string   // reason phrase
	Location   *url.URL // resolved against the request URL; scheme ws or wss
	Header     http.Header
}

func (e *RedirectError) Error() string {
	return "handshake: server redirected (" + strconv.Itoa(e.StatusCode) + ") to " + e.Location.Redacted()
}

// Unwrap returns [ErrBadStatus].
func (e *RedirectError) Unwrap() error { return ErrBadStatus }
