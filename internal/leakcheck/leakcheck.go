package leakcheck

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

// Timeout is how long Check waits for goroutines to end.
const Timeout = 3 * time.Second

// Wait waits up to timeout for the number of goroutines to fall to before
// or below. It returns how many more are running when it gives up (0 when
// they ended) and the stacks of the running goroutines that mention this
// module.
func Wait(before int, timeout time.Duration) (int, []byte) {
	deadline := time.Now().Add(timeout)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return 0, nil
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			return n - before, ours(buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Check fails t if goroutines started during the test are still running
// once its cleanups are done. Call it first, so that its cleanup runs
// last.
func Check(t testing.TB) {
	t.Helper()
	before := Baseline()
	t.Cleanup(func() {
		if n, stacks := Wait(before, Timeout); n > 0 {
			t.Errorf("%d goroutines leaked:\n%s", n, stacks)
		}
	})
}

// ours keeps the goroutine dumps that mention this module.
func ours(all []byte) []byte {
	var out []byte
	for g := range bytes.SplitSeq(all, []byte("\n\n")) {
		if bytes.Contains(g, []byte("framewire/ws")) {
			out = append(out, g...)
			out = append(out, "\n\n"...)
		}
	}
	return out
}

// Baseline returns the number of goroutines once it has stopped changing:
// the goroutine of a test that just ended (or one it started) may still be
// on its way out, and counting it would let a leak of one go unseen, or
// make a later count look smaller than it is. It waits at most 200ms.
func Baseline() int {
	n := runtime.NumGoroutine()
	for deadline, stable := time.Now().Add(200*time.Millisecond), 0; stable < 4 && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			stable++
		} else {
			n, stable = m, 0
		}
	}
	return n
}
