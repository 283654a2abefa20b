package conn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// streamPeer is the server end of a client Conn over net.Pipe: it sends
// frames as given and collects every frame it receives.
type streamPeer struct {
	c   *conn.Conn
	got chan frame.Frame // closed when the server's reads end
}

// streamPair returns a client Conn with cfg and its server peer, both over
// net.Pipe and shut down at the end of the test.
func streamPair(t *testing.T, cfg *conn.Config) (*conn.Conn, *streamPeer) {
	t.Helper()
	a, b := net.Pipe()
	c := conn.New(a, cfg)
	// The peer sends the frames as given, even the sequences RFC 6455
	// forbids: its WriteFrame does not hold back a message begun inside
	// another.
	p := &streamPeer{c: conn.New(b, &conn.Config{Role: conn.RoleServer, AllowIllegalWrites: true}), got: make(chan frame.Frame, 64)}
	go func() {
		defer close(p.got)
		for {
			f, err := p.c.ReadFrame(context.Background(), nil)
			if err != nil {
				return
			}
			p.got <- f
		}
	}()
	t.Cleanup(func() { c.CloseNow(); p.c.CloseNow() })
	return c, p
}

// send writes frames from another goroutine, in order.
func (p *streamPeer) send(frames ...frame.Frame) {
	go func() {
		for _, f := range frames {
			f.Masked = false // a server's frame
			if p.c.WriteFrame(context.Background(), f) != nil {
				return
			}
		}
	}()
}

// next returns the next frame the server received.
func (p *streamPeer) next(t *testing.T) frame.Frame {
	t.Helper()
	f, ok := recvOK(t, p.got)
	if !ok {
		t.Fatal("the server's reads ended")
	}
	return f
}

func recvOK[T any](t *testing.T, ch <-chan T) (T, bool) {
	t.Helper()
	select {
	case v, ok := <-ch:
		return v, ok
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for the peer")
		panic("unreachable")
	}
}

func frag(op frame.Opcode, fin bool, p string) frame.Frame {
	return frame.Frame{Header: frame.Header{Fin: fin, Opcode: op}, Payload: []byte(p)}
}

func ping(p string) frame.Frame { return frame.New(frame.OpPing, []byte(p)) }

func closeFrame(code status.Code, reason string) frame.Frame {
	p, _ := status.AppendClose(nil, code, reason)
	return frame.New(frame.OpClose, p)
}

