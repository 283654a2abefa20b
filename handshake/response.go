package handshake

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Response is the server's accepted opening handshake (RFC 6455 §4.2.2):
// websocket-client's handshake_response (status, headers, subprotocol).
type Response struct {
	StatusCode int    // always 101
	Status     string // reason phrase, e.g. "Switching Protocols"
	Header     http.Header

	// Subprotocol is the subprotocol the server selected, spelled as
	// offered, or "" if it selected none.
	Subprotocol string

	// Extensions are the elements of the Sec-WebSocket-Extensions
	// header, each with its parameters ("permessage-deflate;
	// server_no_context_takeover"), in the server's order.
	Extensions []string
}

// ReadResponse reads the server's answer to req from br and validates it
// (RFC 6455 §4.1, client requirements 1-6).
//
// It reads only the status line and the header fields, at most
// req.MaxHeaderBytes of them ([ErrHeaderTooLarge] beyond). Any byte after
// the empty line that ends them stays in br: the caller keeps br to read the
// frames that follow. Lines may end with CRLF or a bare LF; an obsolete
// folded line is joined to the field before it with a space. Interim 1xx
// responses other than 101 are skipped. ReadResponse sets no deadline: the
// caller bounds the time with one on the connection under br.
//
// A 101 response must be HTTP/1.1 or a later HTTP/1 minor version, read
// as 1.1 (RFC 6455 §4.1 and RFC 9110 §2.5; [ErrBadVersion]: an HTTP/1.0
// server cannot switch protocols). Its Upgrade field must be "websocket"
// and nothing else (RFC 6455 §4.1; a list such as "h2c, websocket" is
// refused, where websocket-client accepts any list holding the token:
// [ErrBadUpgrade]), its Connection field must hold the token "upgrade"
// ([ErrBadConnection]), both without regard to case, and exactly
// one Sec-WebSocket-Accept equal, case included, to [AcceptKey] of the key
// sent ([ErrBadAccept]). A Sec-WebSocket-Protocol must name one offered
// subprotocol, case included ([ErrBadSubprotocol]); the server may leave it
// out. Each Sec-WebSocket-Extensions element must name an offered extension,
// at most once ([*ExtensionError]); [ParseDeflateAnswer] checks the
// parameters of permessage-deflate.
//
// A redirect (301, 302, 303, 307, 308) gives a [*RedirectError] whose
// Location is resolved against req.URL; a missing or unusable Location
// gives [ErrBadRedirect]. Any other status gives a [*StatusError] holding at
// most req.MaxBodyBytes of the body (framed by Content-Length, chunked
// encoding or, with "Connection: close", the end of the stream; an unframed
// body without it is what arrived with the header section, as the server may
// keep the connection open). A status line or field that is not
// HTTP/1.1 gives [ErrMalformedResponse]. Read errors are returned wrapped;
// an early end of stream is [io.ErrUnexpectedEOF].
func ReadResponse(br *bufio.Reader, req *Request) (*Response, error) {
	resp := &Response{}
	fields, err := readResponse(br, req, resp)
	if err != nil {
		return nil, err
	}
	resp.Header = headerOf(fields)
	return resp, nil
}

// ReadResponseFields is [ReadResponse] for a caller that keeps the header
// as a list: it fills resp, whose Header it leaves nil, and returns the
// header fields in the order received, each as a name in canonical form
// followed by its value. It allocates less than ReadResponse: the strings
// share one allocation, and there is no map. Errors are ReadResponse's;
// after one, resp holds nothing of use.
func ReadResponseFields(br *bufio.Reader, req *Request, resp *Response) ([]string, error) {
	*resp = Response{}
	return readResponse(br, req, resp)
}

// readResponse is ReadResponse, filling resp but its Header and returning
// the header fields as ReadResponseFields does.
func readResponse(br *bufio.Reader, req *Request, resp *Response) ([]string, error) {
	maxHeader := req.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = DefaultMaxHeaderBytes
	}
	h, err := readHead(br, maxHeader, true)
	if err != nil {
		return nil, err
	}
	switch code := h.code; {
	case code == http.StatusSwitchingProtocols:
		if h.minor < 1 {
			return nil, fmt.Errorf("%w (got HTTP/1.%d)", ErrBadVersion, h.minor)
		}
		return h.fields, validate(h, req, resp)
	case isRedirect(code):
		h.header = headerOf(h.fields)
		return nil, redirect(h, req)
	default:
		h.header = headerOf(h.fields)
		se := &StatusError{StatusCode: code, Status: h.reason, Header: h.header}
		se.Body = readBody(br, h, req.MaxBodyBytes)
		return nil, se
	}
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// head is a parsed status line and header section.
type head struct {
	minor  int // HTTP/1.minor
	code   int
	reason string
	fields []string    // name, value, name, value...; names canonical
	header http.Header // the fields as a map, where one is needed
}

