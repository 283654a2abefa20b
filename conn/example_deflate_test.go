package conn_test

import (
	"context"
	"fmt"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/wstest"
)

// A Dialer with Compression offers permessage-deflate; this server agrees
// to it with a 4 KiB window each way and echoes messages, compressed.
func ExampleCompression() {
	agreed := handshake.DeflateParams{ServerMaxWindowBits: 12, ClientMaxWindowBits: 12}
	srv := wstest.NewServer(func(p *wstest.Peer) {
		c, err := p.Accept(&wstest.Upgrade{Extensions: agreed.String()}, &conn.Config{Compression: &conn.Compression{Agreed: agreed}})
		if err != nil {
			return
		}
		op, m, err := c.ReadMessage(context.Background())
		if err == nil {
			c.WriteMessage(context.Background(), op, m)
		}
		c.Close(context.Background(), 1000, "")
	})
	defer srv.Close()

	d := conn.Dialer{Config: conn.Config{Compression: &conn.Compression{}}}
	c, err := d.Dial(context.Background(), srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	p, ok := c.Compression()
	fmt.Println(ok, p)
	c.WriteMessage(context.Background(), frame.OpText, []byte("hello, compressed world"))
	_, m, err := c.ReadMessage(context.Background())
	fmt.Printf("%s %v\n", m, err)
	// Output:
	// true permessage-deflate; server_max_window_bits=12; client_max_window_bits=12
	// hello, compressed world <nil>
}