func TestNextReader(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cfg    *conn.Config
		frames []frame.Frame
		op     frame.Opcode // the message's type; 0: NextReader fails
		want   string       // the bytes read before the end or the error
		code   status.Code  // the close code the Conn fails with; 0: none
		closed status.Code  // the peer's close code read in the message; 0: none
		pong   string       // a pong the peer receives first
	}{
		{name: "fragments with a ping between", op: frame.OpText,
			frames: []frame.Frame{frag(frame.OpText, false, "Hel"), ping("p"), frag(frame.OpContinuation, false, "lo, "), frag(frame.OpContinuation, true, "wörld")},
			want:   "Hello, wörld", pong: "p"},
		{name: "one frame", op: frame.OpBinary,
			frames: []frame.Frame{frag(frame.OpBinary, true, "\xff\x00")}, want: "\xff\x00"},
		{name: "empty message", op: frame.OpBinary,
			frames: []frame.Frame{frag(frame.OpBinary, true, "")}},
		{name: "a ping before the message", op: frame.OpText,
			frames: []frame.Frame{ping("q"), frag(frame.OpText, true, "x")}, want: "x", pong: "q"},
		{name: "character split between fragments", op: frame.OpText,
			frames: []frame.Frame{frag(frame.OpText, false, "\xe2\x82"), frag(frame.OpContinuation, true, "\xac")}, want: "€"},
		{name: "size limit reached in the second fragment", op: frame.OpBinary, cfg: &conn.Config{MaxMessageSize: 8},
			frames: []frame.Frame{frag(frame.OpBinary, false, "12345"), frag(frame.OpContinuation, true, "6789")},
			want:   "12345", code: status.MessageTooBig},
		{name: "size limit exactly", op: frame.OpBinary, cfg: &conn.Config{MaxMessageSize: 8},
			frames: []frame.Frame{frag(frame.OpBinary, false, "12345"), frag(frame.OpContinuation, true, "678")},
			want:   "12345678"},
		{name: "empty fragments count", op: frame.OpBinary, cfg: &conn.Config{MaxMessageSize: 4},
			frames: []frame.Frame{frag(frame.OpBinary, false, "12"), frag(frame.OpContinuation, false, ""),
				frag(frame.OpContinuation, false, ""), frag(frame.OpContinuation, true, "")},
			want: "12", code: status.MessageTooBig},
		{name: "empty final fragment free", op: frame.OpBinary, cfg: &conn.Config{MaxMessageSize: 4},
			frames: []frame.Frame{frag(frame.OpBinary, false, "1"), frag(frame.OpContinuation, false, ""),
				frag(frame.OpContinuation, false, "4"), frag(frame.OpContinuation, true, "")},
			want: "14"},
		{name: "invalid UTF-8 in a fragment", op: frame.OpText,
			frames: []frame.Frame{frag(frame.OpText, false, "ok"), frag(frame.OpContinuation, true, "\xff rest")},
			want:   "ok", code: status.InvalidPayload},
		{name: "text ends inside a character", op: frame.OpText,
			frames: []frame.Frame{frag(frame.OpText, false, "ok"), frag(frame.OpContinuation, true, "\xe2\x82")},
			want:   "ok", code: status.InvalidPayload},
		{name: "invalid UTF-8 unchecked", op: frame.OpText, cfg: &conn.Config{SkipUTF8Validation: true},
			frames: []frame.Frame{frag(frame.OpText, true, "\xff")}, want: "\xff"},
		{name: "close between fragments", op: frame.OpText,
			frames: []frame.Frame{frag(frame.OpText, false, "par"), closeFrame(status.GoingAway, "bye")},
			want:   "par", closed: status.GoingAway},
		{name: "continuation with no message", frames: []frame.Frame{frag(frame.OpContinuation, true, "x")},
			code: status.ProtocolError},
		{name: "new message inside a message", op: frame.OpText,
			frames: []frame.Frame{frag(frame.OpText, false, "a"), frag(frame.OpText, true, "b")},
			want:   "a", code: status.ProtocolError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, p := streamPair(t, tt.cfg)
			p.send(tt.frames...)
			ctx := testCtx(t)
			op, r, err := c.NextReader(ctx)
			var got []byte
			if err == nil {
				if op != tt.op {
					t.Fatalf("NextReader op = %v, want %v", op, tt.op)
				}
				// A small buffer: the message is streamed, not joined.
				buf := make([]byte, 3)
				for {
					var n int
					n, err = r.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						break
					}
				}
			} else if tt.op != 0 {
				t.Fatalf("NextReader: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("read %q, want %q", got, tt.want)
			}
			if tt.pong != "" {
				if f := p.next(t); f.Opcode != frame.OpPong || string(f.Payload) != tt.pong {
					t.Errorf("peer got %v, want a pong %q", f, tt.pong)
				}
			}
			var fe *frame.Error
			var ce *status.CloseError
			switch {
			case tt.code != 0:
				if !errors.As(err, &fe) || fe.Code != tt.code {
					t.Fatalf("error %v, want a failure with %d", err, tt.code)
				}
				f := p.next(t)
				if code, _, _ := frame.ParseClose(f.Payload, frame.Policy{}); f.Opcode != frame.OpClose || code != tt.code {
					t.Errorf("peer got %v, want a close frame with %d", f, tt.code)
				}
			case tt.closed != 0:
				if !errors.As(err, &ce) || ce.Code != tt.closed || !errors.Is(err, conn.ErrClosed) {
					t.Fatalf("error %v, want ErrClosed with the peer's %d", err, tt.closed)
				}
				f := p.next(t)
				if code, _, _ := frame.ParseClose(f.Payload, frame.Policy{}); f.Opcode != frame.OpClose || code != tt.closed {
					t.Errorf("peer got %v, want the close echoed", f)
				}
			case err != io.EOF:
				t.Fatalf("error %v, want io.EOF", err)
			}
		})
	}
}

