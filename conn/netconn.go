package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// ErrUnexpectedMessage reports a message of another type than the one a
// [NetConn] carries. The connection was failed with close code 1003
// (UnsupportedData).
var ErrUnexpectedMessage = errors.New("conn: message of an unexpected type")

// NetConn returns a net.Conn whose bytes are the Conn's messages of type op
// (text or binary, usually binary): coder's NetConn. Read returns the bytes
// of the messages received as one stream, across their boundaries; a
// message of another type fails the connection with 1003 and Read returns
// [ErrUnexpectedMessage]. Write sends its bytes as messages of up to
// 32 KiB less a frame header, one unless there are more (its ReadFrom,
// which io.Copy uses, reads in pieces of that size), and returns once
// they are written: it never leaves them in the send queue, so that its
// deadline bounds them (see [Conn.WriteFrame]). Writes are serialised: the
// bytes of one never interleave with another's, as on a socket. With
// frame.OpText, each message is checked as UTF-8 on its own, so none ends
// inside a character: the first bytes of a character that a Write ends in
// are held (and counted as written) until the next Write completes it,
// and a Close with such bytes held returns an error matching
// [ErrInvalidText]. A Write or Read of no bytes does nothing. Close
// performs the closing handshake with code 1000 within
// [DefaultCloseTimeout], dropping what the peer sends meanwhile; the
// net.Conn's CloseWrite method sends the close frame alone and lets Read
// return what the peer sent before it read that frame (WebSocket has no
// half-close: see CloseWrite). Once the peer has closed
// with 1000 (or 1001, or no code), Read returns io.EOF; once Close was
// called, Read and Write return an error matching net.ErrClosed, as a
// socket's do.
//
// Deadlines stop the calls in progress and later ones, as net.Conn's do:
// each Read and Write runs within a context that ends at the deadline
// (SetReadDeadline, SetWriteDeadline), which a later call can move. A call
// so stopped returns an error that is a net.Error whose Timeout method
// reports true and that matches os.ErrDeadlineExceeded; a stopped Read
// loses nothing, the next one continues the stream. A stopped Write
// returns the number of bytes of p whose messages were sent or began to
// leave; a message that began is finished before any other frame, in the
// background, as a socket sends what a stopped write left in its buffer
// (bounded by [Config.WriteTimeout], or, with it off, by the Conn's end;
// see [TimeoutError]), so the stream stays whole, every byte counted is
// sent and the connection stays usable; meanwhile a later Write waits
// for it, within its own deadline. That is, unless the Write also carried frames
// that other goroutines queued on the same Conn, which a stop loses: the
// connection then fails (see the package doc, Concurrency). Over TLS a
// Write stopped after it began closes the connection, as every write
// timeout of crypto/tls does (see the package doc, Cancellation and
// timeouts): it returns an error matching [ErrClosed], not a timeout,
// and so do later calls; the bytes it counted were sent. [Config.WriteTimeout] bounds every
// Write too, deadline or not (a net.Conn deadline is no deadline of the
// Write's context): a peer that takes nothing for that long fails the
// connection with [ErrWriteTimeout], even before a later write deadline.
// When ctx ends, every call returns a [*TimeoutError], and so do all
// later ones.
//
// The Conn must not be used for receiving while the net.Conn is: its reads
// consume the messages. Sending on both is fine. Each call registers the
// net.Conn with the Conn until the Conn ends: call it once per Conn. LocalAddr and RemoteAddr
// are the transport's, or an address of network "websocket" when it has
// none.
func NetConn(ctx context.Context, c *Conn, op frame.Opcode) net.Conn {
	n := &netConn{c: c, op: op, rd: deadline{parent: ctx}, wd: deadline{parent: ctx}}
	// The deadlines' contexts are ctx's children until they are cancelled:
	// the Conn's end, however it comes, cancels them, so that a
	// long-lived ctx keeps none of a NetConn that was never closed.
	c.onEnd(func() {
		n.rd.stop()
		n.wd.stop()
	})
	return n
}

