package proxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"testing"

	"github.com/framewire/ws/proxy"
)

// FuzzDialReply feeds a proxy's reply to each protocol: the dial must
// end with a tunnel or an *Error, never a panic or a hang, and a tunnel
// must give back no more than the reply held.
func FuzzDialReply(f *testing.F) {
	f.Add(uint8(0), []byte("HTTP/1.1 200 OK\r\n\r\nearly"))
	f.Add(uint8(0), []byte("HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n"))
	f.Add(uint8(0), []byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 OK\r\n\r\n"))
	f.Add(uint8(1), []byte{0, 90, 0, 80, 1, 2, 3, 4})
	f.Add(uint8(1), []byte{0, 93, 0, 0, 0, 0, 0, 0})
	f.Add(uint8(2), []byte{5, 2, 1, 0, 5, 0, 0, 3, 4, 'b', 'n', 'd', '1', 0x1f, 0x90})
	f.Add(uint8(2), []byte{5, 0, 5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80})
	f.Add(uint8(3), []byte{5, 0, 5, 8, 0, 1})
	schemes := []string{"http", "socks4a", "socks5h", "socks5"}
	f.Fuzz(func(t *testing.T, which uint8, reply []byte) {
		scheme := schemes[int(which)%len(schemes)]
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			go io.Copy(io.Discard, server)
			server.Write(reply)
			server.Close()
		}()
		d := &proxy.Dialer{
			URL:            &url.URL{Scheme: scheme, User: url.UserPassword("u", "p"), Host: "p:1"},
			NetDial:        func(context.Context, string, string) (net.Conn, error) { return client, nil },
			MaxHeaderBytes: 512,
		}
		c, err := d.DialContext(context.Background(), "tcp", "127.0.0.1:80")
		if err != nil {
			if !errors.As(err, new(*proxy.Error)) {
				t.Fatalf("%s: err = %v (%T); want a *proxy.Error", scheme, err, err)
			}
			<-done
			return
		}
		rest, _ := io.ReadAll(c)
		c.Close()
		<-done
		// The tunnel gives exactly what followed the proxy's answer.
		if !bytes.HasSuffix(reply, rest) {
			t.Fatalf("%s: tunnel gave %q, not the end of the reply %q", scheme, rest, reply)
		}
	})
}
