package reader

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"unsafe"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/grow"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/status"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// wire encodes frames as a peer would send them.
func wire(t testing.TB, fs ...frame.Frame) []byte {
	t.Helper()
	var b []byte
	for _, f := range fs {
		var err error
		if b, err = f.AppendBinary(b); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func hdr(fin bool, op frame.Opcode, n int) frame.Header {
	return frame.Header{Fin: fin, Opcode: op, Length: int64(n)}
}

func masked(h frame.Header, key string) frame.Header {
	h.Masked = true
	copy(h.Key[:], key)
	return h
}

// vectors are wire bytes with the frame they decode to: the examples of RFC
// 6455 §5.7 and websocket-client's golden vectors.
var vectors = []struct {
	name   string
	server bool
	wire   []byte
	want   frame.Frame
}{
	{"RFC 5.7 unmasked text", false, unhex("81 05 48656c6c6f"),
		frame.Frame{Header: hdr(true, frame.OpText, 5), Payload: []byte("Hello")}},
	{"RFC 5.7 masked text", true, unhex("81 85 37fa213d 7f9f4d5158"),
		frame.Frame{Header: masked(hdr(true, frame.OpText, 5), "\x37\xfa\x21\x3d"), Payload: []byte("Hello")}},
	{"RFC 5.7 first fragment", false, unhex("01 03 48656c"),
		frame.Frame{Header: hdr(false, frame.OpText, 3), Payload: []byte("Hel")}},
	{"RFC 5.7 last fragment", false, unhex("80 02 6c6f"),
		frame.Frame{Header: hdr(true, frame.OpContinuation, 2), Payload: []byte("lo")}},
	{"RFC 5.7 unmasked ping", false, unhex("89 05 48656c6c6f"),
		frame.Frame{Header: hdr(true, frame.OpPing, 5), Payload: []byte("Hello")}},
	{"RFC 5.7 masked pong", true, unhex("8a 85 37fa213d 7f9f4d5158"),
		frame.Frame{Header: masked(hdr(true, frame.OpPong, 5), "\x37\xfa\x21\x3d"), Payload: []byte("Hello")}},
	{"RFC 5.7 256 bytes", false, append(unhex("82 7e 0100"), make([]byte, 256)...),
		frame.Frame{Header: hdr(true, frame.OpBinary, 256), Payload: make([]byte, 256)}},
	{"RFC 5.7 64 KiB", false, append(unhex("82 7f 0000000000010000"), make([]byte, 65536)...),
		frame.Frame{Header: hdr(true, frame.OpBinary, 65536), Payload: make([]byte, 65536)}},
	{"websocket-client send Hello", true, unhex("81 85 61626364 29070f080e"),
		frame.Frame{Header: masked(hdr(true, frame.OpText, 5), "abcd"), Payload: []byte("Hello")}},
	{"websocket-client send Japanese", true, unhex("81 8f 61626364 82e3f087e3f180e5ca81e2c582e3cc"),
		frame.Frame{Header: masked(hdr(true, frame.OpText, 15), "abcd"), Payload: []byte("こんにちは")}},
	{"websocket-client unmasked fin=0", false, unhex("01 03 018acc"),
		frame.Frame{Header: hdr(false, frame.OpText, 3), Payload: []byte{0x01, 0x8a, 0xcc}}},
	{"websocket-client auto-pong", true, unhex("8a 90 61626364 310e0605120743342e2c2444150a0a17"),
		frame.Frame{Header: masked(hdr(true, frame.OpPong, 16), "abcd"), Payload: []byte("Please PONG this")}},
	{"empty close", false, unhex("88 00"),
		frame.Frame{Header: hdr(true, frame.OpClose, 0), Payload: []byte{}}},
	{"close 1000 bye", false, unhex("88 05 03e8 627965"),
		frame.Frame{Header: hdr(true, frame.OpClose, 5), Payload: []byte("\x03\xe8bye")}},
}

var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"OneByteReader", iotest.OneByteReader},
	{"HalfReader", iotest.HalfReader},
	{"DataErrReader", iotest.DataErrReader},
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		for _, rd := range readers {
			t.Run(v.name+"/"+rd.name, func(t *testing.T) {
				r := New(rd.wrap(bytes.NewReader(v.wire)))
				r.Server = v.server
				f, err := r.ReadFrame()
				if err != nil {
					t.Fatal(err)
				}
				if f.Header != v.want.Header || !bytes.Equal(f.Payload, v.want.Payload) {
					t.Fatalf("got %v %+v, want %v %+v", f, f.Header, v.want, v.want.Header)
				}
				again, err := f.AppendBinary(nil)
				if err != nil || !bytes.Equal(again, v.wire) {
					t.Fatalf("re-encoded %x, want %x", again, v.wire)
				}
				if _, err := r.ReadFrame(); err != io.EOF {
					t.Fatalf("after the frame: %v, want io.EOF", err)
				}
			})
		}
	}
}

