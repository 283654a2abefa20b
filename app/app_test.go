package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// recorder logs handler calls as lines, with the time since start.
type recorder struct {
	mu     sync.Mutex
	start  time.Time
	events []string
	errs   []error
	times  []time.Duration
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
	r.times = append(r.times, time.Since(r.start))
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// record sets every handler of a to log into a new recorder.
func record(a *App) *recorder {
	r := &recorder{start: time.Now()}
	a.OnOpen = func(*App) { r.add("open") }
	a.OnReconnect = func(*App) { r.add("reconnect") }
	a.OnData = func(_ *App, op frame.Opcode, p []byte, fin bool) { r.add("data %v %q fin=%v", op, p, fin) }
	a.OnMessage = func(_ *App, op frame.Opcode, p []byte) { r.add("message %v %q", op, p) }
	a.OnPing = func(_ *App, p []byte) { r.add("ping %q", p) }
	a.OnPong = func(_ *App, p []byte) { r.add("pong %q", p) }
	a.OnError = func(_ *App, err error) {
		r.add("error %v", err)
		r.mu.Lock()
		r.errs = append(r.errs, err)
		r.mu.Unlock()
	}
	a.OnClose = func(_ *App, code status.Code, reason string) { r.add("close %d %q", code, reason) }
	return r
}

type result struct{ err error }

// start runs a.Run(ctx) in a goroutine of the bubble and waits until it
// blocks.
func start(ctx context.Context, a *App) <-chan result {
	done := make(chan result, 1)
	go func() {
		err := a.Run(ctx)
		done <- result{err}
	}()
	synctest.Wait()
	return done
}

// closeRun closes a normally and checks that Close, and then the Run
// whose result done delivers, return nil.
func closeRun(t *testing.T, a *App, done <-chan result) {
	t.Helper()
	if err := a.Close(t.Context(), status.NormalClosure, ""); err != nil {
		t.Fatalf("Close = %v; want nil", err)
	}
	if res := <-done; res.err != nil {
		t.Errorf("Run = %v; want nil", res.err)
	}
}

func diff(t *testing.T, got, want []string) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

// drain returns what the App has sent so far.
func drain(c *fakeConn) []sent {
	var out []sent
	for {
		select {
		case s := <-c.out:
			out = append(out, s)
		default:
			return out
		}
	}
}

// A server's close is no failure of the connection (no OnError), and, but
// for the codes of a restart (TestReconnectHandlers), it ends Run although
// Reconnect is set. Run returns nil for a normal close, the close frame
// otherwise.
func TestServerCloseEndsRun(t *testing.T) {
	for _, code := range []status.Code{4001, status.NormalClosure, status.ProtocolError, status.NoStatusReceived, status.PolicyViolation, status.MandatoryExtension} {
		t.Run(code.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := newFakeNet()
				c := n.add()
				n.add() // a reconnect would find this one
				a := &App{dial: n.dial, Reconnect: &Backoff{Initial: time.Millisecond}}
				r := record(a)
				done := start(t.Context(), a)
				reason := "bye!"
				if code == status.NoStatusReceived {
					reason = ""
				}
				c.deliverClose(code, reason)
				res := <-done
				var ce *status.CloseError
				switch code {
				case status.NormalClosure, status.NoStatusReceived:
					if res.err != nil {
						t.Errorf("Run = %v; want nil", res.err)
					}
				default:
					if !errors.As(res.err, &ce) || ce.Code != code || ce.Reason != reason {
						t.Errorf("Run = %v; want the peer's close %v %q", res.err, code, reason)
					}
				}
				diff(t, r.get(), []string{"open", closeLine(code, reason)})
				if got := len(n.dialTimes()); got != 1 {
					t.Errorf("%d dials after the peer's close; want 1 (no reconnect)", got)
				}
				if s := drain(c); len(s) != 0 {
					t.Errorf("App sent %v after the peer's close; the connection answers it", s)
				}
			})
		})
	}
}

func TestHandlerOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		a := &App{dial: n.dial}
		r := record(a)
		done := start(t.Context(), a)
		c.deliver(frame.OpText, []byte("hi"))
		c.deliver(frame.OpBinary, []byte{0, 1})
		c.deliver(frame.OpPing, []byte("pi"))
		c.deliver(frame.OpPong, []byte("po"))
		c.deliverClose(status.NoStatusReceived, "")
		<-done
		diff(t, r.get(), []string{
			"open",
			`data text "hi" fin=true`, `message text "hi"`,
			`data binary "\x00\x01" fin=true`, `message binary "\x00\x01"`,
			`ping "pi"`,
			`pong "po"`,
			`close 1005 ""`,
		})
	})
}

func TestOnFragment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		a := &App{dial: n.dial}
		r := record(a)
		a.OnFragment = func(_ *App, p []byte, fin bool) { r.add("cont %q fin=%v", p, fin) }
		done := start(t.Context(), a)
		frag := func(op frame.Opcode, p string, fin bool) frame.Frame {
			return frame.Frame{Header: frame.Header{Fin: fin, Opcode: op, Length: int64(len(p))}, Payload: []byte(p)}
		}
		c.deliverFrame(frame.OpText, frag(frame.OpText, "ab", false))
		c.deliverFrame(frame.OpContinuation, frag(frame.OpContinuation, "cd", false))
		c.deliverFrame(frame.OpContinuation, frag(frame.OpContinuation, "ef", true))
		c.deliverClose(status.NormalClosure, "")
		<-done
		diff(t, r.get(), []string{
			"open",
			`data text "ab" fin=false`, `message text "ab"`,
			`data cont "cd" fin=false`, `cont "cd" fin=false`,
			`data cont "ef" fin=true`, `cont "ef" fin=true`,
			`close 1000 ""`,
		})
	})
}

// A lost connection, and a server's close with a code of a restart, are
// followed by a reconnect after the first backoff delay, which calls
// OnReconnect (OnOpen when OnReconnect is nil); a normal close then ends
// Run.
func TestReconnectHandlers(t *testing.T) {
	type row struct {
		name        string
		end         func(c *fakeConn)
		ended       []string // the first connection's events after "open"
		onReconnect bool
	}
	lost := []string{"error " + errLost.Error(), `close 1006 ""`}
	tests := []row{
		{"loss", (*fakeConn).drop, lost, true},
		{"loss without OnReconnect", (*fakeConn).drop, lost, false},
	}
	for _, code := range []status.Code{status.GoingAway, status.InternalError, status.ServiceRestart, status.TryAgainLater, status.BadGateway} {
		end := func(c *fakeConn) { c.deliverClose(code, "restarting") }
		// No OnError: a close is no failure.
		tests = append(tests, row{code.String(), end, []string{closeLine(code, "restarting")}, true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := newFakeNet()
				c1, c2 := n.add(), n.add()
				a := &App{dial: n.dial, Reconnect: &Backoff{Initial: 2 * time.Second}}
				r := record(a)
				again := "reconnect"
				if !tt.onReconnect {
					a.OnReconnect, again = nil, "open"
				}
				done := start(t.Context(), a)
				tt.end(c1)
				synctest.Wait()
				time.Sleep(2 * time.Second)
				synctest.Wait()
				c2.deliverClose(status.NormalClosure, "later")
				res := <-done
				if res.err != nil {
					t.Errorf("Run = %v; want nil", res.err)
				}
				want := append([]string{"open"}, tt.ended...)
				diff(t, r.get(), append(want, again, `close 1000 "later"`))
				d := n.dialTimes()
				if len(d) != 2 || d[1].Sub(d[0]) != 2*time.Second {
					t.Errorf("dials at %v; want two, 2s apart", d)
				}
			})
		})
	}
}

func TestPingSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		a := &App{dial: n.dial, PingInterval: 10 * time.Second, PingTimeout: 4 * time.Second, PingPayload: []byte("hb")}
		r := record(a)
		t0 := time.Now()
		done := start(t.Context(), a)
		time.Sleep(35 * time.Second)
		closeRun(t, a, done)
		var pings []time.Duration
		for _, s := range drain(c) {
			if s.op == frame.OpPing {
				if string(s.payload) != "hb" {
					t.Errorf("ping payload %q; want %q", s.payload, "hb")
				}
				pings = append(pings, s.at.Sub(t0))
			}
		}
		want := []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second}
		if d := cmp.Diff(want, pings); d != "" {
			t.Errorf("ping times (-want +got):\n%s", d)
		}
		diff(t, r.get(), []string{"open", `pong "hb"`, `pong "hb"`, `pong "hb"`, `close 1000 ""`})
	})
}

