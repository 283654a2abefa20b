package app_test

import (
	"context"
	"testing"

	"github.com/framewire/ws/app"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/wstest"
)

// BenchmarkReceive has an App receive 16 B binary messages that a peer on
// loopback TCP streams as fast as it can: one op is one message handed to
// OnMessage, the App's read path from the socket to the handler.
func BenchmarkReceive(b *testing.B) {
	var stream []byte
	for len(stream) < 1<<20 {
		stream, _ = frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpBinary}, Payload: make([]byte, 16)}.AppendBinary(stream)
	}
	s := wstest.NewServer(func(p *wstest.Peer) {
		p.Upgrade(nil)
		for p.Write(stream) == nil {
		}
	})
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	started := false
	a := &app.App{URL: s.URL}
	a.OnMessage = func(_ *app.App, _ frame.Opcode, p []byte) {
		if !started {
			started = true
			b.ReportAllocs()
			b.ResetTimer()
		}
		if n++; n == b.N {
			b.StopTimer()
			cancel()
		}
	}
	a.Run(ctx)
	if n < b.N {
		b.Fatalf("%d messages of %d", n, b.N)
	}
}
