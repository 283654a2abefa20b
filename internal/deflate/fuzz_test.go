package deflate_test

import (
	"testing"

	"github.com/framewire/ws/internal/deflate"
)

// FuzzRoundTrip compresses data as messages cut where cuts says, with a
// window of 8 + bits%8 bits, with or without context takeover, each message
// fed in two pieces; compress/flate and the test inflater must decode every
// message, and no back-reference may reach beyond the window.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("Hello"), byte(4), true, []byte{})
	f.Add([]byte(`{"a":1,"b":[1,2,3]}{"a":2,"b":[1,2,3]}`), byte(0), false, []byte{3, 1})
	f.Add(jsonCorpus(3000), byte(2), true, []byte{40, 90, 7})
	f.Add(periodic(257, 2000), byte(0), true, []byte{100, 200})
	f.Add(randomCorpus(1500), byte(7), false, []byte{250})
	f.Fuzz(func(t *testing.T, data []byte, bits byte, takeover bool, cuts []byte) {
		if len(data) > 1<<17 {
			return
		}
		c, err := deflate.NewCompressor(deflate.Config{WindowBits: 8 + int(bits%8)})
		if err != nil {
			t.Fatal(err)
		}
		var msgs [][]byte
		for _, k := range cuts {
			n := min(len(data), 1+4*int(k))
			msgs = append(msgs, data[:n])
			data = data[n:]
		}
		msgs = append(msgs, data)
		roundTrip(t, c, msgs, takeover, 2)
	})
}
