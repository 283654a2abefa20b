package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// dialConn opens a connection with a copy of the App's Dialer.
func (a *App) dialConn(ctx context.Context, h http.Header) (connection, error) {
	if a.dial != nil {
		return a.dial(ctx, a.URL, h)
	}
	var d conn.Dialer
	if a.Dialer != nil {
		d = *a.Dialer
	}
	if len(h) > 0 {
		merged := d.Header.Clone()
		if merged == nil {
			merged = make(http.Header, len(h))
		}
		for k, v := range h {
			merged[k] = append(merged[k], v...)
		}
		d.Header = merged
	}
	d.Config.ControlFrames = true
	d.Config.FireContFrame = a.OnContMessage != nil
	c, err := d.Dial(ctx, a.URL)
	if err != nil {
		return nil, err
	}
	return &connAdapter{c: c}, nil
}

// logf logs at debug level to the Dialer's Logger, if any.
func (a *App) logf(format string, args ...any) {
	if a.Dialer == nil || a.Dialer.Config.Logger == nil {
		return
	}
	a.Dialer.Config.Logger.Log(context.Background(), slog.LevelDebug, fmt.Sprintf(format, args...))
}

// connAdapter gives a *conn.Conn the connection interface. It receives
// into one buffer, reused from message to message while it stays small.
type connAdapter struct {
	c   *conn.Conn
	buf []byte
}

// maxRetained is the largest receive buffer kept between messages.
const maxRetained = 1 << 20

func (a *connAdapter) recv(ctx context.Context) (frame.Opcode, frame.Frame, error) {
	f, err := a.c.ReadDataFrame(ctx, a.buf[:0])
	if cap(f.Payload) <= maxRetained {
		a.buf = f.Payload[:0]
	}
	return f.Opcode, f, err
}

func (a *connAdapter) send(ctx context.Context, op frame.Opcode, p []byte) error {
	return a.c.WriteMessage(ctx, op, p)
}

func (a *connAdapter) sendFrame(ctx context.Context, f frame.Frame) error {
	return a.c.WriteFrame(ctx, f)
}

func (a *connAdapter) ping(ctx context.Context, p []byte) error { return a.c.Ping(ctx, p) }

func (a *connAdapter) close(ctx context.Context, code status.Code, reason string) error {
	return a.c.Close(ctx, code, reason)
}

func (a *connAdapter) abort() { a.c.CloseNow() }
