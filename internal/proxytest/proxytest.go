package proxytest

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Config sets how a proxy answers.
type Config struct {
	// User and Password are the credentials required; none if User is
	// empty. SOCKS4 checks only User, as the user ID.
	User, Password string
	// Status, if not 0, is the HTTP status sent instead of 200.
	Status int
	// Reply, if not 0, is the SOCKS reply code sent instead of success.
	Reply byte
	// Hold, if not nil, makes the proxy wait for it to be closed after
	// reading a request, then drop the connection.
	Hold <-chan struct{}
	// OnRequest, if not nil, is called with each request once it is
	// read, before the proxy answers.
	OnRequest func(Request)
	// Extra is sent right after a successful HTTP CONNECT answer, as if
	// the target had spoken first.
	Extra []byte
}

// Request is what a proxy received.
type Request struct {
	Target string // host:port as sent (a name for SOCKS4a/5h)
	User   string
	Raw    []byte // the HTTP request head, or the SOCKS request bytes
}

// Server is a running proxy.
type Server struct {
	Addr string // 127.0.0.1:port
	cfg  Config
	ln   net.Listener
	wg   sync.WaitGroup

	done  chan struct{}
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	reqs  []Request
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// NewHTTP starts an HTTP CONNECT proxy.
func NewHTTP(t testing.TB, cfg Config) *Server { return start(t, cfg, (*Server).serveHTTP) }

// NewSOCKS4 starts a SOCKS4 and SOCKS4a proxy.
func NewSOCKS4(t testing.TB, cfg Config) *Server { return start(t, cfg, (*Server).serveSOCKS4) }

// NewSOCKS5 starts a SOCKS5 proxy.
func NewSOCKS5(t testing.TB, cfg Config) *Server { return start(t, cfg, (*Server).serveSOCKS5) }

// NewEcho starts a TCP server that writes back what it reads.
func NewEcho(t testing.TB) *Server {
	return start(t, Config{}, func(s *Server, c net.Conn) { io.Copy(c, c) })
}

func start(t testing.TB, cfg Config, serve func(*Server, net.Conn)) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), cfg: cfg, ln: ln, done: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !s.track(c, true) {
				c.Close()
				return
			}
			s.wg.Go(func() {
				defer s.track(c, false)
				defer c.Close()
				serve(s, c)
			})
		}
	})
	t.Cleanup(s.close)
	return s
}

// track adds or removes a connection; it refuses to add after close.
func (s *Server) track(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, c)
		return true
	}
	if s.conns == nil {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) close() {
	close(s.done)
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.conns = nil
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) record(r Request) {
	r.Raw = append([]byte(nil), r.Raw...)
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.mu.Unlock()
	if s.cfg.OnRequest != nil {
		s.cfg.OnRequest(r)
	}
}

// hold waits for Config.Hold and reports whether the caller should stop.
func (s *Server) hold() bool {
	if s.cfg.Hold == nil {
		return false
	}
	select {
	case <-s.cfg.Hold:
	case <-s.done:
	}
	return true
}

// pipe copies both ways between the client (reading from r, which may
// hold buffered bytes of c) and the target t until either side ends.
func (s *Server) pipe(c net.Conn, r io.Reader, t net.Conn) {
	if !s.track(t, true) {
		t.Close()
		return
	}
	defer s.track(t, false)
	defer t.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(t, r)
		t.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, t)
	c.Close()
	<-done
}

// capWriter keeps the first 64 KiB written to it.
type capWriter struct{ b []byte }

