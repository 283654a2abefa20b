package conn_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
)

// binaryOf returns n bytes of binary records: small integers, a few
// flags and random noise, which compress less than text.
func binaryOf(n, seed int) []byte {
	r := rand.New(rand.NewPCG(1, uint64(seed)))
	b := make([]byte, 0, n)
	for len(b) < n {
		b = append(b, byte(r.IntN(8)), 0, 0, byte(r.IntN(256)), 1, 0, byte(r.IntN(4)), 0xff)
	}
	return b[:n]
}

// BenchmarkDeflate sends a message compressed by a client and receives it
// inflated by a server, for each preset, with context takeover, and
// reports the wire size as a share of the message.
func BenchmarkDeflate(b *testing.B) {
	ctx := context.Background()
	// Eight different messages of each corpus, sent in turn: with
	// context takeover, a message repeated at once would cost nothing.
	corpus := func(name string, op frame.Opcode, gen func(i int) []byte) struct {
		name string
		op   frame.Opcode
		ms   [][]byte
	} {
		var ms [][]byte
		for i := range 8 {
			ms = append(ms, gen(i))
		}
		return struct {
			name string
			op   frame.Opcode
			ms   [][]byte
		}{name, op, ms}
	}
	for _, corpus := range []struct {
		name string
		op   frame.Opcode
		ms   [][]byte
	}{
		corpus("json-2KiB", frame.OpText, func(i int) []byte { return textOf(2<<10, i*1000) }),
		corpus("json-64KiB", frame.OpText, func(i int) []byte { return textOf(64<<10, i*1000) }),
		corpus("binary-16KiB", frame.OpBinary, func(i int) []byte { return binaryOf(16<<10, i) }),
	} {
		for _, preset := range []conn.CompressionPreset{conn.CompressionSmall, conn.CompressionDefault, conn.CompressionBest} {
			for _, takeover := range []bool{true, false} {
				p := handshake.DeflateParams{ClientNoContextTakeover: !takeover}
				name := corpus.name + "/" + preset.String()
				if !takeover {
					name += "/no-takeover"
				}
				b.Run(name, func(b *testing.B) {
					cp := &conn.Compression{Preset: preset}
					c, s, c2s, _ := deflatePair(p, conn.Config{Compression: cp}, conn.Config{})
					m0 := corpus.ms[0]
					buf := make([]byte, 0, len(m0))
					wire, n := 0, 0
					b.SetBytes(int64(len(m0)))
					b.ReportAllocs()
					for b.Loop() {
						if err := c.WriteMessage(ctx, corpus.op, corpus.ms[n%len(corpus.ms)]); err != nil {
							b.Fatal(err)
						}
						n++
						wire += c2s.Len()
						if _, err := s.ReadDataFrame(ctx, buf[:0]); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(wire)/float64(n*len(m0)), "wire/msg")
				})
			}
		}
	}
}
