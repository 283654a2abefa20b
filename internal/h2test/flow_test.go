package h2test_test

import (
	"bytes"
	"errors"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/framewire/ws/internal/h2test"
)

// scripted is an HTTP/2 client written frame by frame over a net.Pipe to a
// FrameServer, inside a synctest bubble. It keeps its own account of the
// windows it granted and fails the test on DATA beyond them or beyond its
// SETTINGS_MAX_FRAME_SIZE.
type scripted struct {
	t     *testing.T
	nc    net.Conn
	fr    *http2.Framer
	block bytes.Buffer
	enc   *hpack.Encoder
	done  chan struct{} // closed when ServeConn returned

	initWindow int64
	window     int64            // the connection's window left
	windows    map[uint32]int64 // each open stream's window left
	maxFrame   int
	largest    int               // the largest DATA payload seen
	data       map[uint32][]byte // DATA received per stream
	ended      map[uint32]bool   // END_STREAM received
}

// dialScripted starts a FrameServer running h on a pipe and sends the
// preface and SETTINGS s.
func dialScripted(t *testing.T, h func(*h2test.Stream), s ...http2.Setting) *scripted {
	client, server := net.Pipe()
	c := &scripted{
		t: t, nc: client, fr: http2.NewFramer(client, client), done: make(chan struct{}),
		initWindow: 65535, window: 65535, maxFrame: 16 << 10,
		windows: map[uint32]int64{}, data: map[uint32][]byte{}, ended: map[uint32]bool{},
	}
	c.enc = hpack.NewEncoder(&c.block)
	go func() {
		(&h2test.FrameServer{Handler: h}).ServeConn(server)
		close(c.done)
	}()
	t.Cleanup(func() {
		client.Close()
		<-c.done
	})
	if _, err := client.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	c.settings(s...)
	return c
}

func (c *scripted) check(err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
}

// settings sends SETTINGS and applies them to the account.
func (c *scripted) settings(s ...http2.Setting) {
	c.t.Helper()
	c.check(c.fr.WriteSettings(s...))
	for _, s := range s {
		switch s.ID {
		case http2.SettingInitialWindowSize:
			for id := range c.windows {
				c.windows[id] += int64(s.Val) - c.initWindow
			}
			c.initWindow = int64(s.Val)
		case http2.SettingMaxFrameSize:
			c.maxFrame = int(s.Val)
		}
	}
}

// open opens stream id with a request for path.
func (c *scripted) open(id uint32, path string) {
	c.t.Helper()
	c.block.Reset()
	for _, f := range []hpack.HeaderField{
		{Name: ":method", Value: "CONNECT"}, {Name: ":protocol", Value: "websocket"},
		{Name: ":scheme", Value: "http"}, {Name: ":path", Value: path}, {Name: ":authority", Value: "h2.test"},
	} {
		c.enc.WriteField(f)
	}
	c.windows[id] = c.initWindow
	c.check(c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.block.Bytes(), EndHeaders: true}))
}

// grant sends WINDOW_UPDATE for stream id (0: the connection).
func (c *scripted) grant(id uint32, inc uint32) {
	c.t.Helper()
	c.check(c.fr.WriteWindowUpdate(id, inc))
	if id == 0 {
		c.window += int64(inc)
	} else {
		c.windows[id] += int64(inc)
	}
}

// next reads a frame, counting DATA against the account.
func (c *scripted) next() (http2.Frame, error) {
	c.t.Helper()
	f, err := c.fr.ReadFrame()
	if d, ok := f.(*http2.DataFrame); ok {
		n := len(d.Data())
		c.window -= int64(n)
		c.windows[d.StreamID] -= int64(n)
		if c.window < 0 || c.windows[d.StreamID] < 0 {
			c.t.Fatalf("DATA of %d bytes on stream %d beyond the window: connection %d, stream %d left",
				n, d.StreamID, c.window, c.windows[d.StreamID])
		}
		if n > c.maxFrame {
			c.t.Fatalf("DATA of %d bytes, SETTINGS_MAX_FRAME_SIZE is %d", n, c.maxFrame)
		}
		c.largest = max(c.largest, n)
		c.data[d.StreamID] = append(c.data[d.StreamID], d.Data()...)
		c.ended[d.StreamID] = d.StreamEnded()
	}
	return f, err
}

