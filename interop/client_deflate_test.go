package interop

import (
	"bytes"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
)

// A Dialer with Compression negotiates permessage-deflate with the bed's
// deflate servers, and the echoes of large messages come back compressed
// (RSV1 seen on the wire) and inflate to what was sent; a server without
// it declines and the connection works uncompressed.
func TestClientDeflate(t *testing.T) {
	checkGoroutines(t)
	for _, tt := range []struct {
		key  string
		want bool
	}{
		{KeyWS, false},
		{KeyWSDeflate, true},
		{KeyPython, true},
		{KeyAutobahn, true},
		{KeyNginx, false},
	} {
		for _, preset := range []conn.CompressionPreset{conn.CompressionDefault, conn.CompressionSmall} {
			t.Run(tt.key+"/"+preset.String(), func(t *testing.T) {
				ctx := testContext(t)
				d, u := clientDialer(t, tt.key)
				d.Config.Compression = &conn.Compression{Preset: preset}
				c := dialClient(t, ctx, d, u)
				p, ok := c.Compression()
				t.Logf("agreed %v: %v", ok, p)
				if ok != tt.want {
					t.Fatalf("Compression() agreed %v, want %v", ok, tt.want)
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
							t.Fatal(err)
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
