package wstest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/fragment"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/selfsigned"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/proxy"
	"github.com/framewire/ws/reader"
	"github.com/framewire/ws/status"
)

// ErrUnmasked reports a client frame that was not masked (RFC 6455 §5.1).
var ErrUnmasked = errors.New("wstest: client frame is not masked")

// ErrTooLarge reports a client frame over the peer's limit (64 MiB). A
// request head over its limit (64 KiB) never reaches the handler: it is
// answered with 431, as a malformed one is with 400 (see [Serve]).
var ErrTooLarge = errors.New("wstest: client sent too much")

// maxRequest bounds the request head a peer reads; maxFrame bounds a frame.
const (
	maxRequest = 64 << 10
	maxFrame   = 64 << 20
	minChunk   = 4 << 10 // first size of a frame's read buffer
)

// A Handler runs the server side of one connection. It gets a [Peer]
// whose request has been read, and answers it: with [Peer.Accept] for a
// server-role [conn.Conn], or byte by byte with the Peer's other methods.
// The connection is closed when the handler returns, unless the handler
// took it with [Peer.Hijack].
type Handler func(p *Peer)

// Server is a WebSocket server on 127.0.0.1 that runs a [Handler] for each
// connection, as net/http/httptest's Server runs an http.Handler.
type Server struct {
	// URL is "ws://127.0.0.1:port" ("wss://" for [NewTLSServer]), without
	// a path.
	URL string
	// Addr is "127.0.0.1:port".
	Addr string

	h    Handler
	ln   net.Listener
	cert *x509.Certificate // the TLS certificate, if there is one

	stopping atomic.Bool // set by Close: a Trickle's pause ends

	mu     sync.Mutex
	idle   sync.Cond // broadcast when running drops to zero
	conns  map[net.Conn]struct{}
	run    int // goroutines started: the accept loop and the handlers
	closed bool
}

// NewServer starts a server on 127.0.0.1 on a free port. It panics if it
// cannot listen, as httptest.NewServer does. Call [Server.Close] when done.
func NewServer(h Handler) *Server {
	return newServer(h, nil)
}

// NewTLSServer is [NewServer] with TLS: the listener is wrapped with
// tls.NewListener(cfg) and URL starts with "wss://". When cfg is nil or
// holds no certificate (neither Certificates nor GetCertificate), the
// server makes a self-signed one of its own, valid for 127.0.0.1, ::1 and
// "localhost" from 1970 to 2100 (so that a client in a testing/synctest
// bubble, whose clock starts in 2000, accepts it too). [Server.Certificate]
// returns the certificate and [Server.Dialer] a Dialer that trusts it, as
// httptest's Certificate and Client do. It panics if it cannot listen or
// make the certificate.
func NewTLSServer(h Handler, cfg *tls.Config) *Server {
	if cfg == nil {
		cfg = new(tls.Config)
	}
	if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil {
		cert, err := selfsigned.Certificate("wstest")
		if err != nil {
			panic("wstest: cannot make a certificate: " + err.Error())
		}
		cfg = cfg.Clone()
		cfg.Certificates = []tls.Certificate{cert}
	}
	return newServer(h, cfg)
}

// Certificate returns the certificate a server from [NewTLSServer]
// presents (the first of its tls.Config's Certificates), or nil for a
// server without TLS or one whose certificate comes from GetCertificate.
func (s *Server) Certificate() *x509.Certificate { return s.cert }

// Dialer returns a new conn.Dialer for this server: one that connects
// directly, whatever the proxy environment, and, for a server from
// [NewTLSServer], trusts [Server.Certificate] (and nothing else). The
// caller may change it.
func (s *Server) Dialer() *conn.Dialer {
	d := &conn.Dialer{Proxy: proxy.Direct}
	if s.cert != nil {
		pool := x509.NewCertPool()
		pool.AddCert(s.cert)
		d.TLSConfig = &tls.Config{RootCAs: pool}
	}
	return d
}

