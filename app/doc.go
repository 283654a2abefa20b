// Package app is an event-driven WebSocket client: an [App] connects,
// calls handlers as events arrive, keeps the connection alive with pings
// and reconnects with backoff. It is websocket-client's WebSocketApp,
// built on the conn package.
//
// # Lifecycle
//
// [App.Run] connects to App.URL and, when the opening handshake succeeds
// (RFC 6455 §4), calls OnOpen (OnReconnect instead, if it is set, when an
// earlier attempt was made: a connection lost, or a first attempt that
// failed). It then reads until the connection ends, calling OnData
// and OnMessage for each message (or OnData and OnFragment for each
// continuation fragment when OnFragment is set), OnPing and OnPong for
// control frames (§5.5.2, §5.5.3; pings are answered before OnPing runs).
// A connection ends in one of three ways:
//
//   - a closing handshake (§7.1.2): the peer's close frame, or the answer
//     to [App.Close] or to the cancellation of Run's context. OnClose gets
//     the peer's code and reason. This is not an error;
//   - a failure: a protocol violation (the connection is failed with the
//     code of §7.1.7), a lost connection ([conn.ErrConnectionLost]: the
//     server was killed, or dropped TCP without a close frame), or a
//     missing pong ([ErrPongTimeout]). OnError gets the error, then
//     OnClose gets status.AbnormalClosure (1006);
//   - a failed attempt (address, network, TLS, proxy or handshake error):
//     OnError only, since nothing opened.
//
// OnClose runs exactly once for every connection that opened. Run returns
// nil after a clean end ([App.Close], or a peer's close with 1000 or an
// empty close frame), ctx.Err() when its context ended, and the typed
// failure otherwise: a *[status.CloseError] for any other close code, the
// connection's failure or the dial error.
//
// [App.Close] and the end of Run's context close through
// [conn.Conn.Close], the one closing handshake: the close frame goes out,
// Run's read loop reads the peer's answer, and a peer that does not answer
// within CloseTimeout is dropped.
//
// # Reconnecting
//
// With App.Reconnect set, Run asks the [Backoff]'s policy, Retry, whether
// to connect again after a peer's close (a *[status.CloseError]), a
// failure or a failed attempt, and if so waits the Backoff delay first.
// The default policy, [Retryable], reconnects after every failure, after
// an attempt that may succeed later (refused, timed out, answered with
// HTTP 408, 429, 500, 502, 503 or 504) and after a close with 1001, 1011,
// 1012, 1013 or 1014, the codes of a server that is going away,
// restarting or overloaded; not after any other close, nor after an
// attempt that would fail the same way again (a bad URL, an unknown host,
// an untrusted certificate, HTTP 401 or 404). A policy of one's own can
// wrap Retryable. [App.Close] and the end of Run's context are never
// followed by a reconnect.
//
// A connection that stays open for Backoff.Max resets the backoff; one
// that ends sooner counts as a failed attempt, so that a server that
// accepts and at once closes or drops is retried with growing delays and
// MaxAttempts ends Run.
//
// # Keepalive
//
// With PingInterval set, the first ping goes out one interval after the
// connection opens (the pinger starts before OnOpen runs, so a slow
// OnOpen does not delay it), then one every interval. With PingTimeout
// set too (and less than PingInterval), a connection that gets no pong
// within PingTimeout of a ping fails with [ErrPongTimeout] (the wait is
// timed from the sending of the first ping still unanswered: later pings
// do not restart it, and a pong answering any of them ends it): it sends a
// close frame with 1011 (status.InternalError) and the reason "ping/pong
// timed out" (RFC 6455 §7.1.7), waits at most a second for the answer
// (or CloseTimeout, if shorter), then closes. Once a closing handshake
// has begun ([App.Close], or Run's ctx ending), no ping goes out and a
// missing pong fails nothing: CloseTimeout alone bounds the handshake.
// Run checks these settings before connecting and returns an error
// matching [ErrInvalid] that names the setting.
//
// A pong counts when it has arrived, not when it has been read: frames
// wait on the socket while a handler runs, so a slow handler must not
// turn a pong that is already there into a timeout. When PingTimeout
// passes with no pong read, the pong is overdue, and the connection
// fails only once the read loop has spent a short grace (100ms, handlers
// excluded) waiting on the socket for frames since, without finding a
// pong. A read loop that was already waiting when the timeout passed
// fails at once; one that was running a handler first reads what arrived
// meanwhile, and any pong among it settles the matter. Pings keep going
// out on schedule while a verdict is pending.
//
// # Concurrency
//
// Handlers run one at a time on the goroutine that called Run.
// WriteMessage, WriteFrame and Close may be called from any
// goroutine, handlers included. A handler that panics is reported to
// OnError as a [*HandlerError] and the connection carries on. Run starts
// goroutines only for the pinger and for the closing handshake when its
// context ends, and none of them outlives it. Close waits for the closing
// handshake, so Close from a handler holds up the read loop until the
// peer answers or CloseTimeout passes. There is no process-wide state: two Apps share nothing.
//
// # Differences from websocket-client
//
// A graceful close by the server reaches OnClose with its code and reason
// and is not an error, as in websocket-client 1.8.0 (not 1.9.0). But
// where websocket-client never reconnects after a close frame, Run with
// Reconnect set reconnects after 1001 and 1011-1014, so that a feed
// survives a server's restart. Beyond that: the first ping
// is sent one interval after opening, not two; reconnecting uses
// exponential backoff with jitter and a cap instead of a fixed delay;
// a pong that arrived while a handler ran is not a timeout
// (websocket-client reports one, issue #327); errors of reconnection
// attempts reach OnError too; OnClose is called
// for every connection that opened (websocket-client calls on_close once,
// at the very end, also when nothing opened) and gets 1006 instead of
// None when no close frame arrived; OnData gets the message's opcode and
// the real fin bit; cancelling the context closes with a closing
// handshake and Run returns ctx.Err(), not a failure; Run returns an error
// where run_forever returns a bool; a connection shorter than Backoff.Max
// counts as a failed attempt.
package app
