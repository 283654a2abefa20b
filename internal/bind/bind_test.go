package bind

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"
)

// conn records the deadlines a Binder sets.
type conn struct {
	mu  sync.Mutex
	set []time.Time
}

func (c *conn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.set = append(c.set, t)
	c.mu.Unlock()
	return nil
}

// took returns the deadlines set since the last call, and forgets them.
func (c *conn) took() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.set
	c.set = nil
	return s
}

func newBinder() (*Binder, *conn) {
	c := &conn{}
	return &Binder{Conn: c}, c
}

// countingCtx counts the AfterFunc registrations still live on it: its
// Value hides the context beneath, so context.AfterFunc goes through its
// AfterFunc method.
type countingCtx struct {
	context.Context
	live *atomic.Int32
}

func (c countingCtx) Value(any) any { return nil }

func (c countingCtx) AfterFunc(f func()) func() bool {
	c.live.Add(1)
	stop := context.AfterFunc(c.Context, f)
	var once sync.Once
	return func() bool {
		once.Do(func() { c.live.Add(-1) })
		return stop()
	}
}

func counting(t *testing.T) (countingCtx, *atomic.Int32) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	live := new(atomic.Int32)
	return countingCtx{ctx, live}, live
}

// A context that is cancelled during a call wakes it with a deadline in
// the past.
func TestCancelWakesCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, c := newBinder()
		ctx, cancel := context.WithCancel(context.Background())
		b.Arm(ctx)
		cancel()
		synctest.Wait()
		if got := c.took(); !slices.Equal(got, []time.Time{past}) {
			t.Fatalf("deadlines set on cancel = %v, want [past]", got)
		}
		b.Disarm()
	})
}

// A context that ends between two calls leaves the connection alone, and
// the next call with it is woken at once.
func TestCancelBetweenCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, c := newBinder()
		ctx, cancel := context.WithCancel(context.Background())
		b.Arm(ctx)
		b.Disarm()
		cancel()
		synctest.Wait() // the AfterFunc ran, with no call bound
		if got := c.took(); len(got) != 0 {
			t.Fatalf("deadlines set by a cancel between calls = %v, want none", got)
		}
		b.Arm(ctx)
		if got := c.took(); !slices.Equal(got, []time.Time{past}) {
			t.Fatalf("Arm(ended context) set %v, want [past]", got)
		}
		b.Disarm()
	})
}

// A registration dropped for another context cannot wake the call bound
// to that one, even when its AfterFunc had started already.
func TestStaleAfterFunc(t *testing.T) {
	b, c := newBinder()
	old, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.Arm(old)
	b.Disarm()
	b.Arm(t.Context())
	b.cancelled(old.Done()) // as if it had started before Arm(t.Context())
	if got := c.took(); len(got) != 0 {
		t.Fatalf("a stale AfterFunc set %v, want nothing", got)
	}
}

// One context kept from call to call is registered once; another context
// replaces the registration, and Release drops it for good.
func TestRegistrations(t *testing.T) {
	b, _ := newBinder()
	ctx1, live1 := counting(t)
	ctx2, live2 := counting(t)
	type key struct{}
	for range 3 {
		b.Arm(ctx1)
		b.Disarm()
		b.Arm(context.WithValue(ctx1, key{}, 1))
		b.Disarm()
	}
	if n := live1.Load(); n != 1 {
		t.Fatalf("registrations after 6 calls with one context = %d, want 1", n)
	}
	b.Arm(ctx2)
	b.Disarm()
	if n1, n2 := live1.Load(), live2.Load(); n1 != 0 || n2 != 1 {
		t.Fatalf("registrations after a call with another context: %d, %d; want 0, 1", n1, n2)
	}
	b.Release()
	if n := live2.Load(); n != 0 {
		t.Fatalf("registrations after Release = %d, want 0", n)
	}
	ctx3, live3 := counting(t)
	b.Arm(ctx3)
	b.Disarm()
	if n := live3.Load(); n != 0 {
		t.Fatalf("registrations made after Release = %d, want 0", n)
	}
}

// A context that cannot end registers nothing, even after one that can.
func TestBackgroundRegistersNothing(t *testing.T) {
	b, _ := newBinder()
	b.Arm(t.Context())
	b.Disarm()
	b.Arm(context.Background())
	b.Disarm()
	if b.stop != nil {
		t.Error("Arm(context.Background()) registered an AfterFunc")
	}
}

// Calls with one cancellable context, a value context of it, or a context
// that cannot end allocate nothing once the first call has bound it.
func TestAllocs(t *testing.T) {
	b, _ := newBinder()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type key struct{}
	for name, ctx := range map[string]context.Context{
		"WithCancel":         ctx,
		"WithValue of it":    context.WithValue(ctx, key{}, 1),
		"context.Background": context.Background(),
	} {
		b.Arm(ctx)
		b.Disarm()
		if n := testing.AllocsPerRun(100, func() {
			b.Arm(ctx)
			b.Disarm()
		}); n != 0 {
			t.Errorf("%s: %v allocs per call, want 0", name, n)
		}
	}
}

