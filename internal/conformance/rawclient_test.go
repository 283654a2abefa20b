package conformance

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/mask"
)

// rawConn is a minimal WebSocket client for testing the server: it speaks
// raw frames and does exactly what a scripted behavior tells it.
type rawConn struct {
	nc      io.ReadWriteCloser // a TCP connection, or an HTTP/2 stream (dialStream)
	br      *bufio.Reader
	unmask  bool // send unmasked frames (a protocol violation)
	partial []byte
	partOp  frame.Opcode
}

func dialRaw(t *testing.T, base, path string) *rawConn {
	t.Helper()
	c, _ := dialRawExt(t, base, path, nil)
	return c
}

// dialRawExt is dialRaw with Sec-WebSocket-Extensions elements offered;
// it returns the elements the server accepted too.
func dialRawExt(t *testing.T, base, path string, exts []string) (*rawConn, []string) {
	t.Helper()
	if addr, ok := strings.CutPrefix(base, h2cScheme); ok {
		return dialStream(t, addr, path, exts)
	}
	nc, err := net.Dial("tcp", base)
	if err != nil {
		t.Fatal(err)
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	if len(exts) > 0 {
		req += "Sec-WebSocket-Extensions: " + strings.Join(exts, ", ") + "\r\n"
	}
	req += "\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %s %v", resp.Status, resp.Header)
	}
	return &rawConn{nc: nc, br: br}, resp.Header.Values("Sec-WebSocket-Extensions")
}

// read returns the next frame from the server.
func (c *rawConn) read() (frame.Header, []byte, error) {
	h, err := frame.ReadHeader(c.br)
	if err != nil {
		return h, nil, err
	}
	p := make([]byte, h.Length)
	_, err = io.ReadFull(c.br, p)
	return h, p, err
}

// write sends one frame, masked unless c.unmask.
func (c *rawConn) write(op frame.Opcode, fin bool, p []byte) {
	f := frame.Frame{Header: frame.Header{Fin: fin, Opcode: op, Masked: !c.unmask, Key: mask.Key{1, 2, 3, 4}}, Payload: p}
	b, _ := f.AppendBinary(nil)
	c.nc.Write(b)
}

func (c *rawConn) close(code int) {
	var p []byte
	if code >= 0 {
		p = binary.BigEndian.AppendUint16(nil, uint16(code))
	}
	c.write(frame.OpClose, true, p)
}

// behavior is how a scripted client acts on the server's frames.
type behavior struct {
	silent      bool // read everything, answer nothing, never close
	validate    bool // fail on frames a client must refuse
	failFast    bool // validate UTF-8 frame by frame, not at the message end
	failAtOnce  int  // close with this code before reading anything
	closeCode   int  // answer a close with this code instead of echoing it
	echoTwice   bool // echo every message twice
	echoBadCode bool // echo the server's close code even when invalid
	emptyPong   bool // answer every ping with an empty pong
}

// play runs b on c until the connection ends, and returns the read error
// that ended it.
func (b behavior) play(c *rawConn) error {
	defer c.nc.Close()
	if b.failAtOnce != 0 {
		c.close(b.failAtOnce)
		for {
			if _, _, err := c.read(); err != nil {
				return err
			}
		}
	}
	var msg []byte
	msgOp := frame.Opcode(0)
	for {
		h, p, err := c.read()
		if err != nil {
			return err
		}
		if b.silent {
			continue
		}
		if b.validate {
			if err := h.Validate(frame.Policy{}); err != nil {
				c.close(1002)
				continue
			}
			if h.Opcode == frame.OpContinuation && msgOp == 0 || h.Opcode.IsData() && h.Opcode != frame.OpContinuation && msgOp != 0 {
				c.close(1002)
				continue
			}
		}
		switch h.Opcode {
		case frame.OpPing:
			if b.emptyPong {
				p = nil
			}
			c.write(frame.OpPong, true, p)
			continue
		case frame.OpPong:
			continue
		case frame.OpClose:
			code := -1
			if len(p) >= 2 {
				code = int(binary.BigEndian.Uint16(p))
			}
			switch {
			case b.closeCode != 0:
				code = b.closeCode
			case b.validate && (len(p) == 1 || len(p) >= 2 && !validCode(code) && !b.echoBadCode):
				code = 1002
			case b.validate && len(p) > 2 && !utf8.Valid(p[2:]):
				code = 1007
			}
			c.close(code)
			continue
		case frame.OpText, frame.OpBinary:
			msgOp, msg = h.Opcode, nil
		case frame.OpContinuation:
		default:
			continue
		}
		msg = append(msg, p...)
		if b.validate && b.failFast && msgOp == frame.OpText && !validPrefix(msg) {
			c.close(1007)
			continue
		}
		if !h.Fin {
			continue
		}
		if b.validate && msgOp == frame.OpText && !utf8.Valid(msg) {
			c.close(1007)
			continue
		}
		c.write(msgOp, true, msg)
		if b.echoTwice {
			c.write(msgOp, true, msg)
		}
		msgOp = 0
	}
}

