package fragment

import (
	"errors"
	"fmt"
	"math"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/grow"
	"github.com/framewire/ws/internal/utf8check"
	"github.com/framewire/ws/status"
)

// DefaultMaxMessageSize is the message size limit of an Assembler whose
// MaxMessageSize is zero: 32 MiB.
const DefaultMaxMessageSize = 32 << 20

// EmptyFrameCost is what an empty continuation frame that does not end its
// message counts against the message size limit: the smallest header a
// frame has on the wire. Every other frame makes the message longer or
// ends it, so the limit bounds how many frames a message has; without this
// cost a peer could keep a message open for ever, spinning the reader,
// with empty fragments. With the default limit a message takes at most
// 16 Mi of them. A message whose frames carry n bytes of payload, with e
// empty non-final continuation frames, is accepted when
// n + EmptyFrameCost*e is within the limit.
const EmptyFrameCost = 2

// maxRetained is the largest message buffer an Assembler keeps for the next
// message; a bigger one is dropped when the next message begins, so one
// large message does not pin its memory for the life of the connection.
const maxRetained = 1 << 20

// Errors of reassembly. Each is a *[frame.Error] carrying the close code to
// fail the connection with; detail is added with %w.
var (
	// ErrUnexpectedContinuation reports a continuation frame with no
	// message open (close code 1002; websocket-client: "Illegal frame").
	ErrUnexpectedContinuation = frame.NewError(status.ProtocolError, "fragment: continuation frame with no message open")
	// ErrMissingContinuation reports a text or binary frame while a
	// fragmented message is open (1002; websocket-client: "Illegal
	// frame").
	ErrMissingContinuation = frame.NewError(status.ProtocolError, "fragment: new data frame during a fragmented message")
	// ErrInvalidUTF8 reports a text message that is not UTF-8, including
	// one that ends inside a multi-byte sequence (1007).
	ErrInvalidUTF8 = frame.NewError(status.InvalidPayload, "fragment: text message is not valid UTF-8")
	// ErrMessageTooBig reports a message longer than MaxMessageSize (1009).
	ErrMessageTooBig = frame.NewError(status.MessageTooBig, "fragment: message exceeds the size limit")
	// ErrNotData reports a frame whose opcode is neither data nor control
	// a peer may send (a reserved opcode; 1002).
	ErrNotData = frame.NewError(status.ProtocolError, "fragment: reserved opcode")
)

// ErrNoFrame reports a misuse of the streaming calls: Write or End without
// Begin, or Begin inside a frame.
var ErrNoFrame = errors.New("fragment: Begin, Write and End called out of order")

// Message is a reassembled message, a single fragment in DeliverFragments
// mode, or a control frame passed through.
type Message struct {
	// Opcode is the message's opcode (text or binary) taken from its
	// first frame; in DeliverFragments mode, each fragment's own opcode
	// (continuation after the first); for a control frame, its opcode.
	Opcode frame.Opcode
	// Payload is the data, valid until the next Add or Begin.
	Payload []byte
	// Fin reports whether the message is complete: always true except for
	// the non-final fragments of DeliverFragments mode.
	Fin bool
	// Rsv1 is the RSV1 bit of the message's first frame, kept for every
	// fragment in DeliverFragments mode: the mark of a negotiated extension
	// (RFC 7692: the message is compressed). RFC 6455 leaves it to the
	// extension, so the Assembler neither checks nor decodes it.
	Rsv1 bool
}

// Assembler joins the fragments of data messages (RFC 6455 §5.4). It
// checks the fragmentation rules, the size limit and, for text, UTF-8 as
// bytes arrive. Control frames go through it untouched. The zero Assembler
// is ready to use; it is not safe for concurrent use.
//
// Assembler is websocket-client's continuous_frame.
type Assembler struct {
	// MaxMessageSize is the largest message accepted: 0 means
	// DefaultMaxMessageSize and a negative value means no limit. In
	// DeliverFragments mode it limits the whole message too.
	MaxMessageSize int64
	// SkipUTF8Validation turns off the UTF-8 check of text messages
	// (Python: skip_utf8_validation).
	SkipUTF8Validation bool
	// DeliverFragments hands out every fragment as it arrives instead of
	// whole messages (Python: fire_cont_frame).
	DeliverFragments bool
	// Discard checks data as usual (the order of fragments, the size
	// limit, UTF-8) but keeps none of it: Add and End return data
	// messages empty, and the Assembler's buffer grows no further (from
	// 512 bytes when it has none). It is for a receiver that drops what
	// arrives, such as one waiting for the peer's close frame. It may be
	// set at any time: the open message's bytes so far are dropped too.
	Discard bool

	open  bool         // a fragmented message is open
	op    frame.Opcode // its opcode
	rsv1  bool         // its first frame's RSV1
	size  int64        // bytes of the open message so far
	v     utf8check.Validator
	buf   []byte // message, or fragment in DeliverFragments mode
	given bool   // buf holds the data payload End returned last
	ctrl  []byte // payload of a streamed control frame
	cur   frame.Header
	inCur bool // between Begin and End
}

