package conn

import (
	"sync"
	"testing"
)

// A doneSignal's channel is closed once it fires, whether it was asked
// for before or after; it is made only when asked for.
func TestDoneSignal(t *testing.T) {
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	for _, tt := range []struct {
		name       string
		waitBefore bool
		fire       bool
		waitAfter  bool
	}{
		{name: "idle"},
		{name: "asked, not fired", waitBefore: true},
		{name: "asked, then fired", waitBefore: true, fire: true},
		{name: "fired, then asked", fire: true, waitAfter: true},
		{name: "asked before and after", waitBefore: true, fire: true, waitAfter: true},
		{name: "fired, never asked", fire: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s doneSignal
			var before <-chan struct{}
			if tt.waitBefore {
				before = s.wait()
				if closed(before) || s.fired() {
					t.Fatal("closed before it fired")
				}
				if s.wait() != before {
					t.Error("a second wait made another channel")
				}
			}
			if !tt.waitBefore && !tt.fire && s.p.Load() != nil {
				t.Error("a channel was made that nobody asked for")
			}
			if tt.fire {
				s.fire()
			}
			if got := s.fired(); got != tt.fire {
				t.Errorf("fired() = %v, want %v", got, tt.fire)
			}
			if before != nil && closed(before) != tt.fire {
				t.Errorf("the channel asked for before is closed: %v, want %v", closed(before), tt.fire)
			}
			if tt.waitAfter && !closed(s.wait()) {
				t.Error("a channel asked for after it fired is open")
			}
		})
	}
}

// Goroutines that ask for the channel while another fires it all see it
// closed in the end (run with -race).
func TestDoneSignalRace(t *testing.T) {
	for range 100 {
		var s doneSignal
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { <-s.wait() })
		}
		wg.Go(s.fire)
		wg.Wait()
		if !s.fired() {
			t.Fatal("not fired")
		}
	}
}
