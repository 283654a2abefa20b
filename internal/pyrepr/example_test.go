package pyrepr_test

import (
	"fmt"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/pyrepr"
)

// A fragmented message as websocket-client's trace shows its frames.
func ExampleFrame() {
	first := frame.New(frame.OpText, []byte("Hel"))
	first.Fin = false
	last := frame.New(frame.OpContinuation, []byte("lo"))
	fmt.Println(pyrepr.Frame(first))
	fmt.Println(pyrepr.Frame(last))
	// Output:
	// fin=0 opcode=1 data=b'Hel'
	// fin=1 opcode=0 data=b'lo'
}

func ExampleBytes() {
	fmt.Println(pyrepr.Bytes([]byte("it's\x00")))
	// Output: b"it's\x00"
}
