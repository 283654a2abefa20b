package conn

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/mask"
)

// patterned returns n bytes that differ from their neighbours, so that a
// byte out of place or masked at the wrong key position shows.
func patterned(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i>>8)
	}
	return p
}

// unframe parses the frames of wire, unmasking their payloads, and fails
// the test unless they are exactly want, in order.
func unframe(t *testing.T, wire []byte, masked bool, want ...[]byte) {
	t.Helper()
	for i, w := range want {
		h, n, err := frame.ParseHeader(wire)
		if err != nil || h.Masked != masked || h.Length != int64(len(w)) || int64(len(wire)-n) < h.Length {
			t.Fatalf("frame %d: %+v, %v; want %d bytes, masked %v", i, h, err, len(w), masked)
		}
		got := bytes.Clone(wire[n : n+int(h.Length)])
		if h.Masked {
			mask.Apply(got, h.Key, 0)
		}
		if !bytes.Equal(got, w) {
			t.Fatalf("frame %d: payload differs", i)
		}
		wire = wire[n+int(h.Length):]
	}
	if len(wire) != 0 {
		t.Fatalf("%d bytes after the frames", len(wire))
	}
}

// piece is the length of each Write but the last of a stream of n bytes
// that does not fit a write buffer, for a writer with big set or not: a
// header's room and the piece of the buffer chosen for it.
func piece(n int, big bool) int {
	if !big {
		return frame.MaxHeaderLen + largePieces[0]
	}
	return frame.MaxHeaderLen + largePieces[largeClass(n)]
}

// pieces is how many Writes a stream of n bytes that does not fit a
// write buffer leaves in: piece bytes each, the last one the rest.
func pieces(n int, big bool) int {
	return (n + piece(n, big) - 1) / piece(n, big)
}

// A frame longer than a write buffer leaves, with big pieces, in one Write
// from the smallest large buffer that holds it, or, longer than the
// largest, in pieces of largePiece bytes and a header's room, one Write
// each (the last one the rest); without, in pieces of 32 KiB and a
// header's room. The bytes on the wire are exactly the frame, masked for
// a client. Afterwards the Conn holds no buffer.
func TestLargeFramePieces(t *testing.T) {
	for _, big := range []bool{false, true} {
		for _, role := range []Role{RoleClient, RoleServer} {
			for _, size := range []int{writeBufferSize + 1, 64 << 10, 64<<10 + 1, 100 << 10, 128<<10 + 1, largePiece, largePiece + 1, 1 << 20, 1<<20 + 5, 3<<20 + 1000} {
				g := &gateTransport{}
				c := New(g, &Config{Role: role})
				c.w.big = big
				p := patterned(size)
				if err := c.WriteMessage(context.Background(), frame.OpBinary, p); err != nil {
					t.Fatal(err)
				}
				// Each Write but the last is a whole buffer: the header's
				// room is the payload's in the pieces after the first.
				stream := frame.Header{Length: int64(size), Masked: role == RoleClient}.Len() + size
				if want := pieces(stream, big); len(g.writes) != want {
					t.Errorf("big %v, %v, %d bytes: %d Writes, want %d", big, role, size, len(g.writes), want)
				}
				for i, w := range g.writes[:len(g.writes)-1] {
					if len(w) != piece(stream, big) {
						t.Errorf("big %v, %v, %d bytes: Write %d of %d bytes", big, role, size, i, len(w))
					}
				}
				unframe(t, bytes.Join(g.writes, nil), role == RoleClient, p)
				if c.w.bp != nil {
					t.Errorf("big %v, %v, %d bytes: the Conn holds a buffer of %d bytes after the write", big, role, size, cap(*c.w.bp))
				}
			}
		}
	}
}

// Two large frames in a burst, the first of every length around the
// boundaries of the buffers and pieces, for both roles, with big pieces
// and without: the bytes on the wire are exactly the two frames, no Write
// holds more than a piece and a header's room, and every Write but the
// last holds at least 32 KiB, unless it ends with the first frame (the
// second, which fits a buffer, is never split: see writer).
func TestLargeFramesBackToBack(t *testing.T) {
	second := patterned(70000)
	for _, big := range []bool{false, true} {
		for _, role := range []Role{RoleClient, RoleServer} {
			var sizes []int
			for _, edge := range []int{largePieces[0], largePieces[1], largePieces[2], largePiece, 2 * largePiece, 3 * largePiece} {
				for n := edge - 30; n <= edge+30; n++ {
					sizes = append(sizes, n)
				}
			}
			for _, size := range sizes {
				g := &gateTransport{}
				c := New(g, &Config{Role: role})
				c.w.big = big
				first := patterned(size)
				if err := c.WriteMessages(context.Background(), frame.OpBinary, first, second); err != nil {
					t.Fatal(err)
				}
				firstEnd := frame.Header{Length: int64(size), Masked: role == RoleClient}.Len() + size
				limit := piece(firstEnd, big)
				at := 0
				for i, w := range g.writes {
					at += len(w)
					if len(w) > max(limit, piece(len(second)+14, big)) || i < len(g.writes)-1 && at != firstEnd && len(w) < largePieces[0] {
						t.Errorf("big %v, %v, %d bytes: Write %d of %d bytes", big, role, size, i, len(w))
					}
				}
				unframe(t, bytes.Join(g.writes, nil), role == RoleClient, first, second)
			}
		}
	}
}

