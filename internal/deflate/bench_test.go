package deflate_test

import (
	"bytes"
	"compress/flate"
	"fmt"
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

// ourSize compresses msgs with takeover and returns the bytes sent, the
// sync flush's four bytes stripped.
func ourSize(c *deflate.Compressor, msgs [][]byte, dst []byte) ([]byte, int) {
	total := 0
	for _, m := range msgs {
		dst = c.Flush(c.Compress(dst[:0], m))
		total += len(dst) - 4
	}
	return dst, total
}

// flateSize does the same with compress/flate at BestSpeed.
func flateSize(w *flate.Writer, buf *bytes.Buffer, msgs [][]byte) int {
	total := 0
	for _, m := range msgs {
		buf.Reset()
		w.Write(m)
		w.Flush()
		total += buf.Len() - 4
	}
	return total
}

// TestRatio keeps the compressed size within 10% of compress/flate at
// BestSpeed, for the default and best presets, on every corpus.
func TestRatio(t *testing.T) {
	for _, cp := range corpora {
		in := cp.gen(benchCorpus)
		msgs := split(in, benchMsg, 9)
		var buf bytes.Buffer
		fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
		ref := flateSize(fw, &buf, msgs)
		for _, p := range presets {
			c, _ := deflate.NewCompressor(p.Config())
			_, got := ourSize(c, msgs, nil)
			r := float64(got) / float64(ref)
			t.Logf("%-6s %-7v: %7d bytes, compress/flate BestSpeed %7d: %.3f", cp.name, p, got, ref, r)
			if p != deflate.PresetSmall && r > 1.10 {
				t.Errorf("%s %v: %d bytes, %.1f%% more than compress/flate's %d", cp.name, p, got, 100*(r-1), ref)
			}
		}
	}
}

func BenchmarkCompress(b *testing.B) {
	for _, cp := range corpora {
		in := cp.gen(benchCorpus)
		msgs := split(in, benchMsg, 9)
		for _, p := range presets {
			b.Run(fmt.Sprintf("%s/%v", cp.name, p), func(b *testing.B) {
				c, _ := deflate.NewCompressor(p.Config())
				dst := make([]byte, 0, 2*benchMsg)
				dst, total := ourSize(c, msgs, dst)
				b.SetBytes(int64(len(in)))
				b.ReportAllocs()
				for b.Loop() {
					dst, _ = ourSize(c, msgs, dst)
				}
				b.ReportMetric(float64(total)/float64(len(in)), "ratio")
			})
		}
		b.Run(cp.name+"/flate-BestSpeed", func(b *testing.B) {
			var buf bytes.Buffer
			fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
			total := flateSize(fw, &buf, msgs)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				flateSize(fw, &buf, msgs)
			}
			b.ReportMetric(float64(total)/float64(len(in)), "ratio")
		})
	}
}
