package conn_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// h2Server is an HTTP/2 server on 127.0.0.1 (x/net/http2's, with extended
// CONNECT enabled by TestMain), in clear (h2c with prior knowledge) or
// over TLS with ALPN h2. It counts the TCP connections it accepted.
type h2Server struct {
	URL      string
	roots    *x509.CertPool // the CA of a TLS server
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

// h2Request records what the server got in an extended CONNECT.
type h2Request struct {
	method, protocol, path, authority string
	header                            http.Header
}

// The extended CONNECT carries RFC 8441 §4-5's fields and the Dialer's
// options, and no Sec-WebSocket-Key; the answer's subprotocol and cookies
// are used as over HTTP/1.1.
func TestHTTP2Request(t *testing.T) {
	checkLeaks(t)
	got := make(chan h2Request, 1)
	s := startH2(t, nil, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- h2Request{r.Method, r.Header.Get(":protocol"), r.URL.RequestURI(), r.Host, r.Header.Clone()}
		c, err := h2Accept(w, r, http.Header{"Sec-Websocket-Protocol": {"chat"}, "Set-Cookie": {"s=1"}}, nil)
		if err == nil {
			echoLoop(c)
		}
	}))
	jar, _ := cookiejar.New(nil)
	d := h2Dialer(conn.HTTP2Only)
	d.Subprotocols = []string{"superchat", "chat"}
	d.Origin = "https://example.test"
	d.Cookie = "a=b"
	d.Jar = jar
	d.Header = http.Header{"X-Token": {"t1"}, "Sec-Websocket-Key": {"ignored"}}
	c := dial(t, d, s.URL+"/chat?room=1")
	r := recv(t, got)
	if r.method != "CONNECT" || r.protocol != "websocket" || r.path != "/chat?room=1" || r.authority != strings.TrimPrefix(s.URL, "ws://") {
		t.Errorf("request = %s %s %s %s", r.method, r.protocol, r.path, r.authority)
	}
	for name, want := range map[string]string{
		"Sec-Websocket-Version":  "13",
		"Sec-Websocket-Protocol": "superchat,chat",
		"Origin":                 "https://example.test",
		"Cookie":                 "a=b",
		"X-Token":                "t1",
		"Sec-Websocket-Key":      "",
		"Upgrade":                "",
		"User-Agent":             "",
	} {
		if v := strings.Join(r.header[name], ","); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	if c.Subprotocol() != "chat" {
		t.Errorf("Subprotocol = %q", c.Subprotocol())
	}
	if cs := jar.Cookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(s.URL, "ws://")}); len(cs) != 1 || cs[0].Value != "1" {
		t.Errorf("jar = %v, want s=1 from the answer", cs)
	}
	c.Close(testCtx(t), status.NormalClosure, "")
}

// An answer that selects a subprotocol not offered fails the dial as over
// HTTP/1.1, and so does a refusal with HTTP2Only.
func TestHTTP2AnswerChecked(t *testing.T) {
	checkLeaks(t)
	s := startH2(t, nil, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/refuse" {
			http.Error(w, "go away", http.StatusForbidden)
			return
		}
		if c, err := h2Accept(w, r, http.Header{"Sec-Websocket-Protocol": {"other"}}, nil); err == nil {
			echoLoop(c)
		}
	}))
	d := h2Dialer(conn.HTTP2Only)
	d.Subprotocols = []string{"chat"}
	if err := dialErr(t, d, s.URL+"/"); !errors.Is(err, handshake.ErrBadSubprotocol) {
		t.Errorf("Dial with a subprotocol not offered = %v, want ErrBadSubprotocol", err)
	}
	err := dialErr(t, d, s.URL+"/refuse")
	var se *handshake.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusForbidden || !strings.Contains(string(se.Body), "go away") {
		t.Errorf("Dial refused = %v, want a *StatusError 403 with its body", err)
	}
}

// noConnectH2 is an HTTP/2 server that does not set
// SETTINGS_ENABLE_CONNECT_PROTOCOL: it sends empty SETTINGS and reads
// frames until the client leaves.
func noConnectH2(nc net.Conn) {
	defer nc.Close()
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(nc, preface); err != nil {
		return
	}
	fr := http2.NewFramer(nc, nc)
	if fr.WriteSettings() != nil {
		return
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			fr.WriteSettingsAck()
		}
	}
}