func TestPongTimeoutReconnects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c1, c2 := n.add(), n.add()
		c1.autoPong = false
		a := &App{
			dial:         n.dial,
			PingInterval: 10 * time.Second,
			PingTimeout:  3 * time.Second,
			Reconnect:    &Backoff{Initial: 2 * time.Second},
		}
		r := record(a)
		a.OnReconnect = nil
		done := start(t.Context(), a)
		time.Sleep(16 * time.Second) // 10s to the ping, 3s without pong, 2s backoff
		a.Close(t.Context(), status.NormalClosure, "done")
		res := <-done
		if res.err != nil {
			t.Errorf("Run = %v; want nil", res.err)
		}
		diff(t, r.get(), []string{
			"open",
			"error app: ping/pong timed out",
			`close 1006 ""`,
			"open",
			`close 1000 "done"`,
		})
		if got := r.times[1]; got != 13*time.Second {
			t.Errorf("timeout reported at %v; want 13s", got)
		}
		if err := r.errs[0]; !errors.Is(err, ErrPongTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("error %v does not match ErrPongTimeout and os.ErrDeadlineExceeded", err)
		}
		var ne net.Error
		if !errors.As(r.errs[0], &ne) || !ne.Timeout() {
			t.Errorf("error %v is not a timeout net.Error", r.errs[0])
		}
		if s := drain(c2); len(s) != 1 || s[0].op != frame.OpClose || s[0].code != status.NormalClosure {
			t.Errorf("second connection sent %v; want one close 1000", s)
		}
	})
}

func TestPongTimeoutWithoutReconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		n.add().autoPong = false
		a := &App{dial: n.dial, PingInterval: time.Second, PingTimeout: 500 * time.Millisecond}
		r := record(a)
		done := start(t.Context(), a)
		time.Sleep(2 * time.Second)
		res := <-done
		if !errors.Is(res.err, ErrPongTimeout) {
			t.Errorf("Run = %v; want ErrPongTimeout", res.err)
		}
		diff(t, r.get(), []string{"open", "error app: ping/pong timed out", `close 1006 ""`})
	})
}

// A connection that failed stays a failure in Run's result when Close is
// called afterwards (here from OnClose), although Close stops the reconnect.
func TestCloseAfterFailureStillErrored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		n.add() // a reconnect would find this one
		a := &App{dial: n.dial, Reconnect: &Backoff{Initial: time.Millisecond}}
		r := record(a)
		a.OnClose = func(a *App, code status.Code, reason string) {
			r.add("close %d %q", code, reason)
			a.Close(context.Background(), status.NormalClosure, "")
		}
		done := start(t.Context(), a)
		c.drop()
		res := <-done
		if !errors.Is(res.err, conn.ErrConnectionLost) {
			t.Errorf("Run = %v; want the connection's failure", res.err)
		}
		diff(t, r.get(), []string{"open", "error " + errLost.Error(), `close 1006 ""`})
		if got := len(n.dialTimes()); got != 1 {
			t.Errorf("%d dials; want 1 (Close stops the reconnect)", got)
		}
	})
}

func TestCancelSendsClose(t *testing.T) {
	for _, reply := range []bool{true, false} {
		t.Run("reply="+strconv.FormatBool(reply), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := newFakeNet()
				c := n.add()
				c.echoClose = reply
				a := &App{dial: n.dial, PingInterval: time.Second}
				r := record(a)
				ctx, cancel := context.WithCancel(t.Context())
				done := start(ctx, a)
				t0 := time.Now()
				cancel()
				res := <-done
				if !errors.Is(res.err, context.Canceled) {
					t.Errorf("Run = %v; want context.Canceled", res.err)
				}
				s := drain(c)
				if len(s) != 1 || s[0].op != frame.OpClose || s[0].code != status.NormalClosure {
					t.Errorf("sent %v; want one close 1000", s)
				}
				want := []string{"open", `close 1000 ""`}
				wait := time.Duration(0)
				if !reply {
					want[1] = `close 1006 ""`
					wait = conn.DefaultCloseTimeout
				}
				diff(t, r.get(), want)
				if got := time.Since(t0); got != wait {
					t.Errorf("Run returned after %v; want %v", got, wait)
				}
			})
		})
	}
}

func TestCloseFromAnotherGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		a := &App{dial: n.dial, Reconnect: &Backoff{}}
		r := record(a)
		done := start(t.Context(), a)
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() { a.WriteMessage(t.Context(), frame.OpText, []byte(strconv.Itoa(i))) })
		}
		wg.Wait()
		go a.Close(t.Context(), status.GoingAway, "bye")
		res := <-done
		if res.err != nil {
			t.Errorf("Run = %v; want nil", res.err)
		}
		s := drain(c)
		if len(s) != 5 || s[4].op != frame.OpClose || s[4].code != status.GoingAway || s[4].reason != "bye" {
			t.Errorf("sent %v; want 4 texts then close 1001 bye", s)
		}
		diff(t, r.get(), []string{"open", `close 1001 "bye"`})
		if err := a.WriteMessage(t.Context(), frame.OpText, []byte("late")); !errors.Is(err, ErrNotConnected) || !errors.Is(err, net.ErrClosed) {
			t.Errorf("WriteMessage after Run = %v; want ErrNotConnected", err)
		}
		if err := a.Close(t.Context(), status.NormalClosure, ""); !errors.Is(err, ErrNotConnected) {
			t.Errorf("Close after Run = %v; want ErrNotConnected", err)
		}
	})
}

func TestCloseFromHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		a := &App{dial: n.dial}
		r := record(a)
		a.OnOpen = func(a *App) {
			r.add("open")
			a.WriteMessage(context.Background(), frame.OpText, []byte("hello"))
		}
		a.OnMessage = func(a *App, op frame.Opcode, p []byte) {
			r.add("message %q", p)
			a.Close(context.Background(), status.NormalClosure, "thanks")
		}
		done := start(t.Context(), a)
		c.deliver(frame.OpText, []byte("world"))
		<-done
		diff(t, r.get(), []string{"open", `data text "world" fin=true`, `message "world"`, `close 1000 "thanks"`})
		if s := drain(c); len(s) != 2 || string(s[0].payload) != "hello" || s[1].op != frame.OpClose {
			t.Errorf("sent %v", s)
		}
	})
}

func TestCloseWhileWaitingToReconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		n.fail = errors.New("refused")
		a := &App{dial: n.dial, Reconnect: &Backoff{Initial: time.Minute}}
		r := record(a)
		done := start(t.Context(), a)
		t0 := time.Now()
		closeRun(t, a, done)
		if time.Since(t0) != 0 {
			t.Errorf("Run took %v to stop", time.Since(t0))
		}
		diff(t, r.get(), []string{"error refused"})
	})
}

func TestDialFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		refused := errors.New("refused")
		n.fail = refused
		a := &App{dial: n.dial}
		r := record(a)
		err := a.Run(t.Context())
		if err != refused {
			t.Errorf("Run = %v; want refused", err)
		}
		diff(t, r.get(), []string{"error refused"}) // no OnClose: nothing opened
	})
}

// Close from OnError after a failed attempt ends Run with that failure,
// without asking the retry policy, whatever it would answer.
func TestCloseFromOnErrorAfterFailedDial(t *testing.T) {
	for _, retry := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			n := newFakeNet()
			refused := errors.New("refused")
			n.fail = refused
			asked := 0
			a := &App{dial: n.dial, Reconnect: &Backoff{Retry: func(error) bool { asked++; return retry }}}
			a.OnError = func(a *App, err error) { a.Close(context.Background(), status.NormalClosure, "") }
			if err := a.Run(t.Context()); err != refused {
				t.Errorf("retry %v: Run = %v; want refused", retry, err)
			}
			if asked != 0 {
				t.Errorf("retry %v: the policy was asked %d times after Close", retry, asked)
			}
		})
	}
}

func TestBackoffSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		refused := errors.New("refused")
		n.fail = refused
		a := &App{dial: n.dial, Reconnect: &Backoff{Initial: time.Second, Max: 5 * time.Second, MaxAttempts: 4}}
		r := record(a)
		err := a.Run(t.Context())
		if err != refused {
			t.Errorf("Run = %v; want refused", err)
		}
		var gaps []time.Duration
		d := n.dialTimes()
		for i := 1; i < len(d); i++ {
			gaps = append(gaps, d[i].Sub(d[i-1]))
		}
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second}
		if diff := cmp.Diff(want, gaps); diff != "" {
			t.Errorf("delays between attempts (-want +got):\n%s", diff)
		}
		if got := len(r.get()); got != 5 {
			t.Errorf("%d errors reported; want 5 (one per attempt)", got)
		}
	})
}

