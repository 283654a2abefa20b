package docexamples_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/framewire/ws/app"
	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/status"
)

// The Go blocks of README.md and of the guides in docs/ other than
// migrating.md, each an excerpt of a function below (TestSnippetsCompiled
// checks it). Those that dial a server on the network are compiled, not
// run.

// Example_readmeFrame is README.md's frame-level block: the bytes its
// comment gives are the ones AppendBinary returns.
func Example_readmeFrame() {
	f := frame.New(frame.OpText, []byte("Hello")) // ABNF.create_frame
	f.Key = mask.Key{'a', 'b', 'c', 'd'}
	wire, _ := f.AppendBinary(nil)    // ABNF.format: 81 85 61 62 63 64 29 07 0f 08 0e
	err := f.Validate(frame.Policy{}) // ABNF.validate, strict; errors carry the close code

	fmt.Println(hex.EncodeToString(wire), err)
	// Output: 81856162636429070f080e <nil>
}

// readmeConn is README.md's connection-level block.
func readmeConn(ctx context.Context) error {
	c, err := conn.Dial(ctx, "wss://example.com/feed")
	if err != nil {
		return err
	}
	defer c.Close(ctx, status.NormalClosure, "")
	first := frame.New(frame.OpText, []byte("Hel"))
	first.Fin = false
	c.WriteFrame(ctx, first)
	c.WriteFrame(ctx, frame.New(frame.OpContinuation, []byte("lo")))
	var buf []byte // reused by every read: no allocation once it has grown
	for {
		f, err := c.ReadDataFrame(ctx, buf[:0]) // reassembled; pings answered
		if err != nil {
			return err
		}
		if f.Opcode == frame.OpClose {
			return nil // the peer closed, and its close frame was echoed
		}
		buf = f.Payload // keep the grown buffer for the next read
		fmt.Printf("%s\n", f.Payload)
	}
}

// readmeApp is README.md's application-level block.
func readmeApp(ctx context.Context) error {
	a := &app.App{
		URL:          "wss://example.com/feed",
		PingInterval: 20 * time.Second,
		PingTimeout:  10 * time.Second,
		Reconnect:    &app.Backoff{Max: time.Minute, Jitter: 0.2},
		OnMessage:    func(a *app.App, op frame.Opcode, p []byte) { fmt.Printf("%s\n", p) },
		OnClose:      func(a *app.App, code status.Code, reason string) { log.Println("closed", code, reason) },
	}
	err := a.Run(ctx) // nil after a normal close; ctx.Err() once ctx ends, after a clean close

	return err
}

func handle([]byte) {}

// appGuide is the first block of docs/app.md.
func appGuide(ctx context.Context) error {
	a := &app.App{
		URL:          "wss://stream.example.com/v1",
		PingInterval: 20 * time.Second,
		PingTimeout:  10 * time.Second,
		Reconnect:    &app.Backoff{Initial: time.Second, Max: time.Minute, Jitter: 0.2},
		OnOpen:       func(a *app.App) { a.WriteMessage(ctx, frame.OpText, []byte(`{"op":"subscribe"}`)) },
		OnMessage:    func(a *app.App, op frame.Opcode, p []byte) { handle(p) },
		OnError:      func(a *app.App, err error) { log.Print(err) },
		OnClose:      func(a *app.App, code status.Code, reason string) { log.Print(code, reason) },
	}
	err := a.Run(ctx) // nil after a clean end; cancel ctx to close cleanly

	return err
}

// appGuideRetry is the second block of docs/app.md.
func appGuideRetry() *app.App {
	return &app.App{
		Reconnect: &app.Backoff{
			Retry: func(err error) bool {
				var ce *status.CloseError
				if errors.As(err, &ce) && ce.Code == 4000 { // our "move to another shard"
					return true
				}
				return app.Retryable(err)
			},
		},
	}
}

// compressionGuide is the block of docs/compression.md.
func compressionGuide(ctx context.Context) error {
	d := conn.Dialer{Config: conn.Config{Compression: &conn.Compression{}}}
	c, err := d.Dial(ctx, "wss://example.com/feed")
	if err != nil {
		return err
	}
	p, ok := c.Compression() // what the server agreed, ok false if it declined

	fmt.Println(p, ok)
	return c.CloseNow()
}

// http2Guide is the block of docs/http2.md.
func http2Guide(ctx context.Context) error {
	d := conn.Dialer{HTTP2: conn.HTTP2Prefer}
	c, err := d.Dial(ctx, "wss://example.com/feed")
	if err != nil {
		return err
	}
	fmt.Println(c.Proto()) // "HTTP/2.0", or "HTTP/1.1" after a fallback

	return c.CloseNow()
}

// The functions that need a network server are compiled, and referenced
// here so that nothing reports them unused.
var _ = []any{readmeConn, readmeApp, appGuide, appGuideRetry, compressionGuide, http2Guide}
