package conn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/status"
)

// receiveFunc is one way of receiving a Conn's next message: by the Conn's
// own call, or by a held Receiver's.
type receiveFunc func(ctx context.Context, c *Conn, r *Receiver, dst []byte) (frame.Opcode, []byte, error)

var receivers = []struct {
	name string
	held bool // takes a Receiver first
	recv receiveFunc
}{
	{"Conn.ReadDataFrame", false, func(ctx context.Context, c *Conn, _ *Receiver, dst []byte) (frame.Opcode, []byte, error) {
		f, err := c.ReadDataFrame(ctx, dst)
		return f.Opcode, f.Payload, err
	}},
	{"Receiver.Receive", true, func(ctx context.Context, _ *Conn, r *Receiver, dst []byte) (frame.Opcode, []byte, error) {
		return r.Receive(ctx, dst)
	}},
	{"Receiver.ReadDataFrame", true, func(ctx context.Context, _ *Conn, r *Receiver, dst []byte) (frame.Opcode, []byte, error) {
		f, err := r.ReadDataFrame(ctx, dst)
		return f.Opcode, f.Payload, err
	}},
	{"Receiver.ReadMessages", true, func(ctx context.Context, _ *Conn, r *Receiver, dst []byte) (frame.Opcode, []byte, error) {
		var ms [1]frame.Frame
		n, buf, err := r.ReadMessages(ctx, ms[:], dst)
		if n == 0 {
			return 0, buf, err
		}
		return ms[0].Opcode, ms[0].Payload, err
	}},
}

// receiveAll reads wire, which a server wrote at once, with recv until an
// error or the peer's close, reusing one buffer as a read loop does, and
// returns what it received, one line per message, and the bytes the
// client wrote (pongs, close frames; masked with a fixed key).
func receiveAll(t *testing.T, cfg Config, wire []byte, held bool, recv receiveFunc) (got []string, sent []byte) {
	client, peer := net.Pipe()
	cfg.MaskKey = func() mask.Key { return mask.Key{1, 2, 3, 4} }
	c := New(client, &cfg)
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		io.Copy(&out, peer)
		close(read)
	}()
	go peer.Write(wire)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var r *Receiver
	if held {
		var err error
		if r, err = c.Receiver(ctx); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 0, 64)
	for {
		op, p, err := recv(ctx, c, r, buf[:0])
		if err != nil {
			got = append(got, "error: "+err.Error())
			break
		}
		got = append(got, fmt.Sprintf("%v %q", op, p))
		buf = p
		if op == frame.OpClose {
			break
		}
	}
	if held {
		// A failed call leaves the read side held, for Release to give back.
		if c.rlock.state.Load() == mutexUnlocked {
			t.Error("the Receiver's read lock was released by its calls")
		}
		r.Release()
		if c.rlock.state.Load() != mutexUnlocked {
			t.Error("Release left the read lock held")
		}
	}
	c.CloseNow()
	peer.Close()
	<-read
	return got, out.Bytes()
}

// A held Receiver returns what the Conn's ReadDataFrame returns, message
// for message, and writes the same frames: the pongs owed, the close
// frame answering the peer's and the one failing the connection, for
// messages whole in the read buffer (its shortcut) and the others.
func TestReceiverAsReadDataFrame(t *testing.T) {
	ping := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPing}, Payload: []byte("p")}
	bye, _ := status.AppendClose(nil, status.GoingAway, "bye")
	closeFrame := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}, Payload: bye}
	long := strings.Repeat("é", 3000) // longer than the reader's first read
	for _, tt := range []struct {
		name string
		cfg  Config
		wire []frame.Frame
	}{
		{"whole messages, then a close", Config{}, []frame.Frame{
			dataFrame(frame.OpBinary, true, false, "0123456789abcdef"),
			dataFrame(frame.OpText, true, false, "héllo"),
			dataFrame(frame.OpBinary, true, false, ""),
			closeFrame,
		}},
		{"fragments with a ping between", Config{}, []frame.Frame{
			dataFrame(frame.OpText, false, false, "ab"), ping,
			dataFrame(frame.OpContinuation, true, false, "cd"),
			dataFrame(frame.OpText, true, false, long),
			closeFrame,
		}},
		{"control frames returned", Config{ControlFrames: true}, []frame.Frame{
			ping, dataFrame(frame.OpBinary, true, false, "x"), closeFrame,
		}},
		{"text that is not UTF-8", Config{}, []frame.Frame{
			dataFrame(frame.OpBinary, true, false, "ok"),
			dataFrame(frame.OpText, true, false, "\xff\xfe"),
		}},
		{"a message over the limit", Config{MaxMessageSize: 4}, []frame.Frame{
			dataFrame(frame.OpBinary, true, false, "four"),
			dataFrame(frame.OpBinary, true, false, "fives"),
		}},
		{"a reserved bit", Config{}, []frame.Frame{
			dataFrame(frame.OpBinary, true, false, "ok"),
			dataFrame(frame.OpBinary, true, true, "rsv1"),
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wire := wireOf(t, tt.wire...)
			var wantGot []string
			var wantSent []byte
			for i, rc := range receivers {
				got, sent := receiveAll(t, tt.cfg, wire, rc.held, rc.recv)
				if i == 0 {
					wantGot, wantSent = got, sent
					if len(got) < 2 {
						t.Fatalf("%s received %q: the case reads nothing", rc.name, got)
					}
					continue
				}
				if strings.Join(got, "\n") != strings.Join(wantGot, "\n") {
					t.Errorf("%s received\n%s\nConn.ReadDataFrame\n%s", rc.name, strings.Join(got, "\n"), strings.Join(wantGot, "\n"))
				}
				if !bytes.Equal(sent, wantSent) {
					t.Errorf("%s wrote %x, Conn.ReadDataFrame %x", rc.name, sent, wantSent)
				}
			}
		})
	}
}

