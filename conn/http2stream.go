package conn

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// h2CloseGrace bounds how long closing a WebSocket over HTTP/2 waits for
// the server to end its side of the stream (END_STREAM) after ours; a
// server that never does gets RST_STREAM CANCEL then.
const h2CloseGrace = time.Second

// h2ChunkSize is the most a read of the response body takes at once: one
// HTTP/2 DATA frame at the default SETTINGS_MAX_FRAME_SIZE.
const h2ChunkSize = 16 << 10

// h2SmallChunkSize is what a read of the response body takes at once
// after a read that did not fill its chunk: small messages flow in small
// chunks, and a stream that waits for the server holds no more.
const h2SmallChunkSize = 512

var (
	h2ChunkPool      = sync.Pool{New: func() any { b := make([]byte, h2ChunkSize); return &b }}
	h2SmallChunkPool = sync.Pool{New: func() any { b := make([]byte, h2SmallChunkSize); return &b }}
)

// putChunk gives a chunk back to its pool.
func putChunk(c *[]byte) {
	if len(*c) == h2SmallChunkSize {
		h2SmallChunkPool.Put(c)
	} else {
		h2ChunkPool.Put(c)
	}
}

// errStreamClosed is the error of a write on a stream the HTTP/2 layer has
// ended: reset by the peer, or the connection under it lost.
var errStreamClosed = errors.New("conn: HTTP/2 stream closed")

// h2Stream is the [Transport] of a WebSocket over an HTTP/2 stream (RFC
// 8441): writes become the request body's DATA frames, reads come from the
// response body. The HTTP/2 bodies have no deadlines, so the adapter
// implements them: the response body is read by a goroutine of the
// stream's, started by the first Read, into pooled chunks that Read
// returns from, so a Read stopped by its deadline loses no byte; a write
// hands its bytes to the HTTP/2 layer's body reader (h2Body), within the
// write deadline.
type h2Stream struct {
	body   io.ReadCloser      // response body: the server's side
	req    *h2Body            // request body: ours
	cancel context.CancelFunc // resets the stream (RST_STREAM CANCEL)
	local  net.Addr
	remote net.Addr

	rd, wd deadline

	mu       sync.Mutex
	chunk    *[]byte       // pooled buffer of unread
	unread   []byte        // bytes read from body, not yet returned
	rerr     error         // the body's read error, after unread
	pumping  bool          // the pump has started
	pumpWait bool          // the pump waits for unread to be returned
	filled   chan struct{} // signalled (capacity 1) to Read when the pump has read
	drained  chan struct{} // signalled (capacity 1) to the pump when unread is returned
	ended    chan struct{} // closed by finish: the pump returns

	endOnce sync.Once
	onEnd   func() // gives the stream's slot back to its HTTP/2 connection
}

func newH2Stream(body io.ReadCloser, req *h2Body, cancel context.CancelFunc, onEnd func()) *h2Stream {
	return &h2Stream{
		body: body, req: req, cancel: cancel, onEnd: onEnd,
		rd: deadline{parent: context.Background()}, wd: deadline{parent: context.Background()},
		filled: make(chan struct{}, 1),
		ended:  make(chan struct{}),
	}
}

