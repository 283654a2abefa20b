package conn

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A connection that leaves the pool, here a dead one found by a dial,
// leaves no idle timer behind to hold it (and its buffers) for
// h2IdleTimeout.
func TestH2PoolRemoveStopsIdleTimer(t *testing.T) {
	p := new(HTTP2Pool)
	key := h2Key{addr: "h.test:80"}
	ready := make(chan struct{})
	close(ready)
	hc := &h2Conn{pool: p, key: key, cc: &h2Client{err: errors.New("gone")}, ready: ready}
	hc.idle = time.AfterFunc(time.Hour, func() {})
	p.conns = map[h2Key][]*h2Conn{key: {hc}}
	got, err := p.reserve(context.Background(), key)
	if got != nil || err != nil {
		t.Fatalf("reserve = %v, %v; want a new connection to be opened", got, err)
	}
	p.mu.Unlock()
	if len(p.conns[key]) != 0 {
		t.Fatal("the dead connection is still in the pool")
	}
	if hc.idle.Stop() {
		t.Error("its idle timer was still running")
	}
}