func validCode(c int) bool {
	return c >= 1000 && c <= 1003 || c >= 1007 && c <= 1014 || c >= 3000 && c <= 4999
}

// validPrefix reports whether p can start valid UTF-8.
func validPrefix(p []byte) bool {
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && n <= 1 {
			// Either invalid or cut short: cut short only if the rest is
			// a proper beginning of a character.
			rest := p[i:]
			return len(rest) < 4 && !utf8.FullRune(rest) && startsRune(rest)
		}
		i += n
	}
	return true
}

// startsRune reports whether p, shorter than a character, is the start
// of a valid encoding (RFC 3629 §4).
func startsRune(p []byte) bool {
	lo, hi := byte(0x80), byte(0xbf)
	var need int
	switch b := p[0]; {
	case b >= 0xc2 && b <= 0xdf:
		need = 1
	case b == 0xe0:
		need, lo = 2, 0xa0
	case b == 0xed:
		need, hi = 2, 0x9f
	case b >= 0xe1 && b <= 0xef:
		need = 2
	case b == 0xf0:
		need, lo = 3, 0x90
	case b == 0xf4:
		need, hi = 3, 0x8f
	case b >= 0xf1 && b <= 0xf3:
		need = 3
	default:
		return false
	}
	if len(p)-1 >= need {
		return false
	}
	for i, c := range p[1:] {
		if i == 0 && (c < lo || c > hi) || i > 0 && (c < 0x80 || c > 0xbf) {
			return false
		}
	}
	return true
}

// runCase runs the case with ID id against behavior b and returns the
// result.
func runCase(t *testing.T, id string, b behavior, unmasked, h2 bool) Result {
	t.Helper()
	return runPlayerOn(t, Options{Cases: id, Scale: 0.1}, h2, func(base, path string) {
		c := dialRaw(t, base, path)
		c.unmask = unmasked
		b.play(c)
	})[0]
}

// runPlayer runs the cases o selects one after the other, each played by
// play given the server's base (its host:port, with h2cScheme in front
// over HTTP/2) and the case's path, and returns the
// results.
func runPlayer(t *testing.T, o Options, play func(base, path string)) []Result {
	t.Helper()
	return runPlayerOn(t, o, false, play)
}

// runPlayerOn is runPlayer over HTTP/2 (h2c with prior knowledge and an
// extended CONNECT per case) when h2 is set.
func runPlayerOn(t *testing.T, o Options, h2 bool, play func(base, path string)) []Result {
	t.Helper()
	srv, err := NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	base := startServer(t, srv)
	if h2 {
		base = h2cScheme + base
	}
	for i := range srv.Cases() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			play(base, fmt.Sprintf("/runCase?case=%d&agent=raw", i+1))
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("case did not end")
		}
	}
	srv.Wait()
	rs := srv.Results("raw")
	if len(rs) != len(srv.Cases()) {
		t.Fatalf("got %d results, want %d", len(rs), len(srv.Cases()))
	}
	return rs
}

