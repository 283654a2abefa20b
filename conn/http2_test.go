package conn_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/h2test"
	"github.com/framewire/ws/internal/proxytest"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// startH2 starts an h2test server closed at the end of the test.
func startH2(t *testing.T, srv *http2.Server, cfg *tls.Config, h http.Handler) *h2test.Server {
	s := h2test.NewServer(srv, cfg, h)
	t.Cleanup(s.Close)
	return s
}

// tlsServer is the address and CA of a TLS server of the tests.
type tlsServer struct {
	URL   string
	roots *x509.CertPool
	h2    atomic.Int32 // connections that chose h2
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

// h2Dialer is a Dialer for the tests over HTTP/2.
func h2Dialer(mode conn.HTTP2Mode) *conn.Dialer {
	return noProxy(&conn.Dialer{HTTP2: mode})
}

// Over h2c with prior knowledge, a WebSocket opens with an extended
// CONNECT, echoes, and closes with the closing handshake.
func TestHTTP2Echo(t *testing.T) {
	checkLeaks(t)
	s := startH2(t, nil, nil, http.HandlerFunc(h2test.Echo))
	c := dial(t, h2Dialer(conn.HTTP2Only), s.URL+"/echo?x=1")
	ctx := testCtx(t)
	if c.Proto() != "HTTP/2.0" || c.StatusCode() != http.StatusOK {
		t.Errorf("Proto, Status = %q, %d; want HTTP/2.0, 200", c.Proto(), c.StatusCode())
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
		c, err := h2test.Accept(w, r, http.Header{"Sec-Websocket-Protocol": {"chat"}, "Set-Cookie": {"s=1"}}, nil)
		if err == nil {
			h2test.EchoLoop(c)
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
		if c, err := h2test.Accept(w, r, http.Header{"Sec-Websocket-Protocol": {"other"}}, nil); err == nil {
			h2test.EchoLoop(c)
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
func dualServer(t *testing.T, protos []string, h2 func(net.Conn), h1 wstest.Handler) *tlsServer {
	t.Helper()
	pool, cert := testCA(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: protos}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tlsServer{ln: ln, URL: "wss://" + ln.Addr().String(), roots: pool}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
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
					s.h2.Add(1)
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
		{"h2 with extended CONNECT", []string{"h2", "http/1.1"}, serveH2(h2test.Echo), "HTTP/2.0", nil, 0},
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
			s := startH2(t, &http2.Server{MaxConcurrentStreams: tc.maxStreams}, nil, http.HandlerFunc(h2test.Echo))
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
				wg.Go(func() { echoed(t, ctx, c, strings.Repeat("m", i*10)) })
			}
			wg.Wait()
			if got := s.Accepted.Load(); got != tc.wantTCP {
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
			if got := s.Accepted.Load(); got != tc.wantTCP {
				t.Errorf("after closing: %d TCP connections, want %d", got, tc.wantTCP)
			}
			c.Close(ctx, status.NormalClosure, "")
		})
	}

	t.Run("dead connection leaves", func(t *testing.T) {
		s := startH2(t, nil, nil, http.HandlerFunc(h2test.Echo))
		var pool conn.HTTP2Pool
		d := h2Dialer(conn.HTTP2Only)
		d.HTTP2Pool = &pool
		ctx := testCtx(t)
		c := dial(t, d, s.URL+"/")
		s.Drop()
		_, _, err := c.ReadMessage(ctx)
		if !errors.Is(err, conn.ErrConnectionLost) {
			t.Errorf("ReadMessage after the HTTP/2 connection died = %v, want ErrConnectionLost", err)
		}
		c = dial(t, d, s.URL+"/")
		echoed(t, ctx, c, "new connection")
		if got := s.Accepted.Load(); got != 2 {
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
		if _, err := h2test.Accept(w, r, nil, nil); err != nil {
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

// pipeH2 returns a Dialer for HTTP2Only whose every connection is a
// net.Pipe served by srv (nil: defaults) with h: for synctest bubbles,
// where everything runs on the bubble's clock. The server ends are closed
// at the end of the test.
func pipeH2(t *testing.T, srv *http2.Server, h http.HandlerFunc) *conn.Dialer {
	if srv == nil {
		srv = &http2.Server{}
	}
	// Configured, the server pools its channels itself rather than
	// process-wide: channels cannot pass from one bubble to another.
	if err := http2.ConfigureServer(&http.Server{}, srv); err != nil {
		t.Fatal(err)
	}
	return pipeDialer(t, func(server net.Conn, _ *sync.WaitGroup) {
		srv.ServeConn(server, &http2.ServeConnOpts{Handler: h})
	})
}

// pipeDialer returns a Dialer for HTTP2Only whose every connection is a
// net.Pipe whose server end serve runs on, in a goroutine of wg (which it
// may start more goroutines in). At the end of the test the server ends
// are closed and the goroutines waited for.
func pipeDialer(t *testing.T, serve func(server net.Conn, wg *sync.WaitGroup)) *conn.Dialer {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ends []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		for _, nc := range ends {
			nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	d := h2Dialer(conn.HTTP2Only)
	d.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		client, server := net.Pipe()
		mu.Lock()
		ends = append(ends, server)
		mu.Unlock()
		wg.Go(func() { serve(server, &wg) })
		return client, nil
	}
	return d
}

// The closing handshake is followed by END_STREAM both ways, whoever
// starts it; a server that never ends its side of the stream (as
// Hypercorn 0.13 does) is reset after h2CloseGrace, one second.
func TestHTTP2CloseEndsStream(t *testing.T) {
	for _, tc := range []struct {
		name      string
		serverEnd bool // the server ends its side after the closing handshake
		byServer  bool // the server starts the closing handshake
		wait      time.Duration
	}{
		{"client closes", true, false, 0},
		{"server closes", true, true, 0},
		{"server never ends its side", false, false, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rest := make(chan error, 1) // what the server reads after the closing handshake
				d := pipeH2(t, nil, func(w http.ResponseWriter, r *http.Request) {
					c, err := h2test.Accept(w, r, nil, nil)
					if err != nil {
						return
					}
					ctx := context.Background()
					if tc.byServer {
						c.Close(ctx, status.GoingAway, "bye")
					} else {
						h2test.EchoLoop(c)
					}
					_, err = r.Body.Read(make([]byte, 1))
					rest <- err
					if !tc.serverEnd {
						<-r.Context().Done()
					}
				})
				ctx := context.Background()
				c := dial(t, d, "ws://h2.test/")
				start := time.Now()
				var err error
				if tc.byServer {
					var ce *status.CloseError
					if _, _, err = c.ReadMessage(ctx); !errors.As(err, &ce) || ce.Code != status.GoingAway {
						t.Errorf("ReadMessage = %v, want the server's close 1001", err)
					}
				} else if err = c.Close(ctx, status.NormalClosure, ""); err != nil {
					t.Errorf("Close = %v", err)
				}
				if got := <-rest; got != io.EOF {
					t.Errorf("server read after the closing handshake: %v, want io.EOF (END_STREAM)", got)
				}
				synctest.Wait()
				if got := time.Since(start); got != tc.wait {
					t.Errorf("closing took %v, want %v", got, tc.wait)
				}
			})
		})
	}
}

// CloseNow resets the stream (RST_STREAM CANCEL) and leaves the other
// WebSockets of the HTTP/2 connection alone.
func TestHTTP2CloseNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reset := make(chan error, 2)
		d := pipeH2(t, nil, func(w http.ResponseWriter, r *http.Request) {
			if c, err := h2test.Accept(w, r, nil, nil); err == nil {
				h2test.EchoLoop(c)
				<-r.Context().Done()
				reset <- r.Context().Err()
			}
		})
		var pool conn.HTTP2Pool
		defer pool.Close()
		d.HTTP2Pool = &pool
		ctx := context.Background()
		a := dial(t, d, "ws://h2.test/")
		b := dial(t, d, "ws://h2.test/")
		echoed(t, ctx, a, "a")
		start := time.Now()
		if err := a.CloseNow(); err != nil {
			t.Errorf("CloseNow = %v", err)
		}
		if err := <-reset; err == nil || time.Since(start) != 0 {
			t.Errorf("the server's stream ended after %v with %v; want a reset at once", time.Since(start), err)
		}
		echoed(t, ctx, b, "b still works")
		b.Close(ctx, status.NormalClosure, "")
	})
}

// The dial over HTTP/2 is bounded by HandshakeTimeout and ended by its
// context, with a *conn.TimeoutError, at once and at the right time.
func TestHTTP2DialTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration // HandshakeTimeout
		cancel  time.Duration // cancel the context after
		want    error
		at      time.Duration
	}{
		{"HandshakeTimeout", 2 * time.Second, 0, context.DeadlineExceeded, 2 * time.Second},
		{"default HandshakeTimeout", 0, 0, context.DeadlineExceeded, conn.DefaultHandshakeTimeout},
		{"cancel", -1, 3 * time.Second, context.Canceled, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := pipeH2(t, nil, func(w http.ResponseWriter, r *http.Request) {
					<-r.Context().Done() // never answers
				})
				d.HandshakeTimeout = tc.timeout
				ctx := context.Background()
				if tc.cancel > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					time.AfterFunc(tc.cancel, cancel)
				}
				start := time.Now()
				_, err := d.Dial(ctx, "ws://h2.test/")
				var te *conn.TimeoutError
				if !errors.As(err, &te) || !errors.Is(err, tc.want) {
					t.Errorf("Dial = %v, want a *TimeoutError matching %v", err, tc.want)
				}
				if got := time.Since(start); got != tc.at {
					t.Errorf("Dial ended after %v, want %v", got, tc.at)
				}
			})
		})
	}
}

