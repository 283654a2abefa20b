package h2test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// ErrStreamClosed is what a Stream's Write returns after End or Reset.
var ErrStreamClosed = errors.New("h2test: stream ended by the server")

// FrameServer is an HTTP/2 server written frame by frame on x/net/http2's
// Framer, for what real servers do and x/net's Server does not: HAProxy
// resets a stream right after ending it and passes its HTTP/1.1 backend's
// Sec-WebSocket-Accept through; a server may reset a stream in the middle
// of a message. It advertises SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441
// §3) without GODEBUG, answers SETTINGS and PING, and hands every stream
// the client opens to Handler, which answers it frame by frame.
//
// Flow control (RFC 9113 §5.2, §6.9): it grants the client's DATA back as
// the handler reads it, so what it buffers is bounded by the client's
// window; what it sends stays within the client's windows, the
// connection's and the stream's, and within the client's
// SETTINGS_MAX_FRAME_SIZE. A window the client pushes above 2^31-1 is a
// FLOW_CONTROL_ERROR: GOAWAY for the connection's, RST_STREAM for a
// stream's.
type FrameServer struct {
	// Handler runs in a goroutine of its own for each stream.
	Handler func(*Stream)
}

// ServeConn serves one HTTP/2 connection (h2c with prior knowledge, or a
// TLS connection that chose h2) until the client leaves or nc fails, then
// ends every stream still open with net.ErrClosed, waits for the handlers
// to return and closes nc.
func (s *FrameServer) ServeConn(nc net.Conn) {
	defer nc.Close()
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(nc, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	c := &frameConn{queued: make(chan struct{}, 1), initWindow: 65535, window: 65535, maxFrame: 16 << 10}
	c.fr = http2.NewFramer(c, nc)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.block)
	streams := map[uint32]*Stream{}
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() { c.writeLoop(nc, done) })
	var lastID uint32
	defer func() {
		c.mu.Lock()
		if c.err == nil {
			c.err = net.ErrClosed
		}
		c.wakeWriters()
		c.mu.Unlock()
		for _, st := range streams {
			st.ended(net.ErrClosed)
		}
		// The writer flushes what is queued (a GOAWAY, say), for a
		// second at most.
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		close(done)
		wg.Wait()
	}()
	err := c.write(func(fr *http2.Framer) error {
		return fr.WriteSettings(http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1})
	})
	for err == nil {
		var f http2.Frame
		f, err = c.fr.ReadFrame()
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err = c.settings(f, streams); err == nil {
					err = c.write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() })
				}
			}
		case *http2.WindowUpdateFrame:
			err = c.windowUpdate(f.StreamID, streams[f.StreamID], f.Increment)
		case *http2.PingFrame:
			if !f.IsAck() {
				err = c.write(func(fr *http2.Framer) error { return fr.WritePing(true, f.Data) })
			}
		case *http2.MetaHeadersFrame:
			st := &Stream{Header: f.Fields, id: f.StreamID, c: c, more: make(chan struct{}, 1)}
			c.mu.Lock()
			st.window = c.initWindow
			c.mu.Unlock()
			streams[f.StreamID] = st
			lastID = max(lastID, f.StreamID)
			if f.StreamEnded() {
				st.ended(io.EOF)
			}
			wg.Go(func() { s.Handler(st) })
		case *http2.DataFrame:
			if st := streams[f.StreamID]; st != nil {
				st.received(f.Data(), f.StreamEnded())
			}
		case *http2.RSTStreamFrame:
			if st := streams[f.StreamID]; st != nil {
				st.ended(http2.StreamError{StreamID: f.StreamID, Code: f.ErrCode})
			}
		case *http2.GoAwayFrame:
			return
		}
		var se http2.StreamError
		if errors.As(err, &se) {
			err = c.reset(streams[se.StreamID], se)
		}
	}
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		c.write(func(fr *http2.Framer) error { return fr.WriteGoAway(lastID, http2.ErrCode(ce), nil) })
	}
}

