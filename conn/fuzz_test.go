package conn_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// The limits of FuzzRecv's client.
const (
	recvMaxFrame   = 1 << 16
	recvMaxMessage = 1 << 17
)

// FuzzRecv feeds arbitrary server bytes after a valid handshake to a
// client reading with ReadDataFrame (ControlFrames on, no extension), and
// to one reading with a held Receiver's Receive, and holds what each
// returns against recvModel, a reading of RFC 6455 written apart from the
// library (see recvAgrees).
func FuzzRecv(f *testing.F) {
	f.Add([]byte("\x81\x05hello"))
	f.Add([]byte("\x01\x03Bre\x89\x01p\x80\x03vit"))
	f.Add([]byte("\x88\x02\x03\xe8"))
	f.Add([]byte("\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff"))
	// A close frame with a reason, after a pong.
	f.Add([]byte("\x8a\x00\x88\x05\x03\xe9bye\x81\x01x"))
	// Text whose character is split between two fragments.
	f.Add([]byte("\x01\x01\xc3\x80\x01\xa9"))
	// One violation each, after a message.
	longPing := "\x89\x7e\x00\x7e" + strings.Repeat("p", 126)
	for _, bad := range []string{
		"\xc1\x01x",                // RSV1 with no extension
		"\x83\x00",                 // a reserved opcode
		"\x09\x00",                 // a fragmented ping
		longPing,                   // a ping of 126 bytes
		"\x88\x01\x03",             // a close body of 1 byte
		"\x88\x02\x03\xed",         // close code 1005
		"\x88\x04\x03\xe8\xff\xfe", // a close reason that is not UTF-8
		"\x82\x7e\x00\x05hello",    // a 16-bit length for 5 bytes
		"\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x05hello", // a 64-bit length for 5 bytes
		"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x05hello", // a 64-bit length with its top bit set
		"\x01\x01a\x81\x01b",                            // a new message inside a fragmented one
		"\x01\x01\xc3\x80\x00",                          // text that ends inside a character
		"\x81\x02\xc3",                                  // text cut short inside a character
		"\x81\x02\xff\xfe",                              // a text frame, whole in the buffer, that is not UTF-8
	} {
		f.Add([]byte("\x82\x02ok" + bad))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, way := range recvWays {
			recvAgrees(t, data, way)
		}
	})
}

// A recvWay is a receiving call that recvAgrees holds to the model.
type recvWay struct {
	name string
	held bool // reads with a Receiver
	read func(ctx context.Context, c *conn.Conn, r *conn.Receiver) (frame.Frame, error)
}

var recvWays = []recvWay{
	{"ReadDataFrame", false, func(ctx context.Context, c *conn.Conn, _ *conn.Receiver) (frame.Frame, error) {
		return c.ReadDataFrame(ctx, nil)
	}},
	{"Receiver.Receive", true, func(ctx context.Context, _ *conn.Conn, r *conn.Receiver) (frame.Frame, error) {
		op, p, err := r.Receive(ctx, nil)
		return frame.Frame{Header: frame.Header{Fin: true, Opcode: op, Length: int64(len(p))}, Payload: p}, err
	}},
}

// TestFuzzRecvLimits holds the client to recvModel on streams at its size
// limits, too long for FuzzRecv's corpus: the fuzzer would spend a minute
// minimizing each new input it makes of them.
func TestFuzzRecvLimits(t *testing.T) {
	long := bytes.Repeat([]byte{'x'}, recvMaxFrame+1)
	// frame64 encodes a frame whose length takes the 64-bit form.
	frame64 := func(b0 byte, n int, p []byte) []byte {
		return append(binary.BigEndian.AppendUint64([]byte{b0, 127}, uint64(n)), p...)
	}
	// A message of two frames as long as its limit, to which each stream
	// adds a final frame of its own.
	full := append(frame64(0x02, recvMaxFrame, long[:recvMaxFrame]), frame64(0x00, recvMaxFrame, long[:recvMaxFrame])...)
	full = full[:len(full):len(full)]
	for _, tc := range []struct {
		name   string
		stream []byte
	}{
		{"frame at the limit", frame64(0x82, recvMaxFrame, long[:recvMaxFrame])},
		{"frame over the limit", frame64(0x82, recvMaxFrame+1, long)},
		{"frame over the limit, cut short", frame64(0x82, recvMaxFrame+1, long[:100])},
		{"text over the limit, not UTF-8 first", frame64(0x81, recvMaxFrame+1, append([]byte{0xff}, long[:recvMaxFrame]...))},
		{"message at the limit", append(full, 0x80, 0x00)},
		{"message one byte over the limit", append(full, 0x80, 0x01, 'x')},
	} {
		for _, way := range recvWays {
			t.Run(tc.name+"/"+way.name, func(t *testing.T) { recvAgrees(t, tc.stream, way) })
		}
	}
}

