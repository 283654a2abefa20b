package conn_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/wstest"
)

// A message written in pieces and read back as a stream from an echo
// server.
func ExampleConn_NextWriter() {
	s := wstest.NewServer(wstest.Echo)
	defer s.Close()
	ctx := context.Background()
	c, err := conn.Dial(ctx, s.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()

	w, err := c.NextWriter(ctx, frame.OpText)
	if err != nil {
		fmt.Println(err)
		return
	}
	io.Copy(w, strings.NewReader("Hello, "))
	fmt.Fprintf(w, "%s!", "World")
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}

	op, r, err := c.NextReader(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := io.ReadAll(r)
	fmt.Printf("%v %q %v\n", op, p, err)
	// Output:
	// text "Hello, World!" <nil>
}

// A server that uppercases a byte stream, and a client that sends one
// through the net.Conn adapter.
func ExampleNetConn() {
	s := wstest.NewServer(func(p *wstest.Peer) {
		c, err := p.Accept(nil, nil)
		if err != nil {
			return
		}
		nc := conn.NetConn(context.Background(), c, frame.OpBinary)
		buf := make([]byte, 64)
		for {
			n, err := nc.Read(buf)
			if err != nil {
				nc.Close()
				return
			}
			nc.Write([]byte(strings.ToUpper(string(buf[:n]))))
		}
	})
	defer s.Close()
	ctx := context.Background()
	c, err := conn.Dial(ctx, s.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	nc := conn.NetConn(ctx, c, frame.OpBinary)
	fmt.Fprint(nc, "hello, stream")
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(nc, buf, len("hello, stream"))
	fmt.Printf("%s %v\n", buf[:n], err)
	fmt.Println(nc.Close())
	// Output:
	// HELLO, STREAM <nil>
	// <nil>
}
