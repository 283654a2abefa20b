package conn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// wire decodes the unmasked frames g wrote, in order, as "opcode:payload"
// with a "+" after a frame that is not final.
func wire(t *testing.T, g *gateTransport) string {
	t.Helper()
	g.mu.Lock()
	b := []byte(strings.Join(func() []string {
		var s []string
		for _, w := range g.writes {
			s = append(s, string(w))
		}
		return s
	}(), ""))
	g.mu.Unlock()
	var out []string
	for len(b) > 0 {
		h, n, err := frame.ParseHeader(b)
		if err != nil || h.Masked || int64(len(b)-n) < h.Length {
			t.Fatalf("bad frame at %q: %v", b, err)
		}
		s := h.Opcode.String() + ":" + string(b[n:n+int(h.Length)])
		if !h.Fin {
			s += "+"
		}
		out = append(out, s)
		b = b[n+int(h.Length):]
	}
	return strings.Join(out, " ")
}

func part(op frame.Opcode, fin bool, p string) frame.Frame {
	return frame.Frame{Header: frame.Header{Fin: fin, Opcode: op}, Payload: []byte(p)}
}

// senders of a one-frame binary message "b", by every API that begins a
// message.
var senders = []struct {
	name string
	send func(ctx context.Context, c *Conn) error
}{
	{"WriteMessage", func(ctx context.Context, c *Conn) error {
		return c.WriteMessage(ctx, frame.OpBinary, []byte("b"))
	}},
	{"WriteFrame", func(ctx context.Context, c *Conn) error {
		return c.WriteFrame(ctx, part(frame.OpBinary, true, "b"))
	}},
	{"WriteMessages", func(ctx context.Context, c *Conn) error {
		return c.WriteMessages(ctx, frame.OpBinary, []byte("b"))
	}},
	{"WritePrepared", func(ctx context.Context, c *Conn) error {
		pm, err := NewPreparedMessage(frame.OpBinary, []byte("b"))
		if err != nil {
			return err
		}
		return c.WritePrepared(ctx, pm)
	}},
	{"NextWriter", func(ctx context.Context, c *Conn) error {
		w, err := c.NextWriter(ctx, frame.OpBinary)
		if err != nil {
			return err
		}
		if _, err := w.Write([]byte("b")); err != nil {
			return err
		}
		return w.Close()
	}},
}

// rest sends the rest of the message "a1" opened: two continuation
// frames with a ping between them.
func rest(t *testing.T, c *Conn) {
	t.Helper()
	ctx := context.Background()
	for _, f := range []frame.Frame{
		part(frame.OpContinuation, false, "a2"),
		part(frame.OpPing, true, "p"),
		part(frame.OpContinuation, true, "a3"),
	} {
		if err := c.WriteFrame(ctx, f); err != nil {
			t.Fatalf("WriteFrame(%v): %v", f.Opcode, err)
		}
	}
}

// A message sent in fragments with WriteFrame is never interleaved with
// another goroutine's message: a sender that begins one while it is open
// waits until its final frame, whatever API it uses; pings pass.
func TestWriteFrameFragmentsAtomic(t *testing.T) {
	for _, s := range senders {
		t.Run(s.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := &gateTransport{}
				c := New(g, &Config{Role: RoleServer})
				if err := c.WriteFrame(context.Background(), part(frame.OpText, false, "a1")); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- s.send(context.Background(), c) }()
				synctest.Wait() // it waits for the message to end
				if len(done) != 0 {
					t.Errorf("%s returned inside a message", s.name)
				}
				rest(t, c)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				const want = "text:a1+ cont:a2+ ping:p cont:a3 binary:b"
				if got := wire(t, g); got != want {
					t.Errorf("wire %s, want %s", got, want)
				}
			})
		})
	}
}

// With the send queue contended, the fragments of a message are queued
// and a message begun meanwhile is not queued among them: it waits for
// its turn and goes out after the final fragment.
func TestWriteFrameFragmentsQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateTransport{gate: make(chan struct{})}
		c := New(g, &Config{Role: RoleServer})
		done := make(chan error, 2)
		go func() { done <- c.WriteMessage(context.Background(), frame.OpBinary, []byte("c")) }()
		synctest.Wait() // its Write is in flight
		if err := c.WriteFrame(context.Background(), part(frame.OpText, false, "a1")); err != nil {
			t.Fatal(err) // queued
		}
		go func() { done <- c.WriteMessage(context.Background(), frame.OpBinary, []byte("b")) }()
		synctest.Wait() // it waits rather than queueing
		if len(done) != 0 {
			t.Error("WriteMessage returned with a message open")
		}
		rest(t, c) // all queued
		for len(done) < 2 {
			g.gate <- struct{}{}
			synctest.Wait()
		}
		for range 2 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		const want = "binary:c text:a1+ cont:a2+ ping:p cont:a3 binary:b"
		if got := wire(t, g); got != want {
			t.Errorf("wire %s, want %s", got, want)
		}
	})
}

