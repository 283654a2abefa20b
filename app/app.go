package app

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// App is an event-driven WebSocket client: [App.Run] connects to URL,
// calls the handlers as events arrive, keeps the connection alive with
// pings and, if Reconnect is set, reconnects after a failure.
//
// The fields configure the App and must not change while Run runs. Every
// handler is optional and is called on the goroutine that called Run, one
// at a time; the payload a handler receives is valid only until it
// returns. Messages that arrived together are read in one burst
// ([conn.Conn.ReadMessages]) and handed to the handlers one by one, in
// order; a close frame that came with them is answered only once their
// handlers have returned, so that a handler can still reply to them, as
// with websocket-client. [App.WriteMessage], [App.WriteFrame]
// and [App.Close] may be called from any goroutine, handlers included.
//
// App is websocket-client's WebSocketApp.
type App struct {
	// URL is the ws:// or wss:// URL to connect to.
	URL string

	// Dialer connects; nil means the zero Dialer. Run uses a copy with
	// ControlFrames set (so that OnPing and OnPong see pings and pongs),
	// DeliverFragments set exactly when OnFragment is set, and Header
	// updated by the Header function.
	Dialer *conn.Dialer

	// Header, if set, is called before every connection attempt; the
	// fields it returns are sent with Dialer.Header's, each replacing the
	// Dialer's field of the same name, if any, so that a token can be
	// refreshed before a reconnect. An error fails the attempt.
	Header func(ctx context.Context) (http.Header, error)

	// PingInterval is the time between pings; the first ping goes out one
	// interval after the connection opens. Zero sends no pings.
	PingInterval time.Duration

	// PingTimeout, if set, is how long to wait for a pong after each ping
	// before the connection fails with [ErrPongTimeout]. It must be less
	// than PingInterval; without PingInterval no ping goes out and it has
	// no effect, as in websocket-client. The failing connection sends a
	// close frame and waits up to a second (or CloseTimeout, if shorter)
	// for the answer before it closes, so OnError gets ErrPongTimeout up
	// to that long after the timeout (see the package doc). The wait is
	// timed from the attempt to send the ping, as websocket-client's: a
	// ping queued behind a frame being sent goes out after it (between
	// the fragments of a message sent with conn's NextWriter), and then
	// behind what the socket holds. So PingTimeout must cover the longest
	// frame sent at once (WriteMessage sends a message as one frame) and
	// the socket's send buffer, at the peer's pace.
	PingTimeout time.Duration

	// PingPayload is the application data of each ping: at most 125
	// bytes (RFC 6455 §5.5), or Run fails with ErrInvalid.
	PingPayload []byte

	// Reconnect, if set, makes Run connect again after a connection or an
	// attempt ends, when its policy (Backoff.Retry, by default
	// [Retryable]) approves: after a failure, a transient dial failure or
	// a close with 1001 or 1011-1014. Nil, the default, ends Run at the
	// first failure or close.
	Reconnect *Backoff

	// CloseTimeout bounds the closing handshake: how long to wait for the
	// peer's close frame before dropping the connection. Zero means
	// conn.DefaultCloseTimeout.
	CloseTimeout time.Duration

	// OnOpen is called when a connection opens, or, if OnReconnect is
	// set, only when Run's first attempt opens one.
	OnOpen func(a *App)
	// OnReconnect is called when a connection opens after an earlier
	// attempt, failed or not, instead of OnOpen, as websocket-client's
	// on_reconnect: an App whose first attempts fail (the server is down
	// when it starts) calls OnReconnect, not OnOpen, when it connects. A
	// subscription made on every connection belongs in both.
	OnReconnect func(a *App)
	// OnData is called for every data message (or fragment, when
	// OnFragment is set), before OnMessage or OnFragment. op is the
	// message's opcode (OpContinuation for later fragments) and fin tells
	// whether it is the last frame of its message.
	OnData func(a *App, op frame.Opcode, p []byte, fin bool)
	// OnMessage is called for every text or binary message; when
	// OnFragment is set it gets the first fragment only.
	OnMessage func(a *App, op frame.Opcode, p []byte)
	// OnFragment, if set, makes the App deliver messages fragment by
	// fragment: it is called for each continuation fragment
	// (websocket-client's on_cont_message).
	OnFragment func(a *App, p []byte, fin bool)
	// OnPing is called for each ping, after the pong has been sent.
	OnPing func(a *App, p []byte)
	// OnPong is called for each pong.
	OnPong func(a *App, p []byte)
	// OnError is called with every error: a failed connection attempt, a
	// connection that failed (before its OnClose) and a handler that
	// panicked ([*HandlerError]).
	OnError func(a *App, err error)
	// OnClose is called exactly once for every connection that opened,
	// when it has ended, with the code and reason of the peer's close
	// frame: status.NoStatusReceived if it had no code and
	// status.AbnormalClosure if none arrived.
	OnClose func(a *App, code status.Code, reason string)

	mu  sync.Mutex
	run *runState // nil while Run is not running

	// dial replaces the Dialer in tests.
	dial dialFunc
}