// Reset drops any open message and frame.
func (a *Assembler) Reset() {
	a.open, a.inCur, a.given = false, false, false
	a.size = 0
	a.empty()
	a.v.Reset()
}

// empty makes the message buffer ready for a new message: emptied, or
// dropped when over maxRetained, so that one large message does not stay
// in memory, whichever way the next message comes (Begin, Add, Whole or
// WholeFrames).
func (a *Assembler) empty() {
	if cap(a.buf) > maxRetained {
		a.buf = nil
	}
	a.buf = a.buf[:0]
}

// Add adds one whole frame and reports whether a message is ready. A
// control frame is returned at once as a Message of its own, with ready
// true, and leaves the open message as it was.
//
// A control frame, and a data frame that is a whole message by itself (no
// message open, Fin set), come back without a copy: Message.Payload is
// f.Payload, so it is valid as long as the caller's buffer is. The payload
// of a fragment is copied into the Assembler's buffer.
//
// Add is websocket-client's continuous_frame validate, add, is_fire and
// extract in one call.
func (a *Assembler) Add(f frame.Frame) (Message, bool, error) {
	if f.Opcode.IsControl() && !f.Opcode.IsReserved() {
		if a.inCur {
			return Message{}, false, ErrNoFrame
		}
		return Message{Opcode: f.Opcode, Payload: f.Payload, Fin: f.Fin}, true, nil
	}
	if f.Fin && !a.open && !a.inCur && (f.Opcode == frame.OpText || f.Opcode == frame.OpBinary) {
		return a.single(f)
	}
	h := f.Header
	h.Length = int64(len(f.Payload)) // a Frame's length is its payload's
	if err := a.Begin(h); err != nil {
		return Message{}, false, err
	}
	if err := a.Write(f.Payload); err != nil {
		return Message{}, false, err
	}
	return a.End()
}

// single checks an unfragmented message and returns it without copying.
func (a *Assembler) single(f frame.Frame) (Message, bool, error) {
	if err := a.Whole(f.Opcode, f.Payload); err != nil {
		return Message{}, false, err
	}
	p := f.Payload
	if a.Discard {
		p = p[:0]
	}
	return Message{Opcode: f.Opcode, Payload: p, Fin: true, Rsv1: f.Rsv1}, true, nil
}

// Open reports whether a fragmented message is open: its first frame was
// added and its final frame not yet.
func (a *Assembler) Open() bool { return a.open }

// Whole checks p, the payload of a final text or binary frame, as a
// message of its own, for a caller that keeps the payload: what [Assembler.Add]
// checks for such a frame (the size limit and, for text, UTF-8), without
// a Frame or Message by value and without copying. While a message is
// open, or for another opcode, the verdict is Add's for that frame.
func (a *Assembler) Whole(op frame.Opcode, p []byte) error {
	if a.open || a.inCur || op != frame.OpText && op != frame.OpBinary {
		_, _, err := a.Add(frame.Frame{Header: frame.Header{Fin: true, Opcode: op, Length: int64(len(p))}, Payload: p})
		return err
	}
	a.empty()
	a.given = false
	limit := a.maxSize()
	switch {
	case a.fits(op, p, limit):
		return nil
	case limit >= 0 && int64(len(p)) > limit:
		return fmt.Errorf("%w: more than %d bytes", ErrMessageTooBig, limit)
	}
	return ErrInvalidUTF8
}

// fits reports whether p, the payload of a text or binary message of one
// frame, is within limit and, for text, UTF-8.
func (a *Assembler) fits(op frame.Opcode, p []byte, limit int64) bool {
	return (limit < 0 || int64(len(p)) <= limit) && (op != frame.OpText || a.SkipUTF8Validation || utf8check.Valid(p))
}

