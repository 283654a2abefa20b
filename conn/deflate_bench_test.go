package conn_test

import (
	"bytes"
	"compress/flate"
	"context"
	"math/rand/v2"
	"strings"
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

// proseOf returns n bytes of English-like text: words drawn with a skewed
// distribution, in sentences.
func proseOf(n, seed int) []byte {
	words := strings.Fields("the of and to in is that it was for on are with as they be at one have this from " +
		"or had by word but what some we can out other were all there when up use your how said each which " +
		"message window frame server client stream compression history latency header payload socket")
	r := rand.New(rand.NewPCG(2, uint64(seed)))
	b := make([]byte, 0, n+16)
	for len(b) < n {
		for k := 4 + r.IntN(10); k > 0; k-- {
			b = append(b, words[int(float64(len(words))*r.Float64()*r.Float64())]...)
			b = append(b, ' ')
		}
		b = append(b, ". "...)
	}
	return b[:n]
}

// compressedFrames returns messages compressed as a zlib peer (Node's ws,
// python websockets) sends them, each with a fresh compressor at the
// default level: frames a receiver that agreed context takeover also
// accepts, so they can be served again and again.
func compressedFrames(tb testing.TB, op frame.Opcode, msgs [][]byte) []byte {
	var wire []byte
	for _, m := range msgs {
		var b bytes.Buffer
		w, err := flate.NewWriter(&b, flate.DefaultCompression)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(m)
		w.Flush()
		p := b.Bytes()[:b.Len()-4] // RFC 7692 §7.2.1
		wire, err = frame.Frame{
			Header:  frame.Header{Fin: true, Rsv1: true, Opcode: op, Length: int64(len(p))},
			Payload: p,
		}.AppendBinary(wire)
		if err != nil {
			tb.Fatal(err)
		}
	}
	return wire
}

// BenchmarkRecvInflate receives 64 KiB messages compressed by a zlib
// peer, served from memory, with context takeover agreed: the receive
// path and the inflater, without a socket. Eight different messages of
// each corpus come in turn.
func BenchmarkRecvInflate(b *testing.B) {
	const size = 64 << 10
	for _, corpus := range []struct {
		name string
		op   frame.Opcode
		gen  func(n, seed int) []byte
	}{
		{"json", frame.OpText, textOf},
		{"text", frame.OpText, proseOf},
		{"binary", frame.OpBinary, binaryOf},
	} {
		b.Run(corpus.name+"-64KiB", func(b *testing.B) {
			var msgs [][]byte
			for i := range 8 {
				msgs = append(msgs, corpus.gen(size, i*1000))
			}
			cfg := conn.Config{Compression: &conn.Compression{}}
			c := conn.New(&memConn{frame: compressedFrames(b, corpus.op, msgs)}, &cfg)
			defer c.CloseNow()
			ctx := context.Background()
			buf := make([]byte, 0, size)
			b.SetBytes(size)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				f, err := c.ReadDataFrame(ctx, buf[:0])
				if err != nil || !bytes.Equal(f.Payload, msgs[n%len(msgs)]) {
					b.Fatal(len(f.Payload), err)
				}
				buf = f.Payload
				n++
			}
		})
	}
}
