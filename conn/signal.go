package conn

import "sync/atomic"

// A doneSignal is a channel closed once, made on first demand: a Conn that
// nobody waits on holds no channel (one costs 112 bytes of heap). The zero
// signal has not fired.
type doneSignal struct {
	p atomic.Pointer[signalChan]
}

type signalChan struct{ ch chan struct{} }

// firedEarly stands in for the channel of every doneSignal that fired before
// anyone waited on it. It is closed and never changes.
var firedEarly = func() *signalChan {
	s := &signalChan{ch: make(chan struct{})}
	close(s.ch)
	return s
}()

// wait returns a channel that is closed once s fires, making it if
// nobody asked before.
func (s *doneSignal) wait() <-chan struct{} {
	if p := s.p.Load(); p != nil {
		return p.ch
	}
	p := &signalChan{ch: make(chan struct{})}
	if s.p.CompareAndSwap(nil, p) {
		return p.ch
	}
	return s.p.Load().ch
}

// fire closes s's channel, if one was made, and makes the channels of
// later waits closed ones. It must be called at most once.
func (s *doneSignal) fire() {
	if p := s.p.Swap(firedEarly); p != nil {
		close(p.ch)
	}
}

// fired reports whether s fired.
func (s *doneSignal) fired() bool {
	p := s.p.Load()
	if p == nil {
		return false
	}
	select {
	case <-p.ch:
		return true
	default:
		return false
	}
}
