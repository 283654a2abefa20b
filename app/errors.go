package app

import (
	"errors"
	"fmt"
	"net"
	"os"
)

// ErrInvalid is matched by the error [App.Run] returns before it
// connects when a field of the App or of its Backoff is out of range; the
// error's text names the field. It is websocket-client's
// WebSocketException raised by run_forever's argument checks.
var ErrInvalid = errors.New("app: invalid setting")

// ErrRunning is returned by [App.Run] while another Run of the same App is
// running.
var ErrRunning = errors.New("app: Run is already running")

// invalid returns an error matching ErrInvalid that says what is wrong.
func invalid(what string) error { return fmt.Errorf("%w: ensure %s", ErrInvalid, what) }

// ErrNotConnected is returned by the send methods and [App.Close] when no
// connection is open. It matches net.ErrClosed with errors.Is. A send on
// a connection that is ending returns that connection's error instead,
// which matches net.ErrClosed too: test for net.ErrClosed to catch both.
//
// ErrNotConnected is websocket-client's WebSocketConnectionClosedException
// raised by WebSocketApp.send.
var ErrNotConnected error = notConnected{}

type notConnected struct{}

func (notConnected) Error() string        { return "app: connection is not open" }
func (notConnected) Is(target error) bool { return target == net.ErrClosed }

// ErrPongTimeout is the error with which a connection fails when no pong
// arrives within PingTimeout of a ping. It matches os.ErrDeadlineExceeded
// with errors.Is and is a net.Error whose Timeout method reports true.
//
// ErrPongTimeout is websocket-client's
// WebSocketTimeoutException("ping/pong timed out").
var ErrPongTimeout error = pongTimeout{}

type pongTimeout struct{}

func (pongTimeout) Error() string        { return "app: ping/pong timed out" }
func (pongTimeout) Timeout() bool        { return true }
func (pongTimeout) Temporary() bool      { return false }
func (pongTimeout) Is(target error) bool { return target == os.ErrDeadlineExceeded }

// HandlerError reports a handler that panicked. It is passed to OnError;
// the connection carries on, as websocket-client carries on after a
// callback raises.
type HandlerError struct {
	Handler string // field name, such as "OnMessage"
	Value   any    // the value passed to panic
}

func (e *HandlerError) Error() string {
	return fmt.Sprintf("app: %s panicked: %v", e.Handler, e.Value)
}

// Unwrap returns the panic value when it is an error.
func (e *HandlerError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
