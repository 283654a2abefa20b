package reader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sync"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/grow"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/status"
)

const (
	// DefaultMaxFrameSize is the frame size limit of a Reader whose
	// MaxFrameSize is zero: 16 MiB.
	DefaultMaxFrameSize = 16 << 20

	// DefaultBufferSize is the read buffer size of [New].
	DefaultBufferSize = 4096

	minBufferSize = 64
	maxBufferSize = 1 << 20

	// waitSize is the size of the buffer inside the Reader that a call
	// waits for the next header in when its source is not a socket it
	// can wait on without a buffer (see fillRaw). It holds any header and
	// a small frame whole (a 16 B message from a server takes 18 bytes),
	// and it is no larger than minBufferSize, so a pooled buffer can take
	// over what it holds.
	waitSize = 48

	// maxRetained is the largest ReadFrame payload buffer a Reader keeps
	// for the next frame; a bigger one is dropped when the next call
	// starts, so one large frame does not pin its memory for the life of
	// the connection.
	maxRetained = 1 << 20

	// len16Bit and len64Bit are the 7-bit lengths that announce a 16-bit
	// and a 64-bit one.
	len16Bit = 126
	len64Bit = 127

	// maxEmptyReads is how many (0, nil) results from the source are
	// tolerated in a row before io.ErrNoProgress.
	maxEmptyReads = 100
)

// Errors returned by a Reader for frames that break its role's rules. Each
// is a *[frame.Error] carrying the close code to fail the connection with.
var (
	// ErrFrameTooLarge reports a frame whose declared length exceeds
	// MaxFrameSize (close code 1009). It matches [frame.ErrTooBig].
	ErrFrameTooLarge = frame.NewError(status.MessageTooBig, "reader: frame exceeds the size limit")
	// ErrMaskedFrame reports a masked frame read by a client (RFC 6455
	// §5.1; close code 1002). It matches [frame.ErrProtocol].
	ErrMaskedFrame = frame.NewError(status.ProtocolError, "reader: masked frame from a server")
	// ErrUnmaskedFrame reports an unmasked frame read by a server (§5.1;
	// close code 1002). It matches [frame.ErrProtocol].
	ErrUnmaskedFrame = frame.NewError(status.ProtocolError, "reader: unmasked frame from a client")
)

var errInvalidRead = errors.New("reader: source returned an invalid count")

// pools caches read buffers between Readers, one pool per power-of-two
// size. It holds no state a caller can observe: a buffer is taken once
// the bytes of a frame start to arrive and returned, empty, when nothing
// is left buffered.
var pools [bits.UintSize]sync.Pool

const (
	stateHeader = iota // between frames
	stateStream        // header returned by ReadHeader; payload read with Read
	stateFrame         // ReadFrame collecting a payload
)

// Reader reads WebSocket frames (RFC 6455 §5.2) from a byte stream. The
// zero Reader must be given a source with [Reader.Reset]; the configuration
// fields may be set at any time between calls.
//
// Reader is websocket-client's frame_buffer. A Reader is not safe for
// concurrent use.
type Reader struct {
	// MaxFrameSize is the largest payload length accepted: 0 means
	// DefaultMaxFrameSize and a negative value means no limit.
	MaxFrameSize int64
	// WholeMax, if positive, is the longest frame ReadWhole takes: a
	// longer one is left to ReadHeader, so that a caller whose message
	// limit is below the read buffer's size sees the length the header
	// declares before the payload arrives.
	WholeMax int64
	// Server selects the server role, in which every frame must be
	// masked. In the default client role a masked frame is an error.
	Server bool
	// Policy says which reserved bits an extension allows and whether
	// close reasons are checked for UTF-8.
	Policy frame.Policy

	// state and keyPos sit in the padding after Policy, which keeps a
	// Reader within 240 bytes.
	state  uint8 // stateHeader, stateStream or stateFrame
	keyPos uint8 // masking key phase of the next payload byte, 0 to 3

	src  io.Reader
	raw  *rawWait // how to wait on src without a buffer, if it can (set by fill)
	size int      // read buffer size, a power of two
	bufp *[]byte
	buf  []byte // *bufp while a pooled buffer is held, wait[:] or nil
	r, w int    // buf[r:w] is buffered and unread
	rerr error  // source error not yet returned
	// wait is the buffer a read between frames blocks on, so a Reader
	// waiting for a message holds no pooled buffer.
	wait [waitSize]byte

	hdr     frame.Header
	remain  int64  // payload bytes not yet read
	payload []byte // ReadFrame's payload, collected so far
	err     error  // protocol error; the stream cannot continue
}

