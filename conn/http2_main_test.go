package conn_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain runs the tests with GODEBUG=http2xconnect=1, without which
// x/net/http2's Server, the HTTP/2 peer of the tests over HTTP/2, does not
// advertise SETTINGS_ENABLE_CONNECT_PROTOCOL: it reads the variable once,
// at start, so the test binary runs itself again with it set.
func TestMain(m *testing.M) {
	if !strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=1") {
		godebug := "http2xconnect=1"
		if v := os.Getenv("GODEBUG"); v != "" {
			godebug = v + "," + godebug
		}
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Env = append(os.Environ(), "GODEBUG="+godebug)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			os.Stderr.WriteString("conn_test: re-running the tests: " + err.Error() + "\n")
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