func TestStreamOfFrames(t *testing.T) {
	var fs []frame.Frame
	for i, n := range []int{0, 1, 125, 126, 127, 4095, 4096, 4097, 65535, 65536, 70000, 3} {
		p := bytes.Repeat([]byte{byte(i + 1)}, n)
		f := frame.Frame{Header: hdr(true, frame.OpBinary, n), Payload: p}
		if i%2 == 1 {
			f.Header = masked(f.Header, fmt.Sprint(i*1111))
		}
		fs = append(fs, f)
	}
	var split []frame.Frame // the unmasked ones, for the client role
	for _, f := range fs {
		if !f.Masked {
			split = append(split, f)
		}
	}
	for _, size := range []int{16, 64, 4096, 100000} {
		for _, rd := range readers {
			t.Run(fmt.Sprint(size, "/", rd.name), func(t *testing.T) {
				r := NewSize(rd.wrap(bytes.NewReader(wire(t, split...))), size)
				for i, want := range split {
					f, err := r.ReadFrame()
					if err != nil {
						t.Fatalf("frame %d: %v", i, err)
					}
					if f.Header != want.Header || !bytes.Equal(f.Payload, want.Payload) {
						t.Fatalf("frame %d: got %d bytes, want %d", i, len(f.Payload), len(want.Payload))
					}
				}
				if _, err := r.ReadFrame(); err != io.EOF {
					t.Fatalf("got %v, want io.EOF", err)
				}
			})
		}
	}
	t.Run("server", func(t *testing.T) {
		var ms []frame.Frame
		for _, f := range fs {
			f.Header = masked(f.Header, "\x01\x02\x03\x04")
			ms = append(ms, f)
		}
		r := New(iotest.HalfReader(bytes.NewReader(wire(t, ms...))))
		r.Server = true
		for i, want := range ms {
			f, err := r.ReadFrame()
			if err != nil || !bytes.Equal(f.Payload, want.Payload) {
				t.Fatalf("frame %d: %v", i, err)
			}
		}
	})
}

func TestErrors(t *testing.T) {
	long := func(n int) []byte { return make([]byte, n) }
	tests := []struct {
		name   string
		server bool
		policy frame.Policy
		max    int64
		wire   []byte
		want   error
		code   status.Code
	}{
		{"masked frame to a client", false, frame.Policy{}, 0, unhex("81 85 37fa213d 7f9f4d5158"), ErrMaskedFrame, status.ProtocolError},
		{"unmasked frame to a server", true, frame.Policy{}, 0, unhex("81 05 48656c6c6f"), ErrUnmaskedFrame, status.ProtocolError},
		{"rsv1", false, frame.Policy{}, 0, unhex("c1 00"), frame.ErrReservedBits, status.ProtocolError},
		{"rsv2", false, frame.Policy{Rsv1: true}, 0, unhex("a1 00"), frame.ErrReservedBits, status.ProtocolError},
		{"rsv3", false, frame.Policy{}, 0, unhex("91 00"), frame.ErrReservedBits, status.ProtocolError},
		{"opcode 3", false, frame.Policy{}, 0, unhex("83 00"), frame.ErrReservedOpcode, status.ProtocolError},
		{"opcode 0xB", false, frame.Policy{}, 0, unhex("8b 00"), frame.ErrReservedOpcode, status.ProtocolError},
		{"fragmented ping", false, frame.Policy{}, 0, unhex("09 00"), frame.ErrFragmentedControl, status.ProtocolError},
		{"fragmented close", false, frame.Policy{}, 0, unhex("08 00"), frame.ErrFragmentedControl, status.ProtocolError},
		{"ping of 126", false, frame.Policy{}, 0, append(unhex("89 7e 007e"), long(126)...), frame.ErrControlTooLong, status.ProtocolError},
		{"pong of 200", false, frame.Policy{}, 0, append(unhex("8a 7e 00c8"), long(200)...), frame.ErrControlTooLong, status.ProtocolError},
		{"close of 1 byte", false, frame.Policy{}, 0, unhex("88 01 03"), frame.ErrClosePayloadLength, status.ProtocolError},
		{"close code 999", false, frame.Policy{}, 0, unhex("88 02 03e7"), frame.ErrInvalidCloseCode, status.ProtocolError},
		{"close code 1005", false, frame.Policy{}, 0, unhex("88 02 03ed"), frame.ErrInvalidCloseCode, status.ProtocolError},
		{"close reason not UTF-8", false, frame.Policy{}, 0, unhex("88 03 03e8 ff"), frame.ErrInvalidCloseReason, status.InvalidPayload},
		{"16-bit length 5", false, frame.Policy{}, 0, unhex("82 7e 0005 0102030405"), frame.ErrNonMinimalLength, status.ProtocolError},
		{"64-bit length 3", false, frame.Policy{}, 0, unhex("82 7f 0000000000000003 010203"), frame.ErrNonMinimalLength, status.ProtocolError},
		{"64-bit length top bit", false, frame.Policy{}, -1, unhex("82 7f 8000000000000001"), frame.ErrLengthOverflow, status.ProtocolError},
		{"default limit", false, frame.Policy{}, 0, unhex("82 7f 0000000001000001"), ErrFrameTooLarge, status.MessageTooBig},
		{"own limit", false, frame.Policy{}, 10, unhex("82 0b 0102030405060708090a0b"), ErrFrameTooLarge, status.MessageTooBig},
		{"truncated header", false, frame.Policy{}, 0, unhex("82 7e 01"), io.ErrUnexpectedEOF, 0},
		{"truncated payload", false, frame.Policy{}, 0, unhex("82 05 0102"), io.ErrUnexpectedEOF, 0},
		{"truncated key", true, frame.Policy{}, 0, unhex("82 85 0102"), io.ErrUnexpectedEOF, 0},
		{"huge declared length, no limit", false, frame.Policy{}, -1, unhex("82 7f 7fffffffffffffff 0102"), io.ErrUnexpectedEOF, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := New(bytes.NewReader(tc.wire))
			r.Server, r.Policy, r.MaxFrameSize = tc.server, tc.policy, tc.max
			_, err := r.ReadFrame()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var fe *frame.Error
			if tc.code != 0 && (!errors.As(err, &fe) || fe.Code != tc.code) {
				t.Fatalf("%v: close code %v, want %v", err, fe, tc.code)
			}
			if cap(r.payload) > 1024 {
				t.Fatalf("payload buffer of %d bytes for a %d-byte input", cap(r.payload), len(tc.wire))
			}
		})
	}
}

