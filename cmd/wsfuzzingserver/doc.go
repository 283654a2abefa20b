// Command wsfuzzingserver runs framewire's fuzzing server: the test cases of
// the Autobahn testsuite's fuzzing server, served over the same URL protocol,
// so that any WebSocket client with an Autobahn echo agent can be tested.
//
// Usage:
//
//	wsfuzzingserver [-addr 127.0.0.1:9001] [-cases "1.*,2.1"] [-exclude "12.*,13.*"] [-report dir] [-scale 1]
//
// The flags are:
//
//	-addr     address to listen on (default 127.0.0.1:9001, Autobahn's port)
//	-cases    comma-separated case ID patterns to run; "*" matches anything (default all)
//	-exclude  case ID patterns to leave out
//	-report   directory where /updateReports writes conformance.json and conformance.md
//	          (default "reports")
//	-scale    multiplies every wait of every case (default 1, Autobahn's timings)
//
// An agent runs the suite by opening, in turn, ws://ADDR/getCaseCount (one text
// message: the number of cases), ws://ADDR/runCase?case=N&agent=NAME for N from
// 1 to the count, echoing every message it receives until the server closes,
// and finally ws://ADDR/updateReports?agent=NAME. ws://ADDR/getCaseInfo?case=N
// and ws://ADDR/getCaseStatus?case=N&agent=NAME describe a case and its verdict.
// The server stops on SIGINT or SIGTERM.
package main
