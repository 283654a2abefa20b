package conn

import (
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framewire/ws/frame"
)

// panicHandler is a slog.Handler that panics at the first record of a
// received frame once armed.
type panicHandler struct{ armed *atomic.Bool }

func (h panicHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h panicHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == msgReceived && h.armed.CompareAndSwap(true, false) {
		panic("handler panic")
	}
	return nil
}
func (h panicHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicHandler) WithGroup(string) slog.Handler      { return h }

// A receiving call that a panic of the caller's code (here its Logger)
// ends, recovered by the caller, releases the read lock: the next call
// reads the next message.
func TestReadPanicReleasesReadLock(t *testing.T) {
	for name, read := range map[string]func(ctx context.Context, c *Conn) ([]byte, error){
		"ReadMessage": func(ctx context.Context, c *Conn) ([]byte, error) {
			_, p, err := c.ReadMessage(ctx)
			return p, err
		},
		"ReadDataFrame": func(ctx context.Context, c *Conn) ([]byte, error) {
			f, err := c.ReadDataFrame(ctx, nil)
			return f.Payload, err
		},
	} {
		t.Run(name, func(t *testing.T) {
			client, peer := net.Pipe()
			var armed atomic.Bool
			c := New(client, &Config{Logger: slog.New(panicHandler{&armed})})
			defer c.CloseNow()
			defer peer.Close()
			go peer.Write(wireOf(t, dataFrame(frame.OpText, true, false, "one"), dataFrame(frame.OpText, true, false, "two")))
			armed.Store(true)
			func() {
				defer func() {
					if recover() == nil {
						t.Error("the Logger's panic did not reach the caller")
					}
				}()
				read(context.Background(), c)
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if p, err := read(ctx, c); err != nil || string(p) != "two" {
				t.Fatalf("%s after a recovered panic: %q, %v", name, p, err)
			}
		})
	}
}
