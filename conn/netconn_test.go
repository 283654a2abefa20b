package conn_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/selfsigned"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// netPair returns the net.Conns of binary streams over a client and a
// server Conn joined by net.Pipe.
func netPair(t *testing.T) (client, server net.Conn, cc, sc *conn.Conn) {
	a, b := net.Pipe()
	cc = conn.New(a, nil)
	sc = conn.New(b, &conn.Config{Role: conn.RoleServer})
	t.Cleanup(func() { cc.CloseNow(); sc.CloseNow() })
	ctx := context.Background()
	return conn.NetConn(ctx, cc, frame.OpBinary), conn.NetConn(ctx, sc, frame.OpBinary), cc, sc
}

// rawNetConn returns a NetConn of op over a client Conn on one end of a
// net.Pipe, and the other end, raw, for the test to play the peer. Both
// are closed at the end of the test.
func rawNetConn(t *testing.T, op frame.Opcode) (net.Conn, net.Conn) {
	a, b := net.Pipe()
	cc := conn.New(a, nil)
	t.Cleanup(func() { cc.CloseNow(); b.Close() })
	return conn.NetConn(context.Background(), cc, op), b
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// onlyReader hides a reader's WriteTo, so that io.Copy writes in pieces.
type onlyReader struct{ io.Reader }

// 1 MiB each way at once with io.Copy, then the closing handshake: the
// reading side sees io.EOF.
func TestNetConnCopy(t *testing.T) {
	client, server, _, _ := netPair(t)
	up, down := randomBytes(1<<20), randomBytes(1 << 20)[1:]
	errs := make(chan error, 2)
	go func() {
		_, err := io.Copy(client, onlyReader{bytes.NewReader(up)})
		errs <- err
	}()
	go func() {
		_, err := io.Copy(server, onlyReader{bytes.NewReader(down)})
		errs <- err
	}()
	var gotDown bytes.Buffer
	readDown := make(chan error, 1)
	go func() {
		_, err := io.CopyN(&gotDown, client, int64(len(down)))
		readDown <- err
	}()
	var gotUp bytes.Buffer
	if _, err := io.CopyN(&gotUp, server, int64(len(up))); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan error{errs, errs, readDown} {
		if err := recv(t, ch); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(gotUp.Bytes(), up) || !bytes.Equal(gotDown.Bytes(), down) {
		t.Fatal("the streams differ from what was written")
	}

	rest := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, server)
		rest <- err
	}()
	if err := client.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := recv(t, rest); err != nil {
		t.Fatalf("io.Copy after the peer's Close = %v, want nil (io.EOF)", err)
	}
	if _, err := client.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
	if _, err := client.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close = %v, want net.ErrClosed", err)
	}
}

// CloseWrite is a half-close: what the echo server sends back after it,
// up to its answer, is read whole, then io.EOF, as a relay needs; Close
// after it returns nil. Close instead would drop the echoes still coming.
func TestNetConnCloseWrite(t *testing.T) {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	ctx := testCtx(t)
	c, err := srv.Dialer().Dial(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	nc := conn.NetConn(ctx, c, frame.OpBinary)
	var got bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(&got, nc)
		done <- err
	}()
	sent := randomBytes(1 << 20)
	if _, err := nc.Write(sent); err != nil {
		t.Fatal(err)
	}
	cw, ok := nc.(interface{ CloseWrite() error })
	if !ok {
		t.Fatal("the net.Conn has no CloseWrite")
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite = %v", err)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Errorf("a second CloseWrite = %v, want nil as on a socket", err)
	}
	if _, err := nc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after CloseWrite = %v, want net.ErrClosed", err)
	}
	if err := recv(t, done); err != nil || !bytes.Equal(got.Bytes(), sent) {
		t.Fatalf("io.Copy = %v with %d of %d bytes echoed", err, got.Len(), len(sent))
	}
	if err := nc.Close(); err != nil {
		t.Errorf("Close after the answer = %v", err)
	}
	// Closed here: as on a socket, whatever the peer did before.
	if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close = %v, want net.ErrClosed", err)
	}
	if _, err := nc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
}

// A peer may answer a close with an empty close frame (no code, 1005):
// after CloseWrite, Read returns io.EOF and Close nil, as for 1000.
func TestNetConnCloseWriteEmptyAnswer(t *testing.T) {
	s := serve(t, func(p *wstest.Peer) {
		p.Upgrade(nil)
		p.WriteMessage(frame.OpBinary, []byte("last"))
		p.ReadClose()
		p.WriteFrame(frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}})
	})
	c := dial(t, nil, s.URL)
	nc := conn.NetConn(testCtx(t), c, frame.OpBinary)
	if err := nc.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(nc); err != nil || string(got) != "last" {
		t.Errorf("ReadAll = %q, %v; want \"last\" and io.EOF", got, err)
	}
	if err := nc.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

