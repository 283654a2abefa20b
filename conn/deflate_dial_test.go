package conn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/wstest"
)

// deflateServer answers every handshake with answer in
// Sec-WebSocket-Extensions (none if empty), records the offer, and echoes
// messages compressed with the agreed parameters.
func deflateServer(t *testing.T, answer string, agreed handshake.DeflateParams, offer chan<- string) *wstest.Server {
	return serve(t, func(p *wstest.Peer) {
		offer <- p.Request.Header.Get("Sec-WebSocket-Extensions")
		var cfg conn.Config
		if answer != "" {
			cfg.Compression = &conn.Compression{Agreed: agreed}
		}
		c, err := p.Accept(&wstest.Upgrade{Extensions: answer}, &cfg)
		if err != nil {
			return
		}
		ctx := context.Background()
		for {
			op, m, err := c.ReadMessage(ctx)
			if err != nil {
				return
			}
			if c.WriteMessage(ctx, op, m) != nil {
				return
			}
		}
	})
}

// A Dialer with Compression offers permessage-deflate, uses what the
// server agreed (visible on the Conn, compressed messages both ways), and
// stays uncompressed when the server declines.
func TestDialDeflate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		preset    conn.CompressionPreset
		answer    string
		agreed    handshake.DeflateParams
		wantOffer string
	}{
		{"default, agreed with windows", conn.CompressionDefault, "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10",
			handshake.DeflateParams{ServerMaxWindowBits: 12, ClientMaxWindowBits: 10}, "permessage-deflate; client_max_window_bits"},
		{"small, first offer agreed", conn.CompressionSmall, "permessage-deflate; server_max_window_bits=10; client_no_context_takeover",
			handshake.DeflateParams{ServerMaxWindowBits: 10, ClientNoContextTakeover: true},
			"permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate; client_max_window_bits"},
		{"declined", conn.CompressionBest, "", handshake.DeflateParams{}, "permessage-deflate; client_max_window_bits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offer := make(chan string, 1)
			srv := deflateServer(t, tc.answer, tc.agreed, offer)
			c := dial(t, &conn.Dialer{Config: conn.Config{Compression: &conn.Compression{Preset: tc.preset}}}, srv.URL)
			if got := <-offer; got != tc.wantOffer {
				t.Errorf("offer %q, want %q", got, tc.wantOffer)
			}
			got, ok := c.Compression()
			if ok != (tc.answer != "") || got != tc.agreed {
				t.Errorf("Compression() = %+v, %v; want %+v", got, ok, tc.agreed)
			}
			ctx := testCtx(t)
			for i := range 3 {
				m := textOf(5000, i)
				if err := c.WriteMessage(ctx, frame.OpText, m); err != nil {
					t.Fatal(err)
				}
				// Read the echo raw, to see whether it came compressed.
				f, err := c.ReadFrame(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				if f.Rsv1 != ok {
					t.Fatalf("echo RSV1 %v with compression %v", f.Rsv1, ok)
				}
				if !ok && !bytes.Equal(f.Payload, m) {
					t.Fatal("uncompressed echo differs")
				}
				if ok && len(f.Payload) > len(m)/2 {
					t.Errorf("echo of %d bytes compressed to %d", len(m), len(f.Payload))
				}
			}
		})
	}
}

// Answers that break RFC 7692 fail the dial with a typed error.
func TestDialDeflateBadAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		d      conn.Dialer
		answer string
	}{
		{"window bits out of range", conn.Dialer{Config: conn.Config{Compression: &conn.Compression{}}}, "permessage-deflate; server_max_window_bits=16"},
		{"unknown parameter", conn.Dialer{Config: conn.Config{Compression: &conn.Compression{}}}, "permessage-deflate; x=1"},
		{"client bits larger than offered", conn.Dialer{Config: conn.Config{Compression: &conn.Compression{
			Offers: []handshake.DeflateParams{{ClientMaxWindowBits: 9}}}}}, "permessage-deflate; client_max_window_bits=10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offer := make(chan string, 1)
			srv := deflateServer(t, tc.answer, handshake.DeflateParams{}, offer)
			_, err := noProxy(&tc.d).Dial(testCtx(t), srv.URL)
			var ee *handshake.ExtensionError
			if !errors.As(err, &ee) || !errors.Is(err, handshake.ErrBadExtension) {
				t.Fatalf("Dial = %v, want a *handshake.ExtensionError", err)
			}
			t.Log(err)
		})
	}
}

// A permessage-deflate offer written into Dialer.Header fails Dial and
// DialConn with ErrExtensionHeader before anything is sent, with or
// without Compression, however the field is spelt and even malformed;
// another extension in Header is sent as it is.
func TestDialDeflateHeaderOffer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header http.Header
		cp     *conn.Compression
		fails  bool
	}{
		{"header only", http.Header{"Sec-Websocket-Extensions": {"permessage-deflate; client_max_window_bits"}}, nil, true},
		{"header and Compression", http.Header{"Sec-Websocket-Extensions": {"permessage-deflate"}}, &conn.Compression{}, true},
		{"spelt otherwise, second element", http.Header{"sec-websocket-extensions": {"x-foo, PerMessage-Deflate; x=1"}}, nil, true},
		{"another extension", http.Header{"Sec-Websocket-Extensions": {"x-foo"}}, nil, false},
		{"another extension and Compression", http.Header{"Sec-Websocket-Extensions": {"x-foo"}}, &conn.Compression{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dials := 0
			d := conn.Dialer{Header: tc.header, Config: conn.Config{Compression: tc.cp}}
			d.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials++
				var nd net.Dialer
				return nd.DialContext(ctx, network, addr)
			}
			offer := make(chan string, 1)
			srv := deflateServer(t, "", handshake.DeflateParams{}, offer)
			c, err := noProxy(&d).Dial(testCtx(t), srv.URL)
			if !tc.fails {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				c.CloseNow()
				if got := <-offer; !strings.Contains(got, "x-foo") {
					t.Errorf("offer %q lacks the Header's extension", got)
				}
				return
			}
			if !errors.Is(err, conn.ErrExtensionHeader) || dials != 0 {
				t.Fatalf("Dial = %v after %d connections, want ErrExtensionHeader before any", err, dials)
			}
			if want := "Dialer.Config.Compression"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say to use %s", err, want)
			}
			client, server := net.Pipe()
			defer server.Close()
			if _, err := d.DialConn(testCtx(t), client, "ws://example.test/"); !errors.Is(err, conn.ErrExtensionHeader) {
				t.Fatalf("DialConn = %v, want ErrExtensionHeader", err)
			}
			if _, err := client.Write([]byte{0}); !errors.Is(err, io.ErrClosedPipe) {
				t.Errorf("DialConn left its connection open: %v", err)
			}
		})
	}
}
