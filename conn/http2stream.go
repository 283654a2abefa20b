package conn

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// h2CloseGrace bounds how long closing a WebSocket over HTTP/2 waits for
// the server to end its side of the stream (END_STREAM) after ours; a
// server that never does gets RST_STREAM CANCEL then.
const h2CloseGrace = time.Second

// Sizes of the pooled buffers that hold a stream's received bytes until
// they are read: small messages take a small one, a full DATA frame at
// the default SETTINGS_MAX_FRAME_SIZE a large one. An idle stream holds
// none.
const (
	h2SmallChunkSize = 512
	h2ChunkSize      = 16 << 10
)

var (
	h2ChunkPool      = sync.Pool{New: func() any { b := make([]byte, 0, h2ChunkSize); return &b }}
	h2SmallChunkPool = sync.Pool{New: func() any { b := make([]byte, 0, h2SmallChunkSize); return &b }}
)

// errStreamClosed is the error of a write on a stream whose side the
// client has ended, or a read after the stream was closed.
var errStreamClosed = errors.New("conn: HTTP/2 stream closed")

// h2Stream is the [Transport] of a WebSocket over an HTTP/2 stream (RFC
// 8441): writes become DATA frames written by the caller under the
// connection's write lock; reads take what the connection's read loop
// put in the stream's buffer, so a Read stopped by its deadline loses no
// byte. An idle stream has no goroutine and no buffer.
type h2Stream struct {
	c      *h2Client
	id     uint32
	local  net.Addr
	remote net.Addr
	onEnd  func() // gives the stream's slot back to its connection

	rd, wd   deadline
	readable chan struct{} // signalled (capacity 1) when the read loop changed the stream
	endOnce  sync.Once
	cut      atomic.Bool // the last write stopped after part of its bytes: Close resets
	wmu      sync.Mutex  // orders the socket's write deadline between writing and SetWriteDeadline
	inWrite  bool        // under wmu: a write of the stream's is on the socket

	// Under c.mu:
	chunk       *[]byte // pooled buffer of buf, or nil when buf was grown
	buf         []byte  // received bytes: buf[r:] are unread
	r           int
	rerr        error // after the unread bytes: io.EOF, or the stream's loss
	werr        error // why writes fail
	sendWindow  int64
	recvWindow  int64
	consumed    int64 // bytes read (or padding) not yet given back in a WINDOW_UPDATE
	localEnded  bool
	remoteEnded bool
	status      int         // the answer's :status; 0 until it came
	header      http.Header // the answer's fields, until the dial took them
}