func newServer(h Handler, cfg *tls.Config) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("wstest: cannot listen: " + err.Error())
	}
	s := &Server{URL: "ws://" + ln.Addr().String(), Addr: ln.Addr().String(), h: h, ln: ln}
	if cfg != nil {
		s.ln = tls.NewListener(ln, cfg)
		s.URL = "wss://" + s.Addr
		if len(cfg.Certificates) > 0 && cfg.GetCertificate == nil {
			s.cert = leafOf(cfg.Certificates[0])
		}
	}
	s.idle.L = &s.mu
	s.conns = make(map[net.Conn]struct{})
	s.run = 1
	go s.accept()
	return s
}

// leafOf returns the leaf certificate of c, nil if it cannot be parsed.
func leafOf(c tls.Certificate) *x509.Certificate {
	if c.Leaf != nil {
		return c.Leaf
	}
	if len(c.Certificate) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}

func (s *Server) accept() {
	defer s.done(nil)
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.serve(nc)
	}
}

// Pipe returns the client end of a net.Pipe whose server end runs the
// server's handler in a new goroutine. Closing the server closes it too.
//
// Pipe may be called inside a testing/synctest bubble on a Server made
// outside it: the pipe then belongs to the bubble, its deadlines follow
// the bubble's clock, and the handler's goroutine is one of the bubble's,
// which ends when the test closes its end (or the handler returns).
func (s *Server) Pipe() net.Conn {
	client, server := net.Pipe()
	s.serve(server)
	return client
}

// serve tracks nc and runs the handler on it in a new goroutine.
func (s *Server) serve(nc net.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.conns[nc] = struct{}{}
	s.run++
	s.mu.Unlock()
	go serve(nc, s.h, s)
}

// done ends one goroutine of the server: the accept loop (nil) or the
// handler of nc.
func (s *Server) done(nc net.Conn) {
	s.mu.Lock()
	delete(s.conns, nc)
	if s.run--; s.run == 0 {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
}

// Close stops the listener, closes every connection still served and waits
// for their handlers to return; a [Peer.Trickle] in a pause stops within
// 50 ms. A connection taken with [Peer.Hijack] is the caller's to
// close, and Close waits for its handler no more, as httptest's Close
// does. Close may be called more than once.
func (s *Server) Close() {
	s.stopping.Store(true)
	s.mu.Lock()
	s.closed = true
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.mu.Lock()
	for s.run > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
}

// Serve runs h on nc, the server end of one connection, in the calling
// goroutine: it reads the request head (bounded, see package handshake's
// ReadRequest), calls h, and closes nc when h returns unless h took it
// with [Peer.Hijack]. A request that cannot be read is not handed to h: a
// head over 64 KiB is answered with 431, one that does not parse with
// 400 (written within a second), and nc is closed. A handler that panics
// does not end the test binary: as net/http does, Serve recovers, prints
// the panic and its stack to standard error, and closes nc unless the
// handler hijacked it; the client sees the connection end.
// Nothing is shared with any [Server], so Serve suits a listener of the
// test's own (an IPv6 one, say) and a net.Pipe made in a testing/synctest
// bubble:
//
//	client, server := net.Pipe()
//	go wstest.Serve(server, handler)
//
// Nothing bounds the time a handler takes: a Peer's reads wait for the
// client until it sends or hangs up, or the [Server] is closed.
func Serve(nc net.Conn, h Handler) { serve(nc, h, nil) }

// serve is Serve for srv, if not nil.
func serve(nc net.Conn, h Handler, srv *Server) {
	p := &Peer{Conn: nc, rec: &recorder{r: nc, on: true}, srv: srv}
	p.br = bufio.NewReaderSize(p.rec, 4<<10)
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(os.Stderr, "wstest: panic serving %v: %v\n%s", nc.RemoteAddr(), v, debug.Stack())
		}
		if !p.hijacked {
			nc.Close()
			if srv != nil {
				srv.done(nc)
			}
		}
	}()
	err := p.readRequest()
	var re *handshake.RequestError
	switch {
	case err == nil:
		h(p)
	case errors.As(err, &re):
		nc.SetWriteDeadline(time.Now().Add(time.Second)) // a client that reads nothing
		p.Write(handshake.AppendRefusal(nil, err))
	}
}

// Peer is the server side of one connection.
type Peer struct {
	// Conn is the connection. Writing to it directly is fine; reading
	// from it skips what the peer has buffered.
	Conn net.Conn
	// Request is the client's opening handshake, parsed.
	Request *http.Request
	// RawRequest is the request head exactly as received, up to and
	// including the empty line.
	RawRequest []byte

	srv      *Server // nil for Serve
	br       *bufio.Reader
	rec      *recorder
	rbuf     []byte
	hijacked bool

	wmu  sync.Mutex // serialises the writes: each is whole
	wbuf []byte
}