// A receive stopped by its context loses no byte: the next one reads the
// message whose first bytes had arrived before the deadline.
func TestHTTP2ReadTimeoutResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := pipeH2(t, nil, func(w http.ResponseWriter, r *http.Request) {
			if _, err := h2test.Accept(w, r, nil, nil); err != nil {
				return
			}
			rc := http.NewResponseController(w)
			w.Write([]byte{0x81, 5, 'h', 'e'})
			rc.Flush()
			time.Sleep(2 * time.Second)
			w.Write([]byte{'l', 'l', 'o'})
			rc.Flush()
			<-r.Context().Done()
		})
		c := dial(t, d, "ws://h2.test/")
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _, err := c.ReadMessage(ctx)
		var te *conn.TimeoutError
		if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ReadMessage = %v, want a *TimeoutError", err)
		}
		time.Sleep(3 * time.Second) // the rest arrives while no receive waits
		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, p, err := c.ReadMessage(ctx)
		if err != nil || string(p) != "hello" {
			t.Errorf("ReadMessage after the timeout = %q, %v; want hello", p, err)
		}
	})
}

// A WebSocket whose peer stops reading blocks only itself: its send stops
// at its context's deadline, while another WebSocket on the same HTTP/2
// connection goes on, in both directions.
func TestHTTP2FlowControl(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &http2.Server{MaxUploadBufferPerConnection: 4 << 20, MaxUploadBufferPerStream: 256 << 10}
		d := pipeH2(t, srv, func(w http.ResponseWriter, r *http.Request) {
			c, err := h2test.Accept(w, r, nil, nil)
			if err != nil {
				return
			}
			switch r.URL.Path {
			case "/deaf": // reads nothing
				<-r.Context().Done()
			case "/flood": // sends 2 MiB, more than the client's stream window
				c.WriteMessage(context.Background(), frame.OpBinary, make([]byte, 2<<20))
				<-r.Context().Done()
			default:
				h2test.EchoLoop(c)
			}
		})
		var pool conn.HTTP2Pool
		defer pool.Close()
		d.HTTP2Pool = &pool
		deaf := dial(t, d, "ws://h2.test/deaf")
		flood := dial(t, d, "ws://h2.test/flood")
		echo := dial(t, d, "ws://h2.test/echo")

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		for range 8 {
			if err = deaf.WriteMessage(ctx, frame.OpBinary, make([]byte, 128<<10)); err != nil {
				break
			}
		}
		var te *conn.TimeoutError
		if !errors.As(err, &te) {
			t.Errorf("sending 1 MiB to a peer that does not read: %v, want a *TimeoutError", err)
		}
		synctest.Wait()
		echoed(t, context.Background(), echo, "still flowing")
		big := make([]byte, 300<<10) // more than the server's stream window
		if err := echo.WriteMessage(context.Background(), frame.OpBinary, big); err != nil {
			t.Fatalf("WriteMessage of %d bytes: %v", len(big), err)
		}
		if _, p, err := echo.ReadMessage(context.Background()); err != nil || len(p) != len(big) {
			t.Errorf("echo of %d bytes: %d bytes, %v", len(big), len(p), err)
		}
		_, p, err := flood.ReadMessage(context.Background())
		if err != nil || len(p) != 2<<20 {
			t.Errorf("ReadMessage of the flood = %d bytes, %v", len(p), err)
		}
	})
}

