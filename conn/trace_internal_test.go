package conn

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/mask"
)

// handlerFunc is a slog.Handler at debug level that calls itself per record.
type handlerFunc func(slog.Record)

func (h handlerFunc) Enabled(context.Context, slog.Level) bool      { return true }
func (h handlerFunc) Handle(_ context.Context, r slog.Record) error { h(r); return nil }
func (h handlerFunc) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h handlerFunc) WithGroup(string) slog.Handler                 { return h }

// The rsv attribute is the three RSV bits as a number, RSV1 the high bit,
// as they sit in the first byte; the text shows the frame's wire bytes.
func TestTraceRSV(t *testing.T) {
	var rsv []int64
	var text bytes.Buffer
	tr := newTracer(&text, slog.New(handlerFunc(func(r slog.Record) {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "rsv" {
				rsv = append(rsv, a.Value.Int64())
			}
			return true
		})
	})))
	h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Key: mask.Key{'a', 'b', 'c', 'd'}, Length: 1}
	for _, bits := range [][3]bool{{true, false, false}, {false, true, false}, {false, false, true}, {true, false, true}} {
		h.Rsv1, h.Rsv2, h.Rsv3 = bits[0], bits[1], bits[2]
		tr.sent(frame.Frame{Header: h, Payload: []byte{0}})
	}
	if want := []int64{4, 2, 1, 5}; !slices.Equal(rsv, want) {
		t.Errorf("rsv = %v, want %v", rsv, want)
	}
	want := "++Sent raw: b'\\xc2\\x81abcda'\n++Sent decoded: fin=1 opcode=2 data=b'\\x00'\n" +
		"++Sent raw: b'\\xa2\\x81abcda'\n++Sent decoded: fin=1 opcode=2 data=b'\\x00'\n" +
		"++Sent raw: b'\\x92\\x81abcda'\n++Sent decoded: fin=1 opcode=2 data=b'\\x00'\n" +
		"++Sent raw: b'\\xd2\\x81abcda'\n++Sent decoded: fin=1 opcode=2 data=b'\\x00'\n"
	if text.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", text.String(), want)
	}
}

// The text trace reuses its buffers, shows a large payload's first
// maxTracedPayload bytes and how many more there were, and keeps no large
// buffer.
func TestTraceTextBuffers(t *testing.T) {
	var text bytes.Buffer
	tr := newTracer(&text, nil)
	small := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpText, Length: 2}, Payload: []byte("hi")}
	tr.received(small)
	if n := testing.AllocsPerRun(50, func() { text.Reset(); tr.received(small) }); n != 0 {
		t.Errorf("tracing a small frame as text: %v allocations, want 0", n)
	}
	// The wire form's start: a 64-bit length of 1 MiB.
	const head = "++Rcv raw: b'\\x82\\x7f\\x00\\x00\\x00\\x00\\x00\\x10\\x00\\x00\\x00\\x00"
	const tail = " ... and 1032192 more payload bytes, not shown"
	for _, tt := range []struct {
		name string
		f    frame.Frame
	}{
		{"received in full", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 1 << 20}, Payload: make([]byte, 1<<20)}},
		{"received, kept in part", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 1 << 20}, Payload: make([]byte, maxTracedPayload)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			text.Reset()
			tr.received(tt.f)
			lines := strings.Split(strings.TrimSuffix(text.String(), "\n"), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], head) || !strings.HasSuffix(lines[0], tail) || !strings.HasSuffix(lines[1], tail) {
				t.Errorf("trace of a 1 MiB frame: %.120q ... %q", text.String(), text.String()[max(0, text.Len()-120):])
			}
			if n := text.Len(); n > 10*maxTracedPayload {
				t.Errorf("trace of a 1 MiB frame: %d bytes of text, want a bounded part", n)
			}
			if cap(tr.line) > maxRetainedLine || cap(tr.wire) > maxRetainedLine {
				t.Errorf("after a 1 MiB frame the trace keeps %d + %d bytes", cap(tr.line), cap(tr.wire))
			}
		})
	}
}

// A Conn tracing as text keeps the first maxTracedPayload bytes of a
// received payload for the trace, not the whole: a peer's large frame
// costs the trace a bounded amount of memory, by every receiving call.
func TestTraceReceivedPayloadBounded(t *testing.T) {
	const size = 4 << 20
	wire := wireOf(t, dataFrame(frame.OpBinary, true, false, strings.Repeat("x", size)))
	for _, tt := range []struct {
		name string
		read func(c *Conn) error
	}{
		{"ReadMessage", func(c *Conn) error { _, _, err := c.ReadMessage(t.Context()); return err }},
		{"NextReader", func(c *Conn) error {
			_, r, err := c.NextReader(t.Context())
			if err == nil {
				_, err = io.Copy(io.Discard, r)
			}
			return err
		}},
		{"ReadFrame", func(c *Conn) error { _, err := c.ReadFrame(t.Context(), nil); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			alloc := func(trace io.Writer) uint64 {
				client, peer := net.Pipe()
				defer peer.Close()
				c := New(client, &Config{Trace: trace, MaxFrameSize: -1, MaxMessageSize: -1})
				defer c.CloseNow()
				go peer.Write(wire)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				if err := tt.read(c); err != nil {
					t.Fatal(err)
				}
				runtime.ReadMemStats(&after)
				if cap(c.tpay) > maxTracedPayload*2 {
					t.Errorf("the trace's copy of the payload has %d bytes", cap(c.tpay))
				}
				return after.TotalAlloc - before.TotalAlloc
			}
			plain, traced := alloc(nil), alloc(io.Discard)
			if traced > plain+1<<20 {
				t.Errorf("receiving a %d-byte frame allocated %d bytes with a text trace, %d without", size, traced, plain)
			}
		})
	}
}