func (w *capWriter) Write(p []byte) (int, error) {
	if n := 64<<10 - len(w.b); n > 0 {
		w.b = append(w.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

func (s *Server) serveHTTP(c net.Conn) {
	var raw capWriter
	br := bufio.NewReader(io.TeeReader(c, &raw))
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	rec := Request{Target: req.RequestURI, Raw: raw.b[:len(raw.b)-br.Buffered()]}
	if u, p, ok := parseBasic(req.Header.Get("Proxy-Authorization")); ok {
		rec.User = u
		if s.cfg.User != "" && (u != s.cfg.User || p != s.cfg.Password) {
			rec.User = ""
		}
	}
	s.record(rec)
	if s.hold() {
		return
	}
	switch {
	case req.Method != http.MethodConnect:
		io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	case s.cfg.User != "" && rec.User == "":
		io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
		return
	case s.cfg.Status != 0 && s.cfg.Status != 200:
		io.WriteString(c, "HTTP/1.1 "+strconv.Itoa(s.cfg.Status)+" "+http.StatusText(s.cfg.Status)+"\r\nContent-Length: 0\r\n\r\n")
		return
	}
	t, err := net.Dial("tcp", req.RequestURI)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	c.Write(s.cfg.Extra)
	s.pipe(c, br, t)
}

func parseBasic(h string) (user, pass string, ok bool) {
	const prefix = "Basic "
	if !strings.HasPrefix(h, prefix) {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(h[len(prefix):])
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(b), ":")
	return user, pass, ok
}

// readUntilNUL reads a NUL-terminated string of at most 255 bytes.
func readUntilNUL(r io.Reader, raw *[]byte) (string, bool) {
	var b [1]byte
	var out []byte
	for len(out) <= 255 {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", false
		}
		*raw = append(*raw, b[0])
		if b[0] == 0 {
			return string(out), true
		}
		out = append(out, b[0])
	}
	return "", false
}

func (s *Server) serveSOCKS4(c net.Conn) {
	var h [8]byte
	if _, err := io.ReadFull(c, h[:]); err != nil || h[0] != 4 || h[1] != 1 {
		return
	}
	raw := append([]byte(nil), h[:]...)
	user, ok := readUntilNUL(c, &raw)
	if !ok {
		return
	}
	port := binary.BigEndian.Uint16(h[2:4])
	host := net.IP(h[4:8]).String()
	if h[4] == 0 && h[5] == 0 && h[6] == 0 && h[7] != 0 {
		if host, ok = readUntilNUL(c, &raw); !ok {
			return
		}
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(port)))
	s.record(Request{Target: target, User: user, Raw: raw})
	if s.hold() {
		return
	}
	reply := func(code byte) { c.Write([]byte{0, code, 0, 0, 0, 0, 0, 0}) }
	switch {
	case s.cfg.User != "" && user != s.cfg.User:
		reply(93)
		return
	case s.cfg.Reply != 0:
		reply(s.cfg.Reply)
		return
	}
	t, err := net.Dial("tcp", target)
	if err != nil {
		reply(91)
		return
	}
	reply(90)
	s.pipe(c, c, t)
}

func (s *Server) serveSOCKS5(c net.Conn) {
	var b [2]byte
	if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != 5 {
		return
	}
	methods := make([]byte, b[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return
	}
	want := byte(0)
	if s.cfg.User != "" {
		want = 2
	}
	if !strings.ContainsRune(string(methods), rune(want)) {
		c.Write([]byte{5, 0xff})
		return
	}
	c.Write([]byte{5, want})
	var user string
	if want == 2 {
		var v [2]byte
		if _, err := io.ReadFull(c, v[:]); err != nil || v[0] != 1 {
			return
		}
		u := make([]byte, v[1])
		if _, err := io.ReadFull(c, u); err != nil {
			return
		}
		if _, err := io.ReadFull(c, v[:1]); err != nil {
			return
		}
		p := make([]byte, v[0])
		if _, err := io.ReadFull(c, p); err != nil {
			return
		}
		if string(u) != s.cfg.User || string(p) != s.cfg.Password {
			c.Write([]byte{1, 1})
			return
		}
		user = string(u)
		c.Write([]byte{1, 0})
	}
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil || h[0] != 5 || h[1] != 1 {
		return
	}
	raw := append([]byte(nil), h[:]...)
	var host string
	switch h[3] {
	case 1, 4:
		ip := make(net.IP, 4)
		if h[3] == 4 {
			ip = make(net.IP, 16)
		}
		if _, err := io.ReadFull(c, ip); err != nil {
			return
		}
		raw = append(raw, ip...)
		host = ip.String()
	case 3:
		var n [1]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return
		}
		name := make([]byte, n[0])
		if _, err := io.ReadFull(c, name); err != nil {
			return
		}
		raw = append(append(raw, n[0]), name...)
		host = string(name)
	default:
		return
	}
	var p [2]byte
	if _, err := io.ReadFull(c, p[:]); err != nil {
		return
	}
	raw = append(raw, p[:]...)
	target := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(p[:]))))
	s.record(Request{Target: target, User: user, Raw: raw})
	if s.hold() {
		return
	}
	if s.cfg.Reply != 0 {
		c.Write([]byte{5, s.cfg.Reply, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	t, err := net.Dial("tcp", target)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	// Bound address as a name, to exercise the variable-length reply.
	c.Write([]byte{5, 0, 0, 3, 4, 'b', 'n', 'd', '1', 0x1f, 0x90})
	s.pipe(c, c, t)
}
