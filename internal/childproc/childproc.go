package childproc

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"testing"
)

// Start runs the test named test of this test binary in a child process
// with env set to "1" in its environment, and returns the first line it
// prints for which ready returns true. The child is stopped when tb ends:
// its standard input is closed, which it must take as the signal to
// return, and Start waits for it.
func Start(tb testing.TB, test, env string, ready func(line string) bool) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if line := sc.Text(); ready(line) {
			go io.Copy(io.Discard, stdout)
			return line
		}
	}
	tb.Fatalf("%s printed no line it was waited for: %v", test, sc.Err())
	return ""
}