// A goroutine that begins a message while its own is open gets a bounded
// error, not a wait for ever: ErrMessageOpen after ReplyTimeout with a
// context that has no deadline, the context's error with one. Nothing is
// sent, and the message can still be finished.
func TestWriteFrameOwnMessageOpen(t *testing.T) {
	for _, s := range senders {
		t.Run(s.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := &gateTransport{}
				c := New(g, &Config{Role: RoleServer})
				if err := c.WriteFrame(context.Background(), part(frame.OpText, false, "a1")); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				if err := s.send(context.Background(), c); !errors.Is(err, ErrMessageOpen) {
					t.Fatalf("%s = %v, want ErrMessageOpen", s.name, err)
				}
				if d := time.Since(start); d != ReplyTimeout {
					t.Errorf("%s gave up after %v, want %v", s.name, d, ReplyTimeout)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				var te *TimeoutError
				if err := s.send(ctx, c); !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("%s with a deadline = %v, want a *TimeoutError", s.name, err)
				}
				rest(t, c)
				if err := s.send(context.Background(), c); err != nil {
					t.Fatalf("%s after the message: %v", s.name, err)
				}
				const want = "text:a1+ cont:a2+ ping:p cont:a3 binary:b"
				if got := wire(t, g); got != want {
					t.Errorf("wire %s, want %s", got, want)
				}
			})
		})
	}
}

// A close frame ends the open message: a sender waiting for it fails with
// ErrClosed at once.
func TestWriteFrameCloseEndsMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateTransport{}
		c := New(g, &Config{Role: RoleServer})
		ctx := context.Background()
		if err := c.WriteFrame(ctx, part(frame.OpText, false, "a1")); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.WriteMessage(ctx, frame.OpBinary, []byte("b")) }()
		synctest.Wait()
		start := time.Now()
		if err := c.WriteFrame(ctx, part(frame.OpClose, true, "\x03\xe8")); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, ErrClosed) || time.Since(start) != 0 {
			t.Errorf("WriteMessage = %v after %v, want ErrClosed at once", err, time.Since(start))
		}
	})
}

// With AllowIllegalWrites nothing is tracked: frames go out as sent.
func TestWriteFrameIllegalUntracked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateTransport{}
		c := New(g, &Config{Role: RoleServer, AllowIllegalWrites: true})
		ctx := context.Background()
		if err := c.WriteFrame(ctx, part(frame.OpText, false, "a1")); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteMessage(ctx, frame.OpBinary, []byte("b")); err != nil {
			t.Fatal(err)
		}
		if got, want := wire(t, g), "text:a1+ binary:b"; got != want {
			t.Errorf("wire %s, want %s", got, want)
		}
	})
}

// A frame opening a message whose write stops before any byte left opens
// nothing: the next message goes out at once.
func TestWriteFrameOpenerNotSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		c := New(a, &Config{Role: RoleServer})
		defer c.CloseNow()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var te *TimeoutError
		if err := c.WriteFrame(ctx, part(frame.OpText, false, "a1")); !errors.As(err, &te) || te.Kept || te.Broken {
			t.Fatalf("WriteFrame = %v, want a *TimeoutError that kept nothing", err)
		}
		got := make(chan []byte, 1)
		go func() {
			p := make([]byte, 16)
			n, _ := b.Read(p)
			got <- p[:n]
		}()
		ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
		defer cancel2()
		if err := c.WriteMessage(ctx2, frame.OpBinary, []byte("b")); err != nil {
			t.Fatalf("WriteMessage after the opener failed: %v", err)
		}
		if p := <-got; string(p) != "\x82\x01b" {
			t.Errorf("peer read %q, want the binary message only", p)
		}
	})
}

