package app_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/framewire/ws/app"
	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/h2test"
	"github.com/framewire/ws/internal/leakcheck"
	"github.com/framewire/ws/status"
)

// TestMain enables extended CONNECT in the HTTP/2 test server (see
// h2test.Main).
func TestMain(m *testing.M) { h2test.Main(m) }

// An App whose Dialer speaks HTTP/2 runs over an HTTP/2 stream, and a
// stream reset by the server is a lost connection it reconnects after.
func TestSocketHTTP2(t *testing.T) {
	leakcheck.Check(t)
	var n atomic.Int32
	srv := h2test.NewServer(nil, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := h2test.Accept(w, r, nil, nil)
		if err != nil {
			return
		}
		ctx := context.Background()
		if n.Add(1) == 1 {
			c.WriteMessage(ctx, frame.OpText, []byte("first"))
			panic(http.ErrAbortHandler) // RST_STREAM
		}
		c.WriteMessage(ctx, frame.OpText, []byte("second"))
		h2test.EchoLoop(c)
	}))
	t.Cleanup(srv.Close)
	var pool conn.HTTP2Pool
	t.Cleanup(func() { pool.Close() })
	a := &app.App{URL: srv.URL + "/", Reconnect: fastBackoff(),
		Dialer: &conn.Dialer{HTTP2: conn.HTTP2Only, HTTP2Pool: &pool}}
	ch := watch(a)
	done := runApp(t, a)
	expect(t, ch, done, "open")
	if e := expect(t, ch, done, "message"); e.text != "first" {
		t.Fatalf("message %q, want first", e.text)
	}
	if e := expect(t, ch, done, "error"); !errors.Is(e.err, conn.ErrConnectionLost) {
		t.Errorf("error %v; want conn.ErrConnectionLost", e.err)
	}
	if e := expect(t, ch, done, "close"); e.code != status.AbnormalClosure {
		t.Errorf("OnClose(%v); want 1006", e.code)
	}
	expect(t, ch, done, "reconnect")
	if e := expect(t, ch, done, "message"); e.text != "second" {
		t.Fatalf("message %q after the reconnect; want second", e.text)
	}
	a.Close(context.Background(), status.NormalClosure, "")
	expect(t, ch, done, "close")
	ended(t, ch, done, nil)
	if got := srv.Accepted.Load(); got != 1 {
		t.Errorf("%d TCP connections, want 1: the reconnect reuses the pooled HTTP/2 connection", got)
	}
}
