package conn

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/framewire/ws/fragment"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/bind"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/reader"
	"github.com/framewire/ws/status"
)

// Conn is an open WebSocket connection: websocket-client's WebSocket
// after connect(). A client Conn comes from [Dialer.Dial]; [New] makes one
// of either role over a [Transport] whose handshake is done.
//
// A Conn is safe for one reader and any number of writers at once: each
// WriteMessage, WriteFrame, Ping or Close writes whole frames, never
// interleaved with another goroutine's frames; concurrent readers are
// serialised. A sender that finds another's write in flight queues its
// frame and returns; the writer sends the queue with its own (see
// [Conn.WriteFrame] and [Conn.Flush]). A Conn
// starts no goroutine of its own while idle (see the package doc) and holds no read or write buffer while
// idle, nor while a receive waits for the next frame (over a plain TCP or
// Unix socket it waits for the socket to be readable holding no buffer,
// then reads the frame with one system call; over other transports it
// waits on the reader's 48-byte buffer); only the payload buffer of the
// last receiving call stays, for reuse, when it is small (at most 1 MiB
// for a message, 64 KiB for a ReadFrame frame).
type Conn struct {
	t     Transport
	cfg   settings
	trace *tracer

	status      uint16 // the handshake's HTTP status
	proto       handshakeProto
	dropped     bool  // under mu: the transport was closed (here to fill padding)
	pong        int32 // reading: length of a pong owed for the ping in ctl, plus one (here to fill padding)
	subprotocol string
	fields      []string // response header fields: name, value, name, value...

	// Reading: held by one reader at a time through rlock.
	rlock ctxMutex
	rbind bind.Binder
	rd    *reader.Reader
	asm   fragment.Assembler
	rf    inFrame                        // the frame being read, or the last one read
	ext   extension                      // the negotiated extension, or nil
	dec   decoder                        // its decoder of the message being read, or nil
	msg   fragment.Message               // the message the last data frame completed
	rs    streamState                    // the message a MessageReader streams
	ctl   *[frame.MaxControlPayload]byte // made by the first control frame read
	tpay  []byte                         // payload of the frame being read, kept for the trace
	fbuf  []byte                         // ReadFrame's payload

	// Writing: held by one writer at a time through wlock.
	wlock ctxMutex
	wbind bind.Binder
	w     writer       // holds a buffer only under wlock
	q     sendQueue    // frames of senders that found wlock held
	enc   msgEncoder   // the negotiated extension's write side; nil: none
	src   *mask.Source // made by the first write

	// A pong the receiving call left to the write lock's holder (pong.go).
	pongOwed atomic.Bool
	// closeBegun: a close frame's write began (and did not fail); it is
	// set before closeSent, which waits for the write to return.
	closeBegun atomic.Bool
	pongBox    atomic.Pointer[pongBox]

	closeSent atomic.Bool // a close frame was written
	replying  atomic.Bool // a close frame answers the peer: a pong still owed goes first
	ended     atomic.Bool // rerr and werr are set
	streaming atomic.Bool // a MessageWriter holds the write lock

	mu   sync.Mutex
	rerr error      // terminal error for reads
	werr error      // terminal error for writes
	done doneSignal // fires once the transport is closed
	ends *[]func()  // under mu: run once the transport is closed (onEnd)
}

// New returns a Conn over t, whose opening handshake is done: the server
// side of a connection accepted elsewhere, a test peer, or a client over a
// transport the Dialer does not make. Bytes already read from t past the
// handshake must be served by t. A nil cfg is the zero Config: a client
// with the defaults. With Config.Compression set, the Conn uses
// permessage-deflate with the parameters in its Agreed field.
func New(t Transport, cfg *Config) *Conn {
	if cfg == nil {
		cfg = &Config{}
	}
	c := newConn(t, cfg, newTracer(cfg.Trace, cfg.Logger))
	if cfg.Compression != nil {
		c.useDeflate(cfg.Compression, cfg.Compression.Agreed)
	}
	return c
}

