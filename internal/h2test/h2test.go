package h2test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/internal/xconnect"
)

// Main runs the tests of m with extended CONNECT enabled in x/net/http2's
// Server: when GODEBUG lacks http2xconnect=1, it runs the test binary
// again with it added and exits with its status.
func Main(m *testing.M) {
	if status, ran := xconnect.Reexec(); ran {
		os.Exit(status)
	}
	os.Exit(m.Run())
}

// Server is an HTTP/2 server on 127.0.0.1 that runs an http.Handler for
// every stream. It counts the TCP connections it accepted.
type Server struct {
	// URL is "ws://127.0.0.1:port" (h2c with prior knowledge), or
	// "wss://..." with TLS, without a path.
	URL string

	// Accepted counts the TCP connections accepted so far.
	Accepted atomic.Int32

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

// NewServer starts srv (nil: the defaults) with handler h; a non-nil cfg
// turns TLS on, and should offer "h2" in NextProtos. It panics if it
// cannot listen, as httptest.NewServer does. Call Close when done.
func NewServer(srv *http2.Server, cfg *tls.Config, h http.Handler) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("h2test: " + err.Error())
	}
	if srv == nil {
		srv = &http2.Server{}
	}
	s := &Server{ln: ln, URL: "ws://" + ln.Addr().String()}
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
			s.Accepted.Add(1)
			if cfg != nil {
				nc = tls.Server(nc, cfg)
			}
			s.mu.Lock()
			s.conns = append(s.conns, nc)
			s.mu.Unlock()
			s.wg.Go(func() { srv.ServeConn(nc, &http2.ServeConnOpts{Handler: h}) })
		}
	}()
	return s
}

// Drop closes the TCP connections accepted so far, as a network failure
// would end them.
func (s *Server) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, nc := range s.conns {
		nc.Close()
	}
}

// Close stops listening, closes every connection and waits for the
// handlers to return.
func (s *Server) Close() {
	s.ln.Close()
	s.Drop()
	s.wg.Wait()
}

// stream is the server side of a WebSocket over an HTTP/2 stream, as a
// conn.Transport.
type stream struct {
	r  io.Reader
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s stream) Read(b []byte) (int, error) { return s.r.Read(b) }

func (s stream) Write(b []byte) (int, error) {
	n, err := s.w.Write(b)
	if err == nil {
		err = s.rc.Flush()
	}
	return n, err
}

// Close does nothing: the stream ends when the handler returns.
func (s stream) Close() error { return nil }

func (s stream) SetReadDeadline(t time.Time) error  { return s.rc.SetReadDeadline(t) }
func (s stream) SetWriteDeadline(t time.Time) error { return s.rc.SetWriteDeadline(t) }

// Accept checks that r is an extended CONNECT for a WebSocket (RFC 8441
// §4-5: :protocol websocket, Sec-WebSocket-Version 13), answers 200 with
// header, and returns the server Conn over the stream, configured by cfg
// (nil: the defaults) with RoleServer. A request that is not one is
// answered 400. The stream ends when the handler returns.
func Accept(w http.ResponseWriter, r *http.Request, header http.Header, cfg *conn.Config) (*conn.Conn, error) {
	if r.Method != http.MethodConnect || r.Header.Get(":protocol") != "websocket" || r.Header.Get("Sec-Websocket-Version") != "13" {
		http.Error(w, "not a WebSocket", http.StatusBadRequest)
		return nil, errors.New("h2test: not a WebSocket CONNECT")
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
	return conn.New(stream{r: r.Body, w: w, rc: rc}, &c), nil
}

// Echo is a handler that accepts a WebSocket and echoes every message
// until the closing handshake, then ends the stream.
func Echo(w http.ResponseWriter, r *http.Request) {
	if c, err := Accept(w, r, nil, nil); err == nil {
		EchoLoop(c)
	}
}

// EchoLoop echoes every message on c until an error, such as the closing
// handshake.
func EchoLoop(c *conn.Conn) {
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
