package conn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/h2test"
	"github.com/framewire/ws/status"
)

// Quirks of real RFC 8441 servers, reproduced frame by frame by
// h2test.FrameServer over in-memory connections, each test in a synctest
// bubble. The client must stay strict and correct over each.

// framesDialer returns a Dialer for HTTP2Only whose every connection is a
// net.Pipe served by an h2test.FrameServer running h; the server's ends
// are closed when the test ends.
func framesDialer(t *testing.T, h func(*h2test.Stream)) *conn.Dialer {
	s := &h2test.FrameServer{Handler: h}
	p := &h2test.Pipes{Serve: s.ServeConn}
	t.Cleanup(p.Close)
	return noProxy(&conn.Dialer{HTTP2: conn.HTTP2Only, NetDial: p.Dial})
}

// backendAccept is the Sec-WebSocket-Accept an HTTP/1.1 backend sends
// for the RFC 6455 §1.3 example key, which HAProxy passes through in its
// 200 answer to an extended CONNECT.
const backendAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

// haproxyAccept answers st as HAProxy 2.6 in front of an HTTP/1.1
// WebSocket backend does: 200 with the backend's sec-websocket-accept,
// then a server Conn over the stream.
func haproxyAccept(t *testing.T, st *h2test.Stream) *conn.Conn {
	if st.Get(":method") != "CONNECT" || st.Get(":protocol") != "websocket" {
		t.Errorf("request %v, want an extended CONNECT", st.Header)
	}
	if err := st.Respond(200, hpack.HeaderField{Name: "sec-websocket-accept", Value: backendAccept}); err != nil {
		t.Error(err)
	}
	return conn.New(st, &conn.Config{Role: conn.RoleServer})
}

// HAProxy answers the client's close frame, then ends its side of the
// stream with END_STREAM and resets it with RST_STREAM CANCEL at once.
// The client's Close returns nil without waiting for its grace period, the
// server sees the client's close code, and the passed-through
// sec-websocket-accept is an ordinary header of the answer.
func TestHTTP2HAProxyClientCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seen := make(chan error, 1)
		d := framesDialer(t, func(st *h2test.Stream) {
			c := haproxyAccept(t, st)
			h2test.EchoLoop(c) // ends once it answered the close
			_, _, err := c.ReadMessage(context.Background())
			seen <- err
			st.End()
			st.Reset(http2.ErrCodeCancel)
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := dial(t, d, "ws://h2.test/")
		if got := c.Header().Get("Sec-WebSocket-Accept"); got != backendAccept || c.StatusCode() != 200 || c.Proto() != "HTTP/2.0" {
			t.Errorf("answer %d over %s with sec-websocket-accept %q, want 200 over HTTP/2.0 with %q", c.StatusCode(), c.Proto(), got, backendAccept)
		}
		echoed(t, ctx, c, "through the proxy")
		start := time.Now()
		if err := c.Close(ctx, status.NormalClosure, "done"); err != nil {
			t.Errorf("Close = %v, want nil", err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("Close took %v, want no wait: the server ended its side", took)
		}
		var ce *status.CloseError
		if err := recv(t, seen); !errors.As(err, &ce) || ce.Code != status.NormalClosure || ce.Reason != "done" {
			t.Errorf("the server saw %v, want the client's close 1000 \"done\"", err)
		}
		if _, _, err := c.ReadMessage(ctx); !errors.Is(err, conn.ErrClosed) {
			t.Errorf("ReadMessage after Close = %v, want ErrClosed", err)
		}
	})
}

// When the backend closes, HAProxy forwards its close frame, then
// END_STREAM and RST_STREAM CANCEL in the same breath, before the client
// could answer: the client reports the server's close code, not a lost
// connection.
func TestHTTP2HAProxyServerCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := framesDialer(t, func(st *h2test.Stream) {
			haproxyAccept(t, st)
			var b []byte
			b, _ = frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}, Payload: []byte("\x03\xe9backend")}.AppendBinary(b)
			st.Write(b)
			st.End()
			st.Reset(http2.ErrCodeCancel)
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := dial(t, d, "ws://h2.test/")
		synctest.Wait() // the reset has arrived
		_, _, err := c.ReadMessage(ctx)
		var ce *status.CloseError
		if !errors.As(err, &ce) || ce.Code != status.GoingAway || ce.Reason != "backend" {
			t.Errorf("ReadMessage = %v, want the server's close 1001 \"backend\"", err)
		}
		if errors.Is(err, conn.ErrConnectionLost) {
			t.Errorf("ReadMessage = %v: a reset after END_STREAM is not a lost connection", err)
		}
	})
}