// newConn is New with the tracer that the handshake used.
func newConn(t Transport, cfg *Config, tr *tracer) *Conn {
	c := &Conn{
		t:     t,
		cfg:   cfg.settings(),
		trace: tr,
	}
	c.rd = cfg.reader(t)
	c.asm = cfg.assembler()
	c.rbind.Conn = (*readDeadline)(c)
	c.wbind.Conn = (*writeDeadline)(c)
	c.wbind.Stall = cfg.writeTimeout()
	c.w.deadline = &c.wbind
	c.w.big = c.wbind.Stall <= 0 || progressSeen(t)
	c.w.queued = &c.q.n
	return c
}

// readDeadline and writeDeadline are a Conn seen by its Binders: each sets
// one direction's deadline of the transport.
type (
	readDeadline  Conn
	writeDeadline Conn
)

func (c *readDeadline) SetDeadline(t time.Time) error  { return c.t.SetReadDeadline(t) }
func (c *writeDeadline) SetDeadline(t time.Time) error { return c.t.SetWriteDeadline(t) }

// Busy and Progress tell the watchdog of Config.WriteTimeout how a send is
// doing: whether a Write is under way, and a count that moves with each
// Write begun and each byte the peer's TCP acknowledged (see progress).
func (c *writeDeadline) Busy() bool { return c.w.busy.Load()&busyWriting != 0 }

func (c *writeDeadline) Progress() (int64, bool) {
	acked, _ := progress(c.t)
	return acked + c.w.busy.Load()>>busyOps, true
}

// DefaultReadBufferSize is the read buffer of a Conn whose
// Config.ReadBufferSize is 0. A stream of 1 KiB messages over loopback
// TCP is received about a quarter faster than with 4 KiB (conn's
// BenchmarkRecvBufferSize), and the buffer is lent only while received
// bytes wait in it.
const DefaultReadBufferSize = 16 << 10

// drainChunk is the scratch buffer of endStream.
const drainChunk = 4096

// lockRead takes the read lock, giving up when ctx ends first (a
// *TimeoutError) or when the transport is closed while the holder keeps
// it, as an idle Receiver does (the error later calls return). A context
// that has ended already fails at once, even when the lock is free.
func (c *Conn) lockRead(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return &TimeoutError{Op: "read", Ctx: err}
	}
	if err := c.rlock.lock(ctx, &c.done); err != nil {
		if err == errStopped {
			return c.readErr()
		}
		return &TimeoutError{Op: "read", Ctx: err}
	}
	return nil
}

// lockWrite takes the write lock as lockRead does, giving up when ctx ends
// or when the transport is closed (by CloseNow, say) while the holder
// keeps it, as an open MessageWriter does between its Writes.
func (c *Conn) lockWrite(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return &TimeoutError{Op: "write", Ctx: err}
	}
	if c.wlock.tryLock() {
		return nil
	}
	return c.waitWrite(ctx)
}

// waitWrite waits for the write lock, which another call holds, as
// lockWrite does. While a [MessageWriter] holds it, a wait whose ctx has
// no deadline ends after [ReplyTimeout] with [ErrMessageOpen], as one for
// a message sent in fragments with WriteFrame does (awaitMessage): the
// writer's message may never end, when its goroutine forgot to close it
// or is the one waiting. The bound counts from the writer's start or the
// wait's, whichever is later (NextWriter sets c.streaming with
// ctxMutex.begin, which starts the bounds of the waits queued), and the
// waiter keeps its place in the queue meanwhile.
func (c *Conn) waitWrite(ctx context.Context) error {
	var heldBy *atomic.Bool
	if _, ok := ctx.Deadline(); !ok {
		heldBy = &c.streaming
	}
	switch err := c.wlock.wait(ctx, &c.done, heldBy, ReplyTimeout); err {
	case nil:
		if err := ctx.Err(); err != nil {
			// Handed the lock as ctx ended: do the holder's duties
			// (frames queued, a pong owed), not this call's write,
			// which its ended context would cut.
			c.unlockWriteFor(ctx)
			return &TimeoutError{Op: "write", Ctx: err}
		}
		return nil
	case errHeldUp:
		return ErrMessageOpen
	default:
		return c.lockFailed(err)
	}
}

// lockFailed is the error of a wait for the write lock that err ended:
// the context's, or the transport's close.
func (c *Conn) lockFailed(err error) error {
	if err != errStopped {
		return &TimeoutError{Op: "write", Ctx: err}
	}
	if err := c.writeErr(); err != nil {
		return err
	}
	return ErrClosed
}

