package interop

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// echoServers are the keys of every WebSocket echo endpoint of the bed.
var echoServers = []string{KeyWS, KeyWSDeflate, KeyPython, KeyAutobahn, KeyAutobahnNCT, KeyNginx, KeyNginxTLS}

func TestEchoServers(t *testing.T) {
	for _, key := range echoServers {
		t.Run(key, func(t *testing.T) {
			c, resp := upgrade(t, need(t, key), http.Header{"Sec-WebSocket-Protocol": {"superchat, chat"}})
			if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "chat" && got != "superchat" {
				t.Errorf("Sec-WebSocket-Protocol %q, want one of the offered", got)
			}
			if got := resp.Header.Get("Sec-WebSocket-Extensions"); got != "" {
				t.Errorf("Sec-WebSocket-Extensions %q without an offer", got)
			}
			c.echoSession(t)
		})
	}
}

func TestSubprotocolChat(t *testing.T) {
	for _, key := range echoServers {
		t.Run(key, func(t *testing.T) {
			c, resp := upgrade(t, need(t, key), http.Header{"Sec-WebSocket-Protocol": {"chat"}})
			if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "chat" {
				t.Errorf("Sec-WebSocket-Protocol %q, want chat", got)
			}
			c.closeHandshake(t)
			c2, resp := upgrade(t, need(t, key), http.Header{"Sec-WebSocket-Protocol": {"nonesuch"}})
			if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "" {
				t.Errorf("Sec-WebSocket-Protocol %q for an unknown offer, want none", got)
			}
			c2.closeHandshake(t)
		})
	}
}

func TestLargeMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("16 MiB per server")
	}
	big := make([]byte, 16<<20+1)
	for i := range big {
		big[i] = byte(i * 7)
	}
	for _, key := range echoServers {
		t.Run(key, func(t *testing.T) {
			c, _ := upgrade(t, need(t, key), nil)
			c.echo(t, opBinary, big)
			c.closeHandshake(t)
		})
	}
}

func TestDeflateNegotiation(t *testing.T) {
	offer := http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate; client_max_window_bits"}}
	tests := []struct {
		key  string
		want bool
	}{
		{KeyWS, false},
		{KeyWSDeflate, true},
		{KeyPython, true},
		{KeyAutobahn, true},
		{KeyAutobahnNCT, true},
		{KeyNginx, false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			c, resp := upgrade(t, need(t, tt.key), offer)
			got := resp.Header.Get("Sec-WebSocket-Extensions")
			if strings.HasPrefix(got, "permessage-deflate") != tt.want {
				t.Errorf("Sec-WebSocket-Extensions %q, want permessage-deflate: %v", got, tt.want)
			}
			if !tt.want {
				c.echo(t, opText, []byte("plain"))
			}
			c.Close()
		})
	}
}

func TestHeadersPath(t *testing.T) {
	for _, key := range []string{KeyWS, KeyNginx, KeyNginxTLS, KeyPython, KeyAutobahn} {
		t.Run(key, func(t *testing.T) {
			c, _ := upgrade(t, need(t, key)+"/headers?x=1", http.Header{
				"Origin":          {"http://example.test"},
				"Cookie":          {"a=1; b=2"},
				"X-Framewire-Seq": {"42"},
			})
			op, p := c.readMessage(t)
			if op != opText {
				t.Fatalf("opcode %#x, want text", op)
			}
			var got struct {
				Headers map[string]string `json:"headers"`
			}
			if err := json.Unmarshal(p, &got); err != nil {
				t.Fatalf("%v in %s", err, p)
			}
			for k, want := range map[string]string{"origin": "http://example.test", "cookie": "a=1; b=2", "x-framewire-seq": "42"} {
				if got.Headers[k] != want {
					t.Errorf("header %s = %q, want %q (all: %v)", k, got.Headers[k], want, got.Headers)
				}
			}
			c.echo(t, opText, []byte("after headers"))
			c.closeHandshake(t)
		})
	}
}

func TestClosePath(t *testing.T) {
	for _, key := range []string{KeyWS, KeyNginx, KeyPython, KeyAutobahn} {
		t.Run(key, func(t *testing.T) {
			c, _ := upgrade(t, need(t, key)+"/close?code=4001&reason=bye", nil)
			op, p := c.readMessage(t)
			if op != opClose {
				t.Fatalf("opcode %#x, want close", op)
			}
			if code, reason := parseClose(t, p); code != 4001 || reason != "bye" {
				t.Errorf("close %d %q, want 4001 \"bye\"", code, reason)
			}
			c.writeFrame(t, true, opClose, p)
		})
	}
}

