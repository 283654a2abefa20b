package app_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/framewire/ws/app"
	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/leakcheck"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// These tests run an App over the real conn package and real TCP sockets
// on 127.0.0.1. They order events with channels only; every wait is
// bounded by eventWait.

const eventWait = 10 * time.Second

// restartable is a WebSocket server on a fixed 127.0.0.1 port that a test
// can stop, as a server process is killed (the listener and every
// connection close, without a close frame), and start again on the same
// port.
type restartable struct {
	addr string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// startServer starts a server on a free port; the test's cleanup stops it.
func startServer(t *testing.T, h wstest.Handler) *restartable {
	s := &restartable{addr: "127.0.0.1:0"}
	s.start(t, h)
	t.Cleanup(s.stop)
	return s
}

func (s *restartable) url() string { return "ws://" + s.addr + "/" }

// start listens on the server's address and serves each connection with h.
func (s *restartable) start(t *testing.T, h wstest.Handler) {
	t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.addr, s.ln, s.conns = ln.Addr().String(), ln, make(map[net.Conn]struct{})
	s.mu.Unlock()
	s.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if s.ln != ln {
				s.mu.Unlock()
				nc.Close()
				return
			}
			s.conns[nc] = struct{}{}
			s.mu.Unlock()
			s.wg.Go(func() {
				wstest.Serve(nc, h)
				s.mu.Lock()
				delete(s.conns, nc)
				s.mu.Unlock()
			})
		}
	})
}

// stop closes the listener and every connection and waits for the
// handlers to return.
func (s *restartable) stop() {
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// appEvent is one handler call of an App.
type appEvent struct {
	kind string // "open", "reconnect", "message", "error", "close"
	text string // the message, or the close reason
	code status.Code
	err  error
}

// watch sets a's handlers to report every call on the returned channel.
func watch(a *app.App) <-chan appEvent {
	ch := make(chan appEvent, 1024)
	a.OnOpen = func(*app.App) { ch <- appEvent{kind: "open"} }
	a.OnReconnect = func(*app.App) { ch <- appEvent{kind: "reconnect"} }
	a.OnMessage = func(_ *app.App, _ frame.Opcode, p []byte) { ch <- appEvent{kind: "message", text: string(p)} }
	a.OnError = func(_ *app.App, err error) { ch <- appEvent{kind: "error", err: err} }
	a.OnClose = func(_ *app.App, code status.Code, reason string) {
		ch <- appEvent{kind: "close", code: code, text: reason}
	}
	return ch
}

// running is a call of App.Run in a goroutine of its own.
type running struct {
	done chan struct{} // closed when Run has returned
	err  error
}

// runApp runs a.Run in a goroutine; the test's cleanup cancels it and
// waits for it to return.
func runApp(t *testing.T, a *app.App) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = a.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(eventWait):
			t.Error("Run did not return after its context was cancelled")
		}
	})
	return r
}

// next returns the next event, failing the test if Run has returned and
// reported everything, or if no event comes within eventWait.
func next(t *testing.T, ch <-chan appEvent, r *running) appEvent {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-r.done:
		select {
		case e := <-ch:
			return e
		default:
		}
		t.Fatalf("Run returned %v while an event was expected", r.err)
	case <-time.After(eventWait):
		t.Fatal("no event within", eventWait)
	}
	panic("unreachable")
}

// expect fails the test unless the next event is of the given kind, and
// returns it.
func expect(t *testing.T, ch <-chan appEvent, r *running, kind string) appEvent {
	t.Helper()
	e := next(t, ch, r)
	if e.kind != kind {
		t.Fatalf("event %+v; want %s", e, kind)
	}
	return e
}

// ended waits for Run to return and fails the test unless it returned an
// error matching want (nil: nil; a *status.CloseError: one with its code)
// and every event has been checked.
func ended(t *testing.T, ch <-chan appEvent, r *running, want error) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(eventWait):
		t.Fatal("Run did not return within", eventWait)
	}
	if !endsWith(r.err, want) {
		t.Errorf("Run = %v; want %v", r.err, want)
	}
	select {
	case e := <-ch:
		t.Errorf("unexpected event %+v", e)
	default:
	}
}

// endsWith reports whether Run's result err matches want: nil for nil, the
// code for a *status.CloseError, errors.Is otherwise.
func endsWith(err, want error) bool {
	var wce, ce *status.CloseError
	if errors.As(want, &wce) {
		return errors.As(err, &ce) && ce.Code == wce.Code && ce.Reason == wce.Reason
	}
	return (want == nil) == (err == nil) && errors.Is(err, want)
}