// record sets the errors that later reads and writes return, unless some
// were set already: each matches [ErrClosed] and wraps its cause. The
// socket stays open.
func (c *Conn) record(rerr, werr error) {
	c.mu.Lock()
	c.setErrs(rerr, werr)
	c.mu.Unlock()
}

// setErrs is record with c.mu held.
func (c *Conn) setErrs(rerr, werr error) {
	if c.rerr == nil {
		// werr may be set alone, by a write the peer reset (writeFailed).
		c.rerr = closedBy(rerr)
		if c.werr == nil {
			c.werr = closedBy(werr)
		}
		c.ended.Store(true)
	}
}

// terminate records the errors that later reads and writes return, unless
// some were recorded already (see record), and closes the socket. It reports whether
// this call closed it.
func (c *Conn) terminate(rerr, werr error) bool {
	return c.drop(rerr, werr, c.t.Close)
}

// drop is terminate closing the transport with closeT: its Close, or its
// abort for CloseNow.
func (c *Conn) drop(rerr, werr error, closeT func() error) bool {
	c.mu.Lock()
	c.setErrs(rerr, werr)
	first := !c.dropped
	c.dropped = true
	ends := c.ends
	c.ends = nil
	c.mu.Unlock()
	if first {
		closeT()
		c.done.fire()
		c.rbind.Release()
		c.wbind.Release()
		if ends != nil {
			for _, f := range *ends {
				f()
			}
		}
	}
	return first
}

// onEnd has f run once the transport is closed, or at once if it is.
func (c *Conn) onEnd(f func()) {
	c.mu.Lock()
	if c.dropped {
		c.mu.Unlock()
		f()
		return
	}
	if c.ends == nil {
		c.ends = new([]func())
	}
	*c.ends = append(*c.ends, f)
	c.mu.Unlock()
}

func (c *Conn) readErr() error {
	if !c.ended.Load() {
		return nil
	}
	c.mu.Lock()
	err := c.rerr
	c.mu.Unlock()
	return err
}

func (c *Conn) writeErr() error {
	if !c.ended.Load() {
		return nil
	}
	c.mu.Lock()
	err := c.werr
	c.mu.Unlock()
	return err
}

// StatusCode returns the handshake response's status code: 101, or the 2xx
// that accepted an extended CONNECT over HTTP/2 (see [Conn.Proto]).
// It is websocket-client's getstatus().
func (c *Conn) StatusCode() int { return int(c.status) }

// Header returns the handshake response's header fields, in a new map the
// caller may modify. It is websocket-client's getheaders(), with canonical
// (not lower-cased) names.
func (c *Conn) Header() http.Header { return unflatten(c.fields) }

// unflatten returns the header of fields (name, value, name, value...) in
// a new map whose slices share nothing with fields.
func unflatten(fields []string) http.Header {
	h := make(http.Header, len(fields)/2)
	for i := 0; i < len(fields); i += 2 {
		h[fields[i]] = append(h[fields[i]], fields[i+1])
	}
	return h
}

// flatten keeps a header in a compact form: an idle Conn holds no map.
func flatten(h http.Header) []string {
	n := 0
	for _, vs := range h {
		n += 2 * len(vs)
	}
	out := make([]string, 0, n)
	for k, vs := range h {
		for _, v := range vs {
			out = append(out, k, v)
		}
	}
	return out
}

// Subprotocol returns the subprotocol the server selected, spelled as it
// was offered, or "" if none. websocket-client's getsubprotocol() returns
// it lower-cased.
func (c *Conn) Subprotocol() string { return c.subprotocol }

// LocalAddr returns the local network address, or nil when the transport
// has none.
func (c *Conn) LocalAddr() net.Addr { return localAddr(c.t) }

// RemoteAddr returns the remote network address (the server's, or the
// proxy's when the connection goes through one), or nil when the
// transport has none.
func (c *Conn) RemoteAddr() net.Addr { return remoteAddr(c.t) }

// closeErrorOf builds the error a read returns after the peer's close.
func closeErrorOf(code status.Code, reason string) *status.CloseError {
	return &status.CloseError{Code: code, Reason: reason}
}
