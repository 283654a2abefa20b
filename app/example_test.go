package app_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/framewire/ws/app"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// An App that says hello to an echo server and closes when the echo
// arrives.
func ExampleApp() {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()

	a := &app.App{
		URL: srv.URL,
		OnOpen: func(a *app.App) {
			a.WriteMessage(context.Background(), frame.OpText, []byte("Hello, World!"))
		},
		OnMessage: func(a *app.App, op frame.Opcode, p []byte) {
			fmt.Printf("%v: %s\n", op, p)
			a.Close(context.Background(), status.NormalClosure, "bye")
		},
		OnClose: func(a *app.App, code status.Code, reason string) {
			// The echo server answers a close with its code only.
			fmt.Printf("closed: %d %q\n", int(code), reason)
		},
	}
	err := a.Run(context.Background())
	fmt.Println("Run:", err)
	// Output:
	// text: Hello, World!
	// closed: 1000 ""
	// Run: <nil>
}

// A long-running App: pings every 20 seconds, fails a connection whose
// pong is 10 seconds late, reconnects with exponential backoff and
// refreshes its token before every attempt. Cancelling ctx (on SIGINT,
// say) closes the connection cleanly.
func ExampleApp_reconnect() {
	a := &app.App{
		URL:          "wss://stream.example.com/v1",
		PingInterval: 20 * time.Second,
		PingTimeout:  10 * time.Second,
		Reconnect:    &app.Backoff{Initial: time.Second, Max: time.Minute, Jitter: 0.2},
		Header: func(ctx context.Context) (http.Header, error) {
			token := "fresh-token" // fetched from an identity provider
			return http.Header{"Authorization": {"Bearer " + token}}, nil
		},
		// The first connection calls OnOpen, every later one OnReconnect:
		// subscribe on both.
		OnOpen: func(a *app.App) {
			a.WriteMessage(context.Background(), frame.OpText, []byte(`{"op":"subscribe"}`))
		},
		OnReconnect: func(a *app.App) {
			a.WriteMessage(context.Background(), frame.OpText, []byte(`{"op":"subscribe"}`))
		},
		OnError: func(a *app.App, err error) {
			fmt.Println("error:", err)
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	_ = a.Run(ctx)
}
