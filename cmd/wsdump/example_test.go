package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/framewire/ws/wstest"
)

// wsdump in a pipe against an echo server: each line of standard input goes
// out as a text message and each message that comes back is printed, with
// its opcode (-v) and one line per message (-r). The end of input closes the
// connection.
func Example() {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()

	var out strings.Builder
	code := run(context.Background(), []string{"-r", "-v", srv.URL}, strings.NewReader("hello\nworld\n"), &out, os.Stderr)
	fmt.Printf("%q\nexit status %d\n", out.String(), code)
	// Output:
	// "text: hello\ntext: world\nclose: \n"
	// exit status 0
}
