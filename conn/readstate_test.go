package conn

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
)

// halfFrame has the peer send the first part of a frame, then waits for
// the call reading it to time out; rest sends the remainder.
func halfFrame(t *testing.T, ext extension, f frame.Frame, cut int) (c *Conn, rest func()) {
	t.Helper()
	client, peer := net.Pipe()
	c = New(client, nil)
	if ext != nil {
		c.useExtension(ext)
	}
	go io.Copy(io.Discard, peer)
	t.Cleanup(func() { c.CloseNow(); peer.Close() })
	wire := wireOf(t, f)
	go peer.Write(wire[:cut])
	return c, func() { go peer.Write(wire[cut:]) }
}

func shortCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	t.Cleanup(cancel)
	return ctx
}

// A frame in progress belongs to the mode that began it: the other mode
// is refused without harm, and the first one resumes it. The frame is
// larger than the read buffer: a smaller one is not begun until it is
// whole (see the reader's ReadWhole), so either mode may read it.
func TestReadStateOneModeAtATime(t *testing.T) {
	long := strings.Repeat("0123456789", 2000)
	f := dataFrame(frame.OpBinary, true, false, long)
	type read func(*Conn, context.Context) (frame.Frame, error)
	readFrame := func(c *Conn, ctx context.Context) (frame.Frame, error) { return c.ReadFrame(ctx, nil) }
	readData := func(c *Conn, ctx context.Context) (frame.Frame, error) { return c.ReadDataFrame(ctx, nil) }
	for _, tt := range []struct {
		name         string
		first, other read
	}{
		{"ReadFrame first", readFrame, readData},
		{"ReadDataFrame first", readData, readFrame},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, rest := halfFrame(t, nil, f, 6)
				var to *TimeoutError
				if _, err := tt.first(c, shortCtx(t)); !errors.As(err, &to) {
					t.Fatalf("first call: %v, want a timeout", err)
				}
				if _, err := tt.other(c, shortCtx(t)); !errors.Is(err, ErrMixedRead) {
					t.Fatalf("other mode: %v, want ErrMixedRead", err)
				}
				rest()
				g, err := tt.first(c, context.Background())
				if err != nil || string(g.Payload) != long {
					t.Fatalf("first call resumed: %.20q, %v", g.Payload, err)
				}
			})
		})
	}
}

// A decoded message interrupted in the middle of a frame resumes where it
// stopped: the decoder keeps its place.
func TestReadStateDecodedResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := dataFrame(frame.OpBinary, true, true, "\x01\x02\x03")
		c, rest := halfFrame(t, flipDouble{}, f, 3)
		var to *TimeoutError
		if _, _, err := c.ReadMessage(shortCtx(t)); !errors.As(err, &to) {
			t.Fatalf("ReadMessage: %v, want a timeout", err)
		}
		rest()
		_, p, err := c.ReadMessage(context.Background())
		if err != nil || string(p) != "\x81\x81\x82\x82\x83\x83" {
			t.Fatalf("ReadMessage resumed: %q, %v", p, err)
		}
	})
}

// NextReader does not take over a message that ReadDataFrame began and
// stopped between fragments, at a context's end or fragment by fragment:
// it returns ErrMixedRead, and ReadDataFrame goes on with the message,
// nothing lost and its UTF-8 still checked from its first byte.
func TestNextReaderAfterDataFrameStopped(t *testing.T) {
	for _, deliver := range []bool{false, true} {
		t.Run(map[bool]string{false: "stopped", true: "DeliverFragments"}[deliver], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, peer := net.Pipe()
				c := New(client, &Config{DeliverFragments: deliver})
				go io.Copy(io.Discard, peer)
				defer func() { c.CloseNow(); peer.Close() }()
				go peer.Write(wireOf(t, dataFrame(frame.OpText, false, false, "ab\xc3")))
				first, err := c.ReadDataFrame(shortCtx(t), nil)
				if deliver {
					if err != nil || string(first.Payload) != "ab\xc3" {
						t.Fatalf("first fragment: %q, %v", first.Payload, err)
					}
				} else if !errors.As(err, new(*TimeoutError)) {
					t.Fatalf("ReadDataFrame = %v, want a timeout between fragments", err)
				}
				if _, _, err := c.NextReader(shortCtx(t)); !errors.Is(err, ErrMixedRead) {
					t.Fatalf("NextReader = %v, want ErrMixedRead", err)
				}
				go peer.Write(wireOf(t, dataFrame(frame.OpContinuation, true, false, "\xa9d")))
				got, err := c.ReadDataFrame(shortCtx(t), nil)
				want := "ab\xc3\xa9d"
				if deliver {
					want = "\xa9d"
				}
				if err != nil || string(got.Payload) != want {
					t.Errorf("ReadDataFrame went on with %q, %v; want %q", got.Payload, err, want)
				}
			})
		})
	}
}

