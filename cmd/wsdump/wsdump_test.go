package main

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/binary"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/h2test"
	"github.com/framewire/ws/internal/pyrepr"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

func deflated(s string) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// member returns a gzip member of text written by hand: header flags,
// the optional fields' bytes, and the text deflated, with its CRC-32
// plus crcOff.
func member(t *testing.T, flags byte, fields, text string, crcOff uint32) []byte {
	t.Helper()
	b := append([]byte{0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 255}, fields...)
	var body bytes.Buffer
	w, _ := flate.NewWriter(&body, flate.BestSpeed)
	w.Write([]byte(text))
	w.Close()
	b = append(b, body.Bytes()...)
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE([]byte(text))+crcOff)
	return binary.LittleEndian.AppendUint32(b, uint32(len(text)))
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		op   frame.Opcode
		p    []byte
		want string
	}{
		{frame.OpText, []byte("hello"), "hello"},
		{frame.OpBinary, []byte{0, 1, 2}, `b'\x00\x01\x02'`},
		{frame.OpBinary, deflated("deflated!"), "[zlib] deflated!"},
		{frame.OpBinary, gzipped("gzipped!"), "[gzip] gzipped!"},
		{frame.OpBinary, []byte{0x1f, 0x8b, 0x08, 0}, `b'\x1f\x8b\x08\x00'`}, // gzip magic, bad stream: no zlib attempt
		// As Python's gzip.decompress: members one after the other, zero
		// bytes after each, nothing else.
		{frame.OpBinary, append(gzipped("gz"), 0, 0, 0), "[gzip] gz"},
		{frame.OpBinary, append(append(gzipped("one "), 0), gzipped("two")...), "[gzip] one two"},
		{frame.OpBinary, append(gzipped("gz"), 0, 1), pyrepr.Bytes(append(gzipped("gz"), 0, 1))},
		// Header fields Python skips whatever their length, a header
		// checksum it does not check; a CRC-32 or length it does.
		{frame.OpBinary, member(t, 1<<3|1<<4, strings.Repeat("n", 600)+"\x00comment\x00", "long name", 0), "[gzip] long name"},
		{frame.OpBinary, member(t, 1<<2|1<<1, "\x03\x00abc\xff\xff", "extra, bad header crc", 0), "[gzip] extra, bad header crc"},
		{frame.OpBinary, member(t, 0, "", "bad crc", 1), pyrepr.Bytes(member(t, 0, "", "bad crc", 1))},
		{frame.OpBinary, deflated("\xff\xfe"), pyrepr.Bytes(deflated("\xff\xfe"))}, // inflates, but not to UTF-8
		{frame.OpPing, []byte("pi"), `b'pi'`},
		{frame.OpPong, nil, `b''`},
		{frame.OpContinuation, []byte("it's"), `b"it's"`},
		{frame.OpClose, []byte{3, 232}, ""},
	}
	for _, tt := range tests {
		if got := describe(tt.op, tt.p); got != tt.want {
			t.Errorf("describe(%v, %q) = %q; want %q", tt.op, tt.p, got, tt.want)
		}
	}
}

func TestDescribeBomb(t *testing.T) {
	big := deflated(strings.Repeat("a", maxInflated+1))
	if got := describe(frame.OpBinary, big); strings.HasPrefix(got, "[zlib]") {
		t.Errorf("a payload inflating past %d bytes was shown inflated", maxInflated)
	}
}

// On a terminal each line received is followed by a new prompt, but the
// close ends the session and leaves none.
func TestConsoleInteractive(t *testing.T) {
	var b bytes.Buffer
	c := &console{w: &b, interactive: true, verbose: 1}
	c.prompt()
	c.message(frame.OpText, []byte("hi"))
	c.message(frame.OpClose, []byte{3, 232})
	want := "> \x1b[2K\x1b[E\x1b[34m< text: hi\x1b[39m\n> " +
		"\x1b[2K\x1b[E\x1b[34m< close: \x1b[39m\n"
	if b.String() != want {
		t.Errorf("interactive output %q; want %q", b.String(), want)
	}
}