func TestPolicyAndSkip(t *testing.T) {
	r := New(bytes.NewReader(unhex("c1 02 6869 88 03 03e8 ff")))
	r.Policy = frame.Policy{Rsv1: true, SkipUTF8Validation: true}
	f, err := r.ReadFrame()
	if err != nil || !f.Rsv1 || string(f.Payload) != "hi" {
		t.Fatalf("rsv1 frame: %v %v", f, err)
	}
	if f, err = r.ReadFrame(); err != nil || f.Opcode != frame.OpClose {
		t.Fatalf("close with a bad reason and skipping: %v %v", f, err)
	}
}

func TestProtocolErrorIsFinal(t *testing.T) {
	r := New(bytes.NewReader(unhex("83 00 81 00")))
	_, err1 := r.ReadFrame()
	_, err2 := r.ReadHeader()
	_, err3 := r.Read(make([]byte, 1))
	if !errors.Is(err1, frame.ErrReservedOpcode) || err2 != err1 || err3 != err1 || r.Discard() != err1 {
		t.Fatalf("errors %v, %v, %v", err1, err2, err3)
	}
	r.Reset(bytes.NewReader(unhex("81 00")))
	if f, err := r.ReadFrame(); err != nil || f.Opcode != frame.OpText {
		t.Fatalf("after Reset: %v %v", f, err)
	}
}

func TestCloseErrorKeepsAlignment(t *testing.T) {
	r := New(bytes.NewReader(unhex("88 02 03e7 81 02 6869")))
	if _, err := r.ReadFrame(); !errors.Is(err, frame.ErrInvalidCloseCode) {
		t.Fatal(err)
	}
	if f, err := r.ReadFrame(); err != nil || string(f.Payload) != "hi" {
		t.Fatalf("next frame: %v %v", f, err)
	}
}

func TestEOF(t *testing.T) {
	r := New(bytes.NewReader(nil))
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("empty stream: %v", err)
	}
	if _, err := r.ReadHeader(); err != io.EOF {
		t.Fatalf("empty stream: %v", err)
	}
	r = New(iotest.ErrReader(os.ErrClosed))
	if _, err := r.ReadFrame(); err != os.ErrClosed {
		t.Fatalf("source error: %v", err)
	}
}

func TestStreaming(t *testing.T) {
	payload := []byte(strings.Repeat("0123456789", 1000))
	h := masked(hdr(true, frame.OpBinary, len(payload)), "\x11\x22\x33\x44")
	in := wire(t,
		frame.Frame{Header: h, Payload: payload},
		frame.Frame{Header: masked(hdr(true, frame.OpText, 5), "kkkk"), Payload: []byte("skip!")},
		frame.Frame{Header: masked(hdr(true, frame.OpText, 2), "zzzz"), Payload: []byte("ok")},
		frame.Frame{Header: masked(hdr(true, frame.OpText, 4), "wxyz"), Payload: []byte("left")},
		frame.Frame{Header: masked(hdr(true, frame.OpPing, 0), "wxyz"), Payload: nil},
	)
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			r := New(rd.wrap(bytes.NewReader(in)))
			r.Server = true
			if n, err := r.Read(make([]byte, 4)); n != 0 || err != io.EOF {
				t.Fatalf("Read before ReadHeader: %d %v", n, err)
			}
			got, err := r.ReadHeader()
			if err != nil || got != h {
				t.Fatalf("header %+v %v", got, err)
			}
			var out bytes.Buffer
			chunk := make([]byte, 7) // odd size to move the key phase
			for {
				n, err := r.Read(chunk)
				out.Write(chunk[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(out.Bytes(), payload) {
				t.Fatal("streamed payload differs")
			}
			if _, err := r.ReadHeader(); err != nil {
				t.Fatal(err)
			}
			if err := r.Discard(); err != nil {
				t.Fatal(err)
			}
			if _, err := r.ReadHeader(); err != nil {
				t.Fatal(err)
			}
			if b, err := io.ReadAll(r); err != nil || string(b) != "ok" {
				t.Fatalf("ReadAll: %q %v", b, err)
			}
			// A header whose payload is never read: ReadFrame skips it.
			if _, err := r.ReadHeader(); err != nil {
				t.Fatal(err)
			}
			if f, err := r.ReadFrame(); err != nil || f.Opcode != frame.OpPing {
				t.Fatalf("ReadFrame after an unread payload: %v %v", f, err)
			}
		})
	}
}

// outcome is what a Reader made of one frame, or the error that ended a
// stream.
// readHow is how drain reads frames.
type readHow int

const (
	viaFrame          readHow = iota // ReadFrame
	viaStream                        // ReadHeader and Read
	viaBuffered                      // ReadBuffered where it can, ReadFrame otherwise
	viaWhole                         // ReadWhole where it can, ReadFrame otherwise
	viaBufferedFrames                // ReadBufferedFrames, 3 at most, where it can, ReadFrame otherwise
)

// withoutKeys returns o with every masking key cleared, for comparing
// with what ReadBuffered, which returns none, gave.
func withoutKeys(o []outcome) []outcome {
	o = slices.Clone(o)
	for i := range o {
		o[i].h.Key = mask.Key{}
	}
	return o
}

type outcome struct {
	h       frame.Header
	payload string
	err     string
}

