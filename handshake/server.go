package handshake

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// ErrBadRequest is the category of [*RequestError]: a client's opening
// handshake that a server must refuse (RFC 6455 §4.2.1).
var ErrBadRequest = errors.New("handshake: invalid upgrade request")

// RequestError reports an opening handshake that a server refuses, and
// the status it answers with (RFC 6455 §4.2.2, §4.4): 400 Bad Request,
// 405 Method Not Allowed for a method other than GET, 426 Upgrade Required
// for a Sec-WebSocket-Version other than 13 (the answer then carries
// "Sec-WebSocket-Version: 13"), 431 for a header section over the limit.
// It wraps [ErrBadRequest] and Err, when there is one.
type RequestError struct {
	StatusCode int
	Reason     string // what is wrong, e.g. "Upgrade is not websocket"
	Err        error  // ErrHeaderTooLarge, a parse error, or nil
}

func (e *RequestError) Error() string {
	s := "handshake: invalid upgrade request: " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns [ErrBadRequest] and Err, if any.
func (e *RequestError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrBadRequest, e.Err}
	}
	return []error{ErrBadRequest}
}

// ReadRequest reads a client's request line and header fields from br,
// at most maxHeaderBytes of them (0 or less means DefaultMaxHeaderBytes),
// and parses them with net/http's ReadRequest. It is the server's mirror
// of [ReadResponse]: bytes after the empty line stay in br, for the
// frames that follow; a body is not read; no deadline is set.
//
// A request over the limit gives a [*RequestError] with status 431
// wrapping [ErrHeaderTooLarge], one net/http cannot parse a
// *RequestError with status 400. An end of stream before the first byte
// is io.EOF, later io.ErrUnexpectedEOF. ReadRequest does not check the
// WebSocket fields: [CheckRequest] does.
func ReadRequest(br *bufio.Reader, maxHeaderBytes int) (*http.Request, error) {
	budget := maxHeaderBytes
	if budget <= 0 {
		budget = DefaultMaxHeaderBytes
	}
	if _, err := br.Peek(1); err != nil {
		return nil, err
	}
	var head, scratch []byte
	for {
		line, err := readLine(br, &budget, &scratch)
		if errors.Is(err, ErrHeaderTooLarge) {
			return nil, &RequestError{StatusCode: http.StatusRequestHeaderFieldsTooLarge, Reason: "header section too large", Err: err}
		}
		if err != nil {
			return nil, err
		}
		head = append(append(head, line...), "\r\n"...)
		if len(line) == 0 {
			break
		}
	}
	req, err := http.ReadRequest(bufio.NewReaderSize(bytes.NewReader(head), len(head)))
	if err != nil {
		return nil, &RequestError{StatusCode: http.StatusBadRequest, Reason: "malformed request", Err: err}
	}
	return req, nil
}

// CheckRequest checks a client's opening handshake as a server must
// (RFC 6455 §4.2.1) and returns its Sec-WebSocket-Key: a GET in HTTP/1.1
// or later, with a Host, an Upgrade field with the token "websocket" and
// a Connection field with the token "upgrade" (both without regard to
// case), exactly one Sec-WebSocket-Key that is the base64 encoding of 16
// bytes, and Sec-WebSocket-Version 13. Each failure is a [*RequestError]
// saying what is wrong and which status to answer.
func CheckRequest(req *http.Request) (key string, err error) {
	bad := func(code int, reason string) (string, error) {
		return "", &RequestError{StatusCode: code, Reason: reason}
	}
	h := req.Header
	switch {
	case req.Method != http.MethodGet:
		return bad(http.StatusMethodNotAllowed, "method is not GET")
	case req.ProtoMajor != 1 || req.ProtoMinor < 1:
		return bad(http.StatusBadRequest, "not HTTP/1.1")
	case req.Host == "":
		return bad(http.StatusBadRequest, "no Host")
	case !httpguts.HeaderValuesContainsToken(h["Upgrade"], "websocket"):
		return bad(http.StatusBadRequest, "Upgrade is not websocket")
	case !httpguts.HeaderValuesContainsToken(h["Connection"], "upgrade"):
		return bad(http.StatusBadRequest, "Connection lacks the upgrade token")
	case len(h["Sec-Websocket-Version"]) != 1 || strings.TrimSpace(h["Sec-Websocket-Version"][0]) != "13":
		return bad(http.StatusUpgradeRequired, "Sec-WebSocket-Version is not 13")
	}
	keys := h["Sec-Websocket-Key"]
	if len(keys) != 1 || !validKey(strings.TrimSpace(keys[0])) {
		return bad(http.StatusBadRequest, "Sec-WebSocket-Key is not base64 of 16 bytes")
	}
	return strings.TrimSpace(keys[0]), nil
}

// upgradeFields are the fields of a 101 response, in the order sent.
var upgradeFields = [...]string{"Upgrade", "Connection", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol"}

// AppendUpgrade appends to b the 101 Switching Protocols response that
// accepts a request with key (RFC 6455 §4.2.2): Upgrade, Connection,
// Sec-WebSocket-Accept ([AcceptKey] of key) and, when subprotocol is not
// empty, Sec-WebSocket-Protocol; then the fields of h in the order of
// their names, and the empty line. An entry of h named like one of those
// four fields (without regard to case) replaces it, so a test can send a
// wrong Sec-WebSocket-Accept. A name that is not a token, or a value with
// a CR, LF or other control byte, is refused with [ErrInvalidHeader].
func AppendUpgrade(b []byte, key, subprotocol string, h http.Header) ([]byte, error) {
	for name, vs := range h {
		if !httpguts.ValidHeaderFieldName(name) {
			return b, headerErr(name)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return b, headerErr(name)
			}
		}
	}
	if !httpguts.ValidHeaderFieldValue(subprotocol) {
		return b, headerErr("Sec-WebSocket-Protocol")
	}
	builtin := [len(upgradeFields)]string{"websocket", "Upgrade", AcceptKey(key), subprotocol}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	})
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\n"...)
	for i, name := range upgradeFields {
		replaced := false
		for _, k := range names {
			if strings.EqualFold(k, name) {
				replaced = true
				for _, v := range h[k] {
					b = appendField(b, k, v)
				}
			}
		}
		if !replaced && builtin[i] != "" {
			b = appendField(b, name, builtin[i])
		}
	}
	for _, k := range names {
		if !slices.ContainsFunc(upgradeFields[:], func(f string) bool { return strings.EqualFold(f, k) }) {
			for _, v := range h[k] {
				b = appendField(b, k, v)
			}
		}
	}
	return append(b, "\r\n"...), nil
}

// AppendRefusal appends to b the response refusing a request for the
// reason in err: the status of a [*RequestError] (400 for any other
// error), "Sec-WebSocket-Version: 13" with a 426 (RFC 6455 §4.4), and the
// error's text as a plain-text body.
func AppendRefusal(b []byte, err error) []byte {
	code := http.StatusBadRequest
	var re *RequestError
	if errors.As(err, &re) {
		code = re.StatusCode
	}
	body := err.Error()
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(code)...)
	b = append(b, "\r\n"...)
	if code == http.StatusUpgradeRequired {
		b = appendField(b, "Sec-WebSocket-Version", "13")
	}
	b = appendField(b, "Content-Type", "text/plain; charset=utf-8")
	b = appendField(b, "Content-Length", strconv.Itoa(len(body)))
	b = appendField(b, "Connection", "close")
	b = append(b, "\r\n"...)
	return append(b, body...)
}