// recvAgrees has a client read data from the server after a valid
// handshake, with way's call until it fails, and holds what it returns
// against recvModel: the messages, pings and pongs the model delivers, in
// order, and then an end the model allows. The client fails the
// connection with a close code the model names for a violation, returns
// the server's valid close frame and then its code and reason, or reports
// the connection lost when the bytes end first. It must also never hang
// and keep its payloads within its limit.
func recvAgrees(t *testing.T, data []byte, way recvWay) {
	model := newRecvModel(data)
	s := wstest.NewServer(func(p *wstest.Peer) {
		p.Upgrade(nil)
		// Read what the client sends (a close frame failing the
		// connection), or it would wait for ReplyTimeout on the
		// synchronous pipe, 5 s for every such input.
		go io.Copy(io.Discard, p.Conn)
		p.Write(data)
	})
	defer s.Close()
	d := conn.Dialer{Config: conn.Config{MaxFrameSize: recvMaxFrame, MaxMessageSize: recvMaxMessage, ControlFrames: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialConn(ctx, &halfClosed{Conn: s.Pipe()}, "ws://fuzz.test/")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var r *conn.Receiver
	if way.held {
		if r, err = c.Receiver(ctx); err != nil {
			t.Fatal(err)
		}
		defer r.Release()
	}
	var got []frame.Frame
	for range len(data) + 2 {
		f, err := way.read(ctx, c, r)
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s hung", way.name)
		}
		if err != nil {
			if why := model.check(got, err); why != "" {
				t.Fatalf("%s: %s\nthe client returned %d frames (%s), then %v\nthe model: %v", way.name, why, len(got), shownFrames(got), err, model)
			}
			// A violation failed the connection: the next call says so.
			var fe, next *frame.Error
			if errors.As(err, &fe) {
				_, err := way.read(ctx, c, r)
				if !errors.Is(err, conn.ErrClosed) || !errors.As(err, &next) || next.Code != fe.Code {
					t.Fatalf("%s: after %v, the next call returned %v, want ErrClosed with code %d", way.name, fe, err, fe.Code)
				}
			}
			return
		}
		if len(f.Payload) > recvMaxMessage {
			t.Fatalf("payload of %d bytes beyond the limit", len(f.Payload))
		}
		got = append(got, f)
	}
	t.Fatal("more messages than input bytes")
}

// halfClosed is the client's end of FuzzRecv's pipe. Once the server has
// written its bytes and closed its end, what the client writes (a pong, a
// close frame) is dropped as if read, as a TCP server that shut down only
// its sending side would take it. Otherwise such a write would end the
// connection while the client still holds bytes it read, and what the
// client returns would depend on when the server closed.
type halfClosed struct {
	net.Conn
	closed atomic.Bool // the client closed its end
}

func (c *halfClosed) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if errors.Is(err, io.ErrClosedPipe) && !c.closed.Load() {
		return len(p), nil
	}
	return n, err
}

func (c *halfClosed) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}