// drain reads in through a Reader configured like cfg until io.EOF or an
// error returned twice in a row (a final one), with ReadFrame or, with
// stream, ReadHeader and Read. The source is read whole
// or one byte at a time; a Reader parses a buffered header in one step and
// a header that arrives piecemeal byte by byte, and both must agree.
func drain(cfg *Reader, in []byte, oneByte bool, how readHow) []outcome {
	var src io.Reader = bytes.NewReader(in)
	if oneByte {
		src = iotest.OneByteReader(src)
	}
	r := NewSize(src, 64)
	switch how {
	case viaBuffered, viaBufferedFrames:
		// Everything is buffered before the first frame, so that
		// ReadBuffered sees each frame whole, the first one included.
		r = NewSize(src, len(in))
		for r.Buffered() < len(in) && r.fill() == nil {
		}
	case viaWhole:
		// Frames up to 256 bytes fit the read buffer: ReadWhole takes
		// those, ReadFrame the rest.
		r = NewSize(src, 256)
	}
	r.Server, r.MaxFrameSize, r.Policy = cfg.Server, cfg.MaxFrameSize, cfg.Policy
	var out []outcome
	buf := make([]byte, 5)
	for {
		var f frame.Frame
		var err error
		ok := false
		switch how {
		case viaBuffered:
			f.Opcode, f.Payload, ok = r.ReadBuffered(nil)
		case viaWhole:
			f.Opcode, f.Payload, ok, err = r.ReadWhole(nil)
		case viaBufferedFrames:
			var fs [3]frame.Frame
			n, p := r.ReadBufferedFrames(fs[:], nil)
			for _, g := range fs[:n] {
				g.Masked = r.Server
				l := int(g.Length)
				if !g.Fin || g.Payload != nil || l > len(p) {
					return append(out, outcome{err: fmt.Sprintf("ReadBufferedFrames: %+v with %d bytes left", g, len(p))})
				}
				out = append(out, outcome{h: g.Header, payload: string(p[:l])})
				p = p[l:]
			}
			if len(p) > 0 {
				return append(out, outcome{err: "ReadBufferedFrames: payload bytes left over"})
			}
			if r.buf != nil && r.Buffered() == 0 {
				return append(out, outcome{err: "buffer held with nothing buffered"})
			}
			if n > 0 {
				continue
			}
		}
		if ok {
			h := frame.Header{Fin: true, Opcode: f.Opcode, Masked: r.Server, Length: int64(len(f.Payload))}
			out = append(out, outcome{h: h, payload: string(f.Payload)})
			if r.buf != nil && r.Buffered() == 0 {
				return append(out, outcome{err: "buffer held with nothing buffered"})
			}
			continue
		}
		switch {
		case err != nil:
			// ReadWhole's source error, which ReadFrame returns too.
		case how == viaStream:
			f.Header, err = r.ReadHeader()
			for err == nil {
				var n int
				n, err = r.Read(buf)
				f.Payload = append(f.Payload, buf[:n]...)
				if err == io.EOF {
					err = nil
					break
				}
			}
			if err == nil && f.Opcode == frame.OpClose {
				// Streaming leaves the close payload to the caller.
				err = frame.ValidateClose(f.Payload, r.Policy)
			}
		default:
			f, err = r.ReadFrame()
		}
		if err != nil {
			o := outcome{err: err.Error()}
			if err == io.EOF || (len(out) > 0 && out[len(out)-1] == o) {
				return append(out, o)
			}
			out = append(out, o)
			continue
		}
		if how >= viaBuffered {
			f.Key = mask.Key{} // ReadBuffered and ReadWhole return no key
		}
		out = append(out, outcome{h: f.Header, payload: string(f.Payload)})
		if r.buf != nil && r.Buffered() == 0 {
			return append(out, outcome{err: "buffer held with nothing buffered"})
		}
	}
}

