package conn

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"unsafe"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/reader"
)

// waitBufferMax is the most a receive waiting between frames may lend the
// transport: the reader's small wait buffer, not its read buffer.
const waitBufferMax = 48

// capConn records the capacity of the buffer of each Read it is given.
type capConn struct {
	net.Conn
	last atomic.Int64
}

func (c *capConn) Read(p []byte) (int, error) {
	c.last.Store(int64(cap(p)))
	return c.Conn.Read(p)
}

// A receive blocked while no bytes of the next frame have arrived holds
// no read buffer: the transport's Read is given only the reader's small
// wait buffer, and the message that then arrives is read whole.
func TestWaitingReceiveHoldsNoReadBuffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, peer := net.Pipe()
		cc := &capConn{Conn: client}
		c := New(cc, nil)
		go io.Copy(io.Discard, peer)
		t.Cleanup(func() { c.CloseNow(); peer.Close() })
		for _, size := range []int{1000, 10, 5000} {
			got := make(chan frame.Frame, 1)
			go func() {
				f, err := c.ReadDataFrame(context.Background(), nil)
				if err != nil {
					t.Error(err)
				}
				got <- f
			}()
			synctest.Wait()
			if n := cc.last.Load(); n > waitBufferMax {
				t.Fatalf("before a %d B message: blocked Read holds a %d B buffer", size, n)
			}
			want := strings.Repeat("x", size)
			go peer.Write(wireOf(t, dataFrame(frame.OpBinary, true, false, want)))
			if f := <-got; string(f.Payload) != want {
				t.Fatalf("got %d bytes, want %d", len(f.Payload), size)
			}
		}
	})
}

// A receive stopped by its deadline loses no byte, wherever the bytes
// stop: inside a header, at and around the end of the wait buffer, and
// inside the payload, over two frames in a row.
func TestReceiveResumesAcrossWaitBuffer(t *testing.T) {
	big := strings.Repeat("abcdefgh", 125)
	huge := strings.Repeat("0123456789", 7000)
	// In the first wire the second frame starts at 1004 (after a 4-byte
	// header) and the third at 1010. In the second, the 10-byte header of
	// the second frame starts at 60 and straddles the end of the wait
	// buffer.
	second, third := 1004, 1010
	for _, tt := range []struct {
		msgs []string
		cuts [][]int
	}{
		{[]string{big, "tiny", big[:100]}, [][]int{
			{1, 3, 4, 40, waitBufferMax - 1, waitBufferMax, waitBufferMax + 1, 500},
			{2, waitBufferMax, second - 1, second, second + 1, third + 1, third + 3, third + 30},
			{1, 2, 3, second, second + 1, second + 2, second + 3, third, third + 2, third + 4, third + 70},
		}},
		{[]string{big[:58], huge, "end"}, [][]int{
			{70, 100, 30000},
			{waitBufferMax, 65, 70000},
		}},
	} {
		var frames []frame.Frame
		for _, m := range tt.msgs {
			frames = append(frames, dataFrame(frame.OpBinary, true, false, m))
		}
		wire := wireOf(t, frames...)
		for _, cuts := range tt.cuts {
			synctest.Test(t, func(t *testing.T) {
				client, peer := net.Pipe()
				c := New(client, nil)
				go io.Copy(io.Discard, peer)
				t.Cleanup(func() { c.CloseNow(); peer.Close() })
				var got [][]byte
				var to *TimeoutError
				prev := 0
				for _, cut := range append(cuts, len(wire)) {
					go peer.Write(wire[prev:cut])
					prev = cut
					for {
						f, err := c.ReadDataFrame(shortCtx(t), nil)
						if errors.As(err, &to) {
							break
						}
						if err != nil {
							t.Fatalf("cuts %v at %d: %v", cuts, cut, err)
						}
						got = append(got, bytes.Clone(f.Payload))
					}
				}
				if len(got) != len(tt.msgs) {
					t.Fatalf("cuts %v: %d messages, want %d", cuts, len(got), len(tt.msgs))
				}
				for i, want := range tt.msgs {
					if string(got[i]) != want {
						t.Fatalf("cuts %v: message %d is %.20q..., want %.20q...", cuts, i, got[i], want)
					}
				}
			})
		}
	}
}

// An idle Conn is small: the buffer for control payloads is made by the
// first control frame read, not before, so a Conn and its Reader stay in
// the 896- and 240-byte size classes of the allocator. The Conn's size is
// measured as allocated: an object over 512 bytes that holds pointers
// takes 8 bytes more for the allocator's header, so a Conn of 896 bytes
// took the 1,024-byte class.
func TestIdleConnSize(t *testing.T) {
	if n := allocSize(func() { connSink = new(Conn) }); n > 896 {
		t.Errorf("a Conn takes %d bytes of heap, want at most 896 (it is %d bytes)", n, unsafe.Sizeof(Conn{}))
	}
	if n := unsafe.Sizeof(reader.Reader{}); n > 240 {
		t.Errorf("reader.Reader is %d bytes, want at most 240", n)
	}
	synctest.Test(t, func(t *testing.T) {
		c, peer := discardingPipe(t)
		go peer.Write(wireOf(t, dataFrame(frame.OpBinary, true, false, "data"),
			frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPing}, Payload: []byte("ping")},
			dataFrame(frame.OpBinary, true, false, "more")))
		if _, err := c.ReadDataFrame(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		if c.ctl != nil {
			t.Error("a control buffer was made before any control frame")
		}
		if f, err := c.ReadDataFrame(t.Context(), nil); err != nil || string(f.Payload) != "more" {
			t.Fatalf("after the ping: %q, %v", f.Payload, err)
		}
		if c.ctl == nil || string(c.ctl[:4]) != "ping" {
			t.Error("the ping's payload is not in the control buffer")
		}
		if c.done.p.Load() != nil {
			t.Error("a channel for the Conn's end was made while no call waited for a lock")
		}
	})
}

var connSink *Conn

// allocSize returns the heap bytes one call of alloc takes, the least
// measured over a few rounds (another goroutine's allocations can only
// add to a round).
func allocSize(alloc func()) uint64 {
	const n = 64
	var before, after runtime.MemStats
	least := uint64(math.MaxUint64)
	for range 5 {
		runtime.ReadMemStats(&before)
		for range n {
			alloc()
		}
		runtime.ReadMemStats(&after)
		least = min(least, (after.TotalAlloc-before.TotalAlloc)/n)
	}
	return least
}