// A message ReadFrame began between its fragments belongs to ReadFrame,
// and one a message call began belongs to that call: the other kind is
// refused with ErrMixedRead, the connection stays open and the message
// goes on with the call that began it (the calls of the other kind took
// the peer's next fragment for a protocol error and failed the
// connection with 1002). Close drops the rest of ReadFrame's message and
// completes the handshake.
func TestMixedReadBetweenFragments(t *testing.T) {
	first := dataFrame(frame.OpText, false, false, "a\xc3")
	last := dataFrame(frame.OpContinuation, true, false, "\xa9b")
	ping := dataFrame(frame.OpPing, true, false, "p")
	messageCalls := map[string]func(*Conn, context.Context) error{
		"ReadDataFrame": func(c *Conn, ctx context.Context) error { _, err := c.ReadDataFrame(ctx, nil); return err },
		"ReadMessage":   func(c *Conn, ctx context.Context) error { _, _, err := c.ReadMessage(ctx); return err },
		"ReadMessages": func(c *Conn, ctx context.Context) error {
			_, _, err := c.ReadMessages(ctx, make([]frame.Frame, 4), nil)
			return err
		},
		"NextReader": func(c *Conn, ctx context.Context) error { _, _, err := c.NextReader(ctx); return err },
	}
	pair := func(t *testing.T) (*Conn, net.Conn) {
		client, peer := net.Pipe()
		c := New(client, nil)
		go io.Copy(io.Discard, peer)
		t.Cleanup(func() { c.CloseNow(); peer.Close() })
		return c, peer
	}
	t.Run("ReadFrame first", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, peer := pair(t)
			go peer.Write(wireOf(t, first))
			if f, err := c.ReadFrame(shortCtx(t), nil); err != nil || f.Fin || string(f.Payload) != "a\xc3" {
				t.Fatalf("ReadFrame = %v, %v", f, err)
			}
			// A ReadFrame stopped before the next header leaves the
			// message ReadFrame's.
			if _, err := c.ReadFrame(shortCtx(t), nil); !errors.As(err, new(*TimeoutError)) {
				t.Fatalf("ReadFrame = %v, want a timeout", err)
			}
			go peer.Write(wireOf(t, ping, last, dataFrame(frame.OpText, true, false, "next")))
			for name, call := range messageCalls {
				if err := call(c, shortCtx(t)); !errors.Is(err, ErrMixedRead) {
					t.Fatalf("%s between ReadFrame's fragments = %v, want ErrMixedRead", name, err)
				}
			}
			for _, want := range []frame.Frame{ping, last} {
				if f, err := c.ReadFrame(shortCtx(t), nil); err != nil || f.Opcode != want.Opcode || string(f.Payload) != string(want.Payload) {
					t.Fatalf("ReadFrame went on with %v, %v; want %v", f, err, want)
				}
			}
			if _, p, err := c.ReadMessage(shortCtx(t)); err != nil || string(p) != "next" {
				t.Errorf("ReadMessage after the message = %q, %v", p, err)
			}
		})
	})
	t.Run("ReadDataFrame first", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, peer := pair(t)
			go peer.Write(wireOf(t, first))
			if _, err := c.ReadDataFrame(shortCtx(t), nil); !errors.As(err, new(*TimeoutError)) {
				t.Fatalf("ReadDataFrame = %v, want a timeout between fragments", err)
			}
			go peer.Write(wireOf(t, last))
			if _, err := c.ReadFrame(shortCtx(t), nil); !errors.Is(err, ErrMixedRead) {
				t.Fatalf("ReadFrame between ReadDataFrame's fragments = %v, want ErrMixedRead", err)
			}
			if f, err := c.ReadDataFrame(shortCtx(t), nil); err != nil || string(f.Payload) != "a\xc3\xa9b" {
				t.Errorf("ReadDataFrame went on with %q, %v", f.Payload, err)
			}
		})
	})
	t.Run("Close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			client, peer := net.Pipe()
			c := New(client, nil)
			defer func() { c.CloseNow(); peer.Close() }()
			go peer.Write(wireOf(t, first))
			if _, err := c.ReadFrame(shortCtx(t), nil); err != nil {
				t.Fatal(err)
			}
			go func() {
				io.ReadFull(peer, make([]byte, 2+4+2)) // our close frame
				peer.Write(wireOf(t, last, dataFrame(frame.OpClose, true, false, "\x03\xe8")))
				io.Copy(io.Discard, peer)
			}()
			if err := c.Close(shortCtx(t), 1000, ""); err != nil {
				t.Errorf("Close with the rest of ReadFrame's message to come = %v, want nil", err)
			}
		})
	})
}
