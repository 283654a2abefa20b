package conn

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"

	"github.com/framewire/ws/frame"
)

// A MessageWriter hands its bytes to the negotiated extension as they are
// written and sends the encoded message in one frame at Close.
func TestExtensionEncodesStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, z := pipeConn(t, RoleClient)
		enc := &upper{}
		c.enc = enc
		got := readFrames(z, 1)
		w, err := c.NextWriter(context.Background(), frame.OpText)
		if err != nil {
			t.Fatal(err)
		}
		long := bytes.Repeat([]byte("ab"), writeBufferSize) // fills the buffer twice
		for _, p := range [][]byte{long, []byte("-end")} {
			if _, err := w.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		want := append(bytes.ToUpper(long), "-END"...)
		if f := <-got; f.Opcode != frame.OpText || !f.Fin || !f.Rsv1 || !bytes.Equal(f.Payload, want) {
			t.Errorf("peer read %v fin=%v rsv1=%v %d bytes, want one encoded text frame of %d", f.Opcode, f.Fin, f.Rsv1, len(f.Payload), len(want))
		}
		if enc.parts != 3 {
			t.Errorf("the encoder was handed %d parts, want 3", enc.parts)
		}
	})
}
