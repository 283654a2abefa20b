package frame_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/status"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var keyABCD = mask.Key{'a', 'b', 'c', 'd'}
var keyRFC = mask.Key{0x37, 0xfa, 0x21, 0x3d}

// wireVectors drive both directions: encoding the frame must give the wire
// bytes, and decoding the wire bytes must give the frame.
type wireVector struct {
	name  string
	frame frame.Frame
	wire  string // hex
	fill  int    // zero bytes that follow the hex
}

var wireVectors = []wireVector{
	{"rfc 5.7 unmasked text Hello", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpText, Length: 5}, Payload: []byte("Hello")},
		"81 05 48656c6c6f", 0},
	{"rfc 5.7 masked text Hello", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpText, Masked: true, Key: keyRFC, Length: 5}, Payload: []byte("Hello")},
		"81 85 37fa213d 7f9f4d5158", 0},
	{"rfc 5.7 first fragment Hel", frame.Frame{Header: frame.Header{Opcode: frame.OpText, Length: 3}, Payload: []byte("Hel")},
		"01 03 48656c", 0},
	{"rfc 5.7 last fragment lo", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpContinuation, Length: 2}, Payload: []byte("lo")},
		"80 02 6c6f", 0},
	{"rfc 5.7 unmasked ping", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPing, Length: 5}, Payload: []byte("Hello")},
		"89 05 48656c6c6f", 0},
	{"rfc 5.7 masked pong", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPong, Masked: true, Key: keyRFC, Length: 5}, Payload: []byte("Hello")},
		"8a 85 37fa213d 7f9f4d5158", 0},
	{"rfc 5.7 256 bytes binary", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 256}, Payload: bytes.Repeat([]byte{0}, 256)},
		"82 7e 0100", 256},
	{"rfc 5.7 64 KiB binary", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 65536}, Payload: bytes.Repeat([]byte{0}, 65536)},
		"82 7f 0000000000010000", 65536},
	{"websocket-client send Hello", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpText, Masked: true, Key: keyABCD, Length: 5}, Payload: []byte("Hello")},
		"81 85 61626364 29070f080e", 0},
	{"websocket-client Japanese text", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpText, Masked: true, Key: keyABCD, Length: 15}, Payload: []byte("こんにちは")},
		"81 8f 61626364 82e3f087e3f180e5ca81e2c582e3cc", 0},
	{"websocket-client unmasked fragment", frame.Frame{Header: frame.Header{Opcode: frame.OpText, Length: 3}, Payload: []byte{0x01, 0x8a, 0xcc}},
		"01 03 018acc", 0},
	{"websocket-client auto pong", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPong, Masked: true, Key: keyABCD, Length: 16}, Payload: []byte("Please PONG this")},
		"8a 90 61626364 310e0605120743342e2c2444150a0a17", 0},
	{"empty close", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}, Payload: []byte{}},
		"88 00", 0},
	{"125 bytes stays 7-bit", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 125}, Payload: bytes.Repeat([]byte{0}, 125)},
		"82 7d", 125},
	{"126 bytes takes 16-bit", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 126}, Payload: bytes.Repeat([]byte{0}, 126)},
		"82 7e 007e", 126},
	{"65535 bytes stays 16-bit", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 65535}, Payload: bytes.Repeat([]byte{0}, 65535)},
		"82 7e ffff", 65535},
	{"all flag bits", frame.Frame{Header: frame.Header{Fin: true, Rsv1: true, Rsv2: true, Rsv3: true, Opcode: frame.OpBinary, Length: 1}, Payload: []byte{7}},
		"f2 01 07", 0},
}

func (v *wireVector) bytes(t testing.TB) []byte {
	b := unhex(t, v.wire)
	return append(b, make([]byte, v.fill)...)
}

