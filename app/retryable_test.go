package app_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/framewire/ws/app"
	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/proxy"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// dialErr dials url with d over real sockets and returns the error.
func dialErr(t *testing.T, d *conn.Dialer, url string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), eventWait)
	defer cancel()
	c, err := d.Dial(ctx, url)
	if err == nil {
		c.CloseNow()
		t.Fatalf("dial %s succeeded; want an error", url)
	}
	return err
}

// answering returns the error of a handshake answered with HTTP status
// code by a server on 127.0.0.1.
func answering(code int) func(t *testing.T) error {
	return func(t *testing.T) error {
		srv := wstest.NewServer(func(p *wstest.Peer) { p.Respond(code, nil, "") })
		defer srv.Close()
		return dialErr(t, &conn.Dialer{}, srv.URL)
	}
}

// refused returns the error of a dial to a port nobody listens on.
func refused(t *testing.T) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = dialErr(t, &conn.Dialer{}, "ws://"+addr+"/")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial error %v; want connection refused", err)
	}
	return err
}

// handshakeTimeout returns the error of a dial to a server that never
// answers the opening handshake.
func handshakeTimeout(t *testing.T) error {
	srv := wstest.NewServer(func(p *wstest.Peer) { p.ReadFull(make([]byte, 1)) })
	defer srv.Close()
	err := dialErr(t, &conn.Dialer{HandshakeTimeout: 50 * time.Millisecond}, srv.URL)
	if _, ok := errors.AsType[*conn.TimeoutError](err); !ok {
		t.Fatalf("dial error %v; want a *conn.TimeoutError", err)
	}
	return err
}

// untrusted returns the error of a wss dial to a server whose certificate
// is signed by an unknown authority.
func untrusted(t *testing.T) error {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	err := dialErr(t, &conn.Dialer{}, "wss://"+strings.TrimPrefix(srv.URL, "https://")+"/")
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); !ok {
		t.Fatalf("dial error %v; want a certificate verification failure", err)
	}
	return err
}

