package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/mask"
)

// The queue stays within its limit: a sender whose frame would go beyond
// it waits for the lock without queueing, bounded by its context, and
// Buffered reports the frame in flight plus the frames queued.
func TestSendQueueBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateTransport{gate: make(chan struct{})}
		c := New(g, &Config{Role: RoleServer})
		const size = 4 + 1000 // header and payload of each frame
		c.q.chunks().limit = 3 * size
		done := make(chan error, 8)
		send := func(ctx context.Context, s string) {
			p := make([]byte, 1000)
			copy(p, s)
			done <- c.WriteMessage(ctx, frame.OpBinary, p)
		}
		bg := context.Background()
		go send(bg, "first")
		synctest.Wait() // its Write is in flight
		if got := c.Buffered(); got != size {
			t.Fatalf("Buffered = %d with one frame in flight, want %d", got, size)
		}
		leave, cancel := context.WithCancel(bg)
		for i, ctx := range []context.Context{bg, bg, bg, bg, leave} {
			go send(ctx, fmt.Sprint("q", i))
			synctest.Wait() // queued before the next arrives
		}
		// q0..q2 are queued and returned, q3 and q4 wait.
		for range 3 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if got, want := c.Buffered(), size+3*size; got != want {
			t.Fatalf("Buffered = %d, want %d", got, want)
		}
		cancel() // q4 gives up, sending nothing
		var te *TimeoutError
		if err := <-done; !errors.As(err, &te) || te.Broken || te.Kept || !errors.Is(err, context.Canceled) {
			t.Fatalf("q4 returned %v", err)
		}
		for len(done) < 2 {
			g.gate <- struct{}{}
			synctest.Wait()
		}
		for range 2 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		var sent []string
		for _, w := range g.writes {
			for _, p := range payloads(t, w) {
				sent = append(sent, p[:2])
			}
		}
		if fmt.Sprintf("%q", sent) != `["fi" "q0" "q1" "q2" "q3"]` {
			t.Errorf("sent %q", sent)
		}
		if got := c.Buffered(); got != 0 {
			t.Errorf("Buffered = %d at the end", got)
		}
	})
}

// The frames a holder took from the queue count against the limit until
// they are written: while it writes them, no more than the limit queues
// behind them, and Buffered never passes it (the queue's count was reset
// at the take, which let twice the limit in).
func TestSendQueueBoundCountsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateTransport{gate: make(chan struct{})}
		c := New(g, &Config{Role: RoleServer})
		const size = 4 + 1000
		c.q.chunks().limit = 3 * size
		done := make(chan error, 8)
		send := func(ctx context.Context) { done <- c.WriteMessage(ctx, frame.OpBinary, make([]byte, 1000)) }
		bg := context.Background()
		go send(bg)
		synctest.Wait() // its Write is in flight
		for range 3 {
			go send(bg)
			synctest.Wait()
			if err := <-done; err != nil { // queued
				t.Fatal(err)
			}
		}
		g.gate <- struct{}{} // the first frame out; the holder writes the three queued
		synctest.Wait()
		if got := c.Buffered(); got != 3*size {
			t.Errorf("Buffered = %d while the queue is written, want %d", got, 3*size)
		}
		ctx, cancel := context.WithCancel(bg)
		go send(ctx)
		synctest.Wait()
		if len(done) > 0 || c.Buffered() > 3*size {
			t.Errorf("a frame queued past the limit: Buffered = %d", c.Buffered())
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("the sender past the limit returned %v", err)
		}
		g.gate <- struct{}{}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := c.Buffered(); got != 0 {
			t.Errorf("Buffered = %d at the end", got)
		}
	})
}

