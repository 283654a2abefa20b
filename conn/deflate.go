package conn

import (
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/framewire/ws/fragment"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/deflate"
	"github.com/framewire/ws/status"
)

// Compression turns on permessage-deflate (RFC 7692) and sets how it
// compresses. Set it as [Config.Compression]; nil (the default) leaves
// connections uncompressed. See docs/compression.md for when to use it and
// what each preset costs.
type Compression struct {
	// Preset chooses between memory and ratio: CompressionDefault (the
	// zero value), CompressionSmall or CompressionBest.
	Preset CompressionPreset

	// Threshold is the size below which a message is sent uncompressed
	// (RSV1 clear), where compression costs more than it saves: 0 means
	// DefaultCompressionThreshold, a negative value compresses every
	// message. WriteFrame never compresses: it is how a caller sends one
	// message uncompressed whatever its size. A MessageWriter holds a
	// message's first bytes until they reach Threshold, at most 512 KiB:
	// a message still shorter then is sent uncompressed, in fragments,
	// whatever its length in the end.
	Threshold int

	// Offers are the permessage-deflate offers a [Dialer] makes, most
	// preferred first, each checked by handshake.DeflateOffer. Nil means
	// the Preset's offers; an empty, non-nil slice makes none, which
	// leaves compression off. A server that declines them all leaves the
	// connection uncompressed; an answer that breaks RFC 7692 fails the
	// dial with a *[handshake.ExtensionError].
	Offers []handshake.DeflateParams

	// Agreed is used by [New] only: the parameters agreed by a handshake
	// made elsewhere (a server's answer, for RoleServer). A window size
	// outside 8-15 means 15. A Dialer ignores it and uses the server's
	// answer.
	Agreed handshake.DeflateParams
}

// CompressionPreset names a point on the scale from least memory to best
// ratio; each sets the compressor's window and match finder, and the
// offers a Dialer makes.
type CompressionPreset uint8

const (
	// CompressionDefault compresses with a 4 KiB window (python
	// websockets' choice): about 16 KiB per compressor between messages,
	// 64 KiB more while one is compressed. It offers
	// "permessage-deflate; client_max_window_bits".
	CompressionDefault CompressionPreset = iota
	// CompressionSmall compresses with a 1 KiB window, about 4 KiB
	// between messages (16 KiB more during one), and
	// first asks the server to keep its own window to 1 KiB
	// (server_max_window_bits=10), then, if it declines, the default offer.
	CompressionSmall
	// CompressionBest compresses with the full 32 KiB window and a large
	// match finder, about 192 KiB per compressor between messages (64 KiB
	// more during one), for the best ratio.
	CompressionBest
)

// String returns "default", "small" or "best".
func (p CompressionPreset) String() string {
	switch p {
	case CompressionDefault, CompressionSmall, CompressionBest:
		return p.deflate().String()
	}
	return "CompressionPreset(" + strconv.Itoa(int(p)) + ")"
}

func (p CompressionPreset) deflate() deflate.Preset {
	switch p {
	case CompressionSmall:
		return deflate.PresetSmall
	case CompressionBest:
		return deflate.PresetBest
	}
	return deflate.PresetDefault
}

// DefaultCompressionThreshold is the size below which a message is sent
// uncompressed when Compression.Threshold is 0: under 128 bytes the
// deflate block header and the loss of the caller's buffer to the
// compressor's cost outweigh what is saved.
const DefaultCompressionThreshold = 128

// offers returns the offers a Dialer makes.
func (cp *Compression) offers() []handshake.DeflateParams {
	if cp.Offers != nil {
		return cp.Offers
	}
	any := handshake.DeflateParams{ClientMaxWindowBits: handshake.AnyWindowBits}
	if cp.Preset == CompressionSmall {
		return []handshake.DeflateParams{{ServerMaxWindowBits: 10, ClientMaxWindowBits: handshake.AnyWindowBits}, any}
	}
	return []handshake.DeflateParams{any}
}