// dualServer is a TLS server on 127.0.0.1 that offers protos in ALPN and
// serves a connection that chose h2 with h2 and any other with the
// HTTP/1.1 WebSocket handler h1.
func dualServer(t *testing.T, protos []string, h2 func(net.Conn), h1 wstest.Handler) *h2Server {
	t.Helper()
	pool, cert := testCA(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: protos}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &h2Server{ln: ln, URL: "wss://" + ln.Addr().String(), roots: pool}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			tc := tls.Server(nc, cfg)
			s.mu.Lock()
			s.conns = append(s.conns, tc)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer tc.Close()
				if tc.Handshake() != nil {
					return
				}
				if tc.ConnectionState().NegotiatedProtocol == "h2" {
					h2(tc)
					return
				}
				wstest.Serve(tc, h1)
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

// serveH2 serves nc with x/net/http2's server and handler h.
func serveH2(h http.HandlerFunc) func(net.Conn) {
	return func(nc net.Conn) {
		(&http2.Server{}).ServeConn(nc, &http2.ServeConnOpts{Handler: h})
	}
}

// HTTP2Prefer uses HTTP/2 where the server agrees and falls back to
// HTTP/1.1 when ALPN chooses http/1.1, when the server does not set
// SETTINGS_ENABLE_CONNECT_PROTOCOL and when it refuses the CONNECT;
// HTTP2Only fails in each case with a typed error.
func TestHTTP2Fallback(t *testing.T) {
	checkLeaks(t)
	refuse := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusNotImplemented) }
	for _, tc := range []struct {
		name     string
		protos   []string
		h2       func(net.Conn)
		prefer   string // Proto with HTTP2Prefer
		onlyErr  error  // what HTTP2Only fails with, nil: succeeds
		onlyCode int    // the status of a refusal with HTTP2Only
	}{
		{"h2 with extended CONNECT", []string{"h2", "http/1.1"}, serveH2(h2Echo), "HTTP/2.0", nil, 0},
		{"ALPN http/1.1", []string{"http/1.1"}, nil, "HTTP/1.1", conn.ErrHTTP2Unavailable, 0},
		{"no SETTINGS_ENABLE_CONNECT_PROTOCOL", []string{"h2", "http/1.1"}, noConnectH2, "HTTP/1.1", conn.ErrHTTP2Unavailable, 0},
		{"CONNECT refused", []string{"h2", "http/1.1"}, serveH2(refuse), "HTTP/1.1", handshake.ErrBadStatus, http.StatusNotImplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := dualServer(t, tc.protos, tc.h2, wstest.Echo)
			d := h2Dialer(conn.HTTP2Prefer)
			d.TLSConfig = &tls.Config{RootCAs: s.roots}
			c := dial(t, d, s.URL+"/")
			ctx := testCtx(t)
			echoed(t, ctx, c, "over "+tc.prefer)
			if c.Proto() != tc.prefer {
				t.Errorf("Prefer: Proto = %q, want %q", c.Proto(), tc.prefer)
			}
			c.Close(ctx, status.NormalClosure, "")

			d.HTTP2 = conn.HTTP2Only
			if tc.onlyErr == nil {
				c := dial(t, d, s.URL+"/")
				echoed(t, ctx, c, "only")
				c.Close(ctx, status.NormalClosure, "")
				return
			}
			err := dialErr(t, d, s.URL+"/")
			if !errors.Is(err, tc.onlyErr) {
				t.Fatalf("Only: Dial = %v, want %v", err, tc.onlyErr)
			}
			var se *handshake.StatusError
			if tc.onlyCode != 0 && (!errors.As(err, &se) || se.StatusCode != tc.onlyCode) {
				t.Errorf("Only: Dial = %v, want a *StatusError %d", err, tc.onlyCode)
			}
		})
	}
}

// A ws URL is dialled over HTTP/1.1 with HTTP2Prefer (no ALPN to learn
// about HTTP/2 from), and over h2c with HTTP2Only, which fails against a
// server without extended CONNECT.
func TestHTTP2Cleartext(t *testing.T) {
	checkLeaks(t)
	s := serve(t, wstest.Echo)
	c := dial(t, h2Dialer(conn.HTTP2Prefer), s.URL)
	if c.Proto() != "HTTP/1.1" {
		t.Errorf("ws with HTTP2Prefer: Proto = %q", c.Proto())
	}
	c.Close(testCtx(t), status.NormalClosure, "")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if nc, err := ln.Accept(); err == nil {
			noConnectH2(nc)
		}
	}()
	if err := dialErr(t, h2Dialer(conn.HTTP2Only), "ws://"+ln.Addr().String()+"/"); !errors.Is(err, conn.ErrHTTP2Unavailable) {
		t.Errorf("h2c without extended CONNECT: Dial = %v, want ErrHTTP2Unavailable", err)
	}
	<-done
}

