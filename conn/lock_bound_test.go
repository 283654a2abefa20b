package conn

import (
	"bytes"
	"context"
	"runtime"
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
		flag.Store(true)
		m.recheck()
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

// A waiter handed the lock as its ctx ends keeps it: when it passed the
// lock on with a plain unlock, a frame queued meanwhile (the releasing
// holder left it to the waiter it handed the lock to) stayed in the queue
// with the lock free, though WriteMessage had returned nil.
func TestHandOffAtGiveUpKeepsQueue(t *testing.T) {
	stranded := 0
	for i := 0; i < 200 && stranded == 0; i++ {
		synctest.Test(t, func(t *testing.T) { stranded += handOffAtGiveUp(t, i) })
	}
	if stranded > 0 {
		t.Errorf("queued frame stranded with the lock free")
	}
}

// handOffAtGiveUp is a round of TestHandOffAtGiveUpKeepsQueue: it reports
// 1 if the queued frame was stranded.
func handOffAtGiveUp(t *testing.T, i int) int {
	stranded := 0
	g := &gateTransport{}
	c := New(g, &Config{Role: RoleClient})
	if !c.wlock.tryLock() {
		t.Fatal("lock")
	}
	ctx, cancel := context.WithCancel(context.Background())
	wres := make(chan error, 1)
	go func() { wres <- c.WriteMessages(ctx, frame.OpText, []byte("W")) }()
	synctest.Wait()
	if c.wlock.queued() == 0 {
		t.Fatal("WriteMessages did not wait")
	}
	if err := c.WriteMessage(context.Background(), frame.OpText, []byte("Q")); err != nil {
		t.Fatal(err)
	}
	cancel()
	// The holder's releaseWrite after its writeOwed: unlock, then
	// pending but tryLock fails (the lock went to W).
	c.releaseWrite()
	err := <-wres
	synctest.Wait()
	g.mu.Lock()
	sent := false
	for _, b := range g.writes {
		sent = sent || bytes.Contains(b, []byte{0x81, 0x81}) // masked text len 1
	}
	g.mu.Unlock()
	if err != nil && c.wlock.state.Load() == mutexUnlocked && c.q.pending.Load() && !sent {
		stranded++
		t.Logf("round %d: W %v; lock free, Q queued and unsent", i, err)
	}
	c.CloseNow()
	return stranded
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
		flag.Store(true)
		m.recheck()
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
		flag.Store(true) // B opens at 9s
		m.recheck()
		m.recheck()
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
