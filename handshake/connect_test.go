package handshake_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/framewire/ws/handshake"
)

// The fields of an extended CONNECT (RFC 8441 §5): the request's own, with
// lower-case names, without the HTTP/1.1-only ones.
func TestConnectHeader(t *testing.T) {
	tests := []struct {
		name string
		req  handshake.Request
		want http.Header
		auth string
	}{
		{"defaults", handshake.Request{URL: mustURL(t, "wss://h.test/chat")},
			http.Header{"origin": {"https://h.test"}, "sec-websocket-version": {"13"}}, "h.test"},
		{"everything", handshake.Request{
			URL:          mustURL(t, "ws://h.test:8080/"),
			Host:         "alias.test",
			Origin:       "http://o.test",
			Key:          sampleKey, // no key over HTTP/2
			Subprotocols: []string{"a", "b"},
			Extensions:   []string{"permessage-deflate; client_max_window_bits"},
			Header:       http.Header{"X-Token": {"t"}, "Upgrade": {"x"}, "Sec-WebSocket-Key": {sampleKey}},
			Cookie:       "c=1",
		}, http.Header{
			"origin":                   {"http://o.test"},
			"sec-websocket-version":    {"13"},
			"sec-websocket-protocol":   {"a,b"},
			"sec-websocket-extensions": {"permessage-deflate; client_max_window_bits"},
			"x-token":                  {"t"},
			"cookie":                   {"c=1"},
		}, "alias.test"},
		{"overrides and suppression", handshake.Request{
			URL:            mustURL(t, "ws://h.test:80/"),
			SuppressOrigin: true,
			Header:         http.Header{"Sec-WebSocket-Version": {"8"}},
		}, http.Header{"sec-websocket-version": {"8"}}, "h.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.req.ConnectHeader()
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ConnectHeader (-want +got):\n%s", d)
			}
			if a := tt.req.Authority(); a != tt.auth {
				t.Errorf("Authority = %q, want %q", a, tt.auth)
			}
		})
	}
	for name, h := range map[string]http.Header{
		"a CR LF in a value":    {"X": {"a\r\nInjected: 1"}},
		"two Origins":           {"Origin": {"http://a", "http://b"}},
		"Versions in two cases": {"Sec-WebSocket-Version": {"13"}, "sec-websocket-version": {"8"}},
	} {
		bad := handshake.Request{URL: mustURL(t, "ws://h.test/"), Header: h}
		if _, err := bad.ConnectHeader(); !errors.Is(err, handshake.ErrInvalidHeader) {
			t.Errorf("ConnectHeader with %s = %v, want ErrInvalidHeader", name, err)
		}
		if err := bad.CheckConnect(); !errors.Is(err, handshake.ErrInvalidHeader) {
			t.Errorf("CheckConnect with %s = %v, want ErrInvalidHeader", name, err)
		}
	}
	// Entries replacing fields HTTP/2 does not send are ignored, checked
	// only for what could not be sent at all: CheckConnect agrees with
	// ConnectHeader, where Check, for HTTP/1.1, refuses them.
	for name, h := range map[string]http.Header{
		"no key":    {"Sec-WebSocket-Key": {}},
		"two hosts": {"Host": {"a.test", "b.test"}},
	} {
		r := handshake.Request{URL: mustURL(t, "ws://h.test/"), Key: sampleKey, Header: h}
		_, err := r.ConnectHeader()
		if cerr := r.CheckConnect(); err != nil || cerr != nil {
			t.Errorf("%s: ConnectHeader %v, CheckConnect %v; want both to accept", name, err, cerr)
		}
		if err := r.Check(); !errors.Is(err, handshake.ErrInvalidHeader) {
			t.Errorf("%s: Check = %v, want ErrInvalidHeader", name, err)
		}
	}
	// Host is the :authority: what the Host field refuses, it refuses.
	for _, host := range []string{"a\r\nX-Injected: 1", "a\x00b", "a b/c?d"} {
		bad := handshake.Request{URL: mustURL(t, "ws://h.test/"), Host: host}
		if _, err := bad.ConnectHeader(); !errors.Is(err, handshake.ErrInvalidHeader) {
			t.Errorf("ConnectHeader with Host %q = %v, want ErrInvalidHeader", host, err)
		}
		if err := bad.CheckConnect(); !errors.Is(err, handshake.ErrInvalidHeader) {
			t.Errorf("CheckConnect with Host %q = %v, want ErrInvalidHeader", host, err)
		}
	}
}

// The answer to an extended CONNECT: 2xx accepts, with the subprotocol and
// extensions checked as in a 101; a redirect and a refusal are typed.
func TestCheckConnectResponse(t *testing.T) {
	req := &handshake.Request{URL: mustURL(t, "wss://h.test/a"), Subprotocols: []string{"chat"},
		Extensions: []string{"permessage-deflate"}, MaxBodyBytes: 4}
	tests := []struct {
		name   string
		code   int
		header http.Header
		body   string
		check  func(*handshake.Response, error) bool
	}{
		{"200", 200, http.Header{"Sec-Websocket-Protocol": {"chat"}, "Sec-Websocket-Extensions": {"permessage-deflate"}}, "",
			func(r *handshake.Response, err error) bool {
				return err == nil && r.StatusCode == 200 && r.Subprotocol == "chat" && len(r.Extensions) == 1
			}},
		{"200 with a stray accept", 200, http.Header{"Sec-Websocket-Accept": {"bogus"}}, "",
			func(r *handshake.Response, err error) bool { return err == nil }},
		{"subprotocol not offered", 200, http.Header{"Sec-Websocket-Protocol": {"other"}}, "",
			func(_ *handshake.Response, err error) bool { return errors.Is(err, handshake.ErrBadSubprotocol) }},
		{"extension not offered", 200, http.Header{"Sec-Websocket-Extensions": {"x-other"}}, "",
			func(_ *handshake.Response, err error) bool {
				var ee *handshake.ExtensionError
				return errors.As(err, &ee) && ee.Extension == "x-other"
			}},
		{"redirect", 307, http.Header{"Location": {"/b"}}, "",
			func(_ *handshake.Response, err error) bool {
				var re *handshake.RedirectError
				return errors.As(err, &re) && re.Location.String() == "wss://h.test/b"
			}},
		{"refusal, body bounded", 403, http.Header{}, "forbidden",
			func(_ *handshake.Response, err error) bool {
				var se *handshake.StatusError
				return errors.As(err, &se) && se.StatusCode == 403 && string(se.Body) == "forb"
			}},
		// Read no further than Content-Length: an HTTP/2 server may leave
		// the stream open after the body.
		{"refusal, body of its length", 403, http.Header{"Content-Length": {"2"}}, "no!",
			func(_ *handshake.Response, err error) bool {
				var se *handshake.StatusError
				return errors.As(err, &se) && string(se.Body) == "no"
			}},
	}
	for _, tt := range tests {
		r, err := handshake.CheckConnectResponse(tt.code, tt.header, strings.NewReader(tt.body), req)
		if !tt.check(r, err) {
			t.Errorf("%s: CheckConnectResponse = %+v, %v", tt.name, r, err)
		}
	}
}