// get returns the values of the field name, in canonical form.
func (h head) get(name string) []string {
	var vs []string
	for i := 0; i < len(h.fields); i += 2 {
		if h.fields[i] != name {
			continue
		}
		if vs == nil {
			vs = h.fields[i+1 : i+2 : i+2] // capped: appending copies
		} else {
			vs = append(vs, h.fields[i+1])
		}
	}
	return vs
}

// headerOf returns the header of fields, a list of names in canonical
// form each followed by its value.
func headerOf(fields []string) http.Header {
	h := make(http.Header, len(fields)/2)
	for i := 0; i < len(fields); i += 2 {
		name := fields[i]
		if vs, ok := h[name]; ok {
			h[name] = append(vs, fields[i+1])
		} else {
			// Capped, so that appending to it never writes over the
			// next field's value.
			h[name] = fields[i+1 : i+2 : i+2]
		}
	}
	return h
}

// field locates a header field in the text of a header section: its name
// starts at name and its value at value, and the value runs to the next
// field's name or the end of the text.
type field struct{ name, value int }

// readHead reads a status line and header fields through the empty line,
// consuming at most max bytes. With skipInterim, 1xx responses other than
// 101 are read and dropped, within the same byte budget.
//
// The reason phrase, names and values are gathered into one text that
// becomes one string; the head's strings are slices of it.
func readHead(br *bufio.Reader, max int, skipInterim bool) (head, error) {
	budget := max
	var scratch []byte
	var textArr [1024]byte
	var fieldArr [16]field
	for {
		line, err := readLine(br, &budget, &scratch)
		if err != nil {
			return head{}, err
		}
		minor, code, reason, ok := parseStatusLine(line)
		if !ok {
			return head{}, malformed("status line", line)
		}
		text := append(textArr[:0], reason...)
		fields, text, err := readFields(br, &budget, &scratch, fieldArr[:0], text)
		if err != nil {
			return head{}, err
		}
		if skipInterim && code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
			continue
		}
		return newHead(minor, code, len(reason), fields, text), nil
	}
}

// newHead builds the head whose reason phrase is text[:nreason], and
// whose fields are located in text by fields.
func newHead(minor, code, nreason int, fields []field, text []byte) head {
	s := string(text)
	h := head{minor: minor, code: code, reason: s[:nreason], fields: make([]string, 2*len(fields))}
	for i, f := range fields {
		end := len(s)
		if i+1 < len(fields) {
			end = fields[i+1].name
		}
		h.fields[2*i] = canonicalKey(s[f.name:f.value])
		h.fields[2*i+1] = s[f.value:end]
	}
	return h
}

// knownKeys are canonical names of fields a handshake answer usually has,
// spelled as textproto.CanonicalMIMEHeaderKey spells them.
var knownKeys = [...]string{
	"Upgrade",
	"Connection",
	"Sec-Websocket-Accept",
	"Sec-Websocket-Protocol",
	"Sec-Websocket-Extensions",
	"Date",
	"Server",
	"Content-Length",
	"Content-Type",
	"Set-Cookie",
	"Location",
	"Transfer-Encoding",
}

