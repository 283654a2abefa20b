package fragment

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/grow"
	"github.com/framewire/ws/status"
)

func data(op frame.Opcode, fin bool, s string) frame.Frame {
	return frame.Frame{Header: frame.Header{Fin: fin, Opcode: op, Length: int64(len(s))}, Payload: []byte(s)}
}

type step struct {
	in      frame.Frame
	ready   bool
	want    Message
	wantErr error
}

func msg(op frame.Opcode, fin bool, s string) Message {
	return Message{Opcode: op, Payload: []byte(s), Fin: fin}
}

const (
	text = frame.OpText
	bin  = frame.OpBinary
	cont = frame.OpContinuation
	ping = frame.OpPing
)

var tests = []struct {
	name  string
	asm   Assembler
	steps []step
}{
	{"websocket-client simple fragmentation", Assembler{}, []step{
		{in: data(text, false, "Brevity is ")},
		{in: data(cont, true, "the soul of wit"), ready: true, want: msg(text, true, "Brevity is the soul of wit")},
	}},
	{"websocket-client prolonged fragmentation", Assembler{}, []step{
		{in: data(text, false, "Once more unto the breach, ")},
		{in: data(cont, false, "once more unto the breach, ")},
		{in: data(cont, true, "dear friends, once more!"), ready: true, want: msg(text, true, "Once more unto the breach, once more unto the breach, dear friends, once more!")},
	}},
	{"websocket-client ping in the middle", Assembler{}, []step{
		{in: data(text, false, "Too much ")},
		{in: data(ping, true, "Please PONG this"), ready: true, want: msg(ping, true, "Please PONG this")},
		{in: data(cont, true, "of a good thing"), ready: true, want: msg(text, true, "Too much of a good thing")},
	}},
	{"websocket-client leading continuation", Assembler{}, []step{
		{in: data(cont, true, "Illegal"), wantErr: ErrUnexpectedContinuation},
	}},
	{"websocket-client fire_cont_frame", Assembler{DeliverFragments: true}, []step{
		{in: data(text, false, "Brevity is "), ready: true, want: msg(text, false, "Brevity is ")},
		{in: data(cont, true, "the soul of wit"), ready: true, want: msg(cont, true, "the soul of wit")},
		{in: data(cont, true, "the soul of wit"), wantErr: ErrUnexpectedContinuation},
	}},
	{"RFC 5.7 fragmented Hello", Assembler{}, []step{
		{in: data(text, false, "Hel")},
		{in: data(cont, true, "lo"), ready: true, want: msg(text, true, "Hello")},
	}},
	{"unfragmented binary", Assembler{}, []step{
		{in: data(bin, true, "\xff\x00"), ready: true, want: msg(bin, true, "\xff\x00")},
	}},
	{"empty fragments", Assembler{}, []step{
		{in: data(bin, false, "")},
		{in: data(cont, false, "")},
		{in: data(cont, true, ""), ready: true, want: msg(bin, true, "")},
	}},
	{"data frame during a fragmented message", Assembler{}, []step{
		{in: data(text, false, "a")},
		{in: data(bin, true, "b"), wantErr: ErrMissingContinuation},
		{in: data(cont, true, "c"), wantErr: ErrUnexpectedContinuation},
	}},
	{"UTF-8 split across fragments", Assembler{}, []step{
		{in: data(text, false, "\xe2")},
		{in: data(cont, false, "\x82")},
		{in: data(cont, true, "\xac!"), ready: true, want: msg(text, true, "€!")},
	}},
	{"invalid UTF-8 fails in the first fragment", Assembler{}, []step{
		{in: data(text, false, "ok \xed\xa0\x80"), wantErr: ErrInvalidUTF8},
	}},
	{"invalid UTF-8 fails in a middle fragment", Assembler{}, []step{
		{in: data(text, false, "\xf0\x90")},
		{in: data(cont, false, "\x80\x41"), wantErr: ErrInvalidUTF8},
	}},
	{"text ending inside a character", Assembler{}, []step{
		{in: data(text, false, "ab")},
		{in: data(cont, true, "\xe2\x82"), wantErr: ErrInvalidUTF8},
	}},
	{"unfragmented text ending inside a character", Assembler{}, []step{
		{in: data(text, true, "ab\xe2\x82"), wantErr: ErrInvalidUTF8},
	}},
	{"skip UTF-8 validation", Assembler{SkipUTF8Validation: true}, []step{
		{in: data(text, false, "\xff")},
		{in: data(cont, true, "\xe2"), ready: true, want: msg(text, true, "\xff\xe2")},
	}},
	{"fire_cont_frame still checks UTF-8", Assembler{DeliverFragments: true}, []step{
		{in: data(text, false, "\xe2\x82"), ready: true, want: msg(text, false, "\xe2\x82")},
		{in: data(cont, false, "\xac"), ready: true, want: msg(cont, false, "\xac")},
		{in: data(cont, true, "\xc0"), wantErr: ErrInvalidUTF8},
	}},
	{"fire_cont_frame truncated at the end", Assembler{DeliverFragments: true}, []step{
		{in: data(text, false, "a"), ready: true, want: msg(text, false, "a")},
		{in: data(cont, true, "\xe2"), wantErr: ErrInvalidUTF8},
	}},
	{"size limit on one frame", Assembler{MaxMessageSize: 4}, []step{
		{in: data(bin, true, "12345"), wantErr: ErrMessageTooBig},
		{in: data(bin, true, "1234"), ready: true, want: msg(bin, true, "1234")},
	}},
	{"size limit across fragments", Assembler{MaxMessageSize: 4}, []step{
		{in: data(bin, false, "12")},
		{in: data(cont, false, "34")},
		{in: data(cont, true, "5"), wantErr: ErrMessageTooBig},
	}},
	{"empty fragments count", Assembler{MaxMessageSize: 4}, []step{
		{in: data(bin, false, "12")},
		{in: data(cont, false, "")},
		{in: data(cont, false, ""), wantErr: ErrMessageTooBig},
	}},
	{"empty fragment within the limit, empty final one free", Assembler{MaxMessageSize: 4}, []step{
		{in: data(bin, false, "1")},
		{in: data(cont, false, "")},
		{in: data(cont, false, "4")},
		{in: data(cont, true, ""), ready: true, want: msg(bin, true, "14")},
	}},
	{"size limit in fire_cont_frame mode", Assembler{MaxMessageSize: 4, DeliverFragments: true}, []step{
		{in: data(bin, false, "123"), ready: true, want: msg(bin, false, "123")},
		{in: data(cont, true, "45"), wantErr: ErrMessageTooBig},
	}},
	{"no limit", Assembler{MaxMessageSize: -1}, []step{
		{in: data(bin, true, strings.Repeat("x", 1000)), ready: true, want: msg(bin, true, strings.Repeat("x", 1000))},
	}},
	{"reserved opcode", Assembler{}, []step{
		{in: data(frame.Opcode(3), true, ""), wantErr: ErrNotData},
		{in: data(frame.Opcode(0xB), true, ""), wantErr: ErrNotData},
	}},
}

