package bench

import (
	"context"
	"errors"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
)

// framewire's client, with the zero Dialer: WriteMessage, and
// ReadDataFrame into a buffer the client reuses.

type framewireClient struct {
	c   *conn.Conn
	ctx context.Context
	buf []byte
}

func init() {
	framewireLibrary = &library{name: "framewire", dial: dialFramewire}
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