// The first fragment's bytes are read before the rest of the message is
// sent; a Read stopped by its context resumes with another context; no
// message buffer is kept.
func TestNextReaderStreamsAndResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, p := streamPair(t, nil)
		p.send(frag(frame.OpBinary, false, "abc"))
		op, r, err := c.NextReader(context.Background())
		if err != nil || op != frame.OpBinary {
			t.Fatalf("NextReader = %v, %v", op, err)
		}
		buf := make([]byte, 10)
		if n, err := r.Read(buf); err != nil || string(buf[:n]) != "abc" {
			t.Fatalf("Read = %q, %v; want the first fragment", buf[:n], err)
		}

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		n, err := r.ReadContext(ctx, buf)
		var te *conn.TimeoutError
		if n != 0 || !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ReadContext = %d, %v; want a *TimeoutError", n, err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("stopped after %v, want 1s", d)
		}

		p.send(frag(frame.OpContinuation, true, "def"))
		rest, err := io.ReadAll(r)
		if err != nil || string(rest) != "def" {
			t.Fatalf("after the timeout: %q, %v; want def", rest, err)
		}
		if _, m := conn.ReceiveBufferCaps(c); m != 0 {
			t.Errorf("message buffer of %d bytes, want none", m)
		}
		if n, err := r.Read(buf); n != 0 || err != io.EOF {
			t.Errorf("Read after the end = %d, %v; want io.EOF", n, err)
		}
	})
}

// A receiving call drops the rest of the message a reader left, and the
// old reader reports that it was cut.
func TestNextReaderUnfinished(t *testing.T) {
	for _, next := range []struct {
		name string
		read func(ctx context.Context, c *conn.Conn) (string, error)
	}{
		{"ReadMessage", func(ctx context.Context, c *conn.Conn) (string, error) {
			_, p, err := c.ReadMessage(ctx)
			return string(p), err
		}},
		{"NextReader", func(ctx context.Context, c *conn.Conn) (string, error) {
			_, r, err := c.NextReader(ctx)
			if err != nil {
				return "", err
			}
			p, err := io.ReadAll(r)
			return string(p), err
		}},
		{"ReadFrame", func(ctx context.Context, c *conn.Conn) (string, error) {
			f, err := c.ReadFrame(ctx, nil)
			return string(f.Payload), err
		}},
	} {
		t.Run(next.name, func(t *testing.T) {
			c, p := streamPair(t, nil)
			p.send(frag(frame.OpText, false, "first "), ping("1"), frag(frame.OpContinuation, false, strings.Repeat("x", 10000)),
				frag(frame.OpContinuation, true, "end"), frag(frame.OpText, true, "second"))
			ctx := testCtx(t)
			_, r, err := c.NextReader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 2)
			if n, err := r.Read(buf); err != nil || string(buf[:n]) != "fi" {
				t.Fatalf("Read = %q, %v", buf[:n], err)
			}
			if got, err := next.read(ctx, c); err != nil || got != "second" {
				t.Fatalf("%s = %q, %v; want the next message", next.name, got, err)
			}
			if f := p.next(t); f.Opcode != frame.OpPong {
				t.Errorf("peer got %v, want the pong of the dropped part", f)
			}
			if _, err := r.Read(buf); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("old reader's Read: %v, want io.ErrUnexpectedEOF", err)
			}
		})
	}
}

// Close drops the rest of an unfinished message while it waits for the
// peer's close frame.
func TestNextReaderThenClose(t *testing.T) {
	c, p := streamPair(t, nil)
	p.send(frag(frame.OpBinary, false, "abc"), frag(frame.OpContinuation, true, "def"))
	ctx := testCtx(t)
	_, r, err := c.NextReader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	go func() {
		for f := range p.got {
			if f.Opcode == frame.OpClose {
				f.Masked = false
				p.c.WriteFrame(context.Background(), f)
			}
		}
	}()
	if err := c.Close(ctx, status.NormalClosure, ""); err != nil {
		t.Fatalf("Close = %v", err)
	}
}