// readRequest reads the request head with handshake.ReadRequest, keeping
// a copy of its bytes as they arrived.
func (p *Peer) readRequest() error {
	req, err := handshake.ReadRequest(p.br, maxRequest)
	p.rec.on = false
	if err != nil {
		return err
	}
	p.RawRequest = p.rec.buf[:len(p.rec.buf)-p.br.Buffered()]
	p.rec.buf = nil
	if a := p.Conn.RemoteAddr(); a != nil {
		req.RemoteAddr = a.String()
	}
	if tc, ok := p.Conn.(*tls.Conn); ok {
		state := tc.ConnectionState()
		req.TLS = &state
	}
	p.Request = req
	return nil
}

// recorder keeps a copy of what is read through it while on.
type recorder struct {
	r   io.Reader
	buf []byte
	on  bool
}

func (r *recorder) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if r.on {
		r.buf = append(r.buf, b[:n]...)
	}
	return n, err
}

// Upgrade is what [Peer.Upgrade] puts in its 101 response.
type Upgrade struct {
	// Subprotocol is sent as Sec-WebSocket-Protocol when not empty.
	Subprotocol string
	// Extensions is sent as Sec-WebSocket-Extensions when not empty.
	Extensions string
	// Accept replaces the Sec-WebSocket-Accept value computed from the
	// client's key, to test a client's check of it.
	Accept string
	// Header holds extra fields, such as Set-Cookie.
	Header http.Header
}

