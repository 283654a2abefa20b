package handshake_test

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/framewire/ws/handshake"
)

func ExampleAcceptKey() {
	// The sample handshake of RFC 6455 §1.3.
	fmt.Println(handshake.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="))
	// Output: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
}

func ExampleNewKey() {
	// A fixed source makes the key reproducible; pass nil for crypto/rand.
	key, err := handshake.NewKey(strings.NewReader("the sample nonce"))
	fmt.Println(key, err)
	// Output: dGhlIHNhbXBsZSBub25jZQ== <nil>
}

func ExampleParseURL() {
	for _, s := range []string{"WSS://example.com/feed?x=1", "http://[::1]:8080", "ws://example.com/#top"} {
		u, err := handshake.ParseURL(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(u, handshake.Addr(u))
	}
	// Output:
	// wss://example.com/feed?x=1 example.com:443
	// ws://[::1]:8080 [::1]:8080
	// handshake: invalid WebSocket URL "ws://example.com/#top": fragment not allowed
}

func ExampleRequest_Write() {
	u, _ := handshake.ParseURL("ws://example.com/chat")
	req := &handshake.Request{
		URL:          u,
		Key:          "dGhlIHNhbXBsZSBub25jZQ==",
		Subprotocols: []string{"chat", "superchat"},
		Header:       http.Header{"User-Agent": {"framewire"}},
	}
	var sb strings.Builder
	if err := req.Write(&sb); err != nil {
		fmt.Println(err)
	}
	fmt.Print(strings.ReplaceAll(sb.String(), "\r\n", "\n"))
	// Output:
	// GET /chat HTTP/1.1
	// Upgrade: websocket
	// Host: example.com
	// Origin: http://example.com
	// Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
	// Sec-WebSocket-Version: 13
	// Connection: Upgrade
	// Sec-WebSocket-Protocol: chat,superchat
	// User-Agent: framewire
}

func ExampleReadResponse() {
	u, _ := handshake.ParseURL("ws://example.com/chat")
	req := &handshake.Request{URL: u, Key: "dGhlIHNhbXBsZSBub25jZQ==", Subprotocols: []string{"chat"}}
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
		"Sec-WebSocket-Protocol: chat\r\n" +
		"\r\n" +
		"\x81\x05hello")) // a frame right behind the headers
	resp, err := handshake.ReadResponse(br, req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, resp.Subprotocol, br.Buffered(), "bytes left for the frame reader")
	// Output: 101 chat 7 bytes left for the frame reader
}

func ExampleStatusError() {
	u, _ := handshake.ParseURL("ws://example.com/chat")
	req := &handshake.Request{URL: u, Key: "dGhlIHNhbXBsZSBub25jZQ=="}
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!"))
	_, err := handshake.ReadResponse(br, req)
	var se *handshake.StatusError
	if errors.As(err, &se) {
		fmt.Printf("%v: %s\n", err, se.Body)
	}
	// Output: handshake: server answered 403 Forbidden, not a WebSocket upgrade: nope!
}

func ExampleStatusError_Response() {
	u, _ := handshake.ParseURL("ws://example.com/chat")
	req := &handshake.Request{URL: u, Key: "dGhlIHNhbXBsZSBub25jZQ=="}
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 401 Unauthorized\r\nWww-Authenticate: Bearer\r\nContent-Length: 6\r\n\r\nlog in"))
	_, err := handshake.ReadResponse(br, req)
	var se *handshake.StatusError
	if errors.As(err, &se) {
		resp := se.Response()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.Status, resp.Header.Get("WWW-Authenticate"), string(body))
	}
	// Output: 401 Unauthorized Bearer log in
}

func ExampleRedirectError() {
	u, _ := handshake.ParseURL("wss://example.com/v1/chat")
	req := &handshake.Request{URL: u, Key: "dGhlIHNhbXBsZSBub25jZQ=="}
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 307 Temporary Redirect\r\nLocation: ../v2/chat\r\n\r\n"))
	_, err := handshake.ReadResponse(br, req)
	var re *handshake.RedirectError
	if errors.As(err, &re) {
		fmt.Println(re.Location, handshake.SameHost(u, re.Location))
	}
	// Output: wss://example.com/v2/chat true
}

// The server side: read the RFC 6455 §1.2 sample request, check it and
// write the answer of §1.3.
func ExampleCheckRequest() {
	in := "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n" +
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n"
	req, err := handshake.ReadRequest(bufio.NewReader(strings.NewReader(in)), 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	key, err := handshake.CheckRequest(req)
	if err != nil {
		fmt.Printf("%s", handshake.AppendRefusal(nil, err))
		return
	}
	resp, err := handshake.AppendUpgrade(nil, key, "chat", nil)
	fmt.Print(strings.ReplaceAll(string(resp), "\r\n", "\n"), err)
	// Output:
	// HTTP/1.1 101 Switching Protocols
	// Upgrade: websocket
	// Connection: Upgrade
	// Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
	// Sec-WebSocket-Protocol: chat
	//
	// <nil>
}

func ExampleDeflateOffer() {
	// Prefer a 10-bit server window, else plain permessage-deflate; the
	// client can limit its own window in both offers.
	exts, err := handshake.DeflateOffer(
		handshake.DeflateParams{ServerMaxWindowBits: 10, ClientMaxWindowBits: handshake.AnyWindowBits},
		handshake.DeflateParams{ClientMaxWindowBits: handshake.AnyWindowBits},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	u, _ := handshake.ParseURL("ws://example.com/chat")
	req := &handshake.Request{URL: u, Key: "dGhlIHNhbXBsZSBub25jZQ==", Extensions: exts}
	b, _ := req.AppendBinary(nil)
	for line := range strings.SplitSeq(string(b), "\r\n") {
		if strings.HasPrefix(line, "Sec-WebSocket-Extensions") {
			fmt.Println(line)
		}
	}
	// Output: Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate; client_max_window_bits
}

func ExampleParseDeflateAnswer() {
	offers := []handshake.DeflateParams{
		{ServerMaxWindowBits: 10, ClientMaxWindowBits: handshake.AnyWindowBits},
		{ClientMaxWindowBits: handshake.AnyWindowBits},
	}
	for _, answer := range [][]string{
		{`permessage-deflate; server_max_window_bits="9"; client_max_window_bits=12`},
		{"permessage-deflate"},
		nil, // the server declined: no compression
		{"permessage-deflate; server_max_window_bits=11"}, // allowed by the second offer
		{"permessage-deflate; server_max_window_bits=16"},
		{"permessage-deflate; server_no_context_takeover=yes"},
	} {
		agreed, ok, err := handshake.ParseDeflateAnswer(answer, offers)
		switch {
		case err != nil:
			fmt.Println(err)
		case ok:
			fmt.Printf("agreed %v (server window %d bits)\n", agreed, cmp.Or(agreed.ServerMaxWindowBits, handshake.MaxWindowBits))
		default:
			fmt.Println("declined")
		}
	}
	// Output:
	// agreed permessage-deflate; server_max_window_bits=9; client_max_window_bits=12 (server window 9 bits)
	// agreed permessage-deflate (server window 15 bits)
	// declined
	// agreed permessage-deflate; server_max_window_bits=11 (server window 11 bits)
	// handshake: invalid upgrade response: extension "permessage-deflate" parameter "server_max_window_bits"="16": outside 8-15
	// handshake: invalid upgrade response: extension "permessage-deflate" parameter "server_no_context_takeover"="yes": takes no value
}
