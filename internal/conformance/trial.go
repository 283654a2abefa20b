package conformance

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/utf8check"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/status"
)

// Connection states of a trial, as the fuzzer sees them.
const (
	stateOpen    = iota // data may flow
	stateClosing        // a close frame went one way
	stateClosed         // the TCP connection is gone
)

// closeHandshakeWait is how long the server waits for the client's reply
// to its close frame before it drops the connection (Autobahn's
// closeHandshakeTimeout), before scaling.
const closeHandshakeWait = time.Second

// trial is one run of one case against one connected client: the fuzzer's
// side of the connection. The case's script runs in its own goroutine and
// sends; a reader goroutine receives, records events and answers.
type trial struct {
	nc         net.Conn
	br         *bufio.Reader
	scale      float64
	maxMessage int64

	wmu      sync.Mutex // serialises writes
	midFrame bool       // a frame has been partly written (guarded by wmu)

	mu            sync.Mutex
	state         int
	received      []Event
	outcomes      []Outcome
	expect        ExpectClose
	suppressClose bool
	judgement     Judgement // preset behavior, for cases that grade themselves
	obs           Observation
	sentClose     bool
	gotClose      bool
	onMessage     func(ev Event) // replaces recording and finishWhenDone (9.x)
	post          func(j *Judgement, obs Observation)
	timers        []*time.Timer

	killed   atomic.Bool // the server dropped the connection (killAfter)
	vmu      sync.Mutex  // guards violated and ended; never held while blocking
	violated string      // the client's protocol violation, if any
	ended    string      // how the connection ended

	pmd     *pmdState // permessage-deflate, when agreed
	pmdNote string    // why permessage-deflate was not agreed

	events  chan struct{} // signalled after each recorded event
	closing chan struct{} // closed when the state leaves open
	done    chan struct{} // closed when the connection is gone
	cancel  sync.Once
	leave   sync.Once
}

func newTrial(nc net.Conn, br *bufio.Reader, scale float64, maxMessage int64) *trial {
	return &trial{
		nc:         nc,
		br:         br,
		scale:      scale,
		maxMessage: maxMessage,
		obs:        Observation{Open: true},
		events:     make(chan struct{}, 1),
		closing:    make(chan struct{}),
		done:       make(chan struct{}),
	}
}

// pmdState is a trial's permessage-deflate (RFC 7692): the agreement, the
// server's compressor and the inflater that checks the client's messages.
type pmdState struct {
	agreed   negotiation
	deflater *serverDeflater // used by one sender at a time: the script, then echoes
	inflater *clientInflater // used by the reader only
	stats    pmdStats        // updated by the reader only
}

// pmdStats counts the client's compressed messages.
type pmdStats struct {
	compressed     int
	wire, inflated int64
}

// newPMD sets up what n agreed; it fails for a window internal/deflate
// cannot inflate with.
func newPMD(n negotiation) (*pmdState, error) {
	f, err := newClientInflater(n.clientBits, !n.clientNoContext)
	if err != nil {
		return nil, err
	}
	return &pmdState{agreed: n, deflater: newServerDeflater(n.answer), inflater: f}, nil
}

// newReader buffers the client's side of a connection.
func newReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 64<<10) }

// scaled returns d multiplied by the trial's time scale.
func (t *trial) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * t.scale)
}

// expectOK sets the single accepted outcome (Autobahn's expected[OK]).
func (t *trial) expectOK(evs ...Event) {
	t.mu.Lock()
	t.outcomes = append(t.outcomes, Outcome{OK, evs})
	t.mu.Unlock()
}

// expectNonStrict adds an outcome graded NON-STRICT.
func (t *trial) expectNonStrict(evs ...Event) {
	t.mu.Lock()
	t.outcomes = append(t.outcomes, Outcome{NonStrict, evs})
	t.mu.Unlock()
}

// expectClose sets what the end of the connection must look like.
func (t *trial) expectClose(closedByMe bool, requireClean bool, codes ...status.Code) {
	t.mu.Lock()
	t.expect = ExpectClose{ClosedByMe: closedByMe, Codes: codes, RequireClean: requireClean}
	t.mu.Unlock()
}

// normalClose is the expectation of most echo cases: the server closes
// with 1000 once the echo arrived, and the handshake completes.
func (t *trial) normalClose() { t.expectClose(true, true, status.NormalClosure) }

// clientFails is the expectation of cases with bad input: the client fails
// the connection, with code, or drops TCP.
func (t *trial) clientFails(code status.Code) { t.expectClose(false, false, code) }

