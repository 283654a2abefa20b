package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(t.Context(), &out, &errb); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s\nstdout:\n%s", code, errb.String(), out.String())
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
		"++Sent decoded: fin=1 opcode=2 data=b'\\x01\\x02\\x03\\x04'",
		"Received binary: b'\\x01\\x02\\x03\\x04'",
		"++Sent decoded: fin=0 opcode=1 data=b'This is a '",
		"++Sent decoded: fin=1 opcode=9 data=b'between fragments'",
		"++Sent decoded: fin=0 opcode=0 data=b'long messa'",
		"++Sent decoded: fin=1 opcode=0 data=b'nts'",
		"++Rcv decoded: fin=1 opcode=10 data=b'between fragments'",
		"Received pong: b'between fragments'",
		"Received text reassembled from 6 fragments: This is a long message that will be sent in fragments",
		"++Sent decoded: fin=1 opcode=2 data=b'hand-made'",
		"Frame details:\n Opcode: 2 (binary)\n Final frame: true\n Reserved bits: RSV1=0, RSV2=0, RSV3=0\n Masked: false\n Data length: 9\n Data: b'hand-made'\nFrame is valid\n",
		"++Sent decoded: fin=1 opcode=8 data=b'\\x03\\xe9Custom shutdown'",
		"++Rcv raw: b'\\x88\\x11\\x03\\xe9Custom shutdown'",
		"Server closed with status 1001: Custom shutdown",
		"OnOpen\nOnData: text fin=true b'hello from App'\nOnMessage: text hello from App\nOnPong: b'keepalive'\nOnClose: 1000 app done\nRun returned <nil>\nDone.\n",
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
	sentRaw := regexp.MustCompile(`(?m)^\+\+Sent raw: b'\\x[0-9a-f]{2}\\x([89a-f][0-9a-f])`)
	for _, m := range sentRaw.FindAllStringSubmatch(got, -1) {
		if m[1][0] < '8' {
			t.Errorf("unmasked frame sent: %s", m[0])
		}
	}
	if n := strings.Count(got, "++Sent raw:"); n != 11 {
		t.Errorf("%d frames traced as sent; want 11", n)
	}
	if errb.Len() != 0 {
		t.Errorf("stderr: %s", errb.String())
	}
}
