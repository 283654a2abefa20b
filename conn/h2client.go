package conn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/bind"
)

// The client's settings and limits of an HTTP/2 connection.
const (
	// h2StreamWindow is the receive window of a WebSocket's stream: what
	// the server may send ahead of a reader, buffered as it arrives.
	h2StreamWindow = 256 << 10

	// h2ConnWindow is the connection's receive window. Data is given
	// back to it as soon as it is buffered, the stream windows being
	// what bounds the buffers, so one stalled WebSocket does not stop
	// the others.
	h2ConnWindow = 1 << 20

	// h2MaxReadFrame is the largest frame the client takes: the
	// SETTINGS_MAX_FRAME_SIZE it leaves at RFC 9113's initial value. A
	// larger frame is a FRAME_SIZE_ERROR (RFC 9113 §4.2), read no
	// further: the Framer's read buffer, kept for the connection's life,
	// never grows past it.
	h2MaxReadFrame = 16 << 10

	// h2MaxHeaderList bounds the decoded size of the header fields a
	// server may send in one header block (SETTINGS_MAX_HEADER_LIST_SIZE).
	h2MaxHeaderList = 64 << 10

	// h2WriteStall is how long a frame may take to reach the socket: a
	// write to an HTTP/2 connection that blocks longer fails it.
	h2WriteStall = 30 * time.Second

	// h2PingTimeout is how long a PING sent to a quiet connection waits
	// for its answer before the connection is given up.
	h2PingTimeout = 15 * time.Second
)

var (
	// errH2Closed ends the streams of an HTTP/2 connection closed by the
	// client.
	errH2Closed = fmt.Errorf("conn: HTTP/2 connection closed: %w", net.ErrClosed)

	// errH2PingTimeout ends a connection whose PING got no answer.
	errH2PingTimeout = errors.New("conn: HTTP/2 connection lost: no answer to PING")
)

// h2Refused ends a stream that a GOAWAY says the server did not process,
// or fails one asked of a connection going away.
func h2Refused() error {
	return &HTTP2Error{Code: http2.ErrCodeRefusedStream, Stream: true, Reason: "not processed: the server is going away (GOAWAY)"}
}

// protoErr is a connection error the client detected (RFC 9113 §5.4.1).
func protoErr(code http2.ErrCode, format string, args ...any) error {
	return &HTTP2Error{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// h2Client is the client side of one HTTP/2 connection (RFC 9113) that
// carries WebSockets in streams opened by the extended CONNECT (RFC 8441).
// One goroutine, the read loop, reads every frame and hands DATA to the
// streams' buffers; writes are made by their callers under the write
// lock, split by the server's frame size and flow-control windows.
type h2Client struct {
	nc    net.Conn
	br    *h2Blocks     // under fr: the read loop's
	wuBuf [4]byte       // the read loop's: a WINDOW_UPDATE's payload
	fr    *http2.Framer // reads: the read loop's; writes: under wsem
	wsem  chan struct{} // the write lock, a semaphore so that waiting for it honours a deadline
	// solo says that the connection carries one WebSocket (no
	// HTTP2Pool): failing it fails no other, so a write on its socket is
	// bounded by that WebSocket's deadlines, not only by h2WriteStall.
	solo atomic.Bool
	henc *hpack.Encoder
	hbuf bytes.Buffer // header block being encoded, under wsem

	done      chan struct{} // closed when the connection ends
	settled   chan struct{} // closed on the server's first SETTINGS, or the end
	activity  atomic.Bool   // a frame was read since the keep-alive last looked
	keepAlive *time.Timer

	mu         sync.Mutex
	err        error // why the connection ended
	streams    map[uint32]*h2Stream
	nextID     uint32
	goneAway   bool
	pinged     bool
	connectOK  bool   // SETTINGS_ENABLE_CONNECT_PROTOCOL = 1
	tableSize  uint32 // SETTINGS_HEADER_TABLE_SIZE
	maxStreams uint32 // SETTINGS_MAX_CONCURRENT_STREAMS
	maxFrame   int64  // SETTINGS_MAX_FRAME_SIZE
	initWindow int64  // SETTINGS_INITIAL_WINDOW_SIZE: a new stream's send window
	sendWindow int64  // the connection's send window
	recvWindow int64  // the connection's receive window left
	recvUnsent int64  // receive window to give back in a WINDOW_UPDATE
	windowed   chan struct{}
	owed       h2Owed
	owing      atomic.Bool // owed holds frames to write

	// spare is the owed frames' storage last written, kept for reuse by
	// the write lock's holder, so that owing allocates nothing in steady
	// state.
	spare h2Owed
}

// newH2Client starts the client side of an HTTP/2 connection over nc:
// the preface, SETTINGS and the connection's window are written within
// ctx, and it returns once the server's first SETTINGS is in.
func newH2Client(ctx context.Context, nc net.Conn) (*h2Client, error) {
	c := &h2Client{
		nc:         nc,
		wsem:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		settled:    make(chan struct{}),
		streams:    make(map[uint32]*h2Stream),
		nextID:     1,
		maxStreams: 1<<32 - 1,
		maxFrame:   16 << 10,
		tableSize:  4096,
		initWindow: 65535,
		sendWindow: 65535,
		recvWindow: h2ConnWindow,
	}
	c.br = &h2Blocks{r: bufio.NewReaderSize(nc, 4<<10)}
	c.fr = http2.NewFramer(nc, c.br)
	c.fr.SetReuseFrames()
	c.fr.SetMaxReadFrameSize(h2MaxReadFrame)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = h2MaxHeaderList
	c.henc = hpack.NewEncoder(&c.hbuf)

	b := bind.Binder{Conn: nc}
	b.Arm(ctx)
	_, err := io.WriteString(nc, http2.ClientPreface)
	if err == nil {
		err = c.fr.WriteSettings(
			http2.Setting{ID: http2.SettingEnablePush, Val: 0},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2StreamWindow},
			http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: h2MaxHeaderList},
		)
	}
	if err == nil {
		err = c.fr.WriteWindowUpdate(0, h2ConnWindow-65535)
	}
	if b.Release() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		nc.Close()
		return nil, dialError(ctx, err)
	}
	nc.SetDeadline(time.Time{})
	c.keepAlive = time.AfterFunc(keepAliveIdle, c.checkAlive)
	go c.readLoop()
	select {
	case <-c.settled:
	case <-ctx.Done():
		c.close()
		return nil, dialError(ctx, ctx.Err())
	}
	if err := c.failure(); err != nil {
		return nil, dialError(ctx, err)
	}
	return c, nil
}