// record adds ev to the received events and, as Autobahn's finishWhenDone
// does, starts the closing handshake once the events equal every expected
// outcome. Called with t.mu held.
func (t *trial) record(ev Event) {
	t.received = append(t.received, ev)
	select {
	case t.events <- struct{}{}:
	default:
	}
	if len(t.outcomes) == 0 {
		return
	}
	for _, o := range t.outcomes {
		if !slices.EqualFunc(t.received, o.Events, Event.Equal) {
			return
		}
	}
	if t.expect.ClosedByMe && !t.suppressClose && len(t.expect.Codes) > 0 {
		t.sendCloseLocked(closePayload(int(t.expect.Codes[0]), ""))
	}
}

// recordTimeout records that the wait named tag ran out.
func (t *trial) recordTimeout(tag string) {
	t.mu.Lock()
	t.received = append(t.received, Timeout(tag))
	t.mu.Unlock()
}

// received count, for scripts that wait for events.
func (t *trial) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.received)
}

// isOpen reports whether no close frame has gone either way.
func (t *trial) isOpen() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state == stateOpen
}

// wait sleeps d (scaled) and reports whether the connection is still open
// afterwards (Autobahn's continueLater followed by a state check). It
// returns false early once the connection starts closing.
func (t *trial) wait(d time.Duration) bool { return t.waitFor(t.scaled(d)) }

// waitAtLeast is wait never scaled down, for a wait that a client ends
// early by closing: a client that fails at once costs nothing here, and a
// loaded machine cannot turn a slow one into a wrong verdict.
func (t *trial) waitAtLeast(d time.Duration) bool { return t.waitFor(max(d, t.scaled(d))) }

// waitFor sleeps d and reports whether the connection is still open, as
// wait does.
func (t *trial) waitFor(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return t.isOpen()
	case <-t.closing:
		return false
	}
}

// waitEvents waits until n events have been received, d (scaled) has
// passed or the connection starts closing, and reports whether it is still
// open.
func (t *trial) waitEvents(n int, d time.Duration) bool {
	tm := time.NewTimer(t.scaled(d))
	defer tm.Stop()
	for t.count() < n {
		select {
		case <-tm.C:
			return t.isOpen()
		case <-t.closing:
			return false
		case <-t.events:
		}
	}
	return t.isOpen()
}

// out describes a frame for send, with Autobahn's sendFrame options.
type out struct {
	op      frame.Opcode
	more    bool   // fin = false
	rsv     uint8  // the three reserved bits as a number: 4 = RSV1, 2 = RSV2, 1 = RSV3
	payload []byte // repeated to fill repeatTo bytes when that is set
	// repeatTo, when positive, is the payload length; payload is repeated
	// to fill it (Autobahn's payload_len).
	repeatTo int
	// chop, when positive, writes the frame's bytes in pieces of that size,
	// each its own write.
	chop int
}

// appendOut appends o's wire form, unmasked, to b.
func appendOut(b []byte, o out) []byte {
	n := len(o.payload)
	if o.repeatTo > 0 {
		n = o.repeatTo
	}
	h := frame.Header{
		Fin:    !o.more,
		Rsv1:   o.rsv&4 != 0,
		Rsv2:   o.rsv&2 != 0,
		Rsv3:   o.rsv&1 != 0,
		Opcode: o.op,
		Length: int64(n),
	}
	b, _ = h.AppendBinary(b) // every opcode here fits in four bits
	if o.repeatTo <= 0 {
		return append(b, o.payload...)
	}
	for left := n; left > 0; {
		k := min(left, len(o.payload))
		b = append(b, o.payload[:k]...)
		left -= k
	}
	return b
}

// send writes the frames os back to back.
func (t *trial) send(os ...out) {
	for _, o := range os {
		t.write(appendOut(nil, o), o.chop, false)
	}
}

// sendMessage sends p as one message of opcode op in fragments of at most
// size bytes (Autobahn's sendMessage with a fragment size).
func (t *trial) sendMessage(op frame.Opcode, p []byte, size int) {
	t.write(appendMessage(nil, op, p, size, 0), 0, false)
}

// sendCompressed sends p compressed as agreed (RFC 7692 §6), in fragments
// of at most size bytes of compressed data (0: one frame); RSV1 marks the
// first frame only.
func (t *trial) sendCompressed(op frame.Opcode, p []byte, size int) {
	t.write(appendMessage(nil, op, t.pmd.deflater.compress(p), size, 4), 0, false)
}