// recvModel is what RFC 6455 asks of a client with recvAgrees' Config
// that reads the server's stream: the frames it delivers and the
// violations for which it fails the connection. Positions in the stream
// are counts of bytes read: a frame delivered at n is complete once n
// bytes are read. A client reads in order: it delivers every frame
// complete before a violation is certain, and, once it has failed, no
// more.
//
// The RFC leaves some points open, and the model allows every choice:
//
//   - A violation may be reported as soon as the bytes read make it
//     certain, or later, until the point where the RFC's rule is checked:
//     the end of the header for the rules of a header (§5.2, §5.5), the
//     end of the frame for a close frame's body (§5.5.1, §7.4), the end of
//     the message for UTF-8 of text (§5.6, §8.1), and for the size limits
//     (§10.4) the first byte past the limit. A frame complete in between
//     (a ping among the fragments of a text message) may be delivered.
//   - Several violations certain at once may be reported in any order,
//     each with its own code.
//   - A stream that ends before a violation is due ends the connection as
//     lost, or fails it for a violation already certain.
//   - Close codes 1012 to 1014, registered with IANA after RFC 6455, may
//     be taken as valid or refused.
//
// A payload length not in its shortest form, or a 64-bit one with its top
// bit set, breaks a rule §5.2 sets for the sender; the RFC does not make
// the receiver check it, but the library documents that it refuses both
// (frame.ParseHeader), and the model requires it.
type recvModel struct {
	frames []modelFrame // the messages, pings and pongs, in order
	close  *modelClose  // the server's valid close frame, which ends the stream
	viols  []violation  // in the order they become certain
	size   int          // the stream's length
}

// modelFrame is a frame ReadDataFrame returns: a reassembled message, a
// ping, a pong, or the close frame.
type modelFrame struct {
	op      frame.Opcode
	payload []byte
	at      int // the position at which it is complete
}

// modelClose is the server's valid close frame, which the client returns
// before reporting its code and reason.
type modelClose struct {
	modelFrame
	code   status.Code
	reason string
}

// violation is a breach of RFC 6455 for which the client fails the
// connection with code: it may do so from position from on, and must have
// done so by position by (math.MaxInt when the stream has no such point).
type violation struct {
	code     status.Code
	from, by int
	what     string
}

// never is the position of a point the stream does not reach.
const never = math.MaxInt

// due returns the position by which the client must have failed the
// connection: the earliest by of the violations.
func (m *recvModel) due() int {
	d := never
	for _, v := range m.viols {
		d = min(d, v.by)
	}
	return d
}

// add records a violation and returns its index in m.viols.
func (m *recvModel) add(code status.Code, from, by int, what string) int {
	m.viols = append(m.viols, violation{code, from, by, what})
	return len(m.viols) - 1
}

