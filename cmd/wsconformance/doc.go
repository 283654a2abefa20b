// Command wsconformance runs framewire's conformance suite: the Autobahn
// testsuite's fuzzing-server cases, played by framewire's fuzzing server
// against an echo agent built on framewire's client (package conn).
//
// Usage:
//
//	wsconformance [-server ws://host:port] [-agent framewire] [-transport http1|h2|both] [-tls] [-cases "1.*,2.1"] [-exclude pattern] [-report dir] [-scale 0.25] [-messages 20] [-case-timeout d] [-v]
//
// The flags are:
//
//	-server   URL of a running fuzzing server (wsfuzzingserver, or Autobahn's
//	          own "wstest -m fuzzingserver"); default: start one in-process
//	          on 127.0.0.1
//	-agent    agent name in the reports (default "framewire")
//	-transport
//	          http1 (default): every case over HTTP/1.1; h2: over HTTP/2,
//	          an extended CONNECT (RFC 8441) per case over h2c with prior
//	          knowledge (conn.HTTP2Only), as agent "<agent>-h2"; both: the
//	          suite over HTTP/1.1, then over HTTP/2, one report with both.
//	          The in-process server accepts HTTP/2 only in a process
//	          started with GODEBUG=http2xconnect=1: the command runs itself
//	          again with it when needed
//	-tls      serve the in-process server over TLS, with a self-signed
//	          certificate for 127.0.0.1 made at start, which the agent
//	          trusts: ALPN chooses http/1.1 for -transport http1 and h2 for
//	          h2 (RFC 8441 over TLS). Agents are named with "-tls" added.
//	          Without it the server speaks clear text (h2c for HTTP/2)
//	-cases    case ID patterns to run; "*" matches anything (in-process only)
//	-exclude  case ID patterns to leave out (in-process only)
//	-report   directory to write conformance.md and conformance.json into
//	          (in-process only; default: write nothing)
//	-scale    multiplier of every wait of every case (in-process only;
//	          default 0.25: loopback needs no more)
//	-messages messages each case of sections 12 and 13 (permessage-deflate)
//	          sends (in-process only; default 20, Autobahn sends 1000; every
//	          size, fragment size and parameter set is covered either way)
//	-case-timeout
//	          longest one case may take; a case that runs longer stops the
//	          run with an error naming it (default: 10s + 480s × scale, the
//	          longest wait of any case plus a margin: 130s at the default
//	          scale; 490s with -server)
//	-v        print each case's verdict as it ends
//
// The agent dials with permessage-deflate offered (conn's default preset,
// "permessage-deflate; client_max_window_bits") and compresses every
// message, so sections 12 and 13 check all it sends.
//
// The agent asks /getCaseCount, then for each case opens /runCase and echoes
// every message (same opcode, same payload) until the connection closes or
// fails, then calls /updateReports. It prints the verdicts by section and
// every case that is FAILED or NON-STRICT, and exits with status 1 if there
// is any. "make conformance" runs it with -transport both -messages 1000
// -report docs (both transports, and Autobahn's message count in sections
// 12 and 13).
package main