// The help names no public server, only a local placeholder.
func TestUsageURLs(t *testing.T) {
	urls := regexp.MustCompile(`[a-z0-9]+://[^\s/]+`).FindAllString(usageText, -1)
	if len(urls) == 0 {
		t.Fatal("the usage shows no example URL")
	}
	for _, u := range urls {
		if _, host, _ := strings.Cut(u, "://"); !strings.HasPrefix(host, "127.0.0.1:") {
			t.Errorf("the usage shows %s; want an address on 127.0.0.1", u)
		}
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args []string
		want options
	}{
		{[]string{"ws://h/"}, options{url: "ws://h/"}},
		{[]string{"-v", "ws://h/"}, options{url: "ws://h/", verbose: 1}},
		{[]string{"-vv", "ws://h/"}, options{url: "ws://h/", verbose: 2}},
		{[]string{"-v", "2", "ws://h/"}, options{url: "ws://h/", verbose: 2}},
		{[]string{"--verbose=3", "ws://h/"}, options{url: "ws://h/", verbose: 3}},
		{[]string{"ws://h/", "--verbose"}, options{url: "ws://h/", verbose: 1}},
		{[]string{"-rnv", "ws://h/"}, options{url: "ws://h/", verbose: 1, raw: true, nocert: true}},
		{[]string{"-rz", "ws://h/"}, options{url: "ws://h/", raw: true, compress: true}},
		{[]string{"--compress", "ws://h/"}, options{url: "ws://h/", compress: true}},
		{[]string{"-s", "chat", "superchat", "ws://h/"}, options{url: "ws://h/", subprotocols: []string{"chat", "superchat"}}},
		{[]string{"ws://h/", "-s", "a", "-r"}, options{url: "ws://h/", subprotocols: []string{"a"}, raw: true}},
		{[]string{"-o", "http://o", "-t", "hi", "ws://h/"}, options{url: "ws://h/", origin: "http://o", text: "hi"}},
		{[]string{"-thi", "--origin=x", "ws://h/"}, options{url: "ws://h/", origin: "x", text: "hi"}},
		{[]string{"--eof-wait", "1.5", "--timings", "ws://h/"}, options{url: "ws://h/", eofWait: 1500 * time.Millisecond, timings: true}},
		{[]string{"--headers", "A: 1, B: two words ,", "ws://h/"}, options{url: "ws://h/", headers: http.Header{"A": {"1"}, "B": {"two words"}}}},
		{[]string{"--", "-odd"}, options{url: "-odd"}},
		{[]string{"--http2", "prefer", "ws://h/"}, options{url: "ws://h/", http2: conn.HTTP2Prefer}},
		{[]string{"--http2=only", "ws://h/"}, options{url: "ws://h/", http2: conn.HTTP2Only}},
		// As argparse: "=" after an option that opens its word separates
		// the argument; after an option inside a cluster it is part of it.
		{[]string{"-o=https://a", "-t=hi", "ws://h/"}, options{url: "ws://h/", origin: "https://a", text: "hi"}},
		{[]string{"-t=", "ws://h/"}, options{url: "ws://h/"}},
		// Arguments argparse does not take for options: a negative
		// number, a string with a space, "-" alone.
		{[]string{"-t", "-5", "-o", "-", "ws://h/"}, options{url: "ws://h/", text: "-5", origin: "-"}},
		{[]string{"--text", "-.5", "ws://h/"}, options{url: "ws://h/", text: "-.5"}},
		{[]string{"-t", "-a b", "ws://h/"}, options{url: "ws://h/", text: "-a b"}},
		{[]string{"-rt=hi", "ws://h/"}, options{url: "ws://h/", raw: true, text: "=hi"}},
		{[]string{"-v=3", "ws://h/"}, options{url: "ws://h/", verbose: 3}},
		{[]string{"-v", "300", "ws://h/"}, options{url: "ws://h/", verbose: 300}},
		// websocket-client's VAction: a level that is not a number is one
		// more than its v's.
		{[]string{"-v=", "ws://h/"}, options{url: "ws://h/", verbose: 1}},
		{[]string{"-v=v", "ws://h/"}, options{url: "ws://h/", verbose: 2}},
		{[]string{"--verbose=x", "ws://h/"}, options{url: "ws://h/", verbose: 1}},
		{[]string{"-v", "99999999999", "ws://h/"}, options{url: "ws://h/", verbose: 1<<31 - 1}},
		{[]string{"-p=", "ws://h/"}, options{url: "ws://h/"}},
		// An argument in the same word is the only subprotocol taken.
		{[]string{"-s=chat", "ws://h/"}, options{url: "ws://h/", subprotocols: []string{"chat"}}},
		{[]string{"--subprotocols=a", "ws://h/"}, options{url: "ws://h/", subprotocols: []string{"a"}}},
		// As argparse: a long option may be shortened to any prefix that
		// no other begins.
		{[]string{"--eof", "0.5", "--head=A: 1", "--verb", "--te", "hi", "--ti", "--http=only", "ws://h/"}, options{url: "ws://h/", eofWait: 500 * time.Millisecond, headers: http.Header{"A": {"1"}}, verbose: 1, text: "hi", timings: true, http2: conn.HTTP2Only}},
		{[]string{"--sub", "a", "b", "--orig", "o", "--nocer", "--r", "--comp", "ws://h/"}, options{url: "ws://h/", subprotocols: []string{"a", "b"}, origin: "o", nocert: true, raw: true, compress: true}},
	}
	for _, tt := range tests {
		got, err := parseArgs(tt.args)
		if err != nil {
			t.Errorf("parseArgs(%q): %v", tt.args, err)
			continue
		}
		if d := cmp.Diff(&tt.want, got, cmp.AllowUnexported(options{})); d != "" {
			t.Errorf("parseArgs(%q) (-want +got):\n%s", tt.args, d)
		}
	}
}

