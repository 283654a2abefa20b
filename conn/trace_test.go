package conn_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/wstest"
)

// recorder is a slog.Handler that keeps the records at or above its level.
type recorder struct {
	level slog.Level
	mu    sync.Mutex
	recs  []slog.Record
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { panic("not used") }
func (r *recorder) WithGroup(string) slog.Handler      { panic("not used") }

// logged is a record as the tests compare it: the level, the message and
// the attributes, groups flattened to "group.key".
type logged struct {
	Level slog.Level
	Msg   string
	Attrs map[string]any
}

// records returns what r has kept so far.
func (r *recorder) records() []logged {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []logged
	for _, rec := range r.recs {
		l := logged{Level: rec.Level, Msg: rec.Message, Attrs: map[string]any{}}
		var add func(prefix string, a slog.Attr)
		add = func(prefix string, a slog.Attr) {
			if a.Value.Kind() == slog.KindGroup {
				for _, g := range a.Value.Group() {
					add(prefix+a.Key+".", g)
				}
				return
			}
			l.Attrs[prefix+a.Key] = a.Value.Any()
		}
		rec.Attrs(func(a slog.Attr) bool {
			add("", a)
			return true
		})
		out = append(out, l)
	}
	return out
}

// The Logger gets one structured debug record per event: the handshake's
// method, URL, status and header fields with secrets redacted, and each
// frame's header, without its payload.
func TestTraceLogger(t *testing.T) {
	checkLeaks(t)
	s := serve(t, func(p *wstest.Peer) {
		p.Upgrade(&wstest.Upgrade{Header: http.Header{"Set-Cookie": {"s=secret"}}})
		p.ReadFrame()
		p.WriteMessage(frame.OpText, []byte("hi"))
		p.ReadClose()
	})
	rec := &recorder{level: slog.LevelDebug}
	d := &conn.Dialer{
		Cookie: "c=secret",
		Rand:   bytes.NewReader(make([]byte, 16)),
		Config: conn.Config{Logger: slog.New(rec), MaskKey: abcd},
	}
	ctx := testCtx(t)
	c, err := d.DialConn(ctx, s.Pipe(), "ws://user:secret@ws.test/t?q=1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.WriteMessage(ctx, frame.OpText, []byte("yo")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadMessage(ctx); err != nil {
		t.Fatal(err)
	}
	want := []logged{
		{slog.LevelDebug, "ws handshake request", map[string]any{
			"method":                       "GET",
			"url":                          "ws://user:xxxxx@ws.test/t?q=1",
			"header.Authorization":         "***",
			"header.Connection":            "Upgrade",
			"header.Cookie":                "***",
			"header.Host":                  "ws.test",
			"header.Origin":                "http://ws.test",
			"header.Sec-WebSocket-Key":     "AAAAAAAAAAAAAAAAAAAAAA==",
			"header.Sec-WebSocket-Version": "13",
			"header.Upgrade":               "websocket",
		}},
		{slog.LevelDebug, "ws handshake response", map[string]any{
			"status":                      int64(101),
			"header.Connection":           "Upgrade",
			"header.Sec-Websocket-Accept": "ICX+Yqv66kxgM0FcWaLWlFLwTAI=",
			"header.Set-Cookie":           "***",
			"header.Upgrade":              "websocket",
		}},
		{slog.LevelDebug, "ws frame sent", map[string]any{
			"dir": "sent", "opcode": "text", "fin": true, "rsv": int64(0), "len": int64(2), "masked": true,
		}},
		{slog.LevelDebug, "ws frame received", map[string]any{
			"dir": "received", "opcode": "text", "fin": true, "rsv": int64(0), "len": int64(2), "masked": false,
		}},
	}
	if diff := cmp.Diff(want, rec.records()); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// A logger that does not take debug records gets none, and tracing to it
// costs a frame no allocation. The reader keeps no copy of payloads for it
// either: they are not logged.
func TestTraceLoggerDisabled(t *testing.T) {
	rec := &recorder{level: slog.LevelInfo}
	wire := rawFrame(true, frame.OpBinary, make([]byte, 125))
	c := openMemoryWith(t, conn.Dialer{Config: conn.Config{Logger: slog.New(rec)}}, wire)
	defer c.CloseNow()
	ctx := context.Background()
	buf := make([]byte, 0, 125)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := c.ReadDataFrame(ctx, buf[:0]); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteMessage(ctx, frame.OpBinary, wire[:125]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a frame sent and one received with a disabled logger: %v allocations, want 0", allocs)
	}
	if n := conn.TraceBufferCap(c); n != 0 {
		t.Errorf("the reader keeps a %d-byte payload copy for a logger", n)
	}
	if got := rec.records(); len(got) != 0 {
		t.Errorf("a logger at info level got %d records: %v", len(got), got)
	}
}