// New returns a client-role Reader of src with a DefaultBufferSize read
// buffer.
func New(src io.Reader) *Reader {
	return NewSize(src, DefaultBufferSize)
}

// NewSize returns a client-role Reader of src whose read buffer holds size
// bytes, rounded up to a power of two between 64 bytes and 1 MiB. The
// buffer is only held while a call is reading a frame or bytes are
// buffered. A call waiting for the next frame on a *net.TCPConn or
// *net.UnixConn (on unix systems) holds no buffer: it waits until the
// socket is readable, then takes the buffer and reads with one system
// call. On any other source it waits with a small buffer of its own and
// takes the read buffer once more bytes arrive than that holds.
func NewSize(src io.Reader, size int) *Reader {
	return &Reader{src: src, size: roundSize(size)}
}

func roundSize(size int) int {
	switch {
	case size <= minBufferSize:
		return minBufferSize
	case size >= maxBufferSize:
		return maxBufferSize
	}
	return 1 << bits.Len(uint(size-1))
}

// Reset discards all state, buffered bytes and any error, and makes r read
// from src. The configuration fields are kept.
func (r *Reader) Reset(src io.Reader) {
	r.r, r.w = 0, 0
	r.release()
	r.src = src
	r.raw = nil
	r.rerr = nil
	r.state = stateHeader
	r.hdr = frame.Header{}
	r.remain, r.keyPos = 0, 0
	r.err = nil
}

// Wait waits until the next frame's first bytes arrive and reads them
// into the buffer, as the next call would, when r is between frames with
// nothing buffered and its source is a socket it waits on without a
// buffer (see [NewSize]); at any other time it returns nil at once. It
// returns the source's error, which leaves r as any read that failed
// does: the next call reads again.
//
// Wait is for a caller whose reads go deep into its call stack: a
// goroutine blocks in Wait with the stack it has at the call. One that
// waits for the next message near the top of its stack so keeps the
// smallest stack a goroutine starts with, and then reads what came.
func (r *Reader) Wait() error {
	if r.err != nil || r.rerr != nil || r.remain != 0 || r.state == stateFrame || r.r != r.w || r.bufp != nil || !r.waitsRaw() {
		return nil
	}
	err := r.fillRaw()
	if err != nil {
		r.release()
	}
	return err
}

// Buffered returns the number of bytes read from the source and not yet
// consumed.
func (r *Reader) Buffered() int { return r.w - r.r }

// ReadHeader discards whatever is left of the current frame's payload and
// returns the next frame's header, validated: reserved bits and opcodes
// (per Policy), control frame rules, masking for the role and the size
// limit. Its payload is then read, unmasked, with [Reader.Read] or skipped
// with [Reader.Discard].
//
// A protocol error is final: every later call returns it until Reset. A
// source error, a timeout included, leaves the state as it was, and the
// next call continues the same frame.
func (r *Reader) ReadHeader() (frame.Header, error) {
	if r.err == nil && r.remain == 0 {
		r.state = stateHeader
		if err := r.fillEmpty(); err != nil {
			return frame.Header{}, err
		}
		if r.parseBuffered() {
			r.state = stateStream
			r.release()
			return r.hdr, nil
		}
	}
	return r.readHeader()
}

// readHeader is ReadHeader for every case parseBuffered leaves: a payload
// to skip, a header not yet buffered or an error.
func (r *Reader) readHeader() (frame.Header, error) {
	if r.err != nil {
		return frame.Header{}, r.err
	}
	defer r.release()
	if err := r.skip(); err != nil {
		return frame.Header{}, err
	}
	if err := r.next(); err != nil {
		return frame.Header{}, err
	}
	r.state = stateStream
	return r.hdr, nil
}