// TestHeaderShapes runs headers on either side of every check through
// buffered and byte-by-byte sources, with ReadFrame and with ReadHeader
// and Read: each gives the same frames and the same error.
func TestHeaderShapes(t *testing.T) {
	p := func(n int) string { return strings.Repeat("\x00", n) }
	_ = p
	tests := []struct {
		name   string
		server bool
		max    int64
		policy frame.Policy
		wire   []byte
		frames int
	}{
		{"text 7-bit", false, 0, frame.Policy{}, unhex("81 03 616263 81 00"), 2},
		{"continuation then binary", false, 0, frame.Policy{}, unhex("01 01 61 00 01 62 80 01 63 82 02 0102"), 4},
		{"ping 125", false, 0, frame.Policy{}, append(unhex("89 7d"), make([]byte, 125)...), 1},
		{"pong 0", false, 0, frame.Policy{}, unhex("8a 00"), 1},
		{"close 0", false, 0, frame.Policy{}, unhex("88 00"), 1},
		{"close 2", false, 0, frame.Policy{}, unhex("88 02 03e8"), 1},
		{"close 1", false, 0, frame.Policy{}, unhex("88 01 03 81 00"), 0},
		{"close bad code", false, 0, frame.Policy{}, unhex("88 02 03e7 81 00"), 1},
		{"fragmented ping", false, 0, frame.Policy{}, unhex("09 00"), 0},
		{"ping 16-bit 126", false, 0, frame.Policy{}, append(unhex("89 7e 007e"), make([]byte, 126)...), 0},
		{"opcode 3", false, 0, frame.Policy{}, unhex("83 00"), 0},
		{"opcode 0xB", false, 0, frame.Policy{}, unhex("8b 00"), 0},
		{"opcode 0xF", false, 0, frame.Policy{}, unhex("8f 00"), 0},
		{"rsv1 refused", false, 0, frame.Policy{}, unhex("c1 00"), 0},
		{"rsv1 allowed", false, 0, frame.Policy{Rsv1: true}, unhex("c1 01 61 81 01 62"), 2},
		{"rsv2 allowed", false, 0, frame.Policy{Rsv2: true}, unhex("a2 00"), 1},
		{"rsv3 allowed", false, 0, frame.Policy{Rsv3: true}, unhex("92 00"), 1},
		{"16-bit 126", false, 0, frame.Policy{}, append(unhex("82 7e 007e"), make([]byte, 126)...), 1},
		{"16-bit 65535", false, 0, frame.Policy{}, append(unhex("82 7e ffff"), make([]byte, 65535)...), 1},
		{"16-bit 125", false, 0, frame.Policy{}, append(unhex("82 7e 007d"), make([]byte, 125)...), 0},
		{"64-bit 65536", false, 0, frame.Policy{}, append(unhex("82 7f 0000000000010000"), make([]byte, 65536)...), 1},
		{"64-bit 65535", false, 0, frame.Policy{}, append(unhex("82 7f 000000000000ffff"), make([]byte, 65535)...), 0},
		{"at the limit", false, 3, frame.Policy{}, unhex("82 03 010203"), 1},
		{"over the limit", false, 3, frame.Policy{}, unhex("82 04 01020304"), 0},
		{"16-bit at the limit", false, 200, frame.Policy{}, append(unhex("82 7e 00c8"), make([]byte, 200)...), 1},
		{"16-bit over the limit", false, 200, frame.Policy{}, append(unhex("82 7e 00c9"), make([]byte, 201)...), 0},
		{"no limit", false, -1, frame.Policy{}, append(unhex("82 7e 00c9"), make([]byte, 201)...), 1},
		{"masked to a client", false, 0, frame.Policy{}, unhex("81 81 01020304 60"), 0},
		{"unmasked to a server", true, 0, frame.Policy{}, unhex("81 01 61"), 0},
		{"masked to a server", true, 0, frame.Policy{}, unhex("81 83 01020304 606060 8a 80 01020304"), 2},
		{"masked 16-bit to a server", true, 0, frame.Policy{}, append(unhex("82 fe 0100 01020304"), make([]byte, 256)...), 1},
		{"masked close to a server", true, 0, frame.Policy{}, unhex("88 82 01020304 02ea"), 1},
		{"truncated 16-bit length", false, 0, frame.Policy{}, unhex("82 7e 01"), 0},
		{"truncated key", true, 0, frame.Policy{}, unhex("82 81 0102"), 0},
		{"truncated payload", false, 0, frame.Policy{}, unhex("82 05 0102"), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Reader{Server: tc.server, MaxFrameSize: tc.max, Policy: tc.policy}
			want := drain(cfg, tc.wire, true, viaFrame)
			frames := 0
			for _, o := range want {
				if o.err == "" {
					frames++
				}
			}
			if frames != tc.frames {
				t.Fatalf("%d frames, want %d: %+v", frames, tc.frames, want)
			}
			if end := want[len(want)-1].err; (end == io.EOF.Error()) != (tc.frames > 0) {
				t.Fatalf("stream ends with %q after %d frames", end, tc.frames)
			}
			for _, oneByte := range []bool{false, true} {
				for _, how := range []readHow{viaFrame, viaStream, viaBuffered, viaWhole, viaBufferedFrames} {
					got, want := drain(cfg, tc.wire, oneByte, how), want
					if how >= viaBuffered {
						want = withoutKeys(want)
					}
					if diff := fmt.Sprint(got); diff != fmt.Sprint(want) {
						t.Errorf("one byte %v, %v:\n got %+v\nwant %+v", oneByte, how, got, want)
					}
				}
			}
		})
	}
}

// timeoutError is what a net.Conn returns when its deadline passes.
var errTimeout = fmt.Errorf("read tcp: %w", os.ErrDeadlineExceeded)

// stutter serves data and fails with a timeout, once, when the stream
// reaches position at; a read never crosses that position. With withData
// the timeout comes together with the bytes before it.
type stutter struct {
	data     []byte
	pos, at  int
	fired    bool
	withData bool
	chunk    int
}

func (s *stutter) Read(p []byte) (int, error) {
	if s.pos == len(s.data) {
		return 0, io.EOF
	}
	end := len(s.data)
	if s.chunk > 0 {
		end = min(end, s.pos+s.chunk)
	}
	if !s.fired {
		if s.pos == s.at {
			s.fired = true
			return 0, errTimeout
		}
		if s.pos < s.at {
			end = min(end, s.at)
		}
	}
	n := copy(p, s.data[s.pos:end])
	s.pos += n
	if !s.fired && s.withData && s.pos == s.at {
		s.fired = true
		return n, errTimeout
	}
	return n, nil
}

func resumableFrames() []frame.Frame {
	return []frame.Frame{
		{Header: masked(hdr(false, frame.OpText, 3), "\x01\x02\x03\x04"), Payload: []byte("abc")},
		{Header: masked(hdr(true, frame.OpPing, 0), "\x05\x06\x07\x08"), Payload: []byte{}},
		{Header: masked(hdr(true, frame.OpContinuation, 130), "\x09\x0a\x0b\x0c"), Payload: bytes.Repeat([]byte("xyz"), 130)[:130]},
		{Header: masked(hdr(true, frame.OpBinary, 70000), "\xf1\xf2\xf3\xf4"), Payload: bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 10000)},
		{Header: masked(hdr(true, frame.OpClose, 2), "\xaa\xbb\xcc\xdd"), Payload: []byte{0x03, 0xe8}},
	}
}