// netConn is the net.Conn of NetConn.
type netConn struct {
	c  *Conn
	op frame.Opcode

	rmu sync.Mutex     // serialises Reads
	r   *MessageReader // the message being read, or nil
	eof error          // io.EOF after the peer's normal close

	wmu   ctxMutex              // serialises Writes, so that their bytes never interleave
	tail  [utf8.UTFMax - 1]byte // text: the first bytes of a character a Write ended in
	ntail int
	// wclosed: CloseWrite sent the close frame. Under wmu.
	wclosed bool

	rd, wd    deadline
	closed    atomic.Bool // Close was called
	closeOnce sync.Once
}

func (n *netConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil // as a socket's Read: nothing is waited for
	}
	n.rmu.Lock()
	defer n.rmu.Unlock()
	ctx := n.rd.context()
	for {
		if n.closed.Load() {
			return 0, ErrClosed // as a socket's, whatever the peer did before
		}
		if n.eof != nil {
			return 0, n.eof
		}
		if n.r == nil {
			_, r, err := n.c.nextReader(ctx, n.op)
			if err != nil {
				return 0, n.opError("read", err, &n.rd)
			}
			n.r = r
		}
		k, err := n.r.ReadContext(ctx, p)
		if err == io.EOF {
			n.r = nil
			err = nil
			if k == 0 && len(p) > 0 {
				continue // an empty message
			}
		}
		if err != nil {
			return k, n.opError("read", err, &n.rd)
		}
		return k, nil
	}
}

// netConnMessage is the longest message a NetConn's Write sends: with its
// header it fits in the Conn's write buffer, so a deadline never stops
// the write in the middle of a frame that cannot be finished (see
// [TimeoutError]).
const netConnMessage = writeBufferSize - frame.MaxHeaderLen

func (n *netConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	ctx := n.wd.context()
	if err := ctx.Err(); err != nil {
		return 0, n.opError("write", &TimeoutError{Op: "write", Ctx: err}, &n.wd)
	}
	if err := n.wmu.lock(ctx, &n.c.done); err != nil {
		return 0, n.opError("write", n.c.lockFailed(err), &n.wd)
	}
	defer n.wmu.unlock()
	written := 0
	if n.ntail > 0 {
		k, err := n.finishChar(ctx, p)
		written += k
		if p = p[k:]; err != nil || len(p) == 0 {
			return written, err
		}
	}
	for len(p) > 0 {
		k := min(len(p), netConnMessage)
		cut := 0
		if n.op == frame.OpText {
			// Each message is checked as text on its own: none ends
			// inside a character. One the Write's bytes end inside is
			// held for the next Write to complete.
			cut = partialChar(p[:k])
		}
		if k == cut {
			n.ntail = copy(n.tail[:], p)
			return written + k, nil
		}
		err := n.c.writeMessage(ctx, n.op, p[:k-cut], false)
		if n.counted(err) {
			written += k - cut
			p = p[k-cut:]
		}
		if err != nil {
			return written, n.opError("write", err, &n.wd)
		}
	}
	return written, nil
}

// ReadFrom writes what it reads from r until io.EOF, as Write does, in
// pieces of the longest message a Write sends: io.Copy uses it, whose own
// buffer of 32 KiB would go out as two messages each time (32 KiB less a
// header, then the header's worth). With frame.OpText, the first bytes of
// a character that a piece ends in start the next piece, so that no
// message of one character is sent for it. The buffer is lent by the
// Conn's pool for the copy only.
func (n *netConn) ReadFrom(r io.Reader) (int64, error) {
	bp := writePool.Get().(*[]byte)
	defer putBuffer(bp)
	buf := (*bp)[:netConnMessage]
	var total int64
	held := 0 // the first bytes of a character, at buf's start
	for {
		k, rerr := r.Read(buf[held:])
		k += held
		held = 0
		if n.op == frame.OpText && rerr == nil {
			held = partialChar(buf[:k])
		}
		if k > held {
			w, werr := n.Write(buf[:k-held])
			total += int64(w)
			if werr != nil {
				return total, werr
			}
			copy(buf, buf[k-held:k])
		}
		switch {
		case rerr == io.EOF:
			return total, nil
		case rerr != nil:
			return total, rerr
		}
	}
}

