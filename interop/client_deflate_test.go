package interop

import (
	"bytes"
	"strings"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
)

// nginxDeflatePaths are the paths under which KeyNginx and KeyNginxTLS
// proxy the bed's permessage-deflate servers (start.sh), and the key of
// each server.
var nginxDeflatePaths = []struct{ path, key string }{
	{"/ws-deflate/", KeyWSDeflate},
	{"/py/", KeyPython},
	{"/autobahn/", KeyAutobahn},
	{"/autobahn-nct/", KeyAutobahnNCT},
}

// deflateTarget is an endpoint of the bed, directly or through nginx, and
// whether it agrees permessage-deflate.
type deflateTarget struct {
	key, path string
	want      bool
	// noContext: the server asks the client to compress each message
	// with an empty history (client_no_context_takeover).
	noContext bool
}

func deflateTargets() []deflateTarget {
	ts := []deflateTarget{
		{key: KeyWS},
		{key: KeyWSDeflate, want: true},
		{key: KeyPython, want: true},
		{key: KeyAutobahn, want: true},
		{key: KeyAutobahnNCT, want: true, noContext: true},
		{key: KeyNginx},
	}
	for _, front := range []string{KeyNginx, KeyNginxTLS} {
		for _, p := range nginxDeflatePaths {
			ts = append(ts, deflateTarget{key: front, path: p.path, want: true, noContext: p.key == KeyAutobahnNCT})
		}
	}
	return ts
}

// A Dialer with Compression negotiates permessage-deflate with the bed's
// deflate servers, directly and through nginx (ws:// and wss://): the
// agreed parameters are on Conn.Compression(), the echoes of large
// messages come back compressed (RSV1 seen on the wire) and inflate to
// what was sent. A server without it declines and the connection works
// uncompressed. The same 20000-byte message is sent twice: where the
// server asked for client_no_context_takeover it inflates the second with
// an empty history, so a client that kept its history fails there.
func TestClientDeflate(t *testing.T) {
	checkGoroutines(t)
	for _, tt := range deflateTargets() {
		for _, preset := range []conn.CompressionPreset{conn.CompressionDefault, conn.CompressionSmall} {
			t.Run(tt.key+strings.TrimSuffix(tt.path, "/")+"/"+preset.String(), func(t *testing.T) {
				ctx := testContext(t)
				d, u := clientDialer(t, tt.key)
				d.Config.Compression = &conn.Compression{Preset: preset}
				c := dialClient(t, ctx, d, u+tt.path)
				p, ok := c.Compression()
				t.Logf("agreed %v: %v", ok, p)
				if ok != tt.want {
					t.Fatalf("Compression() agreed %v, want %v", ok, tt.want)
				}
				if ok && p.ClientNoContextTakeover != tt.noContext {
					t.Errorf("client_no_context_takeover agreed %v, want %v", p.ClientNoContextTakeover, tt.noContext)
				}
				for i, m := range [][]byte{textPayload(10), textPayload(20000), textPayload(20000), binaryPayload(70000)} {
					op := frame.OpText
					if i == 3 {
						op = frame.OpBinary
					}
					if err := c.WriteMessage(ctx, op, m); err != nil {
						t.Fatal(err)
					}
					// The first frame of the echo shows whether the server
					// compressed it; the message is then read whole.
					var got []byte
					for first := true; ; first = false {
						f, err := c.ReadFrame(ctx, nil)
						if err != nil {
							t.Fatalf("echo of message %d (%d bytes): %v", i, len(m), err)
						}
						if f.Opcode.IsControl() {
							continue
						}
						if first && len(m) > 1000 && f.Rsv1 != ok {
							t.Errorf("echo of %d bytes: RSV1 %v, compression %v", len(m), f.Rsv1, ok)
						}
						got = append(got, f.Payload...)
						if f.Fin {
							break
						}
					}
					if !ok && !bytes.Equal(got, m) {
						t.Fatalf("echo of %d bytes differs", len(m))
					}
				}
				// ReadMessage inflates: a compressed echo matches.
				m := textPayload(30000)
				echoMessage(t, ctx, c, frame.OpText, m)
				c.Close(ctx, 1000, "")
			})
		}
	}
}

// nginx passes the permessage-deflate answer through unchanged: a client
// agrees with a server behind nginx exactly what it agrees with the
// server directly.
func TestClientDeflateNginxAgreement(t *testing.T) {
	checkGoroutines(t)
	agreed := func(t *testing.T, key, path string) handshake.DeflateParams {
		ctx := testContext(t)
		d, u := clientDialer(t, key)
		d.Config.Compression = &conn.Compression{Preset: conn.CompressionSmall}
		c := dialClient(t, ctx, d, u+path)
		defer c.Close(ctx, 1000, "")
		p, ok := c.Compression()
		if !ok {
			t.Fatalf("%s%s: no compression agreed", key, path)
		}
		return p
	}
	for _, p := range nginxDeflatePaths {
		t.Run(p.key, func(t *testing.T) {
			direct := agreed(t, p.key, "")
			for _, front := range []string{KeyNginx, KeyNginxTLS} {
				if got := agreed(t, front, p.path); got != direct {
					t.Errorf("through %s: agreed %v, directly %v", front, got, direct)
				}
			}
		})
	}
}