// maxWindow is the largest flow-control window (RFC 9113 §6.9.1).
const maxWindow = 1<<31 - 1

// settings applies the client's SETTINGS: SETTINGS_INITIAL_WINDOW_SIZE
// moves the window of every stream by the change, which may leave it
// negative (RFC 9113 §6.9.2), and SETTINGS_MAX_FRAME_SIZE bounds DATA.
func (c *frameConn) settings(f *http2.SettingsFrame, streams map[uint32]*Stream) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.wakeWriters()
	return f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.initWindow
			c.initWindow = int64(s.Val)
			for _, st := range streams {
				if st.window += delta; st.window > maxWindow {
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
			}
		case http2.SettingMaxFrameSize:
			c.maxFrame = int(s.Val)
		}
		return nil
	})
}

// windowUpdate adds inc to the connection's window (id 0) or to st's, and
// fails the connection or resets st if that takes it above maxWindow. A
// stream it does not know is ignored.
func (c *frameConn) windowUpdate(id uint32, st *Stream, inc uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.wakeWriters()
	switch {
	case id == 0:
		if c.window += int64(inc); c.window > maxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
	case st != nil:
		if st.window += int64(inc); st.window > maxWindow {
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
		}
	}
	return nil
}

// reset resets the stream the client broke, as se says (RFC 9113
// §5.4.2): its handler's Read and Write return se.
func (c *frameConn) reset(st *Stream, se http2.StreamError) error {
	if st == nil {
		return c.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(se.StreamID, se.Code) })
	}
	st.ended(se)
	return st.Reset(se.Code)
}

// frameConn is the writing side of a FrameServer's connection, shared by
// its streams. Frames are queued and written by a goroutine of their own,
// so that the connection's reader never waits for the client to read: over
// a net.Pipe the client writes its preface and SETTINGS in one write,
// which ends only once the server has read it all, before it starts
// reading.
type frameConn struct {
	mu      sync.Mutex
	fr      *http2.Framer
	enc     *hpack.Encoder
	block   bytes.Buffer // the header block being encoded
	pending []byte       // frames queued for the writer
	err     error        // the writer's error, once it failed
	queued  chan struct{}

	// What the client lets the server send (RFC 9113 §6.9), each stream's
	// window being Stream.window.
	initWindow int64         // SETTINGS_INITIAL_WINDOW_SIZE: a new stream's window
	window     int64         // the connection's window
	maxFrame   int           // SETTINGS_MAX_FRAME_SIZE
	changed    chan struct{} // closed when writers should look again
}

