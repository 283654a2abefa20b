package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/framewire/ws/wstest"
)

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return master, tty
}

// On a terminal wsdump is interactive: a note, prompts, and each received
// frame in colour on a cleared line followed by a fresh prompt, never two
// prompts in a row after a reply, and none after the close.
func TestInteractiveOnTerminal(t *testing.T) {
	master, tty := openPTY(t)
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	shown := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(master) // ends with EIO once tty is closed
		shown <- b
	}()
	var errs bytes.Buffer
	if code := run(t.Context(), []string{srv.URL}, strings.NewReader("hello\n"), tty, &errs); code != exitOK {
		t.Fatalf("exit %d; stderr %s", code, errs.String())
	}
	tty.Close()
	got := string(bytes.ReplaceAll(<-shown, []byte("\r\n"), []byte("\n")))
	want := "Press Ctrl+C to quit\n" +
		"> " + // before the first line
		"> " + // after reading "hello", before sending it
		"\x1b[2K\x1b[E\x1b[34m< hello\x1b[39m\n> " +
		"\x1b[2K\x1b[E\x1b[34m< \x1b[39m\n" // the close, and no prompt after it
	if got != want {
		t.Errorf("terminal shows %q; want %q", got, want)
	}
}
