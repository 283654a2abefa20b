package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/reader"
	"github.com/framewire/ws/status"
)

// batchLead is the first frame of the ReadMessages tables: longer than
// the reader's wait buffer, so that reading it fills the read buffer
// with what follows it in the same write.
var batchLead = dataFrame(frame.OpBinary, true, false, strings.Repeat("lead", 30))

func pingFrame(p string) frame.Frame {
	return frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPing}, Payload: []byte(p)}
}

func closeFrame(t *testing.T, code status.Code, reason string) frame.Frame {
	p, err := status.AppendClose(nil, code, reason)
	if err != nil {
		t.Fatal(err)
	}
	return frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}, Payload: p}
}

// shown is a frame as the tables write it: "binary:lead...", "text:héllo".
func shown(f frame.Frame) string {
	s := f.Opcode.String() + ":" + string(f.Payload)
	if !f.Fin {
		s += "+"
	}
	return s
}

// ReadMessages returns, in one call, the first message and every further
// one whole in the read buffer, with ReadDataFrame's checks, and leaves
// the rest to the next call.
func TestReadMessages(t *testing.T) {
	long := strings.Repeat("é", 70)
	lead := shown(batchLead)
	for _, tt := range []struct {
		name  string
		cfg   Config
		wires [][]frame.Frame // each slice is one write of the peer
		cap   int
		calls [][]string // frames returned by each call
		code  status.Code
		pongs []string // pongs the peer receives
	}{
		{name: "several whole messages", wires: [][]frame.Frame{{batchLead, dataFrame(frame.OpBinary, true, false, "a"),
			dataFrame(frame.OpBinary, true, false, ""), dataFrame(frame.OpText, true, false, "héllo")}},
			calls: [][]string{{lead, "binary:a", "binary:", "text:héllo"}}},
		{name: "one whole and one partial", wires: [][]frame.Frame{{batchLead, dataFrame(frame.OpBinary, true, false, "a"),
			dataFrame(frame.OpBinary, true, false, "bc")}},
			calls: [][]string{{lead, "binary:a"}, {"binary:bc"}}},
		{name: "up to the caller's capacity", cap: 2, wires: [][]frame.Frame{{batchLead, dataFrame(frame.OpBinary, true, false, "a"),
			dataFrame(frame.OpBinary, true, false, "b"), dataFrame(frame.OpText, true, false, "c")}},
			calls: [][]string{{lead, "binary:a"}, {"binary:b", "text:c"}}},
		{name: "a ping between messages is answered", wires: [][]frame.Frame{{batchLead, dataFrame(frame.OpBinary, true, false, "a"),
			pingFrame("p"), dataFrame(frame.OpBinary, true, false, "b")}},
			calls: [][]string{{lead, "binary:a", "binary:b"}}, pongs: []string{"p"}},
		{name: "a ping returned with ControlFrames", cfg: Config{ControlFrames: true}, wires: [][]frame.Frame{{batchLead,
			pingFrame("p"), dataFrame(frame.OpBinary, true, false, "b")}},
			calls: [][]string{{lead, "ping:p", "binary:b"}}, pongs: []string{"p"}},
		{name: "invalid UTF-8 in the second message", wires: [][]frame.Frame{{batchLead, dataFrame(frame.OpText, true, false, "ok\xff"),
			dataFrame(frame.OpBinary, true, false, "never")}},
			calls: [][]string{{lead}}, code: status.InvalidPayload},
		{name: "invalid UTF-8 in the first message", wires: [][]frame.Frame{{dataFrame(frame.OpText, true, false, "ok\xff")}},
			calls: [][]string{{}}, code: status.InvalidPayload},
		// The close is left for the next call, so that the messages
		// before it are handled before it is answered.
		{name: "a close frame after two messages", wires: [][]frame.Frame{{batchLead, dataFrame(frame.OpBinary, true, false, "a"),
			closeFrame(t, status.NormalClosure, "bye"), dataFrame(frame.OpBinary, true, false, "never")}},
			calls: [][]string{{lead, "binary:a"}, {"close:\x03\xe8bye"}}, code: status.NormalClosure},
		{name: "over the message limit", cfg: Config{MaxMessageSize: 130}, wires: [][]frame.Frame{{batchLead,
			dataFrame(frame.OpBinary, true, false, long[:130]), dataFrame(frame.OpBinary, true, false, long[:131])}},
			calls: [][]string{{lead, "binary:" + long[:130]}}, code: status.MessageTooBig},
		{name: "a masked frame", wires: [][]frame.Frame{{batchLead, {Header: frame.Header{Fin: true, Opcode: frame.OpBinary,
			Masked: true, Key: [4]byte{1, 2, 3, 4}}, Payload: []byte("m")}}},
			calls: [][]string{{lead}, {}}, code: status.ProtocolError},
		{name: "a ping with a bad header", wires: [][]frame.Frame{{batchLead, dataFrame(frame.OpBinary, true, false, "a"),
			{Header: frame.Header{Opcode: frame.OpPing}, Payload: []byte("p")}}},
			calls: [][]string{{lead, "binary:a"}}, code: status.ProtocolError},
		{name: "a fragmented message ends the burst", wires: [][]frame.Frame{{batchLead, dataFrame(frame.OpBinary, true, false, "a"),
			dataFrame(frame.OpText, false, false, "b"), dataFrame(frame.OpContinuation, true, false, "c"), dataFrame(frame.OpBinary, true, false, "d")}},
			calls: [][]string{{lead, "binary:a"}, {"text:bc", "binary:d"}}},
		{name: "fragments with DeliverFragments", cfg: Config{DeliverFragments: true}, wires: [][]frame.Frame{{
			dataFrame(frame.OpText, false, false, strings.Repeat("f", 70)), dataFrame(frame.OpContinuation, true, false, "c"),
			dataFrame(frame.OpBinary, true, false, "d")}},
			calls: [][]string{{"text:" + strings.Repeat("f", 70) + "+"}, {"cont:c", "binary:d"}}},
		{name: "messages of separate writes", wires: [][]frame.Frame{{batchLead, dataFrame(frame.OpBinary, true, false, "a")},
			{dataFrame(frame.OpBinary, true, false, "b")}},
			calls: [][]string{{lead, "binary:a"}, {"binary:b"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, peer := net.Pipe()
				c := New(client, &tt.cfg)
				defer c.CloseNow()
				defer peer.Close()
				pongs := make(chan string, 8)
				go func() {
					r := reader.New(peer)
					r.Server = true
					for {
						f, err := r.ReadFrame()
						if err != nil {
							return
						}
						if f.Opcode == frame.OpPong {
							pongs <- string(f.Payload)
						}
					}
				}()
				if len(tt.wires) == 1 {
					// A frame cut in two writes: all but its last byte
					// arrive with the frames before it.
					wire := wireOf(t, tt.wires[0]...)
					cut := len(wire)
					if tt.name == "one whole and one partial" {
						cut--
					}
					go func() {
						peer.Write(wire[:cut])
						if cut < len(wire) {
							peer.Write(wire[cut:])
						}
					}()
				} else {
					go func() {
						for _, w := range tt.wires {
							peer.Write(wireOf(t, w...))
						}
					}()
				}
				n := tt.cap
				if n == 0 {
					n = 8
				}
				ms := make([]frame.Frame, n)
				var buf []byte
				for i, want := range tt.calls {
					k, b, err := c.ReadMessages(t.Context(), ms, buf[:0])
					buf = b
					var got []string
					for _, f := range ms[:k] {
						if f.Length != int64(len(f.Payload)) || cap(f.Payload) != len(f.Payload) {
							t.Errorf("call %d: %s: length %d, payload %d bytes, capacity %d", i, shown(f), f.Length, len(f.Payload), cap(f.Payload))
						}
						got = append(got, shown(f))
					}
					if strings.Join(got, " ") != strings.Join(want, " ") {
						t.Fatalf("call %d: got %.60q, want %.60q", i, got, want)
					}
					last := i == len(tt.calls)-1
					if err != nil && (!last || tt.code == 0) {
						t.Fatalf("call %d: %v", i, err)
					}
					if last && tt.code != 0 && tt.code != status.NormalClosure {
						failedWith(t, err, tt.code)
					}
				}
				if tt.code != 0 {
					_, _, err := c.ReadMessages(t.Context(), ms, buf[:0])
					if !errors.Is(err, ErrClosed) {
						t.Fatalf("after the end: %v, want ErrClosed", err)
					}
				}
				c.CloseNow()
				peer.Close()
				synctest.Wait()
				close(pongs)
				var got []string
				for p := range pongs {
					got = append(got, p)
				}
				if strings.Join(got, " ") != strings.Join(tt.pongs, " ") {
					t.Errorf("pongs %q, want %q", got, tt.pongs)
				}
			})
		})
	}
}

