package conn_test

import (
	"context"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/wstest"
)

// The Dialer's size limits bound the buffers of the received data, not
// only the data: the Conn's buffer for a ReadFrame of exactly
// MaxFrameSize, and for a message of exactly MaxMessageSize, are no larger than
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
	defer c.CloseNow()
	ctx := context.Background()
	f, err := c.ReadFrame(ctx, nil)
	if err != nil || len(f.Payload) != frameLimit {
		t.Fatalf("ReadFrame = %d bytes, %v", len(f.Payload), err)
	}
	if n, _ := conn.ReceiveBufferCaps(c); n > frameLimit {
		t.Errorf("ReadFrame buffer of %d bytes for MaxFrameSize %d", n, frameLimit)
	}
	_, p, err := c.ReadMessage(ctx)
	if err != nil || len(p) != msgLimit {
		t.Fatalf("ReadMessage = %d bytes, %v", len(p), err)
	}
	if _, n := conn.ReceiveBufferCaps(c); n > msgLimit {
		t.Errorf("message buffer of %d bytes for MaxMessageSize %d", n, msgLimit)
	}
}
