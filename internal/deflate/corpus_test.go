package deflate_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The corpora are generated, deterministically, so that tests and
// benchmarks need no files.

var words = strings.Fields(`the of and to in is that it was for on are with as his they be at one have
this from or had by word but what some we can out other were all there when up use your how said an
each she which do their time if will way about many then them write would like so these her long make
thing see him two has look more day could go come did number sound no most people my over know water
than call first who may down side been now find connection message window frame server client stream
compression history latency header payload buffer socket deadline context`)

// textCorpus is English-like prose: words drawn with a skewed distribution.
func textCorpus(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for b.Len() < n {
		for k := 3 + r.IntN(12); k > 0; k-- {
			w := words[int(float64(len(words))*r.Float64()*r.Float64())]
			b.WriteString(w)
			b.WriteByte(' ')
		}
		b.WriteString(". ")
		if r.IntN(6) == 0 {
			b.WriteString("\n")
		}
	}
	return []byte(b.String()[:n])
}

// jsonCorpus is a stream of JSON events of the kind a WebSocket API sends.
func jsonCorpus(n int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	for id := 1000; b.Len() < n; id++ {
		fmt.Fprintf(&b, `{"type":"%s","id":%d,"ts":%d,"user":{"name":"%s","score":%.2f},"tags":["%s","%s"],"ok":%t}`+"\n",
			[]string{"trade", "quote", "heartbeat", "update"}[r.IntN(4)], id, 1700000000000+int64(id)*137+int64(r.IntN(100)),
			words[r.IntN(len(words))], r.Float64()*1000, words[r.IntN(len(words))], words[r.IntN(len(words))], r.IntN(2) == 0)
	}
	return []byte(b.String()[:n])
}

// binaryCorpus is records of little-endian integers that change slowly, with
// a few random bytes each, like a telemetry or game-state feed.
func binaryCorpus(n int) []byte {
	r := rand.New(rand.NewPCG(5, 6))
	b := make([]byte, 0, n+32)
	var x, y uint32 = 1 << 20, 7
	for len(b) < n {
		x += uint32(r.IntN(16))
		y ^= uint32(r.IntN(4))
		b = append(b, byte(x), byte(x>>8), byte(x>>16), byte(x>>24), byte(y), 0, 0, 0, 0xfe, 0xca)
		b = append(b, byte(r.Uint32()), byte(r.Uint32()))
	}
	return b[:n]
}

// randomCorpus does not compress.
func randomCorpus(n int) []byte {
	r := rand.New(rand.NewPCG(7, 8))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

var corpora = []struct {
	name string
	gen  func(int) []byte
}{
	{"json", jsonCorpus},
	{"text", textCorpus},
	{"binary", binaryCorpus},
	{"random", randomCorpus},
}