// expect reads frames until stream id has n more bytes of DATA.
func (c *scripted) expect(id uint32, n int) {
	c.t.Helper()
	want := len(c.data[id]) + n
	for len(c.data[id]) < want {
		_, err := c.next()
		c.check(err)
	}
	if len(c.data[id]) != want {
		c.t.Fatalf("stream %d: %d bytes of DATA, want %d", id, len(c.data[id]), want)
	}
}

// quiet checks that the server sends no DATA for a second.
func (c *scripted) quiet() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(time.Second))
	defer c.nc.SetReadDeadline(time.Time{})
	for {
		f, err := c.next()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
		c.check(err)
		if _, ok := f.(*http2.DataFrame); ok {
			c.t.Fatalf("DATA on stream %d, want none", f.Header().StreamID)
		}
	}
}

// A FrameServer sends no more than the client's windows and frame size
// allow, and goes on when the client grants more: WINDOW_UPDATE for the
// stream and the connection, and a SETTINGS_INITIAL_WINDOW_SIZE that moves
// an open stream's window up, down and below zero.
func TestFrameServerFlowControl(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		msg := make([]byte, 70000)
		for i := range msg {
			msg[i] = byte(i * 7)
		}
		type result struct {
			n   int
			err error
		}
		wrote := make(chan result, 1)
		c := dialScripted(t, func(st *h2test.Stream) {
			st.Respond(200)
			n, err := st.Write(msg)
			wrote <- result{n, err}
			st.End()
		}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
		c.open(1, "/")
		c.expect(1, 100)
		c.quiet()

		c.grant(1, 50)
		c.expect(1, 50)
		c.quiet()

		c.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 300}) // the stream's window: 0 + 200
		c.expect(1, 200)
		c.quiet()

		c.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}) // -300
		c.grant(1, 300)                                                       // 0
		c.quiet()

		// The connection's window, 65,535 less the 350 bytes sent, is what
		// holds the server now.
		c.settings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 20000})
		c.grant(1, 100000)
		c.expect(1, 65535-350)
		c.quiet()
		if c.largest <= 16<<10 {
			t.Errorf("largest DATA %d bytes, want more than 16 KiB after SETTINGS_MAX_FRAME_SIZE 20000", c.largest)
		}

		c.grant(0, 10000)
		c.expect(1, len(msg)-65535)
		for !c.ended[1] {
			_, err := c.next()
			c.check(err)
		}
		if r := within(t, wrote); r.n != len(msg) || r.err != nil {
			t.Errorf("Write = %d, %v; want %d, nil", r.n, r.err, len(msg))
		}
		if !bytes.Equal(c.data[1], msg) {
			t.Error("the DATA received differs from what the handler wrote")
		}
	})
}