// attemptTimes returns when each attempt of n dialled, from the first.
func attemptTimes(n *fakeNet) []time.Duration {
	d := n.dialTimes()
	var at []time.Duration
	for _, x := range d {
		at = append(at, x.Sub(d[0]))
	}
	return at
}

// A connection that stays open for Backoff.Max resets the sequence; one
// that ends sooner counts as a failed attempt.
func TestBackoffResetsAfterStableConnection(t *testing.T) {
	tests := []struct {
		name string
		up   time.Duration // how long the connection opened at 3s stays open
		want []time.Duration
		lost bool // Run returns the loss, not the last refused dial
	}{
		// Stable: the count restarts, two more attempts, 1s then 2s.
		{"stable", 4 * time.Second, []time.Duration{0, time.Second, 3 * time.Second, 8 * time.Second, 10 * time.Second}, false},
		// Short-lived: a third failure in a row, MaxAttempts is reached.
		{"short", 4*time.Second - time.Millisecond, []time.Duration{0, time.Second, 3 * time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := newFakeNet()
				n.fail = errors.New("refused")
				a := &App{dial: n.dial, Reconnect: &Backoff{Initial: time.Second, Max: 4 * time.Second, MaxAttempts: 2}}
				record(a)
				done := start(t.Context(), a) // fails at 0s
				time.Sleep(time.Second)       // fails at 1s
				synctest.Wait()
				c := n.add()
				time.Sleep(2 * time.Second) // opens at 3s
				synctest.Wait()
				time.Sleep(tt.up)
				c.drop()
				res := <-done
				if want := n.fail; tt.lost && !errors.Is(res.err, conn.ErrConnectionLost) || !tt.lost && res.err != want {
					t.Errorf("Run = %v; want the last failure", res.err)
				}
				if diff := cmp.Diff(tt.want, attemptTimes(n)); diff != "" {
					t.Errorf("attempt times (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// A server that accepts every connection and at once closes it with 1013
// (or drops it) is retried with growing delays, as a refused dial is, and
// MaxAttempts ends Run with the last close (or loss).
func TestShortConnectionsBackOff(t *testing.T) {
	tests := []struct {
		name  string
		end   func(c *fakeConn)
		check func(err error) bool
	}{
		{"1013", func(c *fakeConn) { c.deliverClose(status.TryAgainLater, "busy") }, func(err error) bool {
			var ce *status.CloseError
			return errors.As(err, &ce) && ce.Code == status.TryAgainLater && ce.Reason == "busy"
		}},
		{"drop", (*fakeConn).drop, func(err error) bool { return errors.Is(err, conn.ErrConnectionLost) }},
		{"greet then 1013", func(c *fakeConn) {
			c.deliver(frame.OpText, []byte("welcome"))
			c.deliverClose(status.TryAgainLater, "busy")
		}, func(err error) bool {
			var ce *status.CloseError
			return errors.As(err, &ce) && ce.Code == status.TryAgainLater
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := newFakeNet()
				for range 6 {
					tt.end(n.add())
				}
				n.fail = errors.New("refused") // once the connections are used up
				a := &App{dial: n.dial, Reconnect: &Backoff{Initial: time.Second, Max: 8 * time.Second, MaxAttempts: 4}}
				r := record(a)
				done := start(t.Context(), a)
				res := <-done
				if !tt.check(res.err) {
					t.Errorf("Run = %v; want the last connection's end", res.err)
				}
				want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second, 15 * time.Second}
				if diff := cmp.Diff(want, attemptTimes(n)); diff != "" {
					t.Errorf("attempt times (-want +got):\n%s", diff)
				}
				opens := 0
				for _, e := range r.get() {
					if e == "open" || e == "reconnect" {
						opens++
					}
				}
				if opens != 5 {
					t.Errorf("%d connections opened; want 5", opens)
				}
			})
		})
	}
}

// isClose returns a check that err is the peer's close frame with code.
func isClose(code status.Code) func(error) bool {
	return func(err error) bool {
		var ce *status.CloseError
		return errors.As(err, &ce) && ce.Code == code
	}
}

// Every way Run can end, and what it returns: nil for a clean end, the
// context's error, or the typed failure.
func TestRunResult(t *testing.T) {
	refused := errors.New("refused")
	isNil := func(err error) bool { return err == nil }
	is := func(target error) func(error) bool {
		return func(err error) bool { return errors.Is(err, target) }
	}
	tests := []struct {
		name string
		app  *App
		// act makes Run end; c is the open connection, nil if none opened.
		act   func(a *App, c *fakeConn, cancel context.CancelFunc)
		conn  bool             // queue a connection
		setup func(n *fakeNet) // queue more
		want  func(error) bool
	}{
		{"Close", &App{}, func(a *App, c *fakeConn, _ context.CancelFunc) {
			a.Close(context.Background(), status.NormalClosure, "")
		}, true, nil, isNil},
		{"Close, peer silent", &App{}, func(a *App, c *fakeConn, _ context.CancelFunc) {
			c.echoClose = false
			a.Close(context.Background(), status.NormalClosure, "")
		}, true, nil, isNil},
		{"Close while dialling", &App{}, func(a *App, c *fakeConn, _ context.CancelFunc) {
			a.Close(context.Background(), status.NormalClosure, "")
		}, false, nil, isNil},
		{"ctx cancelled", &App{}, func(a *App, c *fakeConn, cancel context.CancelFunc) { cancel() }, true, nil, is(context.Canceled)},
		{"ctx cancelled while dialling", &App{}, func(a *App, c *fakeConn, cancel context.CancelFunc) { cancel() }, false, nil, is(context.Canceled)},
		{"peer 1000", &App{}, func(a *App, c *fakeConn, _ context.CancelFunc) { c.deliverClose(status.NormalClosure, "") }, true, nil, isNil},
		{"peer empty close", &App{}, func(a *App, c *fakeConn, _ context.CancelFunc) { c.deliver(frame.OpClose, nil) }, true, nil, isNil},
		{"peer 1008", &App{}, func(a *App, c *fakeConn, _ context.CancelFunc) { c.deliverClose(status.PolicyViolation, "") }, true, nil, isClose(status.PolicyViolation)},
		{"peer 4001", &App{}, func(a *App, c *fakeConn, _ context.CancelFunc) { c.deliverClose(4001, "who?") }, true, nil, isClose(4001)},
		{"peer 1001, no Reconnect", &App{}, func(a *App, c *fakeConn, _ context.CancelFunc) { c.deliverClose(status.GoingAway, "") }, true, nil, isClose(status.GoingAway)},
		{"lost", &App{}, func(a *App, c *fakeConn, _ context.CancelFunc) { c.drop() }, true, nil, is(conn.ErrConnectionLost)},
		{"protocol error", &App{}, func(a *App, c *fakeConn, _ context.CancelFunc) {
			c.in <- event{err: &frame.Error{Code: status.ProtocolError}}
		}, true, nil, func(err error) bool { var fe *frame.Error; return errors.As(err, &fe) }},
		{"pong timeout", &App{PingInterval: 2 * time.Second, PingTimeout: time.Second}, nil, false, func(n *fakeNet) {
			n.add().autoPong = false
		}, is(ErrPongTimeout)},
		{"dial refused", &App{}, nil, false, nil, is(refused)},
		{"dial refused, MaxAttempts", &App{Reconnect: &Backoff{Initial: time.Second, MaxAttempts: 2}}, nil, false, nil, is(refused)},
		{"peer 1013, MaxAttempts", &App{Reconnect: &Backoff{Initial: time.Second, MaxAttempts: 1}}, nil, false, func(n *fakeNet) {
			n.add().deliverClose(status.TryAgainLater, "")
			n.add().deliverClose(status.TryAgainLater, "")
		}, isClose(status.TryAgainLater)},
		{"bad field", &App{PingInterval: time.Second, PingTimeout: time.Second}, nil, false, nil, is(ErrInvalid)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := newFakeNet()
				var c *fakeConn
				if tt.conn {
					c = n.add()
				} else if tt.act == nil {
					n.fail = refused
				}
				if tt.setup != nil {
					tt.setup(n)
				}
				a := tt.app
				a.dial = n.dial
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				done := start(ctx, a)
				if tt.act != nil {
					tt.act(a, c, cancel)
				}
				if res := <-done; !tt.want(res.err) {
					t.Errorf("Run = %v (%T)", res.err, res.err)
				}
			})
		})
	}
	t.Run("ctx deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := newFakeNet()
			n.add()
			a := &App{dial: n.dial}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if err := a.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Run = %v; want context.DeadlineExceeded", err)
			}
		})
	})
}

func TestHandlerPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		a := &App{dial: n.dial}
		r := record(a)
		a.OnMessage = func(_ *App, op frame.Opcode, p []byte) {
			if string(p) == "boom" {
				panic("boom")
			}
			r.add("message %q", p)
		}
		done := start(t.Context(), a)
		c.deliver(frame.OpText, []byte("boom"))
		c.deliver(frame.OpText, []byte("after"))
		c.deliverClose(status.NormalClosure, "")
		if res := <-done; res.err != nil {
			t.Errorf("Run = %v; want nil", res.err)
		}
		diff(t, r.get(), []string{
			"open",
			`data text "boom" fin=true`,
			"error app: OnMessage panicked: boom",
			`data text "after" fin=true`,
			`message "after"`,
			`close 1000 ""`,
		})
		var he *HandlerError
		if !errors.As(r.errs[0], &he) || he.Handler != "OnMessage" || he.Value != "boom" {
			t.Errorf("error %#v; want *HandlerError for OnMessage", r.errs[0])
		}
	})
}

func TestPanicInOnErrorAndOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		closes := 0
		a := &App{
			dial:    n.dial,
			OnOpen:  func(*App) { panic(errors.New("open failed")) },
			OnError: func(_ *App, err error) { panic(err) },
			OnClose: func(*App, status.Code, string) { closes++; panic("close") },
		}
		done := start(t.Context(), a)
		c.drop()
		res := <-done
		if !errors.Is(res.err, conn.ErrConnectionLost) {
			t.Errorf("Run = %v", res.err)
		}
		if closes != 1 {
			t.Errorf("OnClose called %d times; want 1", closes)
		}
	})
}

func TestHeaderPerAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		n.fail = errors.New("refused")
		calls := 0
		a := &App{
			dial:      n.dial,
			Reconnect: &Backoff{MaxAttempts: 2},
			Header: func(ctx context.Context) (http.Header, error) {
				calls++
				return http.Header{"Token": {strconv.Itoa(calls)}}, nil
			},
		}
		a.Run(t.Context())
		var got []string
		for _, h := range n.headers {
			got = append(got, h.Get("Token"))
		}
		diff(t, got, []string{"1", "2", "3"})
	})
}

func TestHeaderError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		bad := errors.New("no token")
		a := &App{dial: n.dial, Header: func(context.Context) (http.Header, error) { return nil, bad }}
		r := record(a)
		if err := a.Run(t.Context()); err != bad {
			t.Errorf("Run = %v; want %v", err, bad)
		}
		if len(n.dialTimes()) != 0 {
			t.Error("dialled despite the Header error")
		}
		diff(t, r.get(), []string{"error no token"})
	})
}

func TestCloseOncePerConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		conns := []*fakeConn{n.add(), n.add(), n.add()}
		a := &App{dial: n.dial, Reconnect: &Backoff{Initial: time.Second}}
		r := record(a)
		done := start(t.Context(), a)
		conns[0].drop()
		time.Sleep(time.Second)
		synctest.Wait()
		// A close frame and a drop racing each other.
		conns[1].deliverClose(status.NormalClosure, "")
		conns[1].drop()
		<-done
		diff(t, r.get(), []string{"open", "error " + errLost.Error(), `close 1006 ""`, "reconnect", `close 1000 ""`})
	})
}

