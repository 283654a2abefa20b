package leakcheck_test

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/framewire/ws/internal/leakcheck"
)

func parked(stop chan struct{}) { <-stop }

func TestWait(t *testing.T) {
	leakcheck.Check(t)
	before := leakcheck.Baseline()
	stop := make(chan struct{})
	go parked(stop)
	n, stacks := leakcheck.Wait(before, 50*time.Millisecond)
	if n != 1 || !bytes.Contains(stacks, []byte("leakcheck_test.parked")) {
		t.Errorf("Wait with a parked goroutine = %d, stacks:\n%s", n, stacks)
	}
	close(stop)
	if n, stacks := leakcheck.Wait(before, time.Second); n != 0 || stacks != nil {
		t.Errorf("Wait after the goroutine ended = %d, %s", n, stacks)
	}
}

func ExampleWait() {
	before := runtime.NumGoroutine()
	done := make(chan struct{})
	go func() { close(done) }()
	<-done
	n, _ := leakcheck.Wait(before, time.Second)
	fmt.Println("leaked:", n)
	// Output: leaked: 0
}