// stopWrite runs write on a client Conn over net.Pipe within a context
// that ends after a second, while the peer reads n bytes and then stops,
// and returns write's error with the Conn, the peer's end of the pipe and
// the bytes read. Both ends are closed at the end of the test; call it
// inside a synctest bubble.
func stopWrite(t *testing.T, n int, write func(ctx context.Context, c *Conn) error) (c *Conn, b net.Conn, head []byte, err error) {
	a, b := net.Pipe()
	t.Cleanup(func() { b.Close() })
	c = New(a, nil)
	t.Cleanup(func() { c.CloseNow() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- write(ctx, c) }()
	head = make([]byte, n)
	if _, err := io.ReadFull(b, head); err != nil {
		t.Fatal(err)
	}
	return c, b, head, <-errc // at the deadline, n bytes written
}

// A write stopped by its context after part of a frame that fits in the
// write buffer went out keeps the rest, which goes out first with the next
// write: the call reports Kept, the stream stays whole, and the
// connection usable.
func TestWriteStoppedKeepsFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := make([]byte, 10000)
		for i := range p {
			p[i] = byte(i * 7)
		}
		c, b, head, err := stopWrite(t, 100, func(ctx context.Context, c *Conn) error {
			return c.WriteMessage(ctx, frame.OpBinary, p)
		})
		var te *TimeoutError
		if !errors.As(err, &te) || !te.Kept || te.Broken || errors.Is(err, ErrBroken) {
			t.Fatalf("WriteMessage = %#v, want a kept timeout", err)
		}
		const frameLen = 8 + 10000 // header with key, payload
		if got := c.Buffered(); got != frameLen-100 {
			t.Errorf("Buffered = %d, want %d", got, frameLen-100)
		}
		errc := make(chan error, 1)
		go func() { errc <- c.WriteMessage(context.Background(), frame.OpText, []byte("next")) }()
		rest := make([]byte, frameLen-100+2+4+4)
		if _, err := io.ReadFull(b, rest); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("next write: %v", err)
		}
		wire := append(head, rest...)
		for i, want := range [][]byte{p, []byte("next")} {
			h, n, err := frame.ParseHeader(wire)
			if err != nil || !h.Masked || h.Length != int64(len(want)) {
				t.Fatalf("frame %d: %+v, %v", i, h, err)
			}
			got := wire[n : n+int(h.Length)]
			mask.Apply(got, h.Key, 0)
			if string(got) != string(want) {
				t.Fatalf("frame %d payload differs", i)
			}
			wire = wire[n+int(h.Length):]
		}
		if got := c.Buffered(); got != 0 {
			t.Errorf("Buffered = %d at the end", got)
		}
	})
}

// A close frame is never kept: no frame may follow it, so one that a
// write stopped in the middle of ends the connection, as a cut frame
// does.
func TestWriteStoppedCloseNotKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _, _, err := stopWrite(t, 3, func(ctx context.Context, c *Conn) error {
			return c.WriteFrame(ctx, frame.New(frame.OpClose, []byte{0x03, 0xe8, 'b', 'y', 'e'}))
		})
		var te *TimeoutError
		if !errors.As(err, &te) || te.Kept || !te.Broken || !errors.Is(err, ErrBroken) {
			t.Fatalf("WriteFrame = %#v, want a broken timeout", err)
		}
		if err := c.WriteMessage(context.Background(), frame.OpText, []byte("after")); !errors.Is(err, ErrClosed) {
			t.Errorf("a write after the cut close frame returned %v", err)
		}
		if got := c.Buffered(); got != 0 {
			t.Errorf("Buffered = %d", got)
		}
	})
}

// WriteMessages checks a data header once for the whole burst and a
// control frame's length for each message; a refused burst sends nothing.
func TestWriteMessagesChecks(t *testing.T) {
	g := &gateTransport{}
	c := New(g, &Config{Role: RoleServer})
	ctx := context.Background()
	for _, tt := range []struct {
		op   frame.Opcode
		ps   [][]byte
		want error
	}{
		{frame.OpPing, [][]byte{{1}, make([]byte, 126)}, frame.ErrControlTooLong},
		{frame.Opcode(3), [][]byte{{1}}, frame.ErrReservedOpcode},
		{frame.OpClose, [][]byte{{1}}, frame.ErrClosePayloadLength},
	} {
		if err := c.WriteMessages(ctx, tt.op, tt.ps...); !errors.Is(err, tt.want) {
			t.Errorf("WriteMessages(%v): %v, want %v", tt.op, err, tt.want)
		}
	}
	if len(g.writes) != 0 {
		t.Errorf("refused bursts sent %q", g.writes)
	}
	if err := c.WriteMessages(ctx, frame.OpPing, []byte("a"), []byte("b")); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, g.writes[0]); fmt.Sprint(got) != "[a b]" {
		t.Errorf("pings sent as %q", got)
	}
}

// queueFrames has a goroutine per payload send it while the caller holds
// the write lock, and checks that each was queued and returned nil.
func queueFrames(t *testing.T, c *Conn, ps ...string) {
	t.Helper()
	for _, p := range ps {
		done := make(chan error, 1)
		go func() { done <- c.WriteMessage(context.Background(), frame.OpText, []byte(p)) }()
		if err := <-done; err != nil {
			t.Fatalf("queued send of %q: %v", p, err)
		}
	}
}

