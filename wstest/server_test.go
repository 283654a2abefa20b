package wstest_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/wstest"
)

// A connection the handler hijacked stays open through Server.Close, and
// Close does not wait for its handler, which may use it for as long as it
// likes (httptest's Close does the same).
func TestHijackedSurvivesClose(t *testing.T) {
	hijacked := make(chan net.Conn, 1)
	release := make(chan struct{})
	handled := make(chan struct{})
	s := wstest.NewServer(func(p *wstest.Peer) {
		defer close(handled)
		nc, _ := p.Hijack()
		hijacked <- nc
		<-release
	})
	client, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	io.WriteString(client, request)
	server := <-hijacked
	defer server.Close()
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for the handler of a hijacked connection")
	}
	if _, err := server.Write([]byte("x")); err != nil {
		t.Errorf("write on the hijacked connection after Close: %v", err)
	}
	close(release)
	<-handled
}

// A Peer's writes from several goroutines never interleave: a pong that
// ReadClose writes in one goroutine while the handler writes messages in
// another comes between two frames, never inside one.
func TestPeerWritesWhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := net.Pipe()
		msg := bytes.Repeat([]byte{'m'}, 200)
		const n = 300
		go wstest.Serve(server, func(p *wstest.Peer) {
			p.Upgrade(nil)
			var wg sync.WaitGroup
			wg.Go(func() { p.ReadClose() })
			for range n {
				p.WriteMessage(frame.OpBinary, msg)
			}
			wg.Wait()
		})
		br, _ := handshakeRaw(t, client)
		go func() {
			for range n {
				client.Write(masked(frame.OpPing, "pppppppppppppppppppp"))
			}
			client.Write(masked(frame.OpClose, "\x03\xe8"))
		}()
		msgs := 0
		for msgs < n {
			h, err := frame.ReadHeader(br)
			if err != nil {
				t.Fatal(err)
			}
			p := make([]byte, h.Length)
			if _, err := io.ReadFull(br, p); err != nil {
				t.Fatal(err)
			}
			switch {
			case h.Opcode == frame.OpBinary && bytes.Equal(p, msg):
				msgs++
			case h.Opcode == frame.OpPong && len(p) == 20:
			default:
				t.Fatalf("frame %v with %.30q after %d messages: frames interleaved", h, p, msgs)
			}
		}
		client.Close()
	})
}

// A client that hangs up inside a frame's header, even after its first
// byte, is an unexpected end, not a clean one.
func TestReadFrameCutHeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := net.Pipe()
		got := make(chan error, 1)
		go wstest.Serve(server, func(p *wstest.Peer) {
			p.Upgrade(nil)
			_, err := p.ReadFrame()
			got <- err
		})
		handshakeRaw(t, client)
		client.Write(masked(frame.OpText, "hello")[:1])
		client.Close()
		if err := <-got; !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("ReadFrame = %v, want io.ErrUnexpectedEOF", err)
		}
	})
}

// A Trickle on a Pipe made in a synctest bubble, of a Server made outside
// it, pauses in the bubble's time.
func TestTrickleInBubble(t *testing.T) {
	s := wstest.NewServer(func(p *wstest.Peer) { p.Trickle([]byte("abc"), time.Second) })
	defer s.Close()
	synctest.Test(t, func(t *testing.T) {
		client := s.Pipe()
		defer client.Close()
		start := time.Now()
		io.WriteString(client, request)
		if b, err := io.ReadAll(client); string(b) != "abc" || err != nil || time.Since(start) != 2*time.Second {
			t.Errorf("read %q, %v after %v; want abc after 2s", b, err, time.Since(start))
		}
	})
}

// A client that sends a request the peer cannot read and then reads
// nothing does not hold Serve: the refusal's write is bounded.
func TestRefusalWriteBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := net.Pipe()
		defer client.Close()
		done := make(chan struct{})
		go func() { wstest.Serve(server, func(*wstest.Peer) {}); close(done) }()
		start := time.Now()
		io.WriteString(client, "NOT HTTP\r\n\r\n")
		<-done
		if took := time.Since(start); took != time.Second {
			t.Errorf("Serve returned after %v, want 1s", took)
		}
	})
}

// Server.Close ends a Trickle's pause at once.
func TestCloseEndsTrickle(t *testing.T) {
	started := make(chan struct{})
	s := wstest.NewServer(func(p *wstest.Peer) {
		p.Upgrade(nil)
		close(started)
		p.Trickle([]byte{0x81, 1, 'x'}, time.Hour)
	})
	nc, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, request)
	<-started
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for the Trickle's pause")
	}
}

// A handler that panics loses its connection, not the test binary.
func TestHandlerPanicRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			wstest.Serve(server, func(p *wstest.Peer) { panic("handler bug (expected by this test)") })
		}()
		io.WriteString(client, request)
		if _, err := client.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("client read = %v, want io.EOF", err)
		}
		<-done
	})
}

// A request head the peer cannot read is answered before the connection
// closes: 431 when it is too large, 400 when it does not parse.
func TestBadRequestAnswered(t *testing.T) {
	for _, tt := range []struct {
		name, req string
		code      int
	}{
		{"too large", "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"malformed", "NOT HTTP\r\n\r\n", http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, server := net.Pipe()
				called := false
				go wstest.Serve(server, func(*wstest.Peer) { called = true })
				go io.WriteString(client, tt.req)
				resp, err := http.ReadResponse(bufio.NewReader(client), nil)
				if err != nil || resp.StatusCode != tt.code {
					t.Fatalf("response %v, %v; want %d", resp, err, tt.code)
				}
				client.Close()
				synctest.Wait()
				if called {
					t.Error("the handler ran")
				}
			})
		})
	}
}

// Respond sorts its fields and refuses what it cannot write correctly;
// Redirect refuses a status that is not a redirect. The request the
// handler sees has RemoteAddr set.
func TestRespondChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := net.Pipe()
		errs := make(chan error, 6)
		remote := make(chan string, 1)
		go wstest.Serve(server, func(p *wstest.Peer) {
			remote <- p.Request.RemoteAddr
			errs <- p.Respond(101, nil, "")
			errs <- p.Respond(204, nil, "body")
			errs <- p.Respond(400, http.Header{"X": {"a\r\nInjected: yes"}}, "")
			errs <- p.Redirect(200, "/x", nil)
			errs <- p.Respond(204, http.Header{"B": {"2"}, "A": {"1"}, "C": {"3"}}, "")
		})
		_, head := handshakeRaw(t, client)
		for i := range 4 {
			if err := <-errs; err == nil {
				t.Errorf("call %d wrote a response it should refuse", i)
			} else if i == 2 && !errors.Is(err, handshake.ErrInvalidHeader) {
				t.Errorf("CR LF in a value: %v, want ErrInvalidHeader", err)
			}
		}
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		if want := "HTTP/1.1 204 No Content\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"; head != want {
			t.Errorf("response %q, want %q", head, want)
		}
		if r := <-remote; r != "pipe" {
			t.Errorf("Request.RemoteAddr = %q, want the connection's (pipe)", r)
		}
		client.Close()
	})
}
