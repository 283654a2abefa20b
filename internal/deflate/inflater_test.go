package deflate_test

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"testing"

	"github.com/framewire/ws/internal/deflate"
)

var (
	errTruncated = errors.New("test: input ends inside the stream")
	errTooLong   = errors.New("test: output over the limit")
)

// inflateAll feeds data to f in pieces of in bytes, into output buffers of
// out bytes, until the input is used up (nil), the stream ends (io.EOF) or
// an error, and returns what f decoded.
func inflateAll(f *deflate.Inflater, data []byte, in, out, limit int) ([]byte, error) {
	var got []byte
	buf := make([]byte, out)
	pos := 0
	for {
		end := min(len(data), pos+in)
		n, used, err := f.Inflate(buf, data[pos:end])
		got = append(got, buf[:n]...)
		pos += used
		switch {
		case err != nil:
			return got, err
		case len(got) > limit:
			return got, errTooLong
		case n == 0 && used == 0 && pos == len(data):
			return got, nil
		case n == 0 && used == 0:
			return got, errors.New("test: Inflater makes no progress")
		}
	}
}

// inflateInto decodes a sync-flushed message into out, again and again,
// and returns the bytes it decodes to.
func inflateInto(f *deflate.Inflater, wire, out []byte) (int, error) {
	total := 0
	for src := wire; ; {
		n, used, err := f.Inflate(out, src)
		total += n
		if err != nil || n == 0 && used == 0 {
			return total, err
		}
		src = src[used:]
	}
}

// inflateStream decodes a whole stream, which must end with a final block.
func inflateStream(f *deflate.Inflater, data []byte, in, out, limit int) ([]byte, error) {
	got, err := inflateAll(f, data, in, out, limit)
	switch err {
	case io.EOF:
		return got, nil
	case nil:
		return got, errTruncated
	}
	return got, err
}

// FuzzInflate: the Inflater decodes exactly what compress/flate decodes,
// and rejects what it rejects, whatever the sizes of the input pieces and
// of the output buffers; with a window of 8 + bits%8 bits it decodes the
// same or fails with ErrDistance, and never fails that way when the whole
// output fits in the window.
func FuzzInflate(f *testing.F) {
	for _, m := range [][]byte{[]byte("Hello"), jsonCorpus(2000), textCorpus(1500), binaryCorpus(2000), randomCorpus(700), periodic(300, 3000)} {
		for _, wb := range []int{8, 12, 15} {
			c, _ := deflate.NewCompressor(deflate.Config{WindowBits: wb})
			s := c.Flush(c.Compress(nil, m))
			f.Add(append(s, 3, 0), byte(wb-8), byte(7))
		}
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.BestCompression)
		w.Write(m)
		w.Close()
		f.Add(b.Bytes(), byte(7), byte(200))
	}
	f.Add(unhex("f3 48 cd c9 c9 07 00"), byte(0), byte(0))
	f.Add(unhex("01 05 00 fa ff 48 65 6c 6c 6f"), byte(0), byte(1))
	f.Add(unhex("07"), byte(0), byte(1))
	f.Fuzz(func(t *testing.T, data []byte, bits, chunk byte) {
		const limit = 1 << 18
		want, werr := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(data)), limit+1))
		if len(want) > limit {
			return
		}
		in, out := 1+int(chunk)%64, 1+int(chunk)*7
		full, _ := deflate.NewInflater(15)
		got, err := inflateStream(full, data, in, out, limit)
		if (werr == nil) != (err == nil) {
			t.Fatalf("compress/flate: %v; Inflater: %v", werr, err)
		}
		n := min(len(got), len(want))
		if !bytes.Equal(got[:n], want[:n]) || werr == nil && len(got) != len(want) {
			t.Fatalf("Inflater decodes %d bytes, compress/flate %d, differing", len(got), len(want))
		}
		if err != nil {
			return
		}
		wb := 8 + int(bits%8)
		small, _ := deflate.NewInflater(wb)
		got, err = inflateStream(small, data, out, in, limit)
		switch {
		case err == nil && !bytes.Equal(got, want):
			t.Fatalf("window %d bits: output differs", wb)
		case err != nil && !errors.Is(err, deflate.ErrDistance):
			t.Fatalf("window %d bits: %v", wb, err)
		case err != nil && len(want) <= 1<<wb:
			t.Fatalf("window %d bits: %v, with all %d bytes in the window", wb, err, len(want))
		}
	})
}