func TestNextWriterFragments(t *testing.T) {
	c, p := streamPair(t, nil)
	ctx := testCtx(t)
	w, err := c.NextWriter(ctx, frame.OpBinary)
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("0123456789abcdef"), 100_000/16)
	go func() {
		for b := msg; len(b) > 0; b = b[min(7000, len(b)):] {
			if _, err := w.Write(b[:min(7000, len(b))]); err != nil {
				t.Error(err)
				return
			}
		}
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	}()
	var got []byte
	for i := 0; ; i++ {
		f := p.next(t)
		want := frame.OpContinuation
		if i == 0 {
			want = frame.OpBinary
		}
		if f.Opcode != want || len(f.Payload) > 32<<10 {
			t.Fatalf("frame %d: %v, want %v of at most 32 KiB", i, f, want)
		}
		got = append(got, f.Payload...)
		if f.Fin {
			if i < 3 {
				t.Errorf("%d frames, want 100 kB in fragments of 32 KiB", i+1)
			}
			break
		}
	}
	if !bytes.Equal(got, msg) {
		t.Errorf("got %d bytes, want the %d written", len(got), len(msg))
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, conn.ErrWriterClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := w.Close(); !errors.Is(err, conn.ErrWriterClosed) {
		t.Errorf("second Close: %v", err)
	}
}

func TestNextWriterEmptyAndType(t *testing.T) {
	c, p := streamPair(t, nil)
	ctx := testCtx(t)
	if _, err := c.NextWriter(ctx, frame.OpPing); !errors.Is(err, conn.ErrNotData) {
		t.Errorf("NextWriter(ping) = %v, want ErrNotData", err)
	}
	w, err := c.NextWriter(ctx, frame.OpText)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if f := p.next(t); f.Opcode != frame.OpText || !f.Fin || len(f.Payload) != 0 {
		t.Errorf("peer got %v, want one empty text frame", f)
	}
}

// Another sender's frame, queued while a writer is open, goes out after
// the writer's Close: no frame comes between a message's fragments,
// except a pong owed meanwhile, which goes out at the writer's next
// Write, here before its first fragment.
func TestNextWriterAtomic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, p := streamPair(t, nil)
		ctx := context.Background()
		reading := make(chan error, 1)
		go func() {
			_, _, err := c.ReadMessage(ctx)
			reading <- err
		}()
		w, err := c.NextWriter(ctx, frame.OpBinary)
		if err != nil {
			t.Fatal(err)
		}
		other := make(chan error, 1)
		go func() { other <- c.WriteMessage(ctx, frame.OpText, []byte("other")) }()
		p.send(ping("x"))
		synctest.Wait()
		if err := <-other; err != nil {
			t.Fatalf("WriteMessage, queued while a writer was open: %v", err)
		}
		big := make([]byte, 40<<10)
		if _, err := w.Write(big); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("tail")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var seq []string
		for range 4 {
			f := p.next(t)
			seq = append(seq, f.Opcode.String())
		}
		want := []string{"pong", "binary", "cont", "text"}
		if strings.Join(seq, " ") != strings.Join(want, " ") {
			t.Errorf("peer got %v, want %v", seq, want)
		}
		c.CloseNow()
		<-reading
	})
}

func TestNextWriterText(t *testing.T) {
	t.Run("a character across the buffer's end", func(t *testing.T) {
		c, p := streamPair(t, nil)
		w, err := c.NextWriter(testCtx(t), frame.OpText)
		if err != nil {
			t.Fatal(err)
		}
		msg := strings.Repeat("a", 32<<10-1) + "€€"
		go func() {
			w.Write([]byte(msg))
			w.Close()
		}()
		var got []byte
		for {
			f := p.next(t)
			if !utf8.Valid(f.Payload) {
				t.Errorf("fragment of %d bytes is not UTF-8 on its own", len(f.Payload))
			}
			got = append(got, f.Payload...)
			if f.Fin {
				break
			}
		}
		if string(got) != msg {
			t.Errorf("got %d bytes, want %d", len(got), len(msg))
		}
	})
	t.Run("invalid bytes", func(t *testing.T) {
		c, p := streamPair(t, nil)
		w, err := c.NextWriter(testCtx(t), frame.OpText)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("ok\xe2\x82")); err != nil {
			t.Fatal(err)
		}
		if n, err := w.Write([]byte("\xff")); n != 0 || !errors.Is(err, conn.ErrInvalidText) {
			t.Fatalf("Write(invalid) = %d, %v", n, err)
		}
		if _, err := w.Write([]byte("more")); !errors.Is(err, conn.ErrInvalidText) {
			t.Fatalf("Write after invalid = %v", err)
		}
		if err := w.Close(); !errors.Is(err, conn.ErrInvalidText) {
			t.Fatalf("Close = %v, want ErrInvalidText", err)
		}
		if f := p.next(t); string(f.Payload) != "ok" || !f.Fin {
			t.Errorf("peer got %v, want the valid text before the error", f)
		}
		echoedTo(t, c, p)
	})
}

