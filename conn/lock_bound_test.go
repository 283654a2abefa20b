package conn

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
)

// Writer A opened at 0 with W queued behind B; A closes at 4s and hands
// the lock to B, which becomes a writer at 4.9s. W's timer, armed for A,
// fires at 5s: it must find B's start, not A's, and wait on (when B set
// heldBy apart from renewing the bounds, W gave up after B had been a
// writer for 0.1s).
func TestCtxMutexBoundFromLaterHolder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var m ctxMutex
		var flag atomic.Bool
		bg := context.Background()
		m.lock(bg, nil)
		m.begin(&flag)
		bGot := make(chan struct{})
		go func() { m.lock(bg, nil); close(bGot) }()
		synctest.Wait()
		wres := make(chan error, 1)
		go func() {
			err := m.wait(bg, nil, &flag, 5*time.Second)
			wres <- err
			if err == nil {
				m.unlock()
			}
		}()
		synctest.Wait()
		time.Sleep(4 * time.Second)
		flag.Store(false)
		m.unlock()
		<-bGot
		time.Sleep(900 * time.Millisecond)
		m.begin(&flag) // B: NextWriter, at 4.9s
		select {
		case err := <-wres:
			t.Errorf("W returned %v at %v, B a writer since 0.1s", err, 5100*time.Millisecond)
			flag.Store(false)
			m.unlock()
			return
		default:
		}
		time.Sleep(time.Second)
		flag.Store(false)
		m.unlock()
		<-wres
	})
}

// A sender handed the write lock as its context ends does what the
// releasing holder left to it, the frames other goroutines queued, and
// returns a timeout without writing under its ended context: when it
// passed the lock on with a plain unlock, a frame queued meanwhile stayed
// in the queue with the lock free, though WriteMessage had returned nil;
// when it went on, its write failed under the past deadline and the
// connection was lost with the queued frame.
func TestHandOffAtGiveUpKeepsQueue(t *testing.T) {
	for name, call := range map[string]func(context.Context, *Conn) error{
		"WriteMessages": func(ctx context.Context, c *Conn) error { return c.WriteMessages(ctx, frame.OpText, []byte("W")) },
		"Flush":         func(ctx context.Context, c *Conn) error { return c.Flush(ctx) },
	} {
		t.Run(name, func(t *testing.T) {
			for range 50 {
				synctest.Test(t, func(t *testing.T) { handOffAtGiveUp(t, call) })
			}
		})
	}
}

// handOffAtGiveUp is a round of TestHandOffAtGiveUpKeepsQueue.
func handOffAtGiveUp(t *testing.T, call func(context.Context, *Conn) error) {
	d := &deadlineTransport{}
	c := New(d, nil)
	defer c.CloseNow()
	if !c.wlock.tryLock() {
		t.Fatal("lock")
	}
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- call(ctx, c) }()
	synctest.Wait()
	if c.wlock.queued() == 0 {
		t.Fatal("the call did not wait")
	}
	if err := c.WriteMessage(context.Background(), frame.OpText, []byte("Q")); err != nil {
		t.Fatal(err)
	}
	cancel()
	c.releaseWrite() // hands the lock to the call, or leaves the queue to it
	err := <-res
	synctest.Wait()
	if te := (*TimeoutError)(nil); err != nil && (!errors.As(err, &te) || te.Broken) {
		t.Fatalf("the call returned %v, want nil or a timeout that leaves the connection usable", err)
	}
	if werr := c.writeErr(); werr != nil {
		t.Fatalf("the connection ended: %v", werr)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, b := range d.writes {
		if bytes.Contains(b, []byte{0x81, 0x81}) { // a masked text frame of 1 byte: Q
			return
		}
	}
	t.Fatalf("the queued frame was not written (call returned %v)", err)
}

// deadlineTransport takes every write, as a socket with room does, until
// its write deadline has passed: then a write writes nothing and times
// out. Reads wait for Close.
type deadlineTransport struct {
	mu     sync.Mutex
	wdl    time.Time
	writes [][]byte
	closed chan struct{}
	once   sync.Once
}

func (d *deadlineTransport) done() chan struct{} {
	d.once.Do(func() { d.closed = make(chan struct{}) })
	return d.closed
}

func (d *deadlineTransport) Read([]byte) (int, error) {
	<-d.done()
	return 0, io.EOF
}

func (d *deadlineTransport) Write(b []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.wdl.IsZero() && !d.wdl.After(time.Now()) {
		return 0, os.ErrDeadlineExceeded
	}
	d.writes = append(d.writes, bytes.Clone(b))
	return len(b), nil
}

func (d *deadlineTransport) Close() error {
	d.done()
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-d.closed:
	default:
		close(d.closed)
	}
	return nil
}

func (d *deadlineTransport) SetReadDeadline(time.Time) error { return nil }

func (d *deadlineTransport) SetWriteDeadline(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.wdl = t
	return nil
}

// A bounded wait allocates nothing in steady state, whether a holder of
// the bounding kind runs its timer or not (the timer is the node's).
func TestCtxMutexBoundedWaitNoAllocs(t *testing.T) {
	for _, withWriter := range []bool{false, true} {
		t.Run(map[bool]string{false: "no writer", true: "writer"}[withWriter], func(t *testing.T) { boundedWaitAllocs(t, withWriter) })
	}
}

func boundedWaitAllocs(t *testing.T, withWriter bool) {
	if raceEnabled {
		t.Skip("race")
	}
	var m ctxMutex
	var flag atomic.Bool
	bg := context.Background()
	start, done := make(chan struct{}), make(chan struct{})
	go func() {
		for range start {
			if err := m.wait(bg, nil, &flag, time.Hour); err != nil {
				panic(err)
			}
			m.unlock()
			done <- struct{}{}
		}
	}()
	run := func() {
		m.lock(bg, nil)
		flag.Store(withWriter)
		start <- struct{}{}
		for m.queued() == 0 {
			runtime.Gosched()
		}
		flag.Store(false)
		m.unlock()
		<-done
	}
	run()
	n := testing.AllocsPerRun(200, run)
	t.Logf("%v allocations per bounded wait", n)
	if n >= 1 {
		t.Errorf("%v allocations per bounded wait", n)
	}
	close(start)
}

// A writer at 0..2s, another holder 2..9s (W's bound lapses at 5s), writer
// B from 9s: W gives up at 14s exactly, the state word is mutexLocked (B
// holds, nobody waits) and W's node is clean.
func TestCtxMutexBoundAfterLapse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var m ctxMutex
		var flag atomic.Bool
		bg := context.Background()
		t0 := time.Now()
		m.lock(bg, nil)
		m.begin(&flag)
		wres := make(chan time.Duration, 1)
		go func() {
			err := m.wait(bg, nil, &flag, 5*time.Second)
			if err != errHeldUp {
				t.Errorf("W: %v", err)
			}
			wres <- time.Since(t0)
		}()
		synctest.Wait()
		time.Sleep(2 * time.Second)
		flag.Store(false) // A closes; X (the same goroutine) holds on
		time.Sleep(7 * time.Second)
		m.begin(&flag) // B opens at 9s
		m.begin(&flag)
		synctest.Wait()
		select {
		case d := <-wres:
			t.Fatalf("W gave up at %v", d)
		default:
		}
		if d := <-wres; d != 14*time.Second {
			t.Errorf("W gave up at %v, want 14s", d)
		}
		checkFree(t, &m, mutexLocked)
		m.unlock()
		checkFree(t, &m, mutexUnlocked)
	})
}