// A write that carried queued frames and failed fails the connection:
// their senders returned nil, so every later call reports the loss, with
// an error matching ErrConnectionLost, even once the transport works
// again. Both ways the queue is written: by the holder on its release,
// and by the next holder before its own frame (on their own, since its
// context can end: see TestDeadlineSparesQueued).
func TestQueuedWriteFailureSticky(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		name string
		fail error
		hold func(c *Conn) error // writes the queue as the lock's holder
	}{
		{"released", errors.New("broken pipe"), func(c *Conn) error { return c.unlockWrite() }},
		{"with own frame", errors.New("broken pipe"), func(c *Conn) error {
			_, err := c.sendLocked(cancelled, frame.Header{Fin: true, Opcode: frame.OpText}, []byte("own"), true, roleStart, true)
			c.unlockWrite()
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := &gateTransport{}
			c := New(g, &Config{Role: RoleServer})
			if !c.wlock.tryLock() {
				t.Fatal("lock held")
			}
			queueFrames(t, c, "a", "b")
			g.fail = tt.fail
			if err := tt.hold(c); err == nil {
				t.Fatal("the failed write returned nil to its holder")
			}
			g.fail = nil
			ctx := context.Background()
			for name, err := range map[string]error{
				"WriteMessage": c.WriteMessage(ctx, frame.OpText, []byte("later")),
				"Flush":        c.Flush(ctx),
				"Close":        c.Close(ctx, 1000, ""),
			} {
				if !errors.Is(err, ErrConnectionLost) || !errors.Is(err, net.ErrClosed) {
					t.Errorf("%s after the lost queue: %v, want ErrConnectionLost", name, err)
				}
			}
			if len(g.writes) != 0 {
				t.Errorf("written after the failure: %q", g.writes)
			}
		})
	}
}

// A close frame goes out after every frame queued, in the same write, and
// a sender that comes while it is on its way queues nothing: no frame
// follows a close frame.
func TestCloseAfterQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateTransport{}
		c := New(g, &Config{Role: RoleServer})
		if !c.wlock.tryLock() {
			t.Fatal("lock held")
		}
		queueFrames(t, c, "a", "b")
		g.gate = make(chan struct{})
		closed := make(chan error, 1)
		go func() {
			_, err := c.sendLocked(context.Background(), frame.Header{Fin: true, Opcode: frame.OpClose}, []byte{0x03, 0xe8}, false, roleOther, false)
			closed <- err
			c.unlockWrite()
		}()
		synctest.Wait() // the close frame's write is in flight
		if err := c.WriteMessage(context.Background(), frame.OpText, []byte("late")); !errors.Is(err, ErrClosed) {
			t.Errorf("a send during the close frame's write: %v, want ErrClosed", err)
		}
		g.gate <- struct{}{}
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if len(g.writes) != 1 {
			t.Fatalf("%d writes, want 1: %q", len(g.writes), g.writes)
		}
		if got := payloads(t, g.writes[0]); fmt.Sprintf("%q", got) != `["a" "b" "\x03\xe8"]` {
			t.Errorf("sent %q, want the queued frames, then the close frame", got)
		}
	})
}

// No queued frame is ever left behind with the write lock free: once many
// senders have returned, the peer receives every message without a
// Flush. A frame left behind blocks the peer's receive for good, which
// the bubble reports as a deadlock.
func TestQueueNeverStranded(t *testing.T) {
	const senders, each = 8, 200
	for range 10 {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			c := New(a, &Config{Role: RoleServer})
			peer := New(b, &Config{Role: RoleClient})
			defer c.CloseNow()
			defer peer.CloseNow()
			got := make(chan map[string]bool, 1)
			go func() {
				seen := map[string]bool{}
				for len(seen) < senders*each {
					_, p, err := peer.ReadMessage(context.Background())
					if err != nil {
						t.Error(err)
						break
					}
					seen[string(p)] = true
				}
				got <- seen
			}()
			var wg sync.WaitGroup
			for g := range senders {
				wg.Go(func() {
					for i := range each {
						if err := c.WriteMessage(context.Background(), frame.OpBinary, fmt.Appendf(nil, "%d/%d", g, i)); err != nil {
							t.Error(err)
							return
						}
						if i%16 == 0 {
							runtime.Gosched()
						}
					}
				})
			}
			wg.Wait()
			if seen := <-got; len(seen) != senders*each {
				t.Errorf("peer got %d distinct messages, want %d", len(seen), senders*each)
			}
		})
	}
}