// permessage-deflate works over HTTP/2 as over HTTP/1.1.
func TestHTTP2Compression(t *testing.T) {
	checkLeaks(t)
	offer := make(chan string, 1)
	s := startH2(t, nil, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		offer <- r.Header.Get("Sec-Websocket-Extensions")
		c, err := h2test.Accept(w, r, http.Header{"Sec-Websocket-Extensions": {"permessage-deflate; server_max_window_bits=12"}},
			&conn.Config{Compression: &conn.Compression{Agreed: handshake.DeflateParams{ServerMaxWindowBits: 12}}})
		if err == nil {
			h2test.EchoLoop(c)
		}
	}))
	d := h2Dialer(conn.HTTP2Only)
	d.Config.Compression = &conn.Compression{Threshold: -1}
	c := dial(t, d, s.URL+"/")
	if got := recv(t, offer); !strings.HasPrefix(got, "permessage-deflate") {
		t.Errorf("offer = %q", got)
	}
	if p, ok := c.Compression(); !ok || p.ServerMaxWindowBits != 12 {
		t.Errorf("Compression = %+v, %v; want server_max_window_bits=12 agreed", p, ok)
	}
	ctx := testCtx(t)
	echoed(t, ctx, c, strings.Repeat("compress me ", 1000))
	c.Close(ctx, status.NormalClosure, "")
}