// While a Receiver is held, the Conn's receiving calls and another
// Receiver wait for it, bounded by their contexts, and take the read
// side once it is released; its own calls then return ErrReleased.
func TestReceiverHoldsReadSide(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, peer := net.Pipe()
		c := New(client, nil)
		t.Cleanup(func() { c.CloseNow(); peer.Close() })
		go peer.Write(wireOf(t, dataFrame(frame.OpText, true, false, "one"), dataFrame(frame.OpText, true, false, "two")))
		r, err := c.Receiver(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		if _, err := c.ReadDataFrame(ctx, nil); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Fatalf("ReadDataFrame while a Receiver is held: %v after %v, want a timeout after 1s", err, time.Since(start))
		}
		if _, err := c.Receiver(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a second Receiver: %v, want a timeout", err)
		}
		if _, p, err := r.Receive(t.Context(), nil); err != nil || string(p) != "one" {
			t.Fatalf("Receive: %q, %v", p, err)
		}

		// A call waiting for the read side gets it on Release.
		got := make(chan string, 1)
		go func() {
			f, err := c.ReadDataFrame(t.Context(), nil)
			got <- fmt.Sprintf("%s %v", f.Payload, err)
		}()
		synctest.Wait()
		select {
		case s := <-got:
			t.Fatalf("ReadDataFrame returned %q while the Receiver was held", s)
		default:
		}
		r.Release()
		if s := <-got; s != "two <nil>" {
			t.Fatalf("ReadDataFrame after Release: %q", s)
		}
		r.Release() // a second Release does nothing
		if _, _, err := r.Receive(t.Context(), nil); !errors.Is(err, ErrReleased) {
			t.Fatalf("Receive after Release: %v", err)
		}
		if _, err := r.ReadDataFrame(t.Context(), nil); !errors.Is(err, ErrReleased) {
			t.Fatalf("ReadDataFrame after Release: %v", err)
		}
		if _, _, err := r.ReadMessages(t.Context(), make([]frame.Frame, 1), nil); !errors.Is(err, ErrReleased) {
			t.Fatalf("ReadMessages after Release: %v", err)
		}
		if _, _, err := r.ReadMessages(t.Context(), nil, nil); !errors.Is(err, ErrReleased) {
			t.Fatalf("ReadMessages with no room after Release: %v", err)
		}
		done, cancelDone := context.WithCancel(t.Context())
		cancelDone()
		r2, err := c.Receiver(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := r2.Receive(done, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("Receive with an ended context: %v", err)
		}

		// Another Receiver waits for the one held, and gets it on Release.
		next := make(chan *Receiver, 1)
		go func() {
			r3, err := c.Receiver(t.Context())
			if err != nil {
				t.Error(err)
			}
			next <- r3
		}()
		synctest.Wait()
		if len(next) != 0 {
			t.Fatal("a second Receiver was taken while the first was held")
		}
		r2.Release()
		if r3 := <-next; r3 != nil {
			r3.Release()
		}
	})
}

