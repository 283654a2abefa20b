// Package h2test serves WebSockets over HTTP/2 (RFC 8441) to the tests of
// framewire's clients, as wstest serves them over HTTP/1.1: an HTTP/2
// server on 127.0.0.1 (golang.org/x/net/http2's, with extended CONNECT
// enabled) in clear text or over TLS, and the server side of a WebSocket
// over one of its streams.
//
// # Extended CONNECT
//
// x/net/http2's Server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL only
// when the environment variable GODEBUG holds http2xconnect=1 as the
// process starts. A test binary that uses this package calls [Main] from
// its TestMain, which runs the binary again with the variable set.
//
// # Servers frame by frame
//
// [FrameServer] answers each stream frame by frame, for the quirks of real
// servers that x/net's Server does not reproduce: HAProxy's RST_STREAM
// CANCEL right after END_STREAM, a backend's Sec-WebSocket-Accept passed
// through, a reset in the middle of a message. It needs no GODEBUG. It
// keeps to the client's flow-control windows and frame size (RFC 9113
// §6.9) in both directions, so a message of any size echoes over it.
// [Pipes] serves it, or any server, over in-memory connections inside a
// synctest bubble.
package h2test