// echoedTo checks that c still sends.
func echoedTo(t *testing.T, c *conn.Conn, p *streamPeer) {
	t.Helper()
	if err := c.WriteMessage(testCtx(t), frame.OpBinary, []byte("still")); err != nil {
		t.Fatal(err)
	}
	if f := p.next(t); string(f.Payload) != "still" {
		t.Errorf("peer got %v", f)
	}
}

// The trace of a streamed message is the trace of the same message read
// whole.
func TestNextReaderTrace(t *testing.T) {
	frames := []frame.Frame{frag(frame.OpText, false, "Hel"), ping("p"), frag(frame.OpContinuation, true, "lo")}
	trace := func(stream bool) string {
		var buf bytes.Buffer
		c, p := streamPair(t, &conn.Config{Trace: &buf, MaskKey: abcd})
		p.send(frames...)
		ctx := testCtx(t)
		if stream {
			_, r, err := c.NextReader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(r); err != nil {
				t.Fatal(err)
			}
		} else if _, _, err := c.ReadMessage(ctx); err != nil {
			t.Fatal(err)
		}
		p.next(t) // the pong
		return buf.String()
	}
	whole, streamed := trace(false), trace(true)
	if !strings.Contains(whole, "Hel") || streamed != whole {
		t.Errorf("streamed trace:\n%s\nwant the trace of ReadMessage:\n%s", streamed, whole)
	}
}

// NextReader stopped by its context while it waits returns a
// *TimeoutError; the next call receives the message.
func TestNextReaderWaitStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, p := streamPair(t, nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var te *conn.TimeoutError
		if _, _, err := c.NextReader(ctx); !errors.As(err, &te) {
			t.Fatalf("NextReader = %v, want a *TimeoutError", err)
		}
		p.send(ping("a"), frag(frame.OpBinary, true, "msg"))
		op, r, err := c.NextReader(context.Background())
		if err != nil || op != frame.OpBinary {
			t.Fatalf("NextReader = %v, %v", op, err)
		}
		if b, err := io.ReadAll(r); err != nil || string(b) != "msg" {
			t.Fatalf("ReadAll = %q, %v", b, err)
		}
	})
}

// A reader whose message another call began to drop fails from then on,
// even when that drop was stopped by its own context before the message
// ended: it never reads on past the hole (it read "AAAAAAAAAA", the drop
// took "BBBBBBBBBB" and stopped; "CCCCCCCCCC" is not the reader's).
func TestNextReaderSupersededByStoppedDrop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		step := make(chan struct{})
		c := dialPipe(t, nil, func(p *wstest.Peer) {
			p.Upgrade(nil)
			p.WriteFrame(frame.Frame{Header: frame.Header{Opcode: frame.OpBinary}, Payload: []byte("AAAAAAAAAA")})
			<-step
			b, _ := frame.Frame{Header: frame.Header{Opcode: frame.OpContinuation, Fin: true},
				Payload: []byte("BBBBBBBBBBCCCCCCCCCC")}.AppendBinary(nil)
			p.Write(b[:len(b)-10])
			<-step
			p.Write(b[len(b)-10:])
			p.ReadClose()
		})
		bg := context.Background()
		_, mr, err := c.NextReader(bg)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		n, err := mr.Read(buf)
		got := string(buf[:n])
		step <- struct{}{} // the server sends all but the last 10 bytes
		short, cancel := context.WithTimeout(bg, time.Second)
		defer cancel()
		c.ReadDataFrame(short, nil) // takes over, drops "BBBBBBBBBB", stopped
		step <- struct{}{}          // the server sends the rest
		n, err = mr.ReadContext(bg, buf)
		got += string(buf[:n])
		if got != "AAAAAAAAAA" || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("the reader got %q, %v; want only the first fragment, then io.ErrUnexpectedEOF", got, err)
		}
	})
}

