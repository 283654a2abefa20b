package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// event is what a fake connection's recv returns.
type event struct {
	op  frame.Opcode
	f   frame.Frame
	err error
}

// sent is a frame the App sent through a fake connection.
type sent struct {
	op      frame.Opcode
	payload []byte
	code    status.Code // for close frames
	reason  string
	at      time.Time
}

// fakeConn is an in-memory connection whose peer is the test. Everything
// it uses is created inside the synctest bubble, so blocking on it is
// durable. Like conn.Conn, one reader at a time holds its read lock, and
// close waits for a concurrent reader to read the peer's answer.
type fakeConn struct {
	in    chan event
	out   chan sent
	dead  chan struct{}
	rlock chan struct{} // capacity 1: held by recv, or by close reading the answer
	once  sync.Once     // the first abort

	mu        sync.Mutex
	ended     bool
	rerr      error // what recv returns once dead is closed
	closeSent bool

	// peer behaviour
	echoClose bool   // answer a close frame with the same close
	autoPong  bool   // answer a ping with a pong
	onAbort   func() // called by the first abort, before the connection dies
}

func newFakeConn() *fakeConn {
	return &fakeConn{
		in:        make(chan event, 64),
		out:       make(chan sent, 64),
		dead:      make(chan struct{}),
		rlock:     make(chan struct{}, 1),
		echoClose: true,
		autoPong:  true,
	}
}

// errLost is what conn.Conn's receiving calls return when the peer
// drops TCP without a close frame: ErrConnectionLost wrapped with a
// *status.CloseError of code 1006 and the read error.
var errLost = fmt.Errorf("%w: %w: %w", conn.ErrConnectionLost, &status.CloseError{Code: status.AbnormalClosure}, io.EOF)

// end closes the connection; later calls of recv return err.
func (c *fakeConn) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ended {
		c.ended, c.rerr = true, err
		close(c.dead)
	}
}

func (c *fakeConn) readErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rerr
}

// take ends the connection as conn.Conn does after e: a peer's close
// frame or a failure.
func (c *fakeConn) take(e event) {
	switch {
	case e.err != nil:
		c.end(fmt.Errorf("%w: %w", conn.ErrClosed, e.err))
	case e.op == frame.OpClose:
		code, reason, _ := status.ParseClose(e.f.Payload)
		c.end(fmt.Errorf("%w: %w", conn.ErrClosed, &status.CloseError{Code: code, Reason: reason}))
	}
}

func (c *fakeConn) recv(ctx context.Context) (frame.Opcode, frame.Frame, error) {
	select {
	case c.rlock <- struct{}{}:
	case <-ctx.Done():
		return 0, frame.Frame{}, ctx.Err()
	}
	defer func() { <-c.rlock }()
	select {
	case <-c.dead:
		return 0, frame.Frame{}, c.readErr()
	default:
	}
	select {
	case e := <-c.in:
		c.take(e)
		return e.op, e.f, e.err
	case <-c.dead:
		return 0, frame.Frame{}, c.readErr()
	case <-ctx.Done():
		return 0, frame.Frame{}, ctx.Err()
	}
}

func (c *fakeConn) record(s sent) error {
	select {
	case <-c.dead:
		return conn.ErrClosed
	default:
	}
	s.at = time.Now()
	s.payload = append([]byte(nil), s.payload...)
	c.out <- s
	return nil
}

func (c *fakeConn) send(ctx context.Context, op frame.Opcode, p []byte) error {
	return c.record(sent{op: op, payload: p})
}

func (c *fakeConn) sendFrame(ctx context.Context, f frame.Frame) error {
	return c.record(sent{op: f.Opcode, payload: f.Payload})
}

func (c *fakeConn) ping(ctx context.Context, p []byte) error {
	if err := c.record(sent{op: frame.OpPing, payload: p}); err != nil {
		return err
	}
	if c.autoPong {
		c.deliver(frame.OpPong, p)
	}
	return nil
}

// close is conn.Conn.Close's closing handshake.
func (c *fakeConn) close(ctx context.Context, code status.Code, reason string) error {
	if err := c.readErr(); err != nil {
		return err
	}
	c.mu.Lock()
	sentBefore := c.closeSent
	c.closeSent = true
	c.mu.Unlock()
	if !sentBefore {
		p, _ := status.AppendClose(nil, code, reason)
		if err := c.record(sent{op: frame.OpClose, payload: p, code: code, reason: reason}); err != nil {
			return err
		}
		if c.echoClose {
			c.deliver(frame.OpClose, p)
		}
	}
	select {
	case c.rlock <- struct{}{}:
		defer func() { <-c.rlock }()
	case <-c.dead:
		return nil // a concurrent recv read the answer
	case <-ctx.Done():
		c.end(conn.ErrClosed)
		return ctx.Err()
	}
	for { // no reader: read the answer here, dropping data
		select {
		case e := <-c.in:
			c.take(e)
			if e.err != nil || e.op == frame.OpClose {
				return e.err
			}
		case <-c.dead:
			return nil
		case <-ctx.Done():
			c.end(conn.ErrClosed)
			return ctx.Err()
		}
	}
}

func (c *fakeConn) abort() {
	c.once.Do(func() {
		if c.onAbort != nil {
			c.onAbort()
		}
	})
	c.end(conn.ErrClosed)
}

// deliver makes recv return a frame from the peer.
func (c *fakeConn) deliver(op frame.Opcode, p []byte) {
	c.in <- event{op: op, f: frame.Frame{Header: frame.Header{Fin: true, Opcode: op, Length: int64(len(p))}, Payload: p}}
}

// deliverFrame makes recv return f as a frame of opcode op.
func (c *fakeConn) deliverFrame(op frame.Opcode, f frame.Frame) {
	c.in <- event{op: op, f: f}
}

// deliverClose makes recv return the peer's close frame.
func (c *fakeConn) deliverClose(code status.Code, reason string) {
	p, _ := status.AppendClose(nil, code, reason)
	c.deliver(frame.OpClose, p)
}

// drop makes recv fail as when the network connection is lost.
func (c *fakeConn) drop() { c.in <- event{err: errLost} }

// fakeNet hands out fake connections, or dial errors, in order.
type fakeNet struct {
	mu      sync.Mutex
	conns   chan *fakeConn
	dials   []time.Time
	headers []http.Header
	fail    error // returned when set and no connection is queued
}

func newFakeNet() *fakeNet { return &fakeNet{conns: make(chan *fakeConn, 16)} }

func (n *fakeNet) dial(ctx context.Context, url string, h http.Header) (connection, error) {
	n.mu.Lock()
	n.dials = append(n.dials, time.Now())
	n.headers = append(n.headers, h)
	n.mu.Unlock()
	select {
	case c := <-n.conns:
		return c, nil
	default:
	}
	if n.fail != nil {
		return nil, n.fail
	}
	select {
	case c := <-n.conns:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (n *fakeNet) add() *fakeConn {
	c := newFakeConn()
	n.conns <- c
	return c
}

func (n *fakeNet) dialTimes() []time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]time.Time(nil), n.dials...)
}
