package docexamples_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"sync"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/status"
)

// pipe returns the two ends of an in-memory connection: a client Conn and a
// server Conn, with no socket and no handshake. It is what a test written
// with gorilla's Upgrader over httptest becomes.
func pipe(cfg *conn.Config) (client, server *conn.Conn) {
	a, b := net.Pipe()
	client = conn.New(a, cfg)
	server = conn.New(b, &conn.Config{Role: conn.RoleServer})
	return client, server
}

// Example_dialer is the dialing table: gorilla's Dialer fields and
// coder's DialOptions, set on a conn.Dialer. It is compiled, not run: it
// needs a server on the network.
func Example_dialer() {
	ctx := context.Background()
	jar, _ := cookiejar.New(nil)
	d := &conn.Dialer{
		HandshakeTimeout: 10 * time.Second,                          // 0: 30 s; negative: ctx only
		Proxy:            http.ProxyFromEnvironment,                 // nil: the environment, read at every dial
		TLSConfig:        &tls.Config{MinVersion: tls.VersionTLS13}, // gorilla's TLSClientConfig
		NetDial:          (&net.Dialer{}).DialContext,               // gorilla's NetDialContext
		Header:           http.Header{"Authorization": {"Bearer t0k3n"}},
		Subprotocols:     []string{"chat.v2"},
		Jar:              jar,
		Config:           conn.Config{MaxMessageSize: 1 << 20}, // SetReadLimit
	}
	c, err := d.Dial(ctx, "wss://example.com/chat")
	var refused *handshake.StatusError
	if errors.As(err, &refused) {
		fmt.Println(refused.StatusCode, refused.Header.Get("Retry-After"), string(refused.Body))
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	fmt.Println(c.StatusCode(), c.Subprotocol())
}

// Example_readMessage is gorilla's ReadMessage and coder's Read.
func Example_readMessage() {
	ctx := context.Background()
	c, srv := pipe(nil)
	defer c.CloseNow()
	defer srv.CloseNow()
	go srv.WriteMessage(ctx, frame.OpText, []byte("hello"))

	op, p, err := c.ReadMessage(ctx) // p is a new slice: keep it
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v %s\n", op, p)
	// Output:
	// text hello
}

// Example_readDataFrame reads messages into one reused buffer.
func Example_readDataFrame() {
	ctx := context.Background()
	c, srv := pipe(nil)
	defer c.CloseNow()
	defer srv.CloseNow()
	go func() {
		for _, s := range []string{"one", "two", "three"} {
			srv.WriteMessage(ctx, frame.OpBinary, []byte(s))
		}
		srv.Close(ctx, status.NormalClosure, "done")
	}()

	var buf []byte
	for {
		f, err := c.ReadDataFrame(ctx, buf[:0])
		if err != nil || f.Opcode == frame.OpClose {
			break
		}
		buf = f.Payload // grown once, then reused: no allocation per message
		fmt.Printf("%v %s\n", f.Opcode, f.Payload)
	}
	// Output:
	// binary one
	// binary two
	// binary three
}

// Example_readMessages reads bursts of messages, each under one turn of
// the read lock.
func Example_readMessages() {
	ctx := context.Background()
	c, srv := pipe(nil)
	defer c.CloseNow()
	defer srv.CloseNow()
	go func() {
		srv.WriteMessages(ctx, frame.OpBinary, []byte("one"), []byte("two"), []byte("three"))
		srv.Close(ctx, status.NormalClosure, "done")
	}()

	ms := make([]frame.Frame, 64)
	var buf []byte
	for {
		n, b, err := c.ReadMessages(ctx, ms, buf[:0])
		buf = b // payloads are slices of buf: reuse it once they are handled
		for _, m := range ms[:n] {
			fmt.Printf("%v %q\n", m.Opcode, m.Payload)
		}
		if err != nil || n > 0 && ms[n-1].Opcode == frame.OpClose {
			break
		}
	}
	// Output:
	// binary "one"
	// binary "two"
	// binary "three"
	// close "\x03\xe8done"
}

// Example_receiver reads with the receiving side held by the loop.
func Example_receiver() {
	ctx := context.Background()
	c, srv := pipe(nil)
	defer c.CloseNow()
	defer srv.CloseNow()
	go func() {
		srv.WriteMessages(ctx, frame.OpBinary, []byte("one"), []byte("two"))
		srv.Close(ctx, status.NormalClosure, "done")
	}()
	if err := receive(ctx, c); err != nil {
		fmt.Println(err)
	}
	// Output:
	// binary one
	// binary two
}

// receive is the migration guide's read loop on a held Receiver.
func receive(ctx context.Context, c *conn.Conn) error {
	r, err := c.Receiver(ctx)
	if err != nil {
		return err
	}
	defer r.Release()
	var buf []byte
	for {
		op, p, err := r.Receive(ctx, buf[:0])
		if err != nil || op == frame.OpClose {
			break
		}
		buf = p
		fmt.Printf("%v %s\n", op, p)
	}
	return nil
}

// Example_writeFrame sends one message in fragments, where gorilla's
// NextWriter would flush several frames.
func Example_writeFrame() {
	ctx := context.Background()
	c, srv := pipe(nil)
	defer c.CloseNow()
	defer srv.CloseNow()
	go func() {
		first := frame.New(frame.OpText, []byte("Hello, ")) // Fin true by default
		first.Fin = false
		c.WriteFrame(ctx, first)
		c.WriteFrame(ctx, frame.New(frame.OpContinuation, []byte("World"))) // Fin: the last
	}()

	_, p, err := srv.ReadMessage(ctx)
	fmt.Printf("%s %v\n", p, err)
	// Output:
	// Hello, World <nil>
}

// Example_pong is what replaces a pong handler: with Config.ControlFrames,
// ReadDataFrame also returns pings and pongs.
func Example_pong() {
	ctx := context.Background()
	cfg := conn.Config{ControlFrames: true} // a Dialer's Config, or New's: pongs are returned
	c, srv := pipe(&cfg)
	defer c.CloseNow()
	defer srv.CloseNow()
	go srv.ReadMessage(ctx) // answers the ping on its own, as every receiving call does

	if err := c.Ping(ctx, []byte("t=1")); err != nil {
		fmt.Println(err)
		return
	}
	f, err := c.ReadDataFrame(ctx, nil)
	if err == nil && f.Opcode == frame.OpPong {
		fmt.Printf("pong %s\n", f.Payload) // what SetPongHandler's function did
	}
	// Output:
	// pong t=1
}

// Example_deadline is SetReadDeadline as a context: a receive that times out
// leaves the connection usable.
func Example_deadline() {
	ctx := context.Background()
	c, srv := pipe(nil)
	defer c.CloseNow()
	defer srv.CloseNow()
	go func() { // answers the client's question, after its receive timed out
		srv.ReadMessage(ctx)
		srv.WriteMessage(ctx, frame.OpText, []byte("late"))
	}()

	rctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, _, err := c.ReadMessage(rctx)
	cancel()
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	c.WriteMessage(ctx, frame.OpText, []byte("still there?")) // the same Conn, still open
	_, p, err := c.ReadMessage(ctx)
	fmt.Printf("%s %v\n", p, err)
	// Output:
	// true
	// late <nil>
}

// Example_close is the closing handshake from either end, and the peer's
// close as the reader sees it.
func Example_close() {
	ctx := context.Background()
	c, srv := pipe(nil)
	defer srv.CloseNow()
	done := make(chan error)
	go func() { _, _, err := srv.ReadMessage(ctx); done <- err }()

	err := c.Close(ctx, status.GoingAway, "shutting down") // sends, waits for the answer, closes
	fmt.Println(err)
	err = <-done
	var ce *status.CloseError
	if errors.As(err, &ce) {
		fmt.Println(ce.Code, ce.Reason, errors.Is(err, net.ErrClosed))
	}
	// Output:
	// <nil>
	// going away (1001) shutting down true
}

// unexpectedClose is gorilla's IsUnexpectedCloseError: err is a close by
// the peer with a code not in expected.
func unexpectedClose(err error, expected ...status.Code) bool {
	var ce *status.CloseError
	return errors.As(err, &ce) && !slices.Contains(expected, ce.Code)
}

func Example_unexpectedClose() {
	ctx := context.Background()
	c, srv := pipe(nil)
	defer c.CloseNow()
	go srv.Close(ctx, status.InternalError, "oops")

	_, _, err := c.ReadMessage(ctx)
	fmt.Println(unexpectedClose(err, status.NormalClosure, status.GoingAway))
	// Output:
	// true
}

// Example_writers is the concurrency rule: one reader, any number of
// writers, with no lock of the caller's.
func Example_writers() {
	ctx := context.Background()
	c, srv := pipe(nil)
	defer c.CloseNow()
	defer srv.CloseNow()
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() { c.WriteMessage(ctx, frame.OpText, fmt.Appendf(nil, "msg %d", i)) })
	}

	var got []string
	for range 3 {
		_, p, _ := srv.ReadMessage(ctx)
		got = append(got, string(p))
	}
	wg.Wait()
	slices.Sort(got)
	fmt.Println(got)
	// Output:
	// [msg 0 msg 1 msg 2]
}