// Goroutines sharing one MessageReader all see io.EOF once the message
// ends, whichever of them read the end: the others were told their reader
// was superseded, as if the message had been dropped.
func TestMessageReaderSharedSeesEOF(t *testing.T) {
	c, p := streamPair(t, nil)
	p.send(frag(frame.OpBinary, false, strings.Repeat("a", 3000)), frag(frame.OpContinuation, true, strings.Repeat("b", 3000)))
	ctx := testCtx(t)
	_, r, err := c.NextReader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	total := 0
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			buf := make([]byte, 7)
			for {
				n, err := r.Read(buf)
				mu.Lock()
				total += n
				mu.Unlock()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 4 {
		if err := <-errs; err != io.EOF {
			t.Errorf("a reader ended with %v, want io.EOF", err)
		}
	}
	if total != 6000 {
		t.Errorf("read %d bytes in all, want 6000", total)
	}
}

// A reader whose message ended returns io.EOF at once, whatever its
// context: not a timeout once the context has ended (nor a wait for the
// read lock, which it no longer takes).
func TestMessageReaderEOFAtOnce(t *testing.T) {
	c, p := streamPair(t, nil)
	p.send(frag(frame.OpBinary, true, "abc"))
	ctx, cancel := context.WithCancel(context.Background())
	_, r, err := c.NextReader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(r); err != nil || string(b) != "abc" {
		t.Fatalf("ReadAll = %q, %v", b, err)
	}
	cancel()
	if _, err := r.Read(make([]byte, 4)); err != io.EOF {
		t.Errorf("Read after the end, its context ended = %v, want io.EOF", err)
	}
}

// A call that waits for an open MessageWriter, with a context that has no
// deadline, gives up after ReplyTimeout with ErrMessageOpen, as one that
// waits for a message sent in fragments with WriteFrame: the writer may
// never be closed, or be closed only by the goroutine waiting. With a
// deadline, the context bounds the wait. Once the writer is closed, the
// calls go on.
func TestWaitForWriterBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, peer := net.Pipe()
		c := conn.New(client, nil)
		defer func() { c.CloseNow(); peer.Close() }()
		go io.Copy(io.Discard, peer)
		ctx := context.Background()
		w, err := c.NextWriter(ctx, frame.OpText)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("first"))
		waits := map[string]func(context.Context) error{
			"NextWriter": func(ctx context.Context) error {
				w, err := c.NextWriter(ctx, frame.OpBinary)
				if err == nil {
					err = w.Close()
				}
				return err
			},
			"WriteMessages": func(ctx context.Context) error { return c.WriteMessages(ctx, frame.OpBinary, []byte("b")) },
			"Flush":         func(ctx context.Context) error { return c.Flush(ctx) },
		}
		for name, call := range waits {
			start := time.Now()
			if err := call(ctx); !errors.Is(err, conn.ErrMessageOpen) || time.Since(start) != conn.ReplyTimeout {
				t.Errorf("%s behind an open writer = %v after %v, want ErrMessageOpen after %v", name, err, time.Since(start), conn.ReplyTimeout)
			}
			dctx, cancel := context.WithTimeout(ctx, 2*conn.ReplyTimeout)
			if err := call(dctx); !errors.As(err, new(*conn.TimeoutError)) {
				t.Errorf("%s with a deadline = %v, want a timeout", name, err)
			}
			cancel()
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		for name, call := range waits {
			if err := call(ctx); err != nil {
				t.Errorf("%s once the writer closed = %v", name, err)
			}
		}
	})
}