// Calls waiting for a held Receiver end with the connection, as every
// blocked call does, even when the holder does not receive.
func TestReceiverWaitersEndWithConn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _, _ := heldPipe(t)
		errs := make(chan error, 3)
		go func() {
			_, err := c.ReadDataFrame(t.Context(), nil)
			errs <- err
		}()
		go func() {
			_, _, err := c.ReadMessages(t.Context(), make([]frame.Frame, 4), nil)
			errs <- err
		}()
		go func() {
			_, err := c.Receiver(t.Context())
			errs <- err
		}()
		synctest.Wait()
		start := time.Now()
		c.CloseNow()
		for range 3 {
			if err := <-errs; !errors.Is(err, ErrClosed) || time.Since(start) != 0 {
				t.Fatalf("a waiting call returned %v after %v, want ErrClosed at once", err, time.Since(start))
			}
		}
	})
}

// Close from another goroutine lets the holder of a Receiver read the
// peer's answer, as it does a receiving call under way; a holder that
// does not receive leaves Close to its deadline.
func TestReceiverClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, peer, r := heldPipe(t)
		received := make(chan string, 1)
		go func() {
			op, p, err := r.Receive(t.Context(), nil)
			received <- fmt.Sprintf("%v %x %v", op, p, err)
		}()
		go func() {
			// The server answers the client's close frame with its own.
			var b [64]byte
			peer.Read(b[:])
			peer.Write(wireOf(t, frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}, Payload: []byte{0x03, 0xe8}}))
			io.Copy(io.Discard, peer)
		}()
		if err := c.Close(t.Context(), status.NormalClosure, ""); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if s := <-received; s != "close 03e8 <nil>" {
			t.Fatalf("the holder received %q", s)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		client, peer := net.Pipe()
		c := New(client, nil)
		t.Cleanup(func() { c.CloseNow(); peer.Close() })
		go io.Copy(io.Discard, peer)
		r, err := c.Receiver(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer r.Release()
		start := time.Now()
		err = c.Close(t.Context(), status.NormalClosure, "")
		if te := (*TimeoutError)(nil); !errors.As(err, &te) || time.Since(start) != DefaultCloseTimeout {
			t.Fatalf("Close while the holder does not receive: %v after %v, want a timeout after %v", err, time.Since(start), DefaultCloseTimeout)
		}
		if _, _, err := r.Receive(t.Context(), nil); !errors.Is(err, ErrClosed) {
			t.Fatalf("Receive after Close: %v", err)
		}
	})
}

