package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/leakcheck"
	"github.com/framewire/ws/proxy"
	"github.com/framewire/ws/status"
)

// The tests in this file and in client_dial_test.go drive framewire's
// client (package conn) against the servers and proxies of the bed.

// clientTimeout bounds every client test, dial and calls included.
const clientTimeout = 30 * time.Second

// bigLimit is the Dialer's frame and message limit where a test sends
// 16 MiB messages; the servers take up to 64 MiB.
const bigLimit = 64 << 20

// testContext returns a context that ends with the test or after
// clientTimeout.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), clientTimeout)
	t.Cleanup(cancel)
	return ctx
}

// checkGoroutines fails t if, once its cleanups have run, goroutines it
// started are still running. Call it first in a top-level test.
func checkGoroutines(t *testing.T) { leakcheck.Check(t) }

// clientDialer returns the URL of key's server and a Dialer that reaches
// it directly, ignoring proxy settings of the environment, and trusts the
// bed's CA for wss.
func clientDialer(t *testing.T, key string) (*conn.Dialer, string) {
	t.Helper()
	u := need(t, key)
	d := &conn.Dialer{Proxy: proxy.Direct}
	if strings.HasPrefix(u, "wss:") {
		d.TLSConfig = tlsConfig(t, "")
	}
	return d, u
}

