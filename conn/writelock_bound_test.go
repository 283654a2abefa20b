package conn

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
)

// evlog records what a test's peer received and when, in synctest's time.
type evlog struct {
	mu    sync.Mutex
	start time.Time
	ev    []string
}

func (l *evlog) add(s string) {
	l.mu.Lock()
	l.ev = append(l.ev, s+"@"+time.Since(l.start).String())
	l.mu.Unlock()
}

func (l *evlog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.ev, " ")
}

// peerPair returns a client Conn and the log in which its server peer
// records each message it receives.
func peerPair(t *testing.T) (*Conn, *evlog) {
	l := &evlog{start: time.Now()}
	a, b := net.Pipe()
	c := New(a, nil)
	p := New(b, &Config{Role: RoleServer})
	go func() {
		for {
			_, m, err := p.ReadMessage(context.Background())
			if err != nil {
				return
			}
			l.add(string(m))
		}
	}()
	t.Cleanup(func() { c.CloseNow(); p.CloseNow() })
	return c, l
}

// W (no deadline), queued before writer A opened, is bounded from A's
// start; A closes at 4s, and X (a holder that is no writer, queued before
// W) holds until 7s. W's bound would run out under X, which is no writer:
// W stays in its place, ahead of Z, which queued after it.
func TestWriterBoundKeepsPlaceUnderOtherHolder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, l := peerPair(t)
		bg := context.Background()
		mustLockWrite(t, c)
		go writeFor(t, c, "A", 4*time.Second)
		synctest.Wait()
		go holdFor(t, c, l, "X", 3*time.Second)
		synctest.Wait()
		wres := make(chan error, 1)
		go func() { wres <- c.WriteMessages(bg, frame.OpText, []byte("W")) }()
		synctest.Wait()
		c.wlock.unlock() // A opens at 0
		synctest.Wait()
		time.Sleep(time.Second)
		go func() {
			ctx, cancel := context.WithTimeout(bg, time.Hour)
			defer cancel()
			if err := c.WriteMessages(ctx, frame.OpText, []byte("Z")); err != nil {
				t.Error(err)
			}
		}()
		if err := <-wres; err != nil {
			t.Errorf("W: %v", err)
		}
		time.Sleep(time.Second)
		t.Log(l)
		l.mu.Lock()
		defer l.mu.Unlock()
		wi, zi := -1, -1
		for i, e := range l.ev {
			switch e[0] {
			case 'W':
				wi = i
			case 'Z':
				zi = i
			}
		}
		if zi < wi {
			t.Errorf("Z, queued after W, got the lock first")
		}
	})
}

// A opens at 0 (W queued before: its bound starts), A closes at 3s, B
// (queued before W) opens at 3s and closes at 6s: no writer stays open
// ReplyTimeout, so W is not refused; B's start renews W's bound.
func TestWriterBoundRenewedByNextWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, l := peerPair(t)
		bg := context.Background()
		mustLockWrite(t, c)
		writer := func(s string, d time.Duration) {
			w, err := c.NextWriter(bg, frame.OpText)
			if err != nil {
				t.Error(s, err)
				return
			}
			l.add("open" + s)
			w.Write([]byte(s))
			time.Sleep(d)
			w.Close()
		}
		go writer("A", 3*time.Second)
		synctest.Wait()
		go writer("B", 3*time.Second)
		synctest.Wait()
		wres := make(chan error, 1)
		go func() { wres <- c.WriteMessages(bg, frame.OpText, []byte("W")) }()
		synctest.Wait()
		c.wlock.unlock()
		err := <-wres
		l.add("Wdone")
		time.Sleep(5 * time.Second)
		t.Log(l, err)
		if errors.Is(err, ErrMessageOpen) {
			t.Errorf("W: ErrMessageOpen though each writer was open 3s < ReplyTimeout")
		}
	})
}

// A closes exactly ReplyTimeout after its start: the hand-off to W and
// W's timer are ready together. W either takes the lock in its place or
// gives up with ErrMessageOpen; it never passes the lock on to queue again
// behind Y.
func TestWriterBoundAtHandOff(t *testing.T) {
	lost := 0
	counts := map[string]int{}
	const rounds = 200
	for range rounds {
		synctest.Test(t, func(t *testing.T) {
			c, l := peerPair(t)
			bg := context.Background()
			mustLockWrite(t, c)
			go writeFor(t, c, "A", ReplyTimeout)
			synctest.Wait()
			wres := make(chan error, 1)
			go func() { wres <- c.WriteMessages(bg, frame.OpText, []byte("W")) }()
			synctest.Wait()
			go func() {
				ctx, cancel := context.WithTimeout(bg, time.Hour)
				defer cancel()
				c.WriteMessages(ctx, frame.OpText, []byte("Y"))
			}()
			synctest.Wait()
			c.wlock.unlock()
			werr := <-wres
			time.Sleep(time.Second)
			l.mu.Lock()
			s := ""
			for _, e := range l.ev {
				s += e[:1]
			}
			l.mu.Unlock()
			if werr != nil {
				s += " " + werr.Error()
			}
			counts[s]++
			if s == "AYW" {
				lost++
			}
		})
	}
	t.Logf("W lost its place to Y in %d of %d rounds: %v", lost, rounds, counts)
	if lost > 0 {
		t.Fail()
	}
}

// W (no deadline) comes while writer A is open: its bound starts at once.
// A closes at 4s, X (no writer, queued before W) holds until 7s; W's 5s
// would run out under X, which is no writer: W stays ahead of Z, which
// came after it.
func TestWriterBoundFromWaitKeepsPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, l := peerPair(t)
		bg := context.Background()
		w, err := c.NextWriter(bg, frame.OpText)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("A"))
		go holdFor(t, c, l, "X", 3*time.Second)
		synctest.Wait()
		wres := make(chan error, 1)
		go func() { wres <- c.WriteMessages(bg, frame.OpText, []byte("W")) }()
		synctest.Wait()
		time.Sleep(time.Second)
		go func() {
			ctx, cancel := context.WithTimeout(bg, time.Hour)
			defer cancel()
			c.WriteMessages(ctx, frame.OpText, []byte("Z"))
		}()
		time.Sleep(3 * time.Second)
		w.Close()
		if err := <-wres; err != nil {
			t.Errorf("W: %v", err)
		}
		time.Sleep(time.Second)
		t.Log(l)
		l.mu.Lock()
		defer l.mu.Unlock()
		if n := len(l.ev); n < 2 || l.ev[n-1][0] != 'W' {
			return
		}
		t.Errorf("Z, queued after W, got the lock first")
	})
}

// writeFor sends text through a MessageWriter that it holds open for d.
func writeFor(t *testing.T, c *Conn, text string, d time.Duration) {
	w, err := c.NextWriter(context.Background(), frame.OpText)
	if err != nil {
		t.Error(text, err)
		return
	}
	w.Write([]byte(text))
	time.Sleep(d)
	w.Close()
}

// holdFor takes c's write lock as a holder that is no MessageWriter, logs
// name in l and releases the lock d later.
func holdFor(t *testing.T, c *Conn, l *evlog, name string, d time.Duration) {
	if err := c.wlock.lock(context.Background(), nil); err != nil {
		t.Error(err)
		return
	}
	l.add(name)
	time.Sleep(d)
	c.wlock.unlock()
}

// mustLockWrite takes c's write lock, free at the start of a test.
func mustLockWrite(t *testing.T, c *Conn) {
	if !c.wlock.tryLock() {
		t.Fatal("the write lock is held")
	}
}
