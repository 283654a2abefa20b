package h2test_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/h2test"
	"github.com/framewire/ws/proxy"
	"github.com/framewire/ws/status"
)

// A FrameServer gives the client's flow-control window back as its handler
// reads, and sends within the client's windows, so a message of 1 MiB, 16
// times the default window and 4 times the window framewire's client
// grants a stream, echoes; its Stream's read deadline ends a Read at the
// deadline and no sooner.
func TestFrameServerEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		deadline := make(chan time.Duration, 1)
		s := &h2test.FrameServer{Handler: func(st *h2test.Stream) {
			st.Respond(200)
			start := time.Now()
			st.SetReadDeadline(start.Add(3 * time.Second))
			if _, err := st.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Read before the client sends = %v, want os.ErrDeadlineExceeded", err)
			}
			deadline <- time.Since(start)
			st.SetReadDeadline(time.Time{})
			h2test.EchoLoop(conn.New(st, &conn.Config{Role: conn.RoleServer}))
			st.End()
		}}
		p := &h2test.Pipes{Serve: s.ServeConn}
		defer p.Close()
		d := &conn.Dialer{HTTP2: conn.HTTP2Only, NetDial: p.Dial, Proxy: proxy.Direct}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := d.Dial(ctx, "ws://h2.test/")
		if err != nil {
			t.Fatal(err)
		}
		if got := <-deadline; got != 3*time.Second {
			t.Errorf("the read deadline ended Read after %v, want 3s", got)
		}
		msg := bytes.Repeat([]byte("window "), 1<<20/7)
		if err := c.WriteMessage(ctx, frame.OpBinary, msg); err != nil {
			t.Fatal(err)
		}
		if _, p, err := c.ReadMessage(ctx); err != nil || !bytes.Equal(p, msg) {
			t.Fatalf("echo: %d bytes, %v; want %d", len(p), err, len(msg))
		}
		if err := c.Close(ctx, status.NormalClosure, ""); err != nil {
			t.Errorf("Close = %v", err)
		}
	})
}