// windowBits returns n as a window size: 15 unless it is from 8 to 15.
func windowBits(n int) int {
	if n < handshake.MinWindowBits || n > handshake.MaxWindowBits {
		return handshake.MaxWindowBits
	}
	return n
}

// useDeflate makes permessage-deflate with the agreed parameters p the
// Conn's extension, both ways, and traces the agreement.
func (c *Conn) useDeflate(cp *Compression, p handshake.DeflateParams) {
	// Each side's parameters: what the Conn sends and what it receives.
	sendNoTakeover, sendBits := p.ClientNoContextTakeover, p.ClientMaxWindowBits
	recvNoTakeover, recvBits := p.ServerNoContextTakeover, p.ServerMaxWindowBits
	if c.cfg.role == RoleServer {
		sendNoTakeover, sendBits, recvNoTakeover, recvBits = recvNoTakeover, recvBits, sendNoTakeover, sendBits
	}
	cfg := cp.Preset.deflate().Config()
	cfg.WindowBits = min(cfg.WindowBits, windowBits(sendBits))
	threshold := cp.Threshold
	switch {
	case threshold == 0:
		threshold = DefaultCompressionThreshold
	case threshold < 0:
		threshold = 0
	}
	limit := c.cfg.maxMessageSize
	if limit == 0 {
		limit = fragment.DefaultMaxMessageSize
	}
	e := &deflateExt{
		enc: deflater{cfg: cfg, takeover: !sendNoTakeover, threshold: threshold},
		// zlib widens a window of 8 bits to 9 (RFC 7692 §7.1.2.1): keep
		// what such a peer may refer to.
		inf: inflater{bits: uint8(max(windowBits(recvBits), 9)), takeover: !recvNoTakeover, limit: limit},
	}
	e.params = p
	c.useExtension(e)
	c.enc = &e.enc
	c.trace.extension(p.String())
}

// Compression returns the permessage-deflate parameters agreed for the
// connection, and false if it is uncompressed.
func (c *Conn) Compression() (handshake.DeflateParams, bool) {
	if e, ok := c.ext.(*deflateExt); ok {
		return e.params, true
	}
	return handshake.DeflateParams{}, false
}

// deflateExt is permessage-deflate (RFC 7692) on one Conn: RSV1 marks a
// compressed message.
type deflateExt struct {
	params handshake.DeflateParams // as agreed

	enc deflater
	inf inflater
}

func (e *deflateExt) rsv() frame.Policy { return frame.Policy{Rsv1: true} }

func (e *deflateExt) decoder(frame.Header) decoder {
	e.inf.begin()
	return &e.inf
}

// Pools shared by connections: caches only, whose contents no caller can
// observe. An idle Conn without context takeover holds none of these.
var (
	// inflaters holds the inflaters of messages received without context
	// takeover, one pool per window size.
	inflaters [deflate.MaxWindowBits + 1]sync.Pool
	// compressors holds the compressors of messages sent without context
	// takeover, one pool per window and hash size.
	compressors [deflate.MaxWindowBits + 1][17]sync.Pool
)

// inflateChunk is how many wire bytes the inflater reads at a time.
const inflateChunk = 4096

// maxPooledBuf is the largest buffer of a message given back to a pool.
const maxPooledBuf = 1 << 20

// msgBufs holds the buffers of messages being compressed or inflated
// whole: taken for a message, given back once it is sent or returned.
var msgBufs = sync.Pool{New: func() any { return new([]byte) }}

// takeBuf returns an empty buffer from msgBufs.
func takeBuf() *[]byte { return msgBufs.Get().(*[]byte) }

// giveBuf gives the buffer *bp back to msgBufs, unless it grew too large
// to keep, and clears *bp.
func giveBuf(bp **[]byte) {
	if *bp == nil {
		return
	}
	if cap(**bp) <= maxPooledBuf {
		**bp = (**bp)[:0]
		msgBufs.Put(*bp)
	}
	*bp = nil
}