// Receive allocates nothing once the caller's buffer has grown: neither
// for messages whole in the read buffer nor for those read in pieces.
func TestReceiveAllocs(t *testing.T) {
	if RaceEnabled {
		t.Skip("the race detector allocates")
	}
	whole := wireOf(t, dataFrame(frame.OpBinary, true, false, "0123456789abcdef"))
	for _, tt := range []struct {
		name  string
		split bool // the frame's header and payload written apart
	}{{"whole", false}, {"in pieces", true}} {
		t.Run(tt.name, func(t *testing.T) {
			client, peer := net.Pipe()
			c := New(client, nil)
			defer func() { c.CloseNow(); peer.Close() }()
			go func() {
				for {
					var err error
					if tt.split {
						_, err = peer.Write(whole[:2])
						if err == nil {
							_, err = peer.Write(whole[2:])
						}
					} else {
						_, err = peer.Write(whole)
					}
					if err != nil {
						return
					}
				}
			}()
			ctx := context.Background()
			r, err := c.Receiver(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Release()
			buf := make([]byte, 0, 64)
			allocs := testing.AllocsPerRun(1000, func() {
				op, p, err := r.Receive(ctx, buf[:0])
				if err != nil || op != frame.OpBinary || string(p) != "0123456789abcdef" {
					t.Fatalf("Receive: %v %q %v", op, p, err)
				}
				buf = p
			})
			if allocs != 0 {
				t.Errorf("%v allocations per Receive, want 0", allocs)
			}
		})
	}
}

// heldPipe returns a client Conn over a pipe, the pipe's other end and the
// Conn's Receiver, which the test's end releases.
func heldPipe(t *testing.T) (*Conn, net.Conn, *Receiver) {
	client, peer := net.Pipe()
	c := New(client, nil)
	t.Cleanup(func() { c.CloseNow(); peer.Close() })
	r, err := c.Receiver(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Release)
	return c, peer, r
}

// frameReaders read a Conn's next frame at the frame level: by the Conn's
// call, or by a held Receiver's. Each returns the frame's opcode and, for
// the comparison, its Fin bit before its payload.
var frameReaders = []struct {
	name string
	held bool
	recv receiveFunc
}{
	{"Conn.ReadFrame", false, func(ctx context.Context, c *Conn, _ *Receiver, dst []byte) (frame.Opcode, []byte, error) {
		f, err := c.ReadFrame(ctx, dst)
		return f.Opcode, append([]byte(fmt.Sprintf("fin=%v ", f.Fin)), f.Payload...), err
	}},
	{"Receiver.ReadFrame", true, func(ctx context.Context, _ *Conn, r *Receiver, dst []byte) (frame.Opcode, []byte, error) {
		f, err := r.ReadFrame(ctx, dst)
		return f.Opcode, append([]byte(fmt.Sprintf("fin=%v ", f.Fin)), f.Payload...), err
	}},
}

// A held Receiver's ReadFrame returns what the Conn's returns, frame for
// frame, and writes the same frames: fragments and control frames as they
// arrived, the pongs owed, the close frame failing the connection.
func TestReceiverAsReadFrame(t *testing.T) {
	ping := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPing}, Payload: []byte("p")}
	bye, _ := status.AppendClose(nil, status.GoingAway, "bye")
	closeFrame := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}, Payload: bye}
	for _, tt := range []struct {
		name string
		cfg  Config
		wire []frame.Frame
	}{
		{"fragments with a ping between, then a close", Config{}, []frame.Frame{
			dataFrame(frame.OpText, false, false, "ab"), ping,
			dataFrame(frame.OpContinuation, true, false, "cd"),
			dataFrame(frame.OpBinary, true, false, strings.Repeat("x", 3000)),
			closeFrame,
		}},
		{"a reserved bit", Config{}, []frame.Frame{
			dataFrame(frame.OpBinary, true, false, "ok"),
			dataFrame(frame.OpBinary, true, true, "rsv1"),
		}},
		{"a frame over the limit", Config{MaxFrameSize: 8}, []frame.Frame{
			dataFrame(frame.OpBinary, true, false, "ok"),
			dataFrame(frame.OpBinary, true, false, "nine bytes"),
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wire := wireOf(t, tt.wire...)
			wantGot, wantSent := receiveAll(t, tt.cfg, wire, false, frameReaders[0].recv)
			if len(wantGot) < 2 {
				t.Fatalf("Conn.ReadFrame read %q: the case reads nothing", wantGot)
			}
			got, sent := receiveAll(t, tt.cfg, wire, true, frameReaders[1].recv)
			if strings.Join(got, "\n") != strings.Join(wantGot, "\n") {
				t.Errorf("Receiver.ReadFrame read\n%s\nConn.ReadFrame\n%s", strings.Join(got, "\n"), strings.Join(wantGot, "\n"))
			}
			if !bytes.Equal(sent, wantSent) {
				t.Errorf("Receiver.ReadFrame wrote %x, Conn.ReadFrame %x", sent, wantSent)
			}
		})
	}
}

// A Receiver's ReadFrame and its message calls do not mix within one
// message, as the Conn's do not; after Release, ReadFrame returns
// ErrReleased.
func TestReceiverReadFrameMixed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, peer, r := heldPipe(t)
		go peer.Write(wireOf(t, dataFrame(frame.OpText, false, false, "ab"),
			dataFrame(frame.OpContinuation, true, false, "cd")))
		ctx := t.Context()
		f, err := r.ReadFrame(ctx, nil)
		if err != nil || f.Fin || string(f.Payload) != "ab" {
			t.Fatalf("ReadFrame = %v, %v; want the first fragment", f, err)
		}
		if _, _, err := r.Receive(ctx, nil); !errors.Is(err, ErrMixedRead) {
			t.Errorf("Receive in the middle of the message = %v, want ErrMixedRead", err)
		}
		if f, err := r.ReadFrame(ctx, nil); err != nil || !f.Fin || string(f.Payload) != "cd" {
			t.Errorf("ReadFrame = %v, %v; want the last fragment", f, err)
		}
		r.Release()
		if _, err := r.ReadFrame(ctx, nil); !errors.Is(err, ErrReleased) {
			t.Errorf("ReadFrame after Release = %v, want ErrReleased", err)
		}
		if c.rlock.state.Load() != mutexUnlocked {
			t.Error("the read lock is held after Release")
		}
	})
}
