package app

import (
	"errors"
	"fmt"
	"net"
	"os"
)

// Errors returned by [App.Run] before it connects, when a field of the App
// is out of range. They are websocket-client's WebSocketException raised by
// run_forever's argument checks.
var (
	ErrPingTimeout  = errors.New("app: ensure PingTimeout > 0 (zero disables it)")
	ErrPingInterval = errors.New("app: ensure PingInterval >= 0")
	ErrPingOrder    = errors.New("app: ensure PingInterval > PingTimeout")
	ErrBackoff      = errors.New("app: invalid Backoff")
	ErrCloseTimeout = errors.New("app: ensure CloseTimeout >= 0")
	ErrRunning      = errors.New("app: Run is already running")
)

// ErrNotConnected is returned by the send methods and [App.Close] when no
// connection is open. It matches net.ErrClosed with errors.Is.
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
