package conn

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/pyrepr"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/proxy"
)

// The messages of the records a tracer logs; see the package doc's
// Tracing section.
const (
	msgRequest   = "ws handshake request"
	msgResponse  = "ws handshake response"
	msgSent      = "ws frame sent"
	msgReceived  = "ws frame received"
	msgExtension = "ws extension agreed"
)

// maxRetainedLine is the largest text trace buffer kept between frames.
const maxRetainedLine = 64 << 10

// maxTracedPayload is the most of a payload the text trace shows: the
// first bytes, then how many more there were. A frame of any size costs
// the trace a bounded amount of memory (its text is about four times the
// bytes shown, twice), whatever length the peer sends.
const maxTracedPayload = 16 << 10

// tracer reports the handshake and every frame sent and received: as
// websocket-client's enableTrace text to an io.Writer, and as structured
// debug records to a *slog.Logger. A nil tracer does nothing.
type tracer struct {
	l *slog.Logger

	mu   sync.Mutex // guards the writes to w and the buffers
	w    io.Writer
	line []byte // the text of one event
	wire []byte // a frame's wire form, for the text
}

func newTracer(w io.Writer, l *slog.Logger) *tracer {
	if w == nil && l == nil {
		return nil
	}
	return &tracer{w: w, l: l}
}

// payloads reports whether the tracer shows payloads, so that the reader
// must keep a copy of each one for it. Only the text trace does.
func (t *tracer) payloads() bool { return t != nil && t.w != nil }

// logging reports whether the logger takes debug records now; a logger's
// level may change during a connection.
func (t *tracer) logging() bool {
	return t.l != nil && t.l.Enabled(context.Background(), slog.LevelDebug)
}

// text writes lines, each ending in a newline, to w in one Write.
func (t *tracer) text(lines ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.line = t.line[:0]
	for _, s := range lines {
		t.line = append(t.line, s...)
		t.line = append(t.line, '\n')
	}
	t.flush()
}

// flush writes t.line to w and drops a large buffer; t.mu is held.
func (t *tracer) flush() {
	t.w.Write(t.line)
	if cap(t.line) > maxRetainedLine {
		t.line = nil
	}
	if cap(t.wire) > maxRetainedLine {
		t.wire = nil
	}
}

