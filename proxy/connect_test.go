package proxy_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/framewire/ws/proxy"
)

func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n\r\n" }

func TestAppendConnect(t *testing.T) {
	tests := []struct {
		addr   string
		user   *url.Userinfo
		header http.Header
		want   string
	}{
		{addr: "example.com:443", want: crlf("CONNECT example.com:443 HTTP/1.1", "Host: example.com:443")},
		{addr: "[2001:db8::1]:80", want: crlf("CONNECT [2001:db8::1]:80 HTTP/1.1", "Host: [2001:db8::1]:80")},
		{
			// RFC 7617 §2's example credentials.
			addr: "h:80", user: url.UserPassword("Aladdin", "open sesame"),
			header: http.Header{"User-Agent": {"ua"}, "X-A": {"1"}, "Host": {"ignored"}},
			want: crlf("CONNECT h:80 HTTP/1.1", "Host: h:80",
				"Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
				"User-Agent: ua", "X-A: 1"),
		},
		{
			addr: "h:80", user: url.UserPassword("u", "p"),
			header: http.Header{"Proxy-Authorization": {"Bearer x"}},
			want:   crlf("CONNECT h:80 HTTP/1.1", "Host: h:80", "Proxy-Authorization: Bearer x"),
		},
		{addr: "h:80", user: url.User(""), want: crlf("CONNECT h:80 HTTP/1.1", "Host: h:80")},
	}
	for _, tt := range tests {
		got, err := proxy.AppendConnect([]byte("prefix"), tt.addr, tt.user, tt.header)
		if err != nil || string(got) != "prefix"+tt.want {
			t.Errorf("AppendConnect(%q) = %q, %v; want %q", tt.addr, got, err, tt.want)
		}
	}
	for _, addr := range []string{"h", "h:0", "h:99999", "h\r\nX: 1:80", "a b:80", ":80", "[fe80::1%eth0]:80"} {
		if _, err := proxy.AppendConnect(nil, addr, nil, nil); !errors.Is(err, proxy.ErrInvalid) {
			t.Errorf("AppendConnect(%q): err = %v", addr, err)
		}
	}
	for _, h := range []http.Header{{"X": {"\r\n"}}, {"X Y": {"1"}}, {"X": {"a\x00b"}}} {
		if _, err := proxy.AppendConnect(nil, "h:80", nil, h); !errors.Is(err, proxy.ErrInvalid) {
			t.Errorf("AppendConnect with header %q: err = %v", h, err)
		}
	}
}
