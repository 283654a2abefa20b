package deflate_test

import (
	"bytes"
	"compress/flate"
	"fmt"
	"slices"
	"testing"

	"github.com/framewire/ws/internal/deflate"
)

// The benchmark workload: a corpus sent as messages of up to 2 KiB with
// context takeover, each ended by a sync flush.
const (
	benchCorpus = 256 << 10
	benchMsg    = 2048
)

var presets = []deflate.Preset{deflate.PresetSmall, deflate.PresetDefault, deflate.PresetBest}

// ourSize compresses msgs, with context takeover or a reset after each
// message, and returns the bytes sent, the sync flush's four bytes
// stripped.
func ourSize(c *deflate.Compressor, msgs [][]byte, dst []byte, takeover bool) ([]byte, int) {
	total := 0
	for _, m := range msgs {
		dst = c.Flush(c.Compress(dst[:0], m))
		total += len(dst) - 4
		if !takeover {
			c.Reset()
		}
	}
	return dst, total
}

// flateSize does the same with compress/flate at BestSpeed.
func flateSize(w *flate.Writer, buf *bytes.Buffer, msgs [][]byte, takeover bool) int {
	total := 0
	for _, m := range msgs {
		buf.Reset()
		w.Write(m)
		w.Flush()
		total += buf.Len() - 4
		if !takeover {
			w.Reset(buf)
		}
	}
	return total
}

// TestRatio keeps the compressed size within 10% of compress/flate at
// BestSpeed, on every corpus and with every preset, for messages of up to
// 2 KiB with and without context takeover, messages of 64 KiB with it and
// one message of 256 KiB. The small preset is held to it for the 2 KiB
// messages only: its 1 KiB window finds fewer repeats in a long message
// than compress/flate's 32 KiB (docs/compression.md has the figures), so
// its larger cases are only logged.
func TestRatio(t *testing.T) {
	for _, cp := range corpora {
		in := cp.gen(benchCorpus)
		var chunks [][]byte
		for m := range slices.Chunk(in, 64<<10) {
			chunks = append(chunks, m)
		}
		for _, w := range []struct {
			name     string
			msgs     [][]byte
			takeover bool
		}{
			{"2KiB/takeover", split(in, benchMsg, 9), true},
			{"2KiB/reset", split(in, benchMsg, 9), false},
			{"64KiB/takeover", chunks, true},
			{"256KiB", [][]byte{in}, true},
		} {
			var buf bytes.Buffer
			fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
			ref := flateSize(fw, &buf, w.msgs, w.takeover)
			for _, p := range presets {
				c, _ := deflate.NewCompressor(p.Config())
				_, got := ourSize(c, w.msgs, nil, w.takeover)
				r := float64(got) / float64(ref)
				t.Logf("%-6s %-14s %-7v: %7d bytes, compress/flate BestSpeed %7d: %.3f", cp.name, w.name, p, got, ref, r)
				held := p != deflate.PresetSmall || len(w.msgs[0]) <= benchMsg
				if r > 1.10 && held {
					t.Errorf("%s %s %v: %d bytes, %.1f%% more than compress/flate's %d", cp.name, w.name, p, got, 100*(r-1), ref)
				}
			}
		}
	}
}

// BenchmarkCompress compresses the corpus as messages of up to 2 KiB, with
// context takeover or a reset after each, and as 64 KiB messages with
// context takeover, the size where the match finder and the block writer
// dominate.
func BenchmarkCompress(b *testing.B) {
	for _, cp := range corpora {
		in := cp.gen(benchCorpus)
		for _, mode := range []string{"takeover", "reset", "64KiB"} {
			msgs := split(in, benchMsg, 9)
			takeover := mode != "reset"
			if mode == "64KiB" {
				msgs = msgs[:0]
				for m := range slices.Chunk(in, 64<<10) {
					msgs = append(msgs, m)
				}
			}
			for _, p := range presets {
				b.Run(fmt.Sprintf("%s/%s/%v", cp.name, mode, p), func(b *testing.B) {
					c, _ := deflate.NewCompressor(p.Config())
					dst := make([]byte, 0, 2*len(msgs[0]))
					dst, total := ourSize(c, msgs, dst, takeover)
					b.SetBytes(int64(len(in)))
					b.ReportAllocs()
					for b.Loop() {
						dst, _ = ourSize(c, msgs, dst, takeover)
					}
					b.ReportMetric(float64(total)/float64(len(in)), "ratio")
				})
			}
			b.Run(fmt.Sprintf("%s/%s/flate-BestSpeed", cp.name, mode), func(b *testing.B) {
				var buf bytes.Buffer
				fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
				total := flateSize(fw, &buf, msgs, takeover)
				b.SetBytes(int64(len(in)))
				b.ReportAllocs()
				for b.Loop() {
					flateSize(fw, &buf, msgs, takeover)
				}
				b.ReportMetric(float64(total)/float64(len(in)), "ratio")
			})
		}
	}
}
