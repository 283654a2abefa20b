package conn_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
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

// Answers that break RFC 7692 fail the dial with a typed error, and so
// does an offer written into Dialer.Header instead of Compression.
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
		{"offered through Header", conn.Dialer{Header: http.Header{"Sec-Websocket-Extensions": {"permessage-deflate"}}}, "permessage-deflate"},
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
