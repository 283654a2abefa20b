package handshake_test

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/framewire/ws/handshake"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in       string
		want     string // u.String()
		addr     string // handshake.Addr
		resource string // request target
		secure   bool
		reason   string // URLError.Reason when it fails
	}{
		// websocket-client test_parse_url shapes.
		{in: "ws://www.example.com/r", want: "ws://www.example.com/r", addr: "www.example.com:80", resource: "/r"},
		{in: "ws://www.example.com/r/", want: "ws://www.example.com/r/", addr: "www.example.com:80", resource: "/r/"},
		{in: "ws://www.example.com/", want: "ws://www.example.com/", addr: "www.example.com:80", resource: "/"},
		{in: "ws://www.example.com", want: "ws://www.example.com", addr: "www.example.com:80", resource: "/"},
		{in: "ws://www.example.com:8080/r", want: "ws://www.example.com:8080/r", addr: "www.example.com:8080", resource: "/r"},
		{in: "ws://www.example.com:8080/r?key=value", want: "ws://www.example.com:8080/r?key=value", addr: "www.example.com:8080", resource: "/r?key=value"},
		{in: "wss://www.example.com:8080/r", want: "wss://www.example.com:8080/r", addr: "www.example.com:8080", resource: "/r", secure: true},
		{in: "wss://www.example.com/r", want: "wss://www.example.com/r", addr: "www.example.com:443", resource: "/r", secure: true},
		{in: "ws://[2a03:4000:123:83::3]/r", want: "ws://[2a03:4000:123:83::3]/r", addr: "[2a03:4000:123:83::3]:80", resource: "/r"},
		{in: "ws://[2a03:4000:123:83::3]:8080/r", want: "ws://[2a03:4000:123:83::3]:8080/r", addr: "[2a03:4000:123:83::3]:8080", resource: "/r"},
		{in: "wss://[::1]/r", want: "wss://[::1]/r", addr: "[::1]:443", resource: "/r", secure: true},
		// Aliases and case.
		{in: "http://h/x", want: "ws://h/x", addr: "h:80", resource: "/x"},
		{in: "https://h/x", want: "wss://h/x", addr: "h:443", resource: "/x", secure: true},
		{in: "WS://H/x", want: "ws://H/x", addr: "H:80", resource: "/x"},
		{in: "WsS://h", want: "wss://h", addr: "h:443", resource: "/", secure: true},
		// Empty port, escaping, IDNA, userinfo kept.
		{in: "ws://h:/p", want: "ws://h/p", addr: "h:80", resource: "/p"},
		{in: "ws://h/a b?c d", want: "ws://h/a%20b?c%20d", addr: "h:80", resource: "/a%20b?c%20d"},
		{in: "ws://h/%2F?x=%23", want: "ws://h/%2F?x=%23", addr: "h:80", resource: "/%2F?x=%23"},
		{in: "ws://h/?", want: "ws://h/?", addr: "h:80", resource: "/?"},
		{in: "ws://bücher.example/", want: "ws://xn--bcher-kva.example/", addr: "xn--bcher-kva.example:80", resource: "/"},
		{in: "ws://u:p@h/", want: "ws://u:p@h/", addr: "h:80", resource: "/"},
		// Refused.
		{in: "ws://h/p#frag", reason: "fragment not allowed"},
		{in: "ws://h/#", reason: "fragment not allowed"},
		{in: "ftp://h/", reason: `unsupported scheme "ftp"`},
		{in: "ws//x", reason: "missing scheme"},
		{in: "example.com", reason: "missing scheme"},
		{in: "//h/p", reason: "missing scheme"},
		{in: "ws:///p", reason: "missing host"},
		{in: "ws://:80/p", reason: "missing host"},
		{in: "ws:opaque", reason: "missing host"},
		{in: "ws://\u00ad/p", reason: "missing host"}, // IDNA maps a soft hyphen to nothing
		{in: "ws://\u00ad\u200b:8080/", reason: "missing host"},
		{in: "ws://h:0/", reason: `invalid port "0"`},
		{in: "ws://h:65536/", reason: `invalid port "65536"`},
		{in: "ws://h:x/", reason: "cannot parse"},
		{in: "ws://a b/", reason: "cannot parse"},
		{in: "ws://h/\r\nX: y", reason: "cannot parse"},
		{in: "", reason: "missing scheme"},
	}
	for _, tt := range tests {
		u, err := handshake.ParseURL(tt.in)
		if tt.reason != "" {
			var ue *handshake.URLError
			if !errors.As(err, &ue) || !errors.Is(err, handshake.ErrInvalidURL) {
				t.Errorf("ParseURL(%q) = %v, %v; want *URLError", tt.in, u, err)
				continue
			}
			if ue.Reason != tt.reason || ue.URL != tt.in {
				t.Errorf("ParseURL(%q): URLError %+v; want reason %q", tt.in, ue, tt.reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.in, err)
			continue
		}
		if got := u.String(); got != tt.want {
			t.Errorf("ParseURL(%q) = %q; want %q", tt.in, got, tt.want)
		}
		if got := handshake.Addr(u); got != tt.addr {
			t.Errorf("Addr(%q) = %q; want %q", tt.in, got, tt.addr)
		}
		if got := handshake.IsSecure(u); got != tt.secure {
			t.Errorf("IsSecure(%q) = %v", tt.in, got)
		}
		req := handshake.Request{URL: u, Key: sampleKey}
		b, err := req.AppendBinary(nil)
		if err != nil {
			t.Errorf("AppendBinary(%q): %v", tt.in, err)
			continue
		}
		if want := "GET " + tt.resource + " HTTP/1.1\r\n"; string(b[:len(want)]) != want {
			t.Errorf("request line for %q = %q; want %q", tt.in, b[:len(want)], want)
		}
	}
}

