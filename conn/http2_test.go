package conn_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/status"
)

// h2Server is an HTTP/2 server on 127.0.0.1 (x/net/http2's, with extended
// CONNECT enabled by TestMain), in clear (h2c with prior knowledge) or
// over TLS with ALPN h2. It counts the TCP connections it accepted.
type h2Server struct {
	URL      string
	accepted atomic.Int32
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
}

// startH2 starts srv (nil: defaults) with handler h; cfg, if not nil,
// turns TLS on. The server is closed at the end of the test.
func startH2(t *testing.T, srv *http2.Server, cfg *tls.Config, h http.Handler) *h2Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if srv == nil {
		srv = &http2.Server{}
	}
	s := &h2Server{ln: ln, URL: "ws://" + ln.Addr().String()}
	if cfg != nil {
		s.URL = "wss://" + ln.Addr().String()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			if cfg != nil {
				nc = tls.Server(nc, cfg)
			}
			s.mu.Lock()
			s.conns = append(s.conns, nc)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				srv.ServeConn(nc, &http2.ServeConnOpts{Handler: h})
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, nc := range s.conns {
			nc.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// h2Stream is the server side of a WebSocket over an HTTP/2 stream, as a
// conn.Transport.
type h2ServerStream struct {
	r  io.Reader
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s h2ServerStream) Read(b []byte) (int, error) { return s.r.Read(b) }
func (s h2ServerStream) Write(b []byte) (int, error) {
	n, err := s.w.Write(b)
	if err == nil {
		err = s.rc.Flush()
	}
	return n, err
}
func (s h2ServerStream) Close() error                       { return nil }
func (s h2ServerStream) SetReadDeadline(t time.Time) error  { return s.rc.SetReadDeadline(t) }
func (s h2ServerStream) SetWriteDeadline(t time.Time) error { return s.rc.SetWriteDeadline(t) }

// h2Accept checks an extended CONNECT for a WebSocket and answers it with
// 200 and header, returning the server Conn over the stream.
func h2Accept(w http.ResponseWriter, r *http.Request, header http.Header, cfg *conn.Config) (*conn.Conn, error) {
	if r.Method != http.MethodConnect || r.Header.Get(":protocol") != "websocket" || r.Header.Get("Sec-Websocket-Version") != "13" {
		http.Error(w, "not a WebSocket", http.StatusBadRequest)
		return nil, errors.New("not a WebSocket CONNECT")
	}
	for k, vs := range header {
		w.Header()[k] = vs
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return nil, err
	}
	var c conn.Config
	if cfg != nil {
		c = *cfg
	}
	c.Role = conn.RoleServer
	return conn.New(h2ServerStream{r: r.Body, w: w, rc: rc}, &c), nil
}

// h2Echo echoes every message, then ends the stream after the closing
// handshake.
func h2Echo(w http.ResponseWriter, r *http.Request) {
	c, err := h2Accept(w, r, nil, nil)
	if err != nil {
		return
	}
	echoLoop(c)
}

func echoLoop(c *conn.Conn) {
	ctx := context.Background()
	for {
		op, p, err := c.ReadMessage(ctx)
		if err != nil {
			return
		}
		if err := c.WriteMessage(ctx, op, p); err != nil {
			return
		}
	}
}

// h2Dialer is a Dialer for the tests over HTTP/2.
func h2Dialer(mode conn.HTTP2Mode) *conn.Dialer {
	return noProxy(&conn.Dialer{HTTP2: mode})
}

// Over h2c with prior knowledge, a WebSocket opens with an extended
// CONNECT, echoes, and closes with the closing handshake.
func TestHTTP2Echo(t *testing.T) {
	checkLeaks(t)
	s := startH2(t, nil, nil, http.HandlerFunc(h2Echo))
	c := dial(t, h2Dialer(conn.HTTP2Only), s.URL+"/echo?x=1")
	ctx := testCtx(t)
	if c.Proto() != "HTTP/2.0" || c.Status() != http.StatusOK {
		t.Errorf("Proto, Status = %q, %d; want HTTP/2.0, 200", c.Proto(), c.Status())
	}
	for _, msg := range []string{"hello", strings.Repeat("x", 125), strings.Repeat("y", 70000)} {
		echoed(t, ctx, c, msg)
	}
	if err := c.Close(ctx, status.NormalClosure, "bye"); err != nil {
		t.Errorf("Close = %v", err)
	}
}