func TestPingPath(t *testing.T) {
	c, _ := upgrade(t, need(t, KeyWS)+"/ping", nil)
	_, op, p := c.readFrame(t)
	if op != opPing || string(p) != "framewire" {
		t.Fatalf("opcode %#x %q, want ping \"framewire\"", op, p)
	}
	c.writeFrame(t, true, opPong, p)
	if op, p := c.readMessage(t); op != opText || string(p) != "pong:framewire" {
		t.Fatalf("opcode %#x %q, want text \"pong:framewire\"", op, p)
	}
	c.closeHandshake(t)
}

func TestFragPath(t *testing.T) {
	c, _ := upgrade(t, need(t, KeyWS)+"/frag", nil)
	c.writeFrame(t, true, opText, []byte("abcdefghi"))
	want := []struct {
		fin bool
		op  byte
		p   string
	}{{false, opText, "abc"}, {false, opCont, "def"}, {true, opCont, "ghi"}}
	for i, w := range want {
		fin, op, p := c.readFrame(t)
		if fin != w.fin || op != w.op || string(p) != w.p {
			t.Errorf("fragment %d: fin=%v opcode %#x %q, want fin=%v opcode %#x %q", i, fin, op, p, w.fin, w.op, w.p)
		}
	}
	c.closeHandshake(t)
}

func TestHTTPResponses(t *testing.T) {
	tests := []struct {
		path     string
		status   int
		location string // "ABS/" for an absolute URL of this server's root
		body     string
	}{
		{"/r301", 301, "ABS/", ""},
		{"/r302", 302, "ABS/", ""},
		{"/r307", 307, "ABS/", ""},
		{"/r308", 308, "ABS/", ""},
		{"/rrel", 302, "/", ""},
		{"/rloop", 302, "/rloop", ""},
		{"/rn/2", 302, "/rn/1", ""},
		{"/forbidden", 403, "", "forbidden\n"},
		{"/basic", 401, "", "unauthorized\n"},
		{"/status/418", 418, "", "status 418\n"},
	}
	for _, key := range []string{KeyWS, KeyNginx, KeyNginxTLS} {
		base := need(t, key)
		for _, tt := range tests {
			t.Run(key+tt.path, func(t *testing.T) {
				c, u := dialURL(t, base+tt.path)
				resp, _ := c.handshake(t, u, nil)
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tt.status {
					t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
				}
				want := tt.location
				if strings.HasPrefix(want, "ABS") {
					want = base + strings.TrimPrefix(want, "ABS")
				}
				if got := resp.Header.Get("Location"); got != want {
					t.Errorf("Location %q, want %q", got, want)
				}
				if string(body) != tt.body {
					t.Errorf("body %q, want %q", body, tt.body)
				}
			})
		}
	}
}

func TestAcceptedPaths(t *testing.T) {
	user, pass := need(t, KeyUser), need(t, KeyPass)
	auth := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}}
	for _, key := range []string{KeyWS, KeyNginxTLS} {
		for _, tt := range []struct {
			path string
			hdr  http.Header
		}{{"/rn/0", nil}, {"/basic", auth}, {"/anything/else?q=1", nil}} {
			t.Run(key+tt.path, func(t *testing.T) {
				c, _ := upgrade(t, need(t, key)+tt.path, tt.hdr)
				c.echo(t, opText, []byte(tt.path))
				c.closeHandshake(t)
			})
		}
	}
}

