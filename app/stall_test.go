package app_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/app"
	"github.com/framewire/ws/frame"
)

// A peer that neither reads nor writes: the pings cannot even be written,
// and that too is a pong timeout, as in websocket-client, which times the
// pong from the attempt to send the ping.
// A ping sent while an earlier one still awaits its pong leaves that
// wait's end where it was: with a timeout over half the interval, each
// ping that timed out unwritten used to push the wait past the next tick,
// for ever.
func TestStalledPeerIsPongTimeout(t *testing.T) {
	for _, timeout := range []time.Duration{500 * time.Millisecond, 600 * time.Millisecond, 900 * time.Millisecond} {
		t.Run(timeout.String(), func(t *testing.T) { stalledPeer(t, timeout) })
	}
}

func stalledPeer(t *testing.T, timeout time.Duration) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		a := &app.App{
			URL:          "ws://stalled.test/",
			Dialer:       pipeDialer(func(*peer) { <-release }),
			PingInterval: time.Second,
			PingTimeout:  timeout,
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		start := time.Now()
		err := a.Run(ctx)
		if !errors.Is(err, app.ErrPongTimeout) {
			t.Errorf("Run = %v after %v, want ErrPongTimeout", err, time.Since(start))
		}
		t.Logf("Run ended after %v", time.Since(start))
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Run took %v", d)
		}
	})
}

// A handler that calls runtime.Goexit (t.FailNow in a test) ends Run's
// goroutine; the connection is closed and its pinger stopped with it.
func TestGoexitInHandlerLeavesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pings := make(chan time.Time, 100)
		a := &app.App{
			URL: "ws://goexit.test/",
			Dialer: pipeDialer(func(p *peer) {
				p.write(frame.OpText, []byte("hi"))
				for {
					f, err := p.read()
					if err != nil {
						return
					}
					if f.Opcode == frame.OpPing {
						pings <- time.Now()
					}
				}
			}),
			PingInterval: 100 * time.Millisecond,
		}
		a.OnMessage = func(*app.App, frame.Opcode, []byte) {
			time.Sleep(150 * time.Millisecond) // one ping goes out meanwhile
			runtime.Goexit()
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			a.Run(t.Context())
		}()
		<-done
		ended := time.Now()
		time.Sleep(time.Second)
		synctest.Wait()
		close(pings)
		n := 0
		for at := range pings {
			if at.After(ended) {
				t.Errorf("a ping %v after Run's goroutine ended", at.Sub(ended))
			}
			n++
		}
		if n == 0 {
			t.Error("no ping before the handler ended: the test shows nothing")
		}
		if a.Conn() != nil {
			t.Error("Conn() still returns the connection")
		}
	})
}
