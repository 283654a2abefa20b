package bench

import (
	"context"
	"errors"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
)

// framewire's client, with the zero Dialer: WriteMessage, and
// ReadDataFrame into a buffer the client reuses. framewire-batch receives
// with ReadMessages instead: a burst of up to batchRoom messages a call,
// handed out one by one. framewire-receiver receives one message a call
// with a Receiver, the receiving side held by the benchmark's goroutine
// (Conn.Receiver), as a read loop holds it.

type framewireClient struct {
	c   *conn.Conn
	ctx context.Context
	buf []byte
}

func init() {
	framewireLibrary = &library{name: "framewire", dial: dialFramewire}
	framewireRecvLibraries = []library{
		{name: "framewire-batch", dial: dialFramewireBatch},
		{name: "framewire-receiver", dial: dialFramewireReceiver},
	}
}

func dialFramewire(ctx context.Context, url string, nd netDial) (client, error) {
	d := conn.Dialer{NetDial: nd}
	c, err := d.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	return &framewireClient{c: c, ctx: context.Background()}, nil
}

func (f *framewireClient) send(p []byte) error {
	return f.c.WriteMessage(f.ctx, frame.OpBinary, p)
}

var errClosed = errors.New("bench: peer closed")

func (f *framewireClient) recv() ([]byte, error) {
	df, err := f.c.ReadDataFrame(f.ctx, f.buf[:0])
	f.buf = df.Payload
	if err == nil && df.Opcode == frame.OpClose {
		err = errClosed
	}
	return df.Payload, err
}

func (f *framewireClient) close() error { return f.c.CloseNow() }

func (f *framewireClient) setContext(ctx context.Context) { f.ctx = ctx }

// batchRoom is how many messages framewire-batch takes at most a call.
const batchRoom = 64

type framewireBatchClient struct {
	framewireClient
	ms      []frame.Frame
	next, n int   // ms[next:n] are not handed out yet
	err     error // the error that ended the last burst
}

func dialFramewireBatch(ctx context.Context, url string, nd netDial) (client, error) {
	c, err := dialFramewire(ctx, url, nd)
	if err != nil {
		return nil, err
	}
	return &framewireBatchClient{framewireClient: *c.(*framewireClient), ms: make([]frame.Frame, batchRoom)}, nil
}

func (f *framewireBatchClient) recv() ([]byte, error) {
	if f.next == f.n {
		if f.err != nil {
			return nil, f.err
		}
		n, b, err := f.c.ReadMessages(f.ctx, f.ms, f.buf[:0])
		f.buf, f.next, f.n, f.err = b, 0, n, err
		if n == 0 {
			return nil, err
		}
	}
	m := f.ms[f.next]
	f.next++
	if m.Opcode == frame.OpClose {
		return m.Payload, errClosed
	}
	return m.Payload, nil
}

type framewireReceiverClient struct {
	framewireClient
	r *conn.Receiver
}

func dialFramewireReceiver(ctx context.Context, url string, nd netDial) (client, error) {
	c, err := dialFramewire(ctx, url, nd)
	if err != nil {
		return nil, err
	}
	fc := c.(*framewireClient)
	r, err := fc.c.Receiver(ctx)
	if err != nil {
		fc.close()
		return nil, err
	}
	return &framewireReceiverClient{framewireClient: *fc, r: r}, nil
}

func (f *framewireReceiverClient) recv() ([]byte, error) {
	op, p, err := f.r.Receive(f.ctx, f.buf[:0])
	f.buf = p
	if err == nil && op == frame.OpClose {
		err = errClosed
	}
	return p, err
}
