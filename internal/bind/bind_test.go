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

// watched is a conn whose operations and progress the test sets, for the
// Stall watchdog: each operation begun moves the count, as a Conn's do.
type watched struct {
	conn
	busy     atomic.Bool
	progress atomic.Int64
	counts   bool // it has a progress count
}

func (c *watched) Busy() bool { return c.busy.Load() }

func (c *watched) Progress() (int64, bool) { return c.progress.Load(), c.counts }

// begin marks an operation under way, then calls Refresh, as a Conn's
// writer does.
func (c *watched) begin(b *Binder) {
	c.progress.Add(1)
	c.busy.Store(true)
	b.Refresh()
}

// The Stall watchdog wakes a call whose context has no deadline once an
// operation has been under way for Stall with no progress (a deadline in
// the past, as a cancelled context does), and only then: an operation
// that begins (Refresh) or a progress count that moves starts the wait
// anew, and no operation under way, a context's deadline, Until, a
// cancelled context or Release leave the connection to them.
func TestStall(t *testing.T) {
	const stall = 16 * time.Second
	type step struct {
		name  string
		do    func(b *Binder, c *watched)
		wait  time.Duration // then
		woken bool          // the watchdog set a deadline in the past
	}
	busy := func(b *Binder, c *watched) { c.begin(b) }
	tests := []struct {
		name   string
		counts bool
		ctx    func() (context.Context, context.CancelFunc)
		steps  []step
	}{
		// The watchdog sees an operation begin at its next look, within
		// an eighth of Stall: it wakes the call Stall after that.
		{"blocked", true, background, []step{
			{"under way", busy, stall, false},
			{"then", nil, stall/8 + time.Millisecond, true},
		}},
		{"idle", true, background, []step{
			{"no operation", nil, time.Hour, false},
			{"then one blocks", busy, stall + stall/8, true},
		}},
		{"operations in turn", true, background, []step{
			{"under way", busy, stall / 2, false},
			{"another", func(b *Binder, c *watched) { c.busy.Store(false); busy(b, c) }, stall / 2, false},
			{"another still", func(b *Binder, c *watched) { c.busy.Store(false); busy(b, c) }, stall - time.Millisecond, false},
			{"then", nil, stall/8 + 2*time.Millisecond, true},
		}},
		{"progress", true, background, []step{
			{"under way", busy, stall / 2, false},
			{"the count moves", func(b *Binder, c *watched) { c.progress.Add(1) }, stall / 2, false},
			{"and moves", func(b *Binder, c *watched) { c.progress.Add(1) }, stall / 2, false},
			// The last move, at 16 s, is seen by 18 s: the call is woken
			// between 32 and 34 s.
			{"then stops", nil, stall/2 - time.Second, false},
			{"for Stall and an eighth", nil, stall/8 + 2*time.Second, true},
		}},
		{"no count", false, background, []step{
			{"under way", busy, stall / 2, false},
			{"another", func(b *Binder, c *watched) { c.busy.Store(false); busy(b, c) }, stall / 2, true},
		}},
		{"cancellable context", true, cancellable, []step{
			{"under way", busy, stall + stall/8, true},
		}},
		{"context deadline", true, within(time.Hour), []step{
			{"under way", busy, 2 * stall, false},
		}},
		{"Until", true, background, []step{
			{"Until", func(b *Binder, c *watched) { b.Disarm(); b.Until(time.Now().Add(time.Hour)); busy(b, c) }, 2 * stall, false},
		}},
		{"Release", true, background, []step{
			{"Release", func(b *Binder, c *watched) { busy(b, c); b.Release() }, 2 * stall, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := &watched{counts: tt.counts}
				b := &Binder{Conn: c, Stall: stall}
				ctx, cancel := tt.ctx()
				defer cancel()
				b.Arm(ctx)
				c.took()
				for _, s := range tt.steps {
					if s.do != nil {
						s.do(b, c)
					}
					time.Sleep(s.wait)
					synctest.Wait()
					woken := slices.ContainsFunc(c.took(), func(t time.Time) bool { return t.Equal(past) })
					if woken != s.woken {
						t.Errorf("%s, %v later: woken %v, want %v", s.name, s.wait, woken, s.woken)
					}
				}
				b.Release()
			})
		})
	}
}

// A call that the watchdog woke leaves the next call with a context that
// never ends a connection with no deadline, guarded anew.
func TestStallRearms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const stall = time.Second
		c := &watched{counts: true}
		b := &Binder{Conn: c, Stall: stall}
		b.Arm(context.Background())
		c.begin(b)
		time.Sleep(stall + stall/8)
		synctest.Wait()
		b.Disarm()
		c.busy.Store(false)
		c.took()
		b.Arm(context.Background())
		if got := c.took(); !slices.Equal(got, []time.Time{{}}) {
			t.Errorf("Arm after the watchdog woke a call set %v, want the deadline cleared", got)
		}
		c.begin(b)
		time.Sleep(stall + stall/8)
		synctest.Wait()
		if got := c.took(); !slices.ContainsFunc(got, func(t time.Time) bool { return t.Equal(past) }) {
			t.Errorf("a second blocked operation: set %v, want it woken", got)
		}
		b.Release()
	})
}

// With Stall, calls with a context that never ends, and their Refresh,
// allocate nothing and take no lock once the watchdog guards them.
func TestStallAllocs(t *testing.T) {
	c := &watched{counts: true}
	b := &Binder{Conn: c, Stall: time.Minute}
	defer b.Release()
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

func background() (context.Context, context.CancelFunc) {
	return context.Background(), func() {}
}

func cancellable() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func within(d time.Duration) func() (context.Context, context.CancelFunc) {
	return func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), d)
	}
}
