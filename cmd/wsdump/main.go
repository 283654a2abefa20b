package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// Exit statuses.
const (
	exitOK       = 0
	exitUsage    = 2
	exitConnect  = 3 // the connection could not be opened
	exitProtocol = 4 // the connection failed after it opened
)

// closeWait bounds the closing handshake when wsdump ends the session.
const closeWait = 3 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// netDialFunc opens the TCP connection, as conn.Dialer.NetDial.
type netDialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// dialer builds the Dialer for o, opening connections with netDial (nil:
// conn's default). With -vv it traces to stderr.
func (o *options) dialer(stderr io.Writer, netDial netDialFunc) *conn.Dialer {
	d := &conn.Dialer{
		Header:       o.headers,
		Origin:       o.origin,
		Subprotocols: o.subprotocols,
		Config:       conn.Config{ControlFrames: true},
	}
	if o.proxy != nil {
		d.Proxy = http.ProxyURL(o.proxy)
	}
	if o.nocert {
		d.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	d.NetDial = netDial
	if o.verbose >= 2 {
		d.Config.Trace = stderr
	}
	if o.compress {
		d.Config.Compression = &conn.Compression{}
	}
	d.HTTP2 = o.http2
	return d
}

// run is wsdump: it parses args, connects, prints what arrives on stdout
// and sends each line of stdin as a text message, until stdin ends (then
// waits --eof-wait and closes), the server closes, the connection fails or
// ctx is done. It returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runDial(ctx, nil, args, stdin, stdout, stderr)
}

// runDial is run with the TCP connection opened by netDial (nil: conn's
// default).
func runDial(ctx context.Context, netDial netDialFunc, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	start := time.Now()
	o, err := parseArgs(args)
	if errors.Is(err, errHelp) {
		io.WriteString(stdout, usageText)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "%swsdump: error: %v\n", usageLine, err)
		return exitUsage
	}

	d := o.dialer(stderr, netDial)
	c, err := d.Dial(ctx, o.url)
	if err != nil {
		fmt.Fprintf(stderr, "wsdump: %v\n", err)
		return exitConnect
	}
	if o.http2 != conn.HTTP2Off && o.verbose >= 1 {
		fmt.Fprintf(stderr, "wsdump: HTTP version: %s\n", c.Proto())
	}
	if o.compress && o.verbose >= 1 {
		if p, ok := c.Compression(); ok {
			fmt.Fprintf(stderr, "wsdump: compression: %v\n", p)
		} else {
			fmt.Fprintln(stderr, "wsdump: compression: declined by the server")
		}
	}
	out := &console{
		w:           stdout,
		interactive: !o.raw && isTerminal(stdout),
		verbose:     o.verbose,
		timings:     o.timings,
		start:       start,
	}
	if out.interactive {
		out.note("Press Ctrl+C to quit")
	}

	// The receiver prints every frame until the peer's close or an error.
	received := make(chan error, 1)
	go func() {
		for {
			f, err := c.ReadDataFrame(context.Background(), nil)
			op := f.Opcode
			if err != nil {
				received <- err
				return
			}
			out.message(op, f.Payload)
			if op == frame.OpClose {
				received <- nil
				return
			}
		}
	}()

	// The stdin reader hands over lines until EOF.
	quit := make(chan struct{})
	defer close(quit)
	lines := make(chan string)
	eof := make(chan struct{})
	go readLines(stdin, lines, eof, quit)

	closing := false
	// finish starts the closing handshake and waits for the receiver to
	// read the answer, dropping the connection if it does not come.
	finish := func() int {
		closing = true
		var buf [2]byte
		payload, _ := status.AppendClose(buf[:0], status.NormalClosure, "")
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeWait)
		defer cancel()
		err := c.WriteFrame(cctx, frame.New(frame.OpClose, payload))
		if err != nil {
			c.CloseNow()
		}
		select {
		case err := <-received:
			return result(err, closing, stderr)
		case <-cctx.Done():
			c.CloseNow()
			return result(<-received, closing, stderr)
		}
	}

	if o.text != "" { // as websocket-client's: an empty -t sends nothing
		if err := c.WriteMessage(ctx, frame.OpText, []byte(o.text)); err != nil {
			fmt.Fprintf(stderr, "wsdump: %v\n", err)
		}
	}
	out.prompt()
	for {
		select {
		case line := <-lines:
			// The prompt goes first: a reply printed afterwards redraws
			// it below itself, and one printed before it would leave
			// two prompts on the line.
			out.prompt()
			if err := c.WriteMessage(ctx, frame.OpText, []byte(line)); err != nil {
				if errors.Is(err, conn.ErrClosed) {
					return result(<-received, closing, stderr)
				}
				fmt.Fprintf(stderr, "wsdump: %v\n", err)
			}
		case <-eof:
			if o.eofWait > 0 {
				t := time.NewTimer(o.eofWait)
				select {
				case <-t.C:
				case err := <-received:
					t.Stop()
					return result(err, closing, stderr)
				case <-ctx.Done():
					t.Stop()
				}
			}
			return finish()
		case err := <-received:
			c.CloseNow()
			return result(err, closing, stderr)
		case <-ctx.Done():
			return finish()
		}
	}
}

// result turns how the receiver ended into an exit status.
func result(err error, closing bool, stderr io.Writer) int {
	var ce *status.CloseError
	switch {
	case err == nil,
		errors.As(err, &ce) && ce.Code != status.AbnormalClosure, // the peer closed
		closing && errors.Is(err, net.ErrClosed):                 // we closed
		return exitOK
	}
	fmt.Fprintf(stderr, "wsdump: %v\n", err)
	return exitProtocol
}

// readLines sends each line of r, without its line ending, to lines, then
// closes eof. It stops early when quit is closed.
func readLines(r io.Reader, lines chan<- string, eof chan<- struct{}, quit <-chan struct{}) {
	defer close(eof)
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
			select {
			case lines <- line:
			case <-quit:
				return
			}
		}
		if err != nil {
			return
		}
	}
}