// dialClient dials rawURL with d and closes the connection when the test
// ends.
func dialClient(t *testing.T, ctx context.Context, d *conn.Dialer, rawURL string) *conn.Conn {
	t.Helper()
	c, err := d.Dial(ctx, rawURL)
	if err != nil {
		t.Fatalf("Dial %s: %v", rawURL, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// closeNormally closes c with 1000 and expects the closing handshake to
// complete.
func closeNormally(t *testing.T, ctx context.Context, c *conn.Conn) {
	t.Helper()
	if err := c.Close(ctx, status.NormalClosure, ""); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// echoMessage sends p as a message of type op and expects it back.
func echoMessage(t *testing.T, ctx context.Context, c *conn.Conn, op frame.Opcode, p []byte) {
	t.Helper()
	if err := c.WriteMessage(ctx, op, p); err != nil {
		t.Fatalf("Send %v of %d bytes: %v", op, len(p), err)
	}
	df, err := c.ReadDataFrame(ctx, nil)
	gotOp, got := df.Opcode, df.Payload
	if err != nil {
		t.Fatalf("ReadDataFrame after sending %v of %d bytes: %v", op, len(p), err)
	}
	if gotOp != op || !bytes.Equal(got, p) {
		t.Fatalf("echo of %v of %d bytes: got %v of %d bytes (differ at %d)", op, len(p), gotOp, len(got), firstDiff(got, p))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// textPayload returns n bytes of UTF-8 text with two- and three-byte
// sequences throughout, padded with ASCII to exactly n bytes.
func textPayload(n int) []byte {
	const runes = "héllo wörld ✓ framewire "
	b := make([]byte, 0, n)
	for len(b) < n {
		for _, r := range runes {
			if len(b)+utf8.RuneLen(r) > n {
				break
			}
			b = utf8.AppendRune(b, r)
		}
		if len(b)+utf8.UTFMax > n {
			for len(b) < n {
				b = append(b, 'x')
			}
		}
	}
	return b
}

// binaryPayload returns n bytes that cover every byte value.
func binaryPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>8 + 7)
	}
	return b
}

func TestClientEcho(t *testing.T) {
	checkGoroutines(t)
	sizes := []struct {
		name string
		n    int
	}{
		{"0", 0},
		{"125", 125},     // longest 7-bit length
		{"126", 126},     // shortest 16-bit length
		{"65535", 65535}, // longest 16-bit length
		{"65536", 65536}, // shortest 64-bit length
		{"1MiB", 1 << 20},
		{"16MiB", 16 << 20},
	}
	for _, key := range echoServers {
		t.Run(key, func(t *testing.T) {
			ctx := testContext(t)
			d, u := clientDialer(t, key)
			d.Config.MaxFrameSize, d.Config.MaxMessageSize = bigLimit, bigLimit
			c := dialClient(t, ctx, d, u)
			if c.StatusCode() != 101 {
				t.Errorf("StatusCode() = %d, want 101", c.StatusCode())
			}
			for _, sz := range sizes {
				for _, op := range []frame.Opcode{frame.OpText, frame.OpBinary} {
					t.Run(op.String()+"/"+sz.name, func(t *testing.T) {
						if sz.n > 1<<20 && testing.Short() {
							t.Skip("-short: no 16 MiB echo")
						}
						p := binaryPayload(sz.n)
						if op == frame.OpText {
							p = textPayload(sz.n)
						}
						echoMessage(t, ctx, c, op, p)
					})
				}
			}
			if err := c.Close(ctx, status.NormalClosure, "done"); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

// TestClientDefaultLimits checks the default frame limit (16 MiB) on
// received frames: the Node.js server sends each message as one frame.
func TestClientDefaultLimits(t *testing.T) {
	checkGoroutines(t)
	ctx := testContext(t)
	d, u := clientDialer(t, KeyWS)
	c := dialClient(t, ctx, d, u)
	echoMessage(t, ctx, c, frame.OpBinary, binaryPayload(16<<20))

	// Sending is not limited; the 16 MiB + 1 echo is over the limit.
	if err := c.WriteMessage(ctx, frame.OpBinary, binaryPayload(16<<20+1)); err != nil {
		t.Fatal(err)
	}
	_, err := c.ReadDataFrame(ctx, nil)
	var fe *frame.Error
	if !errors.Is(err, frame.ErrTooBig) || !errors.As(err, &fe) || fe.Code != status.MessageTooBig {
		t.Fatalf("ReadDataFrame of a 16 MiB + 1 frame: %v, want frame.ErrTooBig with code 1009", err)
	}
	if _, err := c.ReadDataFrame(ctx, nil); !errors.Is(err, conn.ErrClosed) {
		t.Errorf("ReadDataFrame after the failure: %v, want ErrClosed", err)
	}
	if err := c.WriteMessage(ctx, frame.OpText, []byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteMessage after the failure: %v, want net.ErrClosed", err)
	}
}

// fragment returns a frame of a fragmented message.
func fragment(op frame.Opcode, fin bool, p []byte) frame.Frame {
	f := frame.New(op, p)
	f.Fin = fin
	return f
}

func TestClientFragmentedSend(t *testing.T) {
	checkGoroutines(t)
	big := binaryPayload(300 << 10)
	text := []byte("fragmented héllo ✓")
	cut := bytes.IndexRune(text, 'é') + 1 // inside the two bytes of é
	tests := []struct {
		name  string
		frags []frame.Frame
		ping  bool // a ping between the first two fragments (RFC 6455 §5.4)
		want  frame.Opcode
	}{
		{"text in three", []frame.Frame{
			fragment(frame.OpText, false, text[:4]),
			fragment(frame.OpContinuation, false, text[4:12]),
			fragment(frame.OpContinuation, true, text[12:]),
		}, false, frame.OpText},
		{"text cut inside a character", []frame.Frame{
			fragment(frame.OpText, false, text[:cut]),
			fragment(frame.OpContinuation, true, text[cut:]),
		}, false, frame.OpText},
		{"binary with an empty fragment and a ping", []frame.Frame{
			fragment(frame.OpBinary, false, big[:100<<10]),
			fragment(frame.OpContinuation, false, nil),
			fragment(frame.OpContinuation, false, big[100<<10:200<<10]),
			fragment(frame.OpContinuation, true, big[200<<10:]),
		}, true, frame.OpBinary},
		{"empty fragments", []frame.Frame{
			fragment(frame.OpText, false, nil),
			fragment(frame.OpContinuation, true, nil),
		}, false, frame.OpText},
	}
	for _, key := range echoServers {
		t.Run(key, func(t *testing.T) {
			ctx := testContext(t)
			d, u := clientDialer(t, key)
			c := dialClient(t, ctx, d, u)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var want []byte
					for i, f := range tt.frags {
						if err := c.WriteFrame(ctx, f); err != nil {
							t.Fatalf("WriteFrame %d: %v", i, err)
						}
						if i == 0 && tt.ping {
							if err := c.Ping(ctx, []byte("between")); err != nil {
								t.Fatal(err)
							}
						}
						want = append(want, f.Payload...)
					}
					df, err := c.ReadDataFrame(ctx, nil)
					op, got := df.Opcode, df.Payload
					if err != nil {
						t.Fatal(err)
					}
					if op != tt.want || !bytes.Equal(got, want) {
						t.Fatalf("got %v of %d bytes, want %v of %d bytes", op, len(got), tt.want, len(want))
					}
				})
			}
			closeNormally(t, ctx, c)
		})
	}
}

// nodeServers are the echo endpoints served by echo.mjs, directly or
// through nginx: they have /ping, /frag, the redirects and the statuses.
var nodeServers = []string{KeyWS, KeyWSDeflate, KeyNginx, KeyNginxTLS}

func TestClientReceiveFragments(t *testing.T) {
	checkGoroutines(t)
	msg := []byte("abcdefghi")
	want := []struct {
		fin bool
		op  frame.Opcode
		p   string
	}{{false, frame.OpText, "abc"}, {false, frame.OpContinuation, "def"}, {true, frame.OpContinuation, "ghi"}}
	for _, key := range nodeServers {
		t.Run(key, func(t *testing.T) {
			ctx := testContext(t)
			d, u := clientDialer(t, key)

			t.Run("joined", func(t *testing.T) {
				c := dialClient(t, ctx, d, u+"/frag")
				big := textPayload(1 << 20)
				for _, p := range [][]byte{msg, big} {
					if err := c.WriteMessage(ctx, frame.OpText, []byte(string(p))); err != nil {
						t.Fatal(err)
					}
					df, err := c.ReadDataFrame(ctx, nil)
					op, got := df.Opcode, df.Payload
					if err != nil || op != frame.OpText || !bytes.Equal(got, p) {
						t.Fatalf("ReadDataFrame: %v %d bytes %v, want text of %d bytes", op, len(got), err, len(p))
					}
				}
				closeNormally(t, ctx, c)
			})

			t.Run("DeliverFragments", func(t *testing.T) {
				d := *d
				d.Config.DeliverFragments = true
				c := dialClient(t, ctx, &d, u+"/frag")
				if err := c.WriteMessage(ctx, frame.OpText, []byte(string(msg))); err != nil {
					t.Fatal(err)
				}
				for i, w := range want {
					f, err := c.ReadDataFrame(ctx, nil)
					op := f.Opcode
					if err != nil {
						t.Fatalf("fragment %d: %v", i, err)
					}
					if op != w.op || f.Fin != w.fin || string(f.Payload) != w.p {
						t.Errorf("fragment %d: %v fin=%v %q, want %v fin=%v %q", i, op, f.Fin, f.Payload, w.op, w.fin, w.p)
					}
				}
				closeNormally(t, ctx, c)
			})

			t.Run("ReadFrame", func(t *testing.T) {
				c := dialClient(t, ctx, d, u+"/frag")
				if err := c.WriteMessage(ctx, frame.OpText, []byte(string(msg))); err != nil {
					t.Fatal(err)
				}
				for i, w := range want {
					f, err := c.ReadFrame(ctx, nil)
					if err != nil {
						t.Fatalf("frame %d: %v", i, err)
					}
					if f.Opcode != w.op || f.Fin != w.fin || string(f.Payload) != w.p {
						t.Errorf("frame %d: %v fin=%v %q, want %v fin=%v %q", i, f.Opcode, f.Fin, f.Payload, w.op, w.fin, w.p)
					}
				}
				closeNormally(t, ctx, c)
			})
		})
	}
}

func TestClientPing(t *testing.T) {
	checkGoroutines(t)
	payloads := [][]byte{nil, []byte("framewire ping"), binaryPayload(frame.MaxControlPayload)}
	for _, key := range echoServers {
		t.Run(key, func(t *testing.T) {
			ctx := testContext(t)
			d, u := clientDialer(t, key)
			d.Config.ControlFrames = true
			c := dialClient(t, ctx, d, u)
			for _, p := range payloads {
				if err := c.Ping(ctx, p); err != nil {
					t.Fatalf("Ping %d bytes: %v", len(p), err)
				}
				f, err := c.ReadDataFrame(ctx, nil)
				op := f.Opcode
				if err != nil {
					t.Fatal(err)
				}
				if op != frame.OpPong || !bytes.Equal(f.Payload, p) {
					t.Errorf("after a ping of %d bytes: %v %q, want a pong with the same payload", len(p), op, f.Payload)
				}
			}
			// An unsolicited pong is ignored by the server (RFC 6455 §5.5.3).
			if err := c.WriteFrame(ctx, frame.New(frame.OpPong, []byte("unsolicited"))); err != nil {
				t.Fatal(err)
			}
			echoMessage(t, ctx, c, frame.OpText, []byte("after the pong"))
			if err := c.Ping(ctx, binaryPayload(frame.MaxControlPayload+1)); err == nil {
				t.Error("Ping of 126 bytes: no error")
			}
			echoMessage(t, ctx, c, frame.OpBinary, []byte("still usable"))
			closeNormally(t, ctx, c)
		})
	}
}

// TestClientPingPath checks the answer to a server's ping: the server
// sends "pong:" + the payload of the pong it got.
func TestClientPingPath(t *testing.T) {
	checkGoroutines(t)
	for _, key := range nodeServers {
		t.Run(key, func(t *testing.T) {
			ctx := testContext(t)
			d, u := clientDialer(t, key)

			t.Run("answered", func(t *testing.T) {
				c := dialClient(t, ctx, d, u+"/ping")
				_, got, err := c.ReadMessage(ctx)
				if err != nil || string(got) != "pong:framewire" {
					t.Fatalf("ReadMessage = %q, %v; want pong:framewire", got, err)
				}
				echoMessage(t, ctx, c, frame.OpText, []byte("after ping"))
				closeNormally(t, ctx, c)
			})

			t.Run("ControlFrames", func(t *testing.T) {
				d := *d
				d.Config.ControlFrames = true
				c := dialClient(t, ctx, &d, u+"/ping")
				f, err := c.ReadDataFrame(ctx, nil)
				op := f.Opcode
				if err != nil || op != frame.OpPing || string(f.Payload) != "framewire" {
					t.Fatalf("ReadDataFrame = %v %q, %v; want ping \"framewire\"", op, f.Payload, err)
				}
				f, err = c.ReadDataFrame(ctx, nil)
				op = f.Opcode
				if err != nil || op != frame.OpText || string(f.Payload) != "pong:framewire" {
					t.Fatalf("ReadDataFrame = %v %q, %v; want text \"pong:framewire\"", op, f.Payload, err)
				}
				closeNormally(t, ctx, c)
			})
		})
	}
}

// checkClosed checks that every call on c fails once the connection is
// closed: receiving calls with an error matching want and net.ErrClosed,
// sends with ErrClosed.
func checkClosed(t *testing.T, ctx context.Context, c *conn.Conn, want error) {
	t.Helper()
	if _, _, err := c.ReadMessage(ctx); !errors.Is(err, want) || !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadMessage after the close: %v, want %v and net.ErrClosed", err, want)
	}
	if err := c.WriteMessage(ctx, frame.OpText, []byte("late")); !errors.Is(err, conn.ErrClosed) || !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteMessage after the close: %v, want ErrClosed", err)
	}
	if err := c.Ping(ctx, nil); !errors.Is(err, conn.ErrClosed) {
		t.Errorf("Ping after the close: %v, want ErrClosed", err)
	}
	if err := c.Close(ctx, status.NormalClosure, ""); !errors.Is(err, conn.ErrClosed) {
		t.Errorf("Close after the close: %v, want ErrClosed", err)
	}
}

func TestClientClose(t *testing.T) {
	checkGoroutines(t)
	for _, key := range echoServers {
		t.Run(key, func(t *testing.T) {
			ctx := testContext(t)
			d, u := clientDialer(t, key)

			t.Run("Close", func(t *testing.T) {
				c := dialClient(t, ctx, d, u)
				echoMessage(t, ctx, c, frame.OpText, []byte("before close"))
				if err := c.Close(ctx, 4001, "bye"); err != nil {
					t.Fatalf("Close(4001, bye): %v, want nil (the server answered)", err)
				}
				// Calls after Close report ErrClosed; receiving calls wrap
				// the server's answer too.
				var ce *status.CloseError
				if _, _, err := c.ReadMessage(ctx); !errors.As(err, &ce) {
					t.Errorf("ReadMessage after Close: %v, want the server's answer as a *status.CloseError", err)
				}
				checkClosed(t, ctx, c, conn.ErrClosed)
			})

			t.Run("Close without a code", func(t *testing.T) {
				c := dialClient(t, ctx, d, u)
				if err := c.Close(ctx, status.NoStatusReceived, ""); err != nil {
					t.Fatalf("Close(1005): %v, want nil", err)
				}
			})

			t.Run("Close refused", func(t *testing.T) {
				c := dialClient(t, ctx, d, u)
				if err := c.Close(ctx, 1004, ""); !errors.Is(err, status.ErrInvalidCode) {
					t.Errorf("Close(1004): %v, want status.ErrInvalidCode", err)
				}
				if err := c.Close(ctx, 4000, strings.Repeat("r", status.MaxReasonLen+1)); !errors.Is(err, status.ErrReasonTooLong) {
					t.Errorf("Close with a 124-byte reason: %v, want status.ErrReasonTooLong", err)
				}
				echoMessage(t, ctx, c, frame.OpText, []byte("nothing was sent"))
				if err := c.Close(ctx, status.GoingAway, strings.Repeat("r", status.MaxReasonLen)); err != nil {
					t.Errorf("Close with a 123-byte reason: %v", err)
				}
			})

			t.Run("server answer", func(t *testing.T) {
				c := dialClient(t, ctx, d, u)
				p, err := status.AppendClose(nil, 4001, "bye")
				if err != nil {
					t.Fatal(err)
				}
				if err := c.WriteFrame(ctx, frame.New(frame.OpClose, p)); err != nil {
					t.Fatal(err)
				}
				if err := c.WriteMessage(ctx, frame.OpText, []byte("after close")); !errors.Is(err, conn.ErrClosed) {
					t.Errorf("WriteMessage after sending a close frame: %v, want ErrClosed", err)
				}
				f, err := c.ReadDataFrame(ctx, nil)
				op := f.Opcode
				if err != nil || op != frame.OpClose {
					t.Fatalf("ReadDataFrame = %v, %v; want the server's close frame", op, err)
				}
				// RFC 6455 §5.5.1: the answer typically echoes the code;
				// Autobahn answers 1000 whatever the code.
				want := status.Code(4001)
				if key == KeyAutobahn || key == KeyAutobahnNCT {
					want = status.NormalClosure
				}
				code, _, err := status.ParseClose(f.Payload)
				if err != nil || code != want {
					t.Errorf("server answered close %v, %v; want %v", code, err, want)
				}
				var ce *status.CloseError
				if _, _, err := c.ReadMessage(ctx); !errors.As(err, &ce) || ce.Code != want || !errors.Is(err, conn.ErrClosed) {
					t.Errorf("ReadMessage after the close: %v, want ErrClosed wrapping *status.CloseError %v", err, want)
				}
			})

			for _, tt := range []struct {
				code   status.Code
				reason string
			}{{4002, "x"}, {4003, "au revoir ✓"}, {status.NormalClosure, ""}} { // Autobahn sends only 1000 and 3000-4999
				path := fmt.Sprintf("/close?code=%d&reason=%s", tt.code, urlQueryEscape(tt.reason))
				t.Run("server close "+fmt.Sprint(int(tt.code)), func(t *testing.T) {
					c := dialClient(t, ctx, d, u+path)
					f, err := c.ReadDataFrame(ctx, nil)
					op := f.Opcode
					if err != nil || op != frame.OpClose {
						t.Fatalf("ReadDataFrame = %v, %v; want the close frame", op, err)
					}
					code, reason, err := status.ParseClose(f.Payload)
					if err != nil || code != tt.code || reason != tt.reason {
						t.Errorf("close frame %v %q, %v; want %v %q", code, reason, err, tt.code, tt.reason)
					}
					var ce *status.CloseError
					_, err = c.ReadDataFrame(ctx, nil)
					if !errors.As(err, &ce) || ce.Code != tt.code || ce.Reason != tt.reason {
						t.Errorf("ReadDataFrame after the close: %v, want *status.CloseError %v %q", err, tt.code, tt.reason)
					}
					checkClosed(t, ctx, c, ce)
				})
			}

			t.Run("server close through ReadMessage", func(t *testing.T) {
				c := dialClient(t, ctx, d, u+"/close?code=4002&reason=x")
				var ce *status.CloseError
				if _, _, err := c.ReadMessage(ctx); !errors.As(err, &ce) || ce.Code != 4002 || ce.Reason != "x" {
					t.Fatalf("ReadMessage: %v, want *status.CloseError 4002 \"x\"", err)
				}
			})
		})
	}
}

// urlQueryEscape escapes s for a query value (net/url's QueryEscape, but
// with %20 for spaces, which every server of the bed decodes).
func urlQueryEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func TestClientReadTimeout(t *testing.T) {
	checkGoroutines(t)
	for _, key := range echoServers {
		t.Run(key, func(t *testing.T) {
			ctx := testContext(t)
			d, u := clientDialer(t, key)
			c := dialClient(t, ctx, d, u)
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			_, err := c.ReadDataFrame(short, nil)
			cancel()
			var te *conn.TimeoutError
			if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("ReadDataFrame on an idle connection: %v, want a *conn.TimeoutError", err)
			}
			// The stopped read leaves the connection usable.
			echoMessage(t, ctx, c, frame.OpText, []byte("after the timeout"))
			closeNormally(t, ctx, c)
		})
	}
}

// TestClientAbort checks that CloseNow and CloseNow unblock a blocked reader.
func TestClientAbort(t *testing.T) {
	checkGoroutines(t)
	for _, key := range echoServers {
		for _, stop := range []string{"CloseNow", "CloseNow"} {
			t.Run(key+"/"+stop, func(t *testing.T) {
				ctx := testContext(t)
				d, u := clientDialer(t, key)
				c := dialClient(t, ctx, d, u)
				echoMessage(t, ctx, c, frame.OpText, []byte("ready"))
				done := make(chan error, 1)
				go func() {
					_, _, err := c.ReadMessage(ctx)
					done <- err
				}()
				var err error
				if stop == "CloseNow" {
					err = c.CloseNow()
				} else {
					err = c.CloseNow()
				}
				if err != nil {
					t.Fatalf("%s: %v", stop, err)
				}
				if err := <-done; !errors.Is(err, net.ErrClosed) {
					t.Errorf("blocked ReadMessage returned %v, want net.ErrClosed", err)
				}
				if err := c.WriteMessage(ctx, frame.OpText, []byte("late")); !errors.Is(err, conn.ErrClosed) {
					t.Errorf("WriteMessage after %s: %v, want ErrClosed", stop, err)
				}
			})
		}
	}
}

// TestClientConcurrentSend sends from several goroutines while one
// receives: every message must come back whole.
func TestClientConcurrentSend(t *testing.T) {
	checkGoroutines(t)
	const writers, each = 4, 50
	for _, key := range echoServers {
		t.Run(key, func(t *testing.T) {
			ctx := testContext(t)
			d, u := clientDialer(t, key)
			c := dialClient(t, ctx, d, u)
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						// Sizes around the length encodings' limits.
						p := fmt.Appendf(nil, "w%d-%d-", w, i)
						p = append(p, textPayload([]int{0, 120, 65530, 70000}[i%4])...)
						if err := c.WriteMessage(ctx, frame.OpText, p); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			seen := map[string]bool{}
			for range writers * each {
				_, got, err := c.ReadMessage(ctx)
				if err != nil {
					t.Fatalf("ReadMessage after %d messages: %v", len(seen), err)
				}
				var w, i int
				if _, err := fmt.Sscanf(string(got), "w%d-%d-", &w, &i); err != nil {
					t.Fatalf("message %.20q: %v", got, err)
				}
				id := fmt.Sprintf("w%d-%d-", w, i)
				if want := append([]byte(id), textPayload([]int{0, 120, 65530, 70000}[i%4])...); !bytes.Equal(got, want) {
					t.Fatalf("message %s came back altered (%d bytes, want %d)", id, len(got), len(want))
				}
				if seen[id] {
					t.Fatalf("message %s twice", id)
				}
				seen[id] = true
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("Send: %v", err)
			}
			closeNormally(t, ctx, c)
		})
	}
}