// Through an HTTP CONNECT or a SOCKS5 proxy, with credentials, the HTTP/2
// connection and its TLS run inside the tunnel; pooled WebSockets share
// one tunnel.
func TestHTTP2Proxy(t *testing.T) {
	for _, tc := range []struct {
		scheme string
		start  func(testing.TB, proxytest.Config) *proxytest.Server
	}{
		{"http", proxytest.NewHTTP},
		{"socks5", proxytest.NewSOCKS5},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			checkLeaks(t)
			s := dualServer(t, []string{"h2"}, serveH2(h2test.Echo), nil)
			px := tc.start(t, proxytest.Config{User: "u", Password: "p"})
			pu, _ := url.Parse(tc.scheme + "://u:p@" + px.Addr)
			var pool conn.HTTP2Pool
			defer pool.Close()
			d := &conn.Dialer{HTTP2: conn.HTTP2Only, HTTP2Pool: &pool, Proxy: http.ProxyURL(pu), TLSConfig: &tls.Config{RootCAs: s.roots}}
			ctx := testCtx(t)
			for i := range 2 {
				c := dial(t, d, s.URL+"/")
				echoed(t, ctx, c, "via proxy "+strconv.Itoa(i))
				if c.Proto() != "HTTP/2.0" {
					t.Errorf("Proto = %q", c.Proto())
				}
				defer c.Close(ctx, status.NormalClosure, "")
			}
			if reqs := px.Requests(); len(reqs) != 1 || reqs[0].User != "u" {
				t.Errorf("proxy requests %+v, want one, from u", reqs)
			}
		})
	}
}