func TestSquid(t *testing.T) {
	proxy, err := url.Parse(need(t, KeySquid))
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := proxy.User.Password()
	user := proxy.User.Username()
	target := hostOf(t, KeyWS)

	for _, tt := range []struct{ name, auth string }{
		{"no credentials", ""},
		{"wrong password", user + ":" + pass + "x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := tcpDial(t, proxy.Host)
			resp := c.connectProxy(t, target, tt.auth)
			if resp.StatusCode != http.StatusProxyAuthRequired {
				t.Errorf("status %s, want 407", resp.Status)
			}
			if got := resp.Header.Get("Proxy-Authenticate"); !strings.HasPrefix(got, "Basic") {
				t.Errorf("Proxy-Authenticate %q, want Basic", got)
			}
		})
	}

	t.Run("ws", func(t *testing.T) {
		c := tcpDial(t, proxy.Host)
		if resp := c.connectProxy(t, target, user+":"+pass); resp.StatusCode != http.StatusOK {
			t.Fatalf("CONNECT status %s, want 200", resp.Status)
		}
		c.mustUpgrade(t, &url.URL{Scheme: "ws", Host: target, Path: "/"}, nil)
		c.echo(t, opText, []byte("through squid"))
		c.closeHandshake(t)
	})

	t.Run("wss", func(t *testing.T) {
		tlsTarget := hostOf(t, KeyNginxTLS)
		c := tcpDial(t, proxy.Host)
		if resp := c.connectProxy(t, tlsTarget, user+":"+pass); resp.StatusCode != http.StatusOK {
			t.Fatalf("CONNECT status %s, want 200", resp.Status)
		}
		c = startTLS(t, c, "localhost")
		c.mustUpgrade(t, &url.URL{Scheme: "wss", Host: tlsTarget, Path: "/"}, nil)
		c.echo(t, opBinary, []byte("through squid and TLS"))
		c.closeHandshake(t)
	})
}

func TestTinyproxy(t *testing.T) {
	proxy := hostOf(t, KeyTinyproxy)
	target := hostOf(t, KeyNginx)
	c := tcpDial(t, proxy)
	if resp := c.connectProxy(t, target, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT status %s, want 200", resp.Status)
	}
	c.mustUpgrade(t, &url.URL{Scheme: "ws", Host: target, Path: "/"}, nil)
	c.echo(t, opText, []byte("through tinyproxy"))
	c.closeHandshake(t)
}

func TestDante(t *testing.T) {
	target := hostOf(t, KeyWS)
	_, port, _ := strings.Cut(target, ":")

	t.Run("no auth", func(t *testing.T) {
		for _, dest := range []string{target, "localhost:" + port} {
			c := tcpDial(t, hostOf(t, KeyDante))
			if m := c.socksGreet(t, 0); m != 0 {
				t.Fatalf("method %#x, want 0 (no authentication)", m)
			}
			if err := c.socksConnect(t, dest); err != nil {
				t.Fatalf("CONNECT %s: %v", dest, err)
			}
			c.mustUpgrade(t, &url.URL{Scheme: "ws", Host: dest, Path: "/"}, nil)
			c.echo(t, opText, []byte("through dante to "+dest))
			c.closeHandshake(t)
		}
	})

	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := ln.Addr().String()
		ln.Close()
		c := tcpDial(t, hostOf(t, KeyDante))
		if m := c.socksGreet(t, 0); m != 0 {
			t.Fatalf("method %#x, want 0", m)
		}
		if err := c.socksConnect(t, closed); !errors.Is(err, errSOCKS) {
			t.Errorf("CONNECT to the closed port %s: %v, want a refusal", closed, err)
		}
	})

	proxy, err := url.Parse(need(t, KeyDanteAuth))
	if err != nil {
		t.Fatal(err)
	}
	user := proxy.User.Username()
	pass, _ := proxy.User.Password()

	t.Run("auth refuses no auth", func(t *testing.T) {
		c := tcpDial(t, proxy.Host)
		if m := c.socksGreet(t, 0); m != 0xFF {
			t.Errorf("method %#x, want 0xff (no acceptable methods)", m)
		}
	})

	t.Run("auth wrong password", func(t *testing.T) {
		c := tcpDial(t, proxy.Host)
		if m := c.socksGreet(t, 0, 2); m != 2 {
			t.Fatalf("method %#x, want 2 (username/password)", m)
		}
		if st := c.socksLogin(t, user, pass+"x"); st == 0 {
			t.Errorf("login with a wrong password succeeded")
		}
	})

	t.Run("auth", func(t *testing.T) {
		c := tcpDial(t, proxy.Host)
		if m := c.socksGreet(t, 0, 2); m != 2 {
			t.Fatalf("method %#x, want 2 (username/password)", m)
		}
		if st := c.socksLogin(t, user, pass); st != 0 {
			t.Fatalf("login status %d, want 0", st)
		}
		if err := c.socksConnect(t, target); err != nil {
			t.Fatalf("CONNECT: %v", err)
		}
		c.mustUpgrade(t, &url.URL{Scheme: "ws", Host: target, Path: "/"}, nil)
		c.echo(t, opBinary, []byte("through dante with a password"))
		c.closeHandshake(t)
	})
}