// newRecvModel reads stream as recvModel says.
func newRecvModel(stream []byte) *recvModel {
	m := &recvModel{size: len(stream)}
	var (
		open  bool         // a data message is open: its final frame is still to come
		op    frame.Opcode // the open message's opcode
		msg   []byte       // its payload so far
		text  utf8Reader   // its UTF-8 so far, for text
		wrong = -1         // the index in viols of its UTF-8 violation, if any
	)
	pos := 0
	for pos < len(stream) && pos < m.due() {
		b0 := stream[pos]
		fin, opc := b0&0x80 != 0, frame.Opcode(b0&0x0F)
		control := opc&0x08 != 0
		known := opc <= frame.OpBinary || opc == frame.OpClose || opc == frame.OpPing || opc == frame.OpPong

		// The rules of the header, each due at its end (hdrEnd, known
		// once the second byte is read).
		type rule struct {
			from int
			what string
		}
		var rules []rule
		if b0&0x70 != 0 {
			rules = append(rules, rule{pos + 1, "reserved bits set"})
		}
		switch {
		case !known:
			rules = append(rules, rule{pos + 1, "reserved opcode"})
		case control && !fin:
			rules = append(rules, rule{pos + 1, "fragmented control frame"})
		case opc == frame.OpContinuation && !open:
			rules = append(rules, rule{pos + 1, "continuation frame with no message open"})
		case !control && opc != frame.OpContinuation && open:
			rules = append(rules, rule{pos + 1, "new message inside a fragmented one"})
		}
		hdrEnd := never
		var length uint64 // the payload's length, once hdrEnd is known
		if pos+1 < len(stream) {
			b1 := stream[pos+1]
			len7 := uint64(b1 & 0x7F)
			ext := 0
			switch len7 {
			case 126:
				ext = 2
			case 127:
				ext = 8
			}
			hdrEnd = pos + 2 + ext
			if b1&0x80 != 0 {
				hdrEnd += 4
				rules = append(rules, rule{pos + 2, "masked frame from the server"})
			}
			if control && len7 > frame.MaxControlPayload {
				rules = append(rules, rule{pos + 2, "control frame over 125 bytes"})
			}
			if opc == frame.OpClose && len7 == 1 {
				m.add(status.ProtocolError, pos+2, hdrEnd+1, "close frame of 1 byte")
			}
			// certain returns the position from which every length the
			// header may still carry has property p, or never.
			certain := func(p func(lo, hi uint64) bool) int {
				if ext == 0 {
					if p(len7, len7) {
						return pos + 2
					}
					return never
				}
				var v uint64
				for k := 1; k <= ext && pos+1+k < len(stream); k++ {
					v = v<<8 | uint64(stream[pos+1+k])
					shift := 8 * (ext - k)
					lo := v << shift
					if p(lo, lo|(1<<shift-1)) {
						return pos + 2 + k
					}
				}
				return never
			}
			switch ext {
			case 2:
				if at := certain(func(_, hi uint64) bool { return hi <= frame.Max7BitLength }); at != never {
					rules = append(rules, rule{at, "16-bit length not in its shortest form"})
				}
			case 8:
				if at := certain(func(lo, _ uint64) bool { return lo>>63 != 0 }); at != never {
					rules = append(rules, rule{at, "64-bit length with its top bit set"})
				}
				if at := certain(func(_, hi uint64) bool { return hi <= frame.Max16BitLength }); at != never {
					rules = append(rules, rule{at, "64-bit length not in its shortest form"})
				}
			}
			// The size limits are due at the first byte past them.
			if at := certain(func(lo, _ uint64) bool { return lo > recvMaxFrame }); at != never {
				m.add(status.MessageTooBig, at, hdrEnd+recvMaxFrame+1, "frame over MaxFrameSize")
			}
			if !control {
				room := recvMaxMessage
				if opc == frame.OpContinuation && open {
					room -= len(msg)
				}
				if at := certain(func(lo, _ uint64) bool { return lo > uint64(room) }); at != never {
					m.add(status.MessageTooBig, at, hdrEnd+room+1, "message over MaxMessageSize")
				}
			}
			if hdrEnd <= len(stream) {
				length = len7
				if ext > 0 {
					length = 0
					for _, b := range stream[pos+2 : pos+2+ext] {
						length = length<<8 | uint64(b)
					}
				}
			}
		}
		for _, r := range rules {
			m.add(status.ProtocolError, r.from, hdrEnd, r.what)
		}
		if hdrEnd > len(stream) || hdrEnd >= m.due() {
			break // the stream ends in the header, or the header fails
		}

		// The payload, as far as the stream and the violations go.
		end := never // the frame's end
		if length <= uint64(len(stream)-hdrEnd) {
			end = hdrEnd + int(length)
		}
		payload := stream[hdrEnd:min(end, len(stream))]
		if !control {
			if opc != frame.OpContinuation {
				open, op, msg, text, wrong = true, opc, nil, utf8Reader{}, -1
			}
			for i, b := range payload {
				at := hdrEnd + i + 1
				if at > m.due() {
					break
				}
				msg = append(msg, b)
				if op == frame.OpText && wrong < 0 && !text.next(b) {
					wrong = m.add(status.InvalidPayload, at, never, "text that is not UTF-8")
				}
			}
			if end >= m.due() {
				break // the frame fails, or the client must fail before its end
			}
			if end > len(stream) || !fin {
				pos = end
				continue
			}
			// The message ends with this frame.
			if op == frame.OpText && wrong < 0 && !text.complete() {
				wrong = m.add(status.InvalidPayload, end, end, "text that ends inside a character")
			}
			if wrong >= 0 {
				m.viols[wrong].by = end
			} else {
				m.frames = append(m.frames, modelFrame{op, msg, end})
			}
			open = false
			pos = end
			continue
		}
		var code status.Code
		var reason string
		if opc == frame.OpClose {
			code, reason = m.closeBody(payload, hdrEnd, end)
		}
		if end > len(stream) || end >= m.due() {
			break // the stream ends in a control frame, or the frame fails
		}
		if opc != frame.OpClose {
			m.frames = append(m.frames, modelFrame{opc, payload, end})
			pos = end
			continue
		}
		m.close = &modelClose{modelFrame{opc, payload, end}, code, reason}
		break // nothing after a close frame is read
	}
	return m
}

