package handshake

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// ConnectProtocol is the value of the :protocol pseudo-header field of an
// extended CONNECT that opens a WebSocket over HTTP/2 (RFC 8441 §4).
const ConnectProtocol = "websocket"

// Authority returns the :authority of the request sent as an extended
// CONNECT (RFC 8441 §5): Host if set, else the URL's host, with the port
// unless it is the scheme's default, as the Host field of [Request.AppendBinary].
func (r *Request) Authority() string {
	if r.Host != "" {
		return r.Host
	}
	return string(appendHostPort(nil, r.URL))
}

// ConnectHeader returns the regular header fields of the request sent as an
// extended CONNECT over HTTP/2 (RFC 8441 §5): Origin,
// Sec-WebSocket-Version, Sec-WebSocket-Protocol, Sec-WebSocket-Extensions,
// the Header fields and Cookie, with names in lower case as HTTP/2 sends
// them. The pseudo-header fields (:method CONNECT, :protocol
// [ConnectProtocol], :scheme, :path and :authority, see
// [Request.Authority]) are the HTTP/2 layer's to send. HTTP/2 has no
// Upgrade, Connection or Host fields and RFC 8441 no Sec-WebSocket-Key:
// they are not sent, and Header entries replacing them are ignored.
// Header entries replacing the other fields do so as in
// [Request.AppendBinary].
//
// It fails with [ErrInvalidHeader] for a name or value that could not be
// sent, and with a [*URLError] for an unusable URL.
func (r *Request) ConnectHeader() (http.Header, error) {
	if err := r.CheckConnect(); err != nil {
		return nil, err
	}
	h := make(http.Header, 4+len(r.Header))
	add := func(name, v string) error {
		if !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(v) {
			return headerErr(name)
		}
		k := strings.ToLower(name)
		h[k] = append(h[k], v)
		return nil
	}
	for name, vs := range r.Header {
		switch slotOf(name) {
		case slotUpgrade, slotHost, slotKey, slotConnection:
			continue
		}
		for _, v := range vs {
			if err := add(name, v); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range [...]int{slotOrigin, slotVersion, slotProtocol, slotExtensions, slotCookie} {
		if _, ok := r.override(s); ok {
			continue
		}
		v, err := r.connectValue(s)
		if err != nil {
			return nil, err
		}
		if v != "" {
			if err := add(slotNames[s], v); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

// CheckConnect reports the error [Request.ConnectHeader] would return for
// r, with nothing built: [Request.Check] for the extended CONNECT, whose
// Header entries replacing Upgrade, Host, Connection and
// Sec-WebSocket-Key are ignored, and whose Host is the :authority.
func (r *Request) CheckConnect() error {
	if err := r.checkURL(); err != nil {
		return err
	}
	for _, s := range [...]int{slotOrigin, slotVersion} {
		if err := r.checkSingle(s); err != nil {
			return err
		}
	}
	if err := r.checkSlot(slotHost); err != nil {
		return err // the :authority (RFC 9113 §8.3.1)
	}
	var overridden [numSlots]bool
	for name, vs := range r.Header {
		s := slotOf(name)
		switch s {
		case slotUpgrade, slotHost, slotKey, slotConnection:
			continue
		}
		if s >= 0 {
			overridden[s] = true
		}
		if !httpguts.ValidHeaderFieldName(name) {
			return headerErr(name)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return headerErr(name)
			}
		}
	}
	for _, s := range [...]int{slotOrigin, slotProtocol, slotExtensions, slotCookie} {
		if !overridden[s] {
			if err := r.checkSlot(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// connectValue is the value of the built-in field s of an extended
// CONNECT, or "" when it is not sent. The value is what
// [Request.AppendBinary] sends in field s.
func (r *Request) connectValue(s int) (string, error) {
	line, err := r.appendSlot(nil, s)
	if err != nil || len(line) == 0 {
		return "", err
	}
	_, v, _ := strings.Cut(strings.TrimSuffix(string(line), "\r\n"), ": ")
	return v, nil
}

// CheckConnectResponse validates the answer to req sent as an extended
// CONNECT over HTTP/2 (RFC 8441 §5): code and header are the response's
// status and fields, body its body, read for a refusal only.
//
// A 2xx status accepts the WebSocket; there is no Sec-WebSocket-Accept to
// check, and a Sec-WebSocket-Protocol or Sec-WebSocket-Extensions is
// checked as [ReadResponse] checks them ([ErrBadSubprotocol],
// [*ExtensionError]). A redirect gives a [*RedirectError] as in
// ReadResponse, and any other status a [*StatusError] holding at most
// req.MaxBodyBytes of body, read no further than its Content-Length.
func CheckConnectResponse(code int, header http.Header, body io.Reader, req *Request) (*Response, error) {
	switch {
	case code >= 200 && code < 300:
		resp := &Response{StatusCode: code, Status: http.StatusText(code), Header: header}
		if err := negotiated(resp, header["Sec-Websocket-Protocol"], header["Sec-Websocket-Extensions"], req); err != nil {
			return nil, err
		}
		return resp, nil
	case isRedirect(code):
		return nil, redirect(head{code: code, reason: http.StatusText(code), header: header}, req)
	}
	se := &StatusError{StatusCode: code, Status: http.StatusText(code), Header: header}
	limit := req.MaxBodyBytes
	if limit == 0 {
		limit = DefaultMaxBodyBytes
	}
	n := int64(limit)
	if cl := header["Content-Length"]; len(cl) == 1 {
		// Read no further than the body's length: a server that leaves
		// the stream open after it would hold the read until the dial's
		// deadline.
		if v, err := strconv.ParseInt(strings.TrimSpace(cl[0]), 10, 64); err == nil && v >= 0 {
			n = min(n, v)
		}
	}
	if limit > 0 && n > 0 && body != nil {
		// A read error ends the body: the status is what matters.
		se.Body, _ = io.ReadAll(io.LimitReader(body, n))
	}
	return nil, se
}
