package wstest_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/leakcheck"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
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

// Echo returns every message a client with the default limits may send
// to a client with the default limits, sent in fragments or in one frame
// longer than the default frame limit: one longer than that limit comes
// back in fragments, whole.
func TestEchoLongMessage(t *testing.T) {
	msg := bytes.Repeat([]byte("0123456789abcdef"), (17<<20)/16+1)
	for _, s := range []struct {
		name string
		send func(ctx context.Context, c *conn.Conn) error
	}{
		{"fragments", func(ctx context.Context, c *conn.Conn) error {
			w, err := c.NextWriter(ctx, frame.OpBinary)
			if err != nil {
				return err
			}
			if _, err := w.Write(msg); err != nil {
				w.Close()
				return err
			}
			return w.Close()
		}},
		{"one frame", func(ctx context.Context, c *conn.Conn) error {
			return c.WriteMessage(ctx, frame.OpBinary, msg)
		}},
	} {
		t.Run(s.name, func(t *testing.T) {
			srv := wstest.NewServer(wstest.Echo)
			defer srv.Close()
			ctx := t.Context()
			c, err := new(conn.Dialer).DialConn(ctx, srv.Pipe(), "ws://pipe.test/")
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			sent := make(chan error, 1)
			go func() { sent <- s.send(ctx, c) }()
			op, got, err := c.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("ReadMessage = %v, want the echo of %d bytes", err, len(msg))
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			if op != frame.OpBinary || !bytes.Equal(got, msg) {
				t.Errorf("echo %v of %d bytes, want binary of %d bytes, equal", op, len(got), len(msg))
			}
		})
	}
}

// Accept with a Config.Compression negotiates permessage-deflate: it
// agrees to the client's first offer, and both ends then compress; a
// client that offers none gets an uncompressed connection that works.
func TestAcceptCompression(t *testing.T) {
	compressedEcho := func(p *wstest.Peer) {
		c, err := p.Accept(nil, &conn.Config{Compression: &conn.Compression{Threshold: -1}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			op, m, err := c.ReadMessage(context.Background())
			if err != nil || c.WriteMessage(context.Background(), op, m) != nil {
				return
			}
		}
	}
	for _, tc := range []struct {
		name   string
		offer  *conn.Compression
		agreed string // "" for none
	}{
		{"default offer", &conn.Compression{}, "permessage-deflate"},
		{"window bits", &conn.Compression{Offers: []handshake.DeflateParams{{ServerMaxWindowBits: 10, ClientMaxWindowBits: handshake.AnyWindowBits}}},
			"permessage-deflate; server_max_window_bits=10"},
		{"no offer", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := wstest.NewServer(compressedEcho)
			defer srv.Close()
			var wire bytes.Buffer
			d := &conn.Dialer{Config: conn.Config{Compression: tc.offer, Trace: &wire}}
			ctx := t.Context()
			c, err := d.DialConn(ctx, srv.Pipe(), "ws://pipe.test/")
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			p, ok := c.Compression()
			if got := map[bool]string{true: p.String()}[ok]; got != tc.agreed {
				t.Errorf("agreed %q, want %q", got, tc.agreed)
			}
			msg := bytes.Repeat([]byte("compress me "), 100)
			if err := c.WriteMessage(ctx, frame.OpText, msg); err != nil {
				t.Fatal(err)
			}
			if _, got, err := c.ReadMessage(ctx); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("echo %d bytes, %v; want %d bytes", len(got), err, len(msg))
			}
			// The trace shows each frame's bytes as a Python bytes
			// literal (quoted with ' or "): 0xc1 is a final text frame
			// with RSV1, compressed; 0x81 the same uncompressed.
			first := `\x81`
			if tc.agreed != "" {
				first = `\xc1`
			}
			for _, dir := range []string{"++Sent raw: b", "++Rcv raw: b"} {
				if !strings.Contains(wire.String(), dir+"'"+first) && !strings.Contains(wire.String(), dir+`"`+first) {
					t.Errorf("no %s%s in the trace:\n%s", dir, first, wire.String())
				}
			}
		})
	}
}

