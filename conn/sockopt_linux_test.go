package conn_test

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/framewire/ws/conn"
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