// Read reads the current frame's payload, unmasked, into p. It returns
// io.EOF at the end of the payload, and when no frame was started with
// ReadHeader.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.state != stateStream || r.remain == 0 {
		return 0, io.EOF
	}
	n, err := r.readPayload(p)
	r.release()
	return n, err
}

// Discard skips the rest of the current frame's payload.
func (r *Reader) Discard() error {
	if r.err != nil {
		return r.err
	}
	defer r.release()
	return r.skip()
}

// ReadFrame reads a whole frame. Its Payload is unmasked, held in a buffer
// the Reader reuses, and valid until the next call on r. A frame started by
// ReadHeader is discarded first; a ReadFrame interrupted by a source error
// continues where it stopped.
//
// Beyond the checks of ReadHeader, a close frame's payload is checked with
// [frame.ParseClose]; such an error leaves the stream at the next frame.
func (r *Reader) ReadFrame() (frame.Frame, error) {
	if r.err == nil && r.state == stateHeader && r.remain == 0 && cap(r.payload) <= maxRetained {
		if err := r.fillEmpty(); err != nil {
			return frame.Frame{}, err
		}
		if !r.parseBuffered() {
			return r.readFrame()
		}
		// Often the payload came with the header, and after the first
		// frames the payload buffer is big enough for it.
		n := int(r.hdr.Length)
		if n > r.w-r.r || n > cap(r.payload) {
			r.state = stateFrame
			r.payload = r.payload[:0]
			return r.readFrame()
		}
		p := r.payload[:n]
		r.r += copy(p, r.buf[r.r:])
		r.remain = 0
		if r.hdr.Masked {
			mask.Apply(p, r.hdr.Key, 0)
		}
		r.release()
		if r.hdr.Opcode == frame.OpClose {
			if err := validateClose(p, r.Policy); err != nil {
				return frame.Frame{}, err
			}
		}
		return frame.Frame{Header: r.hdr, Payload: p}, nil
	}
	return r.readFrame()
}

// ReadBuffered is the fast path of a receive: when the next frame is a
// message of its own whose bytes are all buffered (a final text or binary
// frame with no reserved bit, masked as the role requires, within
// MaxFrameSize, its length in the shortest form), it appends the payload,
// unmasked, to dst and returns the frame's opcode, dst and true. It never
// reads from the source. Any other frame, or one not yet whole in the
// buffer, is left as it was, and ReadBuffered returns (0, dst, false):
// ReadWhole, ReadHeader or ReadFrame then read it.
//
// dst grows by at most the bytes buffered, never by a length the peer
// only declared.
func (r *Reader) ReadBuffered(dst []byte) (frame.Opcode, []byte, bool) {
	if r.err != nil || r.remain != 0 {
		return 0, dst, false
	}
	op, _, dst, ok := r.take(dst)
	if ok {
		r.state = stateHeader
		r.release()
	}
	return op, dst, ok
}

