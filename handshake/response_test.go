package handshake_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/framewire/ws/handshake"
)

func bufioString(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

const sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

func sampleRequest(t testing.TB) *handshake.Request {
	return &handshake.Request{
		URL:          mustURL(t, "ws://example.com/chat"),
		Key:          sampleKey,
		Subprotocols: []string{"chat", "Super.Chat"},
		Extensions:   []string{"permessage-deflate; client_max_window_bits"},
	}
}

// ok101 is a valid answer to sampleRequest, with extra fields.
func ok101(extra ...string) string {
	lines := append([]string{
		"HTTP/1.1 101 Switching Protocols",
		"Upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Accept: " + sampleAccept,
	}, extra...)
	return crlf(lines...)
}

func TestReadResponseValid(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		protocol string
		exts     []string
	}{
		{name: "RFC 6455 §1.3", in: ok101()},
		{name: "LF only", in: strings.ReplaceAll(ok101(), "\r\n", "\n")},
		{name: "token lists and case (Upgrade: one token, RFC 6455 §4.1)", in: crlf(
			"HTTP/1.1 101 Switching Protocols",
			"upgrade: WebSocket, ",
			"CONNECTION: keep-alive,  UPGRADE",
			"sec-websocket-accept:   "+sampleAccept+"  ")},
		{name: "HTTP/1.2 read as 1.1", in: strings.Replace(ok101(), "HTTP/1.1", "HTTP/1.2", 1)},
		{name: "no reason phrase", in: crlf("HTTP/1.1 101", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: "+sampleAccept)},
		{name: "interim 103 skipped", in: crlf("HTTP/1.1 103 Early Hints", "Link: </a>") + ok101()},
		{name: "subprotocol as offered", in: ok101("Sec-WebSocket-Protocol: Super.Chat"), protocol: "Super.Chat"},
		{name: "empty subprotocol is none", in: ok101("Sec-WebSocket-Protocol:")},
		{name: "extension", in: ok101("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover"),
			exts: []string{"permessage-deflate; server_no_context_takeover"}},
		{name: "extension case-insensitive name, quoted comma", in: ok101(`Sec-WebSocket-Extensions: Permessage-Deflate; x="a,b"`),
			exts: []string{`Permessage-Deflate; x="a,b"`}},
		{name: "folded field", in: ok101("X-Long: a", " b", "\tc")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufioString(tt.in + "\x81\x02hi")
			resp, err := handshake.ReadResponse(br, sampleRequest(t))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 101 || resp.Subprotocol != tt.protocol || !equalStrings(resp.Extensions, tt.exts) {
				t.Errorf("got %+v", resp)
			}
			// The frame after the headers is still in br.
			rest, _ := io.ReadAll(br)
			if string(rest) != "\x81\x02hi" {
				t.Errorf("bytes after the header: %q", rest)
			}
			checkFields(t, tt.in, resp, nil)
		})
	}
	resp, _ := handshake.ReadResponse(bufioString(ok101("X-Long: a", " b", "\tc")), sampleRequest(t))
	if got := resp.Header.Get("X-Long"); got != "a b c" {
		t.Errorf("folded value = %q", got)
	}
	if resp.Status != "Switching Protocols" {
		t.Errorf("Status = %q", resp.Status)
	}
}

// checkFields checks that ReadResponseFields reads in as ReadResponse
// did, with the answer want or the error wantErr: the same Response but
// its Header, which is nil, the fields of that Header, and the same error.
func checkFields(t *testing.T, in string, want *handshake.Response, wantErr error) {
	t.Helper()
	var resp handshake.Response
	fields, err := handshake.ReadResponseFields(bufioString(in), sampleRequest(t), &resp)
	if wantErr != nil {
		if err == nil || err.Error() != wantErr.Error() {
			t.Errorf("ReadResponseFields: err = %v; want %v", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("ReadResponseFields: %v", err)
	}
	if resp.Header != nil || resp.StatusCode != want.StatusCode || resp.Status != want.Status ||
		resp.Subprotocol != want.Subprotocol || !equalStrings(resp.Extensions, want.Extensions) {
		t.Errorf("ReadResponseFields: %+v; want %+v without its Header", resp, *want)
	}
	h := http.Header{}
	for i := 0; i+1 < len(fields); i += 2 {
		h[fields[i]] = append(h[fields[i]], fields[i+1])
	}
	if len(fields)%2 != 0 || !reflect.DeepEqual(h, want.Header) {
		t.Errorf("ReadResponseFields: fields %q; want those of %v", fields, want.Header)
	}
}

// ReadResponseFields keeps the fields in the order received, names in
// canonical form, and allocates twice for an answer whose field names are
// the usual ones: the text of its head and the list.
func TestReadResponseFields(t *testing.T) {
	in := crlf("HTTP/1.1 101 Switching Protocols", "upgrade: websocket", "Connection: Upgrade",
		"Sec-WebSocket-Accept: "+sampleAccept, "x-a: 1", "X-A: 2")
	req := sampleRequest(t)
	var resp handshake.Response
	fields, err := handshake.ReadResponseFields(bufioString(in), req, &resp)
	want := []string{"Upgrade", "websocket", "Connection", "Upgrade", "Sec-Websocket-Accept", sampleAccept, "X-A", "1", "X-A", "2"}
	if err != nil || !equalStrings(fields, want) {
		t.Fatalf("ReadResponseFields = %q, %v; want %q", fields, err, want)
	}
	if raceEnabled {
		return
	}
	in = ok101()
	br := bufioString(in)
	sr := strings.NewReader(in)
	n := testing.AllocsPerRun(100, func() {
		sr.Reset(in)
		br.Reset(sr)
		handshake.ReadResponseFields(br, req, &resp)
	})
	if n != 2 {
		t.Errorf("ReadResponseFields: %v allocations, want 2", n)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadResponseInvalid(t *testing.T) {
	status := "HTTP/1.1 101 Switching Protocols"
	up, conn, acc := "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: "+sampleAccept
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"missing Upgrade", crlf(status, conn, acc), handshake.ErrBadUpgrade},
		{"wrong Upgrade", crlf(status, "Upgrade: h2c", conn, acc), handshake.ErrBadUpgrade},
		{"Upgrade websockets", crlf(status, "Upgrade: websockets", conn, acc), handshake.ErrBadUpgrade},
		// RFC 6455 §4.1: the value is "websocket", not a list holding it.
		{"Upgrade list", crlf(status, "Upgrade: h2c, websocket", conn, acc), handshake.ErrBadUpgrade},
		{"Upgrade twice", crlf(status, up, "Upgrade: WebSocket", conn, acc), handshake.ErrBadUpgrade},
		{"Upgrade empty", crlf(status, "Upgrade: ,", conn, acc), handshake.ErrBadUpgrade},
		{"missing Connection", crlf(status, up, acc), handshake.ErrBadConnection},
		{"wrong Connection", crlf(status, up, "Connection: keep-alive", acc), handshake.ErrBadConnection},
		{"missing Accept", crlf(status, up, conn), handshake.ErrBadAccept},
		{"wrong Accept", crlf(status, up, conn, "Sec-WebSocket-Accept: xxx"), handshake.ErrBadAccept},
		// websocket-client compares case-insensitively; RFC 6455 does not.
		{"Accept in lower case", crlf(status, up, conn, "Sec-WebSocket-Accept: "+strings.ToLower(sampleAccept)), handshake.ErrBadAccept},
		{"two Accept fields", crlf(status, up, conn, acc, acc), handshake.ErrBadAccept},
		{"subprotocol not offered", ok101("Sec-WebSocket-Protocol: other"), handshake.ErrBadSubprotocol},
		{"subprotocol in other case", ok101("Sec-WebSocket-Protocol: super.chat"), handshake.ErrBadSubprotocol},
		{"two subprotocols", ok101("Sec-WebSocket-Protocol: chat, Super.Chat"), handshake.ErrBadSubprotocol},
		{"two subprotocol fields", ok101("Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: chat"), handshake.ErrBadSubprotocol},
		{"extension not offered", ok101("Sec-WebSocket-Extensions: x-webkit-deflate-frame"), handshake.ErrBadExtension},
		{"extension twice", ok101("Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate"), handshake.ErrBadExtension},
		{"HTTP/1.0 101", crlf("HTTP/1.0 101 Switching Protocols", up, conn, acc), handshake.ErrBadVersion},
		{"bad status line", crlf("HTTP/2 101 Switching Protocols", up, conn, acc), handshake.ErrMalformedResponse},
		{"not HTTP", crlf("SSH-2.0-OpenSSH_9.6"), handshake.ErrMalformedResponse},
		{"status not 3 digits", crlf("HTTP/1.1 1010 x"), handshake.ErrMalformedResponse},
		{"status below 100", crlf("HTTP/1.1 099 x"), handshake.ErrMalformedResponse},
		{"line without colon", crlf(status, up, "Connection Upgrade", acc), handshake.ErrMalformedResponse},
		{"space before colon", crlf(status, "Upgrade : websocket", conn, acc), handshake.ErrMalformedResponse},
		{"bare CR in value", crlf(status, "X: a\rb", up, conn, acc), handshake.ErrMalformedResponse},
		{"NUL in value", crlf(status, "X: a\x00b", up, conn, acc), handshake.ErrMalformedResponse},
		{"fold before any field", crlf(status, " a", up, conn, acc), handshake.ErrMalformedResponse},
		{"empty", "", io.ErrUnexpectedEOF},
		{"truncated headers", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n", io.ErrUnexpectedEOF},
		{"too large", "HTTP/1.1 101 OK\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("a", 100)+"\r\n", 200) + "\r\n", handshake.ErrHeaderTooLarge},
		{"one huge line", "HTTP/1.1 101 OK\r\nX: " + strings.Repeat("a", 20000) + "\r\n\r\n", handshake.ErrHeaderTooLarge},
		{"endless interim responses", strings.Repeat(crlf("HTTP/1.1 100 Continue"), 2000), handshake.ErrHeaderTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := handshake.ReadResponse(bufioString(tt.in), sampleRequest(t))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v; want %v", err, tt.want)
			}
			checkFields(t, tt.in, nil, err)
			validation := []error{handshake.ErrBadVersion, handshake.ErrBadUpgrade, handshake.ErrBadConnection, handshake.ErrBadAccept, handshake.ErrBadSubprotocol, handshake.ErrBadExtension}
			for _, v := range validation {
				if v == tt.want && !errors.Is(err, handshake.ErrHandshake) {
					t.Errorf("%v does not wrap ErrHandshake", err)
				}
			}
		})
	}
}

func TestReadResponseNotOffered(t *testing.T) {
	// RFC 6455 §4.1: a subprotocol or extension the client did not offer
	// fails the connection (websocket-client ignores both).
	req := &handshake.Request{URL: mustURL(t, "ws://h/"), Key: sampleKey}
	for in, want := range map[string]error{
		ok101("Sec-WebSocket-Protocol: chat"):                 handshake.ErrBadSubprotocol,
		ok101("Sec-WebSocket-Extensions: permessage-deflate"): handshake.ErrBadExtension,
		ok101("Sec-WebSocket-Extensions: , "):                 nil,
		ok101():                                               nil,
	} {
		_, err := handshake.ReadResponse(bufioString(in), req)
		if !errors.Is(err, want) || (want == nil && err != nil) {
			t.Errorf("%q: err = %v; want %v", in, err, want)
		}
	}
}

func TestReadResponseOverriddenKey(t *testing.T) {
	// The accept value is checked against the key actually sent.
	req := &handshake.Request{
		URL:    mustURL(t, "ws://h/"),
		Header: http.Header{"Sec-WebSocket-Key": {sampleKey}},
		Key:    "AAAAAAAAAAAAAAAAAAAAAA==",
	}
	if _, err := handshake.ReadResponse(bufioString(ok101()), req); err != nil {
		t.Fatal(err)
	}
	req.Header = http.Header{"Sec-WebSocket-Protocol": {"a, b"}}
	req.Key = sampleKey
	resp, err := handshake.ReadResponse(bufioString(ok101("Sec-WebSocket-Protocol: b")), req)
	if err != nil || resp.Subprotocol != "b" {
		t.Fatalf("override of offered subprotocols: %+v, %v", resp, err)
	}
}

func TestReadResponseMaxHeaderBytes(t *testing.T) {
	in := ok101()
	req := sampleRequest(t)
	req.MaxHeaderBytes = len(in)
	if _, err := handshake.ReadResponse(bufioString(in), req); err != nil {
		t.Errorf("exactly at the limit: %v", err)
	}
	req.MaxHeaderBytes = len(in) - 1
	if _, err := handshake.ReadResponse(bufioString(in), req); !errors.Is(err, handshake.ErrHeaderTooLarge) {
		t.Errorf("one byte over: %v", err)
	}
	// A small bufio buffer does not change the limit.
	req.MaxHeaderBytes = 0
	big := ok101("X-Big: " + strings.Repeat("b", 8000))
	if _, err := handshake.ReadResponse(bufio.NewReaderSize(strings.NewReader(big), 16), req); err != nil {
		t.Errorf("long line through a 16-byte buffer: %v", err)
	}
	// One byte at a time.
	if _, err := handshake.ReadResponse(bufio.NewReader(iotest.OneByteReader(strings.NewReader(ok101()))), req); err != nil {
		t.Errorf("one byte at a time: %v", err)
	}
}

func TestReadResponseStatusError(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		limit  int
		code   int
		status string
		body   string
	}{
		// websocket-client's "Handshake status 403 Forbidden ... b'nope!'"
		{name: "content-length", in: "HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!trailing", code: 403, status: "Forbidden", body: "nope!"},
		{name: "content-length bounded", in: "HTTP/1.1 500 Oops\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("x", 100000), code: 500, status: "Oops", body: strings.Repeat("x", handshake.DefaultMaxBodyBytes)},
		{name: "custom bound", in: "HTTP/1.1 500 Oops\r\nContent-Length: 10\r\n\r\n0123456789", limit: 4, code: 500, status: "Oops", body: "0123"},
		{name: "body not read", in: "HTTP/1.1 500 Oops\r\nContent-Length: 10\r\n\r\n0123456789", limit: -1, code: 500, status: "Oops"},
		{name: "chunked", in: "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", code: 400, status: "Bad Request", body: "abcde"},
		{name: "until EOF", in: "HTTP/1.0 404 Not Found\r\n\r\nmissing", code: 404, status: "Not Found", body: "missing"},
		{name: "truncated content-length", in: "HTTP/1.1 403 Forbidden\r\nContent-Length: 50\r\n\r\nshort", code: 403, status: "Forbidden", body: "short"},
		{name: "lying declared length", in: "HTTP/1.1 403 Forbidden\r\nContent-Length: 9223372036854775807\r\n\r\nab", code: 403, status: "Forbidden", body: "ab"},
		{name: "bad content-length", in: "HTTP/1.1 403 Forbidden\r\nContent-Length: -1\r\n\r\nab", code: 403, status: "Forbidden"},
		{name: "204 has no body", in: "HTTP/1.1 204 No Content\r\n\r\nxx", code: 204, status: "No Content"},
		{name: "200 OK", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", code: 200, status: "OK", body: "hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := sampleRequest(t)
			req.MaxBodyBytes = tt.limit
			_, err := handshake.ReadResponse(bufioString(tt.in), req)
			var se *handshake.StatusError
			if !errors.As(err, &se) || !errors.Is(err, handshake.ErrBadStatus) {
				t.Fatalf("err = %v; want *StatusError", err)
			}
			if se.StatusCode != tt.code || se.Status != tt.status || string(se.Body) != tt.body {
				t.Errorf("got %d %q body %d bytes %.20q", se.StatusCode, se.Status, len(se.Body), se.Body)
			}
		})
	}
	_, err := handshake.ReadResponse(bufioString("HTTP/1.1 403 Forbidden\r\nX-Why: no\r\n\r\n"), sampleRequest(t))
	var se *handshake.StatusError
	if !errors.As(err, &se) || se.Header.Get("X-Why") != "no" || err.Error() != "handshake: server answered 403 Forbidden, not a WebSocket upgrade" {
		t.Errorf("err = %v", err)
	}
}

func TestReadResponseRedirect(t *testing.T) {
	tests := []struct {
		base, loc string
		code      int
		want      string
		sameHost  bool
	}{
		{"ws://h/a/b", "/c", 301, "ws://h/c", true},
		{"ws://h/a/b", "c?x=1", 302, "ws://h/a/c?x=1", true},
		{"ws://h/a/b", "../d", 303, "ws://h/d", true},
		{"wss://h:8443/a", "/b", 307, "wss://h:8443/b", true},
		{"ws://h/", "http://other/x", 308, "ws://other/x", false},
		{"ws://h/", "https://other/x", 301, "wss://other/x", false},
		{"ws://h/", "wss://h:9000/y", 302, "wss://h:9000/y", true},
		{"wss://h/", "//other:81/z", 302, "wss://other:81/z", false},
		{"ws://h/", "/p#frag", 302, "ws://h/p", true},
	}
	for _, tt := range tests {
		req := &handshake.Request{URL: mustURL(t, tt.base), Key: sampleKey}
		in := crlf("HTTP/1.1 "+itoa(tt.code)+" "+http.StatusText(tt.code), "Location: "+tt.loc, "Content-Length: 3") + "abc"
		_, err := handshake.ReadResponse(bufioString(in), req)
		var re *handshake.RedirectError
		if !errors.As(err, &re) || !errors.Is(err, handshake.ErrBadStatus) {
			t.Errorf("%s → %s: err = %v", tt.base, tt.loc, err)
			continue
		}
		if re.StatusCode != tt.code || re.Location.String() != tt.want || re.Header.Get("Location") != tt.loc {
			t.Errorf("%s → %s: got %d %s", tt.base, tt.loc, re.StatusCode, re.Location)
		}
		if got := handshake.SameHost(req.URL, re.Location); got != tt.sameHost {
			t.Errorf("%s → %s: SameHost = %v", tt.base, tt.loc, got)
		}
	}
	for _, loc := range []string{"", "ftp://h/", "http://", "ws://h:99999/", "%zz"} {
		in := "HTTP/1.1 302 Found\r\nLocation: " + loc + "\r\n\r\n"
		if loc == "" {
			in = "HTTP/1.1 302 Found\r\n\r\n"
		}
		_, err := handshake.ReadResponse(bufioString(in), sampleRequest(t))
		var se *handshake.StatusError
		if !errors.Is(err, handshake.ErrBadRedirect) || !errors.As(err, &se) || se.StatusCode != 302 {
			t.Errorf("Location %q: err = %v", loc, err)
		}
	}
}

func itoa(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

// chunkReader returns one chunk per Read; past the last one it records the
// call and fails, standing for a server that keeps the connection open.
type chunkReader struct {
	chunks  []string
	blocked bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		r.blocked = true
		return 0, errors.New("read past what the server sent")
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	if r.chunks[0] == "" {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

// An unframed body is read to the end of the stream only when the server
// said it will close; otherwise only what came with the header is kept, and
// the stream is not read again (a keep-alive server would make it wait).
func TestReadResponseUnframedBody(t *testing.T) {
	tests := []struct {
		name    string
		chunks  []string
		body    string
		readEOF bool
	}{
		{"keep-alive", []string{"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nno", "pe"}, "no", false},
		{"connection close", []string{"HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\nno", "pe"}, "nope", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &chunkReader{chunks: tt.chunks}
			_, err := handshake.ReadResponse(bufio.NewReader(r), sampleRequest(t))
			var se *handshake.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v; want *StatusError", err)
			}
			if se.StatusCode != 403 || string(se.Body) != tt.body {
				t.Errorf("got %d with body %q; want 403 with body %q", se.StatusCode, se.Body, tt.body)
			}
			if r.blocked != tt.readEOF {
				t.Errorf("read past the data = %v, want %v", r.blocked, tt.readEOF)
			}
		})
	}
}

// StatusError.Response is the refusal in net/http's form, with its own
// header and a body that reads the bounded copy.
func TestStatusErrorResponse(t *testing.T) {
	tests := []struct {
		se         handshake.StatusError
		wantStatus string
	}{
		{handshake.StatusError{StatusCode: 503, Status: "Service Unavailable", Header: http.Header{"Retry-After": {"7"}}, Body: []byte("busy")}, "503 Service Unavailable"},
		{handshake.StatusError{StatusCode: 418}, "418"},
	}
	for _, tt := range tests {
		resp := tt.se.Response()
		body, err := io.ReadAll(resp.Body)
		if err != nil || string(body) != string(tt.se.Body) || resp.ContentLength != int64(len(tt.se.Body)) {
			t.Errorf("%d: body %q (%d), %v; want %q", tt.se.StatusCode, body, resp.ContentLength, err, tt.se.Body)
		}
		if resp.StatusCode != tt.se.StatusCode || resp.Status != tt.wantStatus || resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
			t.Errorf("%d: status %d %q %s", tt.se.StatusCode, resp.StatusCode, resp.Status, resp.Proto)
		}
		if tt.se.Header != nil {
			resp.Header.Set("Retry-After", "0")
			if tt.se.Header.Get("Retry-After") != "7" {
				t.Errorf("the response's header is the error's own")
			}
		}
	}
}
