package conn

import (
	"bytes"
	"errors"
	"io"
	"os"
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
