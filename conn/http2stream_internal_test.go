package conn

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// after returns a channel closed once d has passed, as a deadline's is.
func after(t *testing.T, d time.Duration) <-chan struct{} {
	stop := make(chan struct{})
	tm := time.AfterFunc(d, func() { close(stop) })
	t.Cleanup(func() { tm.Stop() })
	return stop
}

// A small write is copied and returns at once, without waiting for the
// HTTP/2 layer's body writer; the next one waits until those bytes are
// taken, until its deadline.
func TestH2BodyCopiesSmallWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newH2Body()
		p := []byte("first")
		if n, err := b.offer(p, nil); n != len(p) || err != nil {
			t.Fatalf("offer with no reader = %d, %v; want %d, nil", n, err, len(p))
		}
		copy(p, "XXXXX") // the caller may reuse its buffer at once
		if n, err := b.offer([]byte("second"), after(t, time.Second)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("offer while the first is not taken = %d, %v; want 0, ErrDeadlineExceeded", n, err)
		}
		b.end()
		got, err := io.ReadAll(b)
		if err != nil || string(got) != "first" {
			t.Errorf("body = %q, %v; want \"first\"", got, err)
		}
	})
}

// A write larger than a chunk is handed over without a copy: it waits
// until taken, and one stopped by its deadline reports the bytes taken and
// sends no more of them.
func TestH2BodyLargeWriteWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newH2Body()
		p := bytes.Repeat([]byte{'a'}, 2*h2ChunkSize)
		got := make(chan int)
		go func() {
			n, _ := b.Read(make([]byte, 1000))
			got <- n
		}()
		n, err := b.offer(p, after(t, time.Second))
		if n != 1000 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("offer = %d, %v; want 1000, ErrDeadlineExceeded", n, err)
		}
		<-got
		b.end()
		if rest, err := io.ReadAll(b); len(rest) != 0 || err != nil {
			t.Errorf("after the deadline the body has %d more bytes, %v; want none", len(rest), err)
		}
	})
}

// When the HTTP/2 layer closes the body, a write waiting to be taken
// fails with what was taken, and later writes fail.
func TestH2BodyClosedFailsWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newH2Body()
		go func() {
			b.Read(make([]byte, 1000))
			b.Close()
		}()
		n, err := b.offer(make([]byte, 2*h2ChunkSize), nil)
		if n != 1000 || !errors.Is(err, errStreamClosed) {
			t.Fatalf("offer = %d, %v; want 1000, errStreamClosed", n, err)
		}
		if n, err := b.offer([]byte("late"), nil); n != 0 || !errors.Is(err, errStreamClosed) {
			t.Errorf("offer after Close = %d, %v; want 0, errStreamClosed", n, err)
		}
	})
}

// sizedBody is a response body fed through a pipe that records the size
// of the buffer of each read.
type sizedBody struct {
	*io.PipeReader
	mu    sync.Mutex
	sizes []int
}

func (b *sizedBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(p))
	b.mu.Unlock()
	return b.PipeReader.Read(p)
}

func (b *sizedBody) reads() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sizes)
}

// newSizedStream returns an h2Stream over a sizedBody and the pipe's
// writer, the server's side.
func newSizedStream(t *testing.T) (*h2Stream, *sizedBody, *io.PipeWriter) {
	pr, pw := io.Pipe()
	body := &sizedBody{PipeReader: pr}
	s := newH2Stream(body, newH2Body(), func() {}, func() {})
	t.Cleanup(func() { s.Abort(); pw.Close() })
	return s, body, pw
}

// The stream reads the body ahead of Read, one chunk at most: while
// waiting for the server after small messages it holds a small chunk, and
// it takes a full one when the last read filled its chunk.
func TestH2StreamReadsAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, body, pw := newSizedStream(t)
		go pw.Write([]byte("hello"))
		buf := make([]byte, 64)
		if n, err := s.Read(buf); string(buf[:n]) != "hello" || err != nil {
			t.Fatalf("Read = %q, %v; want hello", buf[:n], err)
		}
		synctest.Wait()
		if got, want := body.reads(), []int{h2SmallChunkSize, h2SmallChunkSize}; !slices.Equal(got, want) {
			t.Fatalf("body reads after a small message: sizes %v, want %v (the next waiting without a Read)", got, want)
		}

		big := bytes.Repeat([]byte{'b'}, h2SmallChunkSize+100)
		go pw.Write(big)
		synctest.Wait() // no Read: the pump holds one chunk, read ahead, and waits
		if got, want := body.reads(), []int{h2SmallChunkSize, h2SmallChunkSize, h2ChunkSize}; !slices.Equal(got, want) {
			t.Fatalf("body reads after a full chunk: sizes %v, want %v", got, want)
		}
		got, err := io.ReadAll(io.LimitReader(s, int64(len(big))))
		if !bytes.Equal(got, big) || err != nil {
			t.Errorf("Read %d bytes, %v; want the %d written", len(got), err, len(big))
		}
	})
}

// A Read stopped by its deadline loses no byte: what arrives after it is
// returned by the next Read.
func TestH2StreamReadDeadlineKeepsBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, pw := newSizedStream(t)
		s.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 64)
		if n, err := s.Read(buf); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read = %d, %v; want ErrDeadlineExceeded", n, err)
		}
		pw.Write([]byte("late"))
		s.SetReadDeadline(time.Time{})
		if n, err := s.Read(buf); string(buf[:n]) != "late" || err != nil {
			t.Errorf("Read after the deadline = %q, %v; want late", buf[:n], err)
		}
	})
}