// fastBackoff reconnects at once, again and again.
func fastBackoff() *app.Backoff {
	return &app.Backoff{Initial: time.Millisecond, Multiplier: 1}
}

// sendThenHold upgrades, sends msgs and reads until the client closes or
// the connection dies.
func sendThenHold(msgs ...string) wstest.Handler {
	return func(p *wstest.Peer) {
		if p.Upgrade(nil) != nil {
			return
		}
		for _, m := range msgs {
			if p.WriteMessage(frame.OpText, []byte(m)) != nil {
				return
			}
		}
		p.Discard()
	}
}

// A server killed mid-stream is a lost connection: OnError, OnClose(1006),
// attempts refused while the server is down, then a reconnect to the
// restarted server and the stream resumes.
func TestSocketServerKilledAndRestarted(t *testing.T) {
	leakcheck.Check(t)
	srv := startServer(t, sendThenHold("one", "two"))
	a := &app.App{URL: srv.url(), Reconnect: fastBackoff()}
	ch := watch(a)
	done := runApp(t, a)

	expect(t, ch, done, "open")
	for _, m := range []string{"one", "two"} {
		if e := expect(t, ch, done, "message"); e.text != m {
			t.Fatalf("message %q; want %q", e.text, m)
		}
	}
	srv.stop()
	e := expect(t, ch, done, "error")
	if !errors.Is(e.err, conn.ErrConnectionLost) {
		t.Errorf("error %v; want conn.ErrConnectionLost", e.err)
	}
	if e := expect(t, ch, done, "close"); e.code != status.AbnormalClosure {
		t.Errorf("OnClose(%v); want 1006", e.code)
	}
	// While the server is down, attempts are refused and retried.
	if e := expect(t, ch, done, "error"); !errors.Is(e.err, syscall.ECONNREFUSED) {
		t.Fatalf("attempt while the server is down: %v; want connection refused", e.err)
	}
	srv.start(t, sendThenHold("three"))
	for e := next(t, ch, done); e.kind != "reconnect"; e = next(t, ch, done) {
		if e.kind != "error" || !errors.Is(e.err, syscall.ECONNREFUSED) {
			t.Fatalf("event %+v before the reconnect; want only refused attempts", e)
		}
	}
	if e := expect(t, ch, done, "message"); e.text != "three" {
		t.Fatalf("message %q after the reconnect; want %q", e.text, "three")
	}
	if err := a.Close(context.Background(), status.NormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	if e := expect(t, ch, done, "close"); e.code != status.NormalClosure {
		t.Errorf("OnClose(%v); want 1000", e.code)
	}
	ended(t, ch, done, nil)
}

// A server that completes the handshake and closes TCP at once, with no
// close frame, fails the connection; without Reconnect Run reports it.
func TestSocketUpgradeThenDrop(t *testing.T) {
	leakcheck.Check(t)
	srv := startServer(t, func(p *wstest.Peer) { p.Upgrade(nil) })
	a := &app.App{URL: srv.url()}
	ch := watch(a)
	done := runApp(t, a)
	expect(t, ch, done, "open")
	if e := expect(t, ch, done, "error"); !errors.Is(e.err, conn.ErrConnectionLost) {
		t.Errorf("error %v; want conn.ErrConnectionLost", e.err)
	}
	if e := expect(t, ch, done, "close"); e.code != status.AbnormalClosure {
		t.Errorf("OnClose(%v); want 1006", e.code)
	}
	ended(t, ch, done, conn.ErrConnectionLost)
}

// closeThen returns a handler whose first connection sends "first" and
// closes with code, and whose later connections run later. It counts the
// connections in n.
func closeThen(n *atomic.Int32, code status.Code, later wstest.Handler) wstest.Handler {
	return func(p *wstest.Peer) {
		if n.Add(1) > 1 {
			later(p)
			return
		}
		if p.Upgrade(nil) != nil || p.WriteMessage(frame.OpText, []byte("first")) != nil {
			return
		}
		if p.WriteClose(code, "bye") == nil {
			p.ReadClose()
		}
	}
}

// The default policy over real connections: a server's close with a code
// of a server going down or overloaded is followed by a reconnect, any
// other close ends Run.
func TestSocketCloseCodePolicy(t *testing.T) {
	tests := []struct {
		code      status.Code
		reconnect bool
	}{
		{status.NormalClosure, false},
		{status.GoingAway, true},
		{status.PolicyViolation, false},
		{status.InternalError, true},
		{status.ServiceRestart, true},
		{status.TryAgainLater, true},
		{4000, false},
	}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			leakcheck.Check(t)
			var n atomic.Int32
			srv := startServer(t, closeThen(&n, tt.code, sendThenHold("second")))
			a := &app.App{URL: srv.url(), Reconnect: fastBackoff()}
			ch := watch(a)
			done := runApp(t, a)
			expect(t, ch, done, "open")
			expect(t, ch, done, "message")
			if e := expect(t, ch, done, "close"); e.code != tt.code || e.text != "bye" {
				t.Fatalf("OnClose(%v, %q); want %v, bye", e.code, e.text, tt.code)
			}
			if !tt.reconnect {
				var want error // a normal close ends Run cleanly
				if tt.code != status.NormalClosure {
					want = &status.CloseError{Code: tt.code, Reason: "bye"}
				}
				ended(t, ch, done, want)
				if got := n.Load(); got != 1 {
					t.Errorf("%d connections; want 1", got)
				}
				return
			}
			expect(t, ch, done, "reconnect") // no OnError: a close is no failure
			if e := expect(t, ch, done, "message"); e.text != "second" {
				t.Fatalf("message %q after the reconnect; want second", e.text)
			}
			a.Close(context.Background(), status.NormalClosure, "")
			expect(t, ch, done, "close")
			ended(t, ch, done, nil)
		})
	}
}

