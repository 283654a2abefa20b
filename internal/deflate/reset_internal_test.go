package deflate

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Reset leaves the hash table as a new Compressor's, all empty, after a
// message flushed or cut short, of any length: an entry left over could
// make the next message's bytes depend on what came before.
func TestResetEmptiesTable(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	text := func(n int) []byte {
		var b []byte
		for len(b) < n {
			b = fmt.Appendf(b, `{"id":%d,"name":"user%d","tags":["a","b%d"]}`+"\n", r.IntN(1000), r.IntN(50), r.IntN(9))
		}
		return b[:n]
	}
	for _, preset := range []Preset{PresetSmall, PresetDefault, PresetBest} {
		c, err := NewCompressor(preset.Config())
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 3, 5, 100, 1000, 5000, 40000, 200000} {
			for _, flush := range []bool{true, false} {
				out := c.Compress(nil, text(n))
				if flush {
					c.Flush(out)
				}
				c.Reset()
				for h, v := range c.table {
					if v != 0 {
						t.Fatalf("%v, %d bytes (flushed %v): entry %d is %d after Reset", preset, n, flush, h, v)
					}
				}
			}
		}
	}
}