// Dialers that give the proxy different header fields, credentials in
// Proxy-Authorization, never share a pooled tunnel; equal ones do.
func TestHTTP2PoolProxyHeader(t *testing.T) {
	checkLeaks(t)
	s := dualServer(t, []string{"h2"}, serveH2(h2test.Echo), nil)
	px := proxytest.NewHTTP(t, proxytest.Config{})
	pu, _ := url.Parse("http://" + px.Addr)
	var pool conn.HTTP2Pool
	defer pool.Close()
	ctx := testCtx(t)
	tc := &tls.Config{RootCAs: s.roots} // one configuration: sharing is the proxy's to decide
	for i, user := range []string{"alice", "mallory", "alice"} {
		cred := base64.StdEncoding.EncodeToString([]byte(user + ":pw"))
		d := &conn.Dialer{HTTP2: conn.HTTP2Only, HTTP2Pool: &pool, Proxy: http.ProxyURL(pu),
			TLSConfig: tc, ProxyHeader: http.Header{"Proxy-Authorization": {"Basic " + cred}}}
		c := dial(t, d, s.URL+"/")
		echoed(t, ctx, c, "as "+user+" "+strconv.Itoa(i))
		defer c.Close(ctx, status.NormalClosure, "")
	}
	var users []string
	for _, r := range px.Requests() {
		users = append(users, r.User)
	}
	if len(users) != 2 || users[0] != "alice" || users[1] != "mallory" {
		t.Errorf("tunnels opened by %q, want one for alice and one for mallory", users)
	}
}

// A redirect answering the extended CONNECT is followed as over HTTP/1.1.
func TestHTTP2Redirect(t *testing.T) {
	checkLeaks(t)
	s := startH2(t, nil, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			w.Header().Set("Location", "/new")
			w.WriteHeader(http.StatusFound)
			return
		}
		if c, err := h2test.Accept(w, r, nil, nil); err == nil {
			c.WriteMessage(context.Background(), frame.OpText, []byte(r.URL.Path))
			h2test.EchoLoop(c)
		}
	}))
	c := dial(t, h2Dialer(conn.HTTP2Only), s.URL+"/old")
	ctx := testCtx(t)
	if _, p, err := c.ReadMessage(ctx); err != nil || string(p) != "/new" {
		t.Errorf("ReadMessage = %q, %v; want /new", p, err)
	}
	c.Close(ctx, status.NormalClosure, "")
}

// With a pool, a server without extended CONNECT costs one HTTP/2
// connection, whatever the number of dials that fall back to HTTP/1.1.
func TestHTTP2PoolRemembersFallback(t *testing.T) {
	checkLeaks(t)
	s := dualServer(t, []string{"h2", "http/1.1"}, noConnectH2, wstest.Echo)
	var pool conn.HTTP2Pool
	defer pool.Close()
	d := h2Dialer(conn.HTTP2Prefer)
	d.TLSConfig = &tls.Config{RootCAs: s.roots}
	d.HTTP2Pool = &pool
	ctx := testCtx(t)
	for range 3 {
		c := dial(t, d, s.URL+"/")
		echoed(t, ctx, c, "fallback")
		if c.Proto() != "HTTP/1.1" {
			t.Errorf("Proto = %q, want HTTP/1.1", c.Proto())
		}
		c.Close(ctx, status.NormalClosure, "")
	}
	if got := s.h2.Load(); got != 1 {
		t.Errorf("%d HTTP/2 connections, want 1: the pooled one is asked again", got)
	}
}

