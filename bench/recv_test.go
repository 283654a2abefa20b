package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// startStreamServer starts the server of BenchmarkRecvLoopback: after the
// opening handshake it waits for the client's first bytes, so that no
// frame arrives with the handshake response (which gobwas' wsutil client
// refuses), then writes stream over and over until the client goes away,
// reading nothing more.
func startStreamServer(tb testing.TB, stream []byte) *server {
	return serveEach(tb, upgraded(func(nc net.Conn) {
		var start [1]byte
		if _, err := nc.Read(start[:]); err != nil {
			return
		}
		for {
			if _, err := nc.Write(stream); err != nil {
				return
			}
		}
	}))
}

// BenchmarkRecvLoopback receives binary messages over loopback TCP from a
// server that streams them without pause; one op is one message. Client
// and server share the machine's cores, so compare ratios within one run.
func BenchmarkRecvLoopback(b *testing.B) {
	for _, size := range []int{16, 1 << 10} {
		srv := startStreamServer(b, serverFrames(size))
		for _, lib := range recvLibraries() {
			b.Run(sizeName(size)+"/"+lib.name, func(b *testing.B) {
				c, err := lib.dial(context.Background(), srv.url, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer c.close()
				if err := c.send([]byte("go")); err != nil {
					b.Fatal(err)
				}
				recvLoop(b, c, size)
			})
		}
	}
}

// recvLibraries are the clients of the receiving benchmarks: libraries(),
// framewire's other receiving rows (framewire-batch, framewire-receiver)
// after framewire, gobwas-checked and gobwas-lowlevel-16KiB.
func recvLibraries() []library {
	libs := libraries()
	if len(framewireRecvLibraries) > 0 {
		libs = append(libs[:1:1], append(framewireRecvLibraries[:len(framewireRecvLibraries):len(framewireRecvLibraries)], libs[1:]...)...)
	}
	return append(libs,
		library{name: "gobwas-checked", dial: dialGobwasChecked},
		library{name: "gobwas-lowlevel-16KiB", dial: dialGobwas16KiB})
}

// dialGobwas16KiB is gobwas-lowlevel reading through a 16 KiB bufio.Reader,
// the size of framewire's default read buffer, where the other gobwas
// rows read through 4 KiB.
func dialGobwas16KiB(ctx context.Context, url string, nd netDial) (client, error) {
	return dialGobwasSize(ctx, url, nd, 16<<10)
}

// framewireRecvLibraries is set by the file that drives framewire's conn
// package.
var framewireRecvLibraries []library

// gobwas/ws low level, checking what a conforming client must check, the
// way wsutil.Reader does: ws.CheckHeader for the client role (reserved
// bits and opcodes, control frame rules, masking, the order of fragments),
// a size limit, pings answered and fragments joined, and text checked for
// UTF-8 (unicode/utf8.Valid where wsutil streams its own checker). It is
// gobwas-lowlevel's loop plus those checks, and the fairest gobwas peer of
// framewire's receive, which makes them all; like the other gobwas loops
// it takes no lock, as one goroutine reads.
type gobwasChecked struct {
	gobwasClient
	ctl [ws.MaxControlFramePayloadSize]byte
}

var errInvalidUTF8 = errors.New("bench: text that is not UTF-8")

func dialGobwasChecked(ctx context.Context, url string, nd netDial) (client, error) {
	c, err := dialGobwas(ctx, url, nd)
	if err != nil {
		return nil, err
	}
	return &gobwasChecked{gobwasClient: *c.(*gobwasClient)}, nil
}

func (g *gobwasChecked) recv() ([]byte, error) {
	g.buf = g.buf[:0]
	state := ws.StateClientSide
	var op ws.OpCode
	for {
		h, err := ws.ReadHeaderBuffer(g.br, g.hdr)
		if err != nil {
			return nil, err
		}
		if err := ws.CheckHeader(h, state); err != nil {
			return nil, err
		}
		if h.OpCode.IsControl() {
			p := g.ctl[:h.Length]
			if _, err := io.ReadFull(g.br, p); err != nil {
				return nil, err
			}
			switch h.OpCode {
			case ws.OpClose:
				return nil, io.EOF
			case ws.OpPing:
				if err := wsutil.WriteClientMessage(g.nc, ws.OpPong, p); err != nil {
					return nil, err
				}
			}
			continue
		}
		if h.Length > maxMessage-int64(len(g.buf)) {
			return nil, errTooBig
		}
		if h.OpCode != ws.OpContinuation {
			op = h.OpCode
		}
		n := len(g.buf)
		g.buf = append(g.buf, make([]byte, h.Length)...)
		if _, err := io.ReadFull(g.br, g.buf[n:]); err != nil {
			return nil, err
		}
		if !h.Fin {
			state = state.Set(ws.StateFragmented)
			continue
		}
		if op == ws.OpText && !utf8.Valid(g.buf) {
			return nil, errInvalidUTF8
		}
		return g.buf, nil
	}
}

// TestGobwasChecked checks that the gobwas-checked client makes the checks
// its row claims: each bad stream fails its first receive, and the good
// ones are read as framewire reads them.
func TestGobwasChecked(t *testing.T) {
	lib := library{name: "gobwas-checked", dial: dialGobwasChecked}
	enc := func(fs ...ws.Frame) []byte {
		var b bytes.Buffer
		for _, f := range fs {
			if err := ws.WriteFrame(&b, f); err != nil {
				t.Fatal(err)
			}
		}
		return b.Bytes()
	}
	rsv1 := ws.NewBinaryFrame([]byte("x"))
	rsv1.Header.Rsv = ws.Rsv(true, false, false)
	for _, tt := range []struct {
		name   string
		stream []byte
		want   string // "" for an error
	}{
		{"binary", enc(ws.NewBinaryFrame([]byte("ok"))), "ok"},
		{"text", enc(ws.NewTextFrame([]byte("héllo"))), "héllo"},
		{"ping first", enc(ws.NewPingFrame([]byte("p")), ws.NewBinaryFrame([]byte("after"))), "after"},
		{"fragments", enc(ws.NewFrame(ws.OpText, false, []byte("ab")), ws.NewFrame(ws.OpContinuation, true, []byte("cd"))), "abcd"},
		{"invalid UTF-8", enc(ws.NewTextFrame([]byte("ok\xff"))), ""},
		{"masked", enc(ws.MaskFrame(ws.NewBinaryFrame([]byte("m")))), ""},
		{"reserved bit", enc(rsv1), ""},
		{"reserved opcode", enc(ws.NewFrame(ws.OpCode(3), true, nil)), ""},
		{"continuation first", enc(ws.NewFrame(ws.OpContinuation, true, []byte("x"))), ""},
		{"text inside a message", enc(ws.NewFrame(ws.OpText, false, []byte("ab")), ws.NewTextFrame([]byte("cd"))), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dialMemory(t, lib, tt.stream)
			defer c.close()
			p, err := c.recv()
			if tt.want == "" && err == nil {
				t.Fatalf("got %q, want an error", p)
			}
			if tt.want != "" && (err != nil || string(p) != tt.want) {
				t.Fatalf("got %q, %v; want %q", p, err, tt.want)
			}
		})
	}
}
