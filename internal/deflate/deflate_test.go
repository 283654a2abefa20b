package deflate_test

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/framewire/ws/internal/deflate"
)

// flateDecode decodes a sync-flushed stream of len(want) bytes with
// compress/flate, after history (a preset dictionary of earlier output).
func flateDecode(t testing.TB, history, stream []byte, n int) []byte {
	t.Helper()
	zr := flate.NewReaderDict(bytes.NewReader(stream), history)
	got := make([]byte, n)
	if _, err := io.ReadFull(zr, got); err != nil {
		t.Fatalf("compress/flate: %v", err)
	}
	// Nothing more: the stream ends after the sync flush.
	if k, err := zr.Read(make([]byte, 1)); k != 0 || err != io.ErrUnexpectedEOF {
		t.Fatalf("compress/flate after the message: %d bytes, %v", k, err)
	}
	return got
}

// roundTrip compresses the messages with one compressor, decodes them with
// compress/flate and with the test inflater, and checks the output and
// that no distance exceeds the window. It returns the total output size.
func roundTrip(t testing.TB, c *deflate.Compressor, msgs [][]byte, takeover bool, pieces int) int {
	t.Helper()
	window := 1 << c.WindowBits()
	var stream []byte // the whole stream, for context takeover
	var plain []byte  // all input, the history compress/flate is given
	total := 0
	ti := &inflater{}
	for k, m := range msgs {
		var out []byte
		for p := m; len(p) > 0; {
			n := min(len(p), max(1, len(m)/pieces))
			out = c.Compress(out, p[:n])
			p = p[n:]
		}
		out = c.Flush(out)
		if !bytes.HasSuffix(out, []byte{0, 0, 0xff, 0xff}) {
			t.Fatalf("message %d: output %x does not end with a sync flush", k, out)
		}
		total += len(out) - 4
		if !takeover {
			c.Reset()
			plain, ti = nil, &inflater{}
		}
		got := flateDecode(t, plain, out, len(m))
		if !bytes.Equal(got, m) {
			t.Fatalf("message %d: compress/flate decodes %d bytes that differ from the input", k, len(got))
		}
		got, err := ti.message(out)
		if err != nil {
			t.Fatalf("message %d: %v", k, err)
		}
		if !bytes.Equal(got, m) {
			t.Fatalf("message %d: the test inflater decodes %d bytes that differ from the input", k, len(got))
		}
		if ti.maxDist > window {
			t.Fatalf("message %d: a back-reference reaches %d bytes, beyond the window of %d", k, ti.maxDist, window)
		}
		stream = append(stream, out...)
		plain = append(plain, m...)
	}
	_ = stream
	return total
}

// split cuts b into messages of random sizes up to max.
func split(b []byte, most int, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 0))
	var msgs [][]byte
	for len(b) > 0 {
		n := min(len(b), 1+r.IntN(most))
		msgs = append(msgs, b[:n])
		b = b[n:]
	}
	return msgs
}

// periodic repeats a random block of the given length.
func periodic(period, n int) []byte {
	block := randomCorpus(period)
	b := make([]byte, n)
	for i := range b {
		b[i] = block[i%period]
	}
	return b
}

func TestRoundTripEveryWindow(t *testing.T) {
	for bits := deflate.MinWindowBits; bits <= deflate.MaxWindowBits; bits++ {
		w := 1 << bits
		inputs := map[string][]byte{
			"period=w-1": periodic(w-1, 6*w),
			"period=w":   periodic(w, 6*w),
			"period=w+1": periodic(w+1, 6*w),
			"period=2w":  periodic(2*w, 8*w),
		}
		for _, cp := range corpora {
			inputs[cp.name] = cp.gen(100_000)
		}
		for name, in := range inputs {
			for _, takeover := range []bool{true, false} {
				t.Run(fmt.Sprintf("bits=%d/%s/takeover=%t", bits, name, takeover), func(t *testing.T) {
					c, err := deflate.NewCompressor(deflate.Config{WindowBits: bits})
					if err != nil {
						t.Fatal(err)
					}
					roundTrip(t, c, split(in, 3*w, uint64(bits)), takeover, 3)
					c.Reset()
					roundTrip(t, c, [][]byte{in}, takeover, 1)
				})
			}
		}
	}
}

// shortMatches returns n bytes of 4-byte words drawn from a few, each
// followed by a random byte: a match of 4 or 5 bytes every 5 bytes, the
// most matches a block can be asked to hold.
func shortMatches(n int) []byte {
	r := rand.New(rand.NewPCG(9, 10))
	words := randomCorpus(4 * 16)
	b := make([]byte, 0, n+5)
	for len(b) < n {
		k := 4 * r.IntN(16)
		b = append(b, words[k:k+4]...)
		b = append(b, byte(r.Uint32()))
	}
	return b[:n]
}

