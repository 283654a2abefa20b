package conn

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/framewire/ws/frame"
)

// tracer prints websocket-client's enableTrace output: one line (a log
// record) per event, to an io.Writer and/or a *slog.Logger at debug level.
type tracer struct {
	mu sync.Mutex
	w  io.Writer
	l  *slog.Logger
}

func newTracer(w io.Writer, l *slog.Logger) *tracer {
	if w == nil && l == nil {
		return nil
	}
	return &tracer{w: w, l: l}
}

// line emits one record. A nil tracer does nothing.
func (t *tracer) line(s string) {
	if t == nil {
		return
	}
	if t.w != nil {
		t.mu.Lock()
		io.WriteString(t.w, s+"\n")
		t.mu.Unlock()
	}
	if t.l != nil {
		t.l.Log(context.Background(), slog.LevelDebug, s)
	}
}

// secret reports whether a header field's value is replaced by *** in the
// trace.
func secret(name string) bool {
	switch strings.ToLower(name) {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	return false
}

// request prints the request head, as one record, with secrets redacted.
func (t *tracer) request(raw []byte) {
	if t == nil {
		return
	}
	var b strings.Builder
	for line := range bytes.Lines(raw) {
		if i := bytes.IndexByte(line, ':'); i > 0 && secret(string(line[:i])) {
			b.Write(line[:i])
			b.WriteString(": ***\r\n")
			continue
		}
		b.Write(line)
	}
	t.line("--- request header ---")
	t.line(b.String())
	t.line("-----------------------")
}

// response prints the status line and each header field of a response, one
// record each, with secrets redacted. Fields are in the order of their
// names.
func (t *tracer) response(code int, reason string, h http.Header) {
	if t == nil {
		return
	}
	t.line("--- response header ---")
	t.line("HTTP/1.1 " + strconv.Itoa(code) + " " + reason)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range h[name] {
			if secret(name) {
				v = "***"
			}
			t.line(name + ": " + v)
		}
	}
	t.line("-----------------------")
}

// sent prints a frame as sent: its wire bytes, then its decoded form.
func (t *tracer) sent(f frame.Frame) {
	if t == nil {
		return
	}
	wire, _ := f.AppendBinary(nil)
	t.line("++Sent raw: " + frame.QuoteBytes(wire))
	t.line("++Sent decoded: " + f.String())
}

// received prints a frame as received.
func (t *tracer) received(f frame.Frame) {
	if t == nil {
		return
	}
	wire, _ := f.AppendBinary(nil)
	t.line("++Rcv raw: " + frame.QuoteBytes(wire))
	t.line("++Rcv decoded: " + f.String())
}
