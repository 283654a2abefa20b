package conn_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// After ReadFrame returned the peer's close frame, the caller may answer it
// with WriteFrame; otherwise the next receiving call, or Close, answers it
// with the peer's code. Either way the closing handshake completes at
// once: Close returns nil, and receiving calls return ErrClosed wrapping
// the peer's *status.CloseError, which says the peer closed (it began the
// handshake, though this side's close answered it). The peer sees one
// close frame.
func TestReadFrameClose(t *testing.T) {
	recv := map[string]func(ctx context.Context, c *conn.Conn) error{
		"ReadFrame": func(ctx context.Context, c *conn.Conn) error { _, err := c.ReadFrame(ctx, nil); return err },
		"ReadMessage": func(ctx context.Context, c *conn.Conn) error {
			_, _, err := c.ReadMessage(ctx)
			return err
		},
		"ReadDataFrame": func(ctx context.Context, c *conn.Conn) error { _, err := c.ReadDataFrame(ctx, nil); return err },
		"NextReader": func(ctx context.Context, c *conn.Conn) error {
			_, _, err := c.NextReader(ctx)
			return err
		},
	}
	tests := []struct {
		name  string
		reply bool   // the caller answers with WriteFrame
		then  string // "Close", or a receiving call
		want  string // the close frame the peer reads
	}{
		{"Close", false, "Close", "1000"},
		{"reply, Close", true, "Close", "1001"},
		{"ReadMessage", false, "ReadMessage", "1001"},
		{"ReadDataFrame", false, "ReadDataFrame", "1001"},
		{"NextReader", false, "NextReader", "1001"},
		{"ReadFrame", false, "ReadFrame", "1001"},
		{"reply, ReadFrame", true, "ReadFrame", "1001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				got := make(chan string, 1)
				h := func(p *wstest.Peer) {
					p.Upgrade(nil)
					p.WriteClose(status.GoingAway, "bye")
					f, err := p.ReadFrame()
					if err != nil {
						got <- err.Error()
						return
					}
					code, _, _ := frame.ParseClose(f.Payload, frame.Policy{})
					s := fmt.Sprint(f.Opcode, " ", int(code))
					if _, err := p.ReadFrame(); err == nil {
						s += " and another frame"
					}
					got <- s
					p.Conn.Close()
				}
				c := dialPipe(t, nil, h)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				f, err := c.ReadFrame(ctx, nil)
				if err != nil || f.Opcode != frame.OpClose {
					t.Fatalf("ReadFrame = %v, %v; want the peer's close frame", f.Header, err)
				}
				if tt.reply {
					if err := c.WriteFrame(ctx, frame.New(frame.OpClose, f.Payload)); err != nil {
						t.Fatalf("WriteFrame(close) = %v", err)
					}
				}
				start := time.Now()
				if tt.then == "Close" {
					if err := c.Close(ctx, status.NormalClosure, ""); err != nil {
						t.Errorf("Close = %v, want nil", err)
					}
				} else {
					err := recv[tt.then](ctx, c)
					var ce *status.CloseError
					if !errors.Is(err, conn.ErrClosed) || !errors.As(err, &ce) || ce.Code != status.GoingAway || ce.Reason != "bye" {
						t.Errorf("%s = %v, want ErrClosed wrapping the peer's close (1001 bye)", tt.then, err)
					}
				}
				if took := time.Since(start); took > 0 {
					t.Errorf("%s took %v, want no wait: the peer's close was read", tt.then, took)
				}
				if s, want := <-got, "close "+tt.want; s != want {
					t.Errorf("peer read %q, want %q", s, want)
				}
				if _, _, err := c.ReadMessage(ctx); !errors.Is(err, conn.ErrClosed) || !strings.Contains(fmt.Sprint(err), "closed by peer") {
					t.Errorf("ReadMessage at the end = %v, want ErrClosed saying the peer closed", err)
				}
			})
		})
	}
}
