package conn_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/leakcheck"
	"github.com/framewire/ws/internal/wstest"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/proxy"
)

// abcd is the fixed masking key of websocket-client's test_send.
func abcd() mask.Key { return mask.Key{'a', 'b', 'c', 'd'} }

// noProxy makes a Dialer ignore the environment's proxy settings.
func noProxy(d *conn.Dialer) *conn.Dialer {
	if d.Proxy == nil {
		d.Proxy = proxy.Direct
	}
	return d
}

// serve starts a wstest server closed at the end of the test.
func serve(t testing.TB, h wstest.Handler) *wstest.Server {
	t.Helper()
	s := wstest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// dial dials url with d (nil: a zero Dialer); the Conn is shut down at the
// end of the test.
func dial(t testing.TB, d *conn.Dialer, url string) *conn.Conn {
	t.Helper()
	if d == nil {
		d = &conn.Dialer{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := noProxy(d).Dial(ctx, url)
	if err != nil {
		t.Fatalf("Dial(%s): %v", url, err)
	}
	t.Cleanup(func() { c.Shutdown() })
	return c
}

// ctx returns a context that ends with the test, bounded to 5 s.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// unhex decodes hex with spaces.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recvErr receives one value from ch or fails after 5 s.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for the server")
		panic("unreachable")
	}
}

// checkLeaks fails the test if goroutines started during it are still
// running once its cleanups are done. Call it first.
func checkLeaks(t *testing.T) { leakcheck.Check(t) }

func acceptKey(key string) string { return handshake.AcceptKey(key) }
