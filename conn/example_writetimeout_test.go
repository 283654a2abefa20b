package conn_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/wstest"
)

// A peer that stops reading cannot hold a send for ever, even one whose
// context never ends: Config.WriteTimeout (30 seconds unless set) fails
// the connection once the peer has taken none of a write for that long.
func ExampleConfig_writeTimeout() {
	release := make(chan struct{})
	s := wstest.NewServer(func(p *wstest.Peer) {
		p.Upgrade(nil)
		<-release // reads nothing
	})
	defer s.Close()
	defer close(release)

	d := &conn.Dialer{Config: conn.Config{WriteTimeout: 200 * time.Millisecond}}
	c, err := d.Dial(context.Background(), s.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	msg := make([]byte, 1<<20)
	for {
		// The socket's buffers take the first messages.
		err = c.WriteMessage(context.Background(), frame.OpBinary, msg)
		if err != nil {
			break
		}
	}
	fmt.Println(errors.Is(err, conn.ErrWriteTimeout))
	// Output:
	// true
}
