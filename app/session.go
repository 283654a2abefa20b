package app

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// connection is what an App needs from a connection; *conn.Conn provides
// it through connAdapter, tests through fakes.
type connection interface {
	// recv returns the next message (or fragment), ping, pong or close
	// frame, like conn.Conn.ReadDataFrame with ControlFrames set.
	recv(ctx context.Context) (frame.Opcode, frame.Frame, error)
	send(ctx context.Context, op frame.Opcode, p []byte) error
	sendFrame(ctx context.Context, f frame.Frame) error
	ping(ctx context.Context, p []byte) error
	// close is the closing handshake of conn.Conn.Close: it sends a close
	// frame, waits until ctx ends for the peer's, which a concurrent recv
	// reads (otherwise close reads it, dropping data frames), then closes
	// the connection; a later recv returns the peer's close as an error.
	close(ctx context.Context, code status.Code, reason string) error
	// abort drops the connection at once; a blocked recv returns.
	abort()
}

// dialFunc opens a connection; App.dial has this type.
type dialFunc = func(ctx context.Context, url string, h http.Header) (connection, error)

// readGrace is how long the read loop must have spent waiting on the
// socket, once a pong is overdue, before the connection fails: ample time
// to read whatever had already arrived. Time spent in handlers does not
// count.
const readGrace = 100 * time.Millisecond

// session is one open connection of a running App.
type session struct {
	c            connection
	closeTimeout time.Duration

	// track makes the read loop report its reads (beginRead, endRead) so
	// that keepalive can tell a missing pong from one not read yet. It is
	// set before the read loop starts and never changes.
	track   bool
	entered chan struct{} // the read loop started a read while a pong is overdue; capacity 1

	mu      sync.Mutex
	closing bool  // the closing handshake has started
	ended   bool  // the reader has stopped; nothing may start
	failed  error // why keepalive failed the connection

	awaiting  bool          // a ping went out and no pong has been read since
	overdue   bool          // PingTimeout passed while awaiting
	inRead    bool          // the read loop is in recv
	readSince time.Time     // when that recv started
	waited    time.Duration // time spent in recv calls that ended since the pong became overdue
}

func newSession(c connection, closeTimeout time.Duration) *session {
	return &session{c: c, closeTimeout: closeTimeout, entered: make(chan struct{}, 1)}
}

// close performs the closing handshake, once: the connection sends a close
// frame and waits for the peer's, which the read loop reads if it is
// receiving, within closeTimeout (and ctx), then closes. A peer that does
// not answer in time is dropped, and the read loop's recv returns.
func (s *session) close(ctx context.Context, code status.Code, reason string) error {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return ErrNotConnected
	}
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, s.closeTimeout)
	defer cancel()
	// A late or failed answer is reported by the read loop: OnClose gets
	// status.AbnormalClosure.
	s.c.close(ctx, code, reason)
	return nil
}

func (s *session) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// failCloseTimeout bounds the close frame with which keepalive fails a
// connection and the wait for the peer's answer: the peer has been silent
// for PingTimeout already, so the wait is short.
const failCloseTimeout = time.Second

// fail records why the connection failed and ends it as RFC 6455 §7.1.7
// has an endpoint fail a connection: it sends a close frame with 1011 and
// reason, unless the closing handshake has begun, and closes the
// connection once the peer answered or within failCloseTimeout (or
// closeTimeout, if shorter).
func (s *session) fail(err error, reason string) {
	s.mu.Lock()
	if s.failed == nil && !s.ended {
		s.failed = err
	}
	// closing stays unset: the read loop, which may have returned with
	// the peer's close or a loss just before, must not take this close
	// for one asked for (App.Close), which ends Run with no error.
	send := !s.closing && !s.ended
	s.mu.Unlock()
	if send {
		ctx, cancel := context.WithTimeout(context.Background(), min(failCloseTimeout, s.closeTimeout))
		s.c.close(ctx, status.InternalError, reason)
		cancel()
	}
	s.c.abort()
}

func (s *session) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// end marks the session over and releases the connection.
func (s *session) end() {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	s.c.abort()
}