func TestAdd(t *testing.T) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.asm
			for i, s := range tc.steps {
				m, ready, err := a.Add(s.in)
				if !errors.Is(err, s.wantErr) || (err != nil) != (s.wantErr != nil) {
					t.Fatalf("step %d: error %v, want %v", i, err, s.wantErr)
				}
				if ready != s.ready || m.Opcode != s.want.Opcode || m.Fin != s.want.Fin || !bytes.Equal(m.Payload, s.want.Payload) {
					t.Fatalf("step %d: got %v %q fin=%v ready=%v, want %v %q fin=%v ready=%v",
						i, m.Opcode, m.Payload, m.Fin, ready, s.want.Opcode, s.want.Payload, s.want.Fin, s.ready)
				}
			}
		})
	}
}

// TestWhole runs every table row again, giving each final text or binary
// frame to Whole instead of Add: the verdict must be Add's, and the
// message the payload itself.
func TestWhole(t *testing.T) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.asm
			for i, s := range tc.steps {
				if !s.in.Fin || s.in.Opcode != text && s.in.Opcode != bin {
					if _, _, err := a.Add(s.in); !errors.Is(err, s.wantErr) || (err != nil) != (s.wantErr != nil) {
						t.Fatalf("step %d: Add error %v, want %v", i, err, s.wantErr)
					}
					continue
				}
				err := a.Whole(s.in.Opcode, s.in.Payload)
				if !errors.Is(err, s.wantErr) || (err != nil) != (s.wantErr != nil) {
					t.Fatalf("step %d: error %v, want %v", i, err, s.wantErr)
				}
				if err == nil && (!s.ready || !bytes.Equal(s.in.Payload, s.want.Payload)) {
					t.Fatalf("step %d: Whole accepted %q, want %q (ready %v)", i, s.in.Payload, s.want.Payload, s.ready)
				}
			}
		})
	}
}

// TestWholeFrames runs every table row again, giving each run of final
// text or binary frames to WholeFrames at once: it must pass as many as
// Add would, in order, and fail on the first with Add's error.
func TestWholeFrames(t *testing.T) {
	whole := func(f frame.Frame) bool { return f.Fin && (f.Opcode == text || f.Opcode == bin) }
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.asm
			for i := 0; i < len(tc.steps); {
				if s := tc.steps[i]; !whole(s.in) {
					if _, _, err := a.Add(s.in); !errors.Is(err, s.wantErr) || (err != nil) != (s.wantErr != nil) {
						t.Fatalf("step %d: Add error %v, want %v", i, err, s.wantErr)
					}
					i++
					continue
				}
				var fs []frame.Frame
				var p []byte
				j := i
				for ; j < len(tc.steps) && whole(tc.steps[j].in); j++ {
					in := tc.steps[j].in
					fs = append(fs, frame.Frame{Header: frame.Header{Fin: true, Opcode: in.Opcode, Length: int64(len(in.Payload))}})
					p = append(p, in.Payload...)
				}
				m := i
				for m < j && tc.steps[m].wantErr == nil {
					m++
				}
				k, err := a.WholeFrames(fs, p)
				if k != m-i {
					t.Fatalf("steps %d to %d: %d passed, want %d (%v)", i, j-1, k, m-i, err)
				}
				if m == j {
					if err != nil {
						t.Fatalf("steps %d to %d: %v", i, j-1, err)
					}
					i = j
					continue
				}
				if !errors.Is(err, tc.steps[m].wantErr) {
					t.Fatalf("step %d: error %v, want %v", m, err, tc.steps[m].wantErr)
				}
				i = m + 1
			}
		})
	}
}