// runState is the state of one call to Run.
type runState struct {
	cancel  context.CancelFunc // cancels dialling and waiting to reconnect
	stopped bool               // Close was called
	code    status.Code        // what Close was called with
	reason  string
	cur     *session // the open connection, or nil
}

func (a *App) check() error {
	switch {
	case a.PingTimeout < 0:
		return invalid("PingTimeout > 0 (zero disables it)")
	case a.PingInterval < 0:
		return invalid("PingInterval >= 0")
	case a.PingInterval > 0 && a.PingTimeout > 0 && a.PingInterval <= a.PingTimeout:
		return invalid("PingInterval > PingTimeout")
	case a.CloseTimeout < 0:
		return invalid("CloseTimeout >= 0")
	case len(a.PingPayload) > frame.MaxControlPayload:
		return invalid("len(PingPayload) <= 125 (a control frame's payload)")
	}
	if a.Reconnect != nil {
		return a.Reconnect.check()
	}
	return nil
}

// Run connects and handles events until the connection ends, then, if
// Reconnect is set and its policy ([Backoff.Retry], by default
// [Retryable]) approves of what ended it, connects again. It returns
//   - nil after a clean end: the closing handshake started by [App.Close]
//     completed (or Close stopped a dial or a wait to reconnect), or the
//     peer closed with NormalClosure (1000) or an empty close frame
//     (NoStatusReceived) and Run does not reconnect;
//   - ctx.Err() when ctx ended: Run performs the closing handshake
//     (status.NormalClosure) within CloseTimeout first;
//   - otherwise the failure that ended Run, which is typed: the peer's
//     close frame with any other code as a *[status.CloseError], a lost
//     connection ([conn.ErrConnectionLost]), [ErrPongTimeout], a dial error
//     (a *[handshake.StatusError], a *net.OpError, ...), or, once
//     Reconnect.MaxAttempts reconnects in a row have failed, the last of
//     those failures. A connection that had failed before Close was
//     called still reports its failure.
//
// An App field out of range makes Run return an error matching
// [ErrInvalid] at once, naming the field, and a second concurrent Run
// returns [ErrRunning]. No goroutine started by Run outlives it, and a
// handler that calls runtime.Goexit (t.FailNow in a test) ends Run's
// goroutine with the connection closed: no handler runs after it.
//
// Run is websocket-client's WebSocketApp.run_forever, which returns True
// where Run returns an error.
func (a *App) Run(ctx context.Context) error {
	if err := a.check(); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rs := &runState{cancel: cancel}
	a.mu.Lock()
	if a.run != nil {
		a.mu.Unlock()
		return ErrRunning
	}
	a.run = rs
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.run = nil
		a.mu.Unlock()
	}()

	failures := 0
	reconnecting := false
	for {
		e := a.session(ctx, wctx, rs, reconnecting)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case e.closed == nil && e.err == nil:
			return nil // the closing handshake Close started
		case a.stopped(rs):
			// Close ends Run without a reconnect. An attempt it cut
			// short is not a failure; a connection that had failed on
			// its own still is.
			if e.opened && e.err != nil {
				return e.err
			}
			return nil
		}
		if !e.opened {
			a.reportError(e.err)
			if a.stopped(rs) {
				// Close from OnError: the attempt failed on its own,
				// and the retry policy is not asked.
				return e.err
			}
		}
		why := e.err
		if e.closed != nil {
			why = e.closed
		}
		if a.Reconnect == nil || !a.retry(why) {
			return endedBy(why)
		}
		if e.opened && e.up >= a.Reconnect.stable() {
			failures = 0
		}
		if a.Reconnect.MaxAttempts > 0 && failures >= a.Reconnect.MaxAttempts {
			return why
		}
		d := a.Reconnect.delay(failures, rand.Float64())
		failures++
		a.logf("%v - reconnect in %v", why, d)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-wctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil
		}
		reconnecting = true
	}
}

// endedBy is Run's result when why, a failure or the peer's close frame,
// ends it: nil for a close frame with a normal code.
func endedBy(why error) error {
	if ce := peerClose(why); ce != nil && (ce.Code == status.NormalClosure || ce.Code == status.NoStatusReceived) {
		return nil
	}
	return why
}

