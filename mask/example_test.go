package mask_test

import (
	"fmt"

	"github.com/framewire/ws/mask"
)

// The masked "Hello" of RFC 6455 §5.7, masked and unmasked again as
// websocket-client's ABNF.mask would.
func ExampleApply() {
	key := mask.Key{0x37, 0xfa, 0x21, 0x3d}
	payload := []byte("Hello")

	mask.Apply(payload, key, 0)
	fmt.Printf("masked:   % x\n", payload)

	mask.Apply(payload, key, 0)
	fmt.Printf("unmasked: %s\n", payload)
	// Output:
	// masked:   7f 9f 4d 51 58
	// unmasked: Hello
}

// A payload that arrives in pieces is unmasked piece by piece: each call
// returns the key position the next piece starts at.
func ExampleApply_pieces() {
	key := mask.Key{'a', 'b', 'c', 'd'}
	pieces := [][]byte{{0x29, 0x07, 0x0f}, {0x08, 0x0e}}

	pos := 0
	for _, p := range pieces {
		pos = mask.Apply(p, key, pos)
		fmt.Printf("%q then key position %d\n", p, pos)
	}
	// Output:
	// "Hel" then key position 3
	// "lo" then key position 1
}

// Each frame a client sends gets a fresh key from the connection's Source.
func ExampleSource() {
	keys := mask.NewSource() // one per connection

	payload := []byte("Hello, Server")
	key := keys.Key()
	mask.Apply(payload, key, 0) // payload now holds the wire bytes

	mask.Apply(payload, key, 0) // what the server does
	fmt.Printf("%s\n", payload)
	// Output:
	// Hello, Server
}
