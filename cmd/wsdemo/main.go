package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/framewire/ws/app"
	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/pyrepr"
	"github.com/framewire/ws/proxy"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// timeout bounds the whole demo.
const timeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run starts the embedded echo server, runs both sessions and returns the
// exit status.
func run(ctx context.Context, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	fmt.Fprintf(stdout, "Echo server listening on %s\n", srv.URL)

	if err := lowLevel(ctx, srv.URL+"/demo", stdout); err != nil {
		fmt.Fprintf(stderr, "wsdemo: %v\n", err)
		return 1
	}
	if err := eventDriven(ctx, srv.URL+"/app", stdout); err != nil {
		fmt.Fprintf(stderr, "wsdemo: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "Done.")
	return 0
}

// section prints a heading.
func section(w io.Writer, title string) { fmt.Fprintf(w, "\n== %s ==\n", title) }

// lowLevel is websocket-client's low-level API tour, on a Conn whose
// Dialer traces every frame as websocket-client's enableTrace does.
func lowLevel(ctx context.Context, url string, w io.Writer) error {
	section(w, "Connect (trace on)")
	d := &conn.Dialer{Proxy: proxy.Direct, Config: conn.Config{Trace: w, ControlFrames: true}}
	c, err := d.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer c.CloseNow()

	section(w, "Text message")
	if err := c.WriteMessage(ctx, frame.OpText, []byte("Hello, World!")); err != nil {
		return err
	}
	op, p, err := c.ReadMessage(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Received %v: %s\n", op, p)

	section(w, "Binary message")
	if err := c.WriteMessage(ctx, frame.OpBinary, []byte{1, 2, 3, 4}); err != nil {
		return err
	}
	if op, p, err = c.ReadMessage(ctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "Received %v: %s\n", op, pyrepr.Bytes(p))

	section(w, "Fragmented message, with a ping between fragments")
	msg := "This is a long message that will be sent in fragments"
	var chunks []string
	for i := 0; i < len(msg); i += 10 {
		chunks = append(chunks, msg[i:min(i+10, len(msg))])
	}
	for i, chunk := range chunks {
		op := frame.OpContinuation
		if i == 0 {
			op = frame.OpText
		}
		f := frame.New(op, []byte(chunk))
		f.Fin = i == len(chunks)-1
		if err := c.WriteFrame(ctx, f); err != nil {
			return err
		}
		if i == 0 {
			// Control frames may come between the fragments of a message.
			if err := c.Ping(ctx, []byte("between fragments")); err != nil {
				return err
			}
		}
	}
	for {
		f, err := c.ReadDataFrame(ctx, nil)
		if err != nil {
			return err
		}
		if op := f.Opcode; op == frame.OpPong {
			fmt.Fprintf(w, "Received pong: %s\n", pyrepr.Bytes(f.Payload))
			continue
		}
		fmt.Fprintf(w, "Received %v reassembled from %d fragments: %s\n", f.Opcode, len(chunks), f.Payload)
		break
	}

	section(w, "A frame built by hand")
	hand := frame.Frame{
		Header:  frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true},
		Payload: []byte("hand-made"),
	}
	if err := c.WriteFrame(ctx, hand); err != nil {
		return err
	}
	f, err := c.ReadDataFrame(ctx, nil)
	if err != nil {
		return err
	}
	frameDetails(w, f.Opcode, f)

	section(w, "Close with a code and a reason")
	closing, err := status.AppendClose(nil, status.GoingAway, "Custom shutdown")
	if err != nil {
		return err
	}
	if err := c.WriteFrame(ctx, frame.New(frame.OpClose, closing)); err != nil {
		return err
	}
	for {
		f, err := c.ReadDataFrame(ctx, nil)
		op := f.Opcode
		if err != nil {
			return err
		}
		if op != frame.OpClose {
			continue
		}
		code, reason, err := status.ParseClose(f.Payload)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "Server closed with status %d: %s\n", int(code), reason)
		return nil
	}
}

// frameDetails prints a received frame as websocket-client's frame
// example does.
func frameDetails(w io.Writer, op frame.Opcode, f frame.Frame) {
	fmt.Fprintln(w, "Frame details:")
	fmt.Fprintf(w, " Opcode: %d (%v)\n", int(op), op)
	fmt.Fprintf(w, " Final frame: %v\n", f.Fin)
	fmt.Fprintf(w, " Reserved bits: RSV1=%d, RSV2=%d, RSV3=%d\n", bit(f.Rsv1), bit(f.Rsv2), bit(f.Rsv3))
	fmt.Fprintf(w, " Masked: %v\n", f.Masked)
	fmt.Fprintf(w, " Data length: %d\n", len(f.Payload))
	fmt.Fprintf(w, " Data: %s\n", pyrepr.Bytes(f.Payload))
	if err := f.Validate(frame.Policy{}); err != nil {
		fmt.Fprintf(w, "Frame validation error: %v\n", err)
		return
	}
	fmt.Fprintln(w, "Frame is valid")
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// eventDriven runs an App: it greets the server on open, pings every
// 100ms, and closes once the echo and a pong have both arrived.
func eventDriven(ctx context.Context, url string, w io.Writer) error {
	section(w, "Event-driven App")
	gotEcho, gotPong := false, false
	maybeClose := func(a *app.App) {
		if gotEcho && gotPong {
			a.Close(ctx, status.NormalClosure, "app done")
		}
	}
	a := &app.App{
		URL:          url,
		Dialer:       &conn.Dialer{Proxy: proxy.Direct},
		PingInterval: 100 * time.Millisecond,
		PingTimeout:  50 * time.Millisecond,
		PingPayload:  []byte("keepalive"),
		OnOpen: func(a *app.App) {
			fmt.Fprintln(w, "OnOpen")
			a.WriteMessage(ctx, frame.OpText, []byte("hello from App"))
		},
		OnData: func(a *app.App, op frame.Opcode, p []byte, fin bool) {
			fmt.Fprintf(w, "OnData: %v fin=%v %s\n", op, fin, pyrepr.Bytes(p))
		},
		OnMessage: func(a *app.App, op frame.Opcode, p []byte) {
			fmt.Fprintf(w, "OnMessage: %v %s\n", op, p)
			gotEcho = true
			maybeClose(a)
		},
		OnPong: func(a *app.App, p []byte) {
			if gotPong {
				return
			}
			fmt.Fprintf(w, "OnPong: %s\n", pyrepr.Bytes(p))
			gotPong = true
			maybeClose(a)
		},
		OnError: func(a *app.App, err error) {
			fmt.Fprintf(w, "OnError: %v\n", err)
		},
		OnClose: func(a *app.App, code status.Code, reason string) {
			fmt.Fprintf(w, "OnClose: %d %s\n", int(code), reason)
		},
	}
	err := a.Run(ctx)
	fmt.Fprintf(w, "Run returned %v\n", err)
	return err
}