// appendHidden appends, when n payload bytes were not shown, how many.
func appendHidden(b []byte, n int64) []byte {
	if n <= 0 {
		return b
	}
	b = append(b, " ... and "...)
	b = strconv.AppendInt(b, n, 10)
	return append(b, " more payload bytes, not shown"...)
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

// request reports the request head raw sent to open u, with secrets
// redacted.
func (t *tracer) request(u *url.URL, raw []byte) {
	if t == nil {
		return
	}
	var text strings.Builder
	var method string
	h := http.Header{} // as written: the names are not canonicalised
	first := true
	for line := range bytes.Lines(raw) {
		if first { // the request line
			m, _, _ := bytes.Cut(line, []byte(" "))
			method, first = string(m), false
			text.Write(line)
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 {
			text.Write(line)
			continue
		}
		v := string(bytes.TrimSpace(value))
		if secret(string(name)) {
			text.Write(name)
			text.WriteString(": ***\r\n")
			v = "***"
		} else {
			text.Write(line)
		}
		h[string(name)] = append(h[string(name)], v)
	}
	if t.w != nil {
		t.text("--- request header ---", text.String(), "-----------------------")
	}
	if t.logging() {
		t.l.LogAttrs(context.Background(), slog.LevelDebug, msgRequest,
			slog.String("method", method),
			slog.String("url", u.Redacted()),
			headerAttr(h))
	}
}

// response reports the status and header of a response in the HTTP
// version proto, with secrets redacted. The text shows the header fields
// in the order of their names.
func (t *tracer) response(proto string, code int, reason string, h http.Header) {
	if t == nil {
		return
	}
	if t.w != nil {
		lines := []string{"--- response header ---", proto + " " + strconv.Itoa(code) + " " + reason}
		for _, name := range sortedNames(h) {
			for _, v := range h[name] {
				if secret(name) {
					v = "***"
				}
				lines = append(lines, name+": "+v)
			}
		}
		t.text(append(lines, "-----------------------")...)
	}
	if t.logging() {
		t.l.LogAttrs(context.Background(), slog.LevelDebug, msgResponse,
			slog.Int("status", code),
			headerAttr(h))
	}
}

// proxyTrace returns the hooks that report the CONNECT exchange with
// the HTTP proxy pu as a request and its responses, or nil.
func (t *tracer) proxyTrace(pu *url.URL) *proxy.Trace {
	if t == nil {
		return nil
	}
	return &proxy.Trace{
		Request: func(req []byte) { t.request(pu, req) },
		Response: func(r *http.Response) {
			_, reason, _ := strings.Cut(r.Status, " ")
			t.response(r.Proto, r.StatusCode, reason, r.Header)
		},
	}
}

func sortedNames(h http.Header) []string {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// headerAttr returns h as a group named "header": one string attribute per
// field, in the order of the names, its values joined by ", " (RFC 9110
// §5.3) and secrets replaced by ***.
func headerAttr(h http.Header) slog.Attr {
	attrs := make([]any, 0, len(h))
	for _, name := range sortedNames(h) {
		v := strings.Join(h[name], ", ")
		if secret(name) {
			v = "***"
		}
		attrs = append(attrs, slog.String(name, v))
	}
	return slog.Group("header", attrs...)
}

// extension reports the extension agreed for the connection, as it is
// written in Sec-WebSocket-Extensions.
func (t *tracer) extension(e string) {
	if t == nil {
		return
	}
	if t.w != nil {
		t.text("--- extension agreed: " + e + " ---")
	}
	if t.logging() {
		t.l.LogAttrs(context.Background(), slog.LevelDebug, msgExtension, slog.String("extension", e))
	}
}

// sent reports a frame as it is sent. Its Length must be the payload's.
func (t *tracer) sent(f frame.Frame) { t.frame(f, "++Sent raw: ", "++Sent decoded: ", msgSent, "sent") }

// received reports a frame as it was received. Its Length is the one its
// header declared; its Payload may be empty when [tracer.payloads] is
// false.
func (t *tracer) received(f frame.Frame) {
	t.frame(f, "++Rcv raw: ", "++Rcv decoded: ", msgReceived, "received")
}

// frame reports f. The text is websocket-client's two lines: the wire
// bytes and str() of the frame, both with Python bytes literals; of a
// payload over maxTracedPayload, both show the first maxTracedPayload
// bytes and then how many were not shown. The record carries the header
// only, not the payload.
func (t *tracer) frame(f frame.Frame, raw, decoded, msg, dir string) {
	if t == nil {
		return
	}
	if t.w != nil {
		// The payload's length: the declared one of a received frame,
		// whose Payload the reader kept only in part (keepTraced).
		full := max(f.Length, int64(len(f.Payload)))
		shown := f.Payload[:min(len(f.Payload), maxTracedPayload)]
		hidden := full - int64(len(shown))
		h := f.Header
		h.Length = full
		t.mu.Lock()
		t.wire, _ = h.AppendBinary(t.wire[:0])
		n := len(t.wire)
		t.wire = append(t.wire, shown...)
		if h.Masked {
			mask.Apply(t.wire[n:], h.Key, 0)
		}
		t.line = append(t.line[:0], raw...)
		t.line = pyrepr.AppendBytes(t.line, t.wire)
		t.line = appendHidden(t.line, hidden)
		t.line = append(t.line, '\n')
		t.line = append(t.line, decoded...)
		f.Payload = shown
		t.line = pyrepr.AppendFrame(t.line, f)
		t.line = appendHidden(t.line, hidden)
		t.line = append(t.line, '\n')
		t.flush()
		t.mu.Unlock()
	}
	if t.logging() {
		rsv := 0
		for _, bit := range [...]bool{f.Rsv1, f.Rsv2, f.Rsv3} {
			rsv <<= 1
			if bit {
				rsv |= 1
			}
		}
		t.l.LogAttrs(context.Background(), slog.LevelDebug, msg,
			slog.String("dir", dir),
			slog.String("opcode", f.Opcode.String()),
			slog.Bool("fin", f.Fin),
			slog.Int("rsv", rsv),
			slog.Int64("len", f.Length),
			slog.Bool("masked", f.Masked))
	}
}
