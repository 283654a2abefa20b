// Package wstest provides a WebSocket server for testing clients, as
// net/http/httptest does for HTTP. It runs in the test's process, on
// 127.0.0.1 or over an in-memory pipe, and can be a correct server (a
// server-role [conn.Conn]) or a misbehaving one that sends exactly the
// bytes the test scripts.
//
// # Servers
//
// [NewServer] listens on 127.0.0.1 on a free port and runs a [Handler]
// for every accepted connection, each in its own goroutine; its URL is
// "ws://127.0.0.1:port". [NewTLSServer] does the same over TLS ("wss://"),
// with a self-signed certificate of its own unless the test gives one;
// [Server.Dialer] returns a conn.Dialer that trusts it.
// [Server.Pipe] serves one connection over net.Pipe instead, with no
// socket at all, and works inside a testing/synctest bubble. [Server.Close]
// closes the listener and every live connection and waits for the
// handlers to return, so a test that closes its server leaks nothing.
// [Serve] runs a handler on one net.Conn the test made itself, in the
// calling goroutine.
//
// # Handlers
//
// A handler gets a [Peer] whose request has been read (RFC 6455 §4.1):
// [Peer.Request] is the parsed request and [Peer.RawRequest] its bytes as
// they arrived. It then plays the server in one of two ways.
//
// [Peer.Accept] checks the request as a server must (RFC 6455 §4.2.1),
// answers it and returns a server-role [conn.Conn]: the handler then uses
// the same API as the client, with frames unmasked, and a masked-frame
// check on what the client sends. [Echo] and [Discard] are ready handlers
// built this way.
//
// The Peer's other methods script the server byte by byte, including what
// a correct server never sends:
//
//   - [Peer.Upgrade] writes a 101 response, with a chosen subprotocol,
//     extensions, extra header fields (Set-Cookie) or a wrong
//     Sec-WebSocket-Accept; [Peer.Respond] writes any other response
//     with a body (a 403, say); [Peer.Redirect] writes a 3xx response.
//   - [Peer.WriteFrame], [Peer.WriteMessage] and [Peer.WriteClose] send
//     frames, unmasked unless the test sets Masked; [Peer.Write] sends
//     raw bytes (bad frames of any kind) and [Peer.Trickle] sends them one
//     at a time with a pause between them.
//   - [Peer.ReadFrame] reads a client frame, refusing an unmasked one
//     (RFC 6455 §5.1, [ErrUnmasked]) and returning its payload unmasked;
//     [Peer.ReadClose] reads up to the client's close frame; [Peer.Echo]
//     and [Peer.Discard] echo or drop frames as the client framed them.
//   - [Peer.Hijack] takes the connection from the server.
//
// # Errors
//
// Peer methods return errors rather than failing the test, because they
// run in the handler's goroutine; a test collects them through a channel.
//
// # Memory
//
// A request head is limited to 64 KiB (package handshake's ReadRequest),
// and a frame's payload buffer in [Peer.ReadFrame] grows as its bytes
// arrive, up to 64 MiB ([ErrTooLarge] beyond): the length a client
// declares is never allocated up front. A Conn from [Peer.Accept] has the
// limits of its [conn.Config].
package wstest