// deflater is the send side of permessage-deflate: the msgEncoder of a
// Conn. A message shorter than threshold is sent as it is. Between
// messages it holds no buffer, and without context takeover no
// compressor either: those come from pools for a message, and go back
// when the message was written.
type deflater struct {
	cfg       deflate.Config
	threshold int
	takeover  bool

	started bool                // the message is being compressed
	asIs    bool                // the message, streamed, reached maxPending below threshold: it is sent as it is
	c       *deflate.Compressor // with takeover, kept once made; otherwise held during a message only
	pending *[]byte             // the message's bytes while it is shorter than threshold; nil between messages
	out     *[]byte             // the compressed message; nil between messages
}

// maxPending bounds the bytes of a message streamed with a MessageWriter
// that the deflater holds while it is shorter than threshold: once it
// reaches maxPending, still shorter, it is sent as it is, in fragments,
// so that a large threshold never holds a message whole. Half of
// maxPooledBuf: the buffer, grown by append a write buffer at a time,
// stays small enough to go back to msgBufs, and the next message
// allocates nothing.
const maxPending = maxPooledBuf / 2

func (e *deflater) plain(n int) bool { return n < e.threshold }

func (e *deflater) write(p []byte) error {
	if e.asIs {
		*e.pending = append(*e.pending, p...)
		return nil
	}
	if !e.started {
		var pending []byte
		if e.pending != nil {
			pending = *e.pending
		}
		if len(pending)+len(p) < e.threshold {
			if e.pending == nil {
				e.pending = takeBuf()
			}
			*e.pending = append(*e.pending, p...)
			if len(*e.pending) >= maxPending {
				e.asIs = true
			}
			return nil
		}
		if e.c == nil {
			e.c = e.compressor()
		}
		if e.out == nil {
			e.out = takeBuf()
		}
		*e.out = e.c.Compress((*e.out)[:0], pending)
		if e.pending != nil {
			*e.pending = pending[:0]
		}
		e.started = true
	}
	*e.out = e.c.Compress(*e.out, p)
	return nil
}

// compressor returns a compressor for a message: made once with context
// takeover, from the pool without.
func (e *deflater) compressor() *deflate.Compressor {
	if !e.takeover {
		if c, ok := compressors[e.cfg.WindowBits][e.cfg.HashBits].Get().(*deflate.Compressor); ok {
			return c
		}
	}
	c, err := deflate.NewCompressor(e.cfg)
	if err != nil {
		panic("conn: preset compressor config: " + err.Error()) // presets are valid
	}
	return c
}

func (e *deflater) ready(n int) []byte {
	buf := e.out
	if e.asIs {
		buf = e.pending
	}
	if !e.started && !e.asIs || len(*buf) < n {
		return nil
	}
	p := *buf
	*buf = p[:0] // p stays valid until the next write
	return p
}

func (e *deflater) header(h frame.Header) frame.Header {
	h.Rsv1 = !e.asIs
	return h
}

func (e *deflater) finish(h frame.Header) (frame.Header, []byte, error) {
	if !e.started {
		var p []byte
		if e.pending != nil {
			p = *e.pending
		}
		if len(p) < e.threshold || e.asIs {
			e.asIs = false
			if e.pending != nil {
				*e.pending = p[:0] // p stays valid until release
			}
			return h, p, nil
		}
		// An empty message with every message compressed.
		if err := e.write(nil); err != nil {
			return h, nil, err
		}
	}
	out := e.c.Flush(*e.out)
	out = out[:len(out)-4] // the 00 00 ff ff of the sync flush (RFC 7692 §7.2.1)
	*e.out = out
	e.started = false
	if !e.takeover {
		e.c.Reset()
		compressors[e.cfg.WindowBits][e.cfg.HashBits].Put(e.c)
		e.c = nil
	}
	return e.header(h), out, nil
}

// forget drops the message begun, if any, and the compressor's history:
// the next message is compressed as the first one was. The buffers go
// back with release.
func (e *deflater) forget() {
	e.started, e.asIs = false, false
	if e.pending != nil {
		*e.pending = (*e.pending)[:0]
	}
	if e.out != nil {
		*e.out = (*e.out)[:0]
	}
	if e.c != nil {
		e.c.Reset()
		if !e.takeover {
			compressors[e.cfg.WindowBits][e.cfg.HashBits].Put(e.c)
			e.c = nil
		}
	}
}