// lost returns the error a read returns when the server closes TCP right
// after the opening handshake.
func lost(t *testing.T) error {
	srv := wstest.NewServer(func(p *wstest.Peer) { p.Upgrade(nil) })
	defer srv.Close()
	c, err := (&conn.Dialer{}).Dial(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(t.Context(), eventWait)
	defer cancel()
	_, err = c.ReadDataFrame(ctx, nil)
	if !errors.Is(err, conn.ErrConnectionLost) {
		t.Fatalf("read error %v; want conn.ErrConnectionLost", err)
	}
	return err
}

func peerClosed(code status.Code) func(*testing.T) error {
	return func(*testing.T) error { return &status.CloseError{Code: code, Reason: "bye"} }
}

func is(err error) func(*testing.T) error { return func(*testing.T) error { return err } }

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  func(t *testing.T) error
		want bool
	}{
		// The peer's close frame: a server going away, restarting or
		// overloaded is worth a reconnect, a deliberate end is not.
		{"close 1000", peerClosed(status.NormalClosure), false},
		{"close 1001", peerClosed(status.GoingAway), true},
		{"close 1002", peerClosed(status.ProtocolError), false},
		{"close 1003", peerClosed(status.UnsupportedData), false},
		{"close 1005 (empty close frame)", peerClosed(status.NoStatusReceived), false},
		{"close 1007", peerClosed(status.InvalidPayload), false},
		{"close 1008", peerClosed(status.PolicyViolation), false},
		{"close 1009", peerClosed(status.MessageTooBig), false},
		{"close 1010", peerClosed(status.MandatoryExtension), false},
		{"close 1011", peerClosed(status.InternalError), true},
		{"close 1012", peerClosed(status.ServiceRestart), true},
		{"close 1013", peerClosed(status.TryAgainLater), true},
		{"close 1014", peerClosed(status.BadGateway), true},
		{"close 3000", peerClosed(3000), false},
		{"close 4999", peerClosed(4999), false},
		{"close wrapped", is(fmt.Errorf("ended: %w", &status.CloseError{Code: status.ServiceRestart})), true},

		// Failures of an open connection.
		{"connection lost", lost, true},
		{"pong timeout", is(app.ErrPongTimeout), true},
		{"protocol violation", is(fmt.Errorf("conn: connection failed: %w", &frame.Error{Code: status.ProtocolError})), true},

		// Failed attempts, as the real conn.Dial reports them.
		{"refused", refused, true},
		{"handshake timeout", handshakeTimeout, true},
		{"HTTP 500", answering(http.StatusInternalServerError), true},
		{"HTTP 502", answering(http.StatusBadGateway), true},
		{"HTTP 503", answering(http.StatusServiceUnavailable), true},
		{"HTTP 504", answering(http.StatusGatewayTimeout), true},
		{"HTTP 429", answering(http.StatusTooManyRequests), true},
		{"HTTP 400", answering(http.StatusBadRequest), false},
		{"HTTP 401", answering(http.StatusUnauthorized), false},
		{"HTTP 403", answering(http.StatusForbidden), false},
		{"HTTP 404", answering(http.StatusNotFound), false},
		{"HTTP 501", answering(http.StatusNotImplemented), false},
		{"bad URL", func(t *testing.T) error { return dialErr(t, &conn.Dialer{}, "ftp://127.0.0.1/") }, false},
		{"TLS verification", untrusted, false},

		// Failed attempts, as documented.
		{"unknown host", is(fmt.Errorf("%w nowhere.invalid: %w", conn.ErrAddress, &net.DNSError{Name: "nowhere.invalid", IsNotFound: true})), false},
		{"resolver down", is(fmt.Errorf("%w example.com: %w", conn.ErrAddress, &net.DNSError{Name: "example.com", IsTemporary: true})), true},
		{"bad accept", is(handshake.ErrBadAccept), false},
		{"too many redirects", is(fmt.Errorf("%w: %w", conn.ErrTooManyRedirects, &handshake.RedirectError{StatusCode: 302})), false},
		{"bad header", is(handshake.ErrInvalidHeader), false},
		{"bad compression offer", func(t *testing.T) error {
			srv := wstest.NewServer(func(p *wstest.Peer) { p.ReadFull(make([]byte, 1)) })
			defer srv.Close()
			d := &conn.Dialer{Config: conn.Config{Compression: &conn.Compression{Offers: []handshake.DeflateParams{{ClientMaxWindowBits: 20}}}}}
			return dialErr(t, d, srv.URL)
		}, false},
		{"deflate offer in Header", func(t *testing.T) error {
			d := &conn.Dialer{Header: http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate"}}}
			return dialErr(t, d, "ws://127.0.0.1:9/")
		}, false},
		{"unsupported proxy", func(t *testing.T) error {
			d := &conn.Dialer{Proxy: http.ProxyURL(&url.URL{Scheme: "ftp", Host: "127.0.0.1:9"})}
			return dialErr(t, d, "ws://127.0.0.1:9/")
		}, false},
		{"NetDial returning nothing", func(t *testing.T) error {
			d := &conn.Dialer{NetDial: func(context.Context, string, string) (net.Conn, error) { return nil, nil }}
			return dialErr(t, d, "ws://127.0.0.1:9/")
		}, false},
		{"insecure redirect", is(fmt.Errorf("%w: %w", conn.ErrInsecureRedirect, &handshake.RedirectError{StatusCode: 302})), false},
		{"proxy auth", is(&proxy.Error{Proxy: "http://proxy", StatusCode: http.StatusProxyAuthRequired, Err: proxy.ErrAuth}), false},
		{"proxy 503", is(&proxy.Error{Proxy: "http://proxy", StatusCode: http.StatusServiceUnavailable, Err: proxy.ErrRefused}), true},
		{"proxy 403", is(&proxy.Error{Proxy: "http://proxy", StatusCode: http.StatusForbidden, Err: proxy.ErrRefused}), false},
		{"header func", is(errors.New("token service down")), true},
		{"nil", is(nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err(t)
			if got := app.Retryable(err); got != tt.want {
				t.Errorf("Retryable(%v) = %v; want %v", err, got, tt.want)
			}
		})
	}
}

// A policy that adds a code of the application to the default.
func ExampleRetryable() {
	retry := func(err error) bool {
		var ce *status.CloseError
		if errors.As(err, &ce) && ce.Code == 4000 { // "reconnect to another shard"
			return true
		}
		return app.Retryable(err)
	}
	fmt.Println(retry(&status.CloseError{Code: 4000}))
	fmt.Println(retry(&status.CloseError{Code: status.ServiceRestart}))
	fmt.Println(retry(&status.CloseError{Code: status.NormalClosure}))
	// Output:
	// true
	// true
	// false
}