func TestSameHost(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"ws://h/a", "ws://h/b", true},
		{"ws://h/a", "wss://H:8443/b", true},
		{"ws://h/a", "ws://other/a", false},
		{"ws://h/a", "ws://sub.h/a", false},
		{"ws://[::1]/", "ws://[::1]:81/", true},
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		if got := handshake.SameHost(a, b); got != tt.want {
			t.Errorf("SameHost(%s, %s) = %v", tt.a, tt.b, got)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"ws://h/a", "ws://h/b", true},
		{"ws://h/a", "ws://H:80/b", true},
		{"ws://h/a", "http://h/b", true},
		{"wss://h/a", "https://h:443/b", true},
		{"ws://[::1]/", "ws://[::1]:80/x", true},
		{"ws://h/a", "ws://h:8080/a", false},      // another port
		{"ws://h:8080/a", "ws://h:8081/a", false}, // another port
		{"wss://h/a", "ws://h/a", false},          // downgrade
		{"ws://h/a", "wss://h/a", false},          // another scheme
		{"wss://h:443/a", "ws://h:443/a", false},  // same port, another scheme
		{"ws://h/a", "ws://other/a", false},
		{"ws://[::1]/", "ws://[::1]:81/", false},
	}
	for _, tt := range tests {
		a, _ := handshake.ParseURL(tt.a)
		b, _ := handshake.ParseURL(tt.b)
		if got := handshake.SameOrigin(a, b); got != tt.want {
			t.Errorf("SameOrigin(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := handshake.SameOrigin(b, a); got != tt.want {
			t.Errorf("SameOrigin(%s, %s) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

// Addr is net.JoinHostPort of the host and the port for every URL, also
// one built by hand, and a URL whose Host already is that address costs
// no allocation.
func TestAddrJoinsHostPort(t *testing.T) {
	for _, host := range []string{
		"h:80", "h", "h:", "[::1]:81", "[::1]", "[fe80::1%en0]:82",
		"[h]:83", "a:b:84", "::1", "127.0.0.1:85", "127.0.0.1",
	} {
		u := &url.URL{Scheme: "ws", Host: host}
		port := u.Port()
		if port == "" {
			port = "80"
		}
		want := net.JoinHostPort(u.Hostname(), port)
		if got := handshake.Addr(u); got != want {
			t.Errorf("Addr(Host %q) = %q, want %q", host, got, want)
		}
	}
	if raceEnabled {
		return
	}
	u := &url.URL{Scheme: "ws", Host: "127.0.0.1:85"}
	if n := testing.AllocsPerRun(100, func() { handshake.Addr(u) }); n != 0 {
		t.Errorf("Addr(Host %q): %v allocations, want 0", u.Host, n)
	}
}

// NewKey with crypto/rand allocates only the key.
func TestNewKeyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what escapes")
	}
	if n := testing.AllocsPerRun(100, func() { handshake.NewKey(nil) }); n != 1 {
		t.Errorf("NewKey(nil): %v allocations, want 1", n)
	}
}

// A URL that cannot be used is reported without its password, whether or
// not url.Parse understood it.
func TestURLErrorRedacted(t *testing.T) {
	tests := []struct{ in, want string }{
		{"wss://alice:hunter2@example.com/chat#room", `"wss://alice:xxxxx@example.com/chat#room"`},
		{"ws://alice:hunter2@example.com:99999/", `"ws://alice:xxxxx@example.com:99999/"`},
		{"ws://alice:hun%zzter2@example.com/", `"ws://alice:xxxxx@example.com/"`},
		{"ftp://alice:hunter2@h/", `"ftp://alice:xxxxx@h/"`},
		{"ws://a:b:c@d@h:0/p?q@r", `"ws://a:xxxxx@h:0/p?q@r"`},
		{"ws://alice@h:0/", `"ws://alice@h:0/"`}, // no password
		{"wss://alice:hunter#2@example.com/chat", `"wss://alice:xxxxx@example.com/chat"`},
		{"wss://alice:hunter/2@example.com/chat", `"wss://alice:xxxxx@example.com/chat"`},
		{"wss://alice:hunter?2@example.com/chat", `"wss://alice:xxxxx@example.com/chat"`},
		{"//alice:hunter2@example.com/chat", `"//alice:xxxxx@example.com/chat"`},
	}
	for _, tt := range tests {
		_, err := handshake.ParseURL(tt.in)
		var ue *handshake.URLError
		if !errors.As(err, &ue) {
			t.Fatalf("ParseURL(%q) = %v, want a *URLError", tt.in, err)
		}
		if strings.Contains(err.Error(), "hunter") || strings.Contains(err.Error(), ":b:c") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseURL(%q) = %q, want the URL shown as %s", tt.in, err, tt.want)
		}
	}
}
