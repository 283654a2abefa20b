package conn_test

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
)

// FuzzInflate receives data as a compressed message split into frames at
// cut, twice (the second message inflates with the first as history). The
// Conn must never panic, must keep to its limit, must fail with 1007, 1009
// or 1002 when it fails, and must agree with compress/flate on every
// message it returns.
func FuzzInflate(f *testing.F) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	f.Add(flateMessage(f, w, &buf, textOf(3000, 0)), 100)
	f.Add(flateMessage(f, w, &buf, textOf(300, 1)), 7)
	f.Add([]byte{0xff, 0x00}, 1)
	f.Add(zeroStream(f, 1), 50)
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		c, _, _, s2c := deflatePair(handshake.DeflateParams{}, conn.Config{MaxMessageSize: limit}, conn.Config{})
		cut = max(cut%(len(data)+1), 1)
		for range 2 {
			s2c.Write(serverFrames(fragments(frame.OpBinary, data, cut)...))
		}
		// The reference: compress/flate on the same stream, history kept.
		ref := flate.NewReader(nil)
		var hist []byte
		for i := range 2 {
			_, got, err := c.ReadMessage(context.Background())
			if err != nil {
				var fe *frame.Error
				if !errors.As(err, &fe) || (fe.Code != 1007 && fe.Code != 1009 && fe.Code != 1002) {
					t.Fatalf("message %d: %v, want a failure with 1007, 1009 or 1002", i, err)
				}
				return
			}
			if len(got) > limit {
				t.Fatalf("message %d of %d bytes beyond the limit", i, len(got))
			}
			ref.(flate.Resetter).Reset(io.MultiReader(bytes.NewReader(data), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff})), hist[max(len(hist)-1<<15, 0):])
			want, err := io.ReadAll(io.LimitReader(ref, limit+1))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("message %d: %d bytes; compress/flate: %d bytes, %v", i, len(got), len(want), err)
			}
			hist = append(hist, got...)
		}
	})
}