// A context's deadline is the connection's for each call; the next call
// with none clears it, as it clears Until's and Release does.
func TestDeadlines(t *testing.T) {
	b, c := newBinder()
	dl := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	defer cancel()
	fixed := dl.Add(time.Minute)
	zero := time.Time{}
	steps := []struct {
		name string
		do   func()
		want []time.Time
	}{
		{"Arm(deadline)", func() { b.Arm(ctx); b.Disarm() }, []time.Time{dl}},
		{"Arm(deadline) again", func() { b.Arm(ctx); b.Disarm() }, []time.Time{dl}},
		{"Arm(Background)", func() { b.Arm(context.Background()); b.Disarm() }, []time.Time{zero}},
		{"Arm(Background) again", func() { b.Arm(context.Background()); b.Disarm() }, nil},
		{"Until", func() { b.Until(fixed) }, []time.Time{fixed}},
		{"Arm(Background) after Until", func() { b.Arm(context.Background()); b.Disarm() }, []time.Time{zero}},
		{"Arm(deadline), Release", func() { b.Arm(ctx); b.Release() }, []time.Time{dl, zero}},
	}
	for _, s := range steps {
		s.do()
		if got := c.took(); !slices.Equal(got, s.want) {
			t.Errorf("%s set %v, want %v", s.name, got, s.want)
		}
	}
}

// Release reports whether the context ended while registered: a
// handshake's failure is then the context's doing.
func TestReleaseReportsEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, end := range []bool{false, true} {
			b, _ := newBinder()
			ctx, cancel := context.WithCancel(context.Background())
			b.Arm(ctx)
			if end {
				cancel()
				synctest.Wait()
			}
			if got := b.Release(); got != end {
				t.Errorf("context ended %v: Release() = %v", end, got)
			}
			cancel()
		}
	})
}

// A long-lived context does not keep alive a Binder it was used with.
func TestNotHeldByContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wp := func() weak.Pointer[Binder] {
		b, _ := newBinder()
		b.Arm(ctx)
		b.Disarm()
		return weak.Make(b)
	}()
	for range 5 {
		runtime.GC()
		if wp.Value() == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("the Binder is still reachable; the context holds it")
}

// With Stall, a call whose context has no deadline gets a horizon Stall
// ahead, which Refresh moves on once a sixteenth of Stall has passed, and
// only while it is the connection's deadline: a context's deadline, its
// cancellation, Until and Release each replace it, and Refresh then
// leaves the connection alone.
func TestStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const stall = 16 * time.Second
		c := &conn{}
		b := &Binder{Conn: c, Stall: stall}
		dl := time.Now().Add(time.Hour)
		withDL, cancelDL := context.WithDeadline(context.Background(), dl)
		defer cancelDL()
		cancellable, cancel := context.WithCancel(context.Background())
		fixed := time.Now().Add(time.Minute)
		horizon := func() []time.Time { return []time.Time{time.Now().Add(stall)} }
		none := func() []time.Time { return nil }
		steps := []struct {
			name  string
			sleep time.Duration // before the step
			do    func()
			want  func() []time.Time
		}{
			{"Arm(Background)", 0, func() { b.Arm(context.Background()) }, horizon},
			{"Refresh at once", 0, b.Refresh, none},
			{"Refresh before a sixteenth", stall/16 - time.Millisecond, b.Refresh, none},
			{"Refresh after a sixteenth", 2 * time.Millisecond, b.Refresh, horizon},
			{"Disarm, Arm(Background) again", time.Second, func() { b.Disarm(); b.Arm(context.Background()) }, none},
			{"Refresh, the horizon stale", 0, b.Refresh, horizon},
			{"Arm(deadline)", 0, func() { b.Disarm(); b.Arm(withDL) }, func() []time.Time { return []time.Time{dl} }},
			{"Refresh under a deadline", 2 * time.Second, b.Refresh, none},
			{"Arm(Background) after a deadline", 0, func() { b.Disarm(); b.Arm(context.Background()) }, horizon},
			{"Until", 0, func() { b.Disarm(); b.Until(fixed) }, func() []time.Time { return []time.Time{fixed} }},
			{"Refresh after Until", 2 * time.Second, b.Refresh, none},
			{"Arm(cancellable)", 0, func() { b.Arm(cancellable) }, horizon},
			{"cancel", 0, func() { cancel(); synctest.Wait() }, func() []time.Time { return []time.Time{past} }},
			{"Refresh after cancel", 2 * time.Second, b.Refresh, none},
			{"Release", 0, func() { b.Disarm(); b.Release() }, func() []time.Time { return []time.Time{{}} }},
			{"Refresh after Release", 2 * time.Second, b.Refresh, none},
		}
		for _, s := range steps {
			time.Sleep(s.sleep)
			s.do()
			got, want := c.took(), s.want()
			if !slices.EqualFunc(got, want, time.Time.Equal) {
				t.Errorf("%s set %v, want %v", s.name, got, want)
			}
		}
	})
}

// With Stall, calls with a context that never ends, and their Refresh,
// allocate nothing and take no lock once the horizon is set.
func TestStallAllocs(t *testing.T) {
	b, _ := newBinder()
	b.Stall = time.Minute
	b.Arm(context.Background())
	b.Disarm()
	if n := testing.AllocsPerRun(100, func() {
		b.Arm(context.Background())
		b.Refresh()
		b.Disarm()
	}); n != 0 {
		t.Errorf("%v allocs per call, want 0", n)
	}
}