// take consumes the next frame when it has the shape ReadBuffered takes
// and is whole in the buffer: it appends the payload, unmasked, to dst and
// returns the opcode, the payload's length, dst and true. Otherwise it
// consumes nothing and returns false. r is between frames.
func (r *Reader) take(dst []byte) (frame.Opcode, int, []byte, bool) {
	b := r.buf[r.r:r.w]
	if len(b) < 2 {
		return 0, 0, dst, false
	}
	// 0x81 and 0x82: FIN, no reserved bit, text or binary. The mask bit
	// must be the role's.
	b0, b1 := b[0], b[1]
	if b0 != 0x81 && b0 != 0x82 || b1&0x80 != 0 != r.Server {
		return 0, 0, dst, false
	}
	// A length in a longer form than it needs is an error that ReadHeader
	// reports, and so is a 64-bit length with its top bit set.
	hs, length := 2, int(b1&0x7F)
	switch {
	case length < len16Bit:
	case length == len16Bit && len(b) >= 4:
		hs, length = 4, int(binary.BigEndian.Uint16(b[2:4]))
		if length <= frame.Max7BitLength {
			return 0, 0, dst, false
		}
	case length == len64Bit && len(b) >= 10:
		v := binary.BigEndian.Uint64(b[2:10])
		if v <= frame.Max16BitLength || v > uint64(len(b)) {
			return 0, 0, dst, false
		}
		hs, length = 10, int(v)
	default:
		return 0, 0, dst, false
	}
	if b1&0x80 != 0 {
		hs += 4
	}
	if length > len(b)-hs || r.MaxFrameSize > 0 && int64(length) > r.MaxFrameSize {
		return 0, 0, dst, false
	}
	start := len(dst)
	dst = append(dst, b[hs:hs+length]...)
	if b1&0x80 != 0 {
		mask.Apply(dst[start:], mask.Key(b[hs-4:hs]), 0)
	}
	r.r += hs + length
	return frame.Opcode(b0 & 0x0F), length, dst, true
}

// ReadBufferedFrames is ReadBuffered for every frame of that shape whole
// in the buffer, one after another, up to len(fs): it appends each one's
// payload, unmasked, to dst and sets fs[i] to its header (Fin, Opcode and
// Length; Payload nil), and returns how many it took and dst. It stops
// at the first frame of any other shape, or not yet whole, leaving it as
// it was; it never reads from the source.
func (r *Reader) ReadBufferedFrames(fs []frame.Frame, dst []byte) (int, []byte) {
	if r.err != nil || r.remain != 0 {
		return 0, dst
	}
	n := 0
	for ; n < len(fs); n++ {
		op, length, p, ok := r.take(dst)
		if !ok {
			break
		}
		dst = p
		fs[n] = frame.Frame{Header: frame.Header{Fin: true, Opcode: op, Length: int64(length)}}
	}
	if n > 0 {
		r.state = stateHeader
		r.release()
	}
	return n, dst
}

// ReadWhole is ReadBuffered for a binary frame of that shape that is not
// whole in the buffer yet but fits in it: it reads from the source until
// the frame is whole, then returns as ReadBuffered does. A text frame is
// taken only when it is whole already, so that a caller streaming it with
// ReadHeader and Read can check its UTF-8 as the bytes arrive. For a frame
// of any other shape, or larger than the read buffer, ReadWhole returns
// false having consumed nothing, and ReadHeader or ReadFrame read that
// frame. A source error, a timeout included, keeps what was read, for the
// next call.
func (r *Reader) ReadWhole(dst []byte) (frame.Opcode, []byte, bool, error) {
	for {
		hs, length, whole := r.peek()
		if hs >= 0 && r.WholeMax > 0 && int64(length) > r.WholeMax {
			return 0, dst, false, nil
		}
		if whole {
			op, p, _ := r.ReadBuffered(dst)
			return op, p, true, nil
		}
		if hs < 0 || hs+length > r.bufSize() || r.w-r.r > 0 && r.buf[r.r] == 0x81 {
			return 0, dst, false, nil
		}
		if r.bufp == nil && hs+length > waitSize {
			r.acquire()
		}
		if r.bufp != nil && r.r+hs+length > len(r.buf) {
			if r.w-r.r >= hs {
				return r.readSpanning(dst, hs, length)
			}
			r.compact()
		}
		if err := r.fill(); err != nil {
			if err == io.EOF && r.r < r.w {
				err = io.ErrUnexpectedEOF
			}
			r.release()
			return 0, dst, false, err
		}
	}
}