// Dials through a pool to a server whose ALPN chooses http/1.1 do not wait
// for each other: those that waited for the first to learn the server's
// limit, and those that follow, each open their connection at once, as
// without a pool.
func TestHTTP2PoolALPNFallbackConcurrent(t *testing.T) {
	checkLeaks(t)
	s := dualServer(t, []string{"http/1.1"}, nil, wstest.Echo)
	var pool conn.HTTP2Pool
	defer pool.Close()
	const n = 3
	var (
		mu      sync.Mutex
		inside  int    // dials in NetDial now
		most    int    // the most at once
		first   = true // the first dial, held until the others wait
		release = make(chan struct{})
	)
	nd := new(net.Dialer)
	d := h2Dialer(conn.HTTP2Prefer)
	d.TLSConfig = &tls.Config{RootCAs: s.roots}
	d.HTTP2Pool = &pool
	d.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		opener := first
		first = false
		inside++
		most = max(most, inside)
		mu.Unlock()
		if opener {
			<-release
		} else {
			// Wait, a little, for the others to come in too.
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
				mu.Lock()
				all := most == n
				mu.Unlock()
				if all {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		mu.Lock()
		inside--
		mu.Unlock()
		return nd.DialContext(ctx, network, addr)
	}
	ctx := testCtx(t)
	burst := func(k int) {
		var wg sync.WaitGroup
		for range k {
			wg.Go(func() {
				c, err := d.Dial(ctx, s.URL+"/")
				if err != nil {
					t.Error(err)
					return
				}
				if c.Proto() != "HTTP/1.1" {
					t.Errorf("Proto = %q, want HTTP/1.1", c.Proto())
				}
				c.Close(ctx, status.NormalClosure, "")
			})
		}
		wg.Wait()
	}
	// The first dial opens; the others wait for it, then dial together.
	go func() {
		time.Sleep(100 * time.Millisecond) // the others are waiting
		close(release)
	}()
	burst(n + 1)
	if most != n {
		t.Errorf("the dials that waited dialled %d at a time, want %d", most, n)
	}
	// The origin is known: a second burst dials together at once.
	most = 0
	burst(n)
	if most != n {
		t.Errorf("later dials dialled %d at a time, want %d", most, n)
	}
}

// Dialers with different TLS configurations do not share an HTTP/2
// connection through one pool; Dialers with the same one do.
func TestHTTP2PoolTLSIdentity(t *testing.T) {
	checkLeaks(t)
	s := dualServer(t, []string{"h2"}, serveH2(h2test.Echo), nil)
	var pool conn.HTTP2Pool
	defer pool.Close()
	shared := &tls.Config{RootCAs: s.roots}
	ctx := testCtx(t)
	for i, cfg := range []*tls.Config{shared, shared, {RootCAs: s.roots}} {
		d := &conn.Dialer{HTTP2: conn.HTTP2Only, HTTP2Pool: &pool, TLSConfig: cfg}
		c := dial(t, d, s.URL+"/")
		echoed(t, ctx, c, "tls "+strconv.Itoa(i))
		defer c.Close(ctx, status.NormalClosure, "")
	}
	if got := s.h2.Load(); got != 2 {
		t.Errorf("%d HTTP/2 connections for two TLS configurations, want 2", got)
	}
}

// The trace shows the answer to an extended CONNECT as HTTP/2.0.
func TestHTTP2TraceStatusLine(t *testing.T) {
	checkLeaks(t)
	s := startH2(t, nil, nil, http.HandlerFunc(h2test.Echo))
	var trace strings.Builder
	d := h2Dialer(conn.HTTP2Only)
	d.Config.Trace = &trace
	c := dial(t, d, s.URL+"/")
	c.Close(testCtx(t), status.NormalClosure, "")
	if !strings.Contains(trace.String(), "\nHTTP/2.0 200 OK\n") || strings.Contains(trace.String(), "HTTP/1.1") {
		t.Errorf("trace:\n%s\nwant the status line HTTP/2.0 200 OK", trace.String())
	}
}

// A pooled HTTP/2 connection that carries no WebSocket for 90 seconds is
// closed; one in use is not.
func TestHTTP2PoolIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gone := make(chan struct{})
		d := pipeH2(t, nil, func(w http.ResponseWriter, r *http.Request) {
			if c, err := h2test.Accept(w, r, nil, nil); err == nil {
				h2test.EchoLoop(c)
			}
		})
		nd := d.NetDial
		d.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := nd(ctx, network, addr)
			return &closeSignal{Conn: nc, closed: gone}, err
		}
		var pool conn.HTTP2Pool
		defer pool.Close()
		d.HTTP2Pool = &pool
		ctx := context.Background()
		c := dial(t, d, "ws://h2.test/")
		time.Sleep(2 * time.Minute)
		echoed(t, ctx, c, "in use for two minutes")
		c.Close(ctx, status.NormalClosure, "")
		start := time.Now()
		select {
		case <-gone:
		case <-time.After(time.Hour):
		}
		if got := time.Since(start); got != 90*time.Second {
			t.Errorf("idle connection closed after %v, want 90s", got)
		}
	})
}

// closeSignal is a net.Conn that closes closed when it is closed.
type closeSignal struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func (c *closeSignal) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
