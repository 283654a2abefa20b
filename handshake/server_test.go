package handshake_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/framewire/ws/handshake"
)

// rfcRequest is the sample request of RFC 6455 §1.2, with extra lines.
func rfcRequest(extra ...string) string {
	return crlf(append([]string{
		"GET /chat HTTP/1.1",
		"Host: server.example.com",
		"Upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Key: " + sampleKey,
		"Origin: http://example.com",
		"Sec-WebSocket-Protocol: chat, superchat",
		"Sec-WebSocket-Version: 13",
	}, extra...)...)
}

func TestCheckRequest(t *testing.T) {
	tests := []struct {
		name string
		in   string // a request head; "%" marks the RFC sample with a line replaced
		code int    // 0: accepted
	}{
		{name: "RFC 6455 §1.2 sample", in: rfcRequest()},
		{name: "from Request.Write", in: writtenRequest(t)},
		{name: "tokens in lists, any case", in: crlf("GET / HTTP/1.1", "Host: h", "Upgrade: h2c, WebSocket", "Connection: keep-alive, UPGRADE", "Sec-WebSocket-Key: "+sampleKey, "Sec-WebSocket-Version: 13")},
		{name: "HTTP/1.2", in: strings.Replace(rfcRequest(), "HTTP/1.1", "HTTP/1.2", 1)},
		{name: "POST", in: strings.Replace(rfcRequest(), "GET", "POST", 1), code: 405},
		{name: "HTTP/1.0", in: strings.Replace(rfcRequest(), "HTTP/1.1", "HTTP/1.0", 1), code: 400},
		{name: "no Host", in: strings.Replace(rfcRequest(), "Host: server.example.com\r\n", "", 1), code: 400},
		{name: "Upgrade h2c", in: strings.Replace(rfcRequest(), "Upgrade: websocket", "Upgrade: h2c", 1), code: 400},
		{name: "no Upgrade", in: strings.Replace(rfcRequest(), "Upgrade: websocket\r\n", "", 1), code: 400},
		{name: "Connection keep-alive", in: strings.Replace(rfcRequest(), "Connection: Upgrade", "Connection: keep-alive", 1), code: 400},
		{name: "no key", in: strings.Replace(rfcRequest(), "Sec-WebSocket-Key: "+sampleKey+"\r\n", "", 1), code: 400},
		{name: "key of 15 bytes", in: strings.Replace(rfcRequest(), sampleKey, "dGhlIHNhbXBsZSBub25jZQ", 1), code: 400},
		{name: "key not base64", in: strings.Replace(rfcRequest(), sampleKey, "!!!!!!!!!!!!!!!!!!!!!!==", 1), code: 400},
		{name: "two keys", in: rfcRequest("Sec-WebSocket-Key: " + sampleKey), code: 400},
		{name: "version 8", in: strings.Replace(rfcRequest(), "Version: 13", "Version: 8", 1), code: 426},
		{name: "no version", in: strings.Replace(rfcRequest(), "Sec-WebSocket-Version: 13\r\n", "", 1), code: 426},
		{name: "two versions", in: rfcRequest("Sec-WebSocket-Version: 13"), code: 426},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := handshake.ReadRequest(bufioString(tt.in), 0)
			if err != nil {
				t.Fatalf("ReadRequest: %v", err)
			}
			key, err := handshake.CheckRequest(req)
			if tt.code == 0 {
				if err != nil || key != sampleKey {
					t.Fatalf("CheckRequest = %q, %v; want %q, nil", key, err, sampleKey)
				}
				return
			}
			var re *handshake.RequestError
			if !errors.As(err, &re) || !errors.Is(err, handshake.ErrBadRequest) || re.StatusCode != tt.code {
				t.Fatalf("CheckRequest = %q, %v; want a RequestError with status %d", key, err, tt.code)
			}
		})
	}
}

// writtenRequest is what the client side of this package sends.
func writtenRequest(t *testing.T) string {
	var b strings.Builder
	if err := sampleRequest(t).Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestReadRequest(t *testing.T) {
	t.Run("leaves the frames in br", func(t *testing.T) {
		br := bufioString(rfcRequest() + "\x81\x80abcd")
		req, err := handshake.ReadRequest(br, 0)
		if err != nil || req.URL.Path != "/chat" || req.Header.Get("Origin") != "http://example.com" {
			t.Fatalf("ReadRequest = %+v, %v", req, err)
		}
		if rest, _ := io.ReadAll(br); string(rest) != "\x81\x80abcd" {
			t.Fatalf("left %q in br", rest)
		}
	})
	t.Run("limit", func(t *testing.T) {
		in := rfcRequest("X-Pad: " + strings.Repeat("a", 1000))
		if _, err := handshake.ReadRequest(bufioString(in), len(in)); err != nil {
			t.Fatalf("at the limit: %v", err)
		}
		_, err := handshake.ReadRequest(bufioString(in), len(in)-1)
		var re *handshake.RequestError
		if !errors.As(err, &re) || re.StatusCode != 431 || !errors.Is(err, handshake.ErrHeaderTooLarge) {
			t.Fatalf("over the limit: %v; want a 431 RequestError wrapping ErrHeaderTooLarge", err)
		}
	})
	t.Run("endless line", func(t *testing.T) {
		// A peer that never sends a line end is cut off at the default limit.
		r := io.MultiReader(strings.NewReader("GET /"), endless{})
		_, err := handshake.ReadRequest(bufio.NewReader(r), 0)
		if !errors.Is(err, handshake.ErrHeaderTooLarge) {
			t.Fatalf("err = %v; want ErrHeaderTooLarge", err)
		}
	})
	for _, tt := range []struct {
		name, in string
		want     error
	}{
		{"empty", "", io.EOF},
		{"cut", "GET / HTTP/1.1\r\nHost: h\r\n", io.ErrUnexpectedEOF},
		{"not HTTP", "hello\r\n\r\n", handshake.ErrBadRequest},
		{"bad field", "GET / HTTP/1.1\r\nHost h\r\n\r\n", handshake.ErrBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := handshake.ReadRequest(bufioString(tt.in), 0); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v; want %v", err, tt.want)
			}
		})
	}
}