func TestRunArgumentChecks(t *testing.T) {
	tests := []struct {
		name string
		app  *App
		want string // in the error's text, which matches ErrInvalid
	}{
		{"negative timeout", &App{PingTimeout: -1}, "PingTimeout > 0"},
		{"negative interval", &App{PingInterval: -1}, "PingInterval >= 0"},
		{"interval equal to timeout", &App{PingInterval: time.Second, PingTimeout: time.Second}, "PingInterval > PingTimeout"},
		{"interval below timeout", &App{PingInterval: time.Second, PingTimeout: 2 * time.Second}, "PingInterval > PingTimeout"},
		{"negative close timeout", &App{CloseTimeout: -1}, "CloseTimeout >= 0"},
		{"jitter above 1", &App{Reconnect: &Backoff{Jitter: 1.5}}, "Backoff"},
		{"multiplier below 1", &App{Reconnect: &Backoff{Multiplier: 0.5}}, "Backoff"},
		{"negative initial", &App{Reconnect: &Backoff{Initial: -1}}, "Backoff"},
		{"negative attempts", &App{Reconnect: &Backoff{MaxAttempts: -1}}, "Backoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newFakeNet()
			tt.app.dial = n.dial
			err := tt.app.Run(t.Context())
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v; want ErrInvalid naming %q", err, tt.want)
			}
			if len(n.dialTimes()) != 0 {
				t.Error("Run dialled despite a bad argument")
			}
		})
	}
	// Valid: a timeout with no interval, as websocket-client allows.
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		n.fail = errors.New("refused")
		a := &App{dial: n.dial, PingTimeout: time.Second}
		if err := a.Run(t.Context()); err != n.fail {
			t.Errorf("Run = %v; want the dial error", err)
		}
	})
}

func TestRunTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		a := &App{dial: n.dial}
		done := start(t.Context(), a)
		if err := a.Run(t.Context()); err != ErrRunning {
			t.Errorf("second Run = %v; want ErrRunning", err)
		}
		c.deliverClose(status.NormalClosure, "")
		<-done
		// Once it has returned, the App runs again.
		c2 := n.add()
		done = start(t.Context(), a)
		c2.deliverClose(status.NormalClosure, "")
		if res := <-done; res.err != nil {
			t.Errorf("Run again = %v", res.err)
		}
	})
}

func TestCloseRejectsBadCode(t *testing.T) {
	a := &App{}
	if err := a.Close(t.Context(), status.AbnormalClosure, ""); !errors.Is(err, status.ErrInvalidCode) {
		t.Errorf("Close(1006) = %v; want status.ErrInvalidCode", err)
	}
}

func TestBackoffDelay(t *testing.T) {
	tests := []struct {
		b    Backoff
		n    int
		u    float64
		want time.Duration
	}{
		{Backoff{}, 0, 0, time.Second},
		{Backoff{}, 1, 0, 2 * time.Second},
		{Backoff{}, 4, 0, 16 * time.Second},
		{Backoff{}, 5, 0, 30 * time.Second},
		{Backoff{}, 5000, 0, 30 * time.Second},
		{Backoff{Initial: 3 * time.Second, Multiplier: 1}, 7, 0, 3 * time.Second},
		{Backoff{Initial: time.Second, Max: time.Hour, Multiplier: 10}, 2, 0, 100 * time.Second},
		{Backoff{Initial: time.Minute, Max: time.Second}, 0, 0, time.Second},
		{Backoff{Jitter: 0.5}, 0, 1, 500 * time.Millisecond},
		{Backoff{Jitter: 0.5}, 0, 0.5, 750 * time.Millisecond},
		{Backoff{Jitter: 1}, 3, 0.25, 6 * time.Second},
	}
	for _, tt := range tests {
		if got := tt.b.delay(tt.n, tt.u); got != tt.want {
			t.Errorf("%+v.delay(%d, %v) = %v; want %v", tt.b, tt.n, tt.u, got, tt.want)
		}
	}
}

func FuzzBackoffDelay(f *testing.F) {
	f.Add(int64(0), int64(0), 0.0, 0.0, 0, 0.0)
	f.Add(int64(time.Second), int64(time.Minute), 2.0, 0.3, 10, 0.9)
	f.Add(int64(1), int64(1<<62), 1e300, 1.0, 1<<30, 0.999)
	f.Fuzz(func(t *testing.T, initial, limit int64, mult, jitter float64, n int, u float64) {
		b := Backoff{Initial: time.Duration(initial), Max: time.Duration(limit), Multiplier: mult, Jitter: jitter}
		if b.check() != nil || n < 0 || !(u >= 0 && u < 1) {
			return
		}
		max := b.Max
		if max == 0 {
			max = 30 * time.Second
		}
		d := b.delay(n, u)
		if d < 0 || d > max {
			t.Fatalf("%+v.delay(%d, %v) = %v; outside [0, %v]", b, n, u, d, max)
		}
	})
}
