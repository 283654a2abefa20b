package app

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// pingTimes returns when the App sent each ping, relative to t0.
func pingTimes(sent []sent, t0 time.Time) []time.Duration {
	var at []time.Duration
	for _, s := range sent {
		if s.op == frame.OpPing {
			at = append(at, s.at.Sub(t0))
		}
	}
	return at
}

// A pong that arrives while a handler runs is read when it returns and
// counts: a slow handler is not a pong timeout.
func TestSlowHandlerIsNoPongTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		n.add() // a reconnect would find this one
		a := &App{dial: n.dial, PingInterval: time.Second, PingTimeout: 500 * time.Millisecond, Reconnect: &Backoff{}}
		r := record(a)
		a.OnMessage = func(_ *App, op frame.Opcode, p []byte) {
			r.add("message %q", p)
			time.Sleep(2 * time.Second)
		}
		t0 := time.Now()
		done := start(t.Context(), a)
		time.Sleep(800 * time.Millisecond)
		c.deliver(frame.OpText, []byte("slow")) // the handler runs from 0.8s to 2.8s
		time.Sleep(4400 * time.Millisecond)
		closeRun(t, a, done)
		diff(t, r.get(), []string{
			"open",
			`data text "slow" fin=true`, `message "slow"`,
			`pong ""`, `pong ""`, // the pongs of 1s and 2s, read at 2.8s
			`pong ""`, `pong ""`, `pong ""`,
			`close 1000 ""`,
		})
		want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 5 * time.Second}
		if d := cmp.Diff(want, pingTimes(drain(c), t0)); d != "" {
			t.Errorf("ping times (-want +got):\n%s", d)
		}
		if got := len(n.dialTimes()); got != 1 {
			t.Errorf("%d dials; want 1 (no reconnect)", got)
		}
	})
}

// When no pong comes, a slow handler only delays the verdict: the
// connection fails once the read loop has waited readGrace on the socket
// after the handler returned.
func TestSlowHandlerThenPongTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		c.autoPong = false
		a := &App{dial: n.dial, PingInterval: time.Second, PingTimeout: 500 * time.Millisecond}
		r := record(a)
		a.OnMessage = func(*App, frame.Opcode, []byte) { time.Sleep(2 * time.Second) }
		done := start(t.Context(), a)
		time.Sleep(800 * time.Millisecond)
		c.deliver(frame.OpText, []byte("slow")) // the handler runs from 0.8s to 2.8s
		res := <-done
		if !errors.Is(res.err, ErrPongTimeout) {
			t.Errorf("Run = %v; want ErrPongTimeout", res.err)
		}
		diff(t, r.get(), []string{`open`, `data text "slow" fin=true`, "error app: ping/pong timed out", `close 1006 ""`})
		if got, want := r.times[2], 2800*time.Millisecond+readGrace; got != want {
			t.Errorf("timeout reported at %v; want %v (handler end + readGrace)", got, want)
		}
	})
}

// A peer that keeps sending data but never answers pings still times
// out: only the time the read loop spends waiting for frames defers the
// verdict, and it adds up.
func TestStreamingPeerWithoutPongsTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		c.autoPong = false
		a := &App{dial: n.dial, PingInterval: time.Second, PingTimeout: 500 * time.Millisecond}
		r := record(a)
		done := start(t.Context(), a)
		stop := make(chan struct{})
		fed := make(chan struct{})
		go func() {
			defer close(fed)
			for {
				select {
				case <-stop:
					return
				case <-time.After(7 * time.Millisecond):
					c.deliver(frame.OpBinary, []byte{1})
				}
			}
		}()
		res := <-done
		close(stop)
		<-fed
		if !errors.Is(res.err, ErrPongTimeout) {
			t.Errorf("Run = %v; want ErrPongTimeout", res.err)
		}
		ev := r.get()
		i := len(ev) - 2
		if i < 0 || ev[i] != "error app: ping/pong timed out" {
			t.Fatalf("events end with %q; want the pong timeout then close", ev[max(i, 0):])
		}
		// Overdue at 1.5s, then readGrace of waiting made of 7ms gaps (the
		// read in progress at 1.5s counts from its start).
		want := 1500*time.Millisecond + readGrace
		if got := r.times[i]; got < want-7*time.Millisecond || got > want+7*time.Millisecond {
			t.Errorf("timeout reported at %v; want within 7ms of %v", got, want)
		}
	})
}