// WebSockets dialled through one HTTP2Pool share one HTTP/2 connection;
// with MAX_CONCURRENT_STREAMS 1 each needs its own; a connection that
// dies leaves the pool; a closed pool refuses dials.
func TestHTTP2Pool(t *testing.T) {
	checkLeaks(t)
	for _, tc := range []struct {
		name       string
		maxStreams uint32
		n          int
		wantTCP    int32
	}{
		{"shared", 0, 8, 1},
		{"MAX_CONCURRENT_STREAMS 1", 1, 3, 3},
		{"MAX_CONCURRENT_STREAMS 2", 2, 5, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startH2(t, &http2.Server{MaxConcurrentStreams: tc.maxStreams}, nil, http.HandlerFunc(h2Echo))
			var pool conn.HTTP2Pool
			defer pool.Close()
			d := h2Dialer(conn.HTTP2Only)
			d.HTTP2Pool = &pool
			ctx := testCtx(t)
			cs := make([]*conn.Conn, tc.n)
			var wg sync.WaitGroup
			for i := range cs {
				wg.Go(func() {
					c, err := d.Dial(ctx, s.URL+"/")
					if err != nil {
						t.Errorf("Dial %d: %v", i, err)
						return
					}
					cs[i] = c
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			for i, c := range cs {
				wg.Go(func() { echoed(t, ctx, c, strings.Repeat("m", i*1000)) })
			}
			wg.Wait()
			if got := s.accepted.Load(); got != tc.wantTCP {
				t.Errorf("%d WebSockets over %d TCP connections, want %d", tc.n, got, tc.wantTCP)
			}
			for _, c := range cs {
				if err := c.Close(ctx, status.NormalClosure, ""); err != nil {
					t.Errorf("Close = %v", err)
				}
			}
			// Streams given back: the next WebSocket reuses a connection.
			c := dial(t, d, s.URL+"/")
			echoed(t, ctx, c, "again")
			if got := s.accepted.Load(); got != tc.wantTCP {
				t.Errorf("after closing: %d TCP connections, want %d", got, tc.wantTCP)
			}
			c.Close(ctx, status.NormalClosure, "")
		})
	}

	t.Run("dead connection leaves", func(t *testing.T) {
		s := startH2(t, nil, nil, http.HandlerFunc(h2Echo))
		var pool conn.HTTP2Pool
		d := h2Dialer(conn.HTTP2Only)
		d.HTTP2Pool = &pool
		ctx := testCtx(t)
		c := dial(t, d, s.URL+"/")
		s.mu.Lock()
		s.conns[0].Close()
		s.mu.Unlock()
		_, _, err := c.ReadMessage(ctx)
		if !errors.Is(err, conn.ErrConnectionLost) {
			t.Errorf("ReadMessage after the HTTP/2 connection died = %v, want ErrConnectionLost", err)
		}
		c = dial(t, d, s.URL+"/")
		echoed(t, ctx, c, "new connection")
		if got := s.accepted.Load(); got != 2 {
			t.Errorf("%d TCP connections, want 2", got)
		}
		c.Close(ctx, status.NormalClosure, "")
		pool.Close()
		if err := dialErr(t, d, s.URL+"/"); !errors.Is(err, conn.ErrPoolClosed) {
			t.Errorf("Dial through a closed pool = %v, want ErrPoolClosed", err)
		}
	})
}

// RST_STREAM from the server in the middle of a message is a lost
// connection, as a TCP reset is.
func TestHTTP2StreamReset(t *testing.T) {
	checkLeaks(t)
	s := startH2(t, nil, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := h2Accept(w, r, nil, nil); err != nil {
			return
		}
		w.Write([]byte{0x82, 10, 'h', 'a', 'l', 'f'}) // 4 of 10 payload bytes
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // RST_STREAM
	}))
	var pool conn.HTTP2Pool
	defer pool.Close()
	d := h2Dialer(conn.HTTP2Only)
	d.HTTP2Pool = &pool
	c := dial(t, d, s.URL+"/")
	_, _, err := c.ReadMessage(testCtx(t))
	var ce *status.CloseError
	if !errors.Is(err, conn.ErrConnectionLost) || !errors.As(err, &ce) || ce.Code != status.AbnormalClosure {
		t.Errorf("ReadMessage = %v, want ErrConnectionLost with 1006", err)
	}
	if err := c.WriteMessage(testCtx(t), frame.OpText, []byte("x")); !errors.Is(err, conn.ErrClosed) {
		t.Errorf("WriteMessage after the reset = %v, want ErrClosed", err)
	}
}