// TestResumeAfterTimeout injects a timeout at every byte position of a
// stream and checks that retrying gives the same frames, byte for byte.
func TestResumeAfterTimeout(t *testing.T) {
	fs := resumableFrames()
	in := wire(t, fs...)
	// Every position in the headers and the small frames, and a stride
	// through the large payload.
	var positions []int
	for at := 0; at <= len(in); at++ {
		if at < 160 || at > len(in)-40 || at%4099 == 0 {
			positions = append(positions, at)
		}
	}
	for _, withData := range []bool{false, true} {
		for _, chunk := range []int{0, 7} {
			for _, stream := range []bool{false, true} {
				for _, at := range positions {
					src := &stutter{data: in, at: at, withData: withData, chunk: chunk}
					r := NewSize(src, 64)
					r.Server = true
					var got []frame.Frame
					timeouts := 0
					if stream {
						got, timeouts = readStreaming(t, r)
					} else {
						got, timeouts = readFrames(t, r)
					}
					if at < len(in) && timeouts != 1 {
						t.Fatalf("at %d: %d timeouts seen, want 1", at, timeouts)
					}
					if len(got) != len(fs) {
						t.Fatalf("at %d (data %v, chunk %d, stream %v): %d frames, want %d", at, withData, chunk, stream, len(got), len(fs))
					}
					for i := range fs {
						if got[i].Header != fs[i].Header || !bytes.Equal(got[i].Payload, fs[i].Payload) {
							t.Fatalf("at %d (data %v, chunk %d, stream %v): frame %d differs", at, withData, chunk, stream, i)
						}
					}
				}
			}
		}
	}
}

// TestReadWholeSpanning reads binary frames that run past the end of a
// 64-byte buffer with ReadWhole, which appends the buffered part of each
// to dst and refills the buffer from its start, for both roles, with a
// timeout injected at every byte position: the frames come out whole and
// in order, and a timeout in the middle of one loses none of its bytes.
func TestReadWholeSpanning(t *testing.T) {
	sizes := []int{20, 40, 7, 50, 33, 0, 45, 58, 1, 57}
	for _, server := range []bool{false, true} {
		var fs []frame.Frame
		for i, n := range sizes {
			h := hdr(true, frame.OpBinary, n)
			if server {
				h = masked(h, string([]byte{byte(i), 0x5a, 0xa5, byte(n)}))
			}
			fs = append(fs, frame.Frame{Header: h, Payload: bytes.Repeat([]byte{byte('a' + i)}, n)})
		}
		in := wire(t, fs...)
		for _, withData := range []bool{false, true} {
			for _, chunk := range []int{0, 7} {
				for at := 0; at <= len(in); at++ {
					src := &stutter{data: in, at: at, withData: withData, chunk: chunk}
					r := NewSize(src, 64)
					r.Server = server
					var got []frame.Frame
					timeouts, spanned := 0, 0
					testHookSpanning = func() { spanned++ }
					for {
						op, p, ok, err := r.ReadWhole([]byte("x"))
						if err == io.EOF {
							break
						}
						if err != nil {
							if !errors.Is(err, os.ErrDeadlineExceeded) || string(p) != "x" {
								t.Fatalf("ReadWhole: %q %v", p, err)
							}
							timeouts++
							continue
						}
						if !ok || p[0] != 'x' {
							t.Fatalf("role server %v, at %d: ReadWhole took no frame (%q)", server, at, p)
						}
						if r.buf != nil && r.Buffered() == 0 {
							t.Fatalf("role server %v, at %d: buffer held with nothing buffered", server, at)
						}
						got = append(got, frame.Frame{Header: frame.Header{Fin: true, Opcode: op, Length: int64(len(p) - 1)}, Payload: p[1:]})
					}
					testHookSpanning = nil
					if at < len(in) && timeouts != 1 {
						t.Fatalf("at %d: %d timeouts seen, want 1", at, timeouts)
					}
					if spanned == 0 {
						t.Fatalf("at %d: no frame ran past the end of the buffer", at)
					}
					if len(got) != len(fs) {
						t.Fatalf("role server %v, at %d (data %v, chunk %d): %d frames, want %d", server, at, withData, chunk, len(got), len(fs))
					}
					for i, f := range fs {
						if got[i].Opcode != f.Opcode || !bytes.Equal(got[i].Payload, f.Payload) {
							t.Fatalf("role server %v, at %d (data %v, chunk %d): frame %d is %q, want %q", server, at, withData, chunk, i, got[i].Payload, f.Payload)
						}
					}
				}
			}
		}
	}
}

// A stream that ends inside a frame ReadWhole was reading past the end
// of its buffer is io.ErrUnexpectedEOF, with the frame's bytes kept.
func TestReadWholeSpanningCut(t *testing.T) {
	in := wire(t,
		frame.Frame{Header: hdr(true, frame.OpBinary, 50), Payload: bytes.Repeat([]byte("a"), 50)},
		frame.Frame{Header: hdr(true, frame.OpBinary, 40), Payload: bytes.Repeat([]byte("b"), 40)},
	)
	r := NewSize(bytes.NewReader(in[:len(in)-5]), 64)
	if _, p, ok, err := r.ReadWhole(nil); !ok || err != nil || len(p) != 50 {
		t.Fatalf("first frame: %d bytes, %v %v", len(p), ok, err)
	}
	for range 2 {
		if _, p, ok, err := r.ReadWhole(nil); ok || err != io.ErrUnexpectedEOF || len(p) != 0 {
			t.Fatalf("cut frame: %q, %v, %v; want io.ErrUnexpectedEOF", p, ok, err)
		}
		if r.Buffered() != 2+35 {
			t.Fatalf("cut frame: %d bytes buffered, want its 37", r.Buffered())
		}
	}
}

func readFrames(t *testing.T, r *Reader) ([]frame.Frame, int) {
	var got []frame.Frame
	timeouts := 0
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			return got, timeouts
		}
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("ReadFrame: %v", err)
			}
			timeouts++
			continue
		}
		f.Payload = bytes.Clone(f.Payload)
		got = append(got, f)
	}
}