// RST_STREAM in the middle of a message, whatever its code, is a lost
// connection (1006, ErrConnectionLost); the messages that arrived whole
// before it are all delivered first, even when the reset was processed
// before the application read them.
func TestHTTP2ResetMidMessageKeepsReceived(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 40<<10/16) // over two DATA frames
	for _, code := range []http2.ErrCode{http2.ErrCodeCancel, http2.ErrCodeInternal, http2.ErrCodeNo} {
		t.Run(code.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := framesDialer(t, func(st *h2test.Stream) {
					st.Respond(200)
					var b []byte
					for _, p := range [][]byte{[]byte("one"), big, []byte("three")} {
						b, _ = frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpBinary}, Payload: p}.AppendBinary(b)
					}
					b = append(b, 0x82, 10, 'h', 'a', 'l', 'f') // 4 of 10 payload bytes
					st.Write(b)
					st.Reset(code)
				})
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				c := dial(t, d, "ws://h2.test/")
				synctest.Wait() // everything, the reset included, has arrived
				for _, want := range [][]byte{[]byte("one"), big, []byte("three")} {
					if _, p, err := c.ReadMessage(ctx); err != nil || !bytes.Equal(p, want) {
						t.Fatalf("ReadMessage = %d bytes %.10q, %v; want the %d bytes %.10q sent before the reset", len(p), p, err, len(want), want)
					}
				}
				_, _, err := c.ReadMessage(ctx)
				var ce *status.CloseError
				if !errors.Is(err, conn.ErrConnectionLost) || !errors.As(err, &ce) || ce.Code != status.AbnormalClosure {
					t.Errorf("ReadMessage = %v, want ErrConnectionLost with 1006", err)
				}
				if err := c.WriteMessage(ctx, frame.OpText, []byte("x")); !errors.Is(err, conn.ErrClosed) {
					t.Errorf("WriteMessage after the reset = %v, want ErrClosed", err)
				}
				if err := c.Close(ctx, status.NormalClosure, ""); !errors.Is(err, conn.ErrClosed) {
					t.Errorf("Close after the reset = %v, want ErrClosed", err)
				}
			})
		})
	}
}

// HTTP/2 has no 101 (RFC 9113 §8.6): a 101 answer to the extended CONNECT
// is a refusal at once, not an informational answer to wait past.
func TestHTTP2Answer101(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := framesDialer(t, func(st *h2test.Stream) {
			st.Respond(101, hpack.HeaderField{Name: "upgrade", Value: "websocket"})
		})
		start := time.Now()
		_, err := d.Dial(context.Background(), "ws://h2.test/")
		var se *handshake.StatusError
		if !errors.As(err, &se) || se.StatusCode != 101 || !errors.Is(err, handshake.ErrBadStatus) {
			t.Errorf("Dial = %v, want a *StatusError 101 matching ErrBadStatus", err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("Dial failed after %v, want at once", took)
		}
	})
}

// A frame larger than the client's SETTINGS_MAX_FRAME_SIZE (16 KiB, RFC
// 9113's initial value, which it leaves alone) is a FRAME_SIZE_ERROR that
// ends the connection (RFC 9113 §4.2): the message it carries is not
// delivered, and the client never reads or buffers such a frame.
func TestHTTP2FrameTooLarge(t *testing.T) {
	for _, tt := range []struct {
		name  string
		write func(fr *http2.Framer, id uint32) error
	}{
		{"DATA of 20 KiB", func(fr *http2.Framer, id uint32) error {
			// A binary message of 20 KiB - 4 bytes, whole in the frame.
			msg := append([]byte{0x82, 0x7e, 0x4f, 0xfc}, make([]byte, 20<<10-4)...)
			return fr.WriteData(id, false, msg)
		}},
		{"an unknown frame of 1 MiB", func(fr *http2.Framer, id uint32) error {
			return fr.WriteRawFrame(0xfa, 0, 0, make([]byte, 1<<20))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := framesDialer(t, func(st *h2test.Stream) {
					st.Respond(200)
					st.WriteFrame(tt.write)
				})
				c := dial(t, d, "ws://h2.test/")
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				op, p, err := c.ReadMessage(ctx)
				if err == nil || !errors.Is(err, conn.ErrConnectionLost) {
					t.Errorf("ReadMessage = %v, %d bytes, %v; want the connection lost", op, len(p), err)
				}
			})
		})
	}
}

// A server that answers the HTTP/2 preface in HTTP/1.1 is no HTTP/2
// server: the dial says so, with ErrHTTP2Unavailable.
func TestHTTP2AnsweredInHTTP1(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &h2test.Pipes{Serve: func(nc net.Conn) {
			defer nc.Close()
			go io.Copy(io.Discard, nc)
			nc.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"))
		}}
		defer p.Close()
		d := noProxy(&conn.Dialer{HTTP2: conn.HTTP2Only, NetDial: p.Dial})
		_, err := d.Dial(context.Background(), "ws://h2.test/")
		if !errors.Is(err, conn.ErrHTTP2Unavailable) || !strings.Contains(err.Error(), "HTTP/1") {
			t.Errorf("Dial = %v, want ErrHTTP2Unavailable naming HTTP/1", err)
		}
	})
}