// A policy of the user's overrides the default: here it reconnects after
// the application's code 4000 and after nothing else, not even 1012.
func TestSocketCustomPolicy(t *testing.T) {
	leakcheck.Check(t)
	var n, m atomic.Int32
	srv := startServer(t, closeThen(&n, 4000, closeThen(&m, status.ServiceRestart, sendThenHold())))
	var seen []error
	b := fastBackoff()
	b.Retry = func(err error) bool {
		seen = append(seen, err)
		var ce *status.CloseError
		return errors.As(err, &ce) && ce.Code == 4000
	}
	a := &app.App{URL: srv.url(), Reconnect: b}
	ch := watch(a)
	done := runApp(t, a)
	expect(t, ch, done, "open")
	expect(t, ch, done, "message")
	if e := expect(t, ch, done, "close"); e.code != 4000 {
		t.Fatalf("OnClose(%v); want 4000", e.code)
	}
	expect(t, ch, done, "reconnect")
	expect(t, ch, done, "message")
	if e := expect(t, ch, done, "close"); e.code != status.ServiceRestart {
		t.Fatalf("OnClose(%v); want 1012", e.code)
	}
	ended(t, ch, done, &status.CloseError{Code: status.ServiceRestart, Reason: "bye"})
	if got := n.Load(); got != 2 {
		t.Errorf("%d connections; want 2", got)
	}
	var codes []status.Code
	for _, err := range seen {
		var ce *status.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("policy got %v; want *status.CloseError", err)
		}
		codes = append(codes, ce.Code)
	}
	if len(codes) != 2 || codes[0] != 4000 || codes[1] != status.ServiceRestart {
		t.Errorf("policy asked about %v; want [4000 1012]", codes)
	}
}

// Conn gives the open connection's handshake results, here the
// subprotocol the server chose, and is nil once Run has returned.
func TestSocketConn(t *testing.T) {
	srv := startServer(t, func(p *wstest.Peer) {
		c, err := p.Accept(&wstest.Upgrade{Subprotocol: "b"}, nil)
		if err != nil {
			return
		}
		c.Close(context.Background(), status.NormalClosure, "")
	})
	type seen struct {
		proto  string
		status int
	}
	got := make(chan seen, 1)
	a := &app.App{
		URL:    srv.url(),
		Dialer: &conn.Dialer{Subprotocols: []string{"a", "b"}},
		OnOpen: func(a *app.App) {
			c := a.Conn()
			if c == nil {
				got <- seen{}
				return
			}
			got <- seen{c.Subprotocol(), c.StatusCode()}
		},
	}
	if a.Conn() != nil {
		t.Error("Conn before Run is not nil")
	}
	ctx, cancel := context.WithTimeout(context.Background(), eventWait)
	defer cancel()
	if err := a.Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if s := <-got; s.proto != "b" || s.status != 101 {
		t.Errorf("in OnOpen, Conn gave subprotocol %q and status %d; want b and 101", s.proto, s.status)
	}
	if a.Conn() != nil {
		t.Error("Conn after Run is not nil")
	}
}