func readStreaming(t *testing.T, r *Reader) ([]frame.Frame, int) {
	var got []frame.Frame
	timeouts := 0
	buf := make([]byte, 33)
	for {
		h, err := r.ReadHeader()
		if err == io.EOF {
			return got, timeouts
		}
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("ReadHeader: %v", err)
			}
			timeouts++
			continue
		}
		f := frame.Frame{Header: h, Payload: []byte{}}
		for {
			n, err := r.Read(buf)
			f.Payload = append(f.Payload, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("Read: %v", err)
				}
				timeouts++
			}
		}
		got = append(got, f)
	}
}

// TestNoAllocationFromDeclaredLength declares 15 MiB (under the default
// limit) and sends 1000 bytes: the payload buffer stays near what arrived.
func TestNoAllocationFromDeclaredLength(t *testing.T) {
	in := append(unhex("82 7f 0000000000f00000"), make([]byte, 1000)...)
	r := New(bytes.NewReader(in))
	if _, err := r.ReadFrame(); err != io.ErrUnexpectedEOF {
		t.Fatal(err)
	}
	if c := cap(r.payload); c > 2048 {
		t.Fatalf("payload buffer of %d bytes after 1000 bytes arrived", c)
	}
}

func TestIdleReaderHoldsNoBuffer(t *testing.T) {
	in := wire(t,
		frame.Frame{Header: hdr(true, frame.OpText, 2), Payload: []byte("hi")},
		frame.Frame{Header: hdr(true, frame.OpBinary, 10000), Payload: make([]byte, 10000)},
	)
	r := New(iotest.OneByteReader(bytes.NewReader(in)))
	for range 2 {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
		if r.buf != nil {
			t.Fatal("idle Reader holds its read buffer")
		}
	}
	// Bytes left buffered keep the buffer until they are consumed.
	r = New(bytes.NewReader(in))
	if _, err := r.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	if r.buf == nil || r.Buffered() == 0 {
		t.Fatal("buffered bytes were dropped")
	}
	if _, err := r.ReadFrame(); err != nil || r.buf != nil {
		t.Fatalf("%v, buffer held: %v", err, r.buf != nil)
	}
	t.Logf("idle Reader: %d bytes of struct + %d bytes of retained payload buffer", unsafe.Sizeof(Reader{}), cap(r.payload))
}

// loop serves the same bytes forever.
type loop struct {
	data []byte
	pos  int
}

func (l *loop) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.data[l.pos:])
		n += c
		l.pos += c
		if l.pos == len(l.data) {
			l.pos = 0
		}
	}
	return n, nil
}