// Upgrade writes a 101 Switching Protocols response that completes the
// opening handshake (RFC 6455 §4.2.2), whatever the request was: see
// handshake.AppendUpgrade. A nil u writes the plain response. A field
// value with a CR or LF is refused (handshake.ErrInvalidHeader); write
// such a response with [Peer.Write].
func (p *Peer) Upgrade(u *Upgrade) error {
	if u == nil {
		u = &Upgrade{}
	}
	h := u.Header.Clone()
	if u.Accept != "" || u.Extensions != "" {
		if h == nil {
			h = http.Header{}
		}
		if u.Accept != "" {
			h.Set("Sec-WebSocket-Accept", u.Accept)
		}
		if u.Extensions != "" {
			h.Set("Sec-WebSocket-Extensions", u.Extensions)
		}
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	b, err := handshake.AppendUpgrade(p.wbuf[:0], p.Request.Header.Get("Sec-WebSocket-Key"), u.Subprotocol, h)
	if err != nil {
		return err
	}
	p.wbuf = b
	_, err = p.Conn.Write(b)
	return err
}

// Accept completes the opening handshake as a server must and returns
// the connection as a server-role [conn.Conn] (conn.New with cfg, whose
// Role is set to conn.RoleServer; a nil cfg is the zero Config). The
// request is checked first (handshake.CheckRequest): a request that fails
// is answered with the status the check names (handshake.AppendRefusal)
// and the error is returned. u is what [Peer.Upgrade] takes.
//
// With cfg.Compression set and no Extensions in u, Accept negotiates
// permessage-deflate as a server does (RFC 7692 §5): it agrees to the
// client's first valid offer, answers it in Sec-WebSocket-Extensions and
// sets the Conn's Compression.Agreed to it; a client that offered none
// gets an uncompressed Conn. With Extensions in u, the test scripts the
// answer and sets Compression.Agreed itself.
//
// The Conn owns the stream from then on: bytes the peer had buffered are
// read first, and the handler must not use the Peer's reading or writing
// methods any more. When the handler returns, the connection is closed
// unless the handler hijacked it (before or after Accept).
func (p *Peer) Accept(u *Upgrade, cfg *conn.Config) (*conn.Conn, error) {
	if _, err := handshake.CheckRequest(p.Request); err != nil {
		p.Write(handshake.AppendRefusal(nil, err))
		return nil, err
	}
	var c conn.Config
	if cfg != nil {
		c = *cfg
	}
	if c.Compression != nil && (u == nil || u.Extensions == "") {
		agreed, ok := agreeDeflate(p.Request.Header)
		if !ok {
			c.Compression = nil
		} else {
			cp := *c.Compression
			cp.Agreed = agreed
			c.Compression = &cp
			var answer Upgrade
			if u != nil {
				answer = *u
			}
			answer.Extensions = agreed.String()
			u = &answer
		}
	}
	if err := p.Upgrade(u); err != nil {
		return nil, err
	}
	c.Role = conn.RoleServer
	return conn.New(transport{Conn: p.Conn, br: p.br}, &c), nil
}

// agreeDeflate chooses the first valid permessage-deflate offer of a
// request's header, if any, as the agreement: a client_max_window_bits
// offered without a value is left out of the answer, which keeps the
// client's window at 15 bits.
func agreeDeflate(h http.Header) (handshake.DeflateParams, bool) {
	offers, _ := handshake.ParseDeflateOffers(h.Values("Sec-WebSocket-Extensions"))
	if len(offers) == 0 {
		return handshake.DeflateParams{}, false
	}
	agreed := offers[0]
	if agreed.ClientMaxWindowBits == handshake.AnyWindowBits {
		agreed.ClientMaxWindowBits = 0
	}
	return agreed, true
}

// transport is the connection under a Conn from Accept: reads go through
// the peer's buffer, which may hold the first frames.
type transport struct {
	net.Conn
	br *bufio.Reader
}

func (t transport) Read(b []byte) (int, error) { return t.br.Read(b) }

// Respond writes a complete HTTP/1.1 response with a final status (200 to
// 599) other than 101, for instance a 403: the header fields sorted by
// name, then a Content-Length and body, except for 204 and 304, which
// carry neither. A status out of that range, a body for 204 or 304, and a
// field name or value that could inject a line (handshake.ErrInvalidHeader)
// are refused, and nothing is written; write such a response with
// [Peer.Write].
func (p *Peer) Respond(code int, header http.Header, body string) error {
	if code < 200 || code > 599 {
		return fmt.Errorf("wstest: Respond with status %d: want 200 to 599 (Upgrade writes the 101)", code)
	}
	bodiless := code == http.StatusNoContent || code == http.StatusNotModified
	if bodiless && body != "" {
		return fmt.Errorf("wstest: Respond with status %d and a body", code)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	if err := writeHeader(&b, header); err != nil {
		return err
	}
	if !bodiless {
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return p.Write([]byte(b.String()))
}

// Redirect writes a redirect response (code is 301, 302, 303, 307 or 308;
// another is refused) to location, which may be relative, with extra
// header fields.
func (p *Peer) Redirect(code int, location string, header http.Header) error {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return fmt.Errorf("wstest: Redirect with status %d: want 301, 302, 303, 307 or 308", code)
	}
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Location", location)
	return p.Respond(code, h, "")
}

// writeHeader writes the fields of h sorted by name, refusing a name or
// value that could inject a line.
func writeHeader(b *strings.Builder, h http.Header) error {
	for _, name := range slices.Sorted(maps.Keys(h)) {
		if !httpguts.ValidHeaderFieldName(name) {
			return fmt.Errorf("%w %q", handshake.ErrInvalidHeader, name)
		}
		for _, v := range h[name] {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("%w %q", handshake.ErrInvalidHeader, name)
			}
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	return nil
}

// Write writes b as is, in one write. Like every writing method of a
// Peer, it may be called while another goroutine writes, and then waits
// for that write to end: the two never interleave. (The reading methods
// are for one goroutine at a time.)
func (p *Peer) Write(b []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_, err := p.Conn.Write(b)
	return err
}

// Trickle writes b one byte per write, waiting pause between bytes; no
// other write of the Peer comes between them. [Server.Close] ends a pause
// within 50 ms, and the next write fails on the closed connection.
func (p *Peer) Trickle(b []byte, pause time.Duration) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	for i := range b {
		if i > 0 {
			p.sleep(pause)
		}
		if _, err := p.Conn.Write(b[i : i+1]); err != nil {
			return err
		}
	}
	return nil
}

// trickleStep is how often a Trickle's pause looks whether its Server is
// closing. The pause sleeps, rather than wait on a channel, so that it is
// durably blocked in a testing/synctest bubble whatever made the Server.
const trickleStep = 50 * time.Millisecond

// sleep waits d, or less once the Peer's Server is closing.
func (p *Peer) sleep(d time.Duration) {
	for d > 0 && (p.srv == nil || !p.srv.stopping.Load()) {
		step := min(d, trickleStep)
		time.Sleep(step)
		d -= step
	}
}

// WriteFrame encodes f as given (frame.Frame.AppendBinary, which takes
// the length from the payload, not from f.Length: send a frame whose
// declared length lies with [Peer.Write]) and writes it in one write. A
// server frame is normally unmasked: leave f.Masked false unless the test
// wants a protocol violation.
func (p *Peer) WriteFrame(f frame.Frame) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	var err error
	p.wbuf, err = f.AppendBinary(p.wbuf[:0])
	if err != nil {
		return err
	}
	_, err = p.Conn.Write(p.wbuf)
	return err
}

// WriteMessage writes payload as one final, unmasked frame of type op.
func (p *Peer) WriteMessage(op frame.Opcode, payload []byte) error {
	return p.WriteFrame(frame.Frame{
		Header:  frame.Header{Fin: true, Opcode: op, Length: int64(len(payload))},
		Payload: payload,
	})
}

// WriteClose writes a close frame with code and reason
// (NoStatusReceived writes an empty payload). Invalid codes are written
// as given, so a test can send them.
func (p *Peer) WriteClose(code status.Code, reason string) error {
	var payload []byte
	if code != status.NoStatusReceived {
		payload = append([]byte{byte(code >> 8), byte(code)}, reason...)
	}
	return p.WriteMessage(frame.OpClose, payload)
}

// ReadFull reads exactly len(b) raw bytes from the client.
func (p *Peer) ReadFull(b []byte) error {
	_, err := io.ReadFull(p.br, b)
	return err
}

// ReadFrame reads the next client frame. It fails with [ErrUnmasked] if the
// frame is not masked. The payload is unmasked and valid until the next
// call. Only the frame's encoding is checked, not the RFC's other rules, so
// the test sees what the client sent.
func (p *Peer) ReadFrame() (frame.Frame, error) {
	h, err := p.readHeader()
	if err != nil {
		return frame.Frame{}, err
	}
	if h.Length > maxFrame {
		return frame.Frame{Header: h}, ErrTooLarge
	}
	// The buffer grows as bytes arrive, never from the declared length
	// alone: a client that declares 64 MiB and sends 10 bytes costs little.
	payload := p.rbuf[:0]
	for int64(len(payload)) < h.Length {
		if len(payload) == cap(payload) {
			grow := min(max(2*cap(payload), minChunk), int(h.Length))
			nb := make([]byte, len(payload), grow)
			copy(nb, payload)
			payload = nb
			p.rbuf = nb
		}
		n, err := p.br.Read(payload[len(payload):min(cap(payload), int(h.Length))])
		payload = payload[:len(payload)+n]
		if err != nil && int64(len(payload)) < h.Length {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return frame.Frame{Header: h}, err
		}
	}
	if !h.Masked {
		return frame.Frame{Header: h, Payload: payload}, ErrUnmasked
	}
	mask.Apply(payload, h.Key, 0)
	return frame.Frame{Header: h, Payload: payload}, nil
}

// readHeader reads a frame header from the buffered reader without
// allocating.
func (p *Peer) readHeader() (frame.Header, error) {
	b, err := p.br.Peek(2)
	if err != nil {
		if err == io.EOF && len(b) > 0 {
			err = io.ErrUnexpectedEOF // the end came inside the header
		}
		return frame.Header{}, err
	}
	n := 2
	switch b[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b[1]&0x80 != 0 {
		n += 4
	}
	if b, err = p.br.Peek(n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return frame.Header{}, err
	}
	h, _, err := frame.ParseHeader(b)
	if err != nil {
		return frame.Header{}, err
	}
	p.br.Discard(n)
	return h, nil
}

// ReadClose reads client frames, dropping data and pong frames and
// answering pings, up to a close frame, and returns its code and reason
// (NoStatusReceived for an empty payload). It does not answer the close.
func (p *Peer) ReadClose() (status.Code, string, error) {
	for {
		f, err := p.ReadFrame()
		if err != nil {
			return 0, "", err
		}
		switch f.Opcode {
		case frame.OpPing:
			if err := p.WriteMessage(frame.OpPong, f.Payload); err != nil {
				return 0, "", err
			}
		case frame.OpClose:
			if len(f.Payload) == 1 {
				return 0, "", status.ErrPayloadLength
			}
			if len(f.Payload) == 0 {
				return status.NoStatusReceived, "", nil
			}
			return status.Code(uint16(f.Payload[0])<<8 | uint16(f.Payload[1])), string(f.Payload[2:]), nil
		}
	}
}

// Echo echoes every data frame as the client framed it (same opcode and
// fin bit, unmasked), answers pings with pongs and drops pongs. When the
// client sends a close, Echo echoes its payload and returns nil.
func (p *Peer) Echo() error {
	for {
		f, err := p.ReadFrame()
		if err != nil {
			return err
		}
		switch f.Opcode {
		case frame.OpPong:
			continue
		case frame.OpPing:
			f.Opcode = frame.OpPong
		}
		f.Masked = false
		if err := p.WriteFrame(f); err != nil {
			return err
		}
		if f.Opcode == frame.OpClose {
			return nil
		}
	}
}

// Discard reads and drops client frames until a close, which it echoes.
func (p *Peer) Discard() error {
	for {
		f, err := p.ReadFrame()
		if err != nil {
			return err
		}
		if f.Opcode == frame.OpClose {
			f.Masked = false
			return p.WriteFrame(f)
		}
	}
}

// Hijack takes the connection away from the server: it is not closed when
// the handler returns, nor by [Server.Close], and the caller must close it.
// Bytes the peer had buffered are returned. The peer must not be used
// afterwards.
func (p *Peer) Hijack() (net.Conn, []byte) {
	if p.hijacked {
		return p.Conn, nil
	}
	p.hijacked = true
	if s := p.srv; s != nil {
		s.done(p.Conn) // Close neither closes it nor waits for the handler
	}
	buffered, _ := p.br.Peek(p.br.Buffered())
	rest := append([]byte(nil), buffered...)
	p.br, p.wbuf, p.rbuf = nil, nil, nil
	return p.Conn, rest
}

// Echo is a [Handler] that echoes every message over a server-role
// [conn.Conn] from [Peer.Accept]. It takes messages up to the default
// message limit ([fragment.DefaultMaxMessageSize], 32 MiB), in one frame
// or in fragments; a longer one fails the connection with 1009. A message
// comes back as one frame of the same type, or, when it is longer than a
// client's default frame limit ([reader.DefaultMaxFrameSize], 16 MiB), in
// fragments of 32 KiB, so that a client with the default limits receives
// every message it may send. Pings are answered, and the client's close
// is answered with its status code (conn's closing handshake). Echo
// declines compression; a handler that calls [Peer.Accept] with a
// Config.Compression agrees to it. Use [Peer.Echo] to echo frame by
// frame, byte for byte.
func Echo(p *Peer) {
	c, err := p.Accept(nil, &conn.Config{MaxFrameSize: fragment.DefaultMaxMessageSize})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := context.Background()
	var buf []byte
	for {
		f, err := c.ReadDataFrame(ctx, buf[:0])
		if err != nil {
			return
		}
		buf = f.Payload
		if f.Opcode.IsData() {
			if err := echoMessage(ctx, c, f.Opcode, f.Payload); err != nil {
				return
			}
		}
	}
}

// echoMessage sends p back as a message of type op: in one frame, or in
// fragments when one frame would pass a client's default frame limit.
func echoMessage(ctx context.Context, c *conn.Conn, op frame.Opcode, p []byte) error {
	if len(p) <= reader.DefaultMaxFrameSize {
		return c.WriteMessage(ctx, op, p)
	}
	w, err := c.NextWriter(ctx, op)
	if err != nil {
		return err
	}
	if _, err := w.Write(p); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// Discard is a [Handler] that accepts the connection ([Peer.Accept]) and
// drops every message until the client closes.
func Discard(p *Peer) {
	c, err := p.Accept(nil, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	var buf []byte
	for {
		f, err := c.ReadDataFrame(context.Background(), buf[:0])
		if err != nil {
			return
		}
		buf = f.Payload
	}
}
