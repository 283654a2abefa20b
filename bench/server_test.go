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

// echoServer is the one server every client talks to in BenchmarkEcho: a
// gobwas/ws low-level loop that sends each data frame back unmasked and
// unchanged, answers pings and echoes a close. It is the same for all
// clients, so differences between them are client-side.
//
// With discard set it is the server of the send benchmarks instead: after
// the handshake it reads and drops everything, so that a client's send
// rate is limited by the client.
type echoServer struct {
	ln      net.Listener
	url     string
	discard bool
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]bool
}

func startEchoServer(tb testing.TB) *echoServer { return startServer(tb, false) }

func startDiscardServer(tb testing.TB) *echoServer { return startServer(tb, true) }

func startServer(tb testing.TB, discard bool) *echoServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &echoServer{ln: ln, url: "ws://" + ln.Addr().String() + "/", discard: discard, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.accept()
	tb.Cleanup(s.close)
	return s
}

func (s *echoServer) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[nc] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(nc)
	}
}

func (s *echoServer) serve(nc net.Conn) {
	defer s.wg.Done()
	defer func() {
		nc.Close()
		s.mu.Lock()
		delete(s.conns, nc)
		s.mu.Unlock()
	}()
	if _, err := ws.Upgrade(nc); err != nil {
		return
	}
	if s.discard {
		io.CopyBuffer(io.Discard, nc, make([]byte, 256<<10))
		return
	}
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

func (s *echoServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// holdServer is the server of BenchmarkIdleConn. One goroutine accepts
// connections, completes each opening handshake and keeps the socket, with
// no goroutine or buffer per connection, so that nearly all memory a
// connection adds is the client's.
type holdServer struct {
	ln      net.Listener
	url     string
	session holdSession // nil: none
	done    chan struct{}
	mu      sync.Mutex
	conns   []net.Conn
}

// holdSession is what a holdServer does with each connection besides
// holding it, one connection at a time, in its accepting goroutine:
// answer its extension offers, then exchange messages.
type holdSession interface {
	answer(offers []string) string
	exchange(nc net.Conn) error
}

func startHoldServer(tb testing.TB, session holdSession) *holdServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &holdServer{ln: ln, url: "ws://" + ln.Addr().String() + "/", session: session, done: make(chan struct{})}
	go s.accept()
	return s
}

func (s *holdServer) accept() {
	defer close(s.done)
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		var answer func([]string) string
		if s.session != nil {
			answer = s.session.answer
		}
		err = acceptHandshake(nc, answer)
		if err == nil && s.session != nil {
			// A client that does not send blocks the accepting goroutine
			// for this long at most.
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			if err = s.session.exchange(nc); err == nil {
				err = nc.SetDeadline(time.Time{})
			}
		}
		if err != nil {
			nc.Close()
			continue
		}
		s.mu.Lock()
		s.conns = append(s.conns, nc)
		s.mu.Unlock()
	}
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

func (s *holdServer) wsURL() string { return s.url }

func (s *holdServer) close() {
	s.ln.Close()
	<-s.done
	s.mu.Lock()
	for _, nc := range s.conns {
		nc.Close()
	}
	s.conns = nil
	s.mu.Unlock()
}
