package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/framewire/ws/proxy"
)

func ExampleAppendConnect() {
	b, _ := proxy.AppendConnect(nil, "[2001:db8::1]:443", url.UserPassword("Aladdin", "open sesame"), http.Header{"User-Agent": {"framewire"}})
	os.Stdout.WriteString(strings.ReplaceAll(string(b), "\r\n", "\n"))
	// Output:
	// CONNECT [2001:db8::1]:443 HTTP/1.1
	// Host: [2001:db8::1]:443
	// Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==
	// User-Agent: framewire
}

func ExampleEnv() {
	env := map[string]string{
		"https_proxy": "http://proxy.corp:3128",
		"ALL_PROXY":   "socks5h://socks.corp:1080",
		"NO_PROXY":    ".internal.corp",
	}
	proxyFor := proxy.ReadEnv(func(k string) string { return env[k] }).ProxyFunc()
	for _, s := range []string{"wss://api.example.com/", "ws://api.example.com/", "wss://db.internal.corp/"} {
		u, _ := url.Parse(s)
		p, _ := proxyFor(&http.Request{URL: u})
		fmt.Println(s, "→", p)
	}
	// Output:
	// wss://api.example.com/ → http://proxy.corp:3128
	// ws://api.example.com/ → socks5h://socks.corp:1080
	// wss://db.internal.corp/ → <nil>
}

// A SOCKS5 proxy that refuses the target: the reply code is in the error.
func ExampleDialer() {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		b := make([]byte, 64)
		server.Read(b)                                     // methods: 05 01 00
		server.Write([]byte{5, 0})                         // no authentication
		server.Read(b)                                     // CONNECT example.com:443
		server.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // REP 5: connection refused
	}()
	d := &proxy.Dialer{
		URL:     &url.URL{Scheme: "socks5h", Host: "socks.example:1080"},
		NetDial: func(context.Context, string, string) (net.Conn, error) { return client, nil },
	}
	_, err := d.DialContext(context.Background(), "tcp", "example.com:443")
	fmt.Println(err)
	if pe, ok := errors.AsType[*proxy.Error](err); ok {
		fmt.Println(pe.Code, errors.Is(err, proxy.ErrRefused), errors.Is(err, proxy.ErrAuth))
	}
	// Output:
	// proxy: socks5h://socks.example:1080: refused: code 5 connection refused
	// 5 true false
}