// failure returns why the connection ended, or nil.
func (c *h2Client) failure() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil && isTimeout(c.err) {
		return lostH2(c.err) // the connection's end, not the caller's deadline
	}
	return c.err
}

// canTake reports whether a new stream may open on the connection.
func (c *h2Client) canTake() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == nil && !c.goneAway && c.nextID < 1<<31
}

// streamLimit returns the server's SETTINGS_MAX_CONCURRENT_STREAMS.
func (c *h2Client) streamLimit() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxStreams
}

// close ends the connection and the streams on it.
func (c *h2Client) close() { c.fail(errH2Closed) }

// fail ends the connection with err: every stream fails with it, a
// protocol error is told to the server in a GOAWAY first.
func (c *h2Client) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	for id, s := range c.streams {
		s.end(lostH2(err))
		delete(c.streams, id)
	}
	c.wakeWriters()
	c.mu.Unlock()
	var pe *HTTP2Error
	if errors.As(err, &pe) && !pe.Stream {
		stop := time.NewTimer(time.Second)
		select {
		case c.wsem <- struct{}{}:
			c.nc.SetWriteDeadline(time.Now().Add(time.Second))
			c.fr.WriteGoAway(0, pe.Code, []byte(pe.Reason))
			<-c.wsem
		case <-stop.C:
		}
		stop.Stop()
	}
	close(c.done)
	if c.keepAlive != nil {
		c.keepAlive.Stop()
	}
	c.nc.Close()
	select {
	case <-c.settled:
	default:
		close(c.settled)
	}
}

// checkAlive is the keep-alive timer's: a connection quiet for
// keepAliveIdle is pinged, and given up when the answer does not come
// within h2PingTimeout.
func (c *h2Client) checkAlive() {
	if c.failure() != nil {
		return
	}
	if c.activity.Swap(false) {
		c.mu.Lock()
		c.pinged = false
		c.mu.Unlock()
		c.keepAlive.Reset(keepAliveIdle)
		return
	}
	c.mu.Lock()
	pinged := c.pinged
	c.pinged = true
	c.mu.Unlock()
	if pinged {
		c.fail(errH2PingTimeout)
		return
	}
	if c.lockWrite(nil) == nil {
		c.writeFrame(func() error { return c.fr.WritePing(false, [8]byte{'f', 'w'}) })
		c.unlockWrite()
	}
	c.keepAlive.Reset(h2PingTimeout)
}

// lockWrite takes the write lock, waiting until stop or the connection's
// end.
func (c *h2Client) lockWrite(stop <-chan struct{}) error {
	select {
	case c.wsem <- struct{}{}:
		return nil
	default:
	}
	select {
	case c.wsem <- struct{}{}:
		return nil
	case <-stop:
		return os.ErrDeadlineExceeded
	case <-c.done:
		return c.failure()
	}
}