// A TLS server without a certificate of its own makes one for the
// loopback addresses, valid inside a synctest bubble's clock; its Dialer
// trusts it and a default Dialer does not. A certificate the test gives
// is the one Certificate returns.
func TestTLSServerCertificate(t *testing.T) {
	s := wstest.NewTLSServer(wstest.Echo, nil)
	defer s.Close()
	cert := s.Certificate()
	if cert == nil {
		t.Fatal("Certificate() = nil for a TLS server")
	}
	bubble := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if cert.NotBefore.After(bubble) || cert.NotAfter.Before(time.Now().AddDate(10, 0, 0)) {
		t.Errorf("valid from %v to %v: not valid at %v and for ten years", cert.NotBefore, cert.NotAfter, bubble)
	}
	if err := cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	ctx := t.Context()
	c, err := s.Dialer().Dial(ctx, s.URL)
	if err != nil {
		t.Fatalf("Dial with the server's Dialer: %v", err)
	}
	echoOnce(t, c)
	d := s.Dialer()
	d.TLSConfig = nil // the system roots
	var uerr x509.UnknownAuthorityError
	if c, err := d.Dial(ctx, s.URL); !errors.As(err, &uerr) {
		if c != nil {
			c.CloseNow()
		}
		t.Errorf("Dial trusting only the system roots = %v, want x509.UnknownAuthorityError", err)
	}

	// Only parsed, never presented: no key is needed.
	given := wstest.NewTLSServer(wstest.Echo, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}}}})
	defer given.Close()
	if got := given.Certificate(); got == nil || !got.Equal(cert) {
		t.Errorf("Certificate() of a server given one = %v, want that one", got)
	}
	plain := wstest.NewServer(wstest.Echo)
	defer plain.Close()
	if plain.Certificate() != nil {
		t.Error("Certificate() of a plain server is not nil")
	}
}

func echoOnce(t *testing.T, c *conn.Conn) {
	t.Helper()
	ctx := t.Context()
	defer c.CloseNow()
	if err := c.WriteMessage(ctx, frame.OpText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, p, err := c.ReadMessage(ctx); err != nil || string(p) != "hi" {
		t.Fatalf("ReadMessage = %q, %v", p, err)
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

// The raw peer writes exactly the bytes it is given.
func TestUpgradeRaw(t *testing.T) {
	s := wstest.NewServer(func(p *wstest.Peer) {
		p.Upgrade(&wstest.Upgrade{Accept: "wrong", Extensions: "x"})
		p.WriteMessage(frame.OpText, []byte("hi"))
	})
	defer s.Close()
	nc, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, request)
	got, _ := io.ReadAll(nc)
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-Websocket-Accept: wrong\r\nSec-Websocket-Extensions: x\r\n\r\n\x81\x02hi"
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Serve runs a handler on a net.Pipe inside a synctest bubble, where time
// is fake: the peer's deadline fires after exactly the bubble's second.
func TestServeInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := net.Pipe()
		done := make(chan error, 1)
		go func() {
			wstest.Serve(server, func(p *wstest.Peer) {
				p.Upgrade(nil)
				p.Conn.SetReadDeadline(time.Now().Add(time.Second))
				_, err := p.ReadFrame()
				done <- err
			})
		}()
		start := time.Now()
		_, head := handshakeRaw(t, client)
		if !strings.HasPrefix(head, "HTTP/1.1 101 ") {
			t.Fatalf("response %q", head)
		}
		err := <-done
		if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("ReadFrame = %v after %v, want a deadline after 1s", err, time.Since(start))
		}
		// Serve closed its end when the handler returned.
		if _, err := client.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("client read %v, want EOF", err)
		}
		client.Close()
	})
}

// ReadFrame grows its buffer as bytes arrive: a frame that declares 60 MiB
// and stops after a few bytes does not cost 60 MiB.
func TestReadFrameDeclaredLength(t *testing.T) {
	client, server := net.Pipe()
	got := make(chan error, 1)
	go wstest.Serve(server, func(p *wstest.Peer) {
		p.Upgrade(nil)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := p.ReadFrame()
		runtime.ReadMemStats(&after)
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
			err = fmt.Errorf("ReadFrame allocated %d bytes for a 10-byte payload (%v)", grown, err)
		}
		got <- err
	})
	handshakeRaw(t, client)
	h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Key: mask.Key{1, 2, 3, 4}, Length: 60 << 20}
	b, _ := h.AppendBinary(nil)
	client.Write(append(b, "0123456789"...))
	client.Close()
	if err := <-got; !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadFrame of a cut frame = %v, want io.ErrUnexpectedEOF", err)
	}
}

// A frame is read whole across many small writes and its buffer reused.
func TestReadFrameInPieces(t *testing.T) {
	client, server := net.Pipe()
	got := make(chan []byte, 2)
	go wstest.Serve(server, func(p *wstest.Peer) {
		p.Upgrade(nil)
		for range 2 {
			f, err := p.ReadFrame()
			if err != nil {
				close(got)
				return
			}
			got <- bytes.Clone(f.Payload)
		}
	})
	handshakeRaw(t, client)
	want := strings.Repeat("payload ", 5000)
	for range 2 {
		wire := masked(frame.OpBinary, want)
		for len(wire) > 0 {
			n := min(len(wire), 777)
			client.Write(wire[:n])
			wire = wire[n:]
		}
		if p := <-got; string(p) != want {
			t.Fatalf("ReadFrame = %d bytes, want %d", len(p), len(want))
		}
	}
	client.Close()
}

