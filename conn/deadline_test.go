package conn_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// Receiving and sending with the same cancellable context, or a value
// context of it, allocate nothing once the first call has bound it.
func TestCancellableContextAllocs(t *testing.T) {
	c := dialMemory(t, rawFrame(true, frame.OpBinary, make([]byte, 125)))
	parent, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	type key struct{}
	for name, ctx := range map[string]context.Context{
		"WithTimeout":        parent,
		"WithValue of it":    context.WithValue(parent, key{}, 1),
		"WithCancel, again":  nil, // replaced below
		"context.Background": context.Background(),
	} {
		if ctx == nil {
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(context.Background())
			defer cancel()
		}
		buf := make([]byte, 0, 125)
		recvAllocs := testing.AllocsPerRun(100, func() {
			if _, err := c.ReadDataFrame(ctx, buf[:0]); err != nil {
				t.Fatal(err)
			}
		})
		sendAllocs := testing.AllocsPerRun(100, func() {
			if err := c.WriteMessage(ctx, frame.OpBinary, []byte("ping")); err != nil {
				t.Fatal(err)
			}
		})
		if recvAllocs != 0 || sendAllocs != 0 {
			t.Errorf("%s: ReadDataFrame %v allocs, WriteMessage %v allocs; want 0", name, recvAllocs, sendAllocs)
		}
	}
}

// Sending a message in fragments with WriteFrame, and a NetConn's Write,
// allocate nothing in steady state.
func TestFragmentsAndNetConnAllocs(t *testing.T) {
	if conn.RaceEnabled {
		t.Skip("the race detector allocates")
	}
	c := dialMemory(t, rawFrame(true, frame.OpBinary, make([]byte, 125)))
	ctx := context.Background()
	p := []byte("fragment")
	frag := testing.AllocsPerRun(100, func() {
		for i, op := range []frame.Opcode{frame.OpBinary, frame.OpContinuation, frame.OpContinuation} {
			f := frame.Frame{Header: frame.Header{Fin: i == 2, Opcode: op}, Payload: p}
			if err := c.WriteFrame(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
	})
	nc := conn.NetConn(ctx, c, frame.OpBinary)
	netWrite := testing.AllocsPerRun(100, func() {
		if _, err := nc.Write(p); err != nil {
			t.Fatal(err)
		}
	})
	if frag != 0 || netWrite != 0 {
		t.Errorf("a message in three WriteFrame fragments: %v allocs, NetConn.Write: %v allocs; want 0", frag, netWrite)
	}
}

// A context kept from call to call still stops a later call when it is
// cancelled, and leaves nothing behind for the calls after it.
func TestContextReusedAcrossCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := dialPipe(t, nil, wstest.Echo)
		ctx, cancel := context.WithCancel(context.Background())
		echoed(t, ctx, c, "one")
		echoed(t, ctx, c, "two")
		done := recvBlocked(ctx, c) // nothing comes: only the cancel ends it
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("ReadMessage after cancel = %v, want context.Canceled", err)
		}
		// No past deadline is left on the socket for a context that cannot
		// end: this receive waits for a message that comes 50ms later.
		sent := make(chan error, 1)
		go func() {
			time.Sleep(50 * time.Millisecond)
			sent <- c.WriteMessage(context.Background(), frame.OpText, []byte("three"))
		}()
		start := time.Now()
		if _, p, err := c.ReadMessage(context.Background()); err != nil || string(p) != "three" || time.Since(start) != 50*time.Millisecond {
			t.Errorf("ReadMessage(Background) = %q, %v after %v; want the message after 50ms", p, err, time.Since(start))
		}
		<-sent
	})
}

// A context cancelled between two calls fails the next call at once and
// disturbs none after it.
func TestContextCancelledBetweenCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := dialPipe(t, nil, wstest.Echo)
		ctx, cancel := context.WithCancel(context.Background())
		echoed(t, ctx, c, "one")
		cancel()
		synctest.Wait() // the AfterFunc ran with no call in progress
		if _, _, err := c.ReadMessage(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("ReadMessage(cancelled) = %v, want context.Canceled", err)
		}
		other, cancel2 := context.WithTimeout(context.Background(), time.Minute)
		defer cancel2()
		echoed(t, other, c, "two")
	})
}

// The deadline of a context stays on the socket after its call, but a
// later call with a context that has none is not stopped by it.
func TestDeadlineDoesNotOutliveItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := dialPipe(t, nil, wstest.Echo)
		short, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
		defer cancel()
		echoed(t, short, c, "one")
		sent := make(chan error, 1)
		go func() {
			time.Sleep(150 * time.Millisecond) // past the short deadline
			sent <- c.WriteMessage(context.Background(), frame.OpText, []byte("two"))
		}()
		start := time.Now()
		_, p, err := c.ReadMessage(context.Background())
		took := time.Since(start)
		<-sent
		if err != nil || string(p) != "two" || took != 150*time.Millisecond {
			t.Fatalf("ReadMessage(Background) after a deadline passed = %q, %v after %v; want the message after 150ms", p, err, took)
		}
		// And the other way: a context with a later deadline replaces it.
		later, cancel2 := context.WithTimeout(context.Background(), time.Minute)
		defer cancel2()
		echoed(t, later, c, "three")
	})
}

// A ReadFrame stopped by its deadline in the middle of a frame leaves no
// deadline behind for Close, which discards the rest of that frame and
// waits for the peer's answer.
func TestCloseAfterRecvFrameTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		raw := rawFrame(true, frame.OpBinary, make([]byte, 100))
		c := dialPipe(t, nil, func(p *wstest.Peer) {
			p.Upgrade(nil)
			p.Write(raw[:12]) // the header and 10 bytes of the payload
			p.ReadFrame()     // the client's close
			p.Write(raw[12:])
			p.WriteClose(status.NormalClosure, "")
			p.Discard()
		})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		if _, err := c.ReadFrame(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ReadFrame = %v, want a timeout", err)
		}
		cancel()
		if err := c.Close(context.Background(), status.NormalClosure, ""); err != nil {
			t.Errorf("Close after a stopped ReadFrame = %v, want nil", err)
		}
	})
}

// A Conn, closed or simply dropped, is not kept alive by a long-lived
// context it was used with.
func TestConnNotHeldByContext(t *testing.T) {
	for _, shutdown := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		wp := func() weak.Pointer[conn.Conn] {
			c := openMemory(t, rawFrame(true, frame.OpBinary, []byte("x")))
			if _, err := c.ReadDataFrame(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if err := c.WriteMessage(ctx, frame.OpText, []byte("x")); err != nil {
				t.Fatal(err)
			}
			if shutdown {
				c.CloseNow()
			}
			return weak.Make(c)
		}()
		collected := false
		for range 5 {
			runtime.GC()
			if collected = wp.Value() == nil; collected {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !collected {
			t.Errorf("CloseNow %v: the Conn is still reachable; the context of its last call holds it", shutdown)
		}
	}
}
