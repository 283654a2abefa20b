package conn

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
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

// The text trace reuses its buffers, but does not keep a large one.
func TestTraceTextBuffers(t *testing.T) {
	var text bytes.Buffer
	tr := newTracer(&text, nil)
	small := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpText, Length: 2}, Payload: []byte("hi")}
	tr.received(small)
	if n := testing.AllocsPerRun(50, func() { text.Reset(); tr.received(small) }); n != 0 {
		t.Errorf("tracing a small frame as text: %v allocations, want 0", n)
	}
	big := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 1 << 20}, Payload: make([]byte, 1<<20)}
	tr.received(big)
	if cap(tr.line) != 0 || cap(tr.wire) != 0 {
		t.Errorf("after a 1 MiB frame the trace keeps %d + %d bytes", cap(tr.line), cap(tr.wire))
	}
}