// unlockWrite releases the write lock, first writing the frames the read
// loop owes. Owed frames that arrive as the lock is released are written
// by whoever takes the lock next, this caller if the lock is free.
func (c *h2Client) unlockWrite() {
	for {
		if c.owing.Load() {
			c.writeOwed()
		}
		<-c.wsem
		if !c.owing.Load() {
			return
		}
		select {
		case c.wsem <- struct{}{}:
		default:
			return // the holder writes them
		}
	}
}

// h2MaxOwedPings bounds the PING answers waiting for the write lock: a
// write may hold it while the read loop parses a few hundred frames from
// its buffer, so a burst of PINGs from a server that reads promptly is
// answered, and a flood from one that does not read ends the connection
// (ENHANCE_YOUR_CALM) with 8 KiB held.
const h2MaxOwedPings = 1024

// h2Owed is what the read loop and the streams must write without
// waiting: acknowledgements, windows given back and resets. Neither waits
// for the write lock, which a writer may hold while the server's socket is
// full: the read loop goes on reading, and a stream's Read or CloseNow is
// not held up by another stream's stuck write. Whoever releases the lock
// writes them.
type h2Owed struct {
	settingsAcks int
	pings        [][8]byte
	connWindow   int64
	windows      []h2Window // streams' windows, one entry per stream
	resets       []h2Reset
}

type h2Reset struct {
	id   uint32
	code http2.ErrCode
}

type h2Window struct {
	id uint32
	n  int64
}

// owe records frames for the write lock's holder with add, and writes them
// now if the lock is free.
func (c *h2Client) owe(add func(*h2Owed) error) error {
	c.mu.Lock()
	err := add(&c.owed)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.owing.Store(true)
	select {
	case c.wsem <- struct{}{}:
		c.unlockWrite()
	default:
	}
	return nil
}

// writeOwed writes the frames owed; the caller holds the write lock.
func (c *h2Client) writeOwed() {
	c.mu.Lock()
	c.owing.Store(false)
	o := c.owed
	c.owed = h2Owed{pings: c.spare.pings[:0], windows: c.spare.windows[:0], resets: c.spare.resets[:0]}
	c.mu.Unlock()
	defer func() { c.spare = o }()
	c.writeFrame(func() error {
		var err error
		for range o.settingsAcks {
			if err == nil {
				err = c.fr.WriteSettingsAck()
			}
		}
		for _, p := range o.pings {
			if err == nil {
				err = c.fr.WritePing(true, p)
			}
		}
		if err == nil && o.connWindow > 0 {
			err = c.fr.WriteWindowUpdate(0, uint32(o.connWindow))
		}
		for _, w := range o.windows {
			if err == nil {
				err = c.fr.WriteWindowUpdate(w.id, uint32(w.n))
			}
		}
		for _, r := range o.resets {
			if err == nil {
				err = c.fr.WriteRSTStream(r.id, r.code)
			}
		}
		return err
	})
}

// writeFrame runs w, which writes frames, under the write lock, within
// h2WriteStall; a failed write ends the connection.
func (c *h2Client) writeFrame(w func() error) error {
	return c.writeFrameBy(time.Time{}, w)
}

// writeFrameBy is writeFrame bounded by dl too, if set, on a solo
// connection.
func (c *h2Client) writeFrameBy(dl time.Time, w func() error) error {
	if err := c.failure(); err != nil {
		return err
	}
	c.nc.SetWriteDeadline(c.writeLimit(dl))
	err := w()
	if err != nil {
		c.fail(err)
	}
	return err
}

// wakeWriters wakes the writers waiting for a send window, or for the
// end of their stream. c.mu is held.
func (c *h2Client) wakeWriters() {
	if c.windowed != nil {
		close(c.windowed)
		c.windowed = nil
	}
}

// windowWait returns a channel closed when writers should look at their
// windows again. c.mu is held.
func (c *h2Client) windowWait() <-chan struct{} {
	if c.windowed == nil {
		c.windowed = make(chan struct{})
	}
	return c.windowed
}

// hopByHop holds the header fields that HTTP/2 forbids (RFC 9113 §8.2.2).
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true, "te": true, "host": true,
}