// The two sides of the hand-over that leaves no frame queued with the
// lock free (queue.go), each in the order that needs it: a holder that
// checked the queue before a sender queued finds the frame after it
// releases, and a sender whose holder left before the frame was queued
// writes it itself.
func TestQueueHandOver(t *testing.T) {
	h := frame.Header{Fin: true, Opcode: frame.OpText, Length: 1}
	t.Run("holder releases after the frame was queued", func(t *testing.T) {
		g := &gateTransport{}
		c := New(g, &Config{Role: RoleServer})
		c.wlock.tryLock()
		if queued, err := c.queue(context.Background(), h, []byte("a"), roleStart); !queued || err != nil {
			t.Fatalf("queue = %v, %v", queued, err)
		}
		c.releaseWrite() // as a holder whose last look found nothing queued
		if len(g.writes) != 1 || c.q.pending.Load() || c.wlock.state.Load() != mutexUnlocked {
			t.Errorf("writes %q, pending %v, lock state %d", g.writes, c.q.pending.Load(), c.wlock.state.Load())
		}
	})
	t.Run("holder left before the frame was queued", func(t *testing.T) {
		g := &gateTransport{}
		c := New(g, &Config{Role: RoleServer})
		// The sender found the lock held; it is free by now.
		if queued, err := c.queue(context.Background(), h, []byte("a"), roleStart); !queued || err != nil {
			t.Fatalf("queue = %v, %v", queued, err)
		}
		if len(g.writes) != 1 || c.q.pending.Load() || c.wlock.state.Load() != mutexUnlocked {
			t.Errorf("writes %q, pending %v, lock state %d", g.writes, c.q.pending.Load(), c.wlock.state.Load())
		}
	})
}

// Flush returns once the frames queued before it are on the wire: after
// the write in flight and the one that carries them.
func TestFlushWaitsForQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateTransport{gate: make(chan struct{})}
		c := New(g, &Config{Role: RoleServer})
		ctx := context.Background()
		first := make(chan error, 1)
		go func() { first <- c.WriteMessage(ctx, frame.OpText, []byte("first")) }()
		synctest.Wait() // its Write is in flight
		if err := c.WriteMessage(ctx, frame.OpText, []byte("queued")); err != nil {
			t.Fatal(err)
		}
		flushed := make(chan error, 1)
		go func() { flushed <- c.Flush(ctx) }()
		for i := range 2 {
			synctest.Wait()
			if len(flushed) != 0 {
				t.Fatalf("Flush returned after %d of the 2 writes", i)
			}
			g.gate <- struct{}{}
		}
		if err := <-flushed; err != nil {
			t.Fatal(err)
		}
		if len(g.writes) != 2 || c.Buffered() != 0 {
			t.Errorf("%d writes, Buffered %d", len(g.writes), c.Buffered())
		}
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		// With nothing queued Flush writes nothing.
		g.gate = nil
		if err := c.Flush(ctx); err != nil || len(g.writes) != 2 {
			t.Errorf("Flush of nothing: %v, %d writes", err, len(g.writes))
		}
	})
}

// A holder drains at most drainRounds writes of queued frames: a sender
// that comes during its last one waits for the lock instead of queueing,
// so the holder's call ends while others keep sending.
func TestDrainRoundsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateTransport{gate: make(chan struct{})}
		c := New(g, &Config{Role: RoleServer})
		ctx := context.Background()
		holder := make(chan error, 1)
		go func() { holder <- c.WriteMessage(ctx, frame.OpText, []byte("h")) }()
		synctest.Wait() // the holder's own write is in flight
		for r := range drainRounds {
			if err := c.WriteMessage(ctx, frame.OpText, []byte(fmt.Sprint("q", r))); err != nil {
				t.Fatal(err)
			}
			g.gate <- struct{}{} // the write before ends; round r+1 takes the queue
			synctest.Wait()
		}
		late := make(chan error, 1)
		go func() { late <- c.WriteMessage(ctx, frame.OpText, []byte("late")) }()
		synctest.Wait()
		if len(late) != 0 {
			t.Fatal("a sender queued during the holder's last round")
		}
		g.gate <- struct{}{} // the last round ends; the holder leaves
		if err := <-holder; err != nil {
			t.Fatal(err)
		}
		g.gate <- struct{}{} // the late sender's own write
		if err := <-late; err != nil {
			t.Fatal(err)
		}
		if len(g.writes) != drainRounds+2 {
			t.Fatalf("%d writes, want %d", len(g.writes), drainRounds+2)
		}
		if got := payloads(t, g.writes[drainRounds+1]); fmt.Sprint(got) != "[late]" {
			t.Errorf("last write %q", got)
		}
	})
}

