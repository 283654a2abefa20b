package conn

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
)

// gateTransport records each Write whole; with a gate, each Write waits
// for a value on it first.
type gateTransport struct {
	gate    chan struct{}
	discard bool  // count the Writes only
	fail    error // each Write fails with it, writing nothing
	mu      sync.Mutex
	n       int
	writes  [][]byte
}

func (g *gateTransport) Read([]byte) (int, error) { return 0, io.EOF }
func (g *gateTransport) Write(b []byte) (int, error) {
	if g.gate != nil {
		<-g.gate
	}
	if g.fail != nil {
		return 0, g.fail
	}
	g.mu.Lock()
	g.n++
	if !g.discard {
		g.writes = append(g.writes, bytes.Clone(b))
	}
	g.mu.Unlock()
	return len(b), nil
}

// writeBuffers records a vectored write as one Write, as writev is one
// system call.
func (g *gateTransport) writeBuffers(v *net.Buffers) (int64, error) {
	if g.discard && g.gate == nil && g.fail == nil {
		var n int64
		for _, p := range *v {
			n += int64(len(p))
		}
		g.mu.Lock()
		g.n++
		g.mu.Unlock()
		*v = nil
		return n, nil
	}
	var b []byte
	for _, p := range *v {
		b = append(b, p...)
	}
	n, err := g.Write(b)
	*v = nil
	return int64(n), err
}

func (g *gateTransport) Close() error                     { return nil }
func (g *gateTransport) SetReadDeadline(time.Time) error  { return nil }
func (g *gateTransport) SetWriteDeadline(time.Time) error { return nil }

// payloads decodes the unmasked frames in b and returns their payloads.
func payloads(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for len(b) > 0 {
		h, n, err := frame.ParseHeader(b)
		if err != nil || h.Masked || int64(len(b)-n) < h.Length {
			t.Fatalf("bad frame at %q: %v", b, err)
		}
		out = append(out, string(b[n:n+int(h.Length)]))
		b = b[n+int(h.Length):]
	}
	return out
}

// Senders that find a write in flight queue their frames and return at
// once, even when their context ends afterwards; the holder sends the
// frames queued, in their arrival order, in one Write before it returns.
func TestSendQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateTransport{gate: make(chan struct{})}
		c := New(g, &Config{Role: RoleServer})
		bg := context.Background()
		first := make(chan error, 1)
		go func() { first <- c.WriteMessage(bg, frame.OpText, []byte("first")) }()
		synctest.Wait() // its Write is in flight
		for i := range 5 {
			ctx, cancel := context.WithCancel(bg)
			if err := c.WriteMessage(ctx, frame.OpText, []byte(fmt.Sprint("q", i))); err != nil {
				t.Fatal(err)
			}
			cancel() // the frame is queued: it goes out all the same
		}
		if got, want := c.Buffered(), 2+5+5*(2+2); got != want {
			t.Errorf("Buffered = %d, want %d", got, want)
		}
		g.gate <- struct{}{}
		synctest.Wait()
		if len(first) != 0 {
			t.Fatal("the holder returned before it sent the frames queued")
		}
		g.gate <- struct{}{}
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if len(g.writes) != 2 {
			t.Fatalf("%d writes, want 2: %q", len(g.writes), g.writes)
		}
		want := []string{"q0", "q1", "q2", "q3", "q4"}
		if got := payloads(t, g.writes[1]); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("second write carried %q, want %q", got, want)
		}
		if n := c.wlock.queued(); n != 0 || c.wlock.state.Load() != mutexUnlocked || c.Buffered() != 0 {
			t.Errorf("%d waiters, state %d, Buffered %d at the end", n, c.wlock.state.Load(), c.Buffered())
		}
	})
}

