package conn_test

import (
	"context"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/wstest"
)

// The Dialer's size limits bound the buffers of the received data, not
// only the data: RecvFrame's buffer for a frame of exactly MaxFrameSize,
// and Recv's for a message of exactly MaxMessageSize, are no larger than
// the limit, with limits that are not a power of two.
func TestReceiveBuffersWithinLimits(t *testing.T) {
	checkLeaks(t)
	const frameLimit, msgLimit = 100_000, 250_000
	d := &conn.Dialer{Config: conn.Config{MaxFrameSize: frameLimit, MaxMessageSize: msgLimit}}
	c := dialPipe(t, d, func(p *wstest.Peer) {
		p.Upgrade(nil)
		p.WriteFrame(frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: frameLimit}, Payload: make([]byte, frameLimit)})
		for sent := 0; sent < msgLimit; sent += frameLimit / 2 {
			op := frame.OpContinuation
			if sent == 0 {
				op = frame.OpBinary
			}
			n := min(frameLimit/2, msgLimit-sent)
			p.WriteFrame(frame.Frame{Header: frame.Header{Fin: sent+n == msgLimit, Opcode: op, Length: int64(n)}, Payload: make([]byte, n)})
		}
		p.ReadClose()
	})
	defer c.Shutdown()
	ctx := context.Background()
	f, err := c.RecvFrame(ctx)
	if err != nil || len(f.Payload) != frameLimit {
		t.Fatalf("RecvFrame = %d bytes, %v", len(f.Payload), err)
	}
	if cap(f.Payload) > frameLimit {
		t.Errorf("RecvFrame buffer of %d bytes for MaxFrameSize %d", cap(f.Payload), frameLimit)
	}
	p, err := c.Recv(ctx)
	if err != nil || len(p) != msgLimit {
		t.Fatalf("Recv = %d bytes, %v", len(p), err)
	}
	if cap(p) > msgLimit {
		t.Errorf("Recv buffer of %d bytes for MaxMessageSize %d", cap(p), msgLimit)
	}
}