func TestReadFrameAllocs(t *testing.T) {
	for _, size := range []int{16, 1024, 65536} {
		in := wire(t, frame.Frame{Header: hdr(true, frame.OpBinary, size), Payload: make([]byte, size)})
		r := New(&loop{data: in})
		r.ReadFrame()
		if a := testing.AllocsPerRun(100, func() {
			if _, err := r.ReadFrame(); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%d-byte frames: %v allocs per ReadFrame", size, a)
		}
	}
}

func BenchmarkReadFrame(b *testing.B) {
	for _, size := range []int{16, 1024, 65536} {
		for _, server := range []bool{false, true} {
			name := fmt.Sprintf("%dB", size)
			h := hdr(true, frame.OpBinary, size)
			if server {
				name += "/masked"
				h = masked(h, "\x01\x02\x03\x04")
			}
			b.Run(name, func(b *testing.B) {
				in := wire(b, frame.Frame{Header: h, Payload: make([]byte, size)})
				r := New(&loop{data: in})
				r.Server = server
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := r.ReadFrame(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkStream(b *testing.B) {
	const size = 65536
	in := wire(b, frame.Frame{Header: masked(hdr(true, frame.OpBinary, size), "\x01\x02\x03\x04"), Payload: make([]byte, size)})
	r := New(&loop{data: in})
	r.Server = true
	buf := make([]byte, 8192)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadHeader(); err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReadHeader reads frames the way a connection does: ReadHeader,
// then Read into the caller's buffer.
func BenchmarkReadHeader(b *testing.B) {
	for _, size := range []int{16, 125, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			in := wire(b, frame.Frame{Header: hdr(true, frame.OpBinary, size), Payload: make([]byte, size)})
			r := New(&loop{data: in})
			buf := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.ReadHeader(); err != nil {
					b.Fatal(err)
				}
				for n := 0; n < size; {
					k, err := r.Read(buf[n:])
					if err != nil {
						b.Fatal(err)
					}
					n += k
				}
			}
		})
	}
}

func FuzzReadFrame(f *testing.F) {
	for _, v := range vectors {
		if len(v.wire) < 1000 {
			f.Add(v.wire, v.server, uint8(0))
		}
	}
	f.Add(unhex("01 03 48656c 89 00 80 02 6c6f"), false, uint8(0))
	f.Add(unhex("c1 02 6869 88 03 03e8 ff"), false, uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, server bool, flags uint8) {
		src := bytes.NewReader(in)
		var rd io.Reader = src
		if flags&4 != 0 {
			rd = iotest.OneByteReader(src)
		}
		r := NewSize(rd, 64)
		r.Server = server
		r.MaxFrameSize = 1 << 16
		r.Policy = frame.Policy{Rsv1: flags&1 != 0, SkipUTF8Validation: flags&2 != 0}
		// Buffered and byte-by-byte headers, ReadFrame and streaming agree.
		want := drain(r, in, true, viaFrame)
		for _, how := range []readHow{viaFrame, viaStream, viaBuffered, viaWhole, viaBufferedFrames} {
			got, want := drain(r, in, flags&8 != 0, how), want
			if how >= viaBuffered {
				want = withoutKeys(want)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%v:\n got %+v\nwant %+v", how, got, want)
			}
		}
		start := 0
		for {
			fr, err := r.ReadFrame()
			if cap(r.payload) > max(2*len(in), grow.Min) {
				t.Fatalf("payload buffer of %d bytes for %d input bytes", cap(r.payload), len(in))
			}
			end := len(in) - src.Len() - r.Buffered()
			if err != nil {
				var fe *frame.Error
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.As(err, &fe) {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				return
			}
			b, err := fr.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, in[start:end]) {
				t.Fatalf("frame %v re-encodes to %x, consumed %x", fr, b, in[start:end])
			}
			if fr.Masked != server {
				t.Fatalf("masked %v in role server=%v", fr.Masked, server)
			}
			if err := fr.Validate(r.Policy); err != nil {
				t.Fatalf("frame %v returned but invalid: %v", fr, err)
			}
			start = end
		}
	})
}

// TestIdleMemory measures the heap held by idle Readers that have each read
// a small frame. Run with -v to see the figure.
func TestIdleMemory(t *testing.T) {
	const n = 2000
	in := wire(t, frame.Frame{Header: hdr(true, frame.OpText, 2), Payload: []byte("hi")})
	srcs := make([]*bytes.Reader, n)
	for i := range srcs {
		srcs[i] = bytes.NewReader(in)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rs := make([]*Reader, n)
	for i := range rs {
		rs[i] = New(srcs[i])
		if _, err := rs[i].ReadFrame(); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("idle Reader after a 2-byte frame: %.0f bytes of heap each (read buffer %d bytes, not held)", per, DefaultBufferSize)
	if per > 1500 {
		t.Errorf("idle Reader holds %.0f bytes", per)
	}
	runtime.KeepAlive(rs)
}

// ControlBuffered is true only for a control frame that is whole in the
// buffer, so that reading it takes nothing from the source, and returns
// its opcode.
func TestControlBuffered(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire string
		op   frame.Opcode
		want bool
	}{
		{"ping", "89 01 70", frame.OpPing, true},
		{"empty pong", "8a 00", frame.OpPong, true},
		{"close then data", "88 02 03e8 82 00", frame.OpClose, true},
		{"masked ping", "89 81 01020304 71", frame.OpPing, true},
		{"reserved control opcode", "8b 00", 0xb, true},
		{"ping cut short", "89 05 7071", frame.OpPing, false},
		{"masked ping without its key", "89 81 0102", frame.OpPing, false},
		{"one byte", "89", 0, false},
		{"binary", "82 01 70", 0, false},
		{"continuation", "80 00", 0, false},
		{"ping with a 16-bit length, cut short", "89 7e 0001 70", frame.OpPing, false},
		{"ping of 126 bytes", "89 7e 007e" + strings.Repeat(" 70", 126), frame.OpPing, true},
	} {
		wire := unhex(tc.wire)
		r := NewSize(bytes.NewReader(wire), 256)
		for r.Buffered() < len(wire) {
			if err := r.fill(); err != nil {
				t.Fatal(err)
			}
		}
		op, got := r.ControlBuffered()
		if got != tc.want || got && op != tc.op {
			t.Errorf("%s: %v, %v; want %v, %v", tc.name, op, got, tc.op, tc.want)
		}
		if r.Buffered() != len(wire) {
			t.Errorf("%s: consumed bytes", tc.name)
		}
	}
	r := New(bytes.NewReader(unhex("82 02 70 89 00")))
	if _, err := r.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.ControlBuffered(); ok {
		t.Error("in the middle of a frame: true")
	}
}

// ReadWhole leaves a frame longer than WholeMax to ReadHeader, whose
// declared length the caller then sees before any payload arrives; a
// frame within it is taken whole.
func TestReadWholeMax(t *testing.T) {
	wire := append([]byte{0x82, 20}, strings.Repeat("x", 20)...)
	r := New(bytes.NewReader(wire[:2])) // the header only: the payload never comes
	r.WholeMax = 10
	if _, _, ok, err := r.ReadWhole(nil); ok || err != nil {
		t.Fatalf("ReadWhole = %v, %v; want the frame left, no error", ok, err)
	}
	if h, err := r.ReadHeader(); err != nil || h.Length != 20 {
		t.Fatalf("ReadHeader = %v, %v; want the 20-byte frame's header", h, err)
	}
	r = New(bytes.NewReader(wire))
	r.WholeMax = 20
	if _, p, ok, err := r.ReadWhole(nil); !ok || err != nil || len(p) != 20 {
		t.Errorf("ReadWhole within WholeMax = %d bytes, %v, %v; want the frame", len(p), ok, err)
	}
}

// On a source that is not a socket, Wait does nothing: the reads wait
// with the Reader's own small buffer (see NewSize).
func TestWaitNotSocket(t *testing.T) {
	src := &countingReader{r: bytes.NewReader(wire(t, frame.Frame{Header: hdr(true, frame.OpText, 1), Payload: []byte("a")}))}
	r := New(src)
	if err := r.Wait(); err != nil || r.Buffered() != 0 || src.n != 0 {
		t.Fatalf("Wait on a bytes.Reader: %v, %d B buffered, %d reads", err, r.Buffered(), src.n)
	}
	if f, err := r.ReadFrame(); err != nil || string(f.Payload) != "a" {
		t.Fatalf("ReadFrame: %q, %v", f.Payload, err)
	}
}

// countingReader counts the Reads of r.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.n++
	return c.r.Read(p)
}