func TestWireVectorsEncode(t *testing.T) {
	for i := range wireVectors {
		v := &wireVectors[i]
		t.Run(v.name, func(t *testing.T) {
			payload := bytes.Clone(v.frame.Payload)
			got, err := v.frame.AppendBinary([]byte("prefix"))
			if err != nil {
				t.Fatal(err)
			}
			want := append([]byte("prefix"), v.bytes(t)...)
			if !bytes.Equal(got, want) {
				t.Errorf("AppendBinary:\n got %x\nwant %x", got, want)
			}
			if !bytes.Equal(payload, v.frame.Payload) {
				t.Error("AppendBinary modified the payload")
			}
			if n := v.frame.Header.Len(); n != len(want)-len("prefix")-len(payload) {
				t.Errorf("Len() = %d, header is %d bytes", n, len(want)-len("prefix")-len(payload))
			}
		})
	}
}

func TestWireVectorsDecode(t *testing.T) {
	for i := range wireVectors {
		v := &wireVectors[i]
		t.Run(v.name, func(t *testing.T) {
			wire := v.bytes(t)
			h, n, err := frame.ParseHeader(wire)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(v.frame.Header, h); diff != "" {
				t.Errorf("ParseHeader (-want +got):\n%s", diff)
			}
			payload := bytes.Clone(wire[n:])
			if h.Masked {
				mask.Apply(payload, h.Key, 0)
			}
			if !bytes.Equal(payload, v.frame.Payload) {
				t.Errorf("payload %x, want %x", payload, v.frame.Payload)
			}
			// Every strict prefix of the header is incomplete.
			for k := range n {
				if _, _, err := frame.ParseHeader(wire[:k]); err != io.ErrUnexpectedEOF {
					t.Fatalf("ParseHeader of %d of %d header bytes: %v, want io.ErrUnexpectedEOF", k, n, err)
				}
			}
			// ReadHeader reads exactly the header, whatever the read sizes.
			r := bytes.NewReader(wire)
			h2, err := frame.ReadHeader(iotest.OneByteReader(r))
			if err != nil {
				t.Fatal(err)
			}
			if h2 != h || r.Len() != len(wire)-n {
				t.Errorf("ReadHeader = %+v leaving %d bytes, want %+v leaving %d", h2, r.Len(), h, len(wire)-n)
			}
			// The same through the io.ByteReader path.
			r.Reset(wire)
			if h2, err = frame.ReadHeader(r); err != nil || h2 != h || r.Len() != len(wire)-n {
				t.Errorf("ReadHeader(io.ByteReader) = %+v, %v leaving %d bytes, want %+v leaving %d", h2, err, r.Len(), h, len(wire)-n)
			}
			// And through a *bufio.Reader's buffer.
			r.Reset(wire)
			br := bufio.NewReader(r)
			if h2, err = frame.ReadHeader(br); err != nil || h2 != h || br.Buffered()+r.Len() != len(wire)-n {
				t.Errorf("ReadHeader(*bufio.Reader) = %+v, %v leaving %d bytes, want %+v leaving %d", h2, err, br.Buffered()+r.Len(), h, len(wire)-n)
			}
			if err := v.frame.Validate(frame.Policy{Rsv1: true, Rsv2: true, Rsv3: true}); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// TestFrameLengthFromPayload checks that a Frame's Length does not matter:
// with Length left zero, or wrong, every wire vector encodes to the same
// bytes and validates as with the right Length.
func TestFrameLengthFromPayload(t *testing.T) {
	policy := frame.Policy{Rsv1: true, Rsv2: true, Rsv3: true}
	for i := range wireVectors {
		v := &wireVectors[i]
		for _, length := range []int64{0, v.frame.Length + 1, 1 << 20} {
			t.Run(v.name+"/Length="+strconv.FormatInt(length, 10), func(t *testing.T) {
				f := v.frame
				f.Length = length
				got, err := f.AppendBinary(nil)
				if err != nil {
					t.Fatal(err)
				}
				if want := v.bytes(t); !bytes.Equal(got, want) {
					t.Errorf("AppendBinary:\n got %x\nwant %x", got, want)
				}
				if err := f.Validate(policy); err != nil {
					t.Errorf("Validate: %v", err)
				}
			})
		}
	}
}

func TestLengthForms(t *testing.T) {
	tests := []struct {
		length int64
		header string // unmasked binary frame
	}{
		{frame.Max7BitLength, "82 7d"},
		{frame.Max7BitLength + 1, "82 7e 007e"}, // websocket-client's LENGTH_7
		{frame.Max16BitLength, "82 7e ffff"},
		{frame.Max16BitLength + 1, "82 7f 0000000000010000"}, // LENGTH_16
	}
	for _, tt := range tests {
		h := frame.Header{Fin: true, Opcode: frame.OpBinary, Length: tt.length}
		got, err := h.AppendBinary(nil)
		if want := unhex(t, tt.header); err != nil || !bytes.Equal(got, want) {
			t.Errorf("length %d: AppendBinary = %x, %v; want %x", tt.length, got, err, want)
		}
		if h.Len() != len(got) {
			t.Errorf("length %d: Len() = %d, header is %d bytes", tt.length, h.Len(), len(got))
		}
	}
	if frame.Max7BitLength+1 != 0x7e || frame.Max16BitLength+1 != 1<<16 {
		t.Error("Max7BitLength+1 and Max16BitLength+1 must be websocket-client's LENGTH_7 and LENGTH_16")
	}
}

func TestParseHeaderRejects(t *testing.T) {
	tests := []struct {
		name string
		wire string
		want error
	}{
		{"5 bytes in a 16-bit length", "82 7e 0005", frame.ErrNonMinimalLength},
		{"125 bytes in a 16-bit length", "82 7e 007d", frame.ErrNonMinimalLength},
		{"3 bytes in a 64-bit length", "82 7f 0000000000000003", frame.ErrNonMinimalLength},
		{"65535 bytes in a 64-bit length", "82 7f 000000000000ffff", frame.ErrNonMinimalLength},
		{"64-bit length top bit", "82 7f 8000000000000000", frame.ErrLengthOverflow},
		{"64-bit length all ones", "82 ff ffffffffffffffff 00000000", frame.ErrLengthOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire := unhex(t, tt.wire)
			_, _, err := frame.ParseHeader(wire)
			if !errors.Is(err, tt.want) || !errors.Is(err, frame.ErrProtocol) {
				t.Fatalf("ParseHeader: %v, want %v (a protocol error)", err, tt.want)
			}
			var fe *frame.Error
			if !errors.As(err, &fe) || fe.Code != status.ProtocolError {
				t.Fatalf("errors.As: %v, want code 1002", err)
			}
			// Every way of reading fails the same and consumes the header.
			for name, r := range map[string]io.Reader{
				"*bytes.Reader": bytes.NewReader(append(wire, 0x81)),
				"io.Reader":     iotest.OneByteReader(bytes.NewReader(append(wire, 0x81))),
				"*bufio.Reader": bufio.NewReader(bytes.NewReader(append(wire, 0x81))),
			} {
				if _, err := frame.ReadHeader(r); !errors.Is(err, tt.want) {
					t.Fatalf("ReadHeader(%s): %v, want %v", name, err, tt.want)
				}
				if rest, _ := io.ReadAll(r); !bytes.Equal(rest, []byte{0x81}) {
					t.Errorf("ReadHeader(%s) left %x, want 81", name, rest)
				}
			}
		})
	}
}

func TestReadHeaderShort(t *testing.T) {
	tests := []struct {
		wire string
		want error
	}{
		{"", io.EOF},
		{"81", io.ErrUnexpectedEOF},
		{"81 fe 01", io.ErrUnexpectedEOF},
		{"81 ff 00000000000000", io.ErrUnexpectedEOF},
		{"81 85 3712", io.ErrUnexpectedEOF},
	}
	readers := map[string]func([]byte) io.Reader{
		"io.ByteReader": func(b []byte) io.Reader { return bytes.NewReader(b) },
		"io.Reader":     func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"*bufio.Reader": func(b []byte) io.Reader { return bufio.NewReader(iotest.OneByteReader(bytes.NewReader(b))) },
	}
	for _, tt := range tests {
		for name, newReader := range readers {
			if _, err := frame.ReadHeader(newReader(unhex(t, tt.wire))); err != tt.want {
				t.Errorf("%s %q: %v, want %v", name, tt.wire, err, tt.want)
			}
		}
	}
}

func TestReadHeaderAllocs(t *testing.T) {
	wire := unhex(t, "82 fe 0100 37fa213d")
	r := bytes.NewReader(wire)
	br := bufio.NewReader(r)
	readers := []struct {
		name  string
		reset func()
		r     io.Reader
	}{
		{"*bytes.Reader (io.ByteReader)", func() { r.Reset(wire) }, r},
		{"*bufio.Reader", func() { r.Reset(wire); br.Reset(r) }, br},
	}
	for _, rd := range readers {
		got := testing.AllocsPerRun(100, func() {
			rd.reset()
			if _, err := frame.ReadHeader(rd.r); err != nil {
				t.Fatal(err)
			}
		})
		if got != 0 {
			t.Errorf("ReadHeader from a %s: %v allocations, want 0", rd.name, got)
		}
	}
}

func TestValidate(t *testing.T) {
	closeFrame := func(p []byte) frame.Frame {
		return frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose, Length: int64(len(p))}, Payload: p}
	}
	long := bytes.Repeat([]byte{'a'}, 126)
	tests := []struct {
		name   string
		f      frame.Frame
		policy frame.Policy
		want   error // nil: valid
		code   status.Code
	}{
		{"text", frame.New(frame.OpText, []byte("hi")), frame.Policy{}, nil, 0},
		{"rsv1 without extension", frame.Frame{Header: frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpText}}, frame.Policy{}, frame.ErrReservedBits, 1002},
		{"rsv1 with extension", frame.Frame{Header: frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpText}}, frame.Policy{Rsv1: true}, nil, 0},
		{"rsv2 when only rsv1 allowed", frame.Frame{Header: frame.Header{Fin: true, Rsv2: true, Opcode: frame.OpText}}, frame.Policy{Rsv1: true}, frame.ErrReservedBits, 1002},
		{"rsv3", frame.Frame{Header: frame.Header{Fin: true, Rsv3: true, Opcode: frame.OpBinary}}, frame.Policy{}, frame.ErrReservedBits, 1002},
		{"opcode 3", frame.Frame{Header: frame.Header{Fin: true, Opcode: 3}}, frame.Policy{}, frame.ErrReservedOpcode, 1002},
		{"opcode 0xb", frame.Frame{Header: frame.Header{Fin: true, Opcode: 0xb}}, frame.Policy{}, frame.ErrReservedOpcode, 1002},
		{"opcode 77 (python test)", frame.Frame{Header: frame.Header{Fin: true, Opcode: 77}}, frame.Policy{}, frame.ErrReservedOpcode, 1002},
		{"ping not final", frame.Frame{Header: frame.Header{Opcode: frame.OpPing}}, frame.Policy{}, frame.ErrFragmentedControl, 1002},
		{"pong not final", frame.Frame{Header: frame.Header{Opcode: frame.OpPong}}, frame.Policy{}, frame.ErrFragmentedControl, 1002},
		{"close not final", frame.Frame{Header: frame.Header{Opcode: frame.OpClose}}, frame.Policy{}, frame.ErrFragmentedControl, 1002},
		{"ping 125 bytes", frame.New(frame.OpPing, long[:125]), frame.Policy{}, nil, 0},
		{"ping 126 bytes", frame.New(frame.OpPing, long), frame.Policy{}, frame.ErrControlTooLong, 1002},
		{"pong 126 bytes", frame.New(frame.OpPong, long), frame.Policy{}, frame.ErrControlTooLong, 1002},
		{"close empty", closeFrame(nil), frame.Policy{}, nil, 0},
		{"close 1 byte", closeFrame([]byte{0x03}), frame.Policy{}, frame.ErrClosePayloadLength, 1002},
		{"close 1000", closeFrame([]byte{0x03, 0xe8}), frame.Policy{}, nil, 0},
		{"close 999 (python test)", closeFrame([]byte{0x03, 0xe7}), frame.Policy{}, frame.ErrInvalidCloseCode, 1002},
		{"close 999 with utf8 skipped", closeFrame([]byte{0x03, 0xe7}), frame.Policy{SkipUTF8Validation: true}, frame.ErrInvalidCloseCode, 1002},
		{"close 1005", closeFrame([]byte{0x03, 0xed}), frame.Policy{}, frame.ErrInvalidCloseCode, 1002},
		{"close 4999 reason", closeFrame([]byte{0x13, 0x87, 'o', 'k'}), frame.Policy{}, nil, 0},
		{"close 5000", closeFrame([]byte{0x13, 0x88}), frame.Policy{}, frame.ErrInvalidCloseCode, 1002},
		{"close reason not utf8", closeFrame([]byte{0x03, 0xe8, 0xff}), frame.Policy{}, frame.ErrInvalidCloseReason, 1007},
		{"close reason not utf8, skipped", closeFrame([]byte{0x03, 0xe8, 0xff}), frame.Policy{SkipUTF8Validation: true}, nil, 0},
		{"close 126 bytes", closeFrame(append([]byte{0x03, 0xe8}, long[:124]...)), frame.Policy{}, frame.ErrControlTooLong, 1002},
		// A Frame's length is its payload's: Header.Length is ignored.
		{"text without Length", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpText}, Payload: []byte("hi")}, frame.Policy{}, nil, 0},
		{"text with a wrong Length", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpText, Length: 3}, Payload: []byte("hi")}, frame.Policy{}, nil, 0},
		{"ping of 126 bytes without Length", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPing}, Payload: long}, frame.Policy{}, frame.ErrControlTooLong, 1002},
		{"ping of 2 bytes with Length 126", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPing, Length: 126}, Payload: []byte("hi")}, frame.Policy{}, nil, 0},
		{"close of 1 byte without Length", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}, Payload: []byte{0x03}}, frame.Policy{}, frame.ErrClosePayloadLength, 1002},
		{"close 1000 without Length", frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}, Payload: []byte{0x03, 0xe8}}, frame.Policy{}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Validate(tt.policy)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Validate: %v, want %v", err, tt.want)
			}
			var fe *frame.Error
			if !errors.As(err, &fe) || fe.Code != tt.code {
				t.Fatalf("Validate: %v carries no close code %d", err, tt.code)
			}
		})
	}
}

