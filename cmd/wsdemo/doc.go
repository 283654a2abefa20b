// Wsdemo is a tour of the SDK that needs no network, and its source
// (main.go) is meant to be read as a tutorial. It starts package wstest's
// echo server on 127.0.0.1, runs two short client sessions against it and
// exits 0 within a second or so.
//
// Usage:
//
//	go run ./cmd/wsdemo
//	go run ./cmd/wsdemo -serve
//
// With -serve it only starts the echo server, prints its URL and keeps it
// running until interrupted (Ctrl+C): a server to try cmd/wsdump, or a
// client of one's own, against.
//
// The first session dials a conn.Conn whose Config.Trace prints the
// handshake and every frame sent and received in websocket-client's
// enableTrace format ("++Sent raw: ...", "++Rcv decoded: fin=1 opcode=1
// data=b'hi'"). It sends a text message, then one message in three
// frames with a ping between the first two, reads each echo, and ends
// with the closing handshake (code 1001, which the server echoes).
//
// The second session runs an app.App on the same server: OnOpen sends a
// greeting, OnMessage prints the echo and closes with 1000, OnClose
// prints the server's answer, and Run returns nil.
//
// Proxy environment variables are ignored: the server is on loopback.
// The exit status is 0 on success and 1 if any step fails.
package main