// release gives back the buffers of the message finish ended, once its
// payload is written.
func (e *deflater) release() {
	if !e.started {
		giveBuf(&e.pending)
		giveBuf(&e.out)
	}
}

// errInflate is the error, wrapping the inflater's, of a compressed
// message that does not inflate: it fails the connection with 1007.
var errInflate = frame.NewError(status.InvalidPayload, "conn: permessage-deflate data does not inflate")

// syncTail ends the input of every message: the 00 00 ff ff the sender
// stripped (RFC 7692 §7.2.2). Read only.
var syncTail = [...]byte{0, 0, 0xff, 0xff}

// inflater is the receive side of permessage-deflate: the decoder of the
// messages marked with RSV1, one at a time. It inflates as the wire
// payload arrives, a chunk at a time, so decoded bytes reach the
// assembler, and its limit, as they are produced; a deflate.Inflater
// resumes at any byte, so a frame boundary or a timeout of the wire only
// pauses it. Between messages it holds the agreed parameters only, and
// with context takeover its deflate.Inflater: the state of a message comes
// from pools.
type inflater struct {
	bits     uint8             // the window of what the peer sends
	takeover bool              // the history goes on from message to message
	limit    int64             // the largest size of a message, on the wire and inflated; negative: none
	f        *deflate.Inflater // with takeover, kept once made; otherwise held during a message only
	m        *inflateMsg       // the message being inflated, or nil
}

// inflateMsg is the state of the message an inflater inflates.
type inflateMsg struct {
	in    []byte // wire bytes read and not yet inflated
	pos   int    // the next byte of in to inflate
	wire  int64  // wire bytes of the message
	tail  int    // bytes of syncTail inflated
	ended bool   // a final block ended the stream (RFC 7692 §7.2.3.4)

	src     io.Reader // the current frame's wire payload
	fin     bool      // the current frame ends the message
	srcDone bool      // src reached io.EOF

	raw     byteSource // src for skim: the payload ReadFrame returns
	skimmed int64      // bytes inflated and dropped by skim
}

// inflateMsgs holds the state of messages being inflated, with its buffer
// of wire bytes.
var inflateMsgs = sync.Pool{New: func() any { return &inflateMsg{in: make([]byte, 0, inflateChunk)} }}

// byteSource reads the bytes of a slice.
type byteSource []byte

func (s *byteSource) Read(p []byte) (int, error) {
	if len(*s) == 0 {
		return 0, io.EOF
	}
	n := copy(p, *s)
	*s = (*s)[n:]
	return n, nil
}

// begin starts a message.
func (d *inflater) begin() {
	d.release()
	if d.f == nil {
		d.f = d.inflater()
	}
	d.m = inflateMsgs.Get().(*inflateMsg)
}

// inflater returns an inflater for a message: made once with context
// takeover, from the pool without.
func (d *inflater) inflater() *deflate.Inflater {
	if !d.takeover {
		if f, ok := inflaters[d.bits].Get().(*deflate.Inflater); ok {
			return f
		}
	}
	f, err := deflate.NewInflater(int(d.bits))
	if err != nil {
		panic("conn: inflater window: " + err.Error()) // bits is from windowBits
	}
	return f
}

func (d *inflater) next(src io.Reader, length int64, fin bool) error {
	m := d.m
	m.src, m.fin, m.srcDone = src, fin, false
	if d.limit >= 0 && length > d.limit-m.wire {
		return d.tooBig()
	}
	return nil
}

func (d *inflater) tooBig() error {
	return fmt.Errorf("%w: compressed message over %d bytes", fragment.ErrMessageTooBig, d.limit)
}