// finishChar sends, as a message of its own, the character whose first
// bytes the last Write ended in, completed from p, and returns how many
// bytes of p it took. When p does not complete it, they are held with
// the others.
func (n *netConn) finishChar(ctx context.Context, p []byte) (int, error) {
	var ch [utf8.UTFMax]byte
	m := copy(ch[:], n.tail[:n.ntail])
	k := 0
	for ; k < len(p) && !utf8.FullRune(ch[:m]); k++ {
		ch[m] = p[k]
		m++
	}
	if !utf8.FullRune(ch[:m]) {
		n.ntail = copy(n.tail[:], ch[:m])
		return k, nil
	}
	err := n.c.writeMessage(ctx, n.op, ch[:m], false)
	if n.counted(err) {
		n.ntail = 0
	} else {
		k = 0
	}
	if err != nil {
		return k, n.opError("write", err, &n.wd)
	}
	return k, nil
}

// counted reports whether the message whose write returned err counts as
// written: sent, or begun and stopped by the deadline (kept). A kept one
// is sent all the same: as a socket sends what a write left in its
// buffer, a goroutine finishes it, bounded as a send with no deadline is
// (Config.WriteTimeout), unless a Write comes first and finishes it
// itself.
func (n *netConn) counted(err error) bool {
	if err == nil {
		return true
	}
	if te, ok := errors.AsType[*TimeoutError](err); ok && te.Kept {
		go n.c.Flush(context.Background())
		return true
	}
	return false
}

// partialChar returns the length of the first bytes of a character that
// b ends in, which a later byte may complete: 0 when b ends at a
// character's end, or with bytes that no later one can make valid.
func partialChar(b []byte) int {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if utf8.FullRune(b[len(b)-i:]) {
				return 0
			}
			return i
		}
	}
	return 0
}

// opError is the error a call returns: a deadline's timeout as net.Conn
// reports it, io.EOF after the peer's normal close, otherwise err.
func (n *netConn) opError(op string, err error, d *deadline) error {
	if n.closed.Load() {
		return ErrClosed
	}
	if e := n.c.readErr(); e != nil {
		err = e // closed, maybe while the call waited
	}
	var te *TimeoutError
	if errors.As(err, &te) && !errors.Is(err, ErrClosed) && d.parent.Err() == nil {
		// A timeout of this call: on a closed connection the error is
		// final, whatever closed it, and is returned as it is.
		return &net.OpError{Op: op, Net: "websocket", Source: n.LocalAddr(), Addr: n.RemoteAddr(), Err: os.ErrDeadlineExceeded}
	}
	if op == "read" && isNormalClose(err) {
		n.eof = io.EOF
		return io.EOF
	}
	return err
}

// Close performs the closing handshake and ends the deadlines' contexts.
// A Write under way is not stopped, since a write stopped in the middle
// of its message would leave no way to send the close frame: the close
// frame follows its current message, and its next one fails with
// [ErrClosed].
// After the peer's normal close it closes the transport and returns nil,
// as closing a socket the peer has closed does. A later call returns
// [ErrClosed], once the first has returned.
func (n *netConn) Close() error {
	first := false
	var err error
	n.closeOnce.Do(func() { first, err = true, n.close() })
	if !first {
		return ErrClosed
	}
	return err
}

// close is the first Close.
func (n *netConn) close() error {
	n.closed.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), DefaultCloseTimeout)
	defer cancel()
	err := n.c.Close(ctx, status.NormalClosure, "")
	n.rd.stop()
	n.wd.stop()
	if isNormalClose(err) {
		err = nil
	}
	if err == nil && n.wmu.tryLock() {
		if n.ntail > 0 {
			err = fmt.Errorf("%w: the stream ended inside a character", ErrInvalidText)
		}
		n.wmu.unlock()
	}
	return err
}

