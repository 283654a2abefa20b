package handshake_test

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"reflect"
	"strings"
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
		var fresp handshake.Response
		fields, ferr := handshake.ReadResponseFields(bufio.NewReaderSize(bytes.NewReader(in), 64), req, &fresp)
		if (err == nil) != (ferr == nil) || err != nil && err.Error() != ferr.Error() {
			t.Fatalf("ReadResponse: %v; ReadResponseFields: %v", err, ferr)
		}
		if err == nil {
			h := http.Header{}
			for i := 0; i+1 < len(fields); i += 2 {
				h[fields[i]] = append(h[fields[i]], fields[i+1])
			}
			fresp.Header = h
			if !reflect.DeepEqual(&fresp, resp) {
				t.Fatalf("ReadResponse: %+v; ReadResponseFields: %+v", resp, fresp)
			}
		}
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

// fuzzOffers turns sel into one or two valid offers.
func fuzzOffers(sel uint16) []handshake.DeflateParams {
	o := handshake.DeflateParams{
		ServerNoContextTakeover: sel&1 != 0,
		ClientNoContextTakeover: sel&2 != 0,
	}
	if b := int(sel>>2) & 15; b >= 1 && b <= 8 {
		o.ServerMaxWindowBits = b + 7
	}
	switch b := int(sel>>6) & 15; {
	case b >= 1 && b <= 8:
		o.ClientMaxWindowBits = b + 7
	case b == 9:
		o.ClientMaxWindowBits = handshake.AnyWindowBits
	}
	if sel&(1<<10) != 0 {
		return []handshake.DeflateParams{o, {}}
	}
	return []handshake.DeflateParams{o}
}

func FuzzDeflateAnswer(f *testing.F) {
	for _, s := range []struct {
		answer string
		sel    uint16
	}{
		{"permessage-deflate", 0},
		{"permessage-deflate; server_max_window_bits=10", 10<<2 | 9<<6 | 1<<10},
		{`permessage-deflate; server_max_window_bits="10"`, 0},
		{"permessage-deflate; client_max_window_bits=9, x-foo", 9 << 6},
		{"permessage-deflate; server_no_context_takeover; client_no_context_takeover", 3},
		{"permessage-deflate; server_no_context_takeover=x", 1},
		{"permessage-deflate; server_max_window_bits=010", 0},
		{"permessage-deflate, permessage-deflate", 0},
	} {
		f.Add(s.answer, s.sel)
	}
	f.Fuzz(func(t *testing.T, answer string, sel uint16) {
		offers := fuzzOffers(sel)
		exts := strings.Split(answer, ",")
		p, ok, err := handshake.ParseDeflateAnswer(exts, offers)
		if err != nil {
			var ee *handshake.ExtensionError
			if !errors.As(err, &ee) || !errors.Is(err, handshake.ErrBadExtension) || ok {
				t.Fatalf("error %v (ok %v) is not an *ExtensionError", err, ok)
			}
			return
		}
		if !ok {
			if p != (handshake.DeflateParams{}) {
				t.Fatalf("declined with %+v", p)
			}
			return
		}
		for _, bits := range []int{p.ServerMaxWindowBits, p.ClientMaxWindowBits} {
			if bits != 0 && (bits < handshake.MinWindowBits || bits > handshake.MaxWindowBits) {
				t.Fatalf("agreed %+v", p)
			}
		}
		again, ok, err := handshake.ParseDeflateAnswer([]string{p.String()}, offers)
		if err != nil || !ok || again != p {
			t.Fatalf("%q agreed %+v; re-parse of %q = %+v, %v, %v", answer, p, p.String(), again, ok, err)
		}
	})
}
