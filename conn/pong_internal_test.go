package conn

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/mask"
)

// pipeConn returns a Conn of role over one end of a net.Pipe, masking
// with a fixed key, and the other end for the test to play the peer.
func pipeConn(t *testing.T, role Role) (*Conn, net.Conn) {
	t.Helper()
	a, z := net.Pipe()
	c := New(a, &Config{Role: role, MaskKey: func() mask.Key { return mask.Key{1, 2, 3, 4} }})
	t.Cleanup(func() {
		c.CloseNow()
		z.Close()
	})
	return c, z
}

// readFrames reads n frames from the peer's end in the background; the
// frames arrive on the channel returned, each with its payload unmasked.
func readFrames(z net.Conn, n int) <-chan frame.Frame {
	ch := make(chan frame.Frame, n)
	go func() {
		for range n {
			h, err := frame.ReadHeader(z)
			if err != nil {
				return
			}
			p := make([]byte, h.Length)
			if _, err := io.ReadFull(z, p); err != nil {
				return
			}
			if h.Masked {
				mask.Apply(p, h.Key, 0)
			}
			ch <- frame.Frame{Header: h, Payload: p}
		}
	}()
	return ch
}

// The race the hand-over of a pong must survive: pings arrive while a
// sender holds the write lock, after the sender last looked for an owed
// pong and before it releases the lock. The receiving call leaves the pong
// to the holder and reads on; the holder, having released the lock, finds
// the pong owed, takes the lock back and writes it. Only the latest ping
// is answered, once.
func TestPongNotStranded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, z := pipeConn(t, RoleClient)
		if !c.wlock.tryLock() { // a sender that found no pong owed
			t.Fatal("the write lock is held")
		}
		go z.Write([]byte{0x89, 1, '1', 0x89, 1, '2', 0x82, 1, 'd'}) // ping 1, ping 2, binary
		f, err := c.ReadDataFrame(context.Background(), nil)
		if err != nil || string(f.Payload) != "d" {
			t.Fatalf("ReadDataFrame = %q, %v, want the binary message at once", f.Payload, err)
		}
		got := readFrames(z, 2)
		synctest.Wait()
		if len(got) != 0 {
			t.Fatal("a frame was written while the sender held the write lock")
		}
		if err := c.releaseWrite(); err != nil { // the sender releases
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case f := <-got:
			if f.Opcode != frame.OpPong || string(f.Payload) != "2" {
				t.Fatalf("peer read %v %q, want a pong answering the latest ping", f.Opcode, f.Payload)
			}
		default:
			t.Fatal("the pong was stranded: nothing written after the sender released the lock")
		}
		if err := c.WriteMessage(context.Background(), frame.OpText, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if f := <-got; f.Opcode != frame.OpText {
			t.Errorf("peer read %v after the pong, want the text message: one pong for two pings", f.Opcode)
		}
	})
}

// upper is a msgEncoder for tests: it upper-cases messages and sets RSV1.
type upper struct {
	buf   []byte
	parts int
}

func (u *upper) write(p []byte) error {
	u.buf = append(u.buf, bytes.ToUpper(p)...)
	u.parts++
	return nil
}

func (u *upper) ready(n int) []byte {
	if len(u.buf) < n {
		return nil
	}
	p := u.buf
	u.buf = nil
	return p
}

func (u *upper) forget() { u.buf = nil }

func (u *upper) plain(int) bool { return false }

func (u *upper) header(h frame.Header) frame.Header {
	h.Rsv1 = true
	return h
}

func (u *upper) finish(h frame.Header) (frame.Header, []byte, error) {
	p := u.buf
	u.buf = nil
	return u.header(h), p, nil
}

func (u *upper) release() {}

// A negotiated extension encodes the data messages of WriteMessage, in
// parts of at most one write buffer, and sets its RSV bit on their frame;
// it never sees control frames or WriteFrame's frames.
func TestExtensionEncodesMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, role := range []Role{RoleClient, RoleServer} {
			c, z := pipeConn(t, role)
			enc := &upper{}
			c.enc = enc
			long := bytes.Repeat([]byte("ab"), writeBufferSize) // two parts
			got := readFrames(z, 4)
			ctx := context.Background()
			if err := c.WriteMessage(ctx, frame.OpText, long); err != nil {
				t.Fatal(err)
			}
			if err := c.WriteMessage(ctx, frame.OpBinary, nil); err != nil {
				t.Fatal(err)
			}
			if err := c.Ping(ctx, []byte("ping")); err != nil {
				t.Fatal(err)
			}
			if err := c.WriteFrame(ctx, frame.New(frame.OpBinary, []byte("raw"))); err != nil {
				t.Fatal(err)
			}
			want := []struct {
				op      frame.Opcode
				rsv1    bool
				payload []byte
			}{
				{frame.OpText, true, bytes.ToUpper(long)},
				{frame.OpBinary, true, nil},
				{frame.OpPing, false, []byte("ping")},
				{frame.OpBinary, false, []byte("raw")},
			}
			for _, w := range want {
				f := <-got
				if f.Opcode != w.op || f.Rsv1 != w.rsv1 || f.Masked != (role == RoleClient) || !bytes.Equal(f.Payload, w.payload) {
					t.Errorf("%v: peer read %v rsv1=%v masked=%v %d bytes, want %v rsv1=%v %d bytes",
						role, f.Opcode, f.Rsv1, f.Masked, len(f.Payload), w.op, w.rsv1, len(w.payload))
				}
			}
			if enc.parts != 2 {
				t.Errorf("%v: the encoder was handed %d parts, want 2", role, enc.parts)
			}
		}
	})
}

// cutOnce is a transport whose second Write stops with a timeout after
// 100 bytes, once gate is closed; it records every Write after that.
type cutOnce struct {
	mu     sync.Mutex
	gate   chan struct{}
	n      int
	writes [][]byte
}

func (c *cutOnce) Read([]byte) (int, error) { select {} }
func (c *cutOnce) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.n++
	n := c.n
	c.mu.Unlock()
	if n == 2 {
		<-c.gate
		return 100, os.ErrDeadlineExceeded
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > 2 {
		c.writes = append(c.writes, bytes.Clone(b))
	}
	return len(b), nil
}
func (c *cutOnce) Close() error                     { return nil }
func (c *cutOnce) SetReadDeadline(time.Time) error  { return nil }
func (c *cutOnce) SetWriteDeadline(time.Time) error { return nil }

// After a write cut a frame short, nothing follows it: not the pong owed
// for a ping received before the peer's close, nor the close frame that
// answers it (the pong went out into the middle of the cut frame).
func TestNoPongAfterCutFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &cutOnce{gate: make(chan struct{})}
		c := New(tr, &Config{Role: RoleServer, WriteTimeout: time.Second})
		sent := make(chan error, 1)
		go func() { sent <- c.WriteMessage(context.Background(), frame.OpBinary, make([]byte, 100<<10)) }()
		synctest.Wait() // its second piece is in flight
		c.answerPing([]byte("p"))
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			c.closeWith([]byte{3, 232}, ErrClosed, ErrClosed)
		}()
		synctest.Wait() // closeWith waits for the write lock
		close(tr.gate)  // the frame is cut
		<-sent
		<-closed
		tr.mu.Lock()
		defer tr.mu.Unlock()
		if len(tr.writes) > 0 {
			t.Errorf("%d writes after the cut, the first % x", len(tr.writes), tr.writes[0][:min(8, len(tr.writes[0]))])
		}
	})
}