// A continuation frame with no message open is refused, written directly
// or queued behind a write in flight, and nothing is sent; once a message
// is opened its continuations pass, and after its final frame they are
// refused again. No message call sends a continuation.
func TestWriteFrameContinuationNeedsMessage(t *testing.T) {
	cont := part(frame.OpContinuation, true, "x")
	for _, queued := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "queued"}[queued], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := &gateTransport{}
				if queued {
					g.gate = make(chan struct{})
				}
				c := New(g, &Config{Role: RoleServer})
				ctx := context.Background()
				done := make(chan error, 1)
				if queued {
					go func() { done <- c.WriteMessage(ctx, frame.OpBinary, []byte("c")) }()
					synctest.Wait() // its Write is in flight: later frames queue
				}
				if err := c.WriteFrame(ctx, cont); !errors.Is(err, ErrNoMessageOpen) {
					t.Fatalf("continuation with no message open = %v, want ErrNoMessageOpen", err)
				}
				for _, f := range []frame.Frame{
					part(frame.OpText, false, "a1"),
					part(frame.OpContinuation, false, "a2"),
					part(frame.OpContinuation, true, "a3"),
				} {
					if err := c.WriteFrame(ctx, f); err != nil {
						t.Fatalf("WriteFrame(%v): %v", f.Opcode, err)
					}
				}
				if err := c.WriteFrame(ctx, cont); !errors.Is(err, ErrNoMessageOpen) {
					t.Fatalf("continuation after the final frame = %v, want ErrNoMessageOpen", err)
				}
				if queued {
					for len(done) == 0 {
						g.gate <- struct{}{}
						synctest.Wait()
					}
					if err := <-done; err != nil {
						t.Fatal(err)
					}
					if err := c.Flush(ctx); err != nil {
						t.Fatal(err)
					}
				}
				want := "text:a1+ cont:a2+ cont:a3"
				if queued {
					want = "binary:c " + want
				}
				if got := wire(t, g); got != want {
					t.Errorf("wire %s, want %s", got, want)
				}
			})
		})
	}
}

func TestMessageCallsRefuseContinuation(t *testing.T) {
	g := &gateTransport{}
	c := New(g, &Config{Role: RoleServer})
	ctx := context.Background()
	calls := map[string]func() error{
		"WriteMessage":  func() error { return c.WriteMessage(ctx, frame.OpContinuation, []byte("x")) },
		"WriteMessages": func() error { return c.WriteMessages(ctx, frame.OpContinuation, []byte("x")) },
		"NewPreparedMessage": func() error {
			_, err := NewPreparedMessage(frame.OpContinuation, []byte("x"))
			return err
		},
		"NextWriter": func() error {
			_, err := c.NextWriter(ctx, frame.OpContinuation)
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrNotData) {
			t.Errorf("%s(OpContinuation) = %v, want ErrNotData", name, err)
		}
	}
	if got := wire(t, g); got != "" {
		t.Errorf("wire %s, want nothing sent", got)
	}
}