func TestParseProxy(t *testing.T) {
	for _, in := range []string{"http://p:3128", "https://p", "socks4://p:1080", "socks4a://p", "socks5://u:pw@p:1080", "SOCKS5H://p", "p:8080"} {
		o, err := parseArgs([]string{"-p", in, "ws://h/"})
		if err != nil {
			t.Errorf("-p %s: %v", in, err)
			continue
		}
		if o.proxy.Hostname() != "p" {
			t.Errorf("-p %s: host %q", in, o.proxy.Hostname())
		}
	}
	o, _ := parseArgs([]string{"-p", "socks5://u:pw@p:1080", "ws://h/"})
	if o.proxy.Scheme != "socks5" || o.proxy.User.Username() != "u" {
		t.Errorf("proxy %v lost its scheme or credentials", o.proxy)
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-x", "ws://h/"},
		{"--bogus", "ws://h/"},
		{"ws://a/", "ws://b/"},
		{"-p"},
		{"-p", "ftp://p", "ws://h/"},
		{"--eof-wait", "-1", "ws://h/"},
		{"--eof-wait", "soon", "ws://h/"},
		{"--headers", "NoColon", "ws://h/"},
		{"--headers", ": v", "ws://h/"},
		{"--headers", "Bad@Name: 1", "ws://h/"},
		{"--headers", "A: v\x01", "ws://h/"},
		{"--eof-wait", "nan", "ws://h/"},
		{"-s=a", "b", "ws://h/"},
		{"--raw=1", "ws://h/"},
		{"--http2", "always", "ws://h/"},
		{"--http2"},
		{"--t", "x", "ws://h/"}, // --text or --timings
		// As argparse: an option's argument is no option.
		{"--text", "--timings", "ws://h/"},
		{"-t", "-x", "ws://h/"},
		{"-o", "--", "ws://h/"},
		{"--h", "ws://h/"}, // --help, --headers or --http2
		{"--", "ws://h/", "--r"},
	} {
		if _, err := parseArgs(args); err == nil || err == errHelp {
			t.Errorf("parseArgs(%q) = %v; want a usage error", args, err)
		}
	}
}

// A usage error never repeats a credential given on the command line: a
// proxy's password, or a header value.
func TestParseArgsErrorsHideSecrets(t *testing.T) {
	for _, args := range [][]string{
		{"-p", "http://bob:SECRET@127.0.0.1:x", "ws://h/"},
		{"-p", "http://bob:SECRET@", "ws://h/"},
		{"-p", "bob:SECRET@h/x://y", "ws://h/"},
		{"-p", "bob:SECRET@h:x/?next=http://z", "ws://h/"},
		{"-p", "http://bob:SECRET@h:x%zz", "ws://h/"},
		{"--headers", "Authorization Bearer SECRET", "ws://h/"},
		{"--headers", "A: 1, Authorization: Bearer SECRET\x01", "ws://h/"},
	} {
		_, err := parseArgs(args)
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("parseArgs(%q) = %v; want a usage error without the secret", args, err)
		}
	}
}

