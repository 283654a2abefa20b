package conn_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/selfsigned"
	"github.com/framewire/ws/wstest"
)

// The default dialer sets TCP_NODELAY and websocket-client's keep-alive
// settings on the socket: read back from the kernel.
func TestSocketOptions(t *testing.T) {
	checkLeaks(t)
	s := serve(t, func(p *wstest.Peer) {
		p.Upgrade(nil)
		p.ReadClose()
	})
	c := dial(t, nil, s.URL)
	tc, ok := conn.Socket(c).(*net.TCPConn)
	if !ok {
		t.Fatalf("socket is a %T, want *net.TCPConn", conn.Socket(c))
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		level, opt int
		want       int
	}{
		{"TCP_NODELAY", unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
		{"SO_KEEPALIVE", unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
		// websocket-client's values.
		{"TCP_KEEPIDLE", unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 30},
		{"TCP_KEEPINTVL", unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 10},
		{"TCP_KEEPCNT", unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 3},
	}
	for _, tt := range tests {
		var got int
		var gerr error
		if err := raw.Control(func(fd uintptr) {
			got, gerr = unix.GetsockoptInt(int(fd), tt.level, tt.opt)
		}); err != nil {
			t.Fatal(err)
		}
		if gerr != nil || got != tt.want {
			t.Errorf("%s = %d, %v; want %d", tt.name, got, gerr, tt.want)
		}
	}
}

// bufferSize returns a socket Control function that sets SO_RCVBUF or
// SO_SNDBUF to n bytes.
func bufferSize(opt, n int) func(string, string, syscall.RawConn) error {
	return func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, n) })
	}
}

// A write cut in the middle of a frame ends the connection without a
// reset, under TLS too: a message sent whole before it, still in the
// socket buffers when the cut came, reaches the peer (a reset loses it:
// the peer's first read fails).
func TestBrokenWriteKeepsEarlierMessage(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", secure), func(t *testing.T) {
			cert, err := selfsigned.Certificate("framewire test")
			if err != nil {
				t.Fatal(err)
			}
			lc := net.ListenConfig{Control: bufferSize(unix.SO_RCVBUF, 16<<10)}
			ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			cut := make(chan struct{})
			got := make(chan int, 1)
			go func() {
				nc, err := ln.Accept()
				if err != nil {
					got <- -1
					return
				}
				if secure {
					nc = tls.Server(nc, &tls.Config{Certificates: []tls.Certificate{cert}})
				}
				wstest.Serve(nc, func(p *wstest.Peer) {
					p.Upgrade(nil)
					<-cut // reads nothing until the cut
					f, _ := p.ReadFrame()
					got <- len(f.Payload)
				})
			}()
			nd := net.Dialer{Control: bufferSize(unix.SO_SNDBUF, 2<<20)}
			nc, err := nd.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			url := "ws://" + ln.Addr().String() + "/"
			if secure {
				nc, url = tls.Client(nc, &tls.Config{InsecureSkipVerify: true}), "wss://"+ln.Addr().String()+"/"
			}
			c, err := new(conn.Dialer).DialConn(testCtx(t), nc, url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if err := c.WriteMessage(testCtx(t), frame.OpBinary, make([]byte, 512<<10)); err != nil {
				t.Fatalf("first WriteMessage = %v", err)
			}
			// The payload is made first, and the deadline leaves time for
			// the write to begin on a loaded machine: a deadline that
			// passed before it did stops it cleanly (a make test run
			// under load saw that, at 300 ms).
			second := make([]byte, 16<<20)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := c.WriteMessage(ctx, frame.OpBinary, second); !errors.Is(err, conn.ErrBroken) {
				t.Fatalf("second WriteMessage = %v, want a write cut mid-frame", err)
			}
			close(cut)
			if n := recv(t, got); n != 512<<10 {
				t.Errorf("the peer got %d bytes of the first message, want all %d", n, 512<<10)
			}
		})
	}
}
