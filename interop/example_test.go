package interop_test

import (
	"fmt"
	"strings"

	"github.com/framewire/ws/interop"
)

func ExampleParse() {
	e, err := interop.Parse(strings.NewReader("# written by interop/start.sh\nFW_INTEROP_WS=ws://127.0.0.1:40001\n"))
	if err != nil {
		panic(err)
	}
	v, ok := e.Get(interop.KeyWS)
	fmt.Println(v, ok)
	_, ok = e.Get(interop.KeyDante)
	fmt.Println(ok)
	// Output:
	// ws://127.0.0.1:40001 true
	// false
}
