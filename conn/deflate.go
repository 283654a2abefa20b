package conn

import (
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/framewire/ws/fragment"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/deflate"
	"github.com/framewire/ws/internal/grow"
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
	// message uncompressed whatever its size.
	Threshold int

	// Offers are the permessage-deflate offers a [Dialer] makes, most
	// preferred first, each checked by handshake.DeflateOffer. Nil means
	// the Preset's offers. A server that declines them all leaves the
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
	// websockets' choice): about 24 KiB per compressor. It offers
	// "permessage-deflate; client_max_window_bits".
	CompressionDefault CompressionPreset = iota
	// CompressionSmall compresses with a 1 KiB window, about 8 KiB, and
	// first asks the server to keep its own window to 1 KiB
	// (server_max_window_bits=10), then, if it declines, the default offer.
	CompressionSmall
	// CompressionBest compresses with the full 32 KiB window and a large
	// match finder, about 256 KiB per compressor, for the best ratio.
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
	if c.cfg.Role == RoleServer {
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
	limit := c.cfg.MaxMessageSize
	if limit == 0 {
		limit = fragment.DefaultMaxMessageSize
	}
	e := &deflateExt{
		enc: deflater{cfg: cfg, takeover: !sendNoTakeover, threshold: threshold},
		inf: inflater{limit: limit},
	}
	if !recvNoTakeover {
		// zlib widens a window of 8 bits to 9 (RFC 7692 §7.1.2.1): keep
		// what such a peer may refer to.
		e.inf.window = 1 << max(windowBits(recvBits), 9)
	}
	c.pmd, c.pmdOn = p, true
	c.useExtension(e)
	c.enc = &e.enc
	c.trace.extension(p.String())
}

// Compression returns the permessage-deflate parameters agreed for the
// connection, and false if it is uncompressed.
func (c *Conn) Compression() (handshake.DeflateParams, bool) { return c.pmd, c.pmdOn }

// deflateExt is permessage-deflate (RFC 7692) on one Conn: RSV1 marks a
// compressed message.
type deflateExt struct {
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
	// inflaters holds compress/flate readers, each about 43 KiB.
	inflaters sync.Pool
	// inflateBufs holds the buffers of a message being inflated.
	inflateBufs = sync.Pool{New: func() any { return new([]byte) }}
	// compressors holds the compressors of messages sent without context
	// takeover, one pool per window and hash size.
	compressors [deflate.MaxWindowBits + 1][17]sync.Pool
)

// maxPooledBuf is the largest inflate buffer given back to inflateBufs,
// and the largest compressed output kept by a deflater between messages.
const maxPooledBuf = 1 << 20

// deflater is the send side of permessage-deflate: the msgEncoder of a
// Conn. A message shorter than threshold is sent as it is.
type deflater struct {
	cfg       deflate.Config
	takeover  bool
	threshold int

	c       *deflate.Compressor // with takeover, kept once made; otherwise held during a message only
	started bool                // the message is being compressed
	pending []byte              // the message's bytes while it is shorter than threshold
	out     []byte              // the compressed message
}

func (e *deflater) write(p []byte) error {
	if !e.started {
		if len(e.pending)+len(p) < e.threshold {
			e.pending = append(e.pending, p...)
			return nil
		}
		if e.c == nil {
			e.c = e.compressor()
		}
		if cap(e.out) > maxPooledBuf {
			e.out = nil
		}
		e.out = e.c.Compress(e.out[:0], e.pending)
		e.pending, e.started = e.pending[:0], true
	}
	e.out = e.c.Compress(e.out, p)
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

func (e *deflater) finish(h frame.Header) (frame.Header, []byte, error) {
	if !e.started {
		if len(e.pending) < e.threshold {
			p := e.pending
			e.pending = e.pending[:0]
			return h, p, nil
		}
		// An empty message with every message compressed.
		if err := e.write(nil); err != nil {
			return h, nil, err
		}
	}
	e.out = e.c.Flush(e.out)
	e.out = e.out[:len(e.out)-4] // the 00 00 ff ff of the sync flush (RFC 7692 §7.2.1)
	e.started = false
	if !e.takeover {
		e.c.Reset()
		compressors[e.cfg.WindowBits][e.cfg.HashBits].Put(e.c)
		e.c = nil
	}
	h.Rsv1 = true
	return h, e.out, nil
}

// errInflate is the error, wrapping compress/flate's, of a compressed
// message that does not inflate: it fails the connection with 1007.
var errInflate = frame.NewError(status.InvalidPayload, "conn: permessage-deflate data does not inflate")

// errPaused is what compress/flate reads when its input stops for now: at
// the end of a frame that does not end the message, or on an error of the
// wire (a timeout). compress/flate keeps the first error of its input for
// good, so the inflater restarts it later; see inflater.restart.
var errPaused = errors.New("conn: inflate paused")

// endMarker ends the input of every message: the 00 00 ff ff the sender
// stripped (RFC 7692 §7.2.2), then an empty final stored block, so that
// compress/flate reports io.EOF at the message's end.
var endMarker = [...]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}

// inflater is the receive side of permessage-deflate: the decoder of the
// messages marked with RSV1, one at a time. It inflates as the wire
// payload arrives, so decoded bytes reach the assembler, and its limit, as
// they are produced.
//
// compress/flate cannot stop in the middle of its input and go on later:
// an error of its input, a timeout included, is final. So the inflater
// keeps the message's wire bytes, feeds compress/flate from them, reads
// the wire itself when they run out, and pauses compress/flate (errPaused)
// when the wire does: at the end of a frame that does not end the message,
// or on a timeout, which Read returns. Then it restarts compress/flate on
// the kept bytes and the history the message began with, dropping the
// bytes it returned already. It restarts once the message's input is
// complete or has doubled since the last start, so that the work of all
// the restarts of a message stays within twice its inflation.
type inflater struct {
	window int   // bytes of history kept between messages (context takeover); 0: none
	limit  int64 // the largest wire size of a message, the sum of its frames; negative: none
	hist   []byte

	fr   io.ReadCloser // compress/flate's reader, from inflaters, during a message
	in   *[]byte       // the message's wire bytes, then endMarker
	out  *[]byte       // with takeover: hist and the message's output, trimmed to 2*window
	pos  int           // the next byte of in that compress/flate reads
	wire int64         // wire bytes of the message

	src     io.Reader // the current frame's wire payload
	fin     bool      // the current frame ends the message
	srcDone bool      // src reached io.EOF
	srcErr  error     // the error that paused compress/flate, owed to the caller

	live      bool  // fr can go on
	done      bool  // fr reached the end of the stream
	delivered int64 // bytes of the message returned by Read
	skip      int64 // bytes compress/flate produces again after a restart, to drop
	started   int   // len(*in) at the last start
}

// begin starts a message.
func (d *inflater) begin() {
	d.release()
	d.in = inflateBufs.Get().(*[]byte)
	if d.window > 0 {
		d.out = inflateBufs.Get().(*[]byte)
		*d.out = append((*d.out)[:0], d.hist...)
	}
	d.pos, d.wire, d.delivered, d.skip, d.started = 0, 0, 0, 0, 0
	d.live, d.done, d.srcErr = false, false, nil
}

func (d *inflater) next(src io.Reader, fin bool) {
	d.src, d.fin, d.srcDone = src, fin, false
}

func (d *inflater) Read(p []byte) (int, error) {
	for {
		if d.done {
			return 0, d.drain()
		}
		if !d.live {
			if err := d.restart(); err != nil {
				return 0, err
			}
		}
		n, err := d.fr.Read(p)
		if d.skip > 0 {
			k := int(min(d.skip, int64(n)))
			n = copy(p, p[k:n])
			d.skip -= int64(k)
		}
		if n > 0 {
			d.delivered += int64(n)
			if d.window > 0 {
				d.record(p[:n])
			}
		}
		switch {
		case err == nil:
		case err == io.EOF:
			d.done = true
		case errors.Is(err, errPaused):
			d.live = false
		default:
			return n, fmt.Errorf("%w: %w", errInflate, err)
		}
		if n > 0 {
			return n, nil
		}
	}
}

// restart starts compress/flate again, if it is time to (see inflater);
// until then it reads the wire. It returns the error that paused it, or
// io.EOF at the end of a frame that does not end the message.
func (d *inflater) restart() error {
	if err := d.srcErr; err != nil {
		d.srcErr = nil
		return err
	}
	for !(d.srcDone && d.fin) {
		if d.srcDone {
			return io.EOF
		}
		if len(*d.in) >= 2*d.started {
			break
		}
		if err := d.readSrc(); err != nil {
			return err
		}
	}
	if d.fr == nil {
		if r, ok := inflaters.Get().(io.ReadCloser); ok {
			d.fr = r
		} else {
			d.fr = flate.NewReader(nil)
		}
	}
	d.fr.(flate.Resetter).Reset((*inflateSrc)(d), d.hist)
	d.pos, d.skip, d.started, d.live = 0, d.delivered, len(*d.in), true
	return nil
}

// readSrc appends the next wire bytes of the frame to in, and endMarker
// after the message's last.
func (d *inflater) readSrc() error {
	b := grow.Buffer(*d.in, grow.Min, -1)
	n, err := d.src.Read(b[len(b):cap(b)])
	b = b[:len(b)+n]
	d.wire += int64(n)
	if err == io.EOF {
		d.srcDone, err = true, nil
		if d.fin {
			b = append(b, endMarker[:]...)
		}
	}
	*d.in = b
	if d.limit >= 0 && d.wire > d.limit {
		return fmt.Errorf("%w: compressed message over %d bytes", fragment.ErrMessageTooBig, d.limit)
	}
	return err
}

// drain reads the rest of the message's frames once compress/flate has
// reached the end of its stream (a final block, RFC 1951 §3.2.3), and ends
// the message with the last.
func (d *inflater) drain() error {
	for !d.srcDone {
		*d.in = (*d.in)[:0]
		d.pos = 0
		if err := d.readSrc(); err != nil {
			return err
		}
	}
	if d.fin {
		d.end()
	}
	return io.EOF
}

// record keeps the output for the history: at least its last window
// bytes, and at most twice as many.
func (d *inflater) record(p []byte) {
	w := d.window
	if len(p) >= w {
		*d.out = append((*d.out)[:0], p[len(p)-w:]...)
		return
	}
	b := *d.out
	if len(b)+len(p) > 2*w {
		keep := w - len(p)
		b = b[:copy(b, b[len(b)-keep:])]
	}
	*d.out = append(b, p...)
}

// end ends the message: the history moves on and the buffers and reader
// go back to their pools.
func (d *inflater) end() {
	if d.window > 0 {
		b := *d.out
		if d.hist == nil {
			d.hist = make([]byte, 0, d.window) // never grown by append
		}
		d.hist = append(d.hist[:0], b[max(len(b)-d.window, 0):]...)
	}
	d.release()
}

// release gives back what a message holds.
func (d *inflater) release() {
	if d.fr != nil {
		inflaters.Put(d.fr)
		d.fr = nil
	}
	putBuf(&d.in)
	putBuf(&d.out)
	d.src = nil
}

// putBuf gives *bp back to inflateBufs, unless it is large, and clears it.
func putBuf(bp **[]byte) {
	if *bp == nil {
		return
	}
	if cap(**bp) <= maxPooledBuf {
		**bp = (**bp)[:0]
		inflateBufs.Put(*bp)
	}
	*bp = nil
}

// inflateSrc is an inflater seen as compress/flate's input: the message's
// wire bytes, read from the wire as compress/flate needs them.
type inflateSrc inflater

func (s *inflateSrc) more() error {
	d := (*inflater)(s)
	for d.pos == len(*d.in) {
		switch {
		case d.srcDone && d.fin:
			return io.EOF
		case d.srcDone:
			return errPaused
		}
		if err := d.readSrc(); err != nil {
			d.srcErr = err
			return errPaused
		}
	}
	return nil
}

func (s *inflateSrc) ReadByte() (byte, error) {
	if err := s.more(); err != nil {
		return 0, err
	}
	b := (*s.in)[s.pos]
	s.pos++
	return b, nil
}

func (s *inflateSrc) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := s.more(); err != nil {
		return 0, err
	}
	n := copy(p, (*s.in)[s.pos:])
	s.pos += n
	return n, nil
}