// CloseWrite ends the writing side alone: it sends the close frame (1000)
// after the bytes written, and Read goes on returning what the peer sends
// until its close frame, then io.EOF, once the connection has closed. It
// is not quite *net.TCPConn's half-close: WebSocket has none, and a peer
// answers a close frame as soon as it reads it (RFC 6455 §5.5.1), ending
// its own sending; what it had sent before comes through, where Close
// would drop it, but it cannot send more once it has read the close
// frame. So a relay that copies both ways should close the side whose
// source ended only when the other side's source has ended too (or the
// protocol above says no more is coming). How long the answer may take is the Reads' to bound, with
// their deadline, or a Close's, which ends the wait. Later Writes fail
// with an error matching [ErrClosed]. With frame.OpText, the first bytes
// of a character held from the last Write are an error matching
// [ErrInvalidText], and no close frame is sent.
func (n *netConn) CloseWrite() error {
	ctx := n.wd.context()
	if err := n.wmu.lock(ctx, &n.c.done); err != nil {
		return n.opError("write", n.c.lockFailed(err), &n.wd)
	}
	defer n.wmu.unlock()
	if n.wclosed {
		return nil // as a socket's second CloseWrite
	}
	if n.ntail > 0 {
		return fmt.Errorf("%w: the stream ended inside a character", ErrInvalidText)
	}
	var buf [2]byte
	p, _ := status.AppendClose(buf[:0], status.NormalClosure, "")
	if err := n.c.WriteFrame(ctx, frame.New(frame.OpClose, p)); err != nil {
		return n.opError("write", err, &n.wd)
	}
	n.wclosed = true
	return nil
}

// isNormalClose reports whether err is the peer's close with 1000, 1001
// or no code (1005, which RFC 6455 allows in an answer).
func isNormalClose(err error) bool {
	var ce *status.CloseError
	return errors.As(err, &ce) && (ce.Code == status.NormalClosure || ce.Code == status.GoingAway || ce.Code == status.NoStatusReceived)
}

func (n *netConn) LocalAddr() net.Addr  { return addrOr(n.c.LocalAddr()) }
func (n *netConn) RemoteAddr() net.Addr { return addrOr(n.c.RemoteAddr()) }

func (n *netConn) SetDeadline(t time.Time) error {
	n.rd.set(t)
	n.wd.set(t)
	return nil
}

func (n *netConn) SetReadDeadline(t time.Time) error  { n.rd.set(t); return nil }
func (n *netConn) SetWriteDeadline(t time.Time) error { n.wd.set(t); return nil }

// wsAddr is the address of a transport that has none.
type wsAddr struct{}

func (wsAddr) Network() string { return "websocket" }
func (wsAddr) String() string  { return "websocket" }

func addrOr(a net.Addr) net.Addr {
	if a == nil {
		return wsAddr{}
	}
	return a
}

// deadline is a net.Conn deadline as a context: the calls of one
// direction share ctx, which ends when the deadline passes. Moving the
// deadline before it passed moves it for the calls in progress too; once
// it passed, a new deadline (or none) gives later calls a new context.
type deadline struct {
	parent context.Context

	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	timer   *time.Timer
	when    time.Time // the deadline last set; zero for none
	stopped bool      // the connection ended: no new context is made
}

// until returns the deadline last set, zero for none.
func (d *deadline) until() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.when
}

// context returns the context a call runs within.
func (d *deadline) context() context.Context {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil {
		d.ctx, d.cancel = d.newContext()
	}
	return d.ctx
}

// newContext returns a new context for the calls: parent's child, or,
// once stopped, one cancelled already that parent does not know of.
func (d *deadline) newContext() (context.Context, context.CancelFunc) {
	if d.stopped {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, cancel
	}
	return context.WithCancel(d.parent)
}

// done returns the Done channel of the context, or nil while no deadline
// was ever set: a wait on it then costs no context.
func (d *deadline) done() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil {
		return nil
	}
	return d.ctx.Done()
}

// set moves the deadline to t; the zero t means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.when = t
	if d.ctx == nil && t.IsZero() {
		return // no deadline, as before
	}
	fired := d.timer != nil && !d.timer.Stop()
	d.timer = nil
	if d.ctx == nil || fired || d.ctx.Err() != nil {
		if d.cancel != nil {
			d.cancel()
		}
		d.ctx, d.cancel = d.newContext()
	}
	if t.IsZero() {
		return
	}
	if dur := time.Until(t); dur > 0 {
		d.timer = time.AfterFunc(dur, d.cancel)
		return
	}
	d.cancel()
}

// stop releases the context and its timer, for good.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	if d.timer != nil {
		d.timer.Stop()
	}
	if d.cancel != nil {
		d.cancel()
	}
}
