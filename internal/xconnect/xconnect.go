package xconnect

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Env is what GODEBUG must hold when a process starts for the HTTP/2
// servers of net/http and golang.org/x/net/http2 to advertise
// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3) and accept an extended
// CONNECT. Both read it once, at initialisation, so setting it later has
// no effect.
const Env = "http2xconnect=1"

// enabled is whether this process started with Env, read as the servers
// read it.
var enabled = strings.Contains(os.Getenv("GODEBUG"), Env)

// Enabled reports whether this process's HTTP/2 servers accept WebSocket
// over HTTP/2: whether it started with Env in GODEBUG.
func Enabled() bool { return enabled }

// Reexec makes sure the program runs with Env. When Enabled is false, it
// runs this process's program again with the same arguments, standard
// streams and environment, Env added to GODEBUG, waits for it and returns
// its exit status and true; the caller then exits with that status. When
// Enabled holds it returns 0 and false at once.
func Reexec() (status int, ran bool) {
	if enabled {
		return 0, false
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "xconnect: cannot run again with GODEBUG="+Env+":", err)
		return 2, true
	}
	godebug := Env
	if old := os.Getenv("GODEBUG"); old != "" {
		godebug = old + "," + godebug
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "GODEBUG="+godebug)
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), true
	case err != nil:
		fmt.Fprintln(os.Stderr, "xconnect: cannot run again with GODEBUG="+Env+":", err)
		return 2, true
	}
	return 0, true
}
