package conn

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/framewire/ws/status"
)

// ErrClosed is returned by a call on a connection that is closed or
// closing: a send after a close frame was sent or received, or any call
// after [Conn.Close], [Conn.CloseNow] or a failure. It matches
// net.ErrClosed. When there is a cause (the peer's close, a protocol
// error), the returned error wraps it too. websocket-client raises
// WebSocketConnectionClosedException.
var ErrClosed error = closedError{}

type closedError struct{}

func (closedError) Error() string        { return "conn: connection closed" }
func (closedError) Is(target error) bool { return target == net.ErrClosed }

// closedCause is ErrClosed wrapping the reason the connection closed. It
// is a net.Error that is neither a timeout nor temporary, whatever its
// cause: no call on a closed connection succeeds when retried, so a loop
// that retries timeouts stops on it.
type closedCause struct{ cause error }

func (e *closedCause) Error() string   { return "conn: connection closed: " + e.cause.Error() }
func (e *closedCause) Unwrap() []error { return []error{ErrClosed, e.cause} }
func (e *closedCause) Timeout() bool   { return false }
func (e *closedCause) Temporary() bool { return false }

// answered is the end of a closing handshake this side began (Close, or a
// close frame sent with WriteFrame): the peer's close frame answering it,
// which it wraps, so that an error reporting the end does not read as if
// the peer had closed first.
type answered struct{ ce *status.CloseError }

func (e *answered) Error() string {
	s := "conn: closing handshake complete, the peer answered " + e.ce.Code.String()
	if e.ce.Reason != "" {
		s += ": " + strconv.Quote(e.ce.Reason)
	}
	return s
}

func (e *answered) Unwrap() error { return e.ce }

// ErrBroken is matched by a [*TimeoutError] whose write stopped in the
// middle of a frame. The rest of the frame can never be sent, so the
// connection was closed.
var ErrBroken = errors.New("conn: write stopped in the middle of a frame; connection closed")

// ErrReplyTimeout reports a pong that could not be written within
// [ReplyTimeout]: the peer did not read it. The connection was failed and
// closed; the error's text names the socket's error, which it does not
// wrap: it is no timeout to retry after, and it matches neither
// os.ErrDeadlineExceeded nor a net.Error whose Timeout reports true.
var ErrReplyTimeout = errors.New("conn: pong not written within ReplyTimeout; connection failed")

// ErrWriteTimeout reports a send whose context had no deadline, stopped
// by [Config.WriteTimeout]: the peer took none of its bytes for that long.
// The connection was failed and reset, and every later call reports it.
// As with [ErrReplyTimeout], the error's text names the socket's error,
// which it does not wrap: it is no timeout to retry after.
var ErrWriteTimeout = errors.New("conn: write not taken by the peer within WriteTimeout; connection failed")

// ErrTooManyRedirects reports a handshake still redirected after
// [Dialer.MaxRedirects] redirects. The error also wraps the last
// [*handshake.RedirectError].
var ErrTooManyRedirects = errors.New("conn: too many redirects")

// ErrAddress reports that the host name of the URL or of the proxy could
// not be resolved; the error also wraps the resolver's *net.DNSError,
// whose Name is the host. websocket-client raises
// WebSocketAddressException.
var ErrAddress = errors.New("conn: cannot resolve address")

// ErrExtensionHeader reports a permessage-deflate offer written into
// Dialer.Header's Sec-WebSocket-Extensions. The dial fails before any
// connection is made, with or without Config.Compression: Compression is
// the one way to turn compression on, because the offer is only half of
// it. The Conn must also compress and inflate with the agreed window and
// context takeover, at a memory cost that Compression.Preset chooses and a
// header cannot; a header offer next to Compression's would be a second,
// contradicting offer. Failing at once, rather than when some server
// accepts the header, shows the mistake on the first run.
var ErrExtensionHeader = errors.New("conn: permessage-deflate offered in Dialer.Header")

// ErrNetDial reports a [Dialer.NetDial] that returned neither a
// connection nor an error.
var ErrNetDial = errors.New("conn: NetDial returned neither a connection nor an error")

// ErrConnectionLost reports a connection that ended without a close frame:
// the peer closed TCP, or the network failed. It is wrapped together with
// a [*status.CloseError] of code 1006 (AbnormalClosure) and the read error.
var ErrConnectionLost = errors.New("conn: connection to remote host was lost")

// TimeoutError reports a read, write or dial stopped by the end of its
// context: its deadline or its cancellation. It matches the context's error
// (context.DeadlineExceeded or context.Canceled) and the network error that
// stopped the operation, which matches os.ErrDeadlineExceeded. It is a
// net.Error whose Timeout method reports true. websocket-client raises
// WebSocketTimeoutException.
//
// A read stopped this way leaves the connection usable: the next read
// resumes where it stopped. So does a write that had not written any byte,
// and one stopped in the middle of frames that lie whole in the Conn's
// write buffer (every frame up to 32 KiB; over a TCP connection on Linux,
// or with no WriteTimeout, every frame up to 256 KiB and the last piece
// of a longer one: see the package's Concurrency section): the bytes not
// written are kept and go out, before any other frame, with the Conn's
// next write (a send, a pong or the closing handshake). Kept reports that
// the call's own frame is among them: it is not lost, unless the
// connection ends first. A write stopped in the middle of another frame,
// whose rest cannot be kept, sets Broken, matches [ErrBroken], and leaves
// the connection closed.
type TimeoutError struct {
	Op     string // "read", "write", "dial" or "close"
	Broken bool   // a write cut a frame: the connection is closed (ErrBroken)
	Kept   bool   // a write's frame goes out with the next write
	Ctx    error  // context.DeadlineExceeded or context.Canceled
	Err    error  // the error from the socket
}

func (e *TimeoutError) Error() string {
	var b strings.Builder
	b.WriteString("conn: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Ctx.Error())
	if e.Broken {
		b.WriteString(" in the middle of a frame; connection closed")
	}
	return b.String()
}

// Unwrap returns the context's error, the socket's error and, for a broken
// write, [ErrBroken].
func (e *TimeoutError) Unwrap() []error {
	errs := []error{e.Ctx}
	if e.Err != nil {
		errs = append(errs, e.Err)
	} else {
		errs = append(errs, os.ErrDeadlineExceeded)
	}
	if e.Broken {
		errs = append(errs, ErrBroken)
	}
	return errs
}

// Timeout reports true: TimeoutError is a net.Error.
func (e *TimeoutError) Timeout() bool { return true }

// Temporary reports whether the connection is still usable: false for a
// broken write and for [Conn.Close], which closes the connection
// whatever happens.
func (e *TimeoutError) Temporary() bool { return !e.Broken && e.Op != "close" }

// isTimeout reports whether err is a timeout of the socket.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
