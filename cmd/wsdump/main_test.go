package main

import (
	"testing"

	"github.com/framewire/ws/internal/h2test"
)

// TestMain enables extended CONNECT in the HTTP/2 test server (see
// h2test.Main).
func TestMain(m *testing.M) { h2test.Main(m) }