// closeBody checks the body of a close frame (§5.5.1, §7.4), p, which
// begins at position at and ends at end, or as much of it as the stream
// holds, and returns its code and reason. A body of 1 byte is a violation
// of the header's.
func (m *recvModel) closeBody(p []byte, at, end int) (status.Code, string) {
	if end == at {
		return status.NoStatusReceived, ""
	}
	if end == at+1 || len(p) == 0 {
		return 0, ""
	}
	// A code is certain to be refused from its first byte when no code
	// with that byte is valid.
	high := status.Code(p[0]) << 8
	refused := true
	for c := high; c <= high|0xFF; c++ {
		if closeCodeValid(c) != codeRefused {
			refused = false
			break
		}
	}
	if refused {
		m.add(status.ProtocolError, at+1, end, "close code that no endpoint may send")
	}
	if len(p) < 2 {
		return 0, ""
	}
	code := status.Code(p[0])<<8 | status.Code(p[1])
	switch v := closeCodeValid(code); {
	case v == codeRefused && !refused:
		m.add(status.ProtocolError, at+2, end, "close code that no endpoint may send")
	case v == codeEither:
		m.add(status.ProtocolError, at+2, never, "close code registered after RFC 6455")
	}
	var reason utf8Reader
	for i, b := range p[2:] {
		if !reason.next(b) {
			m.add(status.InvalidPayload, at+3+i, end, "close reason that is not UTF-8")
			return code, ""
		}
	}
	if at+len(p) == end && !reason.complete() {
		m.add(status.InvalidPayload, end, end, "close reason that ends inside a character")
	}
	return code, string(p[2:])
}

// The verdicts of closeCodeValid.
const (
	codeValid   = iota // an endpoint may send it
	codeRefused        // no endpoint may send it: the connection fails
	codeEither         // registered after RFC 6455: either is right
)

// closeCodeValid tells the codes a close frame may carry (RFC 6455
// §7.4.1 and §7.4.2): those the RFC defines for use on the wire, and the
// range 3000-4999 for libraries, frameworks and applications. 1004, 1005,
// 1006 and 1015 must not be sent; the rest of 1000-2999 is reserved for
// the protocol, and the codes below 1000 and from 5000 up are not used.
func closeCodeValid(c status.Code) int {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1011, c >= 3000 && c <= 4999:
		return codeValid
	case c >= 1012 && c <= 1014:
		return codeEither
	}
	return codeRefused
}

// utf8Reader checks UTF-8 a byte at a time against the syntax of RFC 3629
// §4: it reports a byte as soon as no valid text can begin with the bytes
// read.
type utf8Reader struct {
	need   int  // continuation bytes still needed by the character begun
	lo, hi byte // the range of the next continuation byte
}

func (u *utf8Reader) next(b byte) bool {
	if u.need > 0 {
		if b < u.lo || b > u.hi {
			return false
		}
		u.need, u.lo, u.hi = u.need-1, 0x80, 0xBF
		return true
	}
	switch {
	case b <= 0x7F:
		return true
	case b >= 0xC2 && b <= 0xDF:
		u.need, u.lo, u.hi = 1, 0x80, 0xBF
	case b == 0xE0:
		u.need, u.lo, u.hi = 2, 0xA0, 0xBF
	case b >= 0xE1 && b <= 0xEC, b == 0xEE, b == 0xEF:
		u.need, u.lo, u.hi = 2, 0x80, 0xBF
	case b == 0xED:
		u.need, u.lo, u.hi = 2, 0x80, 0x9F // no surrogates
	case b == 0xF0:
		u.need, u.lo, u.hi = 3, 0x90, 0xBF
	case b >= 0xF1 && b <= 0xF3:
		u.need, u.lo, u.hi = 3, 0x80, 0xBF
	case b == 0xF4:
		u.need, u.lo, u.hi = 3, 0x80, 0x8F // nothing past U+10FFFF
	default:
		return false
	}
	return true
}