// readSpanning is ReadWhole for a frame whose header is buffered and
// whose payload runs past the end of the buffer. It appends the buffered
// part of the payload to dst and refills the buffer from its start, as
// bufio does, instead of moving that part to the front first: every byte
// is copied once, and every read asks for a whole buffer. On a source
// error the frame's bytes go back into the buffer, as they were, for the
// next call; they fit, as ReadWhole takes only frames that do.
func (r *Reader) readSpanning(dst []byte, hs, length int) (frame.Opcode, []byte, bool, error) {
	if testHookSpanning != nil {
		testHookSpanning()
	}
	var head [frame.MaxHeaderLen]byte
	copy(head[:hs], r.buf[r.r:])
	start := len(dst)
	dst = append(dst, r.buf[r.r+hs:r.w]...)
	r.r = r.w
	for got := len(dst) - start; got < length; got = len(dst) - start {
		if err := r.fill(); err != nil {
			r.r, r.w = 0, copy(r.buf, head[:hs])
			r.w += copy(r.buf[r.w:], dst[start:])
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, dst[:start], false, err
		}
		n := min(length-got, r.w-r.r)
		dst = append(dst, r.buf[r.r:r.r+n]...)
		r.r += n
	}
	if head[1]&0x80 != 0 {
		mask.Apply(dst[start:], mask.Key(head[hs-4:hs]), 0)
	}
	r.state = stateHeader
	r.release()
	return frame.Opcode(head[0] & 0x0F), dst, true, nil
}

// testHookSpanning, when set by a test, is called by every readSpanning.
var testHookSpanning func()

// ControlBuffered reports whether the next frame is a control frame
// (opcode 8 to 15) whose bytes are all in the read buffer, so that
// reading it with ReadHeader and Read, or ReadFrame, takes nothing from
// the source, and returns its opcode, so that a caller can leave a close
// frame for later. It consumes nothing and checks nothing else: reading
// the frame does (a length over 125 bytes, for one, is an error that
// needs no more bytes once this many are buffered). In the middle of a
// frame, or after an error, it reports false.
func (r *Reader) ControlBuffered() (frame.Opcode, bool) {
	if r.err != nil || r.remain != 0 {
		return 0, false
	}
	b := r.buf[r.r:r.w]
	if len(b) < 2 || b[0]&0x08 == 0 {
		return 0, false
	}
	n := 2 + int(b[1]&0x7F)
	if b[1]&0x80 != 0 {
		n += 4
	}
	return frame.Opcode(b[0] & 0x0F), n <= len(b)
}

// peek decodes in place the header of the next frame when that frame has
// the shape ReadBuffered takes, and reports its header size hs, payload
// length and whether all of it is buffered. hs is -1 when the frame has
// another shape, or when r is not between frames; while the buffered
// bytes do not hold the whole header, hs and length are what they show so
// far (at least 2 and 0).
func (r *Reader) peek() (hs, length int, whole bool) {
	if r.err != nil || r.remain != 0 {
		return -1, 0, false
	}
	b := r.buf[r.r:r.w]
	if len(b) < 2 {
		return 2, 0, false
	}
	// 0x81 and 0x82: FIN, no reserved bit, text or binary. The mask bit
	// must be the role's.
	b0, b1 := b[0], b[1]
	if b0 != 0x81 && b0 != 0x82 || b1&0x80 != 0 != r.Server {
		return -1, 0, false
	}
	hs, length = 2, int(b1&0x7F)
	switch length {
	case len16Bit:
		hs = 4
	case len64Bit:
		hs = 10
	}
	if b1&0x80 != 0 {
		hs += 4
	}
	if len(b) < hs {
		return hs, 0, false
	}
	// A length in a longer form than it needs is an error that ReadHeader
	// reports, and so is a 64-bit length with its top bit set.
	switch length {
	case len16Bit:
		length = int(binary.BigEndian.Uint16(b[2:4]))
		if length <= frame.Max7BitLength {
			return -1, 0, false
		}
	case len64Bit:
		v := binary.BigEndian.Uint64(b[2:10])
		if v <= frame.Max16BitLength || v > uint64(r.bufSize()) {
			return -1, 0, false
		}
		length = int(v)
	}
	if r.MaxFrameSize > 0 && int64(length) > r.MaxFrameSize {
		return -1, 0, false
	}
	return hs, length, length <= len(b)-hs
}

