package conn

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
)

// A MessageWriter hands its bytes to the negotiated extension as they are
// written and sends the encoded bytes as a fragment each time a buffer's
// worth is ready, the rest at Close: RSV1 on the first frame only.
func TestExtensionEncodesStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, z := pipeConn(t, RoleClient)
		enc := &upper{}
		c.enc = enc
		got := readFrames(z, 3)
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
		for i, op := range []frame.Opcode{frame.OpText, frame.OpContinuation, frame.OpContinuation} {
			f := <-got
			n := min(len(want), writeBufferSize)
			if f.Opcode != op || f.Fin != (i == 2) || f.Rsv1 != (i == 0) || !bytes.Equal(f.Payload, want[:n]) {
				t.Errorf("frame %d: %v fin=%v rsv1=%v %d bytes, want %v fin=%v rsv1=%v %d bytes",
					i, f.Opcode, f.Fin, f.Rsv1, len(f.Payload), op, i == 2, i == 0, n)
			}
			want = want[n:]
		}
		if enc.parts != 3 {
			t.Errorf("the encoder was handed %d parts, want 3", enc.parts)
		}
	})
}

// A writer stopped by its context before its first fragment leaves the
// connection usable; one stopped after it closes the connection, since the
// message can never be finished.
func TestNextWriterStopped(t *testing.T) {
	for _, tt := range []struct {
		name   string
		frames int // frames the peer reads before it stops reading
		usable bool
	}{
		{"before the first fragment", 0, true},
		{"after the first fragment", 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, z := pipeConn(t, RoleClient)
				got := readFrames(z, tt.frames)
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				w, err := c.NextWriter(ctx, frame.OpBinary)
				if err != nil {
					t.Fatal(err)
				}
				_, err = w.Write(make([]byte, 3*writeBufferSize))
				var te *TimeoutError
				if !errors.As(err, &te) {
					t.Fatalf("Write = %v, want a *TimeoutError", err)
				}
				if cerr := w.Close(); !errors.Is(cerr, context.DeadlineExceeded) {
					t.Errorf("Close = %v, want the Write's error", cerr)
				}
				for range tt.frames {
					<-got
				}
				synctest.Wait()
				done := make(chan error, 1)
				go func() { done <- c.WriteMessage(context.Background(), frame.OpText, []byte("next")) }()
				if tt.usable {
					f := <-readFrames(z, 1)
					if string(f.Payload) != "next" || f.Opcode != frame.OpText {
						t.Errorf("peer read %v, want the next message", f)
					}
				}
				if err := <-done; (err == nil) != tt.usable {
					t.Errorf("WriteMessage after the stop = %v; usable: %v", err, tt.usable)
				}
			})
		})
	}
}
