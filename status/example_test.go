package status_test

import (
	"fmt"

	"github.com/framewire/ws/status"
)

// Encoding the payload of a close frame, as websocket-client's example does
// with struct.pack("!H", STATUS_GOING_AWAY) + reason.
func ExampleAppendClose() {
	p, err := status.AppendClose(nil, status.GoingAway, "Custom shutdown")
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", p[:2])
	code, reason, err := status.ParseClose(p)
	fmt.Println(code, reason, err)
	// Output:
	// 03 e9
	// going away (1001) Custom shutdown <nil>
}

func ExampleCode_IsValid() {
	for _, c := range []status.Code{status.NormalClosure, status.NoStatusReceived, 2999, 4000} {
		fmt.Println(uint16(c), c.IsValid())
	}
	// Output:
	// 1000 true
	// 1005 false
	// 2999 false
	// 4000 true
}