// complete reports whether the text read ends between characters.
func (u *utf8Reader) complete() bool { return u.need == 0 }

// check holds what the client returned, got and then err, against the
// model; it returns why they disagree, or "" when the model allows them.
func (m *recvModel) check(got []frame.Frame, err error) string {
	var fe *frame.Error
	var ce *status.CloseError
	switch {
	case errors.Is(err, conn.ErrConnectionLost):
		if m.close != nil || m.size >= m.due() {
			return "the connection was reported lost before the stream ended"
		}
		return m.same(got, len(m.frames), len(m.frames))
	case errors.As(err, &fe):
		// The failure comes at some position t, from the earliest
		// violation of its code and, at the latest, when one is due, the
		// stream ends or the close frame ends it.
		last := min(m.due(), m.size)
		if m.close != nil {
			last = min(last, m.close.at)
		}
		first := never
		for _, v := range m.viols {
			if v.code == fe.Code && v.from <= last {
				first = min(first, v.from)
			}
		}
		if first == never {
			return fmt.Sprintf("the connection failed with %d, which no violation allows", fe.Code)
		}
		return m.same(got, m.count(first-1), m.count(last))
	case errors.As(err, &ce):
		if m.close == nil {
			return "the connection ended with a close frame the model does not deliver"
		}
		if ce.Code != m.close.code || ce.Reason != m.close.reason {
			return fmt.Sprintf("the close frame's code and reason are %d %q, want %d %q", ce.Code, ce.Reason, m.close.code, m.close.reason)
		}
		n := len(got) - 1
		if n < 0 || got[n].Opcode != frame.OpClose || !bytes.Equal(got[n].Payload, m.close.payload) {
			return "the close frame was not returned before its code"
		}
		return m.same(got[:n], len(m.frames), len(m.frames))
	}
	return "the client ended with an error that is neither a failure, a close nor a lost connection"
}

// count returns how many of the model's frames are complete at position
// at.
func (m *recvModel) count(at int) int {
	n := 0
	for n < len(m.frames) && m.frames[n].at <= at {
		n++
	}
	return n
}

// same reports whether got is the model's first frames, from lo to hi of
// them.
func (m *recvModel) same(got []frame.Frame, lo, hi int) string {
	if len(got) < lo || len(got) > hi {
		return fmt.Sprintf("the client returned %d frames, want %d to %d", len(got), lo, hi)
	}
	for i, f := range got {
		w := m.frames[i]
		if f.Opcode != w.op || !f.Fin || !bytes.Equal(f.Payload, w.payload) {
			return fmt.Sprintf("frame %d is %s, want %s", i, shownFrames(got[i:i+1]), w)
		}
	}
	return ""
}

func (f modelFrame) String() string {
	return fmt.Sprintf("%v %q at %d", f.op, shorten(f.payload), f.at)
}

func (m *recvModel) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d bytes; delivers [", m.size)
	for i, f := range m.frames {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.String())
	}
	b.WriteString("]")
	if m.close != nil {
		fmt.Fprintf(&b, "; closes with %d %q at %d", m.close.code, m.close.reason, m.close.at)
	}
	for _, v := range m.viols {
		by := "never"
		if v.by != never {
			by = fmt.Sprint(v.by)
		}
		fmt.Fprintf(&b, "; %d for %s, from %d, due %s", v.code, v.what, v.from, by)
	}
	return b.String()
}

// shownFrames formats frames the client returned for a failure message.
func shownFrames(fs []frame.Frame) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%v fin=%v %q", f.Opcode, f.Fin, shorten(f.Payload))
	}
	return b.String()
}

// shorten returns p, or its first 32 bytes when it is longer.
func shorten(p []byte) []byte { return p[:min(len(p), 32)] }