// ReadMessages waits for its first message as ReadDataFrame does, bounded
// by ctx, and consumes nothing when ctx ends; with no room it returns at
// once.
func TestReadMessagesContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, peer := discardingPipe(t)
		ms := make([]frame.Frame, 4)
		if n, _, err := c.ReadMessages(t.Context(), ms[:0], nil); n != 0 || err != nil {
			t.Fatalf("no room: %d, %v", n, err)
		}
		var te *TimeoutError
		if n, _, err := c.ReadMessages(shortCtx(t), ms, nil); n != 0 || !errors.As(err, &te) {
			t.Fatalf("nothing arrives: %d, %v, want a *TimeoutError", n, err)
		}
		go peer.Write(wireOf(t, dataFrame(frame.OpBinary, true, false, "one"), dataFrame(frame.OpBinary, true, false, "two")))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		synctest.Wait()
		if n, _, err := c.ReadMessages(ctx, ms, nil); n != 0 || !errors.As(err, &te) {
			t.Fatalf("ended context: %d, %v, want a *TimeoutError", n, err)
		}
		n, _, err := c.ReadMessages(t.Context(), ms, nil)
		if err != nil || n != 2 || string(ms[0].Payload) != "one" || string(ms[1].Payload) != "two" {
			t.Fatalf("got %d %q %q, %v", n, ms[0].Payload, ms[1].Payload, err)
		}
	})
}

