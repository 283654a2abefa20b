package fragment_test

import (
	"errors"
	"fmt"

	"github.com/framewire/ws/fragment"
	"github.com/framewire/ws/frame"
)

func fragmentOf(op frame.Opcode, fin bool, s string) frame.Frame {
	return frame.Frame{Header: frame.Header{Fin: fin, Opcode: op, Length: int64(len(s))}, Payload: []byte(s)}
}

func ExampleAssembler() {
	var a fragment.Assembler
	in := []frame.Frame{
		fragmentOf(frame.OpText, false, "Too much "),
		fragmentOf(frame.OpPing, true, "Please PONG this"),
		fragmentOf(frame.OpContinuation, true, "of a good thing"),
	}
	for _, f := range in {
		m, ready, err := a.Add(f)
		if err != nil {
			fmt.Println(err)
			return
		}
		if ready {
			fmt.Printf("%s %q\n", m.Opcode, m.Payload)
		}
	}
	// Output:
	// ping "Please PONG this"
	// text "Too much of a good thing"
}

func ExampleAssembler_deliverFragments() {
	a := fragment.Assembler{DeliverFragments: true}
	for _, f := range []frame.Frame{
		fragmentOf(frame.OpText, false, "Brevity is "),
		fragmentOf(frame.OpContinuation, true, "the soul of wit"),
	} {
		m, _, _ := a.Add(f)
		fmt.Printf("%s fin=%v %q\n", m.Opcode, m.Fin, m.Payload)
	}
	// Output:
	// text fin=false "Brevity is "
	// cont fin=true "the soul of wit"
}

func ExampleAssembler_Write() {
	// A text frame whose payload arrives in pieces: the bad byte fails
	// the message at once, before the rest of the frame is read.
	var a fragment.Assembler
	a.Begin(frame.Header{Fin: true, Opcode: frame.OpText, Length: 1000})
	fmt.Println(a.Write([]byte("caf\xc3")))
	err := a.Write([]byte("(rest"))
	var fe *frame.Error
	fmt.Println(err, errors.As(err, &fe), uint16(fe.Code))
	// Output:
	// <nil>
	// fragment: text message is not valid UTF-8 true 1007
}