// canonicalKey is textproto.CanonicalMIMEHeaderKey for a valid field name,
// without allocating for the names in knownKeys.
func canonicalKey(name string) string {
	for _, k := range knownKeys {
		// name is an ASCII token, so EqualFold is ASCII case folding.
		if len(k) == len(name) && strings.EqualFold(k, name) {
			return k
		}
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// readLine returns the next line without its CRLF or LF, charging its
// length to budget. The line may alias br's buffer or scratch.
func readLine(br *bufio.Reader, budget *int, scratch *[]byte) ([]byte, error) {
	*scratch = (*scratch)[:0]
	for {
		frag, err := br.ReadSlice('\n')
		*budget -= len(frag)
		if *budget < 0 {
			return nil, ErrHeaderTooLarge
		}
		switch {
		case err == nil:
			line := frag
			if len(*scratch) > 0 {
				*scratch = append(*scratch, frag...)
				line = *scratch
			}
			line = line[:len(line)-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			*scratch = append(*scratch, frag...)
		case errors.Is(err, io.EOF):
			return nil, fmt.Errorf("handshake: reading header: %w", io.ErrUnexpectedEOF)
		default:
			return nil, fmt.Errorf("handshake: reading header: %w", err)
		}
	}
}

// parseStatusLine parses "HTTP/1.x DDD reason" into x, DDD and reason,
// which aliases line.
func parseStatusLine(line []byte) (int, int, []byte, bool) {
	const prefix = "HTTP/1."
	if len(line) < len(prefix)+5 || string(line[:len(prefix)]) != prefix {
		return 0, 0, nil, false
	}
	rest := line[len(prefix):]
	if rest[0] < '0' || rest[0] > '9' || rest[1] != ' ' {
		return 0, 0, nil, false
	}
	minor := int(rest[0] - '0')
	rest = rest[2:]
	if len(rest) < 3 || (len(rest) > 3 && rest[3] != ' ') {
		return 0, 0, nil, false
	}
	code := 0
	for _, c := range rest[:3] {
		if c < '0' || c > '9' {
			return 0, 0, nil, false
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return 0, 0, nil, false
	}
	var reason []byte
	if len(rest) > 3 {
		reason = rest[4:]
		if !validValue(reason) {
			return 0, 0, nil, false
		}
	}
	return minor, code, reason, true
}

// readFields reads header fields up to and including the empty line,
// appending each name and value to text and its place to fields.
func readFields(br *bufio.Reader, budget *int, scratch *[]byte, fields []field, text []byte) ([]field, []byte, error) {
	for {
		line, err := readLine(br, budget, scratch)
		if err != nil {
			return fields, text, err
		}
		if len(line) == 0 {
			return fields, text, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			// obs-fold (RFC 9112 §5.2): a user agent replaces it with SP.
			v := trimOWS(line)
			if len(fields) == 0 || !validValue(v) {
				return fields, text, malformed("folded field", line)
			}
			if len(v) > 0 {
				// The previous field's value ends the text.
				at := fields[len(fields)-1].value
				text = append(text, ' ')
				text = append(text, v...)
				n := copy(text[at:], bytes.TrimSpace(text[at:]))
				text = text[:at+n]
			}
			continue
		}
		i := indexByte(line, ':')
		if i <= 0 {
			return fields, text, malformed("field", line)
		}
		name, value := line[:i], trimOWS(line[i+1:])
		if !validName(name) || !validValue(value) {
			return fields, text, malformed("field", line)
		}
		f := field{name: len(text)}
		text = append(text, name...)
		f.value = len(text)
		text = append(text, value...)
		fields = append(fields, f)
	}
}

// validName is httpguts.ValidHeaderFieldName for bytes: a token.
func validName(b []byte) bool {
	for _, c := range b {
		if !httpguts.IsTokenRune(rune(c)) {
			return false
		}
	}
	return len(b) > 0
}

// validValue is httpguts.ValidHeaderFieldValue for bytes: no control
// character but HTAB.
func validValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func malformed(what string, line []byte) error {
	if len(line) > 64 {
		line = line[:64]
	}
	return fmt.Errorf("%w: %s %q", ErrMalformedResponse, what, line)
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// onlyToken reports whether the comma-separated lists of the values vs
// hold exactly one element, token without regard to case; empty elements
// do not count (RFC 9110 §5.6.1).
func onlyToken(vs []string, token string) bool {
	n := 0
	for _, v := range vs {
		for e := range strings.SplitSeq(v, ",") {
			e = strings.Trim(e, " \t")
			switch {
			case e == "":
			case !strings.EqualFold(e, token):
				return false
			default:
				n++
			}
		}
	}
	return n == 1
}

// validate checks a 101 response against the request and fills in resp,
// but its Header.
func validate(h head, req *Request, resp *Response) error {
	if vs := h.get("Upgrade"); !onlyToken(vs, "websocket") {
		return detail(ErrBadUpgrade, vs)
	}
	if vs := h.get("Connection"); !httpguts.HeaderValuesContainsToken(vs, "upgrade") {
		return detail(ErrBadConnection, vs)
	}
	key, ok := req.sentKey()
	accept := h.get("Sec-Websocket-Accept")
	if !ok || len(accept) != 1 || !isAccept(accept[0], key) {
		return detail(ErrBadAccept, accept)
	}
	resp.StatusCode, resp.Status = h.code, h.reason
	return negotiated(resp, h.get("Sec-Websocket-Protocol"), h.get("Sec-Websocket-Extensions"), req)
}

// negotiated checks the subprotocol and extensions of an accepting answer,
// the values ps of its Sec-WebSocket-Protocol and es of its
// Sec-WebSocket-Extensions, against what req offered and records them in
// resp: the checks that apply over HTTP/1.1 and HTTP/2 alike.
func negotiated(resp *Response, ps, es []string, req *Request) error {
	if len(ps) > 0 {
		if len(ps) != 1 || strings.IndexByte(ps[0], ',') >= 0 {
			return detail(ErrBadSubprotocol, ps)
		}
		if p := ps[0]; p != "" {
			offered := req.offered(slotProtocol)
			i := indexString(offered, p)
			if i < 0 {
				return detail(ErrBadSubprotocol, ps)
			}
			resp.Subprotocol = offered[i]
		}
	}

	var exts []string
	for _, v := range es {
		exts = appendList(exts, v)
	}
	if len(exts) > 0 {
		offered := req.offered(slotExtensions)
		for i, e := range exts {
			name := extensionName(e)
			if !hasExtension(offered, name) {
				return &ExtensionError{Extension: name, Reason: "not offered"}
			}
			for _, prev := range exts[:i] {
				if strings.EqualFold(extensionName(prev), name) {
					return &ExtensionError{Extension: name, Reason: "answered twice"}
				}
			}
		}
		resp.Extensions = exts
	}
	return nil
}

// detail adds the offending header values, quoted and shortened, to err.
func detail(err error, vs []string) error {
	if len(vs) == 0 {
		return fmt.Errorf("%w (header missing)", err)
	}
	s := strings.Join(vs, ", ")
	if len(s) > 64 {
		s = s[:64]
	}
	return fmt.Errorf("%w (got %q)", err, s)
}

func indexString(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// extensionName returns the extension token of a list element.
func extensionName(e string) string {
	if i := strings.IndexByte(e, ';'); i >= 0 {
		e = e[:i]
	}
	return strings.TrimSpace(e)
}

func hasExtension(offered []string, name string) bool {
	for _, o := range offered {
		for _, e := range appendList(nil, o) {
			if strings.EqualFold(extensionName(e), name) {
				return true
			}
		}
	}
	return false
}

// redirect builds the error for a redirect response.
func redirect(h head, req *Request) error {
	se := &StatusError{StatusCode: h.code, Status: h.reason, Header: h.header}
	locs := h.header["Location"]
	if len(locs) != 1 || locs[0] == "" {
		return fmt.Errorf("%w (%d values): %w", ErrBadRedirect, len(locs), se)
	}
	loc, err := resolveLocation(req.URL, locs[0])
	if err != nil {
		return fmt.Errorf("%w %q: %w", ErrBadRedirect, locs[0], errors.Join(se, err))
	}
	return &RedirectError{StatusCode: h.code, Status: h.reason, Location: loc, Header: h.header}
}

// resolveLocation resolves a Location value against the request URL and
// turns the result into a WebSocket URL. A fragment is dropped.
func resolveLocation(base *url.URL, loc string) (*url.URL, error) {
	ref, err := url.Parse(loc)
	if err != nil {
		return nil, err
	}
	u := ref
	if base != nil {
		u = base.ResolveReference(ref)
	}
	u.Fragment, u.RawFragment = "", ""
	return ParseURL(u.String())
}

// readBody reads the body of a non-101 response, keeping at most limit
// bytes (0: DefaultMaxBodyBytes; negative: none). Errors end the read and
// are not reported: the status is what matters.
func readBody(br *bufio.Reader, h head, limit int) []byte {
	if limit == 0 {
		limit = DefaultMaxBodyBytes
	}
	if limit < 0 || h.code == http.StatusNoContent || h.code == http.StatusNotModified {
		return nil
	}
	var r io.Reader = br
	n := int64(limit)
	if te := h.header["Transfer-Encoding"]; len(te) > 0 {
		if httpguts.HeaderValuesContainsToken(te, "chunked") {
			// Bound the framing bytes too: chunk lines carry no body.
			r = httputil.NewChunkedReader(bufio.NewReader(io.LimitReader(br, 2*n+4096)))
		}
	} else if cl := h.header["Content-Length"]; len(cl) > 0 {
		v, err := strconv.ParseInt(strings.TrimSpace(cl[0]), 10, 64)
		if err != nil || v < 0 {
			return nil
		}
		n = min(n, v)
	} else if !httpguts.HeaderValuesContainsToken(h.header["Connection"], "close") {
		// No framing and no promise to close: a server that keeps the
		// connection open would make a read to the end of the stream
		// wait forever, so keep only the bytes already received.
		n = min(n, int64(br.Buffered()))
	}
	if n == 0 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(r, n))
	if len(body) == 0 {
		return nil
	}
	return body
}