// fewSymbols returns n random bytes of 64 values: they seldom repeat four
// at a time, but Huffman codes save a quarter of them.
func fewSymbols(n int) []byte {
	b := randomCorpus(n)
	for i := range b {
		b[i] &= 63
	}
	return b
}

// TestBlockLimits fills blocks to each of their limits, matches (8192, or
// 2048 with a window of 1 KiB or less) and literals (16384 or 4096; mostly
// literals are written sooner, when the window slides, in case they are
// best stored), in one message fed in pieces of several sizes: each must
// decode, and no block may hold more than its limits.
func TestBlockLimits(t *testing.T) {
	inputs := map[string][]byte{
		"short matches": shortMatches(300_000),
		"literals":      fewSymbols(100_000),
		"mixed":         append(shortMatches(50_000), append(fewSymbols(40_000), shortMatches(50_000)...)...),
	}
	for _, p := range []deflate.Preset{deflate.PresetSmall, deflate.PresetDefault} {
		most, mostLits := 8192, 16384
		if p == deflate.PresetSmall {
			most, mostLits = 2048, 4096
		}
		for name, in := range inputs {
			for _, pieces := range []int{1, 7, 1000} {
				c, err := deflate.NewCompressor(p.Config())
				if err != nil {
					t.Fatal(err)
				}
				var out []byte
				for q := in; len(q) > 0; {
					n := min(len(q), max(1, len(in)/pieces))
					out = c.Compress(out, q[:n])
					q = q[n:]
				}
				out = c.Flush(out)
				if got := flateDecode(t, nil, out, len(in)); !bytes.Equal(got, in) {
					t.Fatalf("%v %s in %d pieces: compress/flate decodes other bytes", p, name, pieces)
				}
				ti := &inflater{}
				if got, err := ti.message(out); err != nil || !bytes.Equal(got, in) {
					t.Fatalf("%v %s in %d pieces: the test inflater: %v", p, name, pieces, err)
				}
				t.Logf("%v %s in %d pieces: %d blocks, at most %d matches and %d literals in one", p, name, pieces, ti.blocks, ti.mostMatches, ti.mostLits)
				if ti.mostMatches > most || ti.mostLits > mostLits {
					t.Errorf("%v %s in %d pieces: a block holds %d matches and %d literals, more than %d and %d", p, name, pieces, ti.mostMatches, ti.mostLits, most, mostLits)
				}
				if name == "short matches" && ti.mostMatches < most-16 {
					t.Errorf("%v %s in %d pieces: at most %d matches in a block: the match limit was not reached", p, name, pieces, ti.mostMatches)
				}

			}
		}
	}
}

// TestWindowIsUsed checks the other side of the window limit: a repeat at
// exactly the window's distance is found, so the limit is not met by never
// reaching far.
func TestWindowIsUsed(t *testing.T) {
	for bits := deflate.MinWindowBits; bits <= deflate.MaxWindowBits; bits++ {
		w := 1 << bits
		in := periodic(w, 8*w)
		c, err := deflate.NewCompressor(deflate.Config{WindowBits: bits})
		if err != nil {
			t.Fatal(err)
		}
		out := c.Flush(c.Compress(nil, in))
		ti := &inflater{}
		if _, err := ti.message(out); err != nil {
			t.Fatal(err)
		}
		if ti.maxDist != w {
			t.Errorf("bits=%d: farthest distance %d, want the window %d", bits, ti.maxDist, w)
		}
		if len(out) > 4*w {
			t.Errorf("bits=%d: %d bytes of a block of %d repeated 8 times compress to %d", bits, w, w, len(out))
		}
	}
}