// WholeFrames is Whole for messages laid end to end in p: fs[i] is the
// header of the i-th, whose payload is the next fs[i].Length bytes of p
// (fs[i].Payload is not read). It returns how many of them passed, and
// the error of the first that did not.
func (a *Assembler) WholeFrames(fs []frame.Frame, p []byte) (int, error) {
	limit := a.maxSize()
	for i := range fs {
		op, n := fs[i].Opcode, int(fs[i].Length)
		q := p[:n]
		p = p[n:]
		if a.open || a.inCur || op != frame.OpText && op != frame.OpBinary || !a.fits(op, q, limit) {
			if err := a.Whole(op, q); err != nil {
				return i, err
			}
		}
	}
	if !a.open && !a.inCur {
		a.empty()
		a.given = false
	}
	return len(fs), nil
}

// Begin starts a frame whose payload follows in Write calls. It checks the
// fragmentation rules and, from the declared length, the size limit, but
// allocates nothing from it. An empty continuation frame that is not final
// counts [EmptyFrameCost] against the limit. A negative h.Length says the
// payload's length is not known, as for a frame an extension decodes: its
// bytes count as they are written.
func (a *Assembler) Begin(h frame.Header) error {
	if a.inCur {
		return ErrNoFrame
	}
	a.given = false
	switch {
	case h.Opcode.IsReserved():
		return a.fail(fmt.Errorf("%w %d", ErrNotData, h.Opcode))
	case h.Opcode.IsControl():
		a.ctrl = a.ctrl[:0]
	case h.Opcode == frame.OpContinuation:
		if !a.open {
			return a.fail(ErrUnexpectedContinuation)
		}
		if a.DeliverFragments {
			a.buf = a.buf[:0]
		}
		if h.Length == 0 && !h.Fin {
			a.size += EmptyFrameCost
		}
	default: // text or binary
		if a.open {
			return a.fail(fmt.Errorf("%w: %s frame", ErrMissingContinuation, h.Opcode))
		}
		a.open, a.op, a.rsv1, a.size = true, h.Opcode, h.Rsv1, 0
		a.empty()
		a.v.Reset()
	}
	if h.Opcode.IsData() {
		if limit := a.maxSize(); limit >= 0 && (a.size > limit || h.Length > limit-a.size) {
			return a.fail(fmt.Errorf("%w: more than %d bytes", ErrMessageTooBig, limit))
		}
	}
	a.cur, a.inCur = h, true
	return nil
}

// Write adds the next bytes of the current frame's payload. For a text
// message it returns ErrInvalidUTF8 as soon as p holds a byte that cannot
// be part of UTF-8 text, and ErrMessageTooBig as soon as the message
// passes the limit.
func (a *Assembler) Write(p []byte) error {
	if !a.inCur {
		return ErrNoFrame
	}
	if a.cur.Opcode.IsControl() {
		a.ctrl = append(a.ctrl, p...)
		return nil
	}
	if limit := a.maxSize(); limit >= 0 && int64(len(p)) > limit-a.size {
		return a.fail(fmt.Errorf("%w: more than %d bytes", ErrMessageTooBig, limit))
	}
	if a.op == frame.OpText && !a.SkipUTF8Validation && !a.v.Write(p) {
		return a.fail(ErrInvalidUTF8)
	}
	if a.Discard {
		a.buf = a.buf[:0]
	} else {
		a.buf = append(grow.Buffer(a.buf, len(p), a.room()), p...)
	}
	a.size += int64(len(p))
	return nil
}

// room is the capacity the data buffer may grow to: the bytes it holds and
// those MaxMessageSize still allows, or -1 when there is no limit.
func (a *Assembler) room() int {
	limit := a.maxSize()
	if limit < 0 {
		return -1
	}
	return len(a.buf) + int(min(max(limit-a.size, 0), int64(math.MaxInt-len(a.buf))))
}

