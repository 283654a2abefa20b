package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
)

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), &out); err != nil {
		t.Fatalf("run: %v; output:\n%s", err, out.String())
	}
	got := out.String()
	// These lines, in this order, carry no random part.
	want := []string{
		"--- request header ---",
		"GET /demo HTTP/1.1",
		"--- response header ---",
		"HTTP/1.1 101 Switching Protocols",
		"++Sent decoded: fin=1 opcode=1 data=b'Hello, World!'",
		"++Rcv raw: b'\\x81\\rHello, World!'",
		"++Rcv decoded: fin=1 opcode=1 data=b'Hello, World!'",
		"Received text: Hello, World!",
		"++Sent decoded: fin=0 opcode=1 data=b'Hello, '",
		"++Sent decoded: fin=1 opcode=9 data=b'are you there?'",
		"++Sent decoded: fin=0 opcode=0 data=b'fragmented '",
		"++Sent decoded: fin=1 opcode=0 data=b'World!'",
		"++Rcv raw: b'\\x8a\\x0eare you there?'",
		"++Rcv decoded: fin=1 opcode=1 data=b'Hello, fragmented World!'",
		"Received text: Hello, fragmented World!",
		"++Sent decoded: fin=1 opcode=8 data=b'\\x03\\xe9demo over'",
		"++Rcv raw: b'\\x88\\x02\\x03\\xe9'",
		"Closed cleanly",
		"OnOpen\nOnMessage: text hello from App\nOnClose: 1000\nRun returned <nil>\nDone.\n",
	}
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("output lacks %q after the previous lines; output:\n%s", w, got)
		}
		rest = rest[i+len(w):]
	}
	// Every frame sent is masked; every frame received is not.
	sentRaw := regexp.MustCompile(`(?m)^\+\+Sent raw: b['"]\\x[0-9a-f]{2}\\x([0-9a-f]{2})`)
	sent := sentRaw.FindAllStringSubmatch(got, -1)
	for _, m := range sent {
		if m[1][0] < '8' {
			t.Errorf("unmasked frame sent: %s", m[0])
		}
	}
	if n := strings.Count(got, "++Sent raw:"); n != 6 || len(sent) != 6 {
		t.Errorf("%d frames traced as sent (%d matched); want 6", n, len(sent))
	}
	// A length byte of 0x80 or more is always escaped: a masked frame.
	if regexp.MustCompile(`(?m)^\+\+Rcv raw: b['"]\\x[0-9a-f]{2}\\x[89a-f]`).MatchString(got) {
		t.Errorf("masked frame received:\n%s", got)
	}
}

// With -serve, the echo server prints its URL, echoes, and stops when its
// context ends.
func TestServeEcho(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- serveEcho(ctx, "127.0.0.1:0", w); w.Close() }()
	line, err := bufio.NewReader(r).ReadString('\n')
	go io.Copy(io.Discard, r)
	url := strings.TrimSuffix(line, "\n")
	if err != nil || !strings.HasPrefix(url, "ws://127.0.0.1:") || strings.Contains(url, " ") {
		t.Fatalf("first line %q, %v; want the server's URL alone", line, err)
	}
	c, err := conn.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.WriteMessage(ctx, frame.OpText, []byte("echo?"))
	if _, p, err := c.ReadMessage(ctx); err != nil || string(p) != "echo?" {
		t.Errorf("echo = %q, %v", p, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serveEcho = %v", err)
	}
}