// TestStreaming runs every table row again through Begin, Write and End,
// one byte per Write.
func TestStreaming(t *testing.T) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.asm
			for i, s := range tc.steps {
				m, ready, err := streamOne(&a, s.in)
				if !errors.Is(err, s.wantErr) || (err != nil) != (s.wantErr != nil) {
					t.Fatalf("step %d: error %v, want %v", i, err, s.wantErr)
				}
				if ready != s.ready || m.Opcode != s.want.Opcode || !bytes.Equal(m.Payload, s.want.Payload) {
					t.Fatalf("step %d: got %v %q ready=%v", i, m.Opcode, m.Payload, ready)
				}
			}
		})
	}
}

func streamOne(a *Assembler, f frame.Frame) (Message, bool, error) {
	if err := a.Begin(f.Header); err != nil {
		return Message{}, false, err
	}
	for i := range f.Payload {
		if err := a.Write(f.Payload[i : i+1]); err != nil {
			return Message{}, false, err
		}
	}
	return a.End()
}

// TestGrowCommit runs every table row again through Begin, Grow, Commit
// and End, reading each payload in place three bytes at a time.
func TestGrowCommit(t *testing.T) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.asm
			for i, s := range tc.steps {
				m, ready, err := growOne(&a, s.in, 3)
				if !errors.Is(err, s.wantErr) || (err != nil) != (s.wantErr != nil) {
					t.Fatalf("step %d: error %v, want %v", i, err, s.wantErr)
				}
				if ready != s.ready || m.Opcode != s.want.Opcode || m.Fin != s.want.Fin || !bytes.Equal(m.Payload, s.want.Payload) {
					t.Fatalf("step %d: got %v %q fin=%v ready=%v", i, m.Opcode, m.Payload, m.Fin, ready)
				}
			}
		})
	}
}

// growOne streams f through Grow and Commit, at most chunk bytes at a
// time, as a reader filling the Assembler's buffer in place would.
func growOne(a *Assembler, f frame.Frame, chunk int) (Message, bool, error) {
	if err := a.Begin(f.Header); err != nil {
		return Message{}, false, err
	}
	rest := f.Payload
	for len(rest) > 0 {
		free := a.Grow(len(rest))
		if len(free) == 0 {
			return Message{}, false, errors.New("Grow returned no space")
		}
		n := copy(free[:min(len(free), chunk)], rest)
		rest = rest[n:]
		if err := a.Commit(n); err != nil {
			return Message{}, false, err
		}
	}
	return a.End()
}

// Grow sizes the buffer from the bytes that arrived, not from the length
// the header declared, and never hands out more than asked.
func TestGrowFromArrivedBytes(t *testing.T) {
	a := Assembler{MaxMessageSize: -1}
	if free := a.Grow(10); free != nil {
		t.Fatalf("Grow outside a frame = %d bytes, want nil", len(free))
	}
	if err := a.Begin(frame.Header{Fin: true, Opcode: bin, Length: 1 << 40}); err != nil {
		t.Fatal(err)
	}
	if free := a.Grow(0); free != nil {
		t.Fatalf("Grow(0) = %d bytes, want nil", len(free))
	}
	total := 0
	for _, want := range []int{512, 512, 1024, 2048} {
		free := a.Grow(1 << 40)
		if len(free) != want {
			t.Fatalf("after %d bytes: Grow = %d bytes, want %d", total, len(free), want)
		}
		if err := a.Commit(len(free)); err != nil {
			t.Fatal(err)
		}
		total += len(free)
	}
	if free := a.Grow(7); len(free) != 7 {
		t.Fatalf("Grow(7) = %d bytes", len(free))
	}
	if err := a.Commit(1 << 20); err != ErrNoFrame {
		t.Fatalf("Commit past the space = %v, want ErrNoFrame", err)
	}
	if err := a.Commit(-1); err != ErrNoFrame {
		t.Fatalf("Commit(-1) = %v, want ErrNoFrame", err)
	}
}

