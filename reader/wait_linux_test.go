package reader

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/framewire/ws/frame"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client *net.TCPConn, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); server.Close() })
	return c.(*net.TCPConn), server
}

// readCalls returns how many read system calls the process has made.
func readCalls(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skip("no /proc/self/io:", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "syscr: "); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no syscr in /proc/self/io")
	return 0
}

// awaitInput returns once the socket has n unread bytes, without reading.
func awaitInput(t *testing.T, c *net.TCPConn, n int) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	for range 100000 {
		var avail int
		rc.Control(func(fd uintptr) { avail, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
		if avail >= n {
			return
		}
		runtime.Gosched()
	}
	t.Fatalf("%d bytes never arrived", n)
}

// Over a TCP socket a Reader waiting for the next frame holds no buffer,
// not even its small wait buffer, and reads a frame that has arrived with
// one system call, whatever its size up to the read buffer's.
func TestRawSocketWait(t *testing.T) {
	client, server := tcpPair(t)
	r := New(client)
	for _, size := range []int{10, 46, 47, 100, 1000, 4000} {
		// A wait that ends with the deadline leaves nothing held.
		client.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := r.ReadFrame()
		if oe, ok := errors.AsType[*net.OpError](err); !ok || oe.Op != "read" || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("size %d: waiting with nothing sent: %v, want a read *net.OpError for the deadline", size, err)
		}
		if r.raw == nil {
			t.Fatal("a Reader of a *net.TCPConn does not wait on the socket")
		}
		if r.buf != nil || r.bufp != nil {
			t.Fatalf("size %d: a wait that timed out holds a %d B buffer", size, cap(r.buf))
		}
		client.SetReadDeadline(time.Time{})

		payload := bytes.Repeat([]byte{'x'}, size)
		w := wire(t, frame.Frame{Header: hdr(true, frame.OpBinary, size), Payload: payload})
		if _, err := server.Write(w); err != nil {
			t.Fatal(err)
		}
		awaitInput(t, client, len(w))
		// Reading /proc/self/io costs reads of its own: measure them.
		cost := -readCalls(t) + readCalls(t)
		before := readCalls(t)
		f, err := r.ReadFrame()
		calls := readCalls(t) - before - cost
		if err != nil || !bytes.Equal(f.Payload, payload) {
			t.Fatalf("size %d: got %d bytes, %v", size, len(f.Payload), err)
		}
		if calls != 1 {
			t.Errorf("size %d: %d read system calls for a frame already arrived, want 1", size, calls)
		}
		if r.buf != nil || r.bufp != nil {
			t.Errorf("size %d: the buffer is held after the frame was read", size)
		}
	}
}

// The end of the stream and a closed socket are reported as a read of the
// socket itself reports them.
func TestRawSocketEnd(t *testing.T) {
	client, server := tcpPair(t)
	r := New(client)
	w := wire(t, frame.Frame{Header: hdr(true, frame.OpText, 2), Payload: []byte("hi")})
	server.Write(w[:3]) // the frame is cut after one payload byte
	server.Close()
	if _, err := r.ReadFrame(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a stream ending inside a frame: %v", err)
	}

	client2, _ := tcpPair(t)
	r2 := New(client2)
	done := make(chan error, 1)
	go func() {
		_, err := r2.ReadFrame()
		done <- err
	}()
	client2.Close() // before or during the wait: the same error either way
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a socket closed while waiting: %v, want net.ErrClosed", err)
	}
}

// Wait reads the next frame's first bytes on a socket when nothing is
// buffered between frames, and does nothing otherwise: a Wait that read
// would meet the deadline set in the past and return its error, so a nil
// return with nothing new buffered shows that it did not read.
func TestWait(t *testing.T) {
	two := wire(t,
		frame.Frame{Header: hdr(true, frame.OpText, 2), Payload: []byte("hi")},
		frame.Frame{Header: hdr(true, frame.OpBinary, 3), Payload: []byte{1, 2, 3}})
	for _, tt := range []struct {
		name    string
		prepare func(t *testing.T, r *Reader, server net.Conn) // leaves r in the state tested
		wantBuf int                                            // bytes buffered after the Wait
	}{
		{name: "between frames, nothing buffered", wantBuf: len(two), prepare: func(t *testing.T, r *Reader, server net.Conn) {
			server.Write(two)
		}},
		{name: "second frame buffered", wantBuf: 5, prepare: func(t *testing.T, r *Reader, server net.Conn) {
			server.Write(two)
			if f, err := r.ReadFrame(); err != nil || string(f.Payload) != "hi" {
				t.Fatalf("first frame: %q, %v", f.Payload, err)
			}
		}},
		{name: "payload not read", prepare: func(t *testing.T, r *Reader, server net.Conn) {
			server.Write(two[:2])
			if _, err := r.ReadHeader(); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "protocol error", prepare: func(t *testing.T, r *Reader, server net.Conn) {
			server.Write([]byte{0x83, 0x00}) // reserved opcode
			if _, err := r.ReadFrame(); !errors.As(err, new(*frame.Error)) {
				t.Fatalf("reserved opcode: %v", err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client, server := tcpPair(t)
			r := New(client)
			tt.prepare(t, r, server)
			if tt.wantBuf == len(two) {
				awaitInput(t, client, len(two))
			} else {
				client.SetReadDeadline(past)
			}
			if err := r.Wait(); err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if got := r.Buffered(); got != tt.wantBuf {
				t.Errorf("Buffered() = %d after Wait, want %d", got, tt.wantBuf)
			}
		})
	}
}

// past is a deadline that has passed: a read under it fails at once.
var past = time.Unix(1, 0)

// A Wait stopped by the source's error returns it and leaves the Reader
// as a read that failed would: no buffer held, and the next call reads
// the frame that comes later. The end of the stream is io.EOF, as
// between frames.
func TestWaitError(t *testing.T) {
	client, server := tcpPair(t)
	r := New(client)
	client.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	err := r.Wait()
	if oe, ok := errors.AsType[*net.OpError](err); !ok || oe.Op != "read" || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Wait at the deadline: %v, want a read *net.OpError for the deadline", err)
	}
	if r.buf != nil || r.bufp != nil || r.Buffered() != 0 {
		t.Fatalf("a Wait that timed out holds a buffer (%d B buffered)", r.Buffered())
	}
	client.SetReadDeadline(time.Time{})
	server.Write(wire(t, frame.Frame{Header: hdr(true, frame.OpText, 2), Payload: []byte("ok")}))
	if err := r.Wait(); err != nil || r.Buffered() != 4 {
		t.Fatalf("Wait after the timeout: %v, %d B buffered", err, r.Buffered())
	}
	if f, err := r.ReadFrame(); err != nil || string(f.Payload) != "ok" {
		t.Fatalf("the frame after the timeout: %q, %v", f.Payload, err)
	}
	server.Close()
	if err := r.Wait(); err != io.EOF {
		t.Fatalf("Wait at the end of the stream: %v, want io.EOF", err)
	}
}