// appendMessage appends the frames of a message of opcode op carrying p,
// in fragments of at most size bytes (0: one frame), the first with the
// reserved bits rsv.
func appendMessage(b []byte, op frame.Opcode, p []byte, size int, rsv uint8) []byte {
	if size <= 0 {
		size = max(len(p), 1)
	}
	for first := true; first || len(p) > 0; first = false {
		k := min(size, len(p))
		o := out{op: frame.OpContinuation, more: k < len(p), payload: p[:k]}
		if first {
			o.op, o.rsv = op, rsv
		}
		b = appendOut(b, o)
		p = p[k:]
	}
	return b
}

// write writes b, in pieces of chop bytes when chop is positive. midFrame
// tells whether b leaves a frame unfinished. Write errors end nothing
// here: the reader sees the connection go.
func (t *trial) write(b []byte, chop int, midFrame bool) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if chop <= 0 {
		chop = len(b)
	}
	for len(b) > 0 {
		k := min(chop, len(b))
		if _, err := t.nc.Write(b[:k]); err != nil {
			return
		}
		b = b[k:]
	}
	t.midFrame = midFrame
}

// closePayload builds a close frame's payload: the code (none when code is
// negative) then reason, unchecked, so that cases can send bad ones.
func closePayload(code int, reason string) []byte {
	if code < 0 {
		return []byte(reason)
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(b, reason...)
}

// sendClose sends a close frame carrying p and starts the closing
// handshake (Autobahn's sendClose and sendCloseFrame).
func (t *trial) sendClose(p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sendCloseLocked(p)
}

// sendCloseLocked is sendClose with t.mu held.
func (t *trial) sendCloseLocked(p []byte) {
	if t.state == stateClosed || t.sentClose {
		return
	}
	t.sentClose = true
	if !t.gotClose {
		t.obs.ClosedByMe = true
		t.leaveOpen()
		// The wait is never scaled down: a client that answers costs
		// nothing here, and a loaded machine (the race detector, a 128 KiB
		// message being compressed) can take longer than a tenth of it.
		t.afterAtLeast(closeHandshakeWait, func() { t.drop("the client did not answer the close frame in time") })
	}
	t.write(appendOut(nil, out{op: frame.OpClose, payload: p}), 0, false)
}

// leaveOpen moves the state from open to closing. Called with t.mu held.
func (t *trial) leaveOpen() {
	if t.state == stateOpen {
		t.state = stateClosing
	}
	t.leave.Do(func() { close(t.closing) })
}

// after runs f once d (scaled) has passed, unless the connection is gone
// by then.
func (t *trial) after(d time.Duration, f func()) { t.afterReal(t.scaled(d), f) }

// afterAtLeast is after with d scaled up but never down.
func (t *trial) afterAtLeast(d time.Duration, f func()) { t.afterReal(max(d, t.scaled(d)), f) }

// afterReal runs f once d has passed, unless the connection is gone by
// then.
func (t *trial) afterReal(d time.Duration, f func()) {
	tm := time.AfterFunc(d, func() {
		select {
		case <-t.done:
		default:
			f()
		}
	})
	t.timers = append(t.timers, tm)
}

// closeAfter sends a close frame after d unless the connection closes
// first (Autobahn's closeAfter). The close frame is empty, as Autobahn's.
func (t *trial) closeAfter(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.after(d, func() { t.sendClose(nil) })
}

// killAfter drops the connection after d unless it is gone by then
// (Autobahn's killAfter). A client that has not closed by then has not
// reacted: the server counts as the endpoint that closed.
func (t *trial) killAfter(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.after(d, func() { t.drop(fmt.Sprintf("the server dropped the connection after waiting %v", t.scaled(d))) })
}

// drop ends the connection without further ado. If the client sent no
// close frame, the server counts as the endpoint that closed. drop takes
// no lock that a blocked write may hold, so it always ends a stuck case.
func (t *trial) drop(note string) {
	select {
	case <-t.done:
		return
	default:
	}
	t.killed.Store(true)
	t.note(note)
	abort(t.nc)
}

// violation ends the connection because the client broke the protocol.
func (t *trial) violation(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.vmu.Lock()
	if t.violated == "" {
		t.violated = msg
	}
	t.vmu.Unlock()
	abort(t.nc)
}

// finish marks the connection gone and stops the timers.
func (t *trial) finish() {
	t.cancel.Do(func() {
		t.mu.Lock()
		t.state = stateClosed
		t.leaveOpen()
		for _, tm := range t.timers {
			tm.Stop()
		}
		t.mu.Unlock()
		close(t.done)
		t.nc.Close()
	})
}

// readLoop receives the client's frames until the connection ends: it
// reassembles messages, checks every rule a server checks, answers pings
// and close frames, and records events.
func (t *trial) readLoop() {
	defer t.finish()
	var (
		msgOp      frame.Opcode // opcode of the open fragmented message; 0 when none
		msg, plain []byte
		valid      utf8check.Validator
		inText     bool
		compressed bool // the open message has RSV1 (permessage-deflate)
	)
	// RSV1 is permessage-deflate's, on the first frame of a data message
	// (RFC 7692 §6).
	policy := frame.Policy{Rsv1: t.pmd != nil}
	for {
		h, err := frame.ReadHeader(t.br)
		if err != nil {
			t.readEnded(err)
			return
		}
		switch {
		case t.pmd != nil && h.Rsv1 && h.Opcode.IsControl():
			t.violation("RSV1 on a %v frame", h.Opcode)
			return
		case t.pmd != nil && h.Rsv1 && h.Opcode == frame.OpContinuation:
			t.violation("RSV1 on a continuation frame")
			return
		}
		if err := h.Validate(policy); err != nil {
			t.violation("%v", err)
			return
		}
		if !h.Masked {
			t.violation("unmasked frame (%v)", h.Opcode)
			return
		}
		switch {
		case h.Opcode.IsControl():
			p, err := t.readPayload(nil, h, 0)
			if err != nil {
				t.readEnded(err)
				return
			}
			if !t.control(h.Opcode, p) {
				return
			}
			continue
		case h.Opcode == frame.OpContinuation && msgOp == 0:
			t.violation("continuation frame with no message to continue")
			return
		case h.Opcode != frame.OpContinuation && msgOp != 0:
			t.violation("new %v message inside a fragmented message", h.Opcode)
			return
		case h.Opcode != frame.OpContinuation:
			msgOp, msg, inText, compressed = h.Opcode, msg[:0], h.Opcode == frame.OpText, h.Rsv1
			valid.Reset()
		}
		start := len(msg)
		msg, err = t.readPayload(msg, h, t.maxMessage)
		if err != nil {
			t.readEnded(err)
			return
		}
		if inText && !compressed && !valid.Write(msg[start:]) {
			t.violation("text message is not valid UTF-8")
			return
		}
		if !h.Fin {
			continue
		}
		p := msg
		if compressed {
			st := &t.pmd.stats
			plain, err = t.pmd.inflater.inflate(plain[:0], msg, int(t.maxMessage))
			if err != nil {
				t.violation("compressed message %d: %v", st.compressed+1, err)
				return
			}
			st.compressed++
			st.wire += int64(len(msg))
			st.inflated += int64(len(plain))
			p = plain
			if inText && !valid.Write(p) {
				t.violation("text message is not valid UTF-8")
				return
			}
		}
		if inText && !valid.Complete() {
			t.violation("text message ends inside a UTF-8 sequence")
			return
		}
		ev := Message(slices.Clone(p), msgOp == frame.OpBinary)
		msgOp = 0
		t.deliver(ev)
	}
}

// errTooBig reports a message over the server's limit.
var errTooBig = errors.New("message over the fuzzing server's size limit")

// readPayload appends h's payload, unmasked, to b. The buffer grows as bytes
// arrive, never from the declared length; limit (when positive) caps the
// total of b.
func (t *trial) readPayload(b []byte, h frame.Header, limit int64) ([]byte, error) {
	if limit > 0 && int64(len(b))+h.Length > limit {
		return b, errTooBig
	}
	const chunk = 64 << 10
	pos := 0
	for left := h.Length; left > 0; {
		k := int(min(left, chunk))
		b = slices.Grow(b, k)
		n, err := io.ReadFull(t.br, b[len(b):len(b)+k])
		pos = mask.Apply(b[len(b):len(b)+n], h.Key, pos)
		b = b[:len(b)+n]
		left -= int64(n)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return b, err
		}
	}
	return b, nil
}

