package bench

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/gobwas/ws"
)

// streamServer is the server of BenchmarkRecvLoopback: after the opening
// handshake it waits for the client's first bytes, so that no frame
// arrives with the handshake response (which gobwas' wsutil client
// refuses), then writes the same run of frames over and over until the
// client goes away, reading nothing more.
type streamServer struct {
	ln     net.Listener
	url    string
	stream []byte
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
}

func startStreamServer(tb testing.TB, stream []byte) *streamServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &streamServer{ln: ln, url: "ws://" + ln.Addr().String() + "/", stream: stream, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.accept()
	tb.Cleanup(s.close)
	return s
}

func (s *streamServer) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[nc] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer nc.Close()
			if _, err := ws.Upgrade(nc); err != nil {
				return
			}
			var start [1]byte
			if _, err := nc.Read(start[:]); err != nil {
				return
			}
			for {
				if _, err := nc.Write(s.stream); err != nil {
					return
				}
			}
		}()
	}
}

func (s *streamServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// BenchmarkRecvLoopback receives binary messages over loopback TCP from a
// server that streams them without pause; one op is one message. Client
// and server share the machine's cores, so compare ratios within one run.
func BenchmarkRecvLoopback(b *testing.B) {
	for _, size := range []int{16, 1 << 10} {
		srv := startStreamServer(b, serverFrames(size))
		for _, lib := range libraries() {
			b.Run(sizeName(size)+"/"+lib.name, func(b *testing.B) {
				c, err := lib.dial(context.Background(), srv.url, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer c.close()
				if err := c.send([]byte("go")); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					p, err := c.recv()
					if err != nil || len(p) != size {
						b.Fatal(len(p), err)
					}
				}
			})
		}
	}
}