// A text NetConn carries any valid UTF-8 stream, whatever the Writes'
// lengths: a Write longer than a message, and io.CopyBuffer's pieces that
// end inside characters, arrive whole. A stream that ends inside a
// character is refused at Close.
func TestNetConnText(t *testing.T) {
	a, b := net.Pipe()
	cc, sc := conn.New(a, nil), conn.New(b, &conn.Config{Role: conn.RoleServer})
	t.Cleanup(func() { cc.CloseNow(); sc.CloseNow() })
	client := conn.NetConn(context.Background(), cc, frame.OpText)
	server := conn.NetConn(context.Background(), sc, frame.OpText)
	long := strings.Repeat("😀", 10000)                           // 40,000 bytes, more than a message
	mixed := strings.Repeat("ascii, кириллица, 漢字 and 😀 ", 2000) // cut by 1000-byte pieces
	got := make(chan string, 1)
	go func() {
		b := make([]byte, len(long)+len(mixed))
		_, err := io.ReadFull(server, b)
		if err != nil {
			t.Error(err)
		}
		got <- string(b)
	}()
	if n, err := client.Write([]byte(long)); n != len(long) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if _, err := io.CopyBuffer(client, onlyReader{strings.NewReader(mixed)}, make([]byte, 1000)); err != nil {
		t.Fatalf("io.CopyBuffer = %v", err)
	}
	if s := recv(t, got); s != long+mixed {
		t.Fatalf("the text differs from what was written (%d bytes read)", len(s))
	}
	go io.Copy(io.Discard, server)
	if n, err := client.Write([]byte("ends in \xe6\xbc")); n != 10 || err != nil {
		t.Fatalf("Write ending inside a character = %d, %v; want all held", n, err)
	}
	if err := client.Close(); !errors.Is(err, conn.ErrInvalidText) {
		t.Errorf("Close with a character unfinished = %v, want ErrInvalidText", err)
	}
}

// Writes from several goroutines never interleave their bytes, even when
// each is longer than a message.
func TestNetConnWritesWhole(t *testing.T) {
	client, server, _, _ := netPair(t)
	const size, writers, rounds = 100 << 10, 4, 3
	for g := range writers {
		go func() {
			for range rounds {
				if _, err := client.Write(bytes.Repeat([]byte{byte('a' + g)}, size)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	got := make([]byte, writers*rounds*size)
	if _, err := io.ReadFull(server, got); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(got); i += size {
		if w := got[i : i+size]; !bytes.Equal(w, bytes.Repeat(w[:1], size)) {
			t.Fatalf("the bytes of concurrent Writes interleave in the Write at %d", i)
		}
	}
}

// A deadline stops a blocked Read, also in the middle of a message, and
// the next Read continues the stream.
func TestNetConnReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, _, _, sc := netPair(t)
		ctx := context.Background()
		go sc.WriteFrame(ctx, frame.Frame{Header: frame.Header{Opcode: frame.OpBinary}, Payload: []byte("ab")})
		buf := make([]byte, 10)
		if n, err := client.Read(buf); err != nil || string(buf[:n]) != "ab" {
			t.Fatalf("Read = %q, %v", buf[:n], err)
		}
		start := time.Now()
		done := make(chan error, 1)
		go func() {
			_, err := client.Read(buf)
			done <- err
		}()
		synctest.Wait()
		client.SetReadDeadline(start.Add(time.Second)) // set while the Read is blocked
		err := <-done
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.Canceled) {
			t.Fatalf("Read = %v, want a timeout of the deadline, not a cancellation", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("stopped after %v, want 1s", d)
		}
		if _, err := client.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read past the deadline = %v, want a timeout at once", err)
		}

		client.SetReadDeadline(time.Time{})
		go sc.WriteFrame(ctx, frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpContinuation}, Payload: []byte("cd")})
		if n, err := client.Read(buf); err != nil || string(buf[:n]) != "cd" {
			t.Fatalf("Read after the deadline = %q, %v; want the rest of the message", buf[:n], err)
		}
	})
}

