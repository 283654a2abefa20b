package bench

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// server is what every test server of this package is built on: a
// listener on a free loopback port, one goroutine accepting connections,
// and the connections it holds open until close. serveEach and holdEach
// say what it does with each connection.
type server struct {
	ln    net.Listener
	url   string
	done  chan struct{} // closed when the accepting goroutine returns
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
	once  sync.Once
}

// serveEach starts a server that runs serve on a goroutine of its own for
// each connection and closes the connection when serve returns.
func serveEach(tb testing.TB, serve func(nc net.Conn)) *server {
	s := listen(tb)
	go s.accept(func(nc net.Conn) {
		s.hold(nc)
		s.wg.Go(func() {
			defer s.drop(nc)
			serve(nc)
		})
	})
	return s
}

// holdEach starts a server that runs accept for each connection in its
// accepting goroutine, one connection at a time, and then holds the
// connection with no goroutine or buffer of its own until close; a
// connection for which accept fails is closed at once.
func holdEach(tb testing.TB, accept func(nc net.Conn) error) *server {
	s := listen(tb)
	go s.accept(func(nc net.Conn) {
		if err := accept(nc); err != nil {
			nc.Close()
			return
		}
		s.hold(nc)
	})
	return s
}

func listen(tb testing.TB) *server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &server{ln: ln, url: "ws://" + ln.Addr().String() + "/", done: make(chan struct{})}
	tb.Cleanup(s.close)
	return s
}

func (s *server) accept(handle func(nc net.Conn)) {
	defer close(s.done)
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		handle(nc)
	}
}

func (s *server) hold(nc net.Conn) {
	s.mu.Lock()
	s.conns = append(s.conns, nc)
	s.mu.Unlock()
}

// drop closes nc and forgets it.
func (s *server) drop(nc net.Conn) {
	nc.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.conns) - 1; i >= 0; i-- {
		if s.conns[i] == nc {
			s.conns = append(s.conns[:i], s.conns[i+1:]...)
			return
		}
	}
}

func (s *server) wsURL() string { return s.url }

// close stops accepting, lets the accepting goroutine finish the
// connection in hand, closes every connection held and waits for the
// goroutines of serveEach. It may be called more than once.
func (s *server) close() {
	s.once.Do(func() {
		s.ln.Close()
		<-s.done
		s.mu.Lock()
		for _, nc := range s.conns {
			nc.Close()
		}
		s.conns = nil
		s.mu.Unlock()
		s.wg.Wait()
	})
}

// startEchoServer starts the one server every client talks to in
// BenchmarkEcho: a gobwas/ws low-level loop that sends each data frame
// back unmasked and unchanged, answers pings and echoes a close. It is the
// same for all clients, so differences between them are client-side.
func startEchoServer(tb testing.TB) *server { return serveEach(tb, upgraded(echo)) }

// startDiscardServer starts the server of the send benchmarks: after the
// handshake it reads and drops everything, so that a client's send rate
// is limited by the client.
func startDiscardServer(tb testing.TB) *server {
	return serveEach(tb, upgraded(func(nc net.Conn) {
		io.CopyBuffer(io.Discard, nc, make([]byte, 256<<10))
	}))
}

// upgraded returns a serve function that answers the opening handshake
// with gobwas/ws and, if that succeeds, calls serve.
func upgraded(serve func(nc net.Conn)) func(nc net.Conn) {
	return func(nc net.Conn) {
		if _, err := ws.Upgrade(nc); err == nil {
			serve(nc)
		}
	}
}

// echo is the loop of the echo server.
func echo(nc net.Conn) {
	br := bufio.NewReaderSize(nc, 64<<10)
	bw := bufio.NewWriterSize(nc, 64<<10+ws.MaxHeaderSize)
	rh := make([]byte, ws.MaxHeaderSize)
	wh := make([]byte, ws.MaxHeaderSize)
	var buf []byte
	for {
		h, err := ws.ReadHeaderBuffer(br, rh)
		if err != nil || h.Length > maxMessage {
			return
		}
		if cap(buf) < int(h.Length) {
			buf = make([]byte, h.Length)
		}
		p := buf[:h.Length]
		if _, err := io.ReadFull(br, p); err != nil {
			return
		}
		if h.Masked {
			ws.Cipher(p, h.Mask, 0)
			h.Masked = false
		}
		switch h.OpCode {
		case ws.OpPong:
			continue
		case ws.OpPing:
			h.OpCode = ws.OpPong
		}
		if ws.WriteHeaderBuffer(bw, h, wh) != nil {
			return
		}
		if _, err := bw.Write(p); err != nil {
			return
		}
		if br.Buffered() == 0 || h.OpCode == ws.OpClose {
			if bw.Flush() != nil || h.OpCode == ws.OpClose {
				return
			}
		}
	}
}

// holdSession is what the server of BenchmarkIdleConn does with each
// connection besides holding it, one connection at a time, in its
// accepting goroutine: answer its extension offers, then exchange
// messages.
type holdSession interface {
	answer(offers []string) string
	exchange(nc net.Conn) error
}

// startHoldServer starts the server of BenchmarkIdleConn. It completes
// each opening handshake (and session, if not nil) in its accepting
// goroutine and keeps the socket, with no goroutine or buffer per
// connection, so that nearly all memory a connection adds is the
// client's.
func startHoldServer(tb testing.TB, session holdSession) *server {
	var answer func([]string) string
	if session != nil {
		answer = session.answer
	}
	return holdEach(tb, func(nc net.Conn) error {
		err := acceptHandshake(nc, answer)
		if err == nil && session != nil {
			// A client that does not send blocks the accepting goroutine
			// for this long at most.
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			if err = session.exchange(nc); err == nil {
				err = nc.SetDeadline(time.Time{})
			}
		}
		return err
	})
}

// acceptGUID is the fixed string of RFC 6455 §1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptHandshake reads an opening handshake request and answers 101. It
// checks only what it needs: the Sec-WebSocket-Key. With answer set, the
// response's Sec-WebSocket-Extensions is answer's reply to the request's
// Sec-WebSocket-Extensions values (none if it returns "").
func acceptHandshake(nc net.Conn, answer func(offers []string) string) error {
	br := bufio.NewReader(nc)
	var key string
	var offers []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if k, ok := fieldOf(line, "Sec-WebSocket-Key"); ok {
			key = k
		}
		if e, ok := fieldOf(line, "Sec-WebSocket-Extensions"); ok {
			offers = append(offers, e)
		}
	}
	var ext string
	if answer != nil {
		ext = answer(offers)
	}
	_, err := io.WriteString(nc, switchingProtocols(key, ext))
	return err
}

// fieldOf returns the value of a header line of the field name.
func fieldOf(line, name string) (string, bool) {
	n, value, ok := strings.Cut(line, ":")
	if !ok || !strings.EqualFold(strings.TrimSpace(n), name) {
		return "", false
	}
	return strings.TrimSpace(value), true
}

// switchingProtocols is the 101 response to a request with key, with a
// Sec-WebSocket-Extensions field when ext is not empty.
func switchingProtocols(key, ext string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	if ext != "" {
		ext = "Sec-WebSocket-Extensions: " + ext + "\r\n"
	}
	return "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" + ext +
		"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"
}