func (a *App) stopped(rs *runState) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return rs.stopped
}

// ending tells how one connection attempt ended.
type ending struct {
	opened bool               // the connection opened
	up     time.Duration      // how long it stayed open
	closed *status.CloseError // the peer's close frame, if it ended the connection
	err    error              // the failure, if any
}

// session makes one connection attempt and, if it opens, handles the
// connection until it ends. The ending has neither closed nor err for a
// closing handshake that Run started.
func (a *App) session(ctx, wctx context.Context, rs *runState, reconnecting bool) ending {
	var h http.Header
	if a.Header != nil {
		var err error
		h, err = a.header(wctx)
		if err != nil {
			return ending{err: err}
		}
	}
	c, err := a.dialConn(wctx, h)
	if err != nil {
		return ending{err: err}
	}
	opened := time.Now()
	s := newSession(c, a.closeTimeout())
	a.mu.Lock()
	rs.cur = s
	stop, code, reason := rs.stopped, rs.code, rs.reason
	a.mu.Unlock()

	// Cancelling ctx starts the closing handshake; the reader keeps
	// reading until the reply comes or CloseTimeout drops the connection.
	cancelled := make(chan struct{})
	unwatch := context.AfterFunc(ctx, func() {
		defer close(cancelled)
		s.close(context.Background(), status.NormalClosure, "")
	})
	if stop {
		s.close(context.Background(), code, reason)
	}

	// The pinger starts with the connection, before OnOpen, so that the
	// first ping goes out one interval after opening however long OnOpen
	// takes (a pong that arrives meanwhile is read after it).
	var wg sync.WaitGroup
	quit := make(chan struct{})
	if a.PingInterval > 0 {
		s.track = a.PingTimeout > 0
		wg.Go(func() { s.keepalive(a.PingInterval, a.PingTimeout, a.PingPayload, quit) })
	}
	// end closes the connection and stops what watches it. It is
	// deferred too, for a handler that calls runtime.Goexit (t.FailNow
	// in a test): Run's goroutine ends then, and leaves nothing running.
	ended := false
	end := func() {
		ended = true
		s.end()
		close(quit)
		wg.Wait()
		if !unwatch() {
			<-cancelled
		}
		a.mu.Lock()
		rs.cur = nil
		a.mu.Unlock()
	}
	defer func() {
		if !ended {
			end()
		}
	}()

	if reconnecting && a.OnReconnect != nil {
		a.call("OnReconnect", func() { a.OnReconnect(a) })
	} else if a.OnOpen != nil {
		a.call("OnOpen", func() { a.OnOpen(a) })
	}

	e := ending{opened: true}
	code, reason, e.err = a.read(context.WithoutCancel(ctx), s)
	e.up = time.Since(opened)
	if e.err == nil && !s.isClosing() && code != status.AbnormalClosure {
		e.closed = &status.CloseError{Code: code, Reason: reason}
	}

	end()

	if e.err != nil {
		a.reportError(e.err)
	}
	if a.OnClose != nil {
		a.call("OnClose", func() { a.OnClose(a, code, reason) })
	}
	return e
}

// read dispatches the connection's events to the handlers until the
// connection ends. It returns the peer's close code and reason, and the
// failure if the connection did not end with a closing handshake.
func (a *App) read(ctx context.Context, s *session) (status.Code, string, error) {
	for {
		s.beginRead()
		op, f, err := s.c.recv(ctx)
		s.endRead(err == nil && op == frame.OpPong)
		if err != nil {
			if ferr := s.failure(); ferr != nil {
				return status.AbnormalClosure, "", ferr
			}
			if ce := peerClose(err); ce != nil {
				return ce.Code, ce.Reason, nil
			}
			if s.isClosing() {
				// The peer did not answer our close frame in time, or
				// dropped the connection instead: we asked for the end.
				return status.AbnormalClosure, "", nil
			}
			return status.AbnormalClosure, "", err
		}
		switch op {
		case frame.OpClose:
			if ferr := s.failure(); ferr != nil {
				return status.AbnormalClosure, "", ferr // the answer to keepalive's close
			}
			code, reason, perr := status.ParseClose(f.Payload)
			if perr != nil {
				code, reason = status.NoStatusReceived, ""
			}
			return code, reason, nil
		case frame.OpPing:
			if a.OnPing != nil {
				a.call("OnPing", func() { a.OnPing(a, f.Payload) })
			}
		case frame.OpPong:
			if a.OnPong != nil {
				a.call("OnPong", func() { a.OnPong(a, f.Payload) })
			}
		case frame.OpContinuation:
			if a.OnData != nil {
				a.call("OnData", func() { a.OnData(a, op, f.Payload, f.Fin) })
			}
			if a.OnFragment != nil {
				a.call("OnFragment", func() { a.OnFragment(a, f.Payload, f.Fin) })
			}
		default:
			if a.OnData != nil {
				a.call("OnData", func() { a.OnData(a, op, f.Payload, f.Fin) })
			}
			if a.OnMessage != nil {
				a.call("OnMessage", func() { a.OnMessage(a, op, f.Payload) })
			}
		}
	}
}

