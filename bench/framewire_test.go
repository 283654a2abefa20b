package bench

import (
	"context"
	"errors"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
)

// framewire's client, with the zero Dialer: SendBinary, and RecvData, which
// returns the reassembled message in the connection's own buffer.

type framewireClient struct {
	c   *conn.Conn
	ctx context.Context
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
	return f.c.SendBinary(f.ctx, p)
}

var errClosed = errors.New("bench: peer closed")

func (f *framewireClient) recv() ([]byte, error) {
	op, p, err := f.c.RecvData(f.ctx)
	if err == nil && op == frame.OpClose {
		err = errClosed
	}
	return p, err
}

func (f *framewireClient) close() error { return f.c.Abort() }

func (f *framewireClient) setContext(ctx context.Context) { f.ctx = ctx }
