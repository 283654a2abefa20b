package conn_test

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/leakcheck"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/proxy"
	"github.com/framewire/ws/wstest"
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
	t.Cleanup(func() { c.CloseNow() })
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

// dialPipe dials over a net.Pipe whose server end runs h with
// wstest.Serve; inside a synctest bubble, everything runs on its clock.
// The Conn is shut down at the end of the test.
func dialPipe(t *testing.T, d *conn.Dialer, h wstest.Handler) *conn.Conn {
	t.Helper()
	client, server := net.Pipe()
	return dialOver(t, d, client, server, "ws://pipe.test/", h)
}

// dialPipeTLS is dialPipe with TLS over the pipe, the server holding a
// certificate for ws.test made by testCA. Call it inside the bubble, so
// that the certificate is valid on the bubble's clock.
func dialPipeTLS(t *testing.T, d *conn.Dialer, h wstest.Handler) *conn.Conn {
	t.Helper()
	pool, cert := testCA(t)
	client, server := net.Pipe()
	return dialOver(t, d,
		tls.Client(client, &tls.Config{RootCAs: pool, ServerName: "ws.test"}),
		tls.Server(server, &tls.Config{Certificates: []tls.Certificate{cert}}),
		"wss://ws.test/", h)
}

// dialOver dials url over client while server, its other end, runs h.
func dialOver(t *testing.T, d *conn.Dialer, client, server net.Conn, url string, h wstest.Handler) *conn.Conn {
	t.Helper()
	go wstest.Serve(server, h)
	if d == nil {
		d = &conn.Dialer{}
	}
	c, err := d.DialConn(context.Background(), client, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// echoed sends msg on c, whose peer echoes, and checks that it comes back.
func echoed(t *testing.T, ctx context.Context, c *conn.Conn, msg string) {
	t.Helper()
	if err := c.WriteMessage(ctx, frame.OpText, []byte(msg)); err != nil {
		t.Fatalf("WriteMessage(%q) = %v", msg, err)
	}
	if _, p, err := c.ReadMessage(ctx); err != nil || string(p) != msg {
		t.Fatalf("ReadMessage = %q, %v; want the echo of %q", p, err, msg)
	}
}

// recvBlocked calls c.ReadMessage(ctx) in another goroutine and returns, inside a
// synctest bubble, once that call is blocked; the channel receives its
// error.
func recvBlocked(ctx context.Context, c *conn.Conn) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage(ctx)
		done <- err
	}()
	synctest.Wait()
	return done
}
