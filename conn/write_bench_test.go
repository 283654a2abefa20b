package conn_test

import (
	"context"
	"testing"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/wstest"
)

// BenchmarkSendLarge sends 1 MiB binary messages over loopback TCP to a
// peer that discards them: 32 pieces of one write buffer each.
func BenchmarkSendLarge(b *testing.B) {
	s := serve(b, wstest.Discard)
	c := dial(b, nil, s.URL)
	p := make([]byte, 1<<20)
	ctx := context.Background()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.WriteMessage(ctx, frame.OpBinary, p); err != nil {
			b.Fatal(err)
		}
	}
}
