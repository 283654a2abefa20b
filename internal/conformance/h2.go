package conformance

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/framewire/ws/internal/selfsigned"
)

// Protocols are the protocols the fuzzing server speaks on one listener:
// HTTP/1.1, and HTTP/2 over which a client opens WebSockets with an
// extended CONNECT (RFC 8441) when the process started with xconnect.Env
// in GODEBUG; in clear text HTTP/2 with prior knowledge (h2c, RFC 9113
// §3.3), over TLS HTTP/2 chosen by ALPN (h2).
func Protocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	p.SetHTTP2(true)
	return p
}

// Listener serves a fuzzing server on 127.0.0.1 with [Protocols].
type Listener struct {
	// URL is the server's base URL: ws://127.0.0.1:port, or wss://... over
	// TLS.
	URL string
	// RootCAs holds the certificate of a TLS listener, for the client to
	// trust; nil in clear text.
	RootCAs *x509.CertPool

	hs   *http.Server
	done chan struct{}
}

// Listen serves h on a new port of 127.0.0.1 until Close: in clear text,
// or, with useTLS, over TLS with a self-signed certificate for 127.0.0.1
// and localhost made for this listener, offering h2 and http/1.1 in ALPN.
func Listen(h http.Handler, useTLS bool) (*Listener, error) {
	var cfg *tls.Config
	var roots *x509.CertPool
	if useTLS {
		cert, err := selfsigned.Certificate("framewire conformance server")
		if err != nil {
			return nil, err
		}
		roots = x509.NewCertPool()
		roots.AddCert(cert.Leaf)
		cfg = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &Listener{
		URL:     "ws://" + ln.Addr().String(),
		RootCAs: roots,
		hs:      &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, Protocols: Protocols(), TLSConfig: cfg},
		done:    make(chan struct{}),
	}
	go func() {
		defer close(l.done)
		if useTLS {
			l.hs.ServeTLS(ln, "", "") // ALPN from Protocols
			return
		}
		l.hs.Serve(ln)
	}()
	if useTLS {
		l.URL = "wss://" + ln.Addr().String()
	}
	return l, nil
}

// Close stops the listener and closes its connections: the cases running
// end as over a dropped connection.
func (l *Listener) Close() {
	l.hs.Close()
	<-l.done
}

// isExtendedConnect reports whether r opens a WebSocket over HTTP/2
// (RFC 8441 §4).
func isExtendedConnect(r *http.Request) bool {
	return r.ProtoMajor == 2 && r.Method == http.MethodConnect
}

// streamWriteWait bounds a write still blocked, by the client's flow
// control, when the server closes the stream.
const streamWriteWait = time.Second

// streamConn is the server's side of one HTTP/2 stream that carries a
// WebSocket (RFC 8441 §5), as a net.Conn: the request body is what the
// client sends, the response body what the server sends, each write a
// DATA frame of its own. Close ends the server's side of the stream with
// END_STREAM once the handler returns; Abort resets the stream at once
// (RST_STREAM), which is to HTTP/2 what dropping TCP is to HTTP/1.1.
type streamConn struct {
	body io.ReadCloser
	w    http.ResponseWriter
	rc   *http.ResponseController
	addr net.Addr

	mu      sync.Mutex
	closed  bool // Close or Abort was called
	aborted bool
	done    bool // the handler returned: w is no longer usable
}

func newStreamConn(w http.ResponseWriter, r *http.Request) *streamConn {
	return &streamConn{body: r.Body, w: w, rc: http.NewResponseController(w), addr: streamAddr(r.RemoteAddr)}
}

func (c *streamConn) Read(p []byte) (int, error) {
	n, err := c.body.Read(p)
	if err != nil && err != io.EOF && c.isClosed() {
		err = net.ErrClosed
	}
	return n, err
}

func (c *streamConn) Write(p []byte) (int, error) {
	if c.isClosed() {
		return 0, net.ErrClosed
	}
	n, err := c.w.Write(p)
	if err == nil {
		err = c.rc.Flush()
	}
	return n, err
}

func (c *streamConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Close stops reading and writing; the stream ends with END_STREAM when
// the handler returns. A write the client's flow control holds back fails
// after streamWriteWait, resetting the stream.
func (c *streamConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.done {
		return nil
	}
	c.closed = true
	c.body.Close()
	return c.rc.SetWriteDeadline(time.Now().Add(streamWriteWait))
}

// Abort resets the stream at once (RST_STREAM INTERNAL_ERROR, as net/http
// writes on a passed write deadline).
func (c *streamConn) Abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted || c.done {
		return
	}
	c.closed, c.aborted = true, true
	c.body.Close()
	c.rc.SetWriteDeadline(time.Unix(1, 0))
}

// handlerDone is called before the handler returns; w is unusable after.
func (c *streamConn) handlerDone() {
	c.mu.Lock()
	c.done = true
	c.mu.Unlock()
}

func (c *streamConn) LocalAddr() net.Addr  { return c.addr }
func (c *streamConn) RemoteAddr() net.Addr { return c.addr }
func (c *streamConn) SetDeadline(t time.Time) error {
	if err := c.rc.SetReadDeadline(t); err != nil {
		return err
	}
	return c.rc.SetWriteDeadline(t)
}
func (c *streamConn) SetReadDeadline(t time.Time) error  { return c.rc.SetReadDeadline(t) }
func (c *streamConn) SetWriteDeadline(t time.Time) error { return c.rc.SetWriteDeadline(t) }

// streamAddr is the address of an HTTP/2 stream's client.
type streamAddr string

func (a streamAddr) Network() string { return "h2" }
func (a streamAddr) String() string  { return string(a) }

// aborter is a connection that can end more abruptly than Close:
// streamConn.
type aborter interface{ Abort() }

// abort ends nc the abrupt way: a reset stream over HTTP/2, a closed TCP
// connection over HTTP/1.1.
func abort(nc net.Conn) {
	if a, ok := nc.(aborter); ok {
		a.Abort()
		return
	}
	nc.Close()
}
