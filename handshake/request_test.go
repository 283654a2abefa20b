package handshake_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/framewire/ws/handshake"
)

// sampleKey is the key of RFC 6455 §1.3.
const sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := handshake.ParseURL(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// crlf turns a readable request into wire form.
func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n\r\n" }

func TestRequestWire(t *testing.T) {
	tests := []struct {
		name string
		req  handshake.Request
		want string
	}{
		{
			name: "minimal",
			req:  handshake.Request{URL: mustURL(t, "ws://example.com/chat"), Key: sampleKey},
			want: crlf(
				"GET /chat HTTP/1.1",
				"Upgrade: websocket",
				"Host: example.com",
				"Origin: http://example.com",
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
				"Sec-WebSocket-Version: 13",
				"Connection: Upgrade"),
		},
		{
			name: "wss non-default port, query, everything",
			req: handshake.Request{
				URL:          mustURL(t, "wss://example.com:8443/a/b?x=1&y=2"),
				Key:          sampleKey,
				Subprotocols: []string{"chat", "superchat"},
				Extensions:   []string{"permessage-deflate; client_max_window_bits", "x-foo"},
				Header:       http.Header{"X-B": {"2"}, "Authorization": {"Bearer t"}, "X-A": {"1", "1b"}},
				Cookie:       "a=1; b=2",
			},
			want: crlf(
				"GET /a/b?x=1&y=2 HTTP/1.1",
				"Upgrade: websocket",
				"Host: example.com:8443",
				"Origin: https://example.com:8443",
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
				"Sec-WebSocket-Version: 13",
				"Connection: Upgrade",
				"Sec-WebSocket-Protocol: chat,superchat",
				"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo",
				"Authorization: Bearer t",
				"X-A: 1",
				"X-A: 1b",
				"X-B: 2",
				"Cookie: a=1; b=2"),
		},
		{
			// Only the scheme's default port is left out (websocket-client
			// drops 80 and 443 whatever the scheme).
			name: "ws on port 443 keeps the port",
			req:  handshake.Request{URL: mustURL(t, "ws://h:443/"), Key: sampleKey},
			want: crlf(
				"GET / HTTP/1.1",
				"Upgrade: websocket",
				"Host: h:443",
				"Origin: http://h:443",
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
				"Sec-WebSocket-Version: 13",
				"Connection: Upgrade"),
		},
		{
			name: "explicit default port, IPv6",
			req:  handshake.Request{URL: mustURL(t, "wss://[::1]:443"), Key: sampleKey},
			want: crlf(
				"GET / HTTP/1.1",
				"Upgrade: websocket",
				"Host: [::1]",
				"Origin: https://[::1]",
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
				"Sec-WebSocket-Version: 13",
				"Connection: Upgrade"),
		},
		{
			name: "host and origin overrides",
			req: handshake.Request{
				URL: mustURL(t, "ws://10.0.0.1:9000/"), Key: sampleKey,
				Host: "virtual.example", Origin: "https://app.example",
			},
			want: crlf(
				"GET / HTTP/1.1",
				"Upgrade: websocket",
				"Host: virtual.example",
				"Origin: https://app.example",
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
				"Sec-WebSocket-Version: 13",
				"Connection: Upgrade"),
		},
		{
			name: "suppress origin",
			req:  handshake.Request{URL: mustURL(t, "ws://h/"), Key: sampleKey, SuppressOrigin: true, Origin: "ignored"},
			want: crlf(
				"GET / HTTP/1.1",
				"Upgrade: websocket",
				"Host: h",
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
				"Sec-WebSocket-Version: 13",
				"Connection: Upgrade"),
		},
		{
			// websocket-client's header dict may carry Sec-WebSocket-Key
			// and Sec-WebSocket-Version; here they stay in place.
			name: "header overrides in place, removal with no values",
			req: handshake.Request{
				URL: mustURL(t, "ws://h/"),
				Header: http.Header{
					"Sec-Websocket-Key":     {"custom-key"},
					"sec-websocket-version": {"8"},
					"Connection":            {"Upgrade, keep-alive"},
					"Origin":                nil,
					"Cookie":                {"z=9"},
					"X-Z":                   {"z"},
				},
				Cookie: "ignored=1",
			},
			want: crlf(
				"GET / HTTP/1.1",
				"Upgrade: websocket",
				"Host: h",
				"Sec-Websocket-Key: custom-key",
				"sec-websocket-version: 8",
				"Connection: Upgrade, keep-alive",
				"X-Z: z",
				"Cookie: z=9"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("keep")
			got, err := tt.req.AppendBinary(prefix)
			if err != nil {
				t.Fatal(err)
			}
			if string(got[:4]) != "keep" || string(got[4:]) != tt.want {
				t.Errorf("AppendBinary:\n got %q\nwant %q", got, tt.want)
			}
			var buf bytes.Buffer
			if err := tt.req.Write(&buf); err != nil || buf.String() != tt.want {
				t.Errorf("Write = %q, %v", buf.String(), err)
			}
			// The request must parse as HTTP.
			if _, err := http.ReadRequest(bufioString(tt.want)); err != nil {
				t.Errorf("not valid HTTP: %v", err)
			}
		})
	}
}

func TestRequestInjection(t *testing.T) {
	base := func() handshake.Request {
		return handshake.Request{URL: mustURL(t, "ws://h/"), Key: sampleKey}
	}
	tests := []struct {
		name   string
		modify func(*handshake.Request)
		want   error
	}{
		{"CRLF in header value", func(r *handshake.Request) { r.Header = http.Header{"X": {"a\r\nEvil: 1"}} }, handshake.ErrInvalidHeader},
		{"LF in header value", func(r *handshake.Request) { r.Header = http.Header{"X": {"a\nb"}} }, handshake.ErrInvalidHeader},
		{"NUL in header value", func(r *handshake.Request) { r.Header = http.Header{"X": {"a\x00"}} }, handshake.ErrInvalidHeader},
		{"CR in header name", func(r *handshake.Request) { r.Header = http.Header{"X\r\nEvil": {"1"}} }, handshake.ErrInvalidHeader},
		{"space in header name", func(r *handshake.Request) { r.Header = http.Header{"X Y": {"1"}} }, handshake.ErrInvalidHeader},
		{"colon in header name", func(r *handshake.Request) { r.Header = http.Header{"X:": {"1"}} }, handshake.ErrInvalidHeader},
		{"empty header name", func(r *handshake.Request) { r.Header = http.Header{"": {"1"}} }, handshake.ErrInvalidHeader},
		{"CRLF in override", func(r *handshake.Request) { r.Header = http.Header{"Origin": {"o\r\nX: 1"}} }, handshake.ErrInvalidHeader},
		{"CRLF in host", func(r *handshake.Request) { r.Host = "h\r\nX: 1" }, handshake.ErrInvalidHeader},
		{"space in host", func(r *handshake.Request) { r.Host = "h x" }, handshake.ErrInvalidHeader},
		{"CRLF in origin", func(r *handshake.Request) { r.Origin = "o\r\n" }, handshake.ErrInvalidHeader},
		{"CRLF in cookie", func(r *handshake.Request) { r.Cookie = "a=1\r\nX: 1" }, handshake.ErrInvalidHeader},
		{"comma in subprotocol", func(r *handshake.Request) { r.Subprotocols = []string{"a,b"} }, handshake.ErrInvalidHeader},
		{"space in subprotocol", func(r *handshake.Request) { r.Subprotocols = []string{"a b"} }, handshake.ErrInvalidHeader},
		{"empty subprotocol", func(r *handshake.Request) { r.Subprotocols = []string{""} }, handshake.ErrInvalidHeader},
		{"CRLF in extension", func(r *handshake.Request) { r.Extensions = []string{"x\r\nY: 1"} }, handshake.ErrInvalidHeader},
		{"empty extension", func(r *handshake.Request) { r.Extensions = []string{" "} }, handshake.ErrInvalidHeader},
		{"two overriding keys", func(r *handshake.Request) { r.Header = http.Header{"Sec-Websocket-Key": {"a", "b"}} }, handshake.ErrInvalidHeader},
		{"two overriding hosts", func(r *handshake.Request) { r.Header = http.Header{"Host": {"a.example", "b.example"}} }, handshake.ErrInvalidHeader},
		{"hosts in two cases", func(r *handshake.Request) { r.Header = http.Header{"Host": {"a"}, "host": {"b"}} }, handshake.ErrInvalidHeader},
		{"invalid overriding host", func(r *handshake.Request) { r.Header = http.Header{"Host": {"a b/c"}} }, handshake.ErrInvalidHeader},
		{"two overriding origins", func(r *handshake.Request) { r.Header = http.Header{"Origin": {"http://a", "http://b"}} }, handshake.ErrInvalidHeader},
		{"versions in two cases", func(r *handshake.Request) {
			r.Header = http.Header{"Sec-WebSocket-Version": {"13"}, "sec-websocket-version": {"13"}}
		}, handshake.ErrInvalidHeader},
		{"no overriding key", func(r *handshake.Request) { r.Header = http.Header{"Sec-WebSocket-Key": {}} }, handshake.ErrInvalidHeader},
		{"missing key", func(r *handshake.Request) { r.Key = "" }, handshake.ErrInvalidKey},
		{"short key", func(r *handshake.Request) { r.Key = "c2hvcnQ=" }, handshake.ErrInvalidKey},
		{"key with CRLF", func(r *handshake.Request) { r.Key = "dGhlIHNhbXBsZSBub25j\r\n==" }, handshake.ErrInvalidKey},
		{"nil URL", func(r *handshake.Request) { r.URL = nil }, handshake.ErrInvalidURL},
		{"ftp URL", func(r *handshake.Request) { r.URL = &url.URL{Scheme: "ftp", Host: "h"} }, handshake.ErrInvalidURL},
		{"space in raw query", func(r *handshake.Request) { r.URL = &url.URL{Scheme: "ws", Host: "h", RawQuery: "a b"} }, handshake.ErrInvalidURL},
		{"CRLF in raw query", func(r *handshake.Request) { r.URL = &url.URL{Scheme: "ws", Host: "h", RawQuery: "a\r\nX: 1"} }, handshake.ErrInvalidURL},
	}
	for _, tt := range tests {
		r := base()
		tt.modify(&r)
		got, err := r.AppendBinary([]byte("x"))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v; want %v", tt.name, err, tt.want)
		}
		if string(got) != "x" {
			t.Errorf("%s: buffer changed on error: %q", tt.name, got)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("%s: error text has CR/LF: %q", tt.name, err)
		}
		if cerr := r.Check(); !errors.Is(cerr, tt.want) || cerr.Error() != err.Error() {
			t.Errorf("%s: Check = %v; AppendBinary's error is %v", tt.name, cerr, err)
		}
	}
	if r := base(); r.Check() != nil {
		t.Errorf("Check of a valid request = %v", r.Check())
	}
}

func TestNewKey(t *testing.T) {
	k, err := handshake.NewKey(nil)
	if err != nil || len(k) != 24 {
		t.Fatalf("NewKey(nil) = %q, %v", k, err)
	}
	k2, _ := handshake.NewKey(nil)
	if k == k2 {
		t.Error("two keys from crypto/rand are equal")
	}
	k, err = handshake.NewKey(bytes.NewReader([]byte("the sample nonce")))
	if err != nil || k != sampleKey {
		t.Errorf("NewKey(sample) = %q, %v", k, err)
	}
	if _, err := handshake.NewKey(bytes.NewReader(make([]byte, 15))); err == nil {
		t.Error("NewKey with 15 bytes of randomness succeeded")
	}
	// Keys from NewKey are accepted by Request.
	k, _ = handshake.NewKey(nil)
	r := handshake.Request{URL: mustURL(t, "ws://h/"), Key: k}
	if _, err := r.AppendBinary(nil); err != nil {
		t.Error(err)
	}
}

func TestAcceptKey(t *testing.T) {
	// RFC 6455 §1.3.
	if got := handshake.AcceptKey(sampleKey); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("AcceptKey = %q", got)
	}
}