func TestVerdictsOfScriptedClients(t *testing.T) {
	echo := behavior{}
	strict := behavior{validate: true, failFast: true}
	tests := []struct {
		id       string
		name     string
		b        behavior
		unmasked bool
		want     Verdict
		behavior Verdict
		close    Verdict
	}{
		{"1.1.1", "echo", echo, false, OK, OK, OK},
		{"1.1.8", "echo", echo, false, OK, OK, OK},
		{"1.1.1", "silent", behavior{silent: true}, false, Failed, Failed, Unclean},
		{"1.1.1", "unmasked", echo, true, Failed, Failed, Failed},
		{"1.1.1", "echo twice", behavior{echoTwice: true}, false, Failed, Failed, OK},
		{"1.1.1", "close with 1001", behavior{closeCode: 1001}, false, NonStrict, OK, WrongCode},
		{"2.5", "lax echo", echo, false, Failed, Failed, Failed},
		{"2.5", "strict", strict, false, OK, OK, OK},
		{"2.2", "empty pong", behavior{emptyPong: true}, false, Failed, Failed, OK},
		{"2.7", "echo", echo, false, OK, OK, OK},
		{"3.1", "lax echo", echo, false, Failed, Failed, Failed},
		{"3.2", "strict", strict, false, OK, OK, OK},
		{"3.2", "fails at once", behavior{failAtOnce: 1002}, false, NonStrict, NonStrict, OK},
		{"5.6", "echo", echo, false, OK, OK, OK},
		{"5.6", "empty pong", behavior{emptyPong: true}, false, Failed, Failed, OK},
		{"5.19", "echo", echo, false, OK, OK, OK},
		{"6.3.1", "lax echo", echo, false, Failed, Failed, Failed},
		{"6.3.1", "strict", strict, false, OK, OK, OK},
		{"6.3.1", "silent", behavior{silent: true}, false, Failed, Failed, Failed},
		{"6.4.1", "fail fast", strict, false, OK, OK, OK},
		{"6.4.1", "fail at the end", behavior{validate: true}, false, NonStrict, NonStrict, OK},
		{"6.4.3", "frame-wise validator", strict, false, NonStrict, NonStrict, OK},
		{"6.4.1", "lax echo", echo, false, Failed, Failed, Failed},
		{"6.6.1", "strict", strict, false, OK, OK, OK},
		{"6.6.2", "strict", strict, false, OK, OK, OK},
		{"7.1.5", "echo", echo, false, OK, OK, OK},
		{"7.3.2", "strict", strict, false, OK, OK, OK},
		{"7.7.1", "close with 1001", behavior{closeCode: 1001}, false, Failed, Failed, WrongCode},
		{"7.7.13", "echo", echo, false, OK, OK, OK},
		{"7.9.1", "strict", strict, false, OK, OK, OK},
		{"7.9.1", "closes with 1000", behavior{closeCode: 1000}, false, Failed, Failed, WrongCode},
		{"7.9.1", "echoes the bad code", behavior{validate: true, echoBadCode: true}, false, Failed, Failed, Failed},
		{"7.13.1", "echo", echo, false, Informational, Informational, Informational},
		{"9.7.1", "echo", echo, false, OK, OK, OK},
		{"9.1.1", "silent", behavior{silent: true}, false, Failed, Failed, Unclean},
		{"10.1.1", "echo", echo, false, OK, OK, OK},
		{"12.1.1", "echo", echo, false, Unimplemented, Unimplemented, OK},
	}
	for _, h2 := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(transportName(h2)+" "+tt.id+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				r := runCase(t, tt.id, tt.b, tt.unmasked, h2)
				if r.Verdict != tt.want || r.Behavior != tt.behavior || r.BehaviorClose != tt.close {
					t.Errorf("verdict %s (behavior %s, close %s), want %s (%s, %s)\n%s",
						r.Verdict, r.Behavior, r.BehaviorClose, tt.want, tt.behavior, tt.close, Detail(r))
				}
			})
		}
	}
}

func TestCommands(t *testing.T) {
	srv, err := NewServer(Options{Cases: "1.1.*,2.1"})
	if err != nil {
		t.Fatal(err)
	}
	addr := startServer(t, srv)
	text := func(path string) string {
		c := dialRaw(t, addr, path)
		defer c.nc.Close()
		var got string
		for {
			h, p, err := c.read()
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			switch h.Opcode {
			case frame.OpText:
				got = string(p)
			case frame.OpClose:
				c.write(frame.OpClose, true, p)
				return got
			}
		}
	}
	if got := text("/getCaseCount"); got != "9" {
		t.Errorf("getCaseCount = %q, want 9", got)
	}
	if got := text("/getCaseInfo?case=9"); !strings.Contains(got, `"id":"2.1"`) {
		t.Errorf("getCaseInfo = %q", got)
	}
	if got := text("/getCaseStatus?case=1&agent=x"); got != `{"behavior":"UNKNOWN"}` {
		t.Errorf("getCaseStatus = %q", got)
	}
	for _, path := range []string{"/runCase?case=0&agent=x", "/runCase?case=10&agent=x", "/runCase?case=1", "/nothing"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("%s: status %d, want an error", path, resp.StatusCode)
		}
	}
	srv.Wait()
}
