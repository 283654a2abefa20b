package app

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/status"
)

// closeLine is the line record writes for OnClose(code, reason).
func closeLine(code status.Code, reason string) string {
	return fmt.Sprintf("close %d %q", code, reason)
}

// A dial failure that may be transient is retried up to MaxAttempts; one
// that connecting again would repeat ends Run at once.
func TestDialFailurePolicy(t *testing.T) {
	tests := []struct {
		status int
		dials  int
	}{
		{http.StatusServiceUnavailable, 4},
		{http.StatusBadGateway, 4},
		{http.StatusNotFound, 1},
		{http.StatusUnauthorized, 1},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := newFakeNet()
				n.fail = &handshake.StatusError{StatusCode: tt.status}
				a := &App{dial: n.dial, Reconnect: &Backoff{MaxAttempts: 3}}
				r := record(a)
				err := a.Run(t.Context())
				if err != n.fail {
					t.Errorf("Run = %v; want %v", err, n.fail)
				}
				if got := len(n.dialTimes()); got != tt.dials {
					t.Errorf("%d dials; want %d", got, tt.dials)
				}
				if got := len(r.errs); got != tt.dials {
					t.Errorf("%d errors reported; want %d (one per attempt)", got, tt.dials)
				}
			})
		})
	}
}

// A policy of the user's sees the peer's close as a *status.CloseError and
// a failure as OnError saw it, and overrides the default both ways.
func TestCustomRetryPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c1, c2, c3 := n.add(), n.add(), n.add()
		var seen []error
		a := &App{dial: n.dial, Reconnect: &Backoff{Initial: time.Second, Retry: func(err error) bool {
			seen = append(seen, err)
			var ce *status.CloseError
			return errors.As(err, &ce) && ce.Code == status.NormalClosure || errors.Is(err, ErrPongTimeout)
		}}}
		r := record(a)
		a.OnReconnect = nil
		done := start(t.Context(), a)
		c1.deliverClose(status.NormalClosure, "again") // reconnect: the default would not
		synctest.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		c2.in <- event{err: ErrPongTimeout} // a failure the policy retries
		synctest.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		c3.drop() // no reconnect: the default would
		res := <-done
		if res.err != errLost {
			t.Errorf("Run = %v; want %v", res.err, errLost)
		}
		diff(t, r.get(), []string{
			"open", `close 1000 "again"`,
			"open", "error " + ErrPongTimeout.Error(), `close 1006 ""`,
			"open", "error " + errLost.Error(), `close 1006 ""`,
		})
		var ce *status.CloseError
		if len(seen) != 3 || !errors.As(seen[0], &ce) || ce.Code != status.NormalClosure || ce.Reason != "again" ||
			seen[1] != ErrPongTimeout || seen[2] != errLost {
			t.Errorf("policy saw %v; want the close 1000, ErrPongTimeout, the loss", seen)
		}
	})
}

// A panicking policy is reported to OnError and counts as no.
func TestRetryPolicyPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newFakeNet()
		c := n.add()
		n.add() // a reconnect would find this one
		a := &App{dial: n.dial, Reconnect: &Backoff{Retry: func(error) bool { panic("policy") }}}
		r := record(a)
		done := start(t.Context(), a)
		c.drop()
		res := <-done
		if res.err != errLost {
			t.Errorf("Run = %v; want %v", res.err, errLost)
		}
		diff(t, r.get(), []string{"open", "error " + errLost.Error(), `close 1006 ""`, "error app: Retry panicked: policy"})
		if got := len(n.dialTimes()); got != 1 {
			t.Errorf("%d dials; want 1", got)
		}
	})
}