func TestIncompressibleIsStored(t *testing.T) {
	for _, p := range []deflate.Preset{deflate.PresetSmall, deflate.PresetDefault, deflate.PresetBest} {
		c, err := deflate.NewCompressor(p.Config())
		if err != nil {
			t.Fatal(err)
		}
		in := randomCorpus(200_000)
		out := c.Flush(c.Compress(nil, in))
		// At least 1024 bytes per stored block, 5 bytes of header each,
		// and the sync flush.
		if limit := len(in) + 5*(len(in)/1024+1) + 5; len(out) > limit {
			t.Errorf("%v: %d random bytes grew to %d, more than %d", p, len(in), len(out), limit)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []deflate.Config{{WindowBits: 7}, {WindowBits: 16}, {WindowBits: -1}, {HashBits: 7}, {HashBits: 17}} {
		if _, err := deflate.NewCompressor(cfg); !errors.Is(err, deflate.ErrConfig) {
			t.Errorf("%+v: error %v, want ErrConfig", cfg, err)
		}
	}
}

func TestZeroValue(t *testing.T) {
	var c deflate.Compressor
	if c.WindowBits() != deflate.DefaultWindowBits {
		t.Fatalf("zero value: window bits %d", c.WindowBits())
	}
	roundTrip(t, &c, split(jsonCorpus(20_000), 2000, 1), true, 2)
}

// TestSize reports, and bounds, the bytes each preset holds between
// messages, and checks that the block's symbol buffer is held during a
// message only, with or without a reset after it.
func TestSize(t *testing.T) {
	for _, tc := range []struct {
		p          deflate.Preset
		most, busy int
	}{
		{deflate.PresetSmall, 5 << 10, 16 << 10},
		{deflate.PresetDefault, 17 << 10, 64 << 10},
		{deflate.PresetBest, 200 << 10, 64 << 10},
	} {
		c, err := deflate.NewCompressor(tc.p.Config())
		if err != nil {
			t.Fatal(err)
		}
		idle := c.Size()
		t.Logf("%v %+v: %d bytes", tc.p, tc.p.Config(), idle)
		if idle > tc.most {
			t.Errorf("%v holds %d bytes, more than %d", tc.p, idle, tc.most)
		}
		for _, reset := range []bool{false, true} {
			dst := c.Compress(nil, jsonCorpus(5000))
			if got := c.Size(); got != idle+tc.busy {
				t.Errorf("%v inside a message holds %d bytes, want %d", tc.p, got, idle+tc.busy)
			}
			c.Flush(dst)
			if reset {
				c.Reset()
			}
			if got := c.Size(); got != idle {
				t.Errorf("%v after a message (reset %t) holds %d bytes, want %d", tc.p, reset, got, idle)
			}
		}
	}
}

func TestNoAllocations(t *testing.T) {
	msgs := split(jsonCorpus(50_000), 4000, 3)
	for _, takeover := range []bool{true, false} {
		c, err := deflate.NewCompressor(deflate.PresetDefault.Config())
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, 0, 8192)
		k := 0
		allocs := testing.AllocsPerRun(200, func() {
			dst = c.Flush(c.Compress(dst[:0], msgs[k%len(msgs)]))
			if !takeover {
				c.Reset()
			}
			k++
		})
		if allocs != 0 {
			t.Errorf("takeover=%t: %v allocations per message", takeover, allocs)
		}
	}
}

// After Reset, a Compressor gives the same bytes as a new one, whatever it
// compressed before: pooled compressors (no context takeover) must not make
// the output depend on which one a message gets.
func TestResetDeterministic(t *testing.T) {
	for _, preset := range []deflate.Preset{deflate.PresetSmall, deflate.PresetDefault, deflate.PresetBest} {
		t.Run(preset.String(), func(t *testing.T) {
			msg := jsonCorpus(40000)
			fresh, err := deflate.NewCompressor(preset.Config())
			if err != nil {
				t.Fatal(err)
			}
			want := fresh.Flush(fresh.Compress(nil, msg))
			used, _ := deflate.NewCompressor(preset.Config())
			for _, before := range [][]byte{textCorpus(9000), binaryCorpus(5000), jsonCorpus(3000), msg[7:], msg[1000:], append(textCorpus(100), msg...)} {
				used.Flush(used.Compress(nil, before))
				used.Reset()
				if got := used.Flush(used.Compress(nil, msg)); !bytes.Equal(got, want) {
					t.Fatalf("after %d bytes of history: %d bytes, want the %d of a new Compressor", len(before), len(got), len(want))
				}
				used.Reset()
			}
		})
	}
}

// Between messages a Compressor holds its window and hash table only: the
// open block's symbols are taken from a pool for a message and given back by
// Flush (an idle connection with context takeover keeps its Compressor).
func TestIdleCompressorHoldsNoSymbols(t *testing.T) {
	c, err := deflate.NewCompressor(deflate.PresetDefault.Config())
	if err != nil {
		t.Fatal(err)
	}
	idle := c.Size()
	c.Compress(nil, jsonCorpus(3000))
	during := c.Size()
	c.Flush(nil)
	if after := c.Size(); after != idle || during <= idle {
		t.Fatalf("Size: %d new, %d during a message, %d after Flush; want the symbols held during the message only", idle, during, after)
	}
}