// The pinger starts when the connection opens, not when OnOpen returns:
// with a 3s OnOpen the first ping still goes out after one interval, and
// the pongs that wait meanwhile are no timeout.
func TestPingDuringSlowOnOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		a := &App{dial: n.dial, PingInterval: time.Second, PingTimeout: 500 * time.Millisecond}
		r := record(a)
		a.OnOpen = func(*App) {
			r.add("open")
			time.Sleep(3 * time.Second)
		}
		t0 := time.Now()
		done := start(t.Context(), a)
		time.Sleep(4200 * time.Millisecond)
		closeRun(t, a, done)
		want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second}
		if d := cmp.Diff(want, pingTimes(drain(c), t0)); d != "" {
			t.Errorf("ping times (-want +got):\n%s", d)
		}
		diff(t, r.get(), []string{"open", `pong ""`, `pong ""`, `pong ""`, `pong ""`, `close 1000 ""`})
	})
}

// Close that lands while a connection is ending still stops Run, so it
// reports success.
func TestCloseWhileConnectionEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		n.add() // a reconnect would find this one
		a := &App{dial: n.dial, Reconnect: &Backoff{Initial: time.Millisecond}}
		r := record(a)
		closeErr := errors.New("not called")
		c.onAbort = func() {
			// Run's goroutine, releasing the connection that just failed.
			closeErr = a.Close(t.Context(), status.NormalClosure, "")
		}
		done := start(t.Context(), a)
		c.drop()
		res := <-done
		if closeErr != nil {
			t.Errorf("Close while the connection ends = %v; want nil", closeErr)
		}
		if !errors.Is(res.err, conn.ErrConnectionLost) {
			t.Errorf("Run = %v; want the connection's failure", res.err)
		}
		diff(t, r.get(), []string{"open", "error " + errLost.Error(), `close 1006 ""`})
		if got := len(n.dialTimes()); got != 1 {
			t.Errorf("%d dials; want 1 (Close stops the reconnect)", got)
		}
		if s := drain(c); len(s) != 0 {
			t.Errorf("sent %v on a connection that had ended", s)
		}
	})
}

// Close during a dial stops Run without an error from either.
func TestCloseWhileDialing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet() // no connection queued: the dial waits
		a := &App{dial: n.dial, Reconnect: &Backoff{}}
		r := record(a)
		done := start(t.Context(), a)
		closeRun(t, a, done)
		diff(t, r.get(), nil)
		if err := a.Close(t.Context(), status.NormalClosure, ""); !errors.Is(err, ErrNotConnected) {
			t.Errorf("Close after Run = %v; want ErrNotConnected", err)
		}
	})
}

// A pong timeout decided just as the read loop returned with the peer's
// close (or a loss) must not read as a close the App asked for: the
// session then reports the peer's close, and Run reconnects or returns
// it, rather than ending with no error. fail sends its close frame
// without marking the session closing.
func TestPongTimeoutAfterPeerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeConn()
		s := newSession(c, time.Second)
		c.deliverClose(status.GoingAway, "bye") // read by the loop, which has returned
		s.fail(ErrPongTimeout, "ping/pong timed out")
		if s.isClosing() {
			t.Error("the session reads as closing by the App after a pong timeout")
		}
		if sent := drain(c); len(sent) != 1 || sent[0].op != frame.OpClose || sent[0].code != status.InternalError {
			t.Errorf("sent %v; want one close 1011", sent)
		}
	})
}
