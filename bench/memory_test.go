package bench

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// memConn is a net.Conn with a server that lives in memory: it answers
// the opening handshake, then serves the same stream of frames forever and
// discards what the client writes. Receiving from it measures a client's
// read path with no socket, no scheduler and no second process in the way.
type memConn struct {
	mu       sync.Mutex
	req      []byte
	response []byte // the part of the handshake response not yet read
	answered chan struct{}
	closed   chan struct{}
	once     sync.Once
	frames   loopReader // nothing, when empty: Read waits for Close

	// answer, when set, is the server's reply to the request's
	// Sec-WebSocket-Extensions values (see acceptHandshake).
	answer func(offers []string) string
	// sent counts the bytes the client wrote after the handshake.
	sent int64
}

func newMemConn(stream []byte) *memConn {
	return &memConn{
		answered: make(chan struct{}),
		closed:   make(chan struct{}),
		frames:   loopReader{data: stream},
	}
}

func (m *memConn) Write(p []byte) (int, error) {
	select {
	case <-m.closed:
		return 0, net.ErrClosed
	default:
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.req == nil && m.response != nil || m.isAnswered() {
		m.sent += int64(len(p))
		return len(p), nil
	}
	m.req = append(m.req, p...)
	if end := bytes.Index(m.req, []byte("\r\n\r\n")); end >= 0 {
		var key, ext string
		var offers []string
		for _, line := range strings.Split(string(m.req[:end]), "\r\n") {
			if k, ok := fieldOf(line, "Sec-WebSocket-Key"); ok {
				key = k
			}
			if e, ok := fieldOf(line, "Sec-WebSocket-Extensions"); ok {
				offers = append(offers, e)
			}
		}
		if m.answer != nil {
			ext = m.answer(offers)
		}
		m.req = nil
		m.response = []byte(switchingProtocols(key, ext))
		close(m.answered)
	}
	return len(p), nil
}

func (m *memConn) isAnswered() bool {
	select {
	case <-m.answered:
		return true
	default:
		return false
	}
}

func (m *memConn) Read(p []byte) (int, error) {
	select {
	case <-m.answered:
	case <-m.closed:
		return 0, net.ErrClosed
	}
	select {
	case <-m.closed:
		return 0, net.ErrClosed
	default:
	}
	m.mu.Lock()
	if len(m.response) > 0 {
		n := copy(p, m.response)
		m.response = m.response[n:]
		m.mu.Unlock()
		return n, nil
	}
	m.mu.Unlock()
	if len(m.frames.data) == 0 {
		<-m.closed
		return 0, net.ErrClosed
	}
	return m.frames.Read(p)
}

func (m *memConn) Close() error {
	m.once.Do(func() { close(m.closed) })
	return nil
}

type memAddr struct{}

func (memAddr) Network() string { return "memory" }
func (memAddr) String() string  { return "memory" }

func (m *memConn) LocalAddr() net.Addr              { return memAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return memAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkRecvMemoryContext is BenchmarkRecvMemory at 125 B for the
// clients whose calls take a context, passing one that can be cancelled
// (context.WithCancel, kept for the whole run) instead of
// context.Background(): what an application that can stop its reader pays.
func BenchmarkRecvMemoryContext(b *testing.B) {
	const size = 125
	stream := serverFrames(size)
	for _, lib := range libraries() {
		b.Run(lib.name, func(b *testing.B) {
			c := dialMemory(b, lib, stream)
			defer c.close()
			cc, ok := c.(interface{ setContext(context.Context) })
			if !ok {
				b.Skip("calls take no context")
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cc.setContext(ctx)
			b.SetBytes(size)
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

// dialMemory dials lib over a memConn that serves stream.
func dialMemory(tb testing.TB, lib library, stream []byte) client {
	nd := func(context.Context, string, string) (net.Conn, error) { return newMemConn(stream), nil }
	c, err := lib.dial(context.Background(), "ws://127.0.0.1:9/", nd)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// TestRecvMemory checks that every client reads the in-memory stream.
func TestRecvMemory(t *testing.T) {
	want := bytes.Repeat([]byte("framewire"), 1<<10/9+1)[:1<<10]
	stream := serverFrames(len(want))
	for _, lib := range recvLibraries() {
		t.Run(lib.name, func(t *testing.T) {
			c := dialMemory(t, lib, stream)
			defer c.close()
			for range 300 {
				got, err := c.recv()
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("recv: %d bytes, %v", len(got), err)
				}
			}
		})
	}
}

// BenchmarkRecvMemory receives binary messages from a memConn; one op is
// one message. This is each client's message read path (frame parsing,
// validation, reassembly, buffer handling) without the network.
func BenchmarkRecvMemory(b *testing.B) {
	for _, size := range streamSizes {
		stream := serverFrames(size)
		for _, lib := range recvLibraries() {
			b.Run(sizeName(size)+"/"+lib.name, func(b *testing.B) {
				c := dialMemory(b, lib, stream)
				defer c.close()
				recvLoop(b, c, size)
			})
		}
	}
}

// recvLoop is the loop of a receiving benchmark: one op is one message of
// size bytes received by c.
func recvLoop(b *testing.B, c client, size int) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		p, err := c.recv()
		if err != nil || len(p) != size {
			b.Fatal(len(p), err)
		}
	}
}