// A deadline stops a Write the peer does not read; moving the deadline
// later before it passes lets the Write go on.
func TestNetConnWriteDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server, _, _ := netPair(t)
		start := time.Now()
		client.SetWriteDeadline(start.Add(time.Second))
		client.SetWriteDeadline(start.Add(2 * time.Second))
		_, err := client.Write([]byte("nobody reads"))
		if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != 2*time.Second {
			t.Fatalf("Write = %v after %v, want a timeout after 2s", err, time.Since(start))
		}
		client.SetWriteDeadline(time.Time{})
		go client.Write([]byte("read"))
		buf := make([]byte, 10)
		if n, err := server.Read(buf); err != nil || string(buf[:n]) != "read" {
			t.Fatalf("Read = %q, %v", buf[:n], err)
		}
	})
}

// Close during a Write over TLS, which cannot resume a stopped write,
// still performs the closing handshake: the close frame follows the
// Write's current message, and the peer reads a normal close.
func TestNetConnCloseDuringTLSWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cert, err := selfsigned.Certificate("framewire test")
		if err != nil {
			t.Fatal(err)
		}
		a, b := net.Pipe()
		ta := tls.Client(a, &tls.Config{InsecureSkipVerify: true})
		tb := tls.Server(b, &tls.Config{Certificates: []tls.Certificate{cert}})
		cc := conn.New(ta, nil)
		sc := conn.New(tb, &conn.Config{Role: conn.RoleServer})
		defer cc.CloseNow()
		defer sc.CloseNow()
		peer := make(chan error, 1)
		go func() {
			time.Sleep(500 * time.Millisecond) // reads nothing for a while
			for {
				if _, _, err := sc.ReadMessage(context.Background()); err != nil {
					peer <- err
					return
				}
			}
		}()
		nc := conn.NetConn(context.Background(), cc, frame.OpBinary)
		go nc.Write(make([]byte, 8<<20))
		time.Sleep(200 * time.Millisecond)
		if err := nc.Close(); err != nil {
			t.Errorf("Close = %v, want nil", err)
		}
		var ce *status.CloseError
		if err := <-peer; !errors.As(err, &ce) || ce.Code != status.NormalClosure {
			t.Errorf("peer's read ended with %v, want the client's close with 1000", err)
		}
	})
}

// A write stopped in the middle of a frame closes the connection (a
// NetConn's own writes never cut a frame, but another call on its Conn
// may, and over TLS every stopped write does): the NetConn's calls after
// it report it closed, not a timeout a retry could outlast.
func TestNetConnBrokenWriteFinal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		cc := conn.New(a, nil)
		defer cc.CloseNow()
		client := conn.NetConn(context.Background(), cc, frame.OpBinary)
		go io.ReadFull(b, make([]byte, 100)) // then reads nothing more
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := cc.WriteMessage(ctx, frame.OpBinary, make([]byte, 1<<20)); !errors.Is(err, conn.ErrBroken) {
			t.Fatalf("WriteMessage = %v, want a broken write", err)
		}
		_, werr := client.Write([]byte("x"))
		_, rerr := client.Read(make([]byte, 1))
		for _, err := range []error{werr, rerr} {
			var ne net.Error
			if !errors.Is(err, net.ErrClosed) || errors.As(err, &ne) && (ne.Timeout() || ne.Temporary()) {
				t.Errorf("call after a broken write = %v, want net.ErrClosed, no timeout", err)
			}
		}
	})
}

func TestNetConnUnexpectedType(t *testing.T) {
	client, _, _, sc := netPair(t)
	go sc.WriteMessage(context.Background(), frame.OpText, []byte("text"))
	got := make(chan frame.Frame, 1)
	go func() {
		f, _ := sc.ReadFrame(context.Background(), nil)
		got <- f
	}()
	if _, err := client.Read(make([]byte, 10)); !errors.Is(err, conn.ErrUnexpectedMessage) {
		t.Fatalf("Read = %v, want ErrUnexpectedMessage", err)
	}
	f := recv(t, got)
	if code, _, _ := frame.ParseClose(f.Payload, frame.Policy{}); f.Opcode != frame.OpClose || code != status.UnsupportedData {
		t.Errorf("peer got %v, want a close with 1003", f)
	}
}