// leavingHolder sets up, inside a synctest bubble, a holder whose context
// (1 s) ended while its first round of queued frames, q0, was being
// written, with q1 queued behind it; the gate holds that round's write.
// It returns the transport, the Conn, the holder's result and a sender
// with no deadline.
func leavingHolder(t *testing.T) (*gateTransport, *Conn, <-chan error, func(string)) {
	g := &gateTransport{gate: make(chan struct{})}
	c := New(g, &Config{Role: RoleServer})
	bg := context.Background()
	ctx, cancel := context.WithTimeout(bg, time.Second)
	t.Cleanup(cancel)
	holder := make(chan error, 1)
	go func() { holder <- c.WriteMessage(ctx, frame.OpText, []byte("h")) }()
	synctest.Wait() // the holder's own write is in flight
	send := func(s string) {
		if err := c.WriteMessage(bg, frame.OpText, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	send("q0")
	g.gate <- struct{}{} // the holder's frame out; round 1 takes q0
	synctest.Wait()
	send("q1")
	time.Sleep(2 * time.Second) // the holder's context ends during round 1
	return g, c, holder, send
}

// sentPayloads returns the payloads of every frame g was given.
func sentPayloads(t *testing.T, g *gateTransport) string {
	var got []string
	for _, w := range g.writes {
		got = append(got, payloads(t, w)...)
	}
	return fmt.Sprint(got)
}

// A holder whose context ends while others' frames are still to be
// written returns after the round under way: a goroutine takes over the
// lock, writes the rounds left, in order, and releases it. (The holder
// wrote every round, long past its context, before.)
func TestDrainLeftWhenHolderContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, c, holder, send := leavingHolder(t)
		g.gate <- struct{}{} // round 1 ends
		if err := <-holder; err != nil {
			t.Fatalf("holder = %v", err)
		}
		synctest.Wait()
		if len(g.writes) != 2 {
			t.Fatalf("%d writes when the holder returned, want 2: it wrote round 2 itself", len(g.writes))
		}
		send("q2") // queued behind round 2, as the lock is held
		g.gate <- struct{}{}
		g.gate <- struct{}{}
		synctest.Wait()
		if got := sentPayloads(t, g); got != "[h q0 q1 q2]" || c.wlock.state.Load() != mutexUnlocked || c.Buffered() != 0 {
			t.Errorf("sent %q, lock state %d, Buffered %d", got, c.wlock.state.Load(), c.Buffered())
		}
	})
}

// A pong owed when the holder leaves the rest of the queue to a goroutine
// goes with the rest: the holder writes nothing more (it wrote the pong
// at the same time as the goroutine wrote the queue, twice in all).
func TestDrainLeftCarriesPongOwed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, c, holder, _ := leavingHolder(t)
		if err := c.answerPing([]byte("p")); err != nil {
			t.Fatal(err)
		}
		g.gate <- struct{}{} // round 1 ends; the rest goes to a goroutine
		if err := <-holder; err != nil {
			t.Fatal(err)
		}
		for {
			synctest.Wait()
			select {
			case g.gate <- struct{}{}:
				continue
			default:
			}
			break
		}
		if got := sentPayloads(t, g); got != "[h q0 q1 p]" {
			t.Errorf("sent %q, want [h q0 q1 p]", got)
		}
	})
}

// With WriteTimeout off, the frames queued behind a write keep a bound:
// the holder that writes them after its own frame gives up once the peer
// has taken none of them for ReplyTimeout, and the connection fails with
// ErrWriteTimeout (not a lost connection: the peer did not hang up).
func TestQueuedFramesBoundWithWriteTimeoutOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, peer := net.Pipe()
		c := New(client, &Config{WriteTimeout: -1})
		defer c.CloseNow()
		defer peer.Close()
		ctx := context.Background()
		held := make(chan error, 1)
		go func() { held <- c.WriteMessage(ctx, frame.OpBinary, make([]byte, 1000)) }()
		synctest.Wait() // its write waits for the peer, holding the lock
		for range 3 {
			if err := c.WriteMessage(ctx, frame.OpBinary, []byte("queued")); err != nil {
				t.Fatalf("queued send = %v", err)
			}
		}
		start := time.Now()
		if _, err := io.ReadFull(peer, make([]byte, 2+2+4+1000)); err != nil { // the first frame only
			t.Fatal(err)
		}
		if err := <-held; err != nil {
			t.Fatalf("the holder's send = %v", err)
		}
		err := c.Flush(ctx)
		if !errors.Is(err, ErrWriteTimeout) || errors.Is(err, ErrConnectionLost) || time.Since(start) != ReplyTimeout {
			t.Errorf("Flush = %v after %v; want ErrWriteTimeout after %v", err, time.Since(start), ReplyTimeout)
		}
	})
}