// A Write waiting for window ends at its write deadline, at the client's
// RST_STREAM and at the connection's end, each with the bytes sent before
// and its error.
func TestFrameServerWriteWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type result struct {
			n    int
			err  error
			took time.Duration
		}
		wrote := make(chan result, 1)
		c := dialScripted(t, func(st *h2test.Stream) {
			if st.Get(":path") == "/deadline" {
				st.SetWriteDeadline(time.Now().Add(2 * time.Second))
			}
			start := time.Now()
			n, err := st.Write(make([]byte, 200))
			wrote <- result{n, err, time.Since(start)}
		}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})

		c.open(1, "/deadline")
		c.expect(1, 100)
		if r := within(t, wrote); r.n != 100 || !errors.Is(r.err, os.ErrDeadlineExceeded) || r.took != 2*time.Second {
			t.Errorf("Write with a deadline = %d, %v after %v; want 100, os.ErrDeadlineExceeded after 2s", r.n, r.err, r.took)
		}

		c.open(3, "/reset")
		c.expect(3, 100)
		synctest.Wait()
		c.check(c.fr.WriteRSTStream(3, http2.ErrCodeCancel))
		var se http2.StreamError
		if r := within(t, wrote); r.n != 100 || !errors.As(r.err, &se) || se.Code != http2.ErrCodeCancel {
			t.Errorf("Write on a stream the client reset = %d, %v; want 100, RST_STREAM CANCEL", r.n, r.err)
		}

		c.open(5, "/close")
		c.expect(5, 100)
		synctest.Wait()
		c.nc.Close()
		if r := within(t, wrote); r.n != 100 || !errors.Is(r.err, net.ErrClosed) {
			t.Errorf("Write on a connection that ended = %d, %v; want 100, net.ErrClosed", r.n, r.err)
		}
	})
}

// A window the client pushes above 2^31-1 is a FLOW_CONTROL_ERROR (RFC
// 9113 §6.9.1, §6.9.2): the connection's, or any stream's through
// SETTINGS_INITIAL_WINDOW_SIZE, fails the connection with GOAWAY; one
// stream's resets that stream. A SETTINGS_MAX_FRAME_SIZE out of its range
// is a PROTOCOL_ERROR (§6.5.2).
func TestFrameServerFlowControlErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		open   bool // stream 1, whose handler reads
		script func(*scripted)
		stream bool // RST_STREAM on stream 1, not GOAWAY
		code   http2.ErrCode
	}{
		{"connection window", true, func(c *scripted) { c.grant(0, 1<<31-1) }, false, http2.ErrCodeFlowControl},
		{"stream window", true, func(c *scripted) { c.grant(1, 1<<31-1) }, true, http2.ErrCodeFlowControl},
		{"initial window", true, func(c *scripted) {
			c.grant(1, 1<<31-1-65535) // the largest window, not beyond
			c.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 65536})
		}, false, http2.ErrCodeFlowControl},
		{"initial window too large", false, func(c *scripted) {
			c.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
		}, false, http2.ErrCodeFlowControl},
		{"frame size too small", false, func(c *scripted) {
			c.settings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 16<<10 - 1})
		}, false, http2.ErrCodeProtocol},
		{"frame size too large", false, func(c *scripted) {
			c.settings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 24})
		}, false, http2.ErrCodeProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				read := make(chan error, 1)
				c := dialScripted(t, func(st *h2test.Stream) {
					_, err := st.Read(make([]byte, 1))
					read <- err
				})
				if tc.open {
					c.open(1, "/")
				} else {
					read <- net.ErrClosed
				}
				tc.script(c)
				c.nc.SetReadDeadline(time.Now().Add(time.Minute))
				for {
					f, err := c.next()
					c.check(err)
					switch f := f.(type) {
					case *http2.RSTStreamFrame:
						if !tc.stream || f.StreamID != 1 || f.ErrCode != tc.code {
							t.Fatalf("RST_STREAM %d %v", f.StreamID, f.ErrCode)
						}
						var se http2.StreamError
						if err := within(t, read); !errors.As(err, &se) || se.Code != tc.code {
							t.Errorf("the handler's Read = %v, want a StreamError %v", err, tc.code)
						}
						return
					case *http2.GoAwayFrame:
						if tc.stream || f.ErrCode != tc.code {
							t.Fatalf("GOAWAY %v", f.ErrCode)
						}
						if err := within(t, read); !errors.Is(err, net.ErrClosed) {
							t.Errorf("the handler's Read = %v, want net.ErrClosed", err)
						}
						return
					}
				}
			})
		})
	}
}

// within receives from ch, failing the test after a minute without.
func within[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatal("no result after a minute")
	}
	var zero T
	return zero
}