// BenchmarkInflate decodes 64 KiB messages compressed by compress/flate
// at its default level (as zlib peers send them), with the Inflater and
// with compress/flate's reader, reset between messages, into a 4 KiB
// buffer at a time.
func BenchmarkInflate(b *testing.B) {
	for _, corpus := range []struct {
		name string
		data []byte
	}{
		{"json", jsonCorpus(64 << 10)},
		{"text", textCorpus(64 << 10)},
		{"binary", binaryCorpus(64 << 10)},
	} {
		var z bytes.Buffer
		w, _ := flate.NewWriter(&z, flate.DefaultCompression)
		w.Write(corpus.data)
		w.Flush()
		wire := z.Bytes()
		out := make([]byte, 4096)
		b.Run(corpus.name+"-64KiB/framewire", func(b *testing.B) {
			f, _ := deflate.NewInflater(15)
			b.SetBytes(int64(len(corpus.data)))
			b.ReportAllocs()
			for b.Loop() {
				f.Reset()
				if n, err := inflateInto(f, wire, out); err != nil || n != len(corpus.data) {
					b.Fatal(n, err)
				}
			}
		})
		b.Run(corpus.name+"-64KiB/compress-flate", func(b *testing.B) {
			var r bytes.Reader
			zr := flate.NewReader(&r)
			b.SetBytes(int64(len(corpus.data)))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(wire)
				zr.(flate.Resetter).Reset(&r, nil)
				total := 0
				for {
					n, err := zr.Read(out)
					total += n
					if err != nil {
						break
					}
				}
				if total != len(corpus.data) {
					b.Fatal(total)
				}
			}
		})
	}
}

// Streams that compress/flate rejects fail with ErrCorrupt, and a
// back-reference beyond the history with ErrDistance, which wraps it.
func TestInflateErrors(t *testing.T) {
	for _, tc := range []struct {
		name, wire string
		want       error
	}{
		{"block type 3", "07", deflate.ErrCorrupt},
		{"stored LEN and NLEN disagree", "01 05 00 fa fe 48 65 6c 6c 6f", deflate.ErrCorrupt},
		{"fixed: literal/length code 286", "1b 03", deflate.ErrCorrupt},
		{"fixed: distance code 30", "03 3e", deflate.ErrCorrupt},
		{"fixed: distance 1 before any byte", "03 02", deflate.ErrDistance},
		{"dynamic: 288 literal/length codes", "fd ff ff", deflate.ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wire := unhex(tc.wire)
			if _, err := io.ReadAll(flate.NewReader(bytes.NewReader(wire))); err == nil {
				t.Fatal("compress/flate accepts it")
			}
			f, _ := deflate.NewInflater(15)
			if _, err := inflateStream(f, wire, 1, 1, 1<<10); !errors.Is(err, tc.want) {
				t.Fatalf("Inflate: %v, want %v", err, tc.want)
			}
		})
	}
}

// A back-reference 300 bytes back decodes with a window of 9 bits and
// fails with ErrDistance with 8, however the input is cut.
func TestInflateWindow(t *testing.T) {
	r := randomCorpus(300)
	msg := append(r[:300:300], r...)
	c, _ := deflate.NewCompressor(deflate.Config{WindowBits: 15})
	wire := c.Flush(c.Compress(nil, msg))
	for _, in := range []int{1, 7, len(wire)} {
		f9, _ := deflate.NewInflater(9)
		if got, err := inflateAll(f9, wire, in, 100, 1<<20); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("window 9, input in pieces of %d: %d bytes, %v", in, len(got), err)
		}
		f8, _ := deflate.NewInflater(8)
		if _, err := inflateAll(f8, wire, in, 100, 1<<20); !errors.Is(err, deflate.ErrDistance) {
			t.Fatalf("window 8, input in pieces of %d: %v, want ErrDistance", in, err)
		}
	}
	if _, err := deflate.NewInflater(16); !errors.Is(err, deflate.ErrConfig) {
		t.Errorf("NewInflater(16): %v", err)
	}
}

// Inflating allocates nothing, and the Inflater holds its window and
// at most 5 KiB besides inside a message, and its window only between
// messages.
func TestInflateNoAllocs(t *testing.T) {
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.DefaultCompression)
	w.Write(jsonCorpus(64 << 10))
	w.Flush()
	wire := z.Bytes()
	f, _ := deflate.NewInflater(15) // compress/flate's window
	out := make([]byte, 4096)
	allocs := testing.AllocsPerRun(20, func() {
		f.Reset()
		if n, err := inflateInto(f, wire, out); err != nil || n != 64<<10 {
			t.Fatal(n, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per message", allocs)
	}
	if n := f.Size(); n < 1<<15 || n > 1<<15+5<<10 {
		t.Errorf("Size() = %d inside a message, for a 32 KiB window", n)
	}
	f.Restart()
	if n := f.Size(); n < 1<<15 || n > 1<<15+256 {
		t.Errorf("Size() = %d between messages, for a 32 KiB window", n)
	}
}