func TestErrorCategories(t *testing.T) {
	if !errors.Is(frame.ErrInvalidCloseReason, frame.ErrInvalidPayload) || errors.Is(frame.ErrInvalidCloseReason, frame.ErrProtocol) {
		t.Error("ErrInvalidCloseReason must be a 1007 error only")
	}
	if !errors.Is(frame.ErrReservedOpcode, frame.ErrProtocol) || errors.Is(frame.ErrReservedOpcode, frame.ErrInvalidPayload) {
		t.Error("ErrReservedOpcode must be a 1002 error only")
	}
	if !errors.Is(frame.NewError(status.MessageTooBig, "x: big"), frame.ErrTooBig) {
		t.Error("a 1009 error must match ErrTooBig")
	}
	if errors.Is(frame.ErrReservedBits, frame.ErrReservedOpcode) {
		t.Error("distinct sentinels must not match each other")
	}
}

func TestOpcode(t *testing.T) {
	tests := []struct {
		op                        frame.Opcode
		name                      string
		control, data, isReserved bool
	}{
		{frame.OpContinuation, "cont", false, true, false},
		{frame.OpText, "text", false, true, false},
		{frame.OpBinary, "binary", false, true, false},
		{3, "opcode(0x3)", false, false, true},
		{7, "opcode(0x7)", false, false, true},
		{frame.OpClose, "close", true, false, false},
		{frame.OpPing, "ping", true, false, false},
		{frame.OpPong, "pong", true, false, false},
		{0xb, "opcode(0xb)", true, false, true},
		{0xf, "opcode(0xf)", true, false, true},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.name {
			t.Errorf("%d.String() = %q, want %q", tt.op, got, tt.name)
		}
		if tt.op.IsControl() != tt.control || tt.op.IsData() != tt.data || tt.op.IsReserved() != tt.isReserved {
			t.Errorf("%s: IsControl/IsData/IsReserved = %v/%v/%v, want %v/%v/%v", tt.name,
				tt.op.IsControl(), tt.op.IsData(), tt.op.IsReserved(), tt.control, tt.data, tt.isReserved)
		}
	}
}