// repeating is a Transport that reads as the same frames over and over;
// what is written to it is dropped.
type repeating struct {
	chunkedStream
	wire []byte
	pos  int
}

func (s *repeating) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], s.wire[s.pos:])
		n += k
		s.pos = (s.pos + k) % len(s.wire)
	}
	return n, nil
}

// ReadMessages allocates nothing once its frames and buffer are reused,
// whether a burst ends at the end of the read buffer or at a ping.
func TestReadMessagesNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	wire := wireOf(t, dataFrame(frame.OpBinary, true, false, "0123456789abcdef"), dataFrame(frame.OpText, true, false, "héllo"),
		pingFrame("p"), dataFrame(frame.OpBinary, true, false, strings.Repeat("x", 300)))
	c := New(&repeating{wire: wire}, nil)
	defer c.CloseNow()
	ms := make([]frame.Frame, 16)
	var buf []byte
	read := func() {
		n, b, err := c.ReadMessages(t.Context(), ms, buf[:0])
		if err != nil || n == 0 {
			t.Fatalf("%d messages, %v", n, err)
		}
		buf = b
	}
	for range 100 {
		read()
	}
	if a := testing.AllocsPerRun(1000, read); a != 0 {
		t.Errorf("%v allocations per call", a)
	}
}

// ReadMessages and ReadDataFrame called from several goroutines at once
// share the read lock: every message is returned once, whole, and each
// burst is in the order sent.
func TestReadMessagesConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, peer := discardingPipe(t)
		const total = 600
		go func() {
			var wire []byte
			for i := range total {
				wire = append(wire, wireOf(t, dataFrame(frame.OpBinary, true, false, fmt.Sprintf("m%03d", i)))...)
				if i%7 == 6 || i == total-1 {
					peer.Write(wire)
					wire = wire[:0]
				}
			}
		}()
		seen := make(chan string, total)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				ms := make([]frame.Frame, 5)
				var buf []byte
				for len(seen) < total {
					ctx, cancel := context.WithTimeout(t.Context(), time.Second)
					if g%2 == 0 {
						f, err := c.ReadDataFrame(ctx, buf[:0])
						cancel()
						if err != nil {
							return
						}
						buf = f.Payload
						seen <- string(f.Payload)
						continue
					}
					n, b, err := c.ReadMessages(ctx, ms, buf[:0])
					cancel()
					buf = b
					for i, m := range ms[:n] {
						if i > 0 && string(m.Payload) <= string(ms[i-1].Payload) {
							t.Errorf("burst out of order: %q after %q", m.Payload, ms[i-1].Payload)
						}
						seen <- string(m.Payload)
					}
					if err != nil {
						return
					}
				}
			})
		}
		wg.Wait()
		close(seen)
		got := map[string]bool{}
		for m := range seen {
			if got[m] {
				t.Errorf("%q returned twice", m)
			}
			got[m] = true
		}
		if len(got) != total {
			t.Errorf("%d messages returned, want %d", len(got), total)
		}
	})
}

// discardingPipe returns a client Conn over a net.Pipe whose other end,
// returned for the test to write the server's frames to, drops what the
// Conn writes; both close when the test ends.
func discardingPipe(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	client, peer := net.Pipe()
	c := New(client, nil)
	t.Cleanup(func() {
		c.CloseNow()
		peer.Close()
	})
	go io.Copy(io.Discard, peer)
	return c, peer
}
