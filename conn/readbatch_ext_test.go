package conn_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
)

// With compression agreed, ReadMessages takes the uncompressed messages
// whole in the buffer and leaves a compressed one to the next call, which
// inflates it: every message arrives, in order, with the history of
// context takeover kept, with and without it.
func TestReadMessagesDeflate(t *testing.T) {
	for _, p := range []handshake.DeflateParams{{}, {ServerNoContextTakeover: true, ClientNoContextTakeover: true}} {
		c, s, _, _ := deflatePair(p, conn.Config{}, conn.Config{})
		ctx := context.Background()
		var want [][]byte
		for i, compressed := range []bool{true, false, false, true, false, true, true, false} {
			m := []byte{byte('a' + i)}
			if compressed {
				m = textOf(600, i)
			}
			want = append(want, m)
			if err := s.WriteMessage(ctx, frame.OpText, m); err != nil {
				t.Fatal(err)
			}
		}
		ms := make([]frame.Frame, 8)
		var buf []byte
		var got [][]byte
		var bursts []int
		for len(got) < len(want) {
			n, b, err := c.ReadMessages(ctx, ms, buf[:0])
			if err != nil {
				t.Fatalf("%+v: after %d messages: %v", p, len(got), err)
			}
			buf = b
			bursts = append(bursts, n)
			for _, m := range ms[:n] {
				if m.Opcode != frame.OpText || m.Rsv1 {
					t.Fatalf("%+v: %v rsv1=%v", p, m.Opcode, m.Rsv1)
				}
				got = append(got, bytes.Clone(m.Payload))
			}
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%+v: message %d: %d bytes, want %d", p, i, len(got[i]), len(want[i]))
			}
		}
		// A compressed message (c) ends a burst: c a b | c d | c | c e.
		if fmt.Sprint(bursts) != "[3 2 1 2]" {
			t.Errorf("%+v: bursts of %v, want [3 2 1 2]", p, bursts)
		}
	}
}
