package frame_test

import (
	"errors"
	"fmt"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/status"
)

// A text frame built as websocket-client's ABNF.create_frame builds it and
// serialised with a fixed masking key, as ABNF.format does.
func ExampleNew() {
	f := frame.New(frame.OpText, []byte("Hello"))
	f.Key = mask.Key{'a', 'b', 'c', 'd'}
	wire, err := f.AppendBinary(nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", wire)
	// Output: 81 85 61 62 63 64 29 07 0f 08 0e
}

// Decoding the header of RFC 6455 §5.7's masked "Hello" and unmasking it.
func ExampleParseHeader() {
	wire := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	h, n, err := frame.ParseHeader(wire)
	if err != nil {
		panic(err)
	}
	payload := wire[n : n+int(h.Length)]
	mask.Apply(payload, h.Key, 0)
	fmt.Printf("fin=%v opcode=%s masked=%v length=%d payload=%s\n", h.Fin, h.Opcode, h.Masked, h.Length, payload)
	// Output: fin=true opcode=text masked=true length=5 payload=Hello
}

// A frame built as a literal needs no Length: encoding and validation take
// the length from the payload. Here a server's unmasked close frame.
func ExampleFrame_AppendBinary() {
	payload, err := status.AppendClose(nil, status.NormalClosure, "bye")
	if err != nil {
		panic(err)
	}
	f := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}, Payload: payload}
	if err := f.Validate(frame.Policy{}); err != nil {
		panic(err)
	}
	wire, err := f.AppendBinary(nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", wire)
	// Output: 88 05 03 e8 62 79 65
}

// Validation is strict: a fragmented ping is a protocol error whose close
// code tells the receiver how to fail the connection.
func ExampleFrame_Validate() {
	f := frame.New(frame.OpPing, []byte("hi"))
	f.Fin = false
	err := f.Validate(frame.Policy{})
	var fe *frame.Error
	if errors.As(err, &fe) {
		fmt.Println(err, "->", fe.Code)
	}
	// Output: frame: control frame is fragmented: ping -> protocol error (1002)
}

// A fragmented message: the first frame carries the opcode, the rest are
// continuations, and only the last is final. %v shows a frame with
// String, Go's debugging form.
func ExampleFrame_String() {
	first := frame.New(frame.OpText, []byte("Hel"))
	first.Fin = false
	last := frame.New(frame.OpContinuation, []byte("lo"))
	fmt.Println(first)
	fmt.Println(last)
	// Output:
	// text fin=false masked=true len=3 data="Hel"
	// cont fin=true masked=true len=2 data="lo"
}
