package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

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
			// A field the function gives replaces the Dialer's, whatever
			// the case of its name: a refreshed token goes out alone.
			for m := range merged {
				if strings.EqualFold(m, k) {
					delete(merged, m)
				}
			}
			merged[k] = slices.Clone(v)
		}
		d.Header = merged
	}
	d.Config.ControlFrames = true
	d.Config.DeliverFragments = a.OnFragment != nil
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
// bursts with ReadMessages, into one buffer reused from burst to burst
// while it stays small, and hands their frames out one at a time: a
// receiver that keeps up with a fast peer takes the read lock once per
// burst instead of once per message.
type connAdapter struct {
	c     *conn.Conn
	buf   []byte
	burst [burstRoom]frame.Frame
	n     int   // frames in burst
	next  int   // burst[next:n] are not handed out yet
	err   error // the error that ended the burst, after its frames
}

// burstRoom is how many frames one ReadMessages call may return.
const burstRoom = 8

// maxRetained is the largest receive buffer kept between bursts.
const maxRetained = 1 << 20

func (a *connAdapter) recv(ctx context.Context) (frame.Opcode, frame.Frame, error) {
	if a.next == a.n {
		if err := a.err; err != nil {
			a.err = nil
			return 0, frame.Frame{}, err
		}
		buf := a.buf[:0]
		if cap(buf) > maxRetained {
			buf = nil
		}
		n, b, err := a.c.ReadMessages(ctx, a.burst[:], buf)
		a.buf, a.n, a.next = b, n, 0
		if n == 0 {
			return 0, frame.Frame{}, err
		}
		a.err = err
	}
	f := a.burst[a.next]
	a.next++
	return f.Opcode, f, nil
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
