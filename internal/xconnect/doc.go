// Package xconnect turns on WebSocket over HTTP/2 (RFC 8441) in the HTTP/2
// servers of net/http and golang.org/x/net/http2 for the process that
// needs them: the tests over HTTP/2, the conformance suite and the interop
// bed's Go server. Those servers advertise the extended CONNECT only when
// GODEBUG holds [Env] as the process starts, so [Reexec] runs the program
// again with it.
//
// A test package whose tests need such a server calls it from TestMain:
//
//	func TestMain(m *testing.M) {
//		if status, ran := xconnect.Reexec(); ran {
//			os.Exit(status)
//		}
//		os.Exit(m.Run())
//	}
package xconnect