// Accept answers a request a server must refuse with the status the check
// names, and hands the error to the handler.
func TestAcceptRefuses(t *testing.T) {
	tests := []struct {
		name, request string
		code          int
		header        string // a field the answer must carry
	}{
		{"version 8", strings.Replace(request, "Version: 13", "Version: 8", 1), 426, "Sec-WebSocket-Version: 13"},
		{"POST", strings.Replace(request, "GET", "POST", 1), 405, ""},
		{"no key", strings.Replace(request, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1), 400, ""},
		{"Upgrade h2c", strings.Replace(request, "Upgrade: websocket", "Upgrade: h2c", 1), 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan error, 1)
			s := wstest.NewServer(func(p *wstest.Peer) {
				c, err := p.Accept(nil, nil)
				if c != nil {
					c.CloseNow()
				}
				got <- err
			})
			defer s.Close()
			nc := s.Pipe()
			defer nc.Close()
			io.WriteString(nc, tt.request)
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.code {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.code)
			}
			if name, value, ok := strings.Cut(tt.header, ": "); ok && resp.Header.Get(name) != value {
				t.Errorf("%s: %q, want %q", name, resp.Header.Get(name), value)
			}
			var re *handshake.RequestError
			if err := <-got; !errors.As(err, &re) || re.StatusCode != tt.code {
				t.Errorf("Accept = %v, want a RequestError with status %d", err, tt.code)
			}
		})
	}
}

// The Conn from Accept reads the frames that came with the request first,
// is a server (it refuses an unmasked frame) and writes unmasked frames.
func TestAcceptConn(t *testing.T) {
	got := make(chan string, 2)
	s := wstest.NewServer(func(p *wstest.Peer) {
		c, err := p.Accept(nil, nil)
		if err != nil {
			got <- err.Error()
			return
		}
		ctx := context.Background()
		for range 2 {
			_, msg, err := c.ReadMessage(ctx)
			if err != nil {
				got <- err.Error()
				return
			}
			got <- string(msg)
			c.WriteMessage(ctx, frame.OpText, msg)
		}
	})
	defer s.Close()
	nc := s.Pipe()
	defer nc.Close()
	// The request and the first frame in one write.
	go nc.Write(append([]byte(request), masked(frame.OpText, "first")...))
	br := bufio.NewReader(nc)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
		t.Fatal(resp, err)
	}
	if msg := <-got; msg != "first" {
		t.Fatalf("the Conn read %q, want the frame sent with the request", msg)
	}
	if h, err := frame.ReadHeader(br); err != nil || h.Masked || h.Length != 5 {
		t.Fatalf("server frame %+v, %v; want unmasked, 5 bytes", h, err)
	}
	br.Discard(5)
	nc.Write([]byte{0x81, 0x01, 'x'}) // unmasked: a server fails the connection
	if h, err := frame.ReadHeader(br); h.Opcode != frame.OpClose {
		t.Fatalf("got %v, %v; want the close frame failing the connection", h.Opcode, err)
	}
	if msg := <-got; !strings.Contains(msg, "mask") {
		t.Fatalf("the Conn read an unmasked frame: %q", msg)
	}
}

// A Server made outside a synctest bubble serves a Pipe made inside it:
// the client's deadline is the bubble's fake second.
func TestPipeInBubble(t *testing.T) {
	leakcheck.Check(t)
	s := wstest.NewServer(wstest.Discard)
	defer s.Close()
	synctest.Test(t, func(t *testing.T) {
		c, err := new(conn.Dialer).DialConn(t.Context(), s.Pipe(), "ws://pipe.test/")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, _, err := c.ReadMessage(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("ReadMessage = %v after %v; want the deadline after 1s", err, time.Since(start))
		}
		if err := c.Close(t.Context(), status.NormalClosure, ""); err != nil {
			t.Errorf("Close = %v", err)
		}
	})
}

// Close stops the accept loop and every handler, including one blocked
// on a read and one over a Conn, and later connections are refused.
func TestCloseLeaksNothing(t *testing.T) {
	leakcheck.Check(t)
	var running atomic.Int32
	s := wstest.NewServer(func(p *wstest.Peer) {
		running.Add(1)
		defer running.Add(-1)
		if p.Request.URL.Path == "/raw" {
			p.Upgrade(nil)
			p.ReadFrame()
			// A handler slow to finish: Close must wait for it.
			time.Sleep(20 * time.Millisecond)
			return
		}
		wstest.Echo(p)
	})
	ctx := t.Context()
	for _, path := range []string{"/raw", "/echo"} {
		c, err := conn.Dial(ctx, s.URL+path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
	}
	pipe := s.Pipe()
	defer pipe.Close()
	s.Close()
	if n := running.Load(); n != 0 {
		t.Errorf("%d handlers still running after Close", n)
	}
	if nc, err := net.Dial("tcp", s.Addr); err == nil {
		nc.Close()
		t.Error("the listener still accepts after Close")
	}
	if _, err := s.Pipe().Write([]byte("x")); err == nil {
		t.Error("a Pipe after Close is served")
	}
}