// wsdump runs run with stdin and returns the exit status, stdout and
// stderr.
func wsdump(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	code := run(ctx, args, stdin, &out, &errb)
	return code, out.String(), errb.String()
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func TestEcho(t *testing.T) {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	code, out, errs := wsdump(t, strings.NewReader("hello\nworld\r\nlast"), "-r", "-v", srv.URL)
	if code != exitOK {
		t.Fatalf("exit %d; stderr %s", code, errs)
	}
	if d := cmp.Diff([]string{"text: hello", "text: world", "text: last", "close: "}, lines(out)); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
}

// With -z wsdump offers permessage-deflate; with -v it shows what was
// agreed, or that the server declined.
func TestCompress(t *testing.T) {
	deflateEcho := func(p *wstest.Peer) {
		agreed := handshake.DeflateParams{ServerMaxWindowBits: 12, ClientMaxWindowBits: 12}
		if p.Request.Header.Get("Sec-WebSocket-Extensions") != "permessage-deflate; client_max_window_bits" {
			p.Respond(400, nil, "no offer")
			return
		}
		c, err := p.Accept(&wstest.Upgrade{Extensions: agreed.String()}, &conn.Config{Compression: &conn.Compression{Agreed: agreed}})
		if err != nil {
			return
		}
		for {
			op, m, err := c.ReadMessage(t.Context())
			if err != nil || c.WriteMessage(t.Context(), op, m) != nil {
				return
			}
		}
	}
	for _, tc := range []struct {
		h          wstest.Handler
		wantStderr string
	}{
		{deflateEcho, "wsdump: compression: permessage-deflate; server_max_window_bits=12; client_max_window_bits=12\n"},
		{wstest.Echo, "wsdump: compression: declined by the server\n"},
	} {
		srv := wstest.NewServer(tc.h)
		long := strings.Repeat("compressible ", 40)
		code, out, errs := wsdump(t, strings.NewReader("hello\n"+long+"\n"), "-rzv", srv.URL)
		srv.Close()
		if code != exitOK {
			t.Fatalf("exit %d; stderr %s", code, errs)
		}
		if errs != tc.wantStderr {
			t.Errorf("stderr %q, want %q", errs, tc.wantStderr)
		}
		if d := cmp.Diff([]string{"text: hello", "text: " + long, "close: "}, lines(out)); d != "" {
			t.Errorf("output (-want +got):\n%s", d)
		}
	}
}

func TestInitialText(t *testing.T) {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	for _, tt := range []struct {
		text string
		want []string
	}{
		{"first", []string{"first", ""}},
		{"", []string{""}}, // as websocket-client's: nothing is sent
	} {
		code, out, errs := wsdump(t, strings.NewReader(""), "-t", tt.text, srv.URL)
		if code != exitOK {
			t.Fatalf("-t %q: exit %d; stderr %s", tt.text, code, errs)
		}
		if d := cmp.Diff(tt.want, lines(out)); d != "" {
			t.Errorf("-t %q: output (-want +got):\n%s", tt.text, d)
		}
	}
}

// scripted is a server that sends every kind of frame wsdump formats,
// then answers the client's close.
func scripted(p *wstest.Peer) {
	if p.Upgrade(nil) != nil {
		return
	}
	p.WriteMessage(frame.OpBinary, []byte{0, 1, 2})
	p.WriteMessage(frame.OpBinary, deflated("deflated!"))
	p.WriteMessage(frame.OpBinary, gzipped("gzipped!"))
	p.WriteMessage(frame.OpPing, []byte("pi"))
	p.WriteMessage(frame.OpText, []byte("hello"))
	p.WriteFrame(frame.Frame{Header: frame.Header{Opcode: frame.OpText, Length: 3}, Payload: []byte("fra")})
	p.WriteFrame(frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpContinuation, Length: 3}, Payload: []byte("gs!")})
	// Some servers end every message with an empty fragment.
	p.WriteFrame(frame.Frame{Header: frame.Header{Opcode: frame.OpText, Length: 6}, Payload: []byte("echoed")})
	p.WriteFrame(frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpContinuation}})
	code, reason, err := p.ReadClose()
	if err == nil {
		p.WriteClose(code, reason)
	}
}