// A Conn sends large frames in big pieces over a TCP connection on Linux,
// whose progress the watchdog of WriteTimeout sees during a Write, and
// with no WriteTimeout; over another transport with one, in pieces of
// 32 KiB.
func TestLargePiecesByTransport(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if c := New(a, nil); c.w.big {
		t.Error("big pieces over net.Pipe with the default WriteTimeout")
	}
	if c := New(a, &Config{WriteTimeout: -1}); !c.w.big {
		t.Error("no big pieces with no WriteTimeout")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if c := New(tc, nil); c.w.big != (runtime.GOOS == "linux") {
		t.Errorf("over TCP on %s: big pieces %v", runtime.GOOS, c.w.big)
	}
	if c := New(tls.Client(tc, &tls.Config{}), nil); c.w.big != (runtime.GOOS == "linux") {
		t.Errorf("over TLS over TCP on %s: big pieces %v", runtime.GOOS, c.w.big)
	}
}

// Frames appended before a large one go out with its first piece, and
// frames after it with its last: a burst of small, large, small messages
// leaves in whole pieces but the last.
func TestLargeFrameInBurst(t *testing.T) {
	g := &gateTransport{}
	c := New(g, nil)
	small, large := []byte("small"), patterned(600<<10)
	if err := c.WriteMessages(context.Background(), frame.OpBinary, small, large, small); err != nil {
		t.Fatal(err)
	}
	stream := 2*(2+4+len(small)) + 14 + len(large)
	sizes := make([]int, len(g.writes))
	full := true
	for i, w := range g.writes {
		sizes[i] = len(w)
		full = full && (i == len(g.writes)-1 || len(w) == piece(stream, false))
	}
	if want := pieces(stream, false); len(g.writes) != want || !full {
		t.Errorf("Writes of %v bytes, want %d, all but the last of %d", sizes, want, piece(stream, false))
	}
	unframe(t, bytes.Join(g.writes, nil), true, small, large, small)
}

// A large frame whose write is stopped by its context keeps its last
// piece's rest, as any frame that lies whole in the writer's buffer: the
// next write sends it first and the stream stays whole. Stopped before its
// last piece, the frame can never be finished: the connection fails.
func TestLargeFrameStopped(t *testing.T) {
	const size = 1 << 20
	const frameLen = 14 + size // header with an 8-byte length and a key
	for _, tt := range []struct {
		name string
		read int // bytes the peer reads before it stops
		kept bool
	}{
		{"in its first piece", 1000, false},
		{"in a middle piece", frameLen - largePiece - 1000, false},
		{"in its last piece", frameLen - 1000, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := patterned(size)
				c, b, head, err := stopWrite(t, tt.read, func(ctx context.Context, c *Conn) error {
					return c.WriteMessage(ctx, frame.OpBinary, p)
				})
				var te *TimeoutError
				if !errors.As(err, &te) || te.Kept != tt.kept || te.Broken == tt.kept {
					t.Fatalf("WriteMessage = %#v, want a timeout with Kept %v", err, tt.kept)
				}
				if !tt.kept {
					if err := c.WriteMessage(context.Background(), frame.OpText, []byte("next")); !errors.Is(err, ErrClosed) {
						t.Errorf("a write after the cut frame returned %v", err)
					}
					return
				}
				if got := c.Buffered(); got != frameLen-tt.read {
					t.Errorf("Buffered = %d, want %d", got, frameLen-tt.read)
				}
				errc := make(chan error, 1)
				go func() { errc <- c.WriteMessage(context.Background(), frame.OpText, []byte("next")) }()
				rest := make([]byte, frameLen-tt.read+2+4+4)
				if _, err := io.ReadFull(b, rest); err != nil {
					t.Fatal(err)
				}
				if err := <-errc; err != nil {
					t.Fatalf("next write: %v", err)
				}
				unframe(t, append(head, rest...), true, p, []byte("next"))
			})
		})
	}
}

// Sending a large frame allocates nothing once the buffers are pooled.
func TestLargeFrameNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	c := New(&gateTransport{discard: true}, nil)
	p := make([]byte, 1<<20)
	ctx := context.Background()
	if n := testing.AllocsPerRun(20, func() {
		if err := c.WriteMessage(ctx, frame.OpBinary, p); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%.1f allocations per 1 MiB message, want 0", n)
	}
}

// A frame of 200 KiB stopped after its first bytes: with big pieces it
// lies whole in its buffer, so its rest is kept and goes out first with
// the next write; with 32 KiB pieces it was cut and the connection fails.
func TestLargeFrameStoppedByPieceSize(t *testing.T) {
	const size, read = 200 << 10, 1000
	const frameLen = 14 + size // header with an 8-byte length and a key
	for _, big := range []bool{false, true} {
		t.Run(map[bool]string{false: "32 KiB pieces", true: "big pieces"}[big], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := net.Pipe()
				defer b.Close()
				c := New(a, nil)
				defer c.CloseNow()
				c.w.big = big
				p := patterned(size)
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				errc := make(chan error, 1)
				go func() { errc <- c.WriteMessage(ctx, frame.OpBinary, p) }()
				head := make([]byte, read)
				if _, err := io.ReadFull(b, head); err != nil {
					t.Fatal(err)
				}
				err := <-errc
				var te *TimeoutError
				if !errors.As(err, &te) || te.Kept != big || te.Broken == big || errors.Is(err, ErrBroken) == big {
					t.Fatalf("WriteMessage = %#v, want a timeout with Kept %v", err, big)
				}
				if !big {
					return
				}
				if got := c.Buffered(); got != frameLen-read {
					t.Errorf("Buffered = %d, want %d", got, frameLen-read)
				}
				go func() { errc <- c.WriteMessage(context.Background(), frame.OpText, []byte("next")) }()
				rest := make([]byte, frameLen-read+2+4+4)
				if _, err := io.ReadFull(b, rest); err != nil {
					t.Fatal(err)
				}
				if err := <-errc; err != nil {
					t.Fatalf("next write: %v", err)
				}
				unframe(t, append(head, rest...), true, p, []byte("next"))
			})
		})
	}
}
