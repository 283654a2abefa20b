// Package conformance is framewire's conformance suite: a fuzzing server
// that runs the test cases of the Autobahn testsuite's fuzzing server
// against any WebSocket client and grades them by Autobahn's rules.
//
// # Protocol
//
// [Server] is an [net/http.Handler] that speaks the URL protocol of
// Autobahn's fuzzing server, so that an echo client written for Autobahn
// runs against it unchanged:
//
//	/getCaseCount               text message with the number of cases, then close
//	/getCaseInfo?case=N         text message {"id": "1.1.1", "description": ...}, then close
//	/getCaseStatus?case=N&agent=A  text message {"behavior": "OK"}, then close
//	/runCase?case=N&agent=A     runs case N (counted from 1) against the client
//	/updateReports?agent=A      writes conformance.json and conformance.md
//
// The client under test echoes every message it receives (same opcode,
// same payload) until the connection closes. The opening handshake is RFC
// 6455 §4.2.2 with no subprotocol and no extension.
//
// # HTTP/2
//
// Served with [Protocols] (HTTP/1.1 and HTTP/2 on one listener: h2c with
// prior knowledge in clear text, h2 chosen by ALPN over TLS), as [Listen]
// serves it on loopback, over TLS with a self-signed certificate it makes,
// the server also runs every case over HTTP/2 (RFC 8441): the client
// opens the same URLs with an extended CONNECT (:protocol websocket,
// sec-websocket-version 13, the same Sec-WebSocket-Extensions offers),
// the server answers 200 and the case runs on the stream with
// the same script and verdicts. Where a case drops the TCP connection over
// HTTP/1.1 (a client that does not react in time, a protocol violation)
// the server resets the stream (RST_STREAM INTERNAL_ERROR); after the
// closing handshake it ends its side with END_STREAM, followed by
// RST_STREAM NO_ERROR when the client has not ended its own side yet (RFC
// 9113 §8.1, net/http's HTTP/2 server). net/http advertises
// SETTINGS_ENABLE_CONNECT_PROTOCOL only in a process started with
// http2xconnect=1 in GODEBUG, which internal/xconnect's Reexec sees to.
//
// # Cases
//
// [Catalogue] returns the cases in Autobahn's numbering: 1 framing (§5.2),
// 2 pings and pongs (§5.5.2, §5.5.3), 3 reserved bits (§5.2), 4 opcodes
// (§5.2), 5 fragmentation (§5.4), 6 UTF-8 (§8.1, fail fast in 6.4.x and
// Markus Kuhn's stress test in 6.5 to 6.23), 7 the closing handshake and
// close codes (§5.5.1, §7.4), 9 large and many-fragment messages and round
// trips (durations reported), 10 auto-fragmentation, and 12 and 13,
// permessage-deflate (RFC 7692). [Select] picks cases by ID pattern
// ("1.*,2.1").
//
// # Compression
//
// Sections 12 and 13 are Autobahn's: 18 message and fragment sizes, for
// five kinds of data (12.1 to 12.5: JSON, a bitmap, German verse, HTML, a
// PDF; generated from fixed seeds, as Autobahn's files are not
// framewire's) and for seven server accept policies on the JSON data (13.1
// to 13.7: the first offer as it is; client_no_context_takeover;
// client_max_window_bits 9; 15; both with 9; both with 15; and first fit
// of the last-but-two, the second and the first). The server answers the
// client's offers by the case's policy, echoing server_no_context_takeover
// and server_max_window_bits where offered; policies that set
// client_max_window_bits accept only an offer that has it. The server
// compresses with compress/flate, Huffman-only when its window must be
// below 15 bits. It inflates what the client sends with framewire's own
// inflater (internal/deflate), whose history is the agreed client window,
// emptied before each message where client_no_context_takeover was
// agreed: a back-reference farther than the window or into an earlier
// message is a protocol violation, as is RSV1 on a continuation or
// control frame, and fails the case. Messages the client
// sends uncompressed are allowed (RFC 7692 §6); the result counts the
// compressed ones. A client that offers no permessage-deflate, or nothing
// the policy accepts, is UNIMPLEMENTED, as in Autobahn. [Options.Messages]
// shortens the 1,000 messages of each case.
//
// # Verdicts
//
// [Judge] applies Autobahn's rules. The events the client caused
// (messages, pings, pongs, and waits that ran out with the connection
// still open) are compared with each expected outcome: OK, or NON-STRICT
// for the alternatives Autobahn accepts reluctantly. The end of the
// connection is checked separately: which endpoint closed, whether the
// closing handshake completed where required (UNCLEAN) and the client's
// close code (WRONG CODE). [Overall] folds both into the verdict a CI run
// gates on. A protocol violation by the client (an unmasked frame,
// invalid UTF-8 in its text, a bad close frame, reserved bits) fails the
// close behavior, and the server fails the connection as any server would.
//
// # Differences from Autobahn
//
// The server closes as soon as the expected events arrived, as Autobahn
// does; waits that a silent client would hit are multiplied by
// [Options.Scale], so a loopback run can use a fraction of Autobahn's
// timings. In 5.19 and 5.20 the pause before the second half of the
// message ends early once the first pong arrived. When a client neither
// reacts nor closes before a case's kill timer, the server counts as the
// endpoint that closed. Sections 9, 12 and 13 compare echoed content, not
// only its length (Autobahn compares a SHA-1 in 12 and 13). 3.6 sends what Autobahn sends (a binary frame with RSV 6, though
// its description says ping).
package conformance