// WriteMessages sends a burst of messages in one Write, in order, and
// refuses the whole burst when one message is invalid.
func TestWriteMessages(t *testing.T) {
	g := &gateTransport{}
	c := New(g, &Config{Role: RoleServer})
	ctx := context.Background()
	var ps [][]byte
	for i := range 10 {
		ps = append(ps, fmt.Appendf(nil, "m%d", i))
	}
	if err := c.WriteMessages(ctx, frame.OpText, ps...); err != nil {
		t.Fatal(err)
	}
	if len(g.writes) != 1 {
		t.Fatalf("%d writes, want 1", len(g.writes))
	}
	if got := payloads(t, g.writes[0]); fmt.Sprint(got) != "[m0 m1 m2 m3 m4 m5 m6 m7 m8 m9]" {
		t.Errorf("got %q", got)
	}
	if err := c.WriteMessages(ctx, frame.OpText, []byte("ok"), []byte{0xff}); err != ErrInvalidText {
		t.Errorf("invalid text: %v", err)
	}
	if len(g.writes) != 1 {
		t.Errorf("an invalid burst was sent in part")
	}
	g.discard = true
	if n := testing.AllocsPerRun(100, func() { c.WriteMessages(ctx, frame.OpBinary, ps...) }); n != 0 && !raceEnabled {
		t.Errorf("WriteMessages: %v allocations", n)
	}
}

// Concurrent senders allocate nothing once the queue's chunks, the lock's
// nodes and the key source exist, however many of them there are: 8 or
// 64 goroutines sending at once.
func TestSendContendedNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	for _, writers := range []int{8, 64} {
		g := &gateTransport{discard: true}
		c := New(g, &Config{Role: RoleClient})
		ctx := context.Background()
		run := func(n int) {
			var wg sync.WaitGroup
			for range writers {
				wg.Go(func() {
					p := make([]byte, 16)
					for range n {
						c.WriteMessage(ctx, frame.OpBinary, p)
						runtime.Gosched()
					}
				})
			}
			wg.Wait()
		}
		run(200) // warm up: nodes and pools
		g.n = 0
		// No collection while measuring: it would empty the pools.
		gc := debug.SetGCPercent(-1)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		run(2000)
		runtime.ReadMemStats(&after)
		debug.SetGCPercent(gc)
		// Starting the goroutines allocates (their closures and the
		// payloads), and so may the runtime: at most one for 100
		// messages.
		if n := after.Mallocs - before.Mallocs; n > uint64(writers*2000/100) {
			t.Errorf("%d writers: %d allocations for %d messages in %d writes", writers, n, writers*2000, g.n)
		} else {
			t.Logf("%d writers: %d allocations for %d messages in %d writes", writers, n, writers*2000, g.n)
		}
	}
}

// A prepared message goes out from each Conn as that Conn's role frames
// it: unmasked from servers, masked with each client's own fresh key.
func TestWritePrepared(t *testing.T) {
	if _, err := NewPreparedMessage(frame.OpText, []byte{0xff}); err != ErrInvalidText {
		t.Errorf("invalid text: %v", err)
	}
	if _, err := NewPreparedMessage(frame.OpPing, make([]byte, 126)); err == nil {
		t.Errorf("a 126-byte ping was prepared")
	}
	src := []byte("broadcast to all")
	pm, err := NewPreparedMessage(frame.OpText, src)
	if err != nil {
		t.Fatal(err)
	}
	src[0] = 'X' // the prepared message holds a copy
	want := "broadcast to all"
	ctx := context.Background()
	keys := map[[4]byte]bool{}
	for i, role := range []Role{RoleServer, RoleClient, RoleServer, RoleClient, RoleClient} {
		g := &gateTransport{}
		c := New(g, &Config{Role: role})
		for range 2 {
			if err := c.WritePrepared(ctx, pm); err != nil {
				t.Fatal(err)
			}
		}
		for _, b := range g.writes {
			h, n, err := frame.ParseHeader(b)
			if err != nil || !h.Fin || h.Opcode != frame.OpText || h.Masked != (role == RoleClient) || len(b) != n+int(h.Length) {
				t.Fatalf("conn %d (%v) sent %x: %+v, %v", i, role, b, h, err)
			}
			got := bytes.Clone(b[n:])
			if h.Masked {
				keys[h.Key] = true
				for j := range got {
					got[j] ^= h.Key[j%4]
				}
			}
			if string(got) != want {
				t.Errorf("conn %d (%v) sent %q, want %q", i, role, got, want)
			}
		}
		g.discard = true
		if n := testing.AllocsPerRun(100, func() { c.WritePrepared(ctx, pm) }); n != 0 && !raceEnabled {
			t.Errorf("conn %d (%v): WritePrepared: %v allocations", i, role, n)
		}
	}
	if len(keys) != 6 {
		t.Errorf("the 3 clients' 6 frames used %d distinct keys, want a fresh key each", len(keys))
	}
}
