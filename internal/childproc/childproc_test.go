package childproc_test

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/framewire/ws/internal/childproc"
)

const childEnv = "FW_CHILDPROC_TEST"

// TestChild is the child's side: it prints a line, then waits until its
// standard input closes.
func TestChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestStart")
	}
	fmt.Println("noise")
	fmt.Println("ready", os.Getpid())
	io.Copy(io.Discard, os.Stdin)
}

// Start returns the line it waits for, from another process, and stops
// that process when the test ends.
func TestStart(t *testing.T) {
	line := childproc.Start(t, "TestChild", childEnv, func(l string) bool { return strings.HasPrefix(l, "ready ") })
	if line == fmt.Sprint("ready ", os.Getpid()) || !strings.HasPrefix(line, "ready ") {
		t.Fatalf("got %q from the child, want its own ready line", line)
	}
}
