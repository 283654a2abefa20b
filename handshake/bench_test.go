package handshake_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/framewire/ws/handshake"
)

func BenchmarkRequestAppendBinary(b *testing.B) {
	req := &handshake.Request{
		URL:          mustURL(b, "wss://example.com:8443/chat?room=1"),
		Key:          sampleKey,
		Subprotocols: []string{"chat", "superchat"},
		Header:       http.Header{"User-Agent": {"framewire"}, "Authorization": {"Bearer t"}},
		Cookie:       "a=1",
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = req.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkReadResponse(b *testing.B) {
	in := ok101("Sec-WebSocket-Protocol: chat", "Server: bench")
	req := sampleRequest(b)
	sr := strings.NewReader(in)
	br := bufio.NewReader(sr)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		sr.Reset(in)
		br.Reset(sr)
		if _, err := handshake.ReadResponse(br, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAcceptKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		handshake.AcceptKey(sampleKey)
	}
}
