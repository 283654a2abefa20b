package bench

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/reader"
)

// headerCases are the three header shapes of RFC 6455 §5.2: a 7-bit length
// from a server, a masked 16-bit length and a masked 64-bit length from a
// client (2, 8 and 14 bytes).
var headerCases = []struct {
	name   string
	length int64
	masked bool
}{
	{"2B", 125, false},
	{"8B", 1 << 10, true},
	{"14B", 1 << 20, true},
}

var benchKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

func fwHeader(length int64, masked bool) frame.Header {
	h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: masked, Length: length}
	if masked {
		h.Key = mask.Key(benchKey)
	}
	return h
}

func gobwasHeader(length int64, masked bool) ws.Header {
	h := ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: masked, Length: length}
	if masked {
		h.Mask = benchKey
	}
	return h
}

// lastWrite keeps the bytes of the last Write, so that encoders that take an
// io.Writer can be compared with those that append to a slice.
type lastWrite struct{ b []byte }

func (w *lastWrite) Write(p []byte) (int, error) {
	w.b = append(w.b[:0], p...)
	return len(p), nil
}

// TestHeadersAgree checks that both encoders produce the same bytes and both
// decoders read them back, so the header benchmarks compare equal work.
func TestHeadersAgree(t *testing.T) {
	for _, c := range headerCases {
		fw, err := fwHeader(c.length, c.masked).AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		var w lastWrite
		if err := ws.WriteHeaderBuffer(&w, gobwasHeader(c.length, c.masked), make([]byte, ws.MaxHeaderSize)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fw, w.b) {
			t.Fatalf("%s: framewire % x, gobwas % x", c.name, fw, w.b)
		}
		h, n, err := frame.ParseHeader(fw)
		if err != nil || n != len(fw) || h != fwHeader(c.length, c.masked) {
			t.Fatalf("%s: framewire parsed %+v, %d, %v", c.name, h, n, err)
		}
		gh, err := ws.ReadHeader(bytes.NewReader(fw))
		if err != nil || gh != gobwasHeader(c.length, c.masked) {
			t.Fatalf("%s: gobwas parsed %+v, %v", c.name, gh, err)
		}
	}
}

// BenchmarkHeaderEncode encodes one header. framewire appends to a slice;
// gobwas writes to an io.Writer through a caller buffer (WriteHeaderBuffer,
// its allocation-free form) or its own (WriteHeader).
func BenchmarkHeaderEncode(b *testing.B) {
	for _, c := range headerCases {
		b.Run(c.name+"/framewire", func(b *testing.B) {
			h := fwHeader(c.length, c.masked)
			buf := make([]byte, 0, frame.MaxHeaderLen)
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = h.AppendBinary(buf[:0])
			}
		})
		b.Run(c.name+"/gobwas-buffer", func(b *testing.B) {
			h := gobwasHeader(c.length, c.masked)
			w := &lastWrite{b: make([]byte, 0, ws.MaxHeaderSize)}
			bts := make([]byte, ws.MaxHeaderSize)
			b.ReportAllocs()
			for b.Loop() {
				ws.WriteHeaderBuffer(w, h, bts)
			}
		})
		b.Run(c.name+"/gobwas", func(b *testing.B) {
			h := gobwasHeader(c.length, c.masked)
			w := &lastWrite{b: make([]byte, 0, ws.MaxHeaderSize)}
			b.ReportAllocs()
			for b.Loop() {
				ws.WriteHeader(w, h)
			}
		})
	}
}

// BenchmarkHeaderDecode decodes one header: framewire from a slice
// (ParseHeader) and from an io.Reader (ReadHeader), gobwas from an io.Reader
// (ReadHeaderBuffer with a caller buffer, ReadHeader with its own).
func BenchmarkHeaderDecode(b *testing.B) {
	for _, c := range headerCases {
		enc, _ := fwHeader(c.length, c.masked).AppendBinary(nil)
		b.Run(c.name+"/framewire-parse", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := frame.ParseHeader(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/framewire-read", func(b *testing.B) {
			r := bytes.NewReader(enc)
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(enc)
				if _, err := frame.ReadHeader(r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/framewire-read-bufio", func(b *testing.B) {
			// An endless stream of the same header through a 4 KiB
			// bufio.Reader: the header is parsed in the reader's buffer.
			br := bufio.NewReaderSize(&loopReader{data: bytes.Repeat(enc, 4096/len(enc))}, 4096)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := frame.ReadHeader(br); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/gobwas-buffer", func(b *testing.B) {
			r := bytes.NewReader(enc)
			bts := make([]byte, ws.MaxHeaderSize)
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(enc)
				if _, err := ws.ReadHeaderBuffer(r, bts); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/gobwas", func(b *testing.B) {
			r := bytes.NewReader(enc)
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(enc)
				if _, err := ws.ReadHeader(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// loopReader serves the same bytes over and over and never ends: a stream
// of frames that lives in memory.
type loopReader struct {
	data []byte
	pos  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.pos:])
	l.pos += n
	if l.pos == len(l.data) {
		l.pos = 0
	}
	return n, nil
}

// serverFrames returns at least 256 KiB (and at least 16 frames) of
// unmasked binary frames with size-byte payloads, as a server sends them.
func serverFrames(size int) []byte {
	payload := bytes.Repeat([]byte("framewire"), size/9+1)[:size]
	f := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpBinary}, Payload: payload}
	var out []byte
	for len(out) < 256<<10 || len(out) < 16*(size+14) {
		var err error
		if out, err = f.AppendBinary(out); err != nil {
			panic(err)
		}
	}
	return out
}

var streamSizes = []int{16, 125, 1 << 10, 64 << 10}

// BenchmarkReadFrames reads a stream of server frames from memory; one op is
// one frame. Every reader uses a 4 KiB read buffer. framewire's Reader
// validates each header (reserved bits, opcodes, masking for the client role,
// size limit) on top of what the gobwas loops do; gobwas' low-level loop
// checks nothing.
func BenchmarkReadFrames(b *testing.B) {
	for _, size := range streamSizes {
		stream := serverFrames(size)
		name := sizeName(size)
		b.Run(name+"/framewire-ReadFrame", func(b *testing.B) {
			r := reader.New(&loopReader{data: stream})
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				f, err := r.ReadFrame()
				if err != nil || len(f.Payload) != size {
					b.Fatal(len(f.Payload), err)
				}
			}
		})
		b.Run(name+"/framewire-ReadHeader+Read", func(b *testing.B) {
			r := reader.New(&loopReader{data: stream})
			buf := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				h, err := r.ReadHeader()
				if err != nil || h.Length != int64(size) {
					b.Fatal(h.Length, err)
				}
				if _, err := io.ReadFull(r, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/gobwas-ReadHeaderBuffer+ReadFull", func(b *testing.B) {
			br := bufio.NewReaderSize(&loopReader{data: stream}, 4096)
			bts := make([]byte, ws.MaxHeaderSize)
			buf := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				h, err := ws.ReadHeaderBuffer(br, bts)
				if err != nil || h.Length != int64(size) {
					b.Fatal(h.Length, err)
				}
				if _, err := io.ReadFull(br, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/gobwas-wsutil.Reader", func(b *testing.B) {
			br := bufio.NewReaderSize(&loopReader{data: stream}, 4096)
			r := wsutil.NewClientSideReader(br)
			buf := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				h, err := r.NextFrame()
				if err != nil || h.Length != int64(size) {
					b.Fatal(h.Length, err)
				}
				if _, err := io.ReadFull(r, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
