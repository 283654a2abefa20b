package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/framewire/ws/app"
	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

func main() {
	serve := flag.Bool("serve", false, "only run the echo server, until interrupted (for wsdump or a client of your own)")
	addr := flag.String("addr", "127.0.0.1:0", "with -serve, the address to listen on (port 0: any free port)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	var err error
	if *serve {
		err = serveEcho(ctx, *addr, os.Stdout)
	} else {
		err = run(ctx, os.Stdout)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsdemo:", err)
		os.Exit(1)
	}
}

// run starts an echo server on 127.0.0.1 and runs both sessions on it.
func run(ctx context.Context, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()

	// 1. A server to talk to: package wstest's echo server.
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	fmt.Fprintln(w, "Echo server listening on", srv.URL)

	if err := session(ctx, srv.URL+"/demo", w); err != nil {
		return err
	}
	if err := events(ctx, srv.URL+"/app", w); err != nil {
		return err
	}
	fmt.Fprintln(w, "Done.")
	return nil
}

// serveEcho runs package wstest's echo server on addr until ctx ends: a
// server to point wsdump, or a client of one's own, at. Its URL is the
// first line written to w, alone.
func serveEcho(ctx context.Context, addr string, w io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	fmt.Fprintf(w, "ws://%s\nEcho server listening there (Ctrl+C stops it)\n", ln.Addr())
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go wstest.Serve(nc, wstest.Echo)
		}
	})
	<-ctx.Done()
	return nil
}

// session is a Conn's life, traced frame by frame.
func session(ctx context.Context, url string, w io.Writer) error {
	// 2. Dial, with the trace on: websocket-client's enableTrace output.
	// The server is on loopback, which is dialled directly whatever
	// HTTP_PROXY or ALL_PROXY say (Dialer.Proxy can choose otherwise).
	fmt.Fprintln(w, "\n== Connect ==")
	d := &conn.Dialer{Config: conn.Config{Trace: w}}
	c, err := d.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer c.CloseNow()

	// 3. A message out, its echo back.
	fmt.Fprintln(w, "\n== Text message ==")
	if err := c.WriteMessage(ctx, frame.OpText, []byte("Hello, World!")); err != nil {
		return err
	}
	op, p, err := c.ReadMessage(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Received %v: %s\n", op, p)

	// 4. One message in three frames, with a ping between them (control
	// frames may come between fragments); the reply is one message.
	fmt.Fprintln(w, "\n== Fragments and a ping ==")
	parts := []string{"Hello, ", "fragmented ", "World!"}
	for i, part := range parts {
		f := frame.New(frame.OpContinuation, []byte(part))
		if i == 0 {
			f.Opcode = frame.OpText
		}
		f.Fin = i == len(parts)-1
		if err := c.WriteFrame(ctx, f); err != nil {
			return err
		}
		if i == 0 {
			if err := c.Ping(ctx, []byte("are you there?")); err != nil {
				return err
			}
		}
	}
	if op, p, err = c.ReadMessage(ctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "Received %v: %s\n", op, p)

	// 5. The closing handshake: the server answers with the same code.
	fmt.Fprintln(w, "\n== Close ==")
	if err := c.Close(ctx, status.GoingAway, "demo over"); err != nil {
		return err
	}
	fmt.Fprintln(w, "Closed cleanly")
	return nil
}

// events is the same server seen through app.App's callbacks: greet on
// open, close once the echo arrives.
func events(ctx context.Context, url string, w io.Writer) error {
	fmt.Fprintln(w, "\n== Event-driven App ==")
	a := &app.App{
		URL: url,
		OnOpen: func(a *app.App) {
			fmt.Fprintln(w, "OnOpen")
			a.WriteMessage(ctx, frame.OpText, []byte("hello from App"))
		},
		OnMessage: func(a *app.App, op frame.Opcode, p []byte) {
			fmt.Fprintf(w, "OnMessage: %v %s\n", op, p)
			a.Close(ctx, status.NormalClosure, "app done")
		},
		OnClose: func(a *app.App, code status.Code, reason string) {
			fmt.Fprintf(w, "OnClose: %d\n", int(code))
		},
	}
	err := a.Run(ctx)
	fmt.Fprintf(w, "Run returned %v\n", err)
	return err
}
