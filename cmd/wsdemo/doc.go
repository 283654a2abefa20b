// Wsdemo is a tour of the SDK that needs no network: it starts a WebSocket
// echo server on 127.0.0.1, then runs two short sessions against it and
// exits 0 within a second or so.
//
// Usage:
//
//	go run ./cmd/wsdemo
//
// # Low-level session
//
// The first session uses a conn.Conn whose Dialer.Trace prints the
// handshake and every frame sent and received in websocket-client's
// enableTrace format ("++Sent raw: ...", "++Rcv decoded: fin=1 opcode=1
// data=b'hi'"). It sends a text and a binary message, a text message in
// six fragments with a ping between the first two, and a frame built by
// hand with WriteFrame, which ReadDataFrame brings back and the demo
// prints as websocket-client's frame example does:
//
//	Frame details:
//	 Opcode: 2 (binary)
//	 Final frame: true
//	 Reserved bits: RSV1=0, RSV2=0, RSV3=0
//	 Masked: false
//	 Data length: 9
//	 Data: b'hand-made'
//	Frame is valid
//
// It ends with a close frame carrying 1001 and "Custom shutdown", and
// prints the server's answer.
//
// # Event-driven session
//
// The second session runs an app.App with a 100ms ping interval: OnOpen
// sends a greeting, OnData and OnMessage print the echo, OnPong the
// answer to the first ping, and once both have arrived the App closes
// with 1000 "app done"; OnClose prints the server's answer and Run
// returns nil.
//
// Proxy environment variables are ignored: the server is on loopback.
// The exit status is 0 on success and 1 if any step fails.
package main