// Read returns bytes of the server's side of the stream, waiting for them
// until the read deadline.
func (s *h2Stream) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		s.mu.Lock()
		if len(s.unread) > 0 {
			n := copy(b, s.unread)
			s.unread = s.unread[n:]
			if len(s.unread) == 0 {
				putChunk(s.chunk)
				s.chunk, s.unread = nil, nil
				if s.pumpWait {
					s.pumpWait = false
					signal(s.drained)
				}
			}
			s.mu.Unlock()
			return n, nil
		}
		if s.rerr != nil {
			err := s.rerr
			s.mu.Unlock()
			return 0, err
		}
		if !s.pumping {
			s.pumping = true
			s.drained = make(chan struct{}, 1)
			go s.pump()
		}
		s.mu.Unlock()
		select {
		case <-s.filled:
		case <-s.rd.context().Done():
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// pump is the goroutine that reads the body for Read, started by the
// first Read and ended by the body's error or by finish. It reads ahead:
// it waits for the next bytes while Read returns the last ones, and
// waits for Read only when it has more bytes before those are returned.
func (s *h2Stream) pump() {
	pool := &h2SmallChunkPool
	for {
		c := pool.Get().(*[]byte)
		n, err := s.body.Read(*c)
		full := n == len(*c)
		s.mu.Lock()
		for n > 0 && len(s.unread) > 0 {
			s.pumpWait = true
			s.mu.Unlock()
			select {
			case <-s.drained:
			case <-s.ended:
				putChunk(c)
				return
			}
			s.mu.Lock()
		}
		if n > 0 {
			s.chunk, s.unread = c, (*c)[:n]
		} else {
			putChunk(c)
		}
		if err != nil && s.rerr == nil {
			s.rerr = err
		}
		s.mu.Unlock()
		signal(s.filled)
		if err != nil {
			return
		}
		pool = &h2SmallChunkPool
		if full {
			pool = &h2ChunkPool // more is likely waiting
		}
	}
}

// Write sends b as DATA on our side of the stream, within the write
// deadline. Bytes taken by the HTTP/2 layer count as written: they leave
// as HTTP/2 flow control allows.
func (s *h2Stream) Write(b []byte) (int, error) {
	return s.req.offer(b, s.wd.context().Done())
}

func (s *h2Stream) SetReadDeadline(t time.Time) error  { s.rd.set(t); return nil }
func (s *h2Stream) SetWriteDeadline(t time.Time) error { s.wd.set(t); return nil }

// Close ends our side of the stream (END_STREAM, after the bytes written),
// waits up to h2CloseGrace for the server to end its side, dropping what
// it still sends, and resets the stream if it has not.
func (s *h2Stream) Close() error {
	s.req.end()
	s.rd.set(time.Now().Add(h2CloseGrace))
	var scratch [512]byte
	for {
		if _, err := s.Read(scratch[:]); err != nil {
			break
		}
	}
	// The HTTP/2 layer closes the request body once it is done with the
	// stream, our END_STREAM sent.
	select {
	case <-s.req.gone:
	case <-s.rd.context().Done():
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
// buffers and gives its slot back.
func (s *h2Stream) finish() {
	s.endOnce.Do(func() {
		close(s.ended)
		s.mu.Lock()
		if s.rerr == nil {
			s.rerr = errStreamClosed
		}
		s.mu.Unlock()
		s.cancel()
		s.req.abandon()
		s.body.Close()
		s.rd.stop()
		s.wd.stop()
		s.onEnd()
	})
}

func (s *h2Stream) LocalAddr() net.Addr  { return s.local }
func (s *h2Stream) RemoteAddr() net.Addr { return s.remote }

// h2Body is the request body of a WebSocket's stream: the HTTP/2 layer's
// body writer reads what Write offers. A write of at most h2ChunkSize bytes
// is copied into a pooled chunk and returns at once, so the writer does not
// wait for the body writer's goroutine; the chunk goes back to the pool
// once the body writer has taken every byte in it. A larger write is
// handed over without a copy and waits until it is taken. Only one write
// is in progress at a time: a Conn writes under its write lock.
type h2Body struct {
	mu     sync.Mutex
	chunk  *[]byte       // pooled buffer that p is in, or nil when p is the caller's
	p      []byte        // bytes offered, not taken yet
	ended  bool          // our side ended: Read returns io.EOF once p is taken
	closed bool          // the HTTP/2 layer is done with the body: offers fail
	ready  chan struct{} // signalled (capacity 1) to the body reader
	taken  chan struct{} // signalled (capacity 1) to the offer when p is all taken
	gone   chan struct{} // closed when the HTTP/2 layer closes the body
	once   sync.Once
}

func newH2Body() *h2Body {
	return &h2Body{ready: make(chan struct{}, 1), taken: make(chan struct{}, 1), gone: make(chan struct{})}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Read is the HTTP/2 layer's: it blocks until an offer, the end of our
// side, or the body's close.
func (b *h2Body) Read(p []byte) (int, error) {
	for {
		b.mu.Lock()
		switch {
		case b.closed:
			b.mu.Unlock()
			return 0, errStreamClosed
		case len(b.p) > 0:
			n := copy(p, b.p)
			b.p = b.p[n:]
			if len(b.p) == 0 {
				b.drained()
			}
			b.mu.Unlock()
			return n, nil
		case b.ended:
			b.mu.Unlock()
			return 0, io.EOF
		}
		b.mu.Unlock()
		<-b.ready
	}
}

// drained forgets p, gives its chunk back and tells a waiting offer. The
// caller holds b.mu.
func (b *h2Body) drained() {
	if b.chunk != nil {
		putChunk(b.chunk)
		b.chunk = nil
	}
	b.p = nil
	signal(b.taken)
}

// Close is the HTTP/2 layer's, when it is done with the body: the stream
// ended or was reset. A pending offer fails.
func (b *h2Body) Close() error {
	b.abandon()
	b.once.Do(func() { close(b.gone) })
	return nil
}

// abandon makes offers fail from now on and drops the copied bytes not
// taken; a caller's bytes stay until its offer sees the failure.
func (b *h2Body) abandon() {
	b.mu.Lock()
	b.closed = true
	if b.chunk != nil {
		b.drained()
	}
	b.mu.Unlock()
	signal(b.ready)
	signal(b.taken)
}

// end ends our side: the body reader sees io.EOF and sends END_STREAM.
func (b *h2Body) end() {
	b.mu.Lock()
	b.ended = true
	b.mu.Unlock()
	signal(b.ready)
}

// offer hands p to the body reader, waiting until stop for the bytes of an
// earlier offer to be taken, and reports how much of p was taken or
// copied.
func (b *h2Body) offer(p []byte, stop <-chan struct{}) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b.mu.Lock()
	for len(b.p) > 0 && !b.closed && !b.ended {
		b.mu.Unlock()
		select {
		case <-b.taken:
		case <-stop:
			return 0, os.ErrDeadlineExceeded
		}
		b.mu.Lock()
	}
	if b.closed || b.ended {
		b.mu.Unlock()
		return 0, errStreamClosed
	}
	select {
	case <-b.taken: // a stale signal from an earlier offer
	default:
	}
	if len(p) <= h2ChunkSize {
		pool := &h2ChunkPool
		if len(p) <= h2SmallChunkSize {
			pool = &h2SmallChunkPool
		}
		b.chunk = pool.Get().(*[]byte)
		b.p = append((*b.chunk)[:0], p...)
		b.mu.Unlock()
		signal(b.ready)
		return len(p), nil
	}
	b.p = p
	b.mu.Unlock()
	signal(b.ready)
	var err error
	select {
	case <-b.taken:
	case <-stop:
		err = os.ErrDeadlineExceeded
	}
	b.mu.Lock()
	n := len(p) - len(b.p)
	switch {
	case len(b.p) == 0:
		err = nil
	case b.closed:
		err = errStreamClosed
	}
	if err != nil {
		b.p = nil // the rest is not ours to send any more
	}
	b.mu.Unlock()
	return n, err
}
