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
// durable.
type fakeConn struct {
	in   chan event
	out  chan sent
	dead chan struct{}
	once sync.Once

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
		echoClose: true,
		autoPong:  true,
	}
}

// errLost is what conn.Conn's receiving calls return when the peer
// drops TCP without a close frame: ErrConnectionLost wrapped with a
// *status.CloseError of code 1006 and the read error.
var errLost = fmt.Errorf("%w: %w: %w", conn.ErrConnectionLost, &status.CloseError{Code: status.AbnormalClosure}, io.EOF)

func (c *fakeConn) recv(ctx context.Context) (frame.Opcode, frame.Frame, error) {
	select {
	case e := <-c.in:
		return e.op, e.f, e.err
	case <-c.dead:
		return 0, frame.Frame{}, conn.ErrClosed
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

func (c *fakeConn) sendClose(ctx context.Context, code status.Code, reason string) error {
	p, _ := status.AppendClose(nil, code, reason)
	if err := c.record(sent{op: frame.OpClose, payload: p, code: code, reason: reason}); err != nil {
		return err
	}
	if c.echoClose {
		c.deliver(frame.OpClose, p)
	}
	return nil
}

func (c *fakeConn) abort() {
	c.once.Do(func() {
		if c.onAbort != nil {
			c.onAbort()
		}
		close(c.dead)
	})
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