// readFrame is ReadFrame for every case its fast path leaves.
func (r *Reader) readFrame() (frame.Frame, error) {
	if r.err != nil {
		return frame.Frame{}, r.err
	}
	defer r.release()
	if r.state == stateStream {
		if err := r.skip(); err != nil {
			return frame.Frame{}, err
		}
	}
	if r.state == stateHeader {
		if cap(r.payload) > maxRetained {
			r.payload = nil
		}
		if err := r.next(); err != nil {
			return frame.Frame{}, err
		}
		if r.hdr.Length > math.MaxInt {
			r.err = fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, r.hdr.Length)
			return frame.Frame{}, r.err
		}
		r.state = stateFrame
		r.payload = r.payload[:0]
	}
	for r.remain > 0 {
		if len(r.payload) == cap(r.payload) {
			// Grows with the bytes that arrive, never past the
			// declared length, which begin checked against the limit.
			r.payload = grow.Buffer(r.payload, 1, int(r.hdr.Length))
		}
		n, err := r.readPayload(r.payload[len(r.payload):cap(r.payload)])
		r.payload = r.payload[:len(r.payload)+n]
		if err != nil {
			return frame.Frame{}, err
		}
	}
	r.state = stateHeader
	f := frame.Frame{Header: r.hdr, Payload: r.payload}
	if f.Opcode == frame.OpClose {
		if err := validateClose(f.Payload, r.Policy); err != nil {
			return frame.Frame{}, err
		}
	}
	return f, nil
}

func (r *Reader) maxFrameSize() int64 {
	if r.MaxFrameSize == 0 {
		return DefaultMaxFrameSize
	}
	return r.MaxFrameSize
}

// fillEmpty fills the buffer if it is empty, so that parseBuffered sees
// the bytes that are there. On an error it gives the buffer back.
func (r *Reader) fillEmpty() error {
	if r.r < r.w {
		return nil
	}
	err := r.fill()
	if err != nil {
		r.release()
	}
	return err
}

// parseBuffered decodes the next header with frame.ParseHeader when all of
// it is buffered and makes it the current frame when it is valid, as next
// does. Otherwise it consumes nothing and reports false, and next does the
// work again, errors included.
func (r *Reader) parseBuffered() bool {
	h := &r.hdr
	n, err := frame.DecodeHeader(h, r.buf[r.r:r.w])
	if err != nil {
		return false
	}
	// The common shape, a data frame with no reserved bit, masked as the
	// role requires and within the limit, needs no further check.
	if limit := r.maxFrameSize(); h.Rsv1 || h.Rsv2 || h.Rsv3 || h.Opcode > frame.OpBinary ||
		h.Masked != r.Server || (limit >= 0 && h.Length > limit) {
		if r.check(*h) != nil {
			return false
		}
	}
	r.r += n
	r.remain = h.Length
	r.keyPos = 0
	return true
}