type endless struct{}

func (endless) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 'a'
	}
	return len(b), nil
}

func TestAppendUpgrade(t *testing.T) {
	tests := []struct {
		name        string
		subprotocol string
		h           http.Header
		want        string
	}{
		{name: "RFC 6455 §1.3 sample", want: crlf(
			"HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
			"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")},
		{name: "subprotocol and fields", subprotocol: "chat",
			h: http.Header{"Set-Cookie": {"a=1", "b=2"}, "Sec-Websocket-Extensions": {"permessage-deflate"}},
			want: crlf("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
				"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "Sec-WebSocket-Protocol: chat",
				"Sec-Websocket-Extensions: permessage-deflate", "Set-Cookie: a=1", "Set-Cookie: b=2")},
		{name: "a field replaces a built-in one", h: http.Header{"Sec-Websocket-Accept": {"wrong"}, "Connection": {"keep-alive"}},
			want: crlf("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: keep-alive",
				"Sec-Websocket-Accept: wrong")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := handshake.AppendUpgrade([]byte("prefix"), sampleKey, tt.subprotocol, tt.h)
			if err != nil || string(got) != "prefix"+tt.want {
				t.Fatalf("AppendUpgrade = %q, %v; want %q", got, err, tt.want)
			}
			// The client side of the package accepts what the server side
			// writes, unless a field replaced a built-in one.
			if tt.h["Sec-Websocket-Accept"] == nil {
				resp, err := handshake.ReadResponse(bufioString(tt.want), sampleRequest(t))
				if err != nil || resp.Subprotocol != tt.subprotocol {
					t.Fatalf("ReadResponse = %+v, %v", resp, err)
				}
			}
		})
	}
	for _, h := range []http.Header{{"Set-Cookie": {"a\r\nX: y"}}, {"Bad Name": {"v"}}} {
		if _, err := handshake.AppendUpgrade(nil, sampleKey, "", h); !errors.Is(err, handshake.ErrInvalidHeader) {
			t.Errorf("AppendUpgrade(%q) = %v; want ErrInvalidHeader", h, err)
		}
	}
	if _, err := handshake.AppendUpgrade(nil, sampleKey, "a\nb", nil); !errors.Is(err, handshake.ErrInvalidHeader) {
		t.Errorf("AppendUpgrade with a subprotocol holding LF = %v; want ErrInvalidHeader", err)
	}
}

func TestAppendRefusal(t *testing.T) {
	req, err := handshake.ReadRequest(bufioString(strings.Replace(rfcRequest(), "Version: 13", "Version: 8", 1)), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = handshake.CheckRequest(req)
	got := handshake.AppendRefusal(nil, err)
	resp, rerr := http.ReadResponse(bufio.NewReader(bytes.NewReader(got)), nil)
	if rerr != nil {
		t.Fatal(rerr)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 426 || resp.Header.Get("Sec-WebSocket-Version") != "13" || string(body) != err.Error() {
		t.Fatalf("AppendRefusal = %q", got)
	}
	if got := handshake.AppendRefusal(nil, io.EOF); !bytes.HasPrefix(got, []byte("HTTP/1.1 400 Bad Request\r\n")) {
		t.Fatalf("AppendRefusal(io.EOF) = %q; want a 400", got)
	}
}

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte(rfcRequest()))
	f.Add([]byte(rfcRequest("Content-Length: 5")))
	f.Add([]byte("GET / HTTP/1.1\nHost: h\nUpgrade: websocket\nConnection: upgrade\n folded\n\n"))
	f.Add([]byte("GET http://h/x?y HTTP/1.1\r\n\r\n"))
	const max = 512
	f.Fuzz(func(t *testing.T, in []byte) {
		src := bytes.NewReader(in)
		br := bufio.NewReaderSize(src, 64)
		req, err := handshake.ReadRequest(br, max)
		// At most the limit, the fragment that crosses it and br's read-ahead.
		if consumed := len(in) - src.Len(); consumed > max+2*64 {
			t.Fatalf("consumed %d bytes with a limit of %d", consumed, max)
		}
		if err != nil {
			if !errors.Is(err, handshake.ErrBadRequest) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		key, err := handshake.CheckRequest(req)
		if err != nil {
			if !errors.Is(err, handshake.ErrBadRequest) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// An accepted request gets an answer its key validates.
		resp, err := handshake.AppendUpgrade(nil, key, "", nil)
		if err != nil || !bytes.Contains(resp, []byte(handshake.AcceptKey(key))) {
			t.Fatalf("AppendUpgrade(%q) = %q, %v", key, resp, err)
		}
	})
}
