package wstest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// A client tested against the echo server.
func Example() {
	s := wstest.NewServer(wstest.Echo)
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := conn.Dial(ctx, s.URL+"/chat")
	if err != nil {
		fmt.Println(err)
		return
	}
	c.WriteMessage(ctx, frame.OpText, []byte("Hello, World"))
	op, p, err := c.ReadMessage(ctx)
	fmt.Println(op, string(p), err)
	fmt.Println(c.Close(ctx, status.NormalClosure, "done"))
	// Output:
	// text Hello, World <nil>
	// <nil>
}

// A handler written over a server-role Conn: it greets the client with
// the subprotocol it chose, then closes with the client's message as the
// reason.
func ExamplePeer_Accept() {
	s := wstest.NewServer(func(p *wstest.Peer) {
		c, err := p.Accept(&wstest.Upgrade{Subprotocol: "chat"}, nil)
		if err != nil {
			return
		}
		ctx := context.Background()
		c.WriteMessage(ctx, frame.OpText, []byte("welcome to "+c.Subprotocol()+p.Request.URL.Path))
		if _, msg, err := c.ReadMessage(ctx); err == nil {
			c.Close(ctx, status.NormalClosure, string(msg))
		}
	})
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := &conn.Dialer{Subprotocols: []string{"chat"}}
	c, err := d.Dial(ctx, s.URL+"/room")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	_, greeting, _ := c.ReadMessage(ctx)
	fmt.Printf("%s (%s)\n", greeting, c.Subprotocol())
	c.WriteMessage(ctx, frame.OpText, []byte("bye"))
	_, _, err = c.ReadMessage(ctx)
	var ce *status.CloseError
	if errors.As(err, &ce) {
		fmt.Println("closed by the server:", int(ce.Code), ce.Reason)
	}
	// Output:
	// welcome to /room (chat)
	// closed by the server: 1000 bye
}

// A misbehaving server, scripted byte by byte: its first frame is masked,
// which RFC 6455 §5.1 forbids, and the client fails the connection.
func ExamplePeer_Write() {
	closed := make(chan status.Code, 1)
	s := wstest.NewServer(func(p *wstest.Peer) {
		p.Upgrade(nil)
		p.Write([]byte{0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2})
		code, _, _ := p.ReadClose()
		closed <- code
	})
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := conn.Dial(ctx, s.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _, err = c.ReadMessage(ctx)
	fmt.Println(errors.Is(err, frame.ErrProtocol))
	fmt.Println("client closed with", int(<-closed))
	// Output:
	// true
	// client closed with 1002
}

// An in-memory connection: no socket, the same handler.
func ExampleServer_Pipe() {
	s := wstest.NewServer(wstest.Echo)
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := new(conn.Dialer).DialConn(ctx, s.Pipe(), "ws://pipe.test/")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	c.WriteMessage(ctx, frame.OpBinary, []byte{1, 2, 3})
	_, p, err := c.ReadMessage(ctx)
	fmt.Println(p, err)
	// Output: [1 2 3] <nil>
}

// A client tested over TLS: the server makes its own certificate and
// Dialer returns a Dialer that trusts it.
func ExampleNewTLSServer() {
	s := wstest.NewTLSServer(wstest.Echo, nil)
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := s.Dialer().Dial(ctx, s.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.WriteMessage(ctx, frame.OpText, []byte("over TLS"))
	_, p, err := c.ReadMessage(ctx)
	fmt.Println(s.URL[:6], string(p), err)
	fmt.Println(c.Close(ctx, status.NormalClosure, ""))
	// Output:
	// wss:// over TLS <nil>
	// <nil>
}