// next parses and validates the next header.
func (r *Reader) next() error {
	for {
		h, n, err := frame.ParseHeader(r.buf[r.r:r.w])
		if err == nil {
			r.r += n
			return r.begin(h)
		}
		if err != io.ErrUnexpectedEOF {
			r.err = err
			return err
		}
		if err := r.fill(); err != nil {
			if err == io.EOF && r.r < r.w {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
}

// check validates h: the header rules with Policy, masking for the role
// and the size limit.
func (r *Reader) check(h frame.Header) error {
	if err := h.Validate(r.Policy); err != nil {
		return err
	}
	switch {
	case h.Masked != r.Server:
		if r.Server {
			return ErrUnmaskedFrame
		}
		return ErrMaskedFrame
	case r.maxFrameSize() >= 0 && h.Length > r.maxFrameSize():
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, h.Length, r.maxFrameSize())
	}
	return nil
}

// begin validates h and makes it the current frame.
func (r *Reader) begin(h frame.Header) error {
	if err := r.check(h); err != nil {
		r.err = err
		return err
	}
	r.hdr = h
	r.remain = h.Length
	r.keyPos = 0
	return nil
}

// skip drops the rest of the current payload.
func (r *Reader) skip() error {
	for r.remain > 0 {
		if r.r == r.w {
			if err := r.fill(); err != nil {
				return eofInFrame(err)
			}
		}
		n := int(min(int64(r.w-r.r), r.remain))
		r.r += n
		r.remain -= int64(n)
	}
	r.state = stateHeader
	return nil
}

// readPayload reads up to len(p) bytes of the current payload into p and
// unmasks them.
func (r *Reader) readPayload(p []byte) (int, error) {
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	switch {
	case r.r < r.w:
		n = copy(p, r.buf[r.r:r.w])
		r.r += n
	case r.rerr == nil && len(p) >= r.bufSize():
		// A large read goes straight to p, past the buffer.
		var err error
		n, err = r.readSource(p)
		if n == 0 {
			return 0, eofInFrame(err)
		}
		r.rerr = err
	default:
		if err := r.fill(); err != nil {
			return 0, eofInFrame(err)
		}
		n = copy(p, r.buf[r.r:r.w])
		r.r += n
	}
	if r.hdr.Masked {
		r.keyPos = uint8(mask.Apply(p[:n], r.hdr.Key, int(r.keyPos)))
	}
	r.remain -= int64(n)
	return n, nil
}

func eofInFrame(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (r *Reader) bufSize() int {
	if r.size == 0 {
		r.size = DefaultBufferSize
	}
	return r.size
}

// fill reads more bytes into the buffer. Between frames it reads into the
// Reader's wait buffer until that is full; otherwise it takes a pooled
// buffer if none is held, moving the waiting bytes into it. It returns a
// pending source error instead, once.
func (r *Reader) fill() error {
	if r.rerr != nil {
		err := r.rerr
		r.rerr = nil
		return err
	}
	if r.bufp == nil {
		if r.waitsRaw() {
			return r.fillRaw()
		}
		if r.remain == 0 && (r.r == r.w || r.w < waitSize) {
			r.buf = r.wait[:]
		} else {
			r.acquire()
		}
	}
	if r.r == r.w {
		r.r, r.w = 0, 0
	} else if r.w == len(r.buf) {
		r.compact()
	}
	n, err := r.readSource(r.buf[r.w:])
	r.w += n
	if n > 0 {
		r.rerr = err
		return nil
	}
	return err
}

// waitsRaw reports whether r waits for its source without a buffer (see
// rawWait), making the rawWait at the first wait, not in New: making it
// allocates.
func (r *Reader) waitsRaw() bool {
	if r.raw == nil {
		r.raw = newRawWait(r)
	}
	return r.raw != nil
}

// compact moves the buffered bytes to the start of the buffer.
func (r *Reader) compact() {
	r.w = copy(r.buf, r.buf[r.r:r.w])
	r.r = 0
}

// readSource reads from the source into p, which is not empty; it returns
// n > 0 or an error.
func (r *Reader) readSource(p []byte) (int, error) {
	if r.src == nil {
		return 0, io.EOF
	}
	for range maxEmptyReads {
		n, err := r.src.Read(p)
		if n < 0 || n > len(p) {
			return 0, errInvalidRead
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// acquire takes a pooled buffer and moves the bytes of the wait buffer
// into it.
func (r *Reader) acquire() {
	size := r.bufSize()
	if p, ok := pools[bits.Len(uint(size))].Get().(*[]byte); ok && len(*p) == size {
		r.bufp = p
	} else {
		b := make([]byte, size)
		r.bufp = &b
	}
	n := copy(*r.bufp, r.buf[r.r:r.w])
	r.buf = *r.bufp
	r.r, r.w = 0, n
}

// release gives the buffer back when nothing is left in it. It is cheap
// when there is nothing to do, so the hot paths call it directly.
func (r *Reader) release() {
	if r.buf != nil && r.r == r.w {
		r.giveBack()
	}
}

func (r *Reader) giveBack() {
	if r.bufp != nil {
		pools[bits.Len(uint(len(r.buf)))].Put(r.bufp)
	}
	r.buf, r.bufp = nil, nil
	r.r, r.w = 0, 0
}

// validateClose checks a close frame's payload with frame.ParseClose.
func validateClose(p []byte, policy frame.Policy) error {
	_, _, err := frame.ParseClose(p, policy)
	return err
}
