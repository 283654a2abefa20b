// Wsdump is a WebSocket client for the terminal: it connects to a URL,
// prints every frame it receives and sends each line of its standard input
// as a text message. It is websocket-client's wsdump.
//
// Usage:
//
//	wsdump [-h] [-p PROXY] [-v [VERBOSE]] [-n] [-r] [-z] [-s [SUBPROTOCOLS ...]] [-o ORIGIN]
//	       [--eof-wait EOF_WAIT] [-t TEXT] [--timings] [--headers HEADERS]
//	       [--http2 {prefer,only}] ws_url
//
// # Flags
//
//	ws_url                the ws:// or wss:// URL to connect to
//	-h, --help            print the usage and exit
//	-p, --proxy URL       connect through this proxy: http, https, socks4,
//	                      socks4a, socks5 or socks5h (host:port alone means
//	                      http); without -p, HTTP_PROXY, HTTPS_PROXY,
//	                      ALL_PROXY and NO_PROXY apply
//	-v, --verbose [N]     1: prefix each line with the opcode's name;
//	                      2: also trace the handshake and every frame on
//	                      stderr. -vv is 2, -v 2 and --verbose=2 too
//	-n, --nocert          do not verify the server's certificate
//	-r, --raw             plain output, one line per message, even on a
//	                      terminal
//	-z, --compress        offer permessage-deflate (RFC 7692, the default
//	                      preset); with -v, print the agreed parameters,
//	                      or that the server declined, on stderr
//	-s, --subprotocols P… offer these subprotocols (the arguments up to the
//	                      next option or the URL)
//	-o, --origin ORIGIN   send this Origin
//	--eof-wait SECONDS    after the end of stdin, keep printing for this
//	                      long before closing (default 0)
//	-t, --text TEXT       send TEXT as a text message right after connecting
//	--timings             prefix each line with the seconds since start
//	--headers "A: 1, B: 2" extra handshake header fields, comma-separated
//	--http2 MODE          open the WebSocket over HTTP/2 (RFC 8441, see
//	                      docs/http2.md): "prefer" falls back to HTTP/1.1
//	                      when the server does not support it, "only"
//	                      fails instead (and speaks h2c to a ws:// URL);
//	                      with -v, print the HTTP version on stderr
//
// Short flags may be grouped: -rn, -rv, -rzv.
//
// # Output
//
// Each received message is one line: a fragmented message is joined and
// shown once, whole (with -vv the trace shows its fragments). So is each
// ping, pong and close frame. Text is printed as is. A binary payload (or
// the payload of a ping or pong) that starts with the gzip magic 1f 8b and
// inflates to UTF-8 is shown inflated, after the prefix "gzip" in square
// brackets; one that inflates as a raw deflate stream likewise, after
// "zlib" in square brackets; any other is shown as a Python bytes literal
// such as b'\x00\x01'. A close frame is an empty line (with -v, "close: "
// with its trailing space; -vv traces the frame, code and reason
// included). With -v each line starts with the opcode's name:
//
//	text: hello
//	binary: b'\x00\x01\x02'
//	binary: [zlib] deflated!
//	binary: [gzip] gzipped!
//	ping: b'pi'
//	close:
//
// When stdout is a terminal and -r is not given, wsdump is interactive:
// it prints "Press Ctrl+C to quit", prompts with "> " and shows received
// lines in blue after "< ", redrawing the prompt (but not after the close,
// which ends the session). Piped, it prints plain lines only.
//
// With -vv the trace shows each frame wsdump sends before anything the
// server sends in answer to it: a frame is traced before it is written.
//
// Pings are answered automatically, and so is the server's close frame.
// At the end of stdin (Ctrl+D), or on Ctrl+C, wsdump sends a close frame
// (1000) and waits up to 3 seconds for the answer.
//
// # Exit status
//
//	0  the session ended: stdin ended, the server closed, or Ctrl+C
//	2  the command line is wrong (the usage is printed)
//	3  the connection could not be opened: address, network, proxy, TLS
//	   or handshake failure (for example a 403)
//	4  the connection failed after it opened: a protocol violation by the
//	   server, invalid UTF-8, a message over the size limit, or a lost
//	   connection
//
// # Examples
//
//	wsdump ws://127.0.0.1:8080/echo
//	echo hello | wsdump -r -v --eof-wait 1 ws://127.0.0.1:8080/echo
//	wsdump -vv -s chat superchat -o https://example.com wss://example.com/ws
//	wsdump -p socks5h://127.0.0.1:1080 -n wss://internal.example/ws
//	wsdump --headers "Authorization: Bearer t0k3n, X-Trace: 1" ws://host/ws
//
// # Differences from websocket-client
//
// A fragmented message is printed once, whole: websocket-client prints
// each fragment as it arrives, so an echo that ends with an empty fragment
// gets a second line for it. The proxy keeps its scheme and credentials
// (websocket-client uses only its host and port, as an HTTP proxy).
// Interactive mode needs a terminal and plain lines are printed otherwise,
// with or without -r. The end of stdin and Ctrl+C close the connection
// with a closing handshake instead of dropping it, and wsdump exits when
// the server closes rather than waiting for stdin. Exit statuses tell the
// failures apart. -v takes a following argument as its level only when it
// is a number.
package main