func TestFormats(t *testing.T) {
	srv := wstest.NewServer(scripted)
	defer srv.Close()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"-r", "-v"}, []string{
			`binary: b'\x00\x01\x02'`,
			"binary: [zlib] deflated!",
			"binary: [gzip] gzipped!",
			"ping: b'pi'",
			"text: hello",
			"text: frags!", // a fragmented message is printed once, whole
			"text: echoed",
			"close: ",
		}},
		{[]string{"-r"}, []string{
			`b'\x00\x01\x02'`,
			"[zlib] deflated!",
			"[gzip] gzipped!",
			"b'pi'",
			"hello",
			"frags!",
			"echoed",
			"",
		}},
	}
	for _, tt := range tests {
		pr, pw := io.Pipe()
		done := make(chan struct{})
		var code int
		var out, errs string
		go func() {
			defer close(done)
			code, out, errs = wsdump(t, pr, append(tt.args, srv.URL)...)
		}()
		pw.Close() // EOF: wsdump closes; the server answers after its frames
		<-done
		if code != exitOK {
			t.Fatalf("%q: exit %d; stderr %s", tt.args, code, errs)
		}
		if d := cmp.Diff(tt.want, lines(out)); d != "" {
			t.Errorf("%q: output (-want +got):\n%s", tt.args, d)
		}
	}
}

