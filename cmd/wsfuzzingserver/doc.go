// Command wsfuzzingserver runs framewire's fuzzing server: the test cases of
// the Autobahn testsuite's fuzzing server, served over the same URL protocol,
// so that any WebSocket client with an Autobahn echo agent can be tested.
//
// Usage:
//
//	wsfuzzingserver [-addr 127.0.0.1:9001] [-cases "1.*,2.1"] [-exclude "12.*,13.*"] [-report dir] [-scale 1] [-messages 1000]
//
// The flags are:
//
//	-addr     address to listen on (default 127.0.0.1:9001, Autobahn's port)
//	-cases    comma-separated case ID patterns to run; "*" matches anything (default all)
//	-exclude  case ID patterns to leave out
//	-report   directory where /updateReports writes conformance.json and conformance.md
//	          (default "reports")
//	-scale    multiplies every wait of every case (default 1, Autobahn's timings)
//	-messages messages each case of sections 12 and 13 sends (default 1000,
//	          Autobahn's count)
//
// An agent runs the suite by opening, in turn, ws://ADDR/getCaseCount (one text
// message: the number of cases), ws://ADDR/runCase?case=N&agent=NAME for N from
// 1 to the count, echoing every message it receives until the server closes,
// and finally ws://ADDR/updateReports?agent=NAME. ws://ADDR/getCaseInfo?case=N
// and ws://ADDR/getCaseStatus?case=N&agent=NAME describe a case and its verdict.
// Cases 12.x and 13.x negotiate permessage-deflate (RFC 7692) with the
// agent's offers, each by its accept policy, and check what the agent
// compresses: a back-reference beyond the agreed window, or into an
// earlier message where client_no_context_takeover was agreed, fails the
// case. An agent that offers no permessage-deflate gets UNIMPLEMENTED.
// The server stops on SIGINT or SIGTERM.
package main