func (d *inflater) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	m := d.m
	for {
		if m.ended {
			return 0, d.drain()
		}
		in := m.in
		if m.pos == len(in) && !m.srcDone {
			if err := d.readSrc(); err != nil {
				return 0, err
			}
			continue
		}
		src := in[m.pos:]
		if len(src) == 0 && m.fin {
			src = syncTail[m.tail:]
		}
		n, used, err := d.f.Inflate(p, src)
		if m.pos < len(in) {
			m.pos += used
		} else {
			m.tail += used
		}
		switch {
		case err == io.EOF:
			m.ended = true
		case err != nil:
			return n, fmt.Errorf("%w: %w", errInflate, err)
		}
		if n > 0 {
			return n, nil
		}
		if m.ended || m.pos < len(in) || (m.fin && m.tail < len(syncTail)) || !m.srcDone {
			continue
		}
		if !m.fin {
			return 0, io.EOF // the end of a frame that does not end the message
		}
		if !d.f.Idle() {
			return 0, fmt.Errorf("%w: the message ends inside a deflate block", errInflate)
		}
		d.end()
		return 0, io.EOF
	}
}

// readSrc reads the next wire bytes of the frame into in, which the
// inflater has used up.
func (d *inflater) readSrc() error {
	m := d.m
	b := m.in[:cap(m.in)]
	n, err := m.src.Read(b)
	m.in, m.pos = b[:n], 0
	m.wire += int64(n)
	if err == io.EOF {
		m.srcDone, err = true, nil
	}
	if d.limit >= 0 && m.wire > d.limit {
		return d.tooBig()
	}
	return err
}

// drain reads the rest of the message's frames once a final block has
// ended the stream, and ends the message with the last.
func (d *inflater) drain() error {
	for !d.m.srcDone {
		if err := d.readSrc(); err != nil {
			return err
		}
	}
	if d.m.fin {
		d.end()
	}
	return io.EOF
}

// end ends the message: with context takeover the inflater keeps its
// history for the next; the message's state goes back to its pool.
func (d *inflater) end() {
	if d.takeover {
		d.f.Restart()
	}
	d.release()
}

// release gives back what a message holds.
func (d *inflater) release() {
	if m := d.m; m != nil {
		*m = inflateMsg{in: m.in[:0]}
		inflateMsgs.Put(m)
		d.m = nil
	}
	if !d.takeover && d.f != nil {
		d.f.Reset()
		inflaters[d.bits].Put(d.f)
		d.f = nil
	}
}

// skim is how ReadFrame, which returns the frames of compressed messages
// as they arrived, keeps the inflater's history that of the stream: with
// context takeover a later message may refer to the bytes of those, so
// their payloads are inflated too and the output dropped. The inflated
// bytes count against the message size limit (1009) and data that does
// not inflate fails the connection (1007), as with ReadMessage; so does a
// new message while a compressed one is unfinished (1002), which would
// leave the history broken. Without context takeover no message depends on
// another, and nothing is done.
func (e *deflateExt) skim(h frame.Header, p []byte) error {
	d := &e.inf
	switch {
	case !d.takeover || !h.Opcode.IsData():
		return nil
	case h.Opcode != frame.OpContinuation:
		if d.m != nil {
			return fmt.Errorf("%w: %s frame inside a compressed message", fragment.ErrMissingContinuation, h.Opcode)
		}
		if !h.Rsv1 {
			return nil
		}
		d.begin()
	case d.m == nil:
		return nil // a fragment of an uncompressed message
	}
	m := d.m
	m.raw = p
	if err := d.next(&m.raw, int64(len(p)), h.Fin); err != nil {
		return err
	}
	bp := takeBuf()
	if cap(*bp) < inflateChunk {
		*bp = make([]byte, 0, inflateChunk)
	}
	out := (*bp)[:cap(*bp)]
	var err error
	for err == nil {
		var n int
		n, err = d.Read(out)
		if n == 0 {
			continue // m is the message's only until Read ends it
		}
		if m.skimmed += int64(n); d.limit >= 0 && m.skimmed > d.limit {
			err = fmt.Errorf("%w: more than %d bytes", fragment.ErrMessageTooBig, d.limit)
		}
	}
	giveBuf(&bp)
	if err == io.EOF {
		return nil
	}
	return err
}