// Messages stay whole on the wire however their senders contend: eight
// goroutines send messages in fragments with WriteFrame and whole with
// WriteMessage while each Write waits for its turn, so that frames queue
// behind writes in flight and messages end while others wait to begin.
func TestFragmentsAtomicContended(t *testing.T) {
	g := &gateTransport{gate: make(chan struct{})}
	c := New(g, &Config{Role: RoleServer})
	stop := make(chan struct{})
	released := make(chan struct{})
	go func() {
		defer close(released)
		for {
			select {
			case g.gate <- struct{}{}:
			case <-stop:
				return
			}
			runtime.Gosched()
		}
	}()
	const senders, messages = 16, 300
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			ctx := context.Background()
			for j := range messages {
				tag := fmt.Sprintf("%d.%d/", i, j)
				var err error
				if (i+j)%2 == 0 {
					err = c.WriteMessage(ctx, frame.OpBinary, []byte(tag))
				} else {
					for k, f := range []frame.Frame{
						part(frame.OpText, false, tag+"1"),
						part(frame.OpContinuation, false, tag+"2"),
						part(frame.OpContinuation, true, tag+"3"),
					} {
						if err = c.WriteFrame(ctx, f); err != nil {
							t.Errorf("fragment %d of %s: %v", k, tag, err)
							break
						}
						runtime.Gosched() // the next fragment as the holder takes this one

					}
				}
				if err != nil {
					t.Errorf("message %s: %v", tag, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(stop)
	<-released

	g.mu.Lock()
	b := bytes.Join(g.writes, nil)
	g.mu.Unlock()
	open, whole := "", 0 // the tag of the message open, messages ended
	for len(b) > 0 {
		h, n, err := frame.ParseHeader(b)
		if err != nil || int64(len(b)-n) < h.Length {
			t.Fatalf("bad frame after %d messages: %v", whole, err)
		}
		p := string(b[n : n+int(h.Length)])
		b = b[n+int(h.Length):]
		tag, _, _ := strings.Cut(p, "/")
		switch {
		case h.Opcode == frame.OpContinuation && open != tag:
			t.Fatalf("continuation %q with message %q open", p, open)
		case h.Opcode != frame.OpContinuation && open != "":
			t.Fatalf("%v %q inside message %q", h.Opcode, p, open)
		case h.Fin:
			open = ""
			whole++
		default:
			open = tag
		}
	}
	if want := senders * messages; whole != want {
		t.Errorf("%d messages on the wire, want %d", whole, want)
	}
}

// pipeFrame reads a frame from r, a pipe's end, and returns it as wire
// does, "opcode:payload" with a "+" when not final.
func pipeFrame(t *testing.T, r net.Conn) string {
	t.Helper()
	h, err := frame.ReadHeader(r)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatal(err)
	}
	s := h.Opcode.String() + ":" + string(p)
	if !h.Fin {
		s += "+"
	}
	return s
}

// A message's final fragment stopped by its context before any byte left
// leaves the message open: a call beginning another message waits, and
// the final fragment sent again ends it.
func TestWriteFrameFinalStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, z := net.Pipe()
		defer z.Close()
		c := New(a, &Config{Role: RoleServer})
		bg := context.Background()
		go c.WriteFrame(bg, part(frame.OpText, false, "a1"))
		if got := pipeFrame(t, z); got != "text:a1+" {
			t.Fatalf("first frame %s", got)
		}
		synctest.Wait() // its call has returned: the write is free
		// Nobody reads: the final fragment's Write is stopped with nothing written.
		ctx, cancel := context.WithTimeout(bg, time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- c.WriteFrame(ctx, part(frame.OpContinuation, true, "a2")) }()
		var te *TimeoutError
		if err := <-done; !errors.As(err, &te) || te.Kept || te.Broken {
			t.Fatalf("final fragment stopped: %v; want a TimeoutError, not kept, not broken", err)
		}
		sent := make(chan error, 1)
		go func() { sent <- c.WriteMessage(bg, frame.OpBinary, []byte("b")) }()
		synctest.Wait()
		if len(sent) != 0 {
			t.Fatal("WriteMessage returned with the message still open")
		}
		go func() { done <- c.WriteFrame(bg, part(frame.OpContinuation, true, "a2")) }()
		for _, want := range []string{"cont:a2", "binary:b"} {
			if got := pipeFrame(t, z); got != want {
				t.Errorf("frame %s, want %s", got, want)
			}
		}
		if err := <-done; err != nil {
			t.Errorf("final fragment sent again: %v", err)
		}
		if err := <-sent; err != nil {
			t.Errorf("WriteMessage: %v", err)
		}
	})
}

// A MessageWriter fragment stopped by its context can never be followed by
// the rest of its message: the connection is closed, and the error says
// so (Broken, not a timeout to retry). That holds for a first fragment
// cut after its first bytes went out, which must not be kept for a write
// that would open a message nothing ends, and for a later fragment
// stopped before any byte of it left.
func TestNextWriterFragmentStopped(t *testing.T) {
	for _, tc := range []struct {
		name string
		peer func(z net.Conn, read chan<- struct{}) // reads some of the message, then nothing
		send func(w *MessageWriter) error
	}{
		{"first fragment cut", func(z net.Conn, read chan<- struct{}) {
			close(read)
			io.ReadFull(z, make([]byte, 100))
		}, func(w *MessageWriter) error {
			_, err := w.Write(make([]byte, 40<<10))
			w.Close()
			return err
		}},
		{"later fragment stopped", func(z net.Conn, read chan<- struct{}) {
			h, _ := frame.ReadHeader(z)
			io.CopyN(io.Discard, z, h.Length)
			close(read)
		}, func(w *MessageWriter) error {
			if _, err := w.Write(make([]byte, writeBufferSize)); err != nil {
				return fmt.Errorf("first fragment: %w", err)
			}
			w.Write([]byte("rest"))
			return w.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, z := net.Pipe()
				defer z.Close()
				c := New(a, &Config{Role: RoleServer})
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				w, err := c.NextWriter(ctx, frame.OpBinary)
				if err != nil {
					t.Fatal(err)
				}
				read := make(chan struct{})
				go tc.peer(z, read)
				err = tc.send(w)
				<-read
				var te *TimeoutError
				if !errors.As(err, &te) || te.Kept || !te.Broken || te.Temporary() || !errors.Is(err, ErrBroken) {
					t.Fatalf("send = %v; want a broken TimeoutError", err)
				}
				if err := c.WriteMessage(context.Background(), frame.OpBinary, []byte("x")); !errors.Is(err, ErrBroken) {
					t.Errorf("later WriteMessage = %v; want the broken write's error", err)
				}
			})
		})
	}
}

