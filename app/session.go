package app

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// connection is what an App needs from a connection; *conn.Conn provides
// it through connAdapter, tests through fakes.
type connection interface {
	// recv returns the next message (or fragment), ping, pong or close
	// frame, like conn.Conn.RecvDataFrame with ControlFrames set.
	recv(ctx context.Context) (frame.Opcode, frame.Frame, error)
	send(ctx context.Context, op frame.Opcode, p []byte) error
	sendFrame(ctx context.Context, f frame.Frame) error
	ping(ctx context.Context, p []byte) error
	// sendClose sends a close frame and returns without waiting for the
	// reply, which recv delivers.
	sendClose(ctx context.Context, code status.Code, reason string) error
	// abort drops the connection; a blocked recv returns.
	abort()
}

// dialFunc opens a connection; App.dial has this type.
type dialFunc = func(ctx context.Context, url string, h http.Header) (connection, error)

// session is one open connection of a running App.
type session struct {
	c            connection
	closeTimeout time.Duration
	pong         chan struct{} // a pong arrived; capacity 1

	mu      sync.Mutex
	closing bool        // a close frame was sent, or is being sent
	ended   bool        // the reader has stopped; nothing may start
	failed  error       // why keepalive failed the connection
	timer   *time.Timer // aborts the connection if the close reply is late
}

func newSession(c connection, closeTimeout time.Duration) *session {
	return &session{c: c, closeTimeout: closeTimeout, pong: make(chan struct{}, 1)}
}

// startClose sends a close frame, once, and arms the timer that drops the
// connection if the peer has not answered within closeTimeout.
func (s *session) startClose(ctx context.Context, code status.Code, reason string) error {
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
	s.timer = time.AfterFunc(s.closeTimeout, s.c.abort)
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, s.closeTimeout)
	defer cancel()
	err := s.c.sendClose(ctx, code, reason)
	if err != nil {
		s.c.abort()
	}
	return err
}

func (s *session) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// fail records why the connection failed and drops it.
func (s *session) fail(err error) {
	s.mu.Lock()
	if s.failed == nil && !s.ended {
		s.failed = err
	}
	s.mu.Unlock()
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
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.c.abort()
}

func (s *session) notePong() {
	select {
	case s.pong <- struct{}{}:
	default:
	}
}

// keepalive sends a ping every interval, the first one interval after it
// starts, and fails the connection with ErrPongTimeout when timeout is set
// and no pong arrives within it. It returns when quit is closed.
func (s *session) keepalive(interval, timeout time.Duration, payload []byte, quit <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		if s.isClosing() {
			return // no pings during the closing handshake
		}
		select { // a pong that answered an earlier ping does not count
		case <-s.pong:
		default:
		}
		limit := interval
		if timeout > 0 {
			limit = timeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		err := s.c.ping(ctx, payload)
		cancel()
		if err != nil || timeout <= 0 {
			// A ping that cannot be sent is not an error of its own
			// (websocket-client logs it); the reader sees a dead
			// connection.
			continue
		}
		w := time.NewTimer(timeout)
		select {
		case <-quit:
			w.Stop()
			return
		case <-s.pong:
			w.Stop()
		case <-w.C:
			s.fail(ErrPongTimeout)
			return
		}
	}
}
