package handshake_test

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"testing"

	"github.com/framewire/ws/handshake"
)

func FuzzReadResponse(f *testing.F) {
	f.Add([]byte(ok101()))
	f.Add([]byte(ok101("Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover")))
	f.Add([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!"))
	f.Add([]byte("HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 302 Found\r\nLocation: ../x\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 103 Early\r\n\r\nHTTP/1.1 101 OK\nUpgrade: websocket\nConnection: upgrade\n X\n\n"))
	const maxHeader, maxBody = 512, 256
	f.Fuzz(func(t *testing.T, in []byte) {
		req := sampleRequest(t)
		req.MaxHeaderBytes, req.MaxBodyBytes = maxHeader, maxBody
		br := bufio.NewReaderSize(bytes.NewReader(in), 64)
		resp, err := handshake.ReadResponse(br, req)
		consumed := len(in) - br.Buffered()
		var se *handshake.StatusError
		var re *handshake.RedirectError
		switch {
		case err == nil:
			if resp.StatusCode != 101 {
				t.Fatalf("accepted status %d", resp.StatusCode)
			}
			if got := resp.Header["Sec-Websocket-Accept"]; len(got) != 1 || got[0] != sampleAccept {
				t.Fatalf("accepted Sec-WebSocket-Accept %q", got)
			}
			if resp.Subprotocol != "" && resp.Subprotocol != "chat" && resp.Subprotocol != "Super.Chat" {
				t.Fatalf("accepted subprotocol %q", resp.Subprotocol)
			}
			if consumed > maxHeader+64 { // br reads ahead at most its size
				t.Fatalf("read %d bytes for a %d-byte header limit", consumed, maxHeader)
			}
		case errors.As(err, &se):
			if len(se.Body) > maxBody {
				t.Fatalf("body of %d bytes kept", len(se.Body))
			}
		case errors.As(err, &re):
			if re.Location == nil || (re.Location.Scheme != "ws" && re.Location.Scheme != "wss") {
				t.Fatalf("redirect to %v", re.Location)
			}
		}
	})
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"ws://example.com/chat", "wss://[::1]:8443/a?b=c", "http://h", "HTTPS://bücher.example/",
		"ws://h/#f", "ws://u:p@h:1/%2F?q", "ws:opaque", "ws://h:/", "ftp://h", "ws://[fe80::1%25eth0]/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := handshake.ParseURL(s)
		if err != nil {
			var ue *handshake.URLError
			if !errors.As(err, &ue) || !errors.Is(err, handshake.ErrInvalidURL) {
				t.Fatalf("error %v is not a *URLError", err)
			}
			return
		}
		if (u.Scheme != "ws" && u.Scheme != "wss") || u.Hostname() == "" || u.Fragment != "" {
			t.Fatalf("ParseURL(%q) = %q", s, u)
		}
		again, err := handshake.ParseURL(u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("not idempotent: %q → %q → %v, %v", s, u, again, err)
		}
		req := handshake.Request{URL: u, Key: sampleKey}
		b, err := req.AppendBinary(nil)
		if err != nil {
			t.Fatalf("AppendBinary for %q: %v", u, err)
		}
		if _, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b))); err != nil {
			t.Fatalf("request for %q does not parse: %v\n%q", u, err, b)
		}
	})
}
