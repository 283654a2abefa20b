package wstest_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/wstest"
	"github.com/framewire/ws/mask"
)

const request = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n" +
	"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// handshakeRaw sends the RFC 6455 §1.3 sample request over nc and returns
// the response head.
func handshakeRaw(t *testing.T, nc net.Conn) (*bufio.Reader, string) {
	t.Helper()
	if _, err := io.WriteString(nc, request); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		head.WriteString(line)
		if line == "\r\n" {
			return br, head.String()
		}
	}
}

func masked(op frame.Opcode, p string) []byte {
	b, _ := frame.Frame{Header: frame.Header{Fin: true, Opcode: op, Masked: true, Key: mask.Key{1, 2, 3, 4}, Length: int64(len(p))}, Payload: []byte(p)}.AppendBinary(nil)
	return b
}

func TestEcho(t *testing.T) {
	s := wstest.NewServer(wstest.Echo)
	defer s.Close()
	nc, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br, head := handshakeRaw(t, nc)
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	if head != want {
		t.Errorf("response %q, want %q", head, want)
	}
	nc.Write(masked(frame.OpText, "Hello"))
	nc.Write(masked(frame.OpPing, "p"))
	nc.Write(masked(frame.OpClose, "\x03\xe8"))
	got, _ := io.ReadAll(br)
	if want := "\x81\x05Hello\x8a\x01p\x88\x02\x03\xe8"; string(got) != want {
		t.Errorf("echo %q, want %q", got, want)
	}
}

// ReadFrame refuses unmasked client frames, and the handler sees the raw
// request.
func TestReadFrameUnmasked(t *testing.T) {
	type result struct {
		raw string
		f   frame.Frame
		err error
	}
	got := make(chan result, 1)
	s := wstest.NewServer(func(p *wstest.Peer) {
		p.Upgrade(&wstest.Upgrade{Subprotocol: "chat", Header: http.Header{"Set-Cookie": {"a=b"}}})
		f, err := p.ReadFrame()
		got <- result{string(p.RawRequest), f, err}
	})
	defer s.Close()
	nc := s.Pipe()
	defer nc.Close()
	_, head := handshakeRaw(t, nc)
	if !strings.Contains(head, "Sec-WebSocket-Protocol: chat\r\n") || !strings.Contains(head, "Set-Cookie: a=b\r\n") {
		t.Errorf("response %q", head)
	}
	nc.Write([]byte{0x81, 0x01, 'x'})
	r := <-got
	if r.raw != request || !errors.Is(r.err, wstest.ErrUnmasked) || string(r.f.Payload) != "x" {
		t.Errorf("got %q %v %v", r.raw, r.f, r.err)
	}
}

// Respond and Redirect write complete responses; Close waits for handlers
// and closes connections they still hold.
func TestRespondAndClose(t *testing.T) {
	block := make(chan struct{})
	s := wstest.NewServer(func(p *wstest.Peer) {
		if p.Request.URL.Path == "/r" {
			p.Redirect(307, "/x", nil)
			return
		}
		p.Respond(403, nil, "nope")
		<-block
	})
	nc, _ := net.Dial("tcp", s.Addr)
	io.WriteString(nc, request)
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil || resp.StatusCode != 403 {
		t.Fatal(resp, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4))
	if string(body) != "nope" {
		t.Errorf("body %q", body)
	}
	nc2, _ := net.Dial("tcp", s.Addr)
	io.WriteString(nc2, strings.Replace(request, "/chat", "/r", 1))
	resp, err = http.ReadResponse(bufio.NewReader(nc2), nil)
	if err != nil || resp.StatusCode != 307 || resp.Header.Get("Location") != "/x" {
		t.Fatal(resp, err)
	}
	close(block)
	s.Close()
	nc.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("connection still open after Close: %v", err)
	}
	nc.Close()
	nc2.Close()
}

func Example() {
	s := wstest.NewServer(func(p *wstest.Peer) {
		fmt.Println(p.Request.Method, p.Request.URL.Path)
		p.Upgrade(nil)
		p.WriteMessage(frame.OpText, []byte("hi"))
	})
	defer s.Close()

	nc, _ := net.Dial("tcp", s.Addr)
	defer nc.Close()
	io.WriteString(nc, request)
	br := bufio.NewReader(nc)
	resp, _ := http.ReadResponse(br, nil)
	fmt.Println(resp.Status, resp.Header.Get("Sec-WebSocket-Accept") == handshake.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="))
	h, _ := frame.ReadHeader(br)
	p := make([]byte, h.Length)
	io.ReadFull(br, p)
	fmt.Println(frame.Frame{Header: h, Payload: p})
	// Output:
	// GET /chat
	// 101 Switching Protocols true
	// fin=1 opcode=1 data=b'hi'
}
