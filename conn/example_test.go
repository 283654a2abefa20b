package conn_test

import (
	"context"
	"fmt"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

func ExampleDial() {
	s := wstest.NewServer(wstest.Echo)
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := conn.Dial(ctx, s.URL+"/chat")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx, status.NormalClosure, "")
	fmt.Println(c.StatusCode(), c.Header().Get("Upgrade"))

	c.WriteMessage(ctx, frame.OpText, []byte("Hello, World"))
	_, p, err := c.ReadMessage(ctx)
	fmt.Printf("%s %v\n", p, err)
	// Output:
	// 101 websocket
	// Hello, World <nil>
}

func ExampleConn_WriteFrame() {
	done := make(chan struct{})
	s := wstest.NewServer(func(p *wstest.Peer) {
		defer close(done)
		p.Upgrade(nil)
		for range 2 {
			f, _ := p.ReadFrame()
			fmt.Println("server got:", f)
		}
	})
	defer s.Close()

	ctx := context.Background()
	c, err := conn.Dial(ctx, s.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	// A text message in two fragments (RFC 6455 §5.4).
	c.WriteFrame(ctx, frame.Frame{Header: frame.Header{Opcode: frame.OpText}, Payload: []byte("Hello, ")})
	c.WriteFrame(ctx, frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpContinuation}, Payload: []byte("World")})
	<-done
	// Output:
	// server got: text fin=false masked=true len=7 data="Hello, "
	// server got: cont fin=true masked=true len=5 data="World"
}

func ExampleConn_ReadDataFrame() {
	s := wstest.NewServer(func(p *wstest.Peer) {
		p.Upgrade(nil)
		p.WriteFrame(frame.Frame{Header: frame.Header{Opcode: frame.OpText, Length: 6}, Payload: []byte("Hello,")})
		p.WriteMessage(frame.OpPing, []byte("are you there?"))
		p.WriteFrame(frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpContinuation, Length: 6}, Payload: []byte(" World")})
		f, _ := p.ReadFrame() // the automatic pong
		p.WriteMessage(frame.OpText, []byte("server got: "+f.Opcode.String()+" "+string(f.Payload)))
		p.WriteClose(status.GoingAway, "bye")
		p.ReadClose()
	})
	defer s.Close()

	ctx := context.Background()
	c, err := conn.Dial(ctx, s.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	var buf []byte // reused: receiving allocates nothing once it has grown
	for {
		f, err := c.ReadDataFrame(ctx, buf[:0])
		if err != nil {
			fmt.Println(err)
			return
		}
		buf = f.Payload
		fmt.Printf("%v: %q\n", f.Opcode, f.Payload)
		if f.Opcode == frame.OpClose {
			_, _, err := c.ReadMessage(ctx)
			fmt.Println(err)
			return
		}
	}
	// Output:
	// text: "Hello, World"
	// text: "server got: pong are you there?"
	// close: "\x03\xe9bye"
	// conn: connection closed: status: connection closed by peer: going away (1001): "bye"
}

func ExampleConn_ReadMessages() {
	s := wstest.NewServer(func(p *wstest.Peer) {
		p.Upgrade(nil)
		// A burst of messages in one write, the last a close frame.
		var burst []byte
		for _, m := range []string{"one", "two", "three"} {
			burst, _ = frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpText, Length: int64(len(m))}, Payload: []byte(m)}.AppendBinary(burst)
		}
		bye, _ := status.AppendClose(nil, status.NormalClosure, "done")
		burst, _ = frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose, Length: int64(len(bye))}, Payload: bye}.AppendBinary(burst)
		p.Write(burst)
		p.ReadClose()
	})
	defer s.Close()

	ctx := context.Background()
	c, err := conn.Dial(ctx, s.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Reused: receiving allocates nothing once both have grown.
	ms := make([]frame.Frame, 16)
	var buf []byte
	for {
		// Waits for one message, then takes those already arrived.
		n, b, err := c.ReadMessages(ctx, ms, buf[:0])
		buf = b
		for _, m := range ms[:n] {
			fmt.Printf("%v: %q\n", m.Opcode, m.Payload)
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if ms[n-1].Opcode == frame.OpClose {
			return
		}
	}
	// Output:
	// text: "one"
	// text: "two"
	// text: "three"
	// close: "\x03\xe8done"
}

func ExampleConn_Receiver() {
	s := wstest.NewServer(func(p *wstest.Peer) {
		p.Upgrade(nil)
		for _, m := range []string{"tick 1", "tick 2", "tick 3"} {
			p.WriteMessage(frame.OpText, []byte(m))
		}
		p.WriteClose(status.NormalClosure, "done")
		p.ReadClose()
	})
	defer s.Close()

	ctx := context.Background()
	c, err := conn.Dial(ctx, s.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The read loop holds the receiving side: its calls take no lock.
	r, err := c.Receiver(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Release()
	var buf []byte // reused: receiving allocates nothing once it has grown
	for {
		op, p, err := r.Receive(ctx, buf[:0])
		if err != nil {
			fmt.Println(err)
			return
		}
		buf = p
		if op == frame.OpClose {
			fmt.Println("closed by the server")
			return
		}
		fmt.Printf("%v: %s\n", op, p)
	}
	// Output:
	// text: tick 1
	// text: tick 2
	// text: tick 3
	// closed by the server
}

// A frame-level read loop on the held receiving side: fragments and
// control frames come as they arrived.
func ExampleReceiver_ReadFrame() {
	s := wstest.NewServer(func(p *wstest.Peer) {
		p.Upgrade(nil)
		first := frame.New(frame.OpText, []byte("Hel"))
		first.Fin, first.Masked = false, false
		p.WriteFrame(first)
		p.WriteFrame(frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPing}, Payload: []byte("are you there")})
		p.WriteFrame(frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpContinuation}, Payload: []byte("lo")})
		p.WriteClose(status.NormalClosure, "")
		p.ReadClose()
	})
	defer s.Close()

	ctx := context.Background()
	c, err := conn.Dial(ctx, s.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := c.Receiver(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Release()
	for {
		f, err := r.ReadFrame(ctx, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%v fin=%v %q\n", f.Opcode, f.Fin, f.Payload)
		if f.Opcode == frame.OpClose {
			return // the next receiving call, or Close, answers it
		}
	}
	// Output:
	// text fin=false "Hel"
	// ping fin=true "are you there"
	// cont fin=true "lo"
	// close fin=true "\x03\xe8"
}