// readEnded notes why reading stopped.
func (t *trial) readEnded(err error) {
	_, stream := t.nc.(*streamConn)
	switch {
	case errors.Is(err, errTooBig):
		t.violation("%v", err)
	case stream && errors.Is(err, io.EOF):
		t.note("the client ended the stream (END_STREAM)")
	case stream && errors.Is(err, io.ErrUnexpectedEOF):
		t.note("the client ended the stream (END_STREAM) inside a frame")
	case stream && !errors.Is(err, net.ErrClosed) && !errors.As(err, new(*frame.Error)):
		t.note("the client reset the stream or lost the HTTP/2 connection: " + err.Error())
	case errors.Is(err, io.EOF):
		t.note("the client closed the TCP connection")
	case errors.Is(err, io.ErrUnexpectedEOF):
		t.note("the client closed the TCP connection inside a frame")
	case errors.Is(err, net.ErrClosed):
	case errors.As(err, new(*frame.Error)):
		t.violation("%v", err)
	default:
		t.note("read error: " + err.Error())
	}
}

// note records how the connection ended, unless something already did.
func (t *trial) note(msg string) {
	t.vmu.Lock()
	if t.ended == "" {
		t.ended = msg
	}
	t.vmu.Unlock()
}

// deliver hands a whole message to the case.
func (t *trial) deliver(ev Event) {
	t.mu.Lock()
	h := t.onMessage
	if h == nil {
		t.record(ev)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	h(ev)
}

// control handles a control frame from the client and reports whether
// reading goes on.
func (t *trial) control(op frame.Opcode, p []byte) bool {
	switch op {
	case frame.OpPing:
		t.mu.Lock()
		t.record(Event{Kind: KindPing, Payload: slices.Clone(p)})
		open := t.state == stateOpen
		t.mu.Unlock()
		if open {
			t.wmu.Lock()
			mid := t.midFrame
			t.wmu.Unlock()
			if !mid {
				t.write(appendOut(nil, out{op: frame.OpPong, payload: p}), 0, false)
			}
		}
		return true
	case frame.OpPong:
		t.mu.Lock()
		t.record(Pong(slices.Clone(p)))
		t.mu.Unlock()
		return true
	}
	// Close.
	if err := frame.ValidateClose(p, frame.Policy{}); err != nil {
		t.violation("close frame: %v", err)
		return false
	}
	code, reason, _ := status.ParseClose(p)
	t.mu.Lock()
	t.gotClose = true
	if code != status.NoStatusReceived {
		t.obs.RemoteCode = code
		t.obs.RemoteReason = reason
	}
	if t.sentClose {
		// The reply to our close: the handshake is complete; the server
		// closes TCP first, as RFC 6455 §7.1.1 asks.
		t.obs.WasClean = true
		t.leaveOpen()
		t.mu.Unlock()
		t.nc.Close()
		return false
	}
	t.leaveOpen()
	t.mu.Unlock()
	t.wmu.Lock()
	mid := t.midFrame
	t.wmu.Unlock()
	if mid {
		// A close frame cannot follow half a frame: just end.
		t.note("the client closed while a frame was half sent; no close reply")
		abort(t.nc)
		return false
	}
	reply := []byte(nil)
	if code != status.NoStatusReceived {
		reply = closePayload(int(code), "")
	}
	t.mu.Lock()
	t.sentClose = true
	t.obs.WasClean = true
	t.mu.Unlock()
	t.write(appendOut(nil, out{op: frame.OpClose, payload: reply}), 0, false)
	t.nc.Close()
	return false
}

// run executes script against the connection and returns the judgement
// once the connection is gone. limit caps the whole run.
func (t *trial) run(script func(*trial), limit time.Duration) (Judgement, []Event, Observation, []Outcome, ExpectClose) {
	go t.readLoop()
	scriptDone := make(chan struct{})
	go func() {
		defer close(scriptDone)
		script(t)
	}()
	guard := time.AfterFunc(limit, func() { t.drop(fmt.Sprintf("the case ran over its %v limit", limit)) })
	<-t.done
	guard.Stop()
	<-scriptDone
	t.mu.Lock()
	defer t.mu.Unlock()
	t.vmu.Lock()
	t.obs.Violation, t.obs.Note = t.violated, t.ended
	t.vmu.Unlock()
	if t.obs.Violation != "" {
		t.obs.WasClean = false
	}
	if t.killed.Load() && !t.gotClose {
		t.obs.ClosedByMe = true
	}
	j := Judge(t.judgement, t.outcomes, t.expect, t.received, t.obs)
	if t.post != nil {
		t.post(&j, t.obs)
	}
	return j, t.received, t.obs, t.outcomes, t.expect
}