func TestTimings(t *testing.T) {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	code, out, _ := wsdump(t, strings.NewReader("x\n"), "-r", "--timings", srv.URL)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	re := regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(e-[0-9]+)?: x$`)
	if l := lines(out); !re.MatchString(l[0]) {
		t.Errorf("line %q does not match %v", l[0], re)
	}
}

func TestHandshakeOptions(t *testing.T) {
	srv := wstest.NewServer(func(p *wstest.Peer) {
		offered := p.Request.Header.Get("Sec-WebSocket-Protocol")
		sub, _, _ := strings.Cut(offered, ",")
		if p.Upgrade(&wstest.Upgrade{Subprotocol: sub}) != nil {
			return
		}
		h := p.Request.Header
		p.WriteMessage(frame.OpText, []byte("protocols="+offered))
		p.WriteMessage(frame.OpText, []byte("origin="+h.Get("Origin")))
		p.WriteMessage(frame.OpText, []byte("a="+h.Get("A")+" b="+h.Get("X-Two")))
		p.Discard()
	})
	defer srv.Close()
	code, out, errs := wsdump(t, strings.NewReader(""), "-r", "-s", "chat", "superchat",
		"-o", "https://example.com", "--headers", "A: 1, X-Two: 2", srv.URL)
	if code != exitOK {
		t.Fatalf("exit %d; stderr %s", code, errs)
	}
	want := []string{"protocols=chat,superchat", "origin=https://example.com", "a=1 b=2", ""}
	if d := cmp.Diff(want, lines(out)); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
}

func TestTrace(t *testing.T) {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	code, _, errs := wsdump(t, strings.NewReader("yo\n"), "-r", "-vv", srv.URL)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--- request header ---", "--- response header ---", "HTTP/1.1 101 Switching Protocols",
		"++Sent decoded: fin=1 opcode=1 data=b'yo'", "++Rcv decoded: fin=1 opcode=1 data=b'yo'"} {
		if !strings.Contains(errs, want) {
			t.Errorf("trace lacks %q:\n%s", want, errs)
		}
	}
}

func TestServerClose(t *testing.T) {
	srv := wstest.NewServer(func(p *wstest.Peer) {
		if p.Upgrade(nil) == nil {
			p.WriteClose(status.GoingAway, "bye")
			p.ReadClose()
		}
	})
	defer srv.Close()
	pr, pw := io.Pipe()
	defer pw.Close()
	code, out, errs := wsdump(t, pr, "-r", "-v", srv.URL)
	if code != exitOK {
		t.Fatalf("exit %d; stderr %s", code, errs)
	}
	if out != "close: \n" {
		t.Errorf("output %q", out)
	}
}

func TestExitStatus(t *testing.T) {
	// A port with nothing listening.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "ws://" + ln.Addr().String() + "/"
	ln.Close()

	forbidden := wstest.NewServer(func(p *wstest.Peer) { p.Respond(403, nil, "no") })
	defer forbidden.Close()
	badOpcode := wstest.NewServer(func(p *wstest.Peer) {
		if p.Upgrade(nil) == nil {
			p.Write([]byte{0x83, 0}) // reserved opcode 3
			p.ReadClose()
		}
	})
	defer badOpcode.Close()
	badText := wstest.NewServer(func(p *wstest.Peer) {
		if p.Upgrade(nil) == nil {
			p.WriteMessage(frame.OpText, []byte{0xff})
			p.ReadClose()
		}
	})
	defer badText.Close()
	lost := wstest.NewServer(func(p *wstest.Peer) { p.Upgrade(nil) }) // drops the connection
	defer lost.Close()
	echo := wstest.NewServer(wstest.Echo)
	defer echo.Close()

	tests := []struct {
		name string
		args []string
		want int
	}{
		{"help", []string{"-h"}, exitOK},
		{"no url", nil, exitUsage},
		{"bad flag", []string{"-Z", echo.URL}, exitUsage},
		{"refused", []string{dead}, exitConnect},
		{"bad url", []string{"ftp://h/"}, exitConnect},
		{"403", []string{forbidden.URL}, exitConnect},
		{"through a dead proxy", []string{"-p", "socks5://" + strings.TrimPrefix(dead, "ws://"), echo.URL}, exitConnect},
		{"reserved opcode", []string{badOpcode.URL}, exitProtocol},
		{"invalid text", []string{badText.URL}, exitProtocol},
		{"lost", []string{lost.URL}, exitProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, pw := io.Pipe() // stdin stays open: the server's doing decides
			defer pw.Close()
			code, _, errs := wsdump(t, pr, tt.args...)
			if code != tt.want {
				t.Errorf("exit %d; want %d; stderr:\n%s", code, tt.want, errs)
			}
			if tt.want != exitOK && !strings.Contains(errs, "wsdump: ") {
				t.Errorf("stderr lacks an error: %q", errs)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int)
	out := &signalWriter{seen: make(chan struct{})}
	go func() { done <- run(ctx, []string{"-r", "-v", "-t", "x", srv.URL}, pr, out, io.Discard) }()
	<-out.seen // the echo of -t arrived: the session is open
	cancel()   // as Ctrl+C would: wsdump closes and exits 0
	if code := <-done; code != exitOK {
		t.Errorf("exit %d after cancel", code)
	}
	if got := out.String(); got != "text: x\nclose: \n" {
		t.Errorf("output %q", got)
	}
}

// signalWriter closes seen at its first write.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	seen chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() == 0 {
		close(w.seen)
	}
	return w.buf.Write(p)
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func FuzzParseArgs(f *testing.F) {
	f.Add("-rv\x00-s\x00a\x00b\x00ws://h/")
	f.Add("-v\x002\x00--headers\x00A: 1, B: 2\x00-p\x00socks5h://u:p@h:1\x00ws://h/")
	f.Add("--eof-wait=0.5\x00-t\x00\x00--\x00-x")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		o, err := parseArgs(args)
		if err == nil && !slices.Contains(args, o.url) {
			t.Errorf("parseArgs(%q) made up the URL %q", args, o.url)
		}
	})
}

func FuzzDescribe(f *testing.F) {
	f.Add(byte(frame.OpBinary), []byte{0, 1, 2})
	f.Add(byte(frame.OpBinary), deflated("deflated!"))
	f.Add(byte(frame.OpBinary), gzipped("gzipped!"))
	f.Add(byte(frame.OpText), []byte("hello"))
	f.Add(byte(frame.OpPing), []byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, op byte, p []byte) {
		s := describe(frame.Opcode(op&0xf), p)
		if frame.Opcode(op&0xf) == frame.OpBinary && len(p) > 0 && s == "" {
			t.Errorf("describe(binary, %q) is empty", p)
		}
	})
}

// -n turns certificate verification off; without it a self-signed
// server is refused before the handshake.
func TestNoCert(t *testing.T) {
	hs := httptest.NewTLSServer(http.NotFoundHandler()) // for its self-signed certificate
	cert := hs.TLS.Certificates[0]
	hs.Close()
	srv := wstest.NewTLSServer(wstest.Echo, &tls.Config{Certificates: []tls.Certificate{cert}})
	defer srv.Close()

	code, _, errs := wsdump(t, strings.NewReader("x\n"), "-r", srv.URL)
	if code != exitConnect || !strings.Contains(errs, "certificate") {
		t.Errorf("without -n: exit %d, stderr %q; want %d and a certificate error", code, errs, exitConnect)
	}
	code, out, errs := wsdump(t, strings.NewReader("x\n"), "-r", "-n", srv.URL)
	if code != exitOK {
		t.Fatalf("with -n: exit %d; stderr %s", code, errs)
	}
	if d := cmp.Diff([]string{"x", ""}, lines(out)); d != "" {
		t.Errorf("with -n: output (-want +got):\n%s", d)
	}
}

// Under -vv the trace shows wsdump's close frame before the server's
// answer to it. The connection is a net.Pipe in a synctest bubble whose
// writes wait for every other goroutine to stop: the server answers at
// once, so a frame traced only after its write returned would come after
// the answer.
func TestTraceOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		netDial := func(context.Context, string, string) (net.Conn, error) {
			client, server := net.Pipe()
			go wstest.Serve(server, func(p *wstest.Peer) {
				if p.Upgrade(nil) != nil {
					return
				}
				p.Echo()
				if code, reason, err := p.ReadClose(); err == nil {
					p.WriteClose(code, reason)
				}
			})
			return settlingConn{client}, nil
		}
		var out, errs bytes.Buffer
		code := runDial(t.Context(), netDial, []string{"-r", "-vv", "ws://127.0.0.1:1/"}, strings.NewReader("yo\n"), &out, &errs)
		if code != exitOK {
			t.Fatalf("exit %d; stderr %s", code, errs.String())
		}
		var got []string
		for _, l := range lines(errs.String()) {
			if strings.Contains(l, "decoded:") {
				got = append(got, l)
			}
		}
		want := []string{
			"++Sent decoded: fin=1 opcode=1 data=b'yo'",
			"++Rcv decoded: fin=1 opcode=1 data=b'yo'",
			"++Sent decoded: fin=1 opcode=8 data=b'\\x03\\xe8'",
			"++Rcv decoded: fin=1 opcode=8 data=b'\\x03\\xe8'",
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("frames traced (-want +got):\n%s", d)
		}
	})
}

// settlingConn returns from each write only when every other goroutine of
// the bubble is blocked, so whatever can happen before the writer goes on
// does.
type settlingConn struct{ net.Conn }

func (c settlingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	synctest.Wait()
	return n, err
}

// With --http2 wsdump dials over HTTP/2 (here h2c with prior knowledge)
// and, with -v, shows the HTTP version; "prefer" falls back to HTTP/1.1.
func TestHTTP2(t *testing.T) {
	h2 := h2test.NewServer(nil, nil, http.HandlerFunc(h2test.Echo))
	defer h2.Close()
	h1 := wstest.NewServer(wstest.Echo)
	defer h1.Close()
	for _, tc := range []struct {
		mode, url, want string
	}{
		{"only", h2.URL, "HTTP/2.0"},
		{"prefer", h1.URL, "HTTP/1.1"},
	} {
		code, out, errs := wsdump(t, strings.NewReader("hello\n"), "-rv", "--http2", tc.mode, tc.url)
		if code != exitOK {
			t.Fatalf("--http2 %s: exit %d; stderr %s", tc.mode, code, errs)
		}
		if want := "wsdump: HTTP version: " + tc.want + "\n"; errs != want {
			t.Errorf("--http2 %s: stderr %q, want %q", tc.mode, errs, want)
		}
		if d := cmp.Diff([]string{"text: hello", "close: "}, lines(out)); d != "" {
			t.Errorf("--http2 %s: output (-want +got):\n%s", tc.mode, d)
		}
	}
}