func TestAppendBinaryUnencodable(t *testing.T) {
	if _, err := (frame.Header{Opcode: 0x10}).AppendBinary(nil); !errors.Is(err, frame.ErrUnencodable) {
		t.Errorf("opcode 0x10: %v", err)
	}
	if _, err := (frame.Header{Length: -1}).AppendBinary(nil); !errors.Is(err, frame.ErrUnencodable) {
		t.Errorf("negative length: %v", err)
	}
}

func TestNew(t *testing.T) {
	f := frame.New(frame.OpBinary, []byte{1, 2, 3})
	want := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Length: 3}
	if f.Header != want {
		t.Errorf("New header = %+v, want %+v", f.Header, want)
	}
}

func TestString(t *testing.T) {
	long := []byte("0123456789abcdef0123456789ABCDEF!")
	tests := []struct {
		f    frame.Frame
		want string
	}{
		{frame.New(frame.OpText, []byte("Hello")), `text fin=true masked=true len=5 data="Hello"`},
		{frame.Frame{Header: frame.Header{Opcode: frame.OpContinuation}}, `cont fin=false len=0 data=""`},
		{frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpBinary}, Payload: []byte{0, 1, 0xff, '\n', '"'}}, `binary fin=true len=5 data="\x00\x01\xff\n\""`},
		{frame.Frame{Header: frame.Header{Fin: true, Rsv1: true, Rsv3: true, Opcode: frame.OpText}, Payload: []byte("z")}, `text fin=true rsv1=true rsv3=true len=1 data="z"`},
		{frame.Frame{Header: frame.Header{Rsv2: true, Opcode: 0xB}}, `opcode(0xb) fin=false rsv2=true len=0 data=""`},
		// Length is the payload's, not Header.Length; the payload is cut at 32 bytes.
		{frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPing, Length: 99}, Payload: long}, `ping fin=true len=33 data="0123456789abcdef0123456789ABCDEF"...`},
		{frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPing}, Payload: long[:32]}, `ping fin=true len=32 data="0123456789abcdef0123456789ABCDEF"`},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("String() = %s, want %s", got, tt.want)
		}
		if got := fmt.Sprint(tt.f); got != tt.want {
			t.Errorf("Sprint = %s, want %s", got, tt.want)
		}
	}
}