// beginRead tells keepalive that the read loop is about to wait for the
// next frame.
func (s *session) beginRead() {
	if !s.track {
		return
	}
	s.mu.Lock()
	s.inRead, s.readSince = true, time.Now()
	overdue := s.overdue
	s.mu.Unlock()
	if overdue {
		select {
		case s.entered <- struct{}{}:
		default:
		}
	}
}

// endRead tells keepalive that recv returned, and whether with a pong.
func (s *session) endRead(pong bool) {
	if !s.track {
		return
	}
	s.mu.Lock()
	s.inRead = false
	if s.overdue {
		s.waited += time.Since(s.readSince)
	}
	if pong {
		s.awaiting, s.overdue = false, false
	}
	s.mu.Unlock()
}

// keepalive sends a ping every interval, the first one interval after it
// starts. When timeout is set and no pong has been read within timeout of
// a ping, the pong is overdue, but the connection fails with
// ErrPongTimeout only once the read loop has spent readGrace waiting on
// the socket (a pong that arrived while a handler ran is read first and
// counts). It returns when quit is closed or the connection failed.
func (s *session) keepalive(interval, timeout time.Duration, payload []byte, quit <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	check := time.NewTimer(time.Hour)
	check.Stop()
	defer check.Stop()
	for {
		fired := false
		select {
		case <-quit:
			return
		case <-tick.C:
			if s.isClosing() {
				return // no pings during the closing handshake
			}
			if s.ping(interval, timeout, payload) && timeout > 0 {
				check.Reset(timeout)
			}
			continue
		case <-check.C:
			fired = true
		case <-s.entered:
		}
		wait, failed := s.verdict(fired)
		switch {
		case failed:
			return
		case wait > 0:
			check.Reset(wait)
		}
	}
}

// ping sends a ping. It reports whether a new wait for a pong started:
// not when the ping could not be sent because the connection ended, nor
// while an earlier ping still awaits its pong, whose wait keeps its end
// (a pong answering either settles it; restarting the wait at each ping
// would put it off for ever when pings cannot be written and take
// PingTimeout each, over half the interval), nor when a pong is already
// overdue.
func (s *session) ping(interval, timeout time.Duration, payload []byte) bool {
	s.mu.Lock()
	fresh := !s.overdue && !s.awaiting
	if fresh && s.track {
		// Set before sending, so that even the quickest pong clears it.
		s.awaiting = true
	}
	s.mu.Unlock()
	limit := interval
	if timeout > 0 {
		limit = timeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	err := s.c.ping(ctx, payload)
	cancel()
	if err != nil && errors.Is(err, conn.ErrClosed) {
		// A ping that cannot be sent because the connection ended is
		// not an error of its own (websocket-client logs it): the
		// reader sees the end.
		s.mu.Lock()
		if !s.overdue {
			s.awaiting = false
		}
		s.mu.Unlock()
		return false
	}
	// A ping that could not be written in time, on an open connection,
	// waits for its pong all the same: a peer that takes no bytes is as
	// dead as one that does not answer (websocket-client too times the
	// pong from the attempt to send).
	return fresh
}

// verdict decides about a missing pong; fired says that the pong timeout
// has just passed. It fails the connection once the pong is overdue and
// the read loop has spent readGrace in recv since, counting the recv in
// progress from its start. Otherwise it returns how long to wait before
// deciding again, or 0 to wait for the read loop to start a read (it is
// running a handler, or nothing is overdue). Once the closing handshake
// has begun it decides nothing, and reports failed so that keepalive
// ends.
func (s *session) verdict(fired bool) (wait time.Duration, failed bool) {
	s.mu.Lock()
	if s.closing {
		// The closing handshake began (App.Close, or Run's ctx ended):
		// CloseTimeout bounds it, and a missing pong no longer fails the
		// connection.
		s.mu.Unlock()
		return 0, true
	}
	if fired && s.awaiting && !s.overdue {
		s.overdue, s.waited = true, 0
	}
	if !s.overdue {
		s.mu.Unlock()
		return 0, false
	}
	used := s.waited
	if s.inRead {
		used += time.Since(s.readSince)
	}
	inRead := s.inRead
	s.mu.Unlock()
	switch {
	case used >= readGrace:
		s.fail(ErrPongTimeout, "ping/pong timed out")
		return 0, true
	case inRead:
		return readGrace - used, false
	}
	return 0, false
}
