package deflate_test

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"

	"github.com/framewire/ws/internal/deflate"
)

// A permessage-deflate sender compresses each message, flushes, and strips
// the last four bytes of the sync flush; the receiver puts them back.
func ExampleCompressor() {
	c, err := deflate.NewCompressor(deflate.PresetDefault.Config())
	if err != nil {
		panic(err)
	}
	out := c.Compress(nil, []byte("Hello"))
	out = c.Flush(out)
	payload := bytes.TrimSuffix(out, []byte{0, 0, 0xff, 0xff})
	fmt.Printf("% x\n", payload)

	zr := flate.NewReader(io.MultiReader(bytes.NewReader(payload), bytes.NewReader([]byte{0, 0, 0xff, 0xff})))
	msg := make([]byte, 5)
	io.ReadFull(zr, msg)
	fmt.Printf("%s\n", msg)
	// Output:
	// f2 48 cd c9 c9 07 00
	// Hello
}
