package conn_test

import (
	"context"
	"io"
	"testing"

	"github.com/framewire/ws/frame"
)

// BenchmarkNextReaderMemory is BenchmarkRecvMemory through NextReader,
// each message read into a 4 KiB buffer.
func BenchmarkNextReaderMemory(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			c := dialMemory(b, rawFrame(true, frame.OpBinary, make([]byte, size)))
			ctx := context.Background()
			buf := make([]byte, 4096)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				_, r, err := c.NextReader(ctx)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					k, err := r.Read(buf)
					n += k
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if n != size {
					b.Fatal(n)
				}
			}
		})
	}
}

// BenchmarkNextWriterMemory sends messages through NextWriter, in one
// Write each, to a connection in memory that discards them.
func BenchmarkNextWriterMemory(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			c := dialMemory(b, rawFrame(true, frame.OpBinary, nil))
			ctx := context.Background()
			p := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				w, err := c.NextWriter(ctx, frame.OpBinary)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := w.Write(p); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