// Grow returns free space at the end of the current frame's buffer for
// the next bytes of its payload, so that they can be read in place instead
// of passed to Write: fill a prefix of it and call [Assembler.Commit] with
// its length. The space is at most n bytes long, and at least one byte
// when n > 0. n may be what the frame's header declares is left: when
// full, the buffer doubles (from 512 bytes) but never holds more than
// MaxMessageSize allows, so it grows with the bytes that arrived, never
// from n, and a message of many small frames is joined in linear time.
// Grow returns nil when n <= 0 or outside a frame. The space is valid until
// the next call on a.
func (a *Assembler) Grow(n int) []byte {
	if !a.inCur || n <= 0 {
		return nil
	}
	b, limit := &a.buf, a.room()
	if a.cur.Opcode.IsControl() {
		b, limit = &a.ctrl, -1 // at most 125 bytes: the reader checks
	} else if a.Discard {
		a.buf = a.buf[:0] // every piece reuses the space from its start
	}
	*b = grow.Buffer(*b, 1, limit)
	free := (*b)[len(*b):cap(*b)]
	return free[:min(len(free), n)]
}

// Commit adds the first n bytes of the space the last Grow returned to the
// current frame's payload, with the checks of [Assembler.Write]. An n
// beyond that space is ErrNoFrame.
func (a *Assembler) Commit(n int) error {
	if !a.inCur {
		return ErrNoFrame
	}
	b := &a.buf
	if a.cur.Opcode.IsControl() {
		b = &a.ctrl
	}
	if n < 0 || n > cap(*b)-len(*b) {
		return ErrNoFrame
	}
	p := (*b)[len(*b) : len(*b)+n]
	if a.cur.Opcode.IsControl() {
		a.ctrl = a.ctrl[:len(a.ctrl)+n]
		return nil
	}
	if limit := a.maxSize(); limit >= 0 && int64(n) > limit-a.size {
		return a.fail(fmt.Errorf("%w: more than %d bytes", ErrMessageTooBig, limit))
	}
	if a.op == frame.OpText && !a.SkipUTF8Validation && !a.v.Write(p) {
		return a.fail(ErrInvalidUTF8)
	}
	if !a.Discard {
		a.buf = a.buf[:len(a.buf)+n]
	}
	a.size += int64(n)
	return nil
}

// End finishes the current frame and reports whether a message is ready:
// the message's last frame, a fragment in DeliverFragments mode, or a control
// frame. A text message that ends inside a multi-byte sequence is
// ErrInvalidUTF8.
func (a *Assembler) End() (Message, bool, error) {
	if !a.inCur {
		return Message{}, false, ErrNoFrame
	}
	a.inCur = false
	h := a.cur
	if h.Opcode.IsControl() {
		return Message{Opcode: h.Opcode, Payload: a.ctrl, Fin: h.Fin}, true, nil
	}
	if a.Discard {
		a.buf = a.buf[:0]
	}
	if h.Fin {
		if a.op == frame.OpText && !a.SkipUTF8Validation && !a.v.Complete() {
			return Message{}, false, a.fail(fmt.Errorf("%w: ends inside a character", ErrInvalidUTF8))
		}
		a.open = false
		op := a.op
		if a.DeliverFragments {
			op = h.Opcode
		}
		a.given = true
		return Message{Opcode: op, Payload: a.buf, Fin: true, Rsv1: a.rsv1}, true, nil
	}
	if a.DeliverFragments {
		a.given = true
		return Message{Opcode: h.Opcode, Payload: a.buf, Fin: false, Rsv1: a.rsv1}, true, nil
	}
	return Message{}, false, nil
}

// Swap gives the caller the buffer that holds the data payload End
// returned last, and takes buf, whose contents it discards, as its buffer
// for what comes next; the Assembler keeps no reference to the buffer it
// returns. It lets a receiver hand each message to its caller without a
// copy while the two trade buffers. Swap works only between End reporting
// a data message (or, in DeliverFragments mode, a fragment) and the next
// Begin; at any other time, and when the payload is empty with no buffer
// behind it (nil), it returns nil and changes nothing: the caller keeps
// buf, which no one else refers to.
func (a *Assembler) Swap(buf []byte) []byte {
	if !a.given || a.buf == nil {
		return nil
	}
	p := a.buf
	a.buf, a.given = buf[:0], false
	return p
}

func (a *Assembler) maxSize() int64 {
	if a.MaxMessageSize == 0 {
		return DefaultMaxMessageSize
	}
	return a.MaxMessageSize
}

// fail drops the open message, so the Assembler starts afresh, and returns
// err.
func (a *Assembler) fail(err error) error {
	a.Reset()
	return err
}