// A message of many small frames read in place grows its buffer by
// doubling, not frame by frame.
func TestGrowManySmallFrames(t *testing.T) {
	var a Assembler
	piece := strings.Repeat("x", 64)
	const n = 4096
	allocs := testing.AllocsPerRun(1, func() {
		a = Assembler{}
		for i := range n {
			op := cont
			if i == 0 {
				op = bin
			}
			if _, _, err := growOne(&a, data(op, i == n-1, piece), 64); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs > 20 {
		t.Fatalf("%v allocations for %d frames of 64 bytes", allocs, n)
	}
}

// Commit checks like Write: UTF-8 fails fast, the size limit holds.
func TestCommitChecks(t *testing.T) {
	a := Assembler{MaxMessageSize: 8}
	if err := a.Begin(frame.Header{Opcode: text, Length: 4}); err != nil {
		t.Fatal(err)
	}
	free := a.Grow(4)
	n := copy(free, "ok\xff!")
	if err := a.Commit(n); !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("Commit of invalid UTF-8 = %v", err)
	}
	if err := a.Begin(frame.Header{Opcode: bin, Length: 8}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		free = a.Grow(8)
		if err := a.Commit(copy(free, "abcd")); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Commit(copy(a.Grow(1), "x")); !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("Commit past the limit = %v", err)
	}
	if err := a.Commit(0); err != ErrNoFrame {
		t.Fatalf("Commit after a failure = %v, want ErrNoFrame", err)
	}
}

// Reading in place allocates nothing once the buffer has grown.
func TestGrowCommitNoAllocs(t *testing.T) {
	var a Assembler
	f := data(bin, true, strings.Repeat("z", 3000))
	growOne(&a, f, 1<<20)
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := growOne(&a, f, 1<<20); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
}

func TestFailFastWithinAFrame(t *testing.T) {
	var a Assembler
	if err := a.Begin(frame.Header{Opcode: text, Length: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if err := a.Write([]byte("fine so far \xf0\x9f")); err != nil {
		t.Fatal(err)
	}
	err := a.Write([]byte("\x98"))
	if err != nil {
		t.Fatalf("valid third byte: %v", err)
	}
	err = a.Write([]byte("x rest of the frame"))
	var fe *frame.Error
	if !errors.Is(err, ErrInvalidUTF8) || !errors.As(err, &fe) || fe.Code != status.InvalidPayload {
		t.Fatalf("got %v, want ErrInvalidUTF8 with 1007", err)
	}
}

func TestDeclaredLengthOverLimit(t *testing.T) {
	a := Assembler{MaxMessageSize: 100}
	err := a.Begin(frame.Header{Opcode: bin, Length: 101})
	var fe *frame.Error
	if !errors.Is(err, ErrMessageTooBig) || !errors.As(err, &fe) || fe.Code != status.MessageTooBig || !errors.Is(err, frame.ErrTooBig) {
		t.Fatalf("got %v", err)
	}
}

func TestErrorCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		code status.Code
		cat  error
	}{
		{ErrUnexpectedContinuation, status.ProtocolError, frame.ErrProtocol},
		{ErrMissingContinuation, status.ProtocolError, frame.ErrProtocol},
		{ErrNotData, status.ProtocolError, frame.ErrProtocol},
		{ErrInvalidUTF8, status.InvalidPayload, frame.ErrInvalidPayload},
		{ErrMessageTooBig, status.MessageTooBig, frame.ErrTooBig},
	} {
		var fe *frame.Error
		if !errors.As(c.err, &fe) || fe.Code != c.code || !errors.Is(c.err, c.cat) {
			t.Errorf("%v: code %v, want %v", c.err, fe, c.code)
		}
		if !strings.HasPrefix(c.err.Error(), "fragment: ") {
			t.Errorf("%v: text must start with the package name", c.err)
		}
	}
}

func TestMisuse(t *testing.T) {
	var a Assembler
	if err := a.Write([]byte("x")); err != ErrNoFrame {
		t.Fatal(err)
	}
	if _, _, err := a.End(); err != ErrNoFrame {
		t.Fatal(err)
	}
	if err := a.Begin(frame.Header{Opcode: bin}); err != nil {
		t.Fatal(err)
	}
	if err := a.Begin(frame.Header{Opcode: bin}); err != ErrNoFrame {
		t.Fatal(err)
	}
}

func TestControlInsideStreamedMessage(t *testing.T) {
	var a Assembler
	steps := []frame.Frame{data(text, false, "ab"), data(ping, true, "p"), data(cont, true, "cd")}
	for i, f := range steps {
		m, ready, err := streamOne(&a, f)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 && (!ready || string(m.Payload) != "p" || m.Opcode != ping) {
			t.Fatalf("ping: %v %q", m.Opcode, m.Payload)
		}
		if i == 2 && string(m.Payload) != "abcd" {
			t.Fatalf("message %q", m.Payload)
		}
	}
}

func TestBufferReuse(t *testing.T) {
	var a Assembler
	parts := []frame.Frame{data(bin, false, strings.Repeat("a", 300)), data(cont, true, strings.Repeat("b", 300))}
	for _, f := range parts {
		a.Add(f)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, f := range parts {
			if _, _, err := a.Add(f); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
}

// BenchmarkAssemble joins a 64 KiB text message sent as 1024 fragments of
// 64 bytes.
func BenchmarkAssemble(b *testing.B) {
	const n, size = 1024, 64
	piece := strings.Repeat("héllo wörld, ", 10)[:size]
	fs := make([]frame.Frame, n)
	for i := range fs {
		op := cont
		if i == 0 {
			op = text
		}
		fs[i] = data(op, i == n-1, piece)
	}
	var a Assembler
	b.SetBytes(n * size)
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range fs {
			if _, _, err := a.Add(f); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// model is a plain reference for the Assembler: it keeps whole messages
// and checks UTF-8 with unicode/utf8 after every frame.
type model struct {
	fire  bool
	limit int
	open  bool
	op    frame.Opcode
	buf   []byte
	frag  []byte

	empties int // the open message's empty non-final continuation frames
}

// viable reports whether p could still become valid UTF-8: it is valid, or
// valid up to an incomplete final character.
func viable(p []byte) bool {
	for k := 0; k <= 3 && k <= len(p); k++ {
		if utf8.Valid(p[:len(p)-k]) && (k == 0 || !utf8.FullRune(p[len(p)-k:])) {
			return true
		}
	}
	return false
}

func (m *model) add(f frame.Frame) (Message, bool, error) {
	switch {
	case f.Opcode.IsControl():
		return Message{Opcode: f.Opcode, Payload: f.Payload, Fin: f.Fin}, true, nil
	case f.Opcode == cont && !m.open:
		return Message{}, false, ErrUnexpectedContinuation
	case f.Opcode != cont && m.open:
		m.open = false
		return Message{}, false, ErrMissingContinuation
	case f.Opcode != cont:
		m.open, m.op, m.buf, m.empties = true, f.Opcode, nil, 0
	}
	if f.Opcode == cont && len(f.Payload) == 0 && !f.Fin {
		m.empties++
	}
	if EmptyFrameCost*m.empties+len(m.buf)+len(f.Payload) > m.limit {
		m.open = false
		return Message{}, false, ErrMessageTooBig
	}
	m.buf = append(m.buf, f.Payload...)
	if m.op == text && (!viable(m.buf) || (f.Fin && !utf8.Valid(m.buf))) {
		m.open = false
		return Message{}, false, ErrInvalidUTF8
	}
	if f.Fin {
		m.open = false
	}
	switch {
	case m.fire:
		return Message{Opcode: f.Opcode, Payload: f.Payload, Fin: f.Fin}, true, nil
	case f.Fin:
		return Message{Opcode: m.op, Payload: m.buf, Fin: true}, true, nil
	}
	return Message{}, false, nil
}

func FuzzAssemble(f *testing.F) {
	f.Add([]byte("\x11ab\x0cc"), false, uint8(0))
	f.Add([]byte("\x09\xe2\x82\x0b\xc3\x0c\xac"), true, uint8(0))
	f.Add([]byte("\x1d\xe2\x82\xac"), false, uint8(8))
	f.Add([]byte("\x10a\x17xx\x14b"), false, uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, fire bool, limit uint8) {
		a := Assembler{DeliverFragments: fire, MaxMessageSize: int64(limit) + 1}
		d := Assembler{DeliverFragments: fire, MaxMessageSize: int64(limit) + 1, Discard: true}
		m := model{fire: fire, limit: int(limit) + 1}
		ops := [4]frame.Opcode{cont, text, bin, ping}
		mode := 0
		for len(in) > 0 {
			// One byte of frame description: opcode, fin and a length
			// of up to 31, then the payload.
			b := in[0]
			n := min(int(b>>3), len(in)-1)
			fr := data(ops[b&3], b&4 != 0 || b&3 == 3, string(in[1:1+n]))
			in = in[1+n:]
			want, wantReady, wantErr := m.add(fr)
			var got Message
			var ready bool
			var err error
			switch mode {
			case 0:
				got, ready, err = a.Add(fr)
			case 1:
				got, ready, err = streamOne(&a, fr)
			default:
				got, ready, err = growOne(&a, fr, 2)
			}
			var dgot Message
			var dready bool
			var derr error
			if mode == 2 {
				dgot, dready, derr = growOne(&d, fr, 3)
			} else {
				dgot, dready, derr = d.Add(fr)
			}
			mode = (mode + 1) % 3
			if !errors.Is(err, wantErr) || (err == nil) != (wantErr == nil) {
				t.Fatalf("frame %v: error %v, model %v", fr, err, wantErr)
			}
			// Discarding changes nothing but the payloads of data.
			if !errors.Is(derr, wantErr) || (derr == nil) != (wantErr == nil) || dready != wantReady || dgot.Opcode != want.Opcode ||
				len(dgot.Payload) != 0 && !want.Opcode.IsControl() {
				t.Fatalf("frame %v: discarding got %v %q %v %v, model %v %v", fr, dgot.Opcode, dgot.Payload, dready, derr, want.Opcode, wantErr)
			}
			if ready != wantReady || got.Opcode != want.Opcode || got.Fin != want.Fin || !bytes.Equal(got.Payload, want.Payload) {
				t.Fatalf("frame %v: got %v %q %v %v, model %v %q %v %v", fr, got.Opcode, got.Payload, got.Fin, ready,
					want.Opcode, want.Payload, want.Fin, wantReady)
			}
		}
	})
}

// The buffer of a large fragmented message is not kept for the messages
// that follow; a small one is reused.
func TestLargeBufferNotRetained(t *testing.T) {
	var a Assembler
	add := func(fin bool, op frame.Opcode, p []byte) Message {
		t.Helper()
		m, _, err := a.Add(frame.Frame{Header: frame.Header{Fin: fin, Opcode: op, Length: int64(len(p))}, Payload: p})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	big := make([]byte, 2<<20)
	add(false, frame.OpBinary, big[:1<<20])
	if m := add(true, frame.OpContinuation, big[1<<20:]); len(m.Payload) != len(big) {
		t.Fatalf("message of %d bytes, want %d", len(m.Payload), len(big))
	}
	add(false, frame.OpBinary, []byte("sm"))
	m := add(true, frame.OpContinuation, []byte("all"))
	if string(m.Payload) != "small" || cap(m.Payload) > 1<<20 {
		t.Errorf("small message %q in a buffer of %d bytes: the large buffer was kept", m.Payload, cap(m.Payload))
	}
	small := m.Payload[:1]
	add(false, frame.OpBinary, []byte("ag"))
	m = add(true, frame.OpContinuation, []byte("ain"))
	if string(m.Payload) != "again" || &m.Payload[0] != &small[0] {
		t.Errorf("a small buffer was not reused")
	}
}

// Nor is it kept when the messages that follow come whole, through Whole
// or WholeFrames, as a client's receive of a buffered message does.
func TestLargeBufferNotRetainedByWhole(t *testing.T) {
	for _, name := range []string{"Whole", "WholeFrames", "Reset"} {
		var a Assembler
		big := make([]byte, 2<<20)
		if _, _, err := a.Add(frame.Frame{Header: frame.Header{Opcode: frame.OpBinary, Length: 1 << 20}, Payload: big[:1<<20]}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Add(frame.Frame{Header: frame.Header{Fin: true, Opcode: cont, Length: 1 << 20}, Payload: big[1<<20:]}); err != nil {
			t.Fatal(err)
		}
		var err error
		switch name {
		case "Whole":
			err = a.Whole(frame.OpText, []byte("small"))
		case "WholeFrames":
			_, err = a.WholeFrames([]frame.Frame{{Header: frame.Header{Fin: true, Opcode: frame.OpText, Length: 5}}}, []byte("small"))
		case "Reset":
			a.Reset()
		}
		if err != nil {
			t.Fatal(err)
		}
		if cap(a.buf) > maxRetained {
			t.Errorf("%s: a buffer of %d bytes kept after a small message", name, cap(a.buf))
		}
	}
}

// assembleExact sends a binary message of exactly a's limit, in frames of
// at most frameLen bytes, through Add (copy) or through Grow and Commit in
// reads of at most 64 KiB (in place). It returns the largest buffer a
// message or fragment came back in. src holds at least frameLen bytes.
func assembleExact(tb testing.TB, a *Assembler, src []byte, frameLen int, inPlace bool) int {
	tb.Helper()
	size := int(a.maxSize())
	got, largest := 0, 0
	for sent := 0; sent < size; {
		n := min(frameLen, size-sent)
		op := cont
		if sent == 0 {
			op = frame.OpBinary
		}
		f := frame.Frame{Header: frame.Header{Fin: sent+n == size, Opcode: op, Length: int64(n)}, Payload: src[:n]}
		var m Message
		var ready bool
		var err error
		if inPlace {
			m, ready, err = growOne(a, f, 64<<10)
		} else {
			m, ready, err = a.Add(f)
		}
		if err != nil {
			tb.Fatal(err)
		}
		if ready != (f.Fin || a.DeliverFragments) {
			tb.Fatalf("frame at %d: ready = %v", sent, ready)
		}
		if ready {
			got = len(m.Payload)
			if a.DeliverFragments {
				got += sent
			}
			largest = max(largest, cap(m.Payload))
		}
		sent += n
	}
	if got != size {
		tb.Fatalf("message of %d bytes, want %d", got, size)
	}
	return largest
}

// A message of exactly MaxMessageSize fits in a buffer of at most
// MaxMessageSize bytes: the buffer doubles as bytes arrive but never grows
// past the limit, whatever the limit and the frame sizes.
func TestBufferCappedAtLimit(t *testing.T) {
	for _, row := range []struct {
		name     string
		limit    int64
		frameLen int
	}{
		{"default limit, two frames", 0, DefaultMaxMessageSize / 2},
		{"power of two, frames of 3 KiB", 1 << 20, 3 << 10},
		{"one million, frames of 300000", 1_000_000, 300_000},
		{"one million, frames of 1000", 1_000_000, 1000},
		{"limit under the first growth", 100, 30},
	} {
		for _, inPlace := range []bool{false, true} {
			for _, fire := range []bool{false, true} {
				a := Assembler{MaxMessageSize: row.limit, DeliverFragments: fire}
				c := assembleExact(t, &a, make([]byte, row.frameLen), row.frameLen, inPlace)
				if limit := a.maxSize(); int64(c) > limit {
					t.Errorf("%s (in place %v, fire %v): buffer of %d bytes for a limit of %d",
						row.name, inPlace, fire, c, limit)
				}
			}
		}
	}
}

// BenchmarkAssembleMaxMessage joins a message of exactly
// DefaultMaxMessageSize sent as two frames, copied by Add or read in place
// through Grow and Commit. B/op is what reassembly allocates per message;
// cap-MiB is the final buffer, which is live together with the one before
// it while the last growth copies.
func BenchmarkAssembleMaxMessage(b *testing.B) {
	for _, inPlace := range []bool{false, true} {
		name := "Add"
		if inPlace {
			name = "GrowCommit"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			src := make([]byte, DefaultMaxMessageSize/2)
			var c int
			for b.Loop() {
				var a Assembler
				c = assembleExact(b, &a, src, len(src), inPlace)
			}
			b.ReportMetric(float64(c)/(1<<20), "cap-MiB")
		})
	}
}

// Add takes a frame's length from its payload, as frame.Frame does: a
// Length left over from another frame is no reason to refuse a fragment.
func TestAddLengthFromPayload(t *testing.T) {
	for _, length := range []int64{0, 3, 1 << 40} {
		var a Assembler
		first := frame.New(frame.OpText, []byte("Hel"))
		first.Fin = false
		first.Length = length
		if _, ready, err := a.Add(first); err != nil || ready {
			t.Fatalf("Length %d: first fragment: ready %v, err %v", length, ready, err)
		}
		last := frame.New(frame.OpContinuation, []byte("lo"))
		last.Length = length
		m, ready, err := a.Add(last)
		if err != nil || !ready || string(m.Payload) != "Hello" {
			t.Fatalf("Length %d: got %q, ready %v, err %v", length, m.Payload, ready, err)
		}
	}
}

// TestRsv1Kept checks that the first frame's RSV1, an extension's mark, is
// in the Message: for a single frame, a joined message, every fragment in
// DeliverFragments mode, and not for the next message without it.
func TestRsv1Kept(t *testing.T) {
	first := func(op frame.Opcode, p string, fin, rsv1 bool) frame.Frame {
		f := frame.New(op, []byte(p))
		f.Fin, f.Rsv1 = fin, rsv1
		return f
	}
	for _, fire := range []bool{false, true} {
		a := Assembler{DeliverFragments: fire}
		if m, ready, err := a.Add(first(frame.OpText, "one", true, true)); err != nil || !ready || !m.Rsv1 {
			t.Fatalf("fire %v: single frame: %+v, %v, %v; want Rsv1", fire, m, ready, err)
		}
		m, ready, err := a.Add(first(frame.OpBinary, "ab", false, true))
		if err != nil || ready != fire || (fire && !m.Rsv1) {
			t.Fatalf("fire %v: first fragment: %+v, %v, %v", fire, m, ready, err)
		}
		m, ready, err = a.Add(first(frame.OpContinuation, "cd", true, false))
		if err != nil || !ready || !m.Rsv1 {
			t.Fatalf("fire %v: last fragment: %+v, %v, %v; want Rsv1 of the first", fire, m, ready, err)
		}
		a.Add(first(frame.OpText, "x", false, false))
		if m, ready, err = a.Add(first(frame.OpContinuation, "y", true, false)); err != nil || !ready || m.Rsv1 {
			t.Fatalf("fire %v: plain message: %+v, %v, %v; want no Rsv1", fire, m, ready, err)
		}
	}
}

// Swap trades buffers only right after End reported a data payload, and
// the Assembler then fills the buffer it was given.
func TestSwap(t *testing.T) {
	var a Assembler
	if p := a.Swap(make([]byte, 0, 8)); p != nil {
		t.Fatalf("Swap before any message = %q", p)
	}
	first := frame.New(frame.OpText, []byte("Hel"))
	first.Fin = false
	if _, _, err := a.Add(first); err != nil {
		t.Fatal(err)
	}
	if p := a.Swap(make([]byte, 0, 8)); p != nil {
		t.Fatalf("Swap in the middle of a message = %q", p)
	}
	m, ready, err := a.Add(frame.New(frame.OpContinuation, []byte("lo")))
	if err != nil || !ready {
		t.Fatal(ready, err)
	}
	mine := make([]byte, 0, 16)
	p := a.Swap(mine)
	if string(p) != "Hello" || &p[0] != &m.Payload[0] {
		t.Fatalf("Swap = %q, want the message's own buffer", p)
	}
	if a.Swap(nil) != nil {
		t.Error("a second Swap traded again")
	}
	// The next message is assembled in the buffer Swap took.
	first = frame.New(frame.OpBinary, []byte("ab"))
	first.Fin = false
	a.Add(first)
	m, _, _ = a.Add(frame.New(frame.OpContinuation, []byte("cd")))
	if string(m.Payload) != "abcd" || &m.Payload[0] != &mine[:1][0] {
		t.Errorf("next message %q not in the buffer Swap took", m.Payload)
	}
	if string(p) != "Hello" {
		t.Errorf("the traded buffer changed: %q", p)
	}
	// DeliverFragments: each fragment can be traded.
	b := Assembler{DeliverFragments: true}
	first = frame.New(frame.OpText, []byte("x"))
	first.Fin = false
	b.Add(first)
	if p := b.Swap(nil); string(p) != "x" {
		t.Errorf("DeliverFragments fragment Swap = %q", p)
	}
	// An empty message with no buffer behind it: nothing to trade, and
	// the buffer offered stays the caller's alone, never the one the next
	// message is assembled in.
	var e Assembler
	first = frame.New(frame.OpText, nil)
	first.Fin = false
	e.Add(first)
	if _, ready, err := e.Add(frame.New(frame.OpContinuation, nil)); !ready || err != nil {
		t.Fatal(ready, err)
	}
	offered := make([]byte, 0, 16)
	if p := e.Swap(offered); p != nil {
		t.Errorf("Swap after an empty message = %q, want nil", p)
	}
	first = frame.New(frame.OpText, []byte("hello "))
	first.Fin = false
	e.Add(first)
	m, _, _ = e.Add(frame.New(frame.OpContinuation, []byte("world")))
	if &m.Payload[0] == &offered[:1][0] {
		t.Error("the next message is assembled in the buffer the caller kept")
	}
}

// In Discard mode every check still applies, End returns data messages
// empty, and the buffer does not grow with the messages'
// size, by Add, Write or Grow and Commit.
func TestDiscard(t *testing.T) {
	big := bytes.Repeat([]byte("é"), 64<<10) // 128 KiB of text
	tests := []struct {
		name   string
		frames []frame.Frame
		max    int64
		err    error
	}{
		{"whole text", []frame.Frame{frame.New(frame.OpText, big)}, 0, nil},
		{"fragments", []frame.Frame{fragment(frame.OpBinary, big[:1000], false), fragment(frame.OpContinuation, big[1000:], true)}, 0, nil},
		{"over the limit", []frame.Frame{fragment(frame.OpBinary, big[:1000], false), fragment(frame.OpContinuation, big[1000:], true)}, 2000, ErrMessageTooBig},
		{"not UTF-8", []frame.Frame{fragment(frame.OpText, []byte("ok"), false), fragment(frame.OpContinuation, []byte{0xff}, true)}, 0, ErrInvalidUTF8},
		{"cut character", []frame.Frame{frame.New(frame.OpText, big[:3])}, 0, ErrInvalidUTF8},
		{"order", []frame.Frame{frame.New(frame.OpContinuation, []byte("x"))}, 0, ErrUnexpectedContinuation},
	}
	for _, tt := range tests {
		for _, how := range []string{"Add", "Grow"} {
			t.Run(tt.name+"/"+how, func(t *testing.T) {
				a := Assembler{Discard: true, MaxMessageSize: tt.max}
				var err error
				var m Message
				for _, f := range tt.frames {
					if how == "Add" {
						m, _, err = a.Add(f)
					} else {
						m, _, err = growOne(&a, f, 100)
					}
					if cap(a.buf) > grow.Min {
						t.Fatalf("buffer of %d bytes held", cap(a.buf))
					}
					if err != nil {
						break
					}
				}
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if err == nil && (len(m.Payload) != 0 || !m.Fin) {
					t.Errorf("message %d bytes, Fin %v: want empty and final", len(m.Payload), m.Fin)
				}
			})
		}
	}
	// Set in the middle of a message, even of a frame, Discard drops its
	// bytes so far, and the buffer grows no further.
	var a Assembler
	a.Add(fragment(frame.OpBinary, []byte("dropped"), false))
	a.Discard = true
	if m, ready, err := a.Add(fragment(frame.OpContinuation, nil, true)); err != nil || !ready || len(m.Payload) != 0 {
		t.Errorf("Add = %q, %v, %v", m.Payload, ready, err)
	}
	a = Assembler{}
	a.Begin(frame.Header{Opcode: frame.OpBinary, Fin: true, Length: 1 << 20})
	for a.Commit(copy(a.Grow(1<<20), big)) == nil && len(a.buf) < cap(a.buf) {
	}
	held := cap(a.buf)
	a.Discard = true
	for range 100 {
		if err := a.Commit(copy(a.Grow(1<<20), big)); err != nil {
			t.Fatal(err)
		}
	}
	if m, _, err := a.End(); err != nil || len(m.Payload) != 0 || cap(a.buf) != held {
		t.Errorf("End = %d bytes, %v; buffer %d bytes, was %d", len(m.Payload), err, cap(a.buf), held)
	}
}

// fragment is a frame of op carrying p, final when fin.
func fragment(op frame.Opcode, p []byte, fin bool) frame.Frame {
	f := frame.New(op, p)
	f.Fin = fin
	return f
}
