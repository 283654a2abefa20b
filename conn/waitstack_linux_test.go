//go:build linux

package conn_test

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/wstest"
)

// waitStackEnv marks the child process of TestWaitingReceiveStack.
const waitStackEnv = "FW_WAIT_STACK_CHILD"

// A goroutine waiting in a receiving call for the next message keeps the
// 2 KiB stack a goroutine starts with: the call waits near the top of its
// stack (Conn.await) and goes deeper only once bytes came. Each call is
// measured in a child process of its own, which turns the runtime's
// adaptive initial stack size off, so that each goroutine's stack is the
// one its own calls need, and starts with no stacks freed by other tests.
func TestWaitingReceiveStack(t *testing.T) {
	if conn.RaceEnabled {
		t.Skip("the race detector's builds need larger stacks")
	}
	if name := os.Getenv(waitStackEnv); name != "" {
		measureWaitingStack(t, name)
		return
	}
	for _, name := range slices.Sorted(maps.Keys(waitingCalls)) {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestWaitingReceiveStack$", "-test.v")
			cmd.Env = append(os.Environ(), waitStackEnv+"="+name, "GODEBUG=adaptivestackstart=0")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			for line := range strings.Lines(string(out)) {
				if strings.Contains(line, "stack B per") {
					t.Log(strings.TrimSpace(line))
				}
			}
		})
	}
}

// waitingCalls start a goroutine that waits in a receiving call on c for
// the next message. Each goroutine calls the method itself, as a read
// loop's does: under 2 KiB, the margin left for the caller's own frames
// is a few hundred bytes.
var waitingCalls = map[string]func(ctx context.Context, c *conn.Conn) error{
	"ReadDataFrame": func(ctx context.Context, c *conn.Conn) error { go c.ReadDataFrame(ctx, nil); return nil },
	"ReadMessage":   func(ctx context.Context, c *conn.Conn) error { go c.ReadMessage(ctx); return nil },
	"ReadMessages": func(ctx context.Context, c *conn.Conn) error {
		go c.ReadMessages(ctx, make([]frame.Frame, 1), nil)
		return nil
	},
	"ReadFrame":  func(ctx context.Context, c *conn.Conn) error { go c.ReadFrame(ctx, nil); return nil },
	"NextReader": func(ctx context.Context, c *conn.Conn) error { go c.NextReader(ctx); return nil },
	"Receiver.Receive": func(ctx context.Context, c *conn.Conn) error {
		r, err := c.Receiver(ctx)
		if err == nil {
			go r.Receive(ctx, nil)
		}
		return err
	},
	"Receiver.ReadFrame": func(ctx context.Context, c *conn.Conn) error {
		r, err := c.Receiver(ctx)
		if err == nil {
			go r.ReadFrame(ctx, nil)
		}
		return err
	},
}

// measureWaitingStack has n goroutines wait in the receiving call name, on
// connections to a server that sends nothing, and fails when their stacks
// average 3 KiB or more: most of them grew to 4 KiB.
func measureWaitingStack(t *testing.T, name string) {
	const n = 512
	start := waitingCalls[name]
	s := serve(t, wstest.Discard)
	cs := make([]*conn.Conn, n)
	for i := range cs {
		cs[i] = dial(t, nil, s.URL)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, c := range cs {
		if err := start(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	awaitWaiting(t, func(k int) bool { return k == n })
	runtime.ReadMemStats(&after)
	per := float64(after.StackInuse-before.StackInuse) / n
	t.Logf("%s: %.0f stack B per waiting goroutine", name, per)
	if per >= 3<<10 {
		t.Errorf("%s: %.0f stack bytes per waiting goroutine, want about 2 KiB", name, per)
	}
	cancel()
	awaitWaiting(t, func(k int) bool { return k == 0 })
}

// awaitWaiting returns once ok accepts the number of goroutines blocked
// in a Conn's receiving call, waiting for the next message (Conn.await).
func awaitWaiting(t *testing.T, ok func(int) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var b strings.Builder
	for {
		// The profile groups goroutines by stack: "count @ pcs", then
		// one line per frame; the first group follows a header line.
		b.Reset()
		pprof.Lookup("goroutine").WriteTo(&b, 1)
		got := 0
		for g := range strings.SplitSeq(b.String(), "\n\n") {
			if !strings.Contains(g, "ws/conn.(*Conn).await") {
				continue
			}
			for line := range strings.Lines(g) {
				if k, _, ok := strings.Cut(line, " @ "); ok {
					n, _ := strconv.Atoi(k)
					got += n
					break
				}
			}
		}
		if ok(got) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines waiting", got)
		}
		runtime.Gosched()
	}
}