func (a *App) header(ctx context.Context) (h http.Header, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &HandlerError{Handler: "Header", Value: v}
		}
	}()
	return a.Header(ctx)
}

func (a *App) closeTimeout() time.Duration {
	if a.CloseTimeout > 0 {
		return a.CloseTimeout
	}
	return conn.DefaultCloseTimeout
}

// call runs a handler; a panic goes to OnError as a *HandlerError.
func (a *App) call(name string, f func()) {
	defer func() {
		if v := recover(); v != nil {
			a.logf("error from callback %s: %v", name, v)
			a.reportError(&HandlerError{Handler: name, Value: v})
		}
	}()
	f()
}

func (a *App) reportError(err error) {
	if a.OnError == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			a.logf("error from callback OnError: %v", v)
		}
	}()
	a.OnError(a, err)
}

func (a *App) current() *session {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.run == nil {
		return nil
	}
	return a.run.cur
}

// Conn returns the open connection, or nil while none is open: before the
// first dial succeeds, while reconnecting, in OnClose, and once Run has
// returned. It is websocket-client's app.sock, and Conn() != nil its
// ready(): for what the opening handshake settled (Subprotocol,
// StatusCode, Header, Compression, Proto) and the addresses. The App's
// read loop receives from it, so a receiving call on it would take
// messages from the handlers; sending on it is safe, as with the App's own
// WriteMessage and WriteFrame, which find the connection of the moment.
func (a *App) Conn() *conn.Conn {
	if s := a.current(); s != nil {
		if ca, ok := s.c.(*connAdapter); ok {
			return ca.c
		}
	}
	return nil
}

// WriteMessage sends a message of type op on the open connection, in
// one frame. It returns [ErrNotConnected] when no connection is open.
// As [conn.Conn.WriteMessage], it may return once the frame is queued
// behind another goroutine's write; if that connection fails before the
// frame leaves, the frame is lost with it, and a reconnect does not
// resend it. Flush on [App.Conn] waits until what was queued is written.
func (a *App) WriteMessage(ctx context.Context, op frame.Opcode, p []byte) error {
	s := a.current()
	if s == nil {
		return ErrNotConnected
	}
	return s.c.send(ctx, op, p)
}

// WriteFrame sends one frame as built, for fragments and hand-made frames;
// see [App.WriteMessage].
func (a *App) WriteFrame(ctx context.Context, f frame.Frame) error {
	s := a.current()
	if s == nil {
		return ErrNotConnected
	}
	return s.c.sendFrame(ctx, f)
}

// Close ends Run with the closing handshake: the open connection sends a
// close frame with code and reason and waits for the peer's, which Run's
// read loop reads, then closes; Run calls OnClose with the peer's code
// and reason and returns nil (or the failure, when the connection had
// failed before the close frame went out). Close returns once the
// handshake is over: when the peer answered, or after CloseTimeout (or
// when ctx ends, if sooner), when the connection is dropped and OnClose
// gets status.AbnormalClosure. Data messages that arrive meanwhile may be
// dropped. Called while Run dials or waits to reconnect, or while a
// connection is ending, Close sends nothing and Run returns without
// connecting again. A second Close returns at once.
//
// Close returns nil whenever it stopped Run, even if the peer never
// answered. It returns [ErrNotConnected] when Run is not running, and the
// error of [status.AppendClose] for a code or reason that cannot be sent;
// in both cases it did nothing.
//
// Close is websocket-client's WebSocketApp.close.
func (a *App) Close(ctx context.Context, code status.Code, reason string) error {
	if _, err := status.AppendClose(nil, code, reason); err != nil {
		return err
	}
	a.mu.Lock()
	rs := a.run
	if rs == nil {
		a.mu.Unlock()
		return ErrNotConnected
	}
	if !rs.stopped {
		rs.stopped, rs.code, rs.reason = true, code, reason
	}
	s := rs.cur
	a.mu.Unlock()
	if s == nil || s.close(ctx, code, reason) == ErrNotConnected {
		// No connection, or one that is ending: Run sees rs.stopped
		// before it would reconnect; cancelling ends a dial or a wait.
		rs.cancel()
	}
	return nil
}
