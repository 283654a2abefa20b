package pyrepr_test

import (
	"testing"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/pyrepr"
)

// The wants are what CPython 3 prints for repr(bytes(in)).
func TestBytes(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", `b''`},
		{"hi", `b'hi'`},
		{" ~", `b' ~'`},
		{"it's", `b"it's"`},
		{`say "hi"`, `b'say "hi"'`},
		{`'"\`, `b'\'"\\'`},
		{`a\b`, `b'a\\b'`},
		{"\x00\x01\x7f\x80\xff", `b'\x00\x01\x7f\x80\xff'`},
		{"\t\n\r\x0b\x0c", `b'\t\n\r\x0b\x0c'`},
		{"\x81\x82abcd\x18\r", `b'\x81\x82abcd\x18\r'`}, // a masked "yo", as the trace shows it
		{"héllo", `b'h\xc3\xa9llo'`},
	}
	for _, tt := range tests {
		if got := pyrepr.Bytes([]byte(tt.in)); got != tt.want {
			t.Errorf("Bytes(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if got := string(pyrepr.AppendBytes([]byte("x="), []byte(tt.in))); got != "x="+tt.want {
			t.Errorf("AppendBytes(x=, %q) = %s, want x=%s", tt.in, got, tt.want)
		}
	}
}

// The wants are what websocket-client prints for str(ABNF(...)).
func TestFrame(t *testing.T) {
	fragment := frame.New(frame.OpText, []byte("Hel"))
	fragment.Fin = false
	tests := []struct {
		f    frame.Frame
		want string
	}{
		{frame.New(frame.OpText, []byte("yo")), "fin=1 opcode=1 data=b'yo'"},
		{fragment, "fin=0 opcode=1 data=b'Hel'"},
		{frame.Frame{Header: frame.Header{Opcode: frame.OpBinary}, Payload: []byte{0, 1, 0xff, '\n'}}, `fin=0 opcode=2 data=b'\x00\x01\xff\n'`},
		{frame.New(frame.OpText, []byte("it's")), `fin=1 opcode=1 data=b"it's"`},
		{frame.New(frame.OpText, []byte(`'"\`)), `fin=1 opcode=1 data=b'\'"\\'`},
		{frame.New(frame.OpClose, nil), "fin=1 opcode=8 data=b''"},
		{frame.New(frame.OpPong, []byte("p")), "fin=1 opcode=10 data=b'p'"},
		{frame.New(0xF, nil), "fin=1 opcode=15 data=b''"},
	}
	for _, tt := range tests {
		if got := pyrepr.Frame(tt.f); got != tt.want {
			t.Errorf("Frame(%v) = %s, want %s", tt.f, got, tt.want)
		}
	}
}

func TestAppendAllocs(t *testing.T) {
	f := frame.New(frame.OpBinary, []byte("\x00payload\xff"))
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = pyrepr.AppendFrame(buf[:0], f) }); n != 0 {
		t.Errorf("AppendFrame into a buffer with room: %v allocations, want 0", n)
	}
}
