package xconnect_test

import (
	"fmt"

	"github.com/framewire/ws/internal/xconnect"
)

// Env is the GODEBUG setting a process starts with for its HTTP/2 servers
// to accept WebSocket over HTTP/2.
func ExampleEnv() {
	fmt.Println("GODEBUG=" + xconnect.Env)
	// Output: GODEBUG=http2xconnect=1
}
