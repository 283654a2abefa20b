package interop

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestH2Settings: every RFC 8441 server of the bed advertises
// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 in its first SETTINGS (RFC 8441
// §3); the fallback server does not.
func TestH2Settings(t *testing.T) {
	for _, key := range append(slices.Clone(h2Servers), KeyH2NoXConnect, KeyH2NoXConnectTLS) {
		t.Run(key, func(t *testing.T) {
			p := newH2Probe(t, need(t, key))
			v, ok := p.settings[http2.SettingEnableConnectProtocol]
			want := !strings.Contains(key, "NOXCONNECT")
			if (ok && v == 1) != want {
				t.Errorf("ENABLE_CONNECT_PROTOCOL = %d (sent: %v), want advertised: %v; settings %v", v, ok, want, p.settings)
			}
		})
	}
}

// h2AcceptQuirk: servers that send Sec-WebSocket-Accept over HTTP/2,
// where RFC 8441 §5 has no key and no accept. HAProxy passes its HTTP/1.1
// backend's through (it makes up a key for the backend).
var h2AcceptQuirk = map[string]bool{KeyHAProxy: true, KeyHAProxyTLS: true}

func TestH2EchoServers(t *testing.T) {
	for _, key := range h2Servers {
		t.Run(key, func(t *testing.T) {
			c, resp := h2Upgrade(t, need(t, key), http.Header{"Sec-WebSocket-Protocol": {"superchat, chat"}})
			if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "chat" && got != "superchat" {
				t.Errorf("Sec-WebSocket-Protocol %q, want one of the offered", got)
			}
			if got := resp.Header.Get("Sec-WebSocket-Accept"); (got != "") != h2AcceptQuirk[key] {
				t.Errorf("Sec-WebSocket-Accept %q; quirk recorded: %v", got, h2AcceptQuirk[key])
			}
			if got := resp.Header.Get("Sec-WebSocket-Extensions"); got != "" {
				t.Errorf("Sec-WebSocket-Extensions %q without an offer", got)
			}
			c.echoSession(t)
		})
	}
}

func TestH2DeflateNegotiation(t *testing.T) {
	offer := http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate; client_max_window_bits"}}
	want := map[string]bool{KeyH2Node: true, KeyH2NodeTLS: true, KeyHypercorn: true, KeyHypercornTLS: true, KeyHAProxy: true, KeyHAProxyTLS: true}
	for _, key := range h2Servers {
		t.Run(key, func(t *testing.T) {
			c, resp := h2Upgrade(t, need(t, key), offer)
			got := resp.Header.Get("Sec-WebSocket-Extensions")
			if strings.HasPrefix(got, "permessage-deflate") != want[key] {
				t.Errorf("Sec-WebSocket-Extensions %q, want permessage-deflate: %v", got, want[key])
			}
			c.Close()
		})
	}
}

// TestH2StreamEnding records, frame by frame, how each server ends the
// stream after answering the client's close frame: while the client
// keeps its side open, and when the client ends its side with END_STREAM
// as soon as the close reply arrived (unless the reply ended the
// server's side already). A strict client ends its side after the
// closing handshake, and takes RST_STREAM or a lost connection after a
// complete closing handshake for the end it is.
func TestH2StreamEnding(t *testing.T) {
	const wait = time.Second
	tests := []struct {
		key         string
		open, ended []string
	}{
		// x/net ends the stream when the handler returns; while the
		// client's side is open it then asks it to stop (RFC 9113 §8.1).
		{KeyH2Go, []string{"DATA", "END_STREAM", "RST_STREAM NO_ERROR"}, []string{"DATA", "END_STREAM"}},
		// ws ends the stream (socket.end()) and waits for the client.
		{KeyH2Node, []string{"DATA", "END_STREAM", "nothing for 1s"}, []string{"DATA", "END_STREAM"}},
		// Hypercorn 0.13 answers the close frame and forgets the stream:
		// no END_STREAM, no RST_STREAM; when the client then ends its
		// side, Hypercorn closes the TCP connection without GOAWAY.
		{KeyHypercorn, []string{"DATA", "nothing for 1s"}, []string{"DATA", "EOF"}},
		// HAProxy ends the stream, then resets it with CANCEL at once.
		{KeyHAProxy, []string{"DATA", "END_STREAM", "RST_STREAM CANCEL"}, []string{"DATA", "END_STREAM"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			for _, clientEnds := range []bool{false, true} {
				rawURL := need(t, tt.key)
				p := newH2Probe(t, rawURL)
				if status, h := p.connect(t, hostPort(t, rawURL), "/"); status != http.StatusOK {
					t.Fatalf("status %d %v, want 200", status, h)
				}
				p.send(t, maskedClose(), false)
				var got []string
				if clientEnds {
					// The close reply first, then END_STREAM from the client.
					got = p.untilData(t)
					if got[len(got)-1] == "DATA" {
						p.send(t, nil, true)
						got = append(got, p.ending(t, wait, true)...)
					}
				} else {
					got = p.ending(t, wait, false)
				}
				want := tt.open
				if clientEnds {
					want = tt.ended
				}
				t.Logf("client ends its side: %v: %v", clientEnds, got)
				if !slices.Equal(got, want) {
					t.Errorf("client ends its side: %v: server sent %v, want %v", clientEnds, got, want)
				}
			}
		})
	}
}

// TestH2NoXConnect: the fallback server speaks HTTP/2 without
// ENABLE_CONNECT_PROTOCOL: x/net's client will not send an extended
// CONNECT to it, one sent anyway is reset with PROTOCOL_ERROR, and
// HTTP/1.1 (ALPN http/1.1 on its TLS port) upgrades and echoes.
func TestH2NoXConnect(t *testing.T) {
	for _, key := range []string{KeyH2NoXConnect, KeyH2NoXConnectTLS} {
		t.Run(key, func(t *testing.T) {
			rawURL := need(t, key)
			if _, _, err := h2Connect(t, rawURL, nil); err == nil || !strings.Contains(err.Error(), "extended connect not supported") {
				t.Errorf("CONNECT: %v, want x/net's extended connect not supported", err)
			}
			p := newH2Probe(t, rawURL)
			p.connectHeaders(t, hostPort(t, rawURL), "/")
			if got := p.untilData(t); !slices.Equal(got, []string{"RST_STREAM PROTOCOL_ERROR"}) {
				t.Errorf("extended CONNECT sent anyway: %v, want RST_STREAM PROTOCOL_ERROR", got)
			}
		})
	}
	c, _ := upgrade(t, need(t, KeyH2NoXConnectTLS), nil)
	c.echo(t, opText, []byte("over HTTP/1.1"))
	c.closeHandshake(t)
}