func newH2Stream(c *h2Client, id uint32) *h2Stream {
	return &h2Stream{
		c: c, id: id, onEnd: func() {},
		local: c.nc.LocalAddr(), remote: c.nc.RemoteAddr(),
		rd: deadline{parent: context.Background()}, wd: deadline{parent: context.Background()},
		readable:   make(chan struct{}, 1),
		sendWindow: c.initWindow,
		recvWindow: h2StreamWindow,
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// push appends data to the stream's buffer. c.mu is held.
func (s *h2Stream) push(data []byte) {
	if len(data) == 0 {
		return
	}
	if s.r == len(s.buf) {
		s.buf, s.r = s.buf[:0], 0
	}
	if s.buf == nil {
		pool := &h2SmallChunkPool
		if len(data) > h2SmallChunkSize {
			pool = &h2ChunkPool
		}
		s.chunk = pool.Get().(*[]byte)
		s.buf = (*s.chunk)[:0]
	}
	if cap(s.buf)-len(s.buf) < len(data) && s.r > 0 {
		s.buf = s.buf[:copy(s.buf, s.buf[s.r:])]
		s.r = 0
	}
	if cap(s.buf)-len(s.buf) < len(data) {
		// The stream window bounds what the server may send ahead.
		nb := make([]byte, len(s.buf), max(2*cap(s.buf), len(s.buf)+len(data)))
		copy(nb, s.buf)
		s.putChunk()
		s.buf = nb
	}
	s.buf = append(s.buf, data...)
}

// putChunk gives the pooled buffer back and forgets buf. c.mu is held.
func (s *h2Stream) putChunk() {
	if s.chunk != nil {
		if cap(*s.chunk) == h2SmallChunkSize {
			h2SmallChunkPool.Put(s.chunk)
		} else {
			h2ChunkPool.Put(s.chunk)
		}
	}
	s.chunk, s.buf, s.r = nil, nil, 0
}

// setReadErr records the error reads return after the unread bytes, if
// none is. c.mu is held.
func (s *h2Stream) setReadErr(err error) {
	if s.rerr == nil {
		s.rerr = err
	}
}

// end records the stream's loss, with err: the connection's read loop
// took it away. c.mu is held.
func (s *h2Stream) end(err error) {
	s.setReadErr(err)
	if s.werr == nil {
		s.werr = err
	}
	s.localEnded, s.remoteEnded = true, true
	signal(s.readable)
}

// Read returns bytes of the server's side of the stream, waiting for them
// until the read deadline.
func (s *h2Stream) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	return s.read(b, nil)
}

// read is Read, also stopped by stop.
func (s *h2Stream) read(b []byte, stop <-chan struct{}) (int, error) {
	c := s.c
	for {
		c.mu.Lock()
		if s.r < len(s.buf) {
			n := copy(b, s.buf[s.r:])
			s.r += n
			if s.r == len(s.buf) {
				s.putChunk()
			}
			s.consumed += int64(n)
			var give int64
			if s.consumed >= h2StreamWindow/4 && !s.remoteEnded {
				give, s.consumed = s.consumed, 0
				s.recvWindow += give
			}
			c.mu.Unlock()
			if give > 0 {
				c.windowUpdate(s.id, give)
			}
			return n, nil
		}
		if err := s.rerr; err != nil {
			c.mu.Unlock()
			return 0, err
		}
		c.mu.Unlock()
		select {
		case <-s.readable:
		case <-stop:
			return 0, os.ErrDeadlineExceeded
		case <-s.rd.done():
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// answer waits until stop for the server's answer to the CONNECT, and
// returns its status and fields.
func (s *h2Stream) answer(stop <-chan struct{}) (int, http.Header, error) {
	c := s.c
	for {
		c.mu.Lock()
		code, h, err := s.status, s.header, s.rerr
		s.header = nil
		c.mu.Unlock()
		switch {
		case code != 0:
			return code, h, nil
		case err != nil:
			return 0, nil, err
		}
		select {
		case <-s.readable:
		case <-stop:
			return 0, nil, os.ErrDeadlineExceeded
		}
	}
}

// stoppedBody is the response body of a refused CONNECT: the stream's
// bytes, read until stop.
type stoppedBody struct {
	s    *h2Stream
	stop <-chan struct{}
}

func (b stoppedBody) Read(p []byte) (int, error) { return b.s.read(p, b.stop) }

// Write sends b as DATA on our side of the stream, as HTTP/2 flow control
// allows, until the write deadline.
func (s *h2Stream) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, err := s.c.send(s, b, s.wd.context().Done())
	switch {
	case err == nil && s.cut.Load():
		s.cut.Store(false) // the next send began with the rest of the cut frame
	case n > 0 && err != nil:
		s.cut.Store(true)
	}
	return n, err
}

// SetReadDeadline moves the read deadline, waking a waiting Read to look
// at it.
func (s *h2Stream) SetReadDeadline(t time.Time) error {
	s.rd.set(t)
	signal(s.readable)
	return nil
}

// SetWriteDeadline moves the write deadline. On a solo connection it
// moves the socket's too while a write of the stream's is on it.
func (s *h2Stream) SetWriteDeadline(t time.Time) error {
	s.wd.set(t)
	if s.c.solo.Load() {
		s.wmu.Lock()
		if s.inWrite {
			s.c.nc.SetWriteDeadline(s.c.writeLimit(t))
		}
		s.wmu.Unlock()
	}
	return nil
}

// writing marks the start (true) or end of a write of the stream's on
// the socket, under the connection's write lock; at the start it sets the
// socket's write deadline (see h2Client.writeLimit).
func (s *h2Stream) writing(on bool) {
	s.wmu.Lock()
	s.inWrite = on
	if on {
		s.c.nc.SetWriteDeadline(s.c.writeLimit(s.wd.until()))
	}
	s.wmu.Unlock()
}

// Close ends our side of the stream (END_STREAM, after the bytes
// written), waits up to h2CloseGrace for the server to end its side,
// dropping what it still sends, and resets the stream if it has not. A
// stream whose last write stopped halfway is reset at once: what the
// server got ends in the middle of a WebSocket frame.
func (s *h2Stream) Close() error {
	if s.cut.Load() {
		return s.Abort()
	}
	s.SetReadDeadline(time.Now().Add(h2CloseGrace))
	if s.c.endStream(s, s.rd.context().Done()) == nil {
		var scratch [512]byte
		for {
			if _, err := s.Read(scratch[:]); err != nil {
				break
			}
		}
	}
	s.finish()
	return nil
}

// Abort resets the stream at once (RST_STREAM CANCEL), dropping unsent
// data: CloseNow over HTTP/2. The HTTP/2 connection stays.
func (s *h2Stream) Abort() error {
	s.finish()
	return nil
}

// finish resets the stream unless both sides have ended it, releases its
// buffer and gives its slot back.
func (s *h2Stream) finish() {
	s.endOnce.Do(func() {
		c := s.c
		c.mu.Lock()
		open := c.streams[s.id] == s
		delete(c.streams, s.id)
		s.setReadErr(errStreamClosed)
		s.rerr = errStreamClosed
		if s.werr == nil {
			s.werr = errStreamClosed
		}
		signal(s.readable) // a Read waiting with no deadline returns
		s.putChunk()
		c.wakeWriters()
		c.maybeIdle()
		c.mu.Unlock()
		if open {
			c.reset(s.id, http2.ErrCodeCancel)
		}
		s.rd.stop()
		s.wd.stop()
		s.onEnd()
	})
}

func (s *h2Stream) LocalAddr() net.Addr  { return s.local }
func (s *h2Stream) RemoteAddr() net.Addr { return s.remote }