// A sender's context bounds its own frame, never the frames of others it
// takes from the send queue, whose calls returned: when the context ends
// while they wait to be written, they still go out whole, and the
// connection stays usable.
func TestDeadlineSparesQueued(t *testing.T) {
	for _, s := range []struct {
		name string
		send func(ctx context.Context, c *Conn) error
	}{
		{"WriteMessage", func(ctx context.Context, c *Conn) error {
			return c.WriteMessage(ctx, frame.OpBinary, []byte("c"))
		}},
		{"WriteMessages", func(ctx context.Context, c *Conn) error {
			return c.WriteMessages(ctx, frame.OpBinary, []byte("c"))
		}},
		{"NextWriter", func(ctx context.Context, c *Conn) error {
			w, err := c.NextWriter(ctx, frame.OpBinary)
			if err != nil {
				return err
			}
			w.Write([]byte("c"))
			return w.Close()
		}},
	} {
		t.Run(s.name, func(t *testing.T) { testDeadlineSparesQueued(t, s.send) })
	}
}

func testDeadlineSparesQueued(t *testing.T, send func(ctx context.Context, c *Conn) error) {
	synctest.Test(t, func(t *testing.T) {
		a, z := net.Pipe()
		defer z.Close()
		c := New(a, &Config{Role: RoleServer})
		bg := context.Background()
		// A frame queued while the write is held, and the lock free before
		// its sender takes it: the moment of the hand-over (queue.go) at
		// which another sender's call can take the lock first.
		if !c.wlock.tryLock() {
			t.Fatal("write lock held")
		}
		if err := c.WriteMessage(bg, frame.OpBinary, []byte("q")); err != nil {
			t.Fatal(err)
		}
		c.wlock.unlock()
		ctx, cancel := context.WithTimeout(bg, time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- send(ctx, c) }()
		time.Sleep(2 * time.Second) // the deadline passes with "q" unread
		if got := pipeFrame(t, z); got != "binary:q" {
			t.Errorf("frame %s, want binary:q", got)
		}
		var te *TimeoutError
		if err := <-done; !errors.As(err, &te) || te.Broken || te.Kept {
			t.Errorf("send = %v; want a TimeoutError, neither broken nor kept", err)
		}
		go func() { done <- c.WriteMessage(bg, frame.OpBinary, []byte("after")) }()
		if got := pipeFrame(t, z); got != "binary:after" {
			t.Errorf("frame %s, want binary:after", got)
		}
		if err := <-done; err != nil {
			t.Errorf("WriteMessage after: %v", err)
		}
	})
}

// A sender waiting for a message sent in fragments to end is told at once
// when the final fragment's write finds the peer gone (EPIPE, which ends
// sending but leaves the socket to the receiving calls), rather than
// waiting out ReplyTimeout for an end that never comes.
func TestFinalFragmentPeerGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateTransport{}
		c := New(g, &Config{Role: RoleServer})
		bg := context.Background()
		if err := c.WriteFrame(bg, part(frame.OpText, false, "a1")); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.WriteMessage(bg, frame.OpBinary, []byte("b")) }()
		synctest.Wait() // it waits for the message to end
		g.fail = fmt.Errorf("write: %w", syscall.EPIPE)
		start := time.Now()
		if err := c.WriteFrame(bg, part(frame.OpContinuation, true, "a2")); !errors.Is(err, ErrConnectionLost) {
			t.Errorf("final fragment: %v; want ErrConnectionLost", err)
		}
		if err := <-done; !errors.Is(err, ErrConnectionLost) || time.Since(start) != 0 {
			t.Errorf("waiting sender: %v after %v; want ErrConnectionLost at once", err, time.Since(start))
		}
	})
}

