// Package wstest is an in-process WebSocket server peer for tests. It speaks
// the wire protocol byte by byte so a test can script exactly what a server
// sends, including what a correct server never would, and can inspect
// exactly what the client sent.
//
// # Servers and peers
//
// [NewServer] listens on 127.0.0.1 on a free port and runs a [Handler] for
// every accepted connection, each in its own goroutine. [Server.Pipe] serves
// one connection over net.Pipe instead, with no socket at all.
// [Server.Close] closes the listener and every live connection and waits for
// the handlers to return, so a test that closes its server leaks nothing.
//
// [Serve] runs a handler on one connection the test made itself, in the
// calling goroutine, with no Server and nothing shared between
// connections. It is the way to serve inside a testing/synctest bubble:
// a Server waits for all its connections with one WaitGroup, which a
// bubble cannot share, so [Server.Pipe] cannot be used there, while a
// net.Pipe made in the
// bubble and served with `go wstest.Serve(server, h)` can, and its
// deadlines then follow the bubble's clock. A test that serves a listener
// of its own (an IPv6 one, say) can pass each accepted connection to
// Serve too.
//
// A handler gets a [Peer] whose request head has already been read:
// [Peer.Request] is the parsed request and [Peer.RawRequest] the bytes as
// they arrived. The handler then answers the opening handshake of
// RFC 6455 §4.2.2 as it likes:
//
//   - [Peer.Upgrade] writes a 101 response, with a chosen subprotocol,
//     extensions, extra header fields (Set-Cookie) or a wrong
//     Sec-WebSocket-Accept;
//   - [Peer.Respond] writes any other response with a body (a 403, say);
//   - [Peer.Redirect] writes a 3xx response with a Location.
//
// After the upgrade, [Peer.WriteFrame] and [Peer.WriteMessage] send frames
// (unmasked, as a server must, unless the test sets Masked),
// [Peer.Write] sends raw bytes (bad frames of any kind), and
// [Peer.Trickle] sends bytes one at a time with a pause between them.
// [Peer.ReadFrame] reads a client frame, refusing an unmasked one
// (RFC 6455 §5.1) and returning its payload unmasked; [Peer.ReadClose]
// reads up to the client's close frame.
//
// [Echo] is a ready-made handler: it upgrades, echoes every data frame,
// answers pings and echoes the close. [Discard] upgrades and drops every
// data frame.
//
// # Errors
//
// Peer methods return errors rather than failing the test, because they
// run in the handler's goroutine; a test collects them through a channel.
// [ErrUnmasked] reports a client frame without a mask.
//
// # Memory
//
// A frame's payload buffer grows as its bytes arrive, up to 64 MiB
// ([ErrTooLarge] beyond): the length a client declares is never allocated
// up front.
package wstest