func BenchmarkAppendBinary(b *testing.B) {
	for _, size := range []int{16, 1024, 65536} {
		f := frame.New(frame.OpBinary, make([]byte, size))
		f.Key = keyABCD
		buf := make([]byte, 0, size+frame.MaxHeaderLen)
		b.Run(sizeName(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				buf, _ = f.AppendBinary(buf[:0])
			}
		})
	}
}

func BenchmarkParseHeader(b *testing.B) {
	wire := []byte{0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := frame.ParseHeader(wire); err != nil {
			b.Fatal(err)
		}
	}
}

func sizeName(n int) string {
	if n >= 1<<10 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

// A reserved bit refused says which bits, on which frame, and why.
func TestReservedBitsDetail(t *testing.T) {
	deflate := frame.Policy{Rsv1: true}
	tests := []struct {
		h    frame.Header
		p    frame.Policy
		want string
	}{
		{frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpText}, frame.Policy{}, "RSV1 on a text frame: no negotiated extension defines it"},
		{frame.Header{Fin: true, Rsv2: true, Rsv3: true, Opcode: frame.OpBinary}, deflate, "RSV2+RSV3 on a binary frame: no negotiated extension defines it"},
		{frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpContinuation}, deflate, "RSV1 on a continuation frame: only the first frame of a message carries it"},
		{frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpPing}, deflate, "RSV1 on a ping frame: a control frame carries none"},
	}
	for _, tt := range tests {
		err := tt.h.Validate(tt.p)
		if !errors.Is(err, frame.ErrReservedBits) || !strings.HasSuffix(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want ErrReservedBits ending %q", tt.h, err, tt.want)
		}
	}
}
