package app

import (
	"context"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// loopConn returns the same text message n times, then a close frame.
type loopConn struct {
	fakeConn
	n   int
	msg frame.Frame
}

func (c *loopConn) recv(ctx context.Context) (frame.Opcode, frame.Frame, error) {
	if c.n == 0 {
		return frame.OpClose, frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}}, nil
	}
	c.n--
	return frame.OpText, c.msg, nil
}

// BenchmarkDispatch measures the App's per-message cost: reading an event
// and calling OnData and OnMessage.
func BenchmarkDispatch(b *testing.B) { benchDispatch(b, false) }

// BenchmarkDispatchPongCheck is BenchmarkDispatch with the read loop
// reporting its reads, as it does when PingTimeout is set.
func BenchmarkDispatchPongCheck(b *testing.B) { benchDispatch(b, true) }

func benchDispatch(b *testing.B, track bool) {
	p := []byte("hello")
	c := &loopConn{n: b.N, msg: frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpText, Length: 5}, Payload: p}}
	total := 0
	a := &App{
		OnData:    func(_ *App, op frame.Opcode, p []byte, fin bool) { total += len(p) },
		OnMessage: func(_ *App, op frame.Opcode, p []byte) { total += len(p) },
	}
	s := newSession(c, conn.DefaultCloseTimeout)
	s.track = track
	b.ReportAllocs()
	b.ResetTimer()
	code, _, err := a.read(context.Background(), s)
	if err != nil || code != status.NoStatusReceived || total != 2*5*b.N {
		b.Fatal(code, err, total)
	}
}