// A wait for the write lock that began before a MessageWriter took it is
// bounded as one that began after: it ends with ErrMessageOpen
// ReplyTimeout after the writer opened, when its context has no deadline.
func TestWaitBeforeWriterBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, peer := net.Pipe()
		c := conn.New(client, nil)
		defer func() { c.CloseNow(); peer.Close() }()
		ctx := context.Background()
		// The first send holds the write lock while the peer does not read.
		sent := make(chan error, 1)
		go func() { sent <- c.WriteMessage(ctx, frame.OpBinary, []byte("first")) }()
		synctest.Wait()
		writer := make(chan *conn.MessageWriter, 1)
		go func() {
			w, err := c.NextWriter(ctx, frame.OpText)
			if err != nil {
				t.Error(err)
			}
			writer <- w
		}()
		synctest.Wait() // NextWriter waits first, then WriteMessages
		waited := make(chan error, 1)
		go func() { waited <- c.WriteMessages(ctx, frame.OpBinary, []byte("b")) }()
		synctest.Wait()
		go io.Copy(io.Discard, peer)
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		w := <-writer
		opened := time.Now()
		if err := <-waited; !errors.Is(err, conn.ErrMessageOpen) || time.Since(opened) != conn.ReplyTimeout {
			t.Errorf("WriteMessages waiting before the writer opened = %v after %v, want ErrMessageOpen after %v", err, time.Since(opened), conn.ReplyTimeout)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// A ping sent while a MessageWriter holds the write lock goes out
// between the message's fragments (RFC 6455 §5.4), at the writer's next
// Write, not after the whole message: a keepalive's pong is not held up
// by a long upload. Behind a data frame queued meanwhile, it keeps its
// place, after the message.
func TestPingBetweenWriterFragments(t *testing.T) {
	for _, tt := range []struct {
		name      string
		dataFirst bool
		want      []string
	}{
		{"ping alone", false, []string{"binary fin=false", "ping fin=true", "cont fin=true", "text fin=true"}},
		{"behind a data frame", true, []string{"binary fin=false", "cont fin=true", "text fin=true", "ping fin=true", "text fin=true"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, peer := net.Pipe()
				c := conn.New(client, nil)
				defer func() { c.CloseNow(); peer.Close() }()
				got := make(chan []string, 1)
				go func() {
					var seen []string
					s := conn.New(peer, &conn.Config{Role: conn.RoleServer})
					for {
						f, err := s.ReadFrame(context.Background(), nil)
						if err != nil {
							break
						}
						seen = append(seen, f.Opcode.String()+" fin="+map[bool]string{true: "true", false: "false"}[f.Fin])
						if f.Opcode == frame.OpText && string(f.Payload) == "end" {
							break
						}
					}
					got <- seen
				}()
				ctx := context.Background()
				w, err := c.NextWriter(ctx, frame.OpBinary)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write(make([]byte, 40<<10)); err != nil { // one fragment out, the rest held
					t.Fatal(err)
				}
				if tt.dataFirst {
					if err := c.WriteMessage(ctx, frame.OpText, []byte("d")); err != nil {
						t.Fatal(err)
					}
				}
				if err := c.Ping(ctx, []byte("p")); err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write([]byte{1}); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if err := c.WriteMessage(ctx, frame.OpText, []byte("end")); err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(tt.want, <-got); d != "" {
					t.Errorf("frames on the wire (-want +got):\n%s", d)
				}
			})
		})
	}
}

// A ping queued while a MessageWriter holds the write lock never goes
// out inside the rest of a frame that an earlier stopped write kept
// (TimeoutError.Kept): at the writer's next Write that rest goes out
// first, then the ping. (The ping was written before the rest, which the
// peer read as payload and failed; a first fix held the ping back until
// the message's end.)
func TestPingAfterKeptRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, peer := net.Pipe()
		c := conn.New(client, nil)
		defer func() { c.CloseNow(); peer.Close() }()
		head := make([]byte, 10)
		go io.ReadFull(peer, head)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.WriteMessage(ctx, frame.OpBinary, make([]byte, 1000))
		cancel()
		if te, ok := errors.AsType[*conn.TimeoutError](err); !ok || !te.Kept {
			t.Fatalf("WriteMessage = %v, want a timeout with the frame's rest kept", err)
		}
		got := make(chan []string, 1)
		go func() {
			s := conn.New(readFirst{peer, io.MultiReader(bytes.NewReader(head), peer)}, &conn.Config{Role: conn.RoleServer})
			var seen []string
			for len(seen) < 3 {
				f, err := s.ReadFrame(context.Background(), nil)
				if err != nil {
					seen = append(seen, err.Error())
					break
				}
				seen = append(seen, f.Opcode.String())
			}
			got <- seen
		}()
		bg := context.Background()
		w, err := c.NextWriter(bg, frame.OpText)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Ping(bg, []byte("p")); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if seen := <-got; !slices.Equal(seen, []string{"binary", "ping", "text"}) {
			t.Errorf("the peer read %v, want binary, ping, text", seen)
		}
	})
}

// readFirst is a net.Conn whose reads come from r: bytes read from the
// connection already, then the connection.
type readFirst struct {
	net.Conn
	r io.Reader
}

func (c readFirst) Read(p []byte) (int, error) { return c.r.Read(p) }