// open sends the extended CONNECT for target with the fields hdr (lower
// case names) on a new stream, and returns the stream.
func (c *h2Client) open(ctx context.Context, target *http.Request, hdr http.Header) (*h2Stream, error) {
	c.mu.Lock()
	ok := c.connectOK
	c.mu.Unlock()
	if !ok {
		return nil, errNoConnect
	}
	if err := c.lockWrite(ctx.Done()); err != nil {
		return nil, err
	}
	defer c.unlockWrite()
	if c.owing.Load() {
		// A reset owed before this stream's slot was given back goes out
		// before its HEADERS, so that the server never counts more open
		// streams than SETTINGS_MAX_CONCURRENT_STREAMS allows.
		c.writeOwed()
	}
	c.mu.Lock()
	if c.err != nil || c.goneAway || uint32(len(c.streams)) >= c.maxStreams {
		// Going away, or no room under the server's
		// SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 §5.1.2), which a
		// new pooled connection's first stream is taken before knowing.
		err := c.err
		c.mu.Unlock()
		if err == nil {
			err = h2Refused()
		}
		return nil, err
	}
	s := newH2Stream(c, c.nextID)
	c.nextID += 2
	c.streams[s.id] = s
	maxFrame := int(c.maxFrame)
	tableSize := c.tableSize
	c.mu.Unlock()

	c.henc.SetMaxDynamicTableSizeLimit(tableSize)
	c.hbuf.Reset()
	enc := func(name, value string) { c.henc.WriteField(hpack.HeaderField{Name: name, Value: value}) }
	enc(":method", http.MethodConnect)
	enc(":protocol", target.Proto)
	enc(":scheme", target.URL.Scheme)
	enc(":authority", target.Host)
	enc(":path", target.URL.RequestURI())
	for name, vs := range hdr {
		if strings.HasPrefix(name, ":") || hopByHop[name] {
			continue
		}
		for _, v := range vs {
			if v != "" {
				enc(name, v)
			}
		}
	}
	block := c.hbuf.Bytes()
	dl, _ := ctx.Deadline()
	err := c.writeFrameBy(dl, func() error {
		first := block[:min(len(block), maxFrame)]
		rest := block[len(first):]
		err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: first, EndHeaders: len(rest) == 0})
		for err == nil && len(rest) > 0 {
			chunk := rest[:min(len(rest), maxFrame)]
			rest = rest[len(chunk):]
			err = c.fr.WriteContinuation(s.id, len(rest) == 0, chunk)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// send writes p as DATA on s, as the windows allow, until stop.
func (c *h2Client) send(s *h2Stream, p []byte, stop <-chan struct{}) (int, error) {
	n := 0
	for n < len(p) {
		if err := c.lockWrite(stop); err != nil {
			return n, err
		}
		c.mu.Lock()
		err := s.werr
		k := min(int64(len(p)-n), c.sendWindow, s.sendWindow, c.maxFrame)
		var wait <-chan struct{}
		switch {
		case err != nil:
		case k <= 0:
			k, wait = 0, c.windowWait()
		default:
			c.sendWindow -= k
			s.sendWindow -= k
		}
		c.mu.Unlock()
		if err == nil && k > 0 {
			s.writing(true)
			err = c.fr.WriteData(s.id, false, p[n:n+int(k)])
			s.writing(false)
			if err != nil {
				c.fail(err)
				if isTimeout(err) {
					// A frame cut on the socket cannot be resumed:
					// the connection is gone, and the Conn is told.
					err = &brokenError{err}
				}
			}
		}
		c.unlockWrite()
		if err != nil {
			return n, err
		}
		n += int(k)
		if wait != nil {
			select {
			case <-wait:
			case <-stop:
				return n, os.ErrDeadlineExceeded
			}
		}
	}
	return n, nil
}

// endStream sends END_STREAM on s, waiting for the write lock until stop.
func (c *h2Client) endStream(s *h2Stream, stop <-chan struct{}) error {
	if err := c.lockWrite(stop); err != nil {
		return err
	}
	defer c.unlockWrite()
	c.mu.Lock()
	err := s.werr
	if err == nil {
		s.werr = errStreamClosed
		s.localEnded = true
		c.forgetIfClosed(s)
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.writeFrameBy(s.rd.until(), func() error { return c.fr.WriteData(s.id, true, nil) })
}

// writeLimit is the deadline of a write to the socket: h2WriteStall from
// now, or dl when sooner on a solo connection.
func (c *h2Client) writeLimit(dl time.Time) time.Time {
	limit := time.Now().Add(h2WriteStall)
	if !dl.IsZero() && dl.Before(limit) && c.solo.Load() {
		return dl
	}
	return limit
}

// reset sends RST_STREAM with code for the stream id: now if the write
// lock is free, or else when its holder lets go (see owe).
func (c *h2Client) reset(id uint32, code http2.ErrCode) {
	c.owe(func(o *h2Owed) error {
		o.resets = append(o.resets, h2Reset{id, code})
		return nil
	})
}

// windowUpdate gives n bytes of the stream id's receive window back to
// the server: now if the write lock is free, or else when its holder lets
// go (see owe). The connection's window is given back by the read loop.
func (c *h2Client) windowUpdate(id uint32, n int64) {
	c.owe(func(o *h2Owed) error {
		for i := range o.windows {
			if o.windows[i].id == id {
				o.windows[i].n += n
				return nil
			}
		}
		o.windows = append(o.windows, h2Window{id, n})
		return nil
	})
}

// forgetIfClosed drops s from the streams once both sides have ended it.
// c.mu is held.
func (c *h2Client) forgetIfClosed(s *h2Stream) {
	if s.localEnded && s.remoteEnded {
		delete(c.streams, s.id)
	}
	c.maybeIdle()
}

// maybeIdle closes a connection that a GOAWAY emptied. c.mu is held.
func (c *h2Client) maybeIdle() {
	if c.goneAway && len(c.streams) == 0 && c.err == nil {
		go c.close()
	}
}

// readLoop reads the server's frames until the connection ends.
func (c *h2Client) readLoop() {
	for {
		var f http2.Frame
		fh, err := c.fr.ReadFrameHeader()
		if err == nil && fh.Type == http2.FrameWindowUpdate {
			// Read here rather than by the Framer, which allocates a
			// frame for each: a server may send one per DATA received.
			c.activity.Store(true)
			err = c.readWindowUpdate(fh)
			if err == nil {
				continue
			}
		} else if err == nil {
			f, err = c.fr.ReadFrameForHeader(fh)
		}
		if err == nil {
			c.activity.Store(true)
			err = c.handle(f)
		} else {
			var se http2.StreamError
			var ce http2.ConnectionError
			switch {
			case errors.As(err, &se):
				err = c.streamError(se.StreamID, se.Code, se)
			case errors.As(err, &ce):
				reason := "malformed frame"
				if d := c.fr.ErrorDetail(); d != nil {
					reason = d.Error()
				}
				err = &HTTP2Error{Code: http2.ErrCode(ce), Reason: reason}
				if mh, ok := f.(*http2.MetaHeadersFrame); ok && mh != nil {
					c.badHeaders(mh, err)
				}
			case errors.Is(err, http2.ErrFrameTooLarge) && fh.Length == 0x485454 && fh.Type == 'P':
				// "HTTP/1.1 ...": the server does not speak HTTP/2.
				err = fmt.Errorf("%w: the server answered in HTTP/1", ErrHTTP2Unavailable)
			case errors.Is(err, http2.ErrFrameTooLarge):
				err = protoErr(http2.ErrCodeFrameSize, "frame larger than SETTINGS_MAX_FRAME_SIZE")
			}
		}
		if err != nil {
			c.fail(err)
			return
		}
	}
}

// badHeaders fails the stream of a header block that ended the
// connection: too large, or not decodable.
func (c *h2Client) badHeaders(mh *http2.MetaHeadersFrame, err error) {
	cause := handshake.ErrMalformedResponse
	if mh.Truncated {
		cause = handshake.ErrHeaderTooLarge
	}
	c.mu.Lock()
	if s := c.streams[mh.StreamID]; s != nil {
		s.end(lostH2(fmt.Errorf("%w: %w", cause, err)))
	}
	c.mu.Unlock()
}

// handle acts on one frame from the server. An error ends the connection.
func (c *h2Client) handle(f http2.Frame) error {
	select {
	case <-c.settled:
	default:
		if _, ok := f.(*http2.SettingsFrame); !ok {
			return protoErr(http2.ErrCodeProtocol, "the server's preface is not SETTINGS")
		}
	}
	switch f := f.(type) {
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.MetaHeadersFrame:
		return c.onHeaders(f)
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.PingFrame:
		if f.IsAck() {
			c.mu.Lock()
			c.pinged = false
			c.mu.Unlock()
			return nil
		}
		return c.owe(func(o *h2Owed) error {
			if len(o.pings) == h2MaxOwedPings {
				return protoErr(http2.ErrCodeEnhanceYourCalm, "more than %d PINGs unanswered", h2MaxOwedPings)
			}
			o.pings = append(o.pings, f.Data)
			return nil
		})
	case *http2.RSTStreamFrame:
		c.mu.Lock()
		if s := c.streams[f.StreamID]; s != nil {
			s.end(lostH2(&HTTP2Error{Code: f.ErrCode, Stream: true}))
			delete(c.streams, s.id)
			c.wakeWriters()
			c.maybeIdle()
		} else if c.idle(f.StreamID) {
			c.mu.Unlock()
			return protoErr(http2.ErrCodeProtocol, "RST_STREAM on idle stream %d", f.StreamID)
		}
		c.mu.Unlock()
	case *http2.GoAwayFrame:
		c.mu.Lock()
		c.goneAway = true
		for id, s := range c.streams {
			if id > f.LastStreamID {
				s.end(lostH2(h2Refused()))
				delete(c.streams, id)
			}
		}
		c.wakeWriters()
		c.maybeIdle()
		c.mu.Unlock()
	case *http2.PushPromiseFrame:
		return protoErr(http2.ErrCodeProtocol, "PUSH_PROMISE with SETTINGS_ENABLE_PUSH 0")
	}
	return nil // PRIORITY and frames of unknown types are ignored
}

// statusCode parses a :status value: three digits (RFC 9110 §15), 100 to
// 999.
func statusCode(v string) (int, bool) {
	if len(v) != 3 || v[0] < '1' || v[0] > '9' || v[1] < '0' || v[1] > '9' || v[2] < '0' || v[2] > '9' {
		return 0, false
	}
	return int(v[0]-'0')*100 + int(v[1]-'0')*10 + int(v[2]-'0'), true
}

// connectionField returns the first connection-specific field of a
// response, which makes it malformed in HTTP/2 (RFC 9113 §8.2.2).
func connectionField(fields []hpack.HeaderField) (string, bool) {
	for _, hf := range fields {
		switch hf.Name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			return hf.Name, true
		}
	}
	return "", false
}

// lostH2 wraps the end of a stream as a lost connection, as a TCP reset
// is over HTTP/1.1.
func lostH2(err error) error { return &h2LostError{err} }

// h2LostError is a stream's end by its connection or by a reset. It
// matches io.ErrUnexpectedEOF and err, but is never a timeout, whatever
// err is: a socket write that timed out ended the connection for every
// stream on it, and a stream's later calls must not take it for a
// deadline of their own and retry.
type h2LostError struct{ err error }

func (e *h2LostError) Error() string   { return "unexpected EOF: " + e.err.Error() }
func (e *h2LostError) Unwrap() []error { return []error{io.ErrUnexpectedEOF, e.err} }
func (e *h2LostError) Timeout() bool   { return false }
func (e *h2LostError) Temporary() bool { return false }

// idle reports whether the stream id was never opened. c.mu is held.
func (c *h2Client) idle(id uint32) bool { return id >= c.nextID || id%2 == 0 }

// onSettings applies the server's settings and acknowledges them.
func (c *h2Client) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	if err := f.ForeachSetting(func(st http2.Setting) error {
		if err := st.Valid(); err != nil {
			return protoErr(http2.ErrCode(err.(http2.ConnectionError)), "invalid %v", st)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		switch st.ID {
		case http2.SettingEnablePush:
			if st.Val != 0 {
				// A server must not set it (RFC 9113 §6.5.2).
				return protoErr(http2.ErrCodeProtocol, "SETTINGS_ENABLE_PUSH %d from a server", st.Val)
			}
		case http2.SettingMaxConcurrentStreams:
			c.maxStreams = st.Val
		case http2.SettingInitialWindowSize:
			delta := int64(st.Val) - c.initWindow
			c.initWindow = int64(st.Val)
			for _, s := range c.streams {
				s.sendWindow += delta
				if s.sendWindow > 1<<31-1 {
					return protoErr(http2.ErrCodeFlowControl, "SETTINGS_INITIAL_WINDOW_SIZE overflows a window")
				}
			}
			c.wakeWriters()
		case http2.SettingMaxFrameSize:
			c.maxFrame = int64(st.Val)
		case http2.SettingHeaderTableSize:
			c.tableSize = st.Val // applied to the encoder under wsem
		case http2.SettingEnableConnectProtocol:
			c.connectOK = st.Val == 1
		}
		return nil
	}); err != nil {
		return err
	}
	select {
	case <-c.settled:
	default:
		close(c.settled)
	}
	return c.owe(func(o *h2Owed) error { o.settingsAcks++; return nil })
}

// h2MaxBlockFrames bounds the frames of one header block, CONTINUATION
// frames included: room for a block of h2MaxHeaderList bytes in frames of
// 64 bytes. The Framer bounds a block's bytes, but not how many empty
// CONTINUATION frames follow each other (RFC 9113 §6.10 sets no limit): a
// server sending them for ever would hold the read loop inside the block,
// the connection looking alive to the pool all the while.
const h2MaxBlockFrames = h2MaxHeaderList / 64

// h2Blocks is the read loop's reader, under the Framer: it follows the
// frames in the bytes read, to end the connection when a header block
// runs past h2MaxBlockFrames frames. Every byte the read loop takes goes
// through it, so that it never loses count.
type h2Blocks struct {
	r      *bufio.Reader
	hdr    [9]byte // the frame header being read
	hn     int     // bytes of hdr read
	remain uint32  // payload bytes of the current frame still to come
	frames int     // frames of the header block open; 0: none is
	err    error   // the block ran too long: every Read from the next on fails
}

// Read reads from the buffered connection, counting the frames of a header
// block as their headers pass.
func (g *h2Blocks) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for b := p[:n]; len(b) > 0; {
		if g.remain > 0 {
			k := min(len(b), int(g.remain)) // remain < 1<<24
			b, g.remain = b[k:], g.remain-uint32(k)
			continue
		}
		k := copy(g.hdr[g.hn:], b)
		b, g.hn = b[k:], g.hn+k
		if g.hn < len(g.hdr) {
			break
		}
		g.hn = 0
		g.remain = uint32(g.hdr[0])<<16 | uint32(g.hdr[1])<<8 | uint32(g.hdr[2])
		ended := http2.Flags(g.hdr[4]).Has(http2.FlagHeadersEndHeaders)
		switch http2.FrameType(g.hdr[3]) {
		case http2.FrameHeaders, http2.FramePushPromise:
			g.frames = 1
		case http2.FrameContinuation:
			if g.frames > 0 {
				g.frames++
			}
		default:
			g.frames = 0 // a block open is cut: the Framer's error
		}
		if ended {
			g.frames = 0
		}
		if g.frames > h2MaxBlockFrames && g.err == nil {
			// Failed from the next Read: io.ReadFull drops an error
			// that comes with the bytes it asked for.
			g.err = protoErr(http2.ErrCodeEnhanceYourCalm, "header block of more than %d frames", h2MaxBlockFrames)
		}
	}
	return n, err
}

// readWindowUpdate reads the payload of the WINDOW_UPDATE frame fh
// (RFC 9113 §6.9) and grows a send window.
func (c *h2Client) readWindowUpdate(fh http2.FrameHeader) error {
	p := c.wuBuf[:]
	if fh.Length != 4 {
		return protoErr(http2.ErrCodeFrameSize, "WINDOW_UPDATE of %d bytes", fh.Length)
	}
	if _, err := io.ReadFull(c.br, p); err != nil {
		return err
	}
	inc := binary.BigEndian.Uint32(p) & (1<<31 - 1)
	if inc == 0 {
		if fh.StreamID == 0 {
			return protoErr(http2.ErrCodeProtocol, "WINDOW_UPDATE of 0")
		}
		return c.streamError(fh.StreamID, http2.ErrCodeProtocol, errors.New("WINDOW_UPDATE of 0"))
	}
	return c.onWindowUpdate(fh.StreamID, inc)
}

// onWindowUpdate grows the send window of the stream id, or of the
// connection with id 0, by inc.
func (c *h2Client) onWindowUpdate(id, increment uint32) error {
	inc := int64(increment)
	c.mu.Lock()
	switch s := c.streams[id]; {
	case id == 0:
		if c.sendWindow+inc > 1<<31-1 {
			c.mu.Unlock()
			return protoErr(http2.ErrCodeFlowControl, "connection window overflow")
		}
		c.sendWindow += inc
	case s != nil:
		if s.sendWindow+inc > 1<<31-1 {
			c.mu.Unlock()
			return c.streamError(id, http2.ErrCodeFlowControl, errors.New("stream window overflow"))
		}
		s.sendWindow += inc
	case c.idle(id):
		c.mu.Unlock()
		return protoErr(http2.ErrCodeProtocol, "WINDOW_UPDATE on idle stream %d", id)
	}
	c.wakeWriters()
	c.mu.Unlock()
	return nil
}

// streamError resets the stream id with code, the stream's transport
// failing with cause as a lost connection. An error on an idle stream is
// the connection's (RFC 9113 §5.1); on a stream closed here it is
// dropped, as the stream's other frames are, so that a server repeating
// it has no reset owed for each (one per open stream at most).
func (c *h2Client) streamError(id uint32, code http2.ErrCode, cause error) error {
	c.mu.Lock()
	s := c.streams[id]
	if s == nil {
		idle := c.idle(id)
		c.mu.Unlock()
		if idle {
			return protoErr(http2.ErrCodeProtocol, "%v on idle stream %d", cause, id)
		}
		return nil
	}
	s.end(lostH2(&HTTP2Error{Code: code, Stream: true, Reason: "reset by the client: " + cause.Error(), Err: cause}))
	delete(c.streams, id)
	c.wakeWriters()
	c.maybeIdle()
	c.mu.Unlock()
	return c.owe(func(o *h2Owed) error {
		o.resets = append(o.resets, h2Reset{id, code})
		return nil
	})
}

// onData hands the bytes of a DATA frame to their stream's buffer.
func (c *h2Client) onData(f *http2.DataFrame) error {
	n := int64(f.Length) // padding included: it counts against the windows
	c.mu.Lock()
	if n > c.recvWindow {
		c.mu.Unlock()
		return protoErr(http2.ErrCodeFlowControl, "DATA beyond the connection's window")
	}
	c.recvWindow -= n
	c.recvUnsent += n
	var give int64
	if c.recvUnsent >= h2ConnWindow/4 {
		give, c.recvUnsent = c.recvUnsent, 0
		c.recvWindow += give
	}
	s := c.streams[f.StreamID]
	var serr error
	var code http2.ErrCode
	var sgive int64 // the stream's window given back for padding
	switch {
	case s == nil && c.idle(f.StreamID):
		c.mu.Unlock()
		return protoErr(http2.ErrCodeProtocol, "DATA on idle stream %d", f.StreamID)
	case s == nil: // a stream closed here: dropped
	case s.remoteEnded:
		serr, code = errors.New("DATA after END_STREAM"), http2.ErrCodeStreamClosed
	case s.status == 0:
		serr, code = errors.New("DATA before the response's HEADERS"), http2.ErrCodeProtocol
	case n > s.recvWindow:
		serr, code = errors.New("DATA beyond the stream's window"), http2.ErrCodeFlowControl
	default:
		s.recvWindow -= n
		data := f.Data()
		pad := n - int64(len(data))
		s.consumed += pad // padding is consumed at once
		s.push(data)
		if f.StreamEnded() {
			s.remoteEnded = true
			s.setReadErr(io.EOF)
			c.forgetIfClosed(s)
		}
		if pad > 0 && s.consumed >= h2StreamWindow/4 && !s.remoteEnded {
			// Given back here as reads give back theirs: frames of
			// padding alone would otherwise shut the window for good.
			sgive, s.consumed = s.consumed, 0
			s.recvWindow += sgive
		}
		signal(s.readable)
	}
	c.mu.Unlock()
	if sgive > 0 {
		c.windowUpdate(f.StreamID, sgive)
	}
	if give > 0 {
		if err := c.owe(func(o *h2Owed) error { o.connWindow += give; return nil }); err != nil {
			return err
		}
	}
	if serr != nil {
		return c.streamError(f.StreamID, code, serr)
	}
	return nil
}

// onHeaders takes the response to a stream's CONNECT, or its trailers.
func (c *h2Client) onHeaders(f *http2.MetaHeadersFrame) error {
	c.mu.Lock()
	s := c.streams[f.StreamID]
	if s == nil {
		idle := c.idle(f.StreamID)
		c.mu.Unlock()
		if idle {
			return protoErr(http2.ErrCodeProtocol, "HEADERS on idle stream %d", f.StreamID)
		}
		return nil
	}
	var serr error
	switch {
	case s.remoteEnded:
		serr = errors.New("HEADERS after END_STREAM")
	case s.status != 0 && !f.StreamEnded():
		serr = errors.New("trailers without END_STREAM")
	case f.Truncated:
		serr = fmt.Errorf("%w: more than %d bytes over HTTP/2", handshake.ErrHeaderTooLarge, h2MaxHeaderList)
	case s.status == 0:
		code, ok := statusCode(f.PseudoValue("status"))
		if !ok {
			serr = fmt.Errorf("%w: :status %q", handshake.ErrMalformedResponse, f.PseudoValue("status"))
			break
		}
		if code < 200 && code != 101 && !f.StreamEnded() {
			break // informational; HTTP/2 has no 101 (RFC 9113 §8.6): a refusal
		}
		if name, bad := connectionField(f.RegularFields()); bad && code/100 == 2 {
			// Malformed (a refusal's status says more than that).
			serr = fmt.Errorf("%w: connection-specific field %q", handshake.ErrMalformedResponse, name)
			break
		}
		h := make(http.Header, len(f.Fields))
		for _, hf := range f.RegularFields() {
			k := http.CanonicalHeaderKey(hf.Name)
			h[k] = append(h[k], hf.Value)
		}
		s.status, s.header = code, h
	}
	if serr == nil && f.StreamEnded() {
		s.remoteEnded = true
		s.setReadErr(io.EOF)
		c.forgetIfClosed(s)
	}
	signal(s.readable)
	c.mu.Unlock()
	if serr != nil {
		return c.streamError(f.StreamID, http2.ErrCodeProtocol, serr)
	}
	return nil
}