func TestNetConnAddr(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var tr conn.Transport = struct {
		io.ReadWriteCloser
		deadlines
	}{a, a}
	nc := conn.NetConn(context.Background(), conn.New(tr, nil), frame.OpBinary)
	if l, r := nc.LocalAddr(), nc.RemoteAddr(); l == nil || r == nil || l.Network() != "websocket" {
		t.Errorf("addresses %v, %v; want placeholders", l, r)
	}
	nc = conn.NetConn(context.Background(), conn.New(a, nil), frame.OpBinary)
	if l := nc.LocalAddr(); l != a.LocalAddr() {
		t.Errorf("LocalAddr = %v, want the transport's %v", l, a.LocalAddr())
	}
}

type deadlines interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// A Write stopped by its deadline in the middle of a message counts the
// message as written, and the message is sent whole with no further
// call, as a socket sends what a write left in its buffer (it waited for
// the next write before, and a writer done writing stalled the stream).
func TestNetConnKeptMessageSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, b := rawNetConn(t, frame.OpBinary)
		p := randomBytes(100 << 10)
		head := make([]byte, 40<<10) // a first message and part of the second
		go io.ReadFull(b, head)
		client.SetWriteDeadline(time.Now().Add(time.Second))
		n, err := client.Write(p)
		if !errors.Is(err, os.ErrDeadlineExceeded) || n != 2*32754 {
			t.Fatalf("Write = %d, %v; want two messages counted and a timeout", n, err)
		}
		rest := make([]byte, 2*(8+32754)-len(head)) // the second message's end
		if _, err := io.ReadFull(b, rest); err != nil {
			t.Fatal(err)
		}
		wire := append(head, rest...)
		var got []byte
		for len(wire) > 0 {
			h, hl, err := frame.ParseHeader(wire)
			if err != nil {
				t.Fatal(err)
			}
			pay := wire[hl : hl+int(h.Length)]
			mask.Apply(pay, h.Key, 0)
			got = append(got, pay...)
			wire = wire[hl+int(h.Length):]
		}
		if !bytes.Equal(got, p[:n]) {
			t.Errorf("the peer read %d bytes, not the %d counted", len(got), n)
		}
	})
}

// io.Copy into a NetConn sends messages as long as a Write sends whole
// (ReadFrom): 100 KiB is four messages, not a message and a 14-byte one
// for each 32 KiB of io.Copy's own buffer. Text messages end at a
// character's end, without a message of one character where a piece
// read splits one.
func TestNetConnReadFromWholeMessages(t *testing.T) {
	tests := []struct {
		name  string
		op    frame.Opcode
		p     []byte
		sizes []int
	}{
		{"binary", frame.OpBinary, randomBytes(100 << 10), []int{32754, 32754, 32754, 4138}},
		{"text of 4-byte characters", frame.OpText, bytes.Repeat([]byte("😀"), 25600), []int{32752, 32752, 32752, 4144}},
		{"text of 3-byte characters", frame.OpText, bytes.Repeat([]byte("€"), 25600), []int{32754, 32754, 11292}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := net.Pipe()
				cc, sc := conn.New(a, nil), conn.New(b, &conn.Config{Role: conn.RoleServer})
				t.Cleanup(func() { cc.CloseNow(); sc.CloseNow() })
				client := conn.NetConn(context.Background(), cc, tt.op)
				copied := make(chan error, 1)
				go func() {
					n, err := io.Copy(client, onlyReader{bytes.NewReader(tt.p)})
					if err == nil && n != int64(len(tt.p)) {
						err = io.ErrShortWrite
					}
					copied <- err
				}()
				var got []byte
				sizes := []int{}
				for len(got) < len(tt.p) {
					_, m, err := sc.ReadMessage(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, m...)
					sizes = append(sizes, len(m))
				}
				if err := <-copied; err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, tt.p) || !slices.Equal(sizes, tt.sizes) {
					t.Errorf("messages of %v bytes, want %v, the stream whole", sizes, tt.sizes)
				}
			})
		})
	}
}

// The character a text Write held, completed by the next Write, is sent
// as a message of its own, which is finished in the background as
// TestNetConnKeptMessageSent's when that Write's deadline stops it midway.
func TestNetConnKeptCharacterSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nc, b := rawNetConn(t, frame.OpText)
		if n, err := nc.Write([]byte{0xc3}); n != 1 || err != nil { // held
			t.Fatalf("Write = %d, %v", n, err)
		}
		head := make([]byte, 3)
		go io.ReadFull(b, head)
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		if n, err := nc.Write([]byte{0xa9}); n != 1 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write = %d, %v; want the character counted and a timeout", n, err)
		}
		rest := make([]byte, 2+4+2-len(head)) // header, key, "é"
		if _, err := io.ReadFull(b, rest); err != nil {
			t.Fatal(err)
		}
	})
}
