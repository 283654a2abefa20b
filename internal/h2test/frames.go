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
// Flow control: it grants the client's DATA back as the handler reads it,
// so what it buffers is bounded by the client's window (RFC 9113 §5.2);
// it ignores the client's window for what it sends, which suits the
// small messages of tests.
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
	c := &frameConn{queued: make(chan struct{}, 1)}
	c.fr = http2.NewFramer(c, nc)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.block)
	streams := map[uint32]*Stream{}
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() { c.writeLoop(nc, done) })
	defer func() {
		nc.Close() // the writer's write fails
		for _, st := range streams {
			st.ended(net.ErrClosed)
		}
		close(done)
		wg.Wait()
	}()
	err := c.write(func(fr *http2.Framer) error {
		return fr.WriteSettings(http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1})
	})
	for err == nil {
		var f http2.Frame
		if f, err = c.fr.ReadFrame(); err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				err = c.write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() })
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				err = c.write(func(fr *http2.Framer) error { return fr.WritePing(true, f.Data) })
			}
		case *http2.MetaHeadersFrame:
			st := &Stream{Header: f.Fields, id: f.StreamID, c: c, more: make(chan struct{}, 1)}
			streams[f.StreamID] = st
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
	}
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
// write fails.
func (c *frameConn) writeLoop(nc net.Conn, done <-chan struct{}) {
	var out []byte
	for {
		select {
		case <-c.queued:
		case <-done:
			return
		}
		c.mu.Lock()
		out, c.pending = c.pending, out[:0]
		c.mu.Unlock()
		if _, err := nc.Write(out); err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
	}
}

// Stream is a stream a client opened on a FrameServer: the handler reads
// the client's DATA with Read and answers with Respond, then Write, End
// and Reset, each of which writes its frames at once. It is a
// conn.Transport, so that conn.New can run the server's side of a
// WebSocket over it; Close does nothing: the handler ends the stream.
type Stream struct {
	// Header is the request's header block, pseudo-header fields first.
	Header []hpack.HeaderField

	id uint32
	c  *frameConn

	mu       sync.Mutex
	buf      []byte    // DATA received and not yet read
	err      error     // io.EOF after the client's END_STREAM, or why the stream ended
	deadline time.Time // of Read
	closed   bool      // the server sent END_STREAM or RST_STREAM
	more     chan struct{}
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
		if dl.IsZero() {
			<-s.more
			continue
		}
		d := time.Until(dl)
		if d <= 0 {
			return 0, os.ErrDeadlineExceeded
		}
		t := time.NewTimer(d)
		select {
		case <-s.more:
		case <-t.C:
		}
		t.Stop()
	}
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

// Write sends p in DATA frames of at most 16 KiB, the frame size every
// peer accepts (RFC 9113 §4.2).
func (s *Stream) Write(p []byte) (int, error) {
	n := 0
	err := s.c.write(func(fr *http2.Framer) error {
		if s.isClosed() {
			return ErrStreamClosed
		}
		for n < len(p) {
			k := min(len(p)-n, 16<<10)
			if err := fr.WriteData(s.id, false, p[n:n+k]); err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
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

func (s *Stream) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Stream) setClosed() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
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

// SetWriteDeadline does nothing: a write waits only for the connection.
func (s *Stream) SetWriteDeadline(time.Time) error { return nil }

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
