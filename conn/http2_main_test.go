package conn_test

import (
	"testing"

	"github.com/framewire/ws/internal/h2test"
)

// TestMain runs the tests with extended CONNECT enabled in x/net/http2's
// Server, the HTTP/2 peer of the tests over HTTP/2 (see h2test.Main).
func TestMain(m *testing.M) { h2test.Main(m) }
