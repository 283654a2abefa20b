package interop

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
)

// TestClientHTTP2Echo: the client opens a WebSocket over HTTP/2 to every
// RFC 8441 server of the bed, h2c with prior knowledge and TLS, with
// HTTP2Only and, over TLS, HTTP2Prefer, negotiates a subprotocol, echoes
// text and binary messages (one over the initial flow-control window)
// and closes with the closing handshake.
func TestClientHTTP2Echo(t *testing.T) {
	checkGoroutines(t)
	for _, key := range h2Servers {
		modes := []conn.HTTP2Mode{conn.HTTP2Only}
		if strings.HasSuffix(key, "_TLS") {
			modes = append(modes, conn.HTTP2Prefer)
		}
		for _, mode := range modes {
			t.Run(key+"/"+mode.String(), func(t *testing.T) {
				ctx := testContext(t)
				d, u := clientDialer(t, key)
				d.HTTP2 = mode
				d.Subprotocols = []string{"superchat", "chat"}
				c := dialClient(t, ctx, d, u)
				if c.Proto() != "HTTP/2.0" || c.StatusCode() != 200 {
					t.Fatalf("Proto, Status = %q, %d; want HTTP/2.0, 200", c.Proto(), c.StatusCode())
				}
				if p := c.Subprotocol(); p != "superchat" && p != "chat" {
					t.Errorf("Subprotocol %q, want one of the offered", p)
				}
				echoMessage(t, ctx, c, frame.OpText, []byte("héllo over HTTP/2"))
				echoMessage(t, ctx, c, frame.OpBinary, binaryPayload(70000))
				echoMessage(t, ctx, c, frame.OpText, textPayload(1<<20))
				closeH2(t, key, c)
			})
		}
	}
}

// closeH2 closes c with the closing handshake. Over Hypercorn, which never
// ends its side of the stream after the close reply (TestH2StreamEnding),
// Close still returns once the handshake is complete, within the close
// timeout.
func closeH2(t *testing.T, key string, c *conn.Conn) {
	t.Helper()
	ctx := testContext(t)
	start := time.Now()
	err := c.Close(ctx, 1000, "")
	t.Logf("Close: %v after %v", err, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Errorf("Close: %v, want nil (the server answered)", err)
	}
	checkClosed(t, ctx, c, conn.ErrClosed)
}

// TestClientHTTP2Deflate: permessage-deflate over HTTP/2 with the servers
// that speak it (Node's ws, Hypercorn's wsproto, the Node.js server behind
// HAProxy); the Go echo declines.
func TestClientHTTP2Deflate(t *testing.T) {
	checkGoroutines(t)
	for _, key := range h2Servers {
		want := !strings.HasPrefix(key, KeyH2Go)
		t.Run(key, func(t *testing.T) {
			ctx := testContext(t)
			d, u := clientDialer(t, key)
			d.HTTP2 = conn.HTTP2Only
			d.Config.Compression = &conn.Compression{Preset: conn.CompressionDefault}
			c := dialClient(t, ctx, d, u)
			p, ok := c.Compression()
			t.Logf("agreed %v: %v", ok, p)
			if ok != want || c.Proto() != "HTTP/2.0" {
				t.Fatalf("Compression() agreed %v over %s, want %v over HTTP/2.0", ok, c.Proto(), want)
			}
			for _, n := range []int{10, 20000, 70000, 1 << 20} {
				echoMessage(t, ctx, c, frame.OpText, textPayload(n))
			}
			// The last echo read frame by frame: RSV1 on the wire shows
			// the server compressed it. (ReadFrame does not inflate, so
			// nothing is read by message after it.)
			if err := c.WriteMessage(ctx, frame.OpText, textPayload(20000)); err != nil {
				t.Fatal(err)
			}
			f, err := c.ReadFrame(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if f.Rsv1 != ok {
				t.Errorf("echo of 20000 bytes: RSV1 %v, compression %v", f.Rsv1, ok)
			}
			closeH2(t, key, c)
		})
	}
}

// TestClientHTTP2Fallback: against the HTTP/2 server that does not set
// SETTINGS_ENABLE_CONNECT_PROTOCOL, HTTP2Prefer falls back to HTTP/1.1 and
// works; HTTP2Only fails with ErrHTTP2Unavailable, over TLS and h2c.
func TestClientHTTP2Fallback(t *testing.T) {
	checkGoroutines(t)
	ctx := testContext(t)
	d, u := clientDialer(t, KeyH2NoXConnectTLS)
	d.HTTP2 = conn.HTTP2Prefer
	c := dialClient(t, ctx, d, u)
	if c.Proto() != "HTTP/1.1" || c.StatusCode() != 101 {
		t.Errorf("Prefer: Proto, Status = %q, %d; want HTTP/1.1, 101", c.Proto(), c.StatusCode())
	}
	echoMessage(t, ctx, c, frame.OpText, []byte("fell back"))
	if err := c.Close(ctx, 1000, ""); err != nil {
		t.Errorf("Close: %v", err)
	}
	for _, key := range []string{KeyH2NoXConnectTLS, KeyH2NoXConnect} {
		d, u := clientDialer(t, key)
		d.HTTP2 = conn.HTTP2Only
		c, err := d.Dial(ctx, u)
		if err == nil {
			c.CloseNow()
		}
		if !errors.Is(err, conn.ErrHTTP2Unavailable) {
			t.Errorf("%s with HTTP2Only: Dial = %v, want ErrHTTP2Unavailable", key, err)
		}
	}
}
