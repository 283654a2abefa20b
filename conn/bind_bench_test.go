package conn_test

import (
	"context"
	"testing"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/wstest"
)

// bindContexts are the contexts a caller passes, call after call: one
// that cannot end, one cancellable context kept for every call, and a
// fresh one with a deadline per call.
var bindContexts = []string{"Background", "WithCancel-reused", "WithTimeout-per-call"}

// withBindContext runs call with the context kind names, as a benchmark
// loop would: the reused context is made once.
func withBindContext(b *testing.B, kind string, call func(ctx context.Context) error) {
	ctx := context.Background()
	if kind == "WithCancel-reused" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
	}
	b.ReportAllocs()
	for b.Loop() {
		cctx, cancel := ctx, context.CancelFunc(nil)
		if kind == "WithTimeout-per-call" {
			cctx, cancel = context.WithTimeout(ctx, time.Minute)
		}
		err := call(cctx)
		if cancel != nil {
			cancel()
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBindLoopback receives and sends small messages over loopback
// TCP with the contexts of bindContexts: what binding a context costs a
// call on a real socket.
func BenchmarkBindLoopback(b *testing.B) {
	for _, size := range []int{16, 125} {
		for _, kind := range bindContexts {
			b.Run("recv/"+sizeName(size)+"/"+kind, func(b *testing.B) {
				var batch []byte
				for len(batch) < 1<<20 {
					batch = append(batch, rawFrame(true, frame.OpBinary, make([]byte, size))...)
				}
				s := serve(b, func(p *wstest.Peer) {
					p.Upgrade(nil)
					for p.Write(batch) == nil {
					}
				})
				c := dial(b, nil, s.URL)
				withBindContext(b, kind, func(ctx context.Context) error {
					_, _, err := c.ReadMessage(ctx)
					return err
				})
			})
			b.Run("send/"+sizeName(size)+"/"+kind, func(b *testing.B) {
				s := serve(b, wstest.Discard)
				c := dial(b, nil, s.URL)
				p := make([]byte, size)
				withBindContext(b, kind, func(ctx context.Context) error {
					return c.WriteMessage(ctx, frame.OpBinary, p)
				})
			})
		}
	}
}
