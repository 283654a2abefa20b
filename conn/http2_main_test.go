package conn_test

import (
	"context"
	"net"
	"testing"

	"github.com/framewire/ws/internal/h2test"
)

// TestMain runs the tests with extended CONNECT enabled in x/net/http2's
// Server, the HTTP/2 peer of the tests over HTTP/2 (see h2test.Main).
//
// It first makes one lookup with the pure-Go resolver, whose first use
// sets up state of the process (the watch on resolv.conf): made first
// inside a synctest bubble, by TestHandshakeTimeoutLookup, that state
// would belong to the bubble, and a later lookup outside it would crash
// the test binary.
func TestMain(m *testing.M) {
	(&net.Resolver{PreferGo: true}).LookupHost(context.Background(), "localhost")
	h2test.Main(m)
}
