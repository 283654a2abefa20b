// Package interop tests framewire against real WebSocket servers and
// proxies run on loopback: the interop bed.
//
// The package holds no client code. It reads the env file that the bed's
// start script writes and its tests check, with hand-built HTTP and frames,
// that every server of the bed answers as described below.
//
// # Running
//
// From the repository root:
//
//	make interop                # interop/run.sh: setup, start, go test ./interop/..., stop
//	bash interop/setup.sh       # Debian packages, npm ci, system user (idempotent, as root)
//	bash interop/start.sh       # start on free 127.0.0.1 ports, write .interop/env
//	go test ./interop/...       # tests skip the servers that are not running
//	bash interop/stop.sh        # stop the process groups recorded in .interop/pids
//
// A test that needs a server skips when the server's address is absent from
// the env file or nothing listens there, and fails instead when the
// environment variable CI is "true" or FW_INTEROP_REQUIRED is "1".
//
// # Env file
//
// The file is found through FW_INTEROP_ENV, or as .interop/env in the
// working directory or the nearest parent that has one. Each line is
// KEY=VALUE, the value being the rest of the line, unquoted; blank lines
// and lines starting with '#' are ignored. A variable set in the process
// environment takes precedence over the file's. The keys are the Key
// constants of this package.
//
// # Servers
//
// The Node.js server (npm ws) serves [KeyWS], and with permessage-deflate
// (RFC 7692) on every message [KeyWSDeflate]; nginx proxies [KeyNginx]
// and [KeyNginxTLS] to the [KeyWS] server, and under the paths
// /ws-deflate/, /py/, /autobahn/ and /autobahn-nct/ (stripped on the way)
// to the permessage-deflate servers. They echo text as text and
// binary as binary, select the first of "chat" and "superchat" that the
// client offers, take messages up to 64 MiB, and serve these paths:
//
//	/headers             a text message: JSON {method, url, httpVersion, headers, rawHeaders}; then echo
//	/close?code=N&reason=S   a close frame with that code and reason at once
//	/ping                a ping "framewire"; on its pong, the text "pong:" + payload; then echo
//	/frag                echo in three fragments
//	/basic               401 unless Authorization is Basic FW_INTEROP_USER:FW_INTEROP_PASS
//	/r301 /r302 /r307 /r308   that status, Location ws://host/ (wss:// behind the TLS proxy)
//	/rrel                302, Location "/"
//	/rloop               302, Location "/rloop"
//	/rn/N                302 to /rn/N-1; /rn/0 accepts the upgrade
//	/forbidden           403, body "forbidden\n"
//	/status/N            status N, body "status N\n"
//
// The Python websockets server [KeyPython] and the Autobahn-Python server
// [KeyAutobahn] echo, accept "chat", permessage-deflate and 64 MiB
// messages, and serve /headers (JSON {path, headers}) and /close. A second
// Autobahn-Python server, [KeyAutobahnNCT], answers every
// permessage-deflate offer with client_no_context_takeover.
//
// squid [KeySquid] is an HTTP CONNECT proxy (RFC 9110 §9.3.6) that
// answers 407 (RFC 9110 §15.5.8) without Basic credentials; tinyproxy
// [KeyTinyproxy] needs none. dante serves SOCKS5 (RFC 1928) without
// authentication at [KeyDante] and with username/password (RFC 1929)
// only at [KeyDanteAuth].
//
// # WebSocket over HTTP/2
//
// Each RFC 8441 server has an h2c port with prior knowledge (ws://) and a
// TLS port (wss://), echoes on any path, chooses the first of "chat" and
// "superchat" offered, and advertises SETTINGS_ENABLE_CONNECT_PROTOCOL:
// the Go echo on golang.org/x/net/http2 run with GODEBUG=http2xconnect=1
// (interop/servers/h2echo, a WebSocket codec of its own) at [KeyH2Go] and
// [KeyH2GoTLS]; Node's http2 module with enableConnectProtocol and the
// npm ws WebSocket on each stream, permessage-deflate when offered, at
// [KeyH2Node] and [KeyH2NodeTLS] (TLS: ALPN h2 only); Hypercorn 0.13
// (Debian) with an ASGI echo, permessage-deflate by wsproto, at
// [KeyHypercorn] and [KeyHypercornTLS]; HAProxy 2.6 in front of the
// [KeyWSDeflate] server over HTTP/1.1 at [KeyHAProxy] and [KeyHAProxyTLS].
// Debian 12 ships HAProxy 2.6.12 (its changelog has RFC 8441 on h2
// frontends from the 2.4 development series, on by default) and Hypercorn
// 0.13.2 ("Initial working h2 Websocket support RFC 8441" in 0.5.0), both
// recent enough; TestH2Settings checks that each advertises the setting. The same Go echo without
// GODEBUG, at [KeyH2NoXConnect] and [KeyH2NoXConnectTLS], speaks HTTP/2
// without the setting and upgrades HTTP/1.1 (ALPN http/1.1 on TLS): the
// fallback.
//
// Their quirks, each checked by a test of this package:
//
//   - HAProxy answers the CONNECT with its backend's Sec-WebSocket-Accept,
//     which RFC 8441 §5 does not have, and ends a stream with END_STREAM
//     followed at once by RST_STREAM CANCEL (TestH2EchoServers,
//     TestH2StreamEnding).
//   - Hypercorn 0.13 answers a close frame and never ends its side of the
//     stream, neither END_STREAM nor RST_STREAM; once the client ends its
//     side it closes the TCP connection without GOAWAY
//     (TestH2StreamEnding; hypercorn/protocol/ws_stream.py sends
//     StreamClosed, not EndData, after the close reply).
//   - x/net's server follows END_STREAM with RST_STREAM NO_ERROR while
//     the client's side is open (RFC 9113 §8.1), and Node's ws waits for
//     the client's END_STREAM after its own.
package interop