// wakeWriters wakes the writers waiting for window; c.mu is held.
func (c *frameConn) wakeWriters() {
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

// wake wakes the writers waiting for window.
func (c *frameConn) wake() {
	c.mu.Lock()
	c.wakeWriters()
	c.mu.Unlock()
}

// writersWait returns a channel closed when a window, a stream or the
// connection changes; c.mu is held.
func (c *frameConn) writersWait() <-chan struct{} {
	if c.changed == nil {
		c.changed = make(chan struct{})
	}
	return c.changed
}

// write runs w, which writes frames, alone on the connection, and queues
// them.
func (c *frameConn) write(w func(*http2.Framer) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return w(c.fr)
}

// Write queues the frame the Framer wrote; c.mu is held.
func (c *frameConn) Write(p []byte) (int, error) {
	c.pending = append(c.pending, p...)
	select {
	case c.queued <- struct{}{}:
	default:
	}
	return len(p), nil
}

// writeLoop writes the queued frames to nc until done is closed or a
// write fails; once done is closed, it writes what is still queued and
// returns.
func (c *frameConn) writeLoop(nc net.Conn, done <-chan struct{}) {
	var out []byte
	for {
		last := false
		select {
		case <-c.queued:
		case <-done:
			last = true
		}
		c.mu.Lock()
		out, c.pending = c.pending, out[:0]
		c.mu.Unlock()
		if _, err := nc.Write(out); err != nil {
			c.mu.Lock()
			if c.err == nil {
				c.err = err
			}
			c.wakeWriters()
			c.mu.Unlock()
			return
		}
		if last {
			return
		}
	}
}

// Stream is a stream a client opened on a FrameServer: the handler reads
// the client's DATA with Read and answers with Respond, then Write, End
// and Reset, each of which writes its frames at once, but for the DATA
// that Write holds back until the client's windows let it go. It is a
// conn.Transport, so that conn.New can run the server's side of a
// WebSocket over it; Close does nothing: the handler ends the stream.
type Stream struct {
	// Header is the request's header block, pseudo-header fields first.
	Header []hpack.HeaderField

	id uint32
	c  *frameConn

	window int64 // the stream's send window, under c.mu

	mu        sync.Mutex
	buf       []byte    // DATA received and not yet read
	err       error     // io.EOF after the client's END_STREAM, or why the stream ended
	deadline  time.Time // of Read
	wdeadline time.Time // of Write
	closed    bool      // the server sent END_STREAM or RST_STREAM
	more      chan struct{}
}

// Get returns the value of the header field name (":protocol", say), or
// "".
func (s *Stream) Get(name string) string {
	for _, f := range s.Header {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// received adds the data of a DATA frame read by the connection.
func (s *Stream) received(p []byte, end bool) {
	s.mu.Lock()
	if s.err == nil {
		s.buf = append(s.buf, p...)
		if end {
			s.err = io.EOF
		}
	}
	s.mu.Unlock()
	s.wake()
}

// ended ends the client's side of the stream with err, unless it ended
// already.
func (s *Stream) ended(err error) {
	s.mu.Lock()
	if s.err == nil || s.err == io.EOF && err != io.EOF {
		s.err = err
	}
	s.mu.Unlock()
	s.wake()
	s.c.wake()
}

func (s *Stream) wake() {
	select {
	case s.more <- struct{}{}:
	default:
	}
}

// Read reads the client's DATA; it returns io.EOF after the client's
// END_STREAM, an http2.StreamError after its RST_STREAM, and a
// net.Error with Timeout after the read deadline. A reset drops nothing
// that arrived before it. Each read gives its bytes back to the client's
// flow-control windows.
func (s *Stream) Read(p []byte) (int, error) {
	for {
		s.mu.Lock()
		n := copy(p, s.buf)
		s.buf = s.buf[n:]
		err, dl := s.err, s.deadline
		s.mu.Unlock()
		if n > 0 {
			return n, s.c.write(func(fr *http2.Framer) error {
				// A stream the client ended takes no more DATA.
				if werr := fr.WriteWindowUpdate(0, uint32(n)); werr != nil || err != nil {
					return werr
				}
				return fr.WriteWindowUpdate(s.id, uint32(n))
			})
		}
		if err != nil || len(p) == 0 {
			return 0, err
		}
		if !waitUntil(s.more, dl) {
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// waitUntil waits for ch, or for the deadline dl unless it is zero; it
// reports false if dl had passed already.
func waitUntil(ch <-chan struct{}, dl time.Time) bool {
	if dl.IsZero() {
		<-ch
		return true
	}
	d := time.Until(dl)
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	select {
	case <-ch:
	case <-t.C:
	}
	t.Stop()
	return true
}

// Respond sends the response's HEADERS: :status, then fields, without
// END_STREAM.
func (s *Stream) Respond(status int, fields ...hpack.HeaderField) error {
	return s.c.write(func(fr *http2.Framer) error {
		s.c.block.Reset()
		s.c.enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
		for _, f := range fields {
			s.c.enc.WriteField(f)
		}
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: s.c.block.Bytes(), EndHeaders: true})
	})
}

// Write sends p in DATA frames no larger than the client's
// SETTINGS_MAX_FRAME_SIZE, as the client's windows allow (RFC 9113 §6.9):
// it waits for the client's WINDOW_UPDATE or SETTINGS until the write
// deadline. It returns ErrStreamClosed after End or Reset, an
// http2.StreamError after the client's RST_STREAM, net.ErrClosed once the
// connection ended, and a net.Error with Timeout at the deadline, with
// the count of the bytes sent before.
func (s *Stream) Write(p []byte) (int, error) {
	n := 0
	for {
		var wait <-chan struct{}
		var dl time.Time
		err := s.c.write(func(fr *http2.Framer) error {
			for {
				if err := s.writable(&dl); err != nil || n == len(p) {
					return err
				}
				k := min(int64(len(p)-n), int64(s.c.maxFrame), s.c.window, s.window)
				if k <= 0 {
					wait = s.c.writersWait()
					return nil
				}
				if err := fr.WriteData(s.id, false, p[n:n+int(k)]); err != nil {
					return err
				}
				s.c.window -= k
				s.window -= k
				n += int(k)
			}
		})
		if err != nil || wait == nil {
			return n, err
		}
		waitUntil(wait, dl)
	}
}

// writable returns why Write may not send now, and sets *dl to the write
// deadline; s.c.mu is held.
func (s *Stream) writable(dl *time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	*dl = s.wdeadline
	switch {
	case s.closed:
		return ErrStreamClosed
	case s.err != nil && s.err != io.EOF:
		return s.err
	case !s.wdeadline.IsZero() && !time.Now().Before(s.wdeadline):
		return os.ErrDeadlineExceeded
	}
	return nil
}

// WriteFrame has w write any frame, on the stream's ID or another, as
// it is: for servers that break the rules.
func (s *Stream) WriteFrame(w func(fr *http2.Framer, id uint32) error) error {
	return s.c.write(func(fr *http2.Framer) error { return w(fr, s.id) })
}

// End ends the server's side of the stream: an empty DATA frame with
// END_STREAM.
func (s *Stream) End() error {
	return s.c.write(func(fr *http2.Framer) error {
		s.setClosed()
		return fr.WriteData(s.id, true, nil)
	})
}

// Reset resets the stream with code (RST_STREAM), whether or not End came
// first.
func (s *Stream) Reset(code http2.ErrCode) error {
	return s.c.write(func(fr *http2.Framer) error {
		s.setClosed()
		return fr.WriteRSTStream(s.id, code)
	})
}

// setClosed marks the stream ended by the server and wakes its writers;
// s.c.mu is held.
func (s *Stream) setClosed() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.c.wakeWriters()
}

// Close does nothing: the handler ends the stream with End or Reset.
func (s *Stream) Close() error { return nil }

// SetReadDeadline sets the deadline of Read, blocked or future.
func (s *Stream) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	s.deadline = t
	s.mu.Unlock()
	s.wake()
	return nil
}

// SetWriteDeadline sets the deadline of Write, blocked or future.
func (s *Stream) SetWriteDeadline(t time.Time) error {
	s.mu.Lock()
	s.wdeadline = t
	s.mu.Unlock()
	s.c.wake()
	return nil
}

// Pipes dials in-memory connections (net.Pipe) and serves the server's
// end of each with Serve, in a goroutine of its own: a conn.Dialer's
// NetDial for tests inside a synctest bubble, where real sockets cannot
// be used and everything runs on the bubble's clock. The zero value needs
// Serve set; Close ends it.
type Pipes struct {
	// Serve serves one connection and returns when it ends.
	Serve func(net.Conn)

	mu   sync.Mutex
	ends []net.Conn
	wg   sync.WaitGroup
}

// Dial returns the client's end of a new pipe; it never fails.
func (p *Pipes) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	client, server := net.Pipe()
	p.mu.Lock()
	p.ends = append(p.ends, server)
	p.mu.Unlock()
	p.wg.Go(func() { p.Serve(server) })
	return client, nil
}

// Close closes the server's end of every pipe dialed and waits for Serve
// to return on each.
func (p *Pipes) Close() {
	p.mu.Lock()
	for _, nc := range p.ends {
		nc.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