// Close and a NetConn's Write keep their deadlines when they take frames
// other senders queued: a deadline that stops those frames fails the
// connection (they cannot be finished), but the call returns at it.
func TestDeadlineKeptTakingQueued(t *testing.T) {
	for _, s := range []struct {
		name string
		send func(c *Conn) error
	}{
		{"Close", func(c *Conn) error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			return c.Close(ctx, 1000, "")
		}},
		{"NetConn", func(c *Conn) error {
			nc := NetConn(context.Background(), c, frame.OpBinary)
			nc.SetWriteDeadline(time.Now().Add(time.Second))
			_, err := nc.Write([]byte("c"))
			return err
		}},
	} {
		t.Run(s.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, z := net.Pipe()
				defer z.Close()
				c := New(a, &Config{Role: RoleServer})
				if !c.wlock.tryLock() { // the hand-over's moment, as in TestDeadlineSparesQueued
					t.Fatal("write lock held")
				}
				if err := c.WriteMessage(context.Background(), frame.OpBinary, []byte("q")); err != nil {
					t.Fatal(err)
				}
				c.wlock.unlock()
				start := time.Now()
				if err := s.send(c); err == nil {
					t.Error("the call succeeded with nothing read")
				}
				if d := time.Since(start); d != time.Second {
					t.Errorf("returned after %v; want 1s, its deadline", d)
				}
			})
		})
	}
}

// A call stopped while it re-sends the bytes an earlier stopped write
// kept, before its own frame was appended, is not told its frame was
// kept: it was not sent at all, and the connection stays usable.
func TestStoppedBeforeOwnFrameNotKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, z := net.Pipe()
		defer z.Close()
		c := New(a, &Config{Role: RoleServer})
		c.q.chunks()                       // as after any contention: each holder takes the queue first
		go io.ReadFull(z, make([]byte, 2)) // the first frame's header, then nothing
		bg := context.Background()
		for _, p := range []string{"a", "b"} {
			ctx, cancel := context.WithTimeout(bg, time.Second)
			err := c.WriteMessage(ctx, frame.OpBinary, []byte(p+p+p+p))
			cancel()
			var te *TimeoutError
			if !errors.As(err, &te) || te.Kept != (p == "a") {
				t.Fatalf("%s: %v (kept %v); want a TimeoutError, kept only for a", p, err, te != nil && te.Kept)
			}
		}
		done := make(chan error, 1)
		go func() { done <- c.WriteMessage(bg, frame.OpBinary, []byte("cccc")) }()
		rest := make([]byte, 4)
		if _, err := io.ReadFull(z, rest); err != nil || string(rest) != "aaaa" {
			t.Fatalf("rest of the kept frame %q, %v", rest, err)
		}
		if got := pipeFrame(t, z); got != "binary:cccc" {
			t.Errorf("next frame %s, want binary:cccc", got)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// resetPeer is a transport whose peer sent src and then reset the
// connection: every Write fails with EPIPE, and reads serve src until
// Close.
type resetPeer struct {
	src    *bytes.Reader
	closed atomic.Bool
}

func (p *resetPeer) Read(b []byte) (int, error) {
	if p.closed.Load() {
		return 0, net.ErrClosed
	}
	return p.src.Read(b)
}
func (p *resetPeer) Write([]byte) (int, error)        { return 0, fmt.Errorf("write: %w", syscall.EPIPE) }
func (p *resetPeer) Close() error                     { p.closed.Store(true); return nil }
func (p *resetPeer) SetReadDeadline(time.Time) error  { return nil }
func (p *resetPeer) SetWriteDeadline(time.Time) error { return nil }

// A reset met by a write that carried other senders' queued frames ends
// sending only, as any reset does: the peer's close frame sent before it
// is still read.
func TestResetWithQueuedKeepsPeerClose(t *testing.T) {
	payload, _ := status.AppendClose(nil, status.MessageTooBig, "limit")
	wire, _ := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}, Payload: payload}.AppendBinary(nil)
	c := New(&resetPeer{src: bytes.NewReader(wire)}, nil)
	bg := context.Background()
	if !c.wlock.tryLock() { // a frame queued at the hand-over's moment
		t.Fatal("write lock held")
	}
	if err := c.WriteMessage(bg, frame.OpBinary, []byte("q")); err != nil {
		t.Fatal(err)
	}
	c.wlock.unlock()
	if err := c.WriteMessage(bg, frame.OpBinary, []byte("own")); !errors.Is(err, ErrConnectionLost) {
		t.Errorf("write = %v; want ErrConnectionLost", err)
	}
	_, _, err := c.ReadMessage(bg)
	var ce *status.CloseError
	if !errors.As(err, &ce) || ce.Code != status.MessageTooBig {
		t.Errorf("ReadMessage = %v; want the peer's close 1009", err)
	}
}
