package conn_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/frame"
)

// Waiters queued for the write lock in the order B (NextWriter), W
// (WriteMessages), X (NextWriter) behind an open MessageWriter A get it in
// that order, with or without a deadline: the lock is handed on in
// arrival order, and B's opening, which bounds W's wait when it has no
// deadline, does not move W (it did in most rounds when the bound took
// the waiters out of the queue).
func TestWriteLockOrderAcrossWriters(t *testing.T) {
	for _, deadline := range []bool{false, true} {
		overtaken := 0
		const rounds = 50
		for range rounds {
			synctest.Test(t, func(t *testing.T) {
				c, p := streamPair(t, nil)
				ctx := context.Background()
				a, err := c.NextWriter(ctx, frame.OpText)
				if err != nil {
					t.Fatal(err)
				}
				a.Write([]byte("A"))
				open := func(s string) {
					w, err := c.NextWriter(ctx, frame.OpText)
					if err != nil {
						t.Error(err)
						return
					}
					w.Write([]byte(s))
					w.Close()
				}
				go open("B")
				synctest.Wait()
				wctx := ctx
				if deadline {
					var cancel context.CancelFunc
					wctx, cancel = context.WithTimeout(ctx, time.Hour)
					defer cancel()
				}
				go c.WriteMessages(wctx, frame.OpText, []byte("W"))
				synctest.Wait()
				go open("X")
				synctest.Wait()
				a.Close()
				var order string
				for len(order) < 4 {
					f := p.next(t)
					if f.Opcode == frame.OpText || f.Opcode == frame.OpContinuation {
						order += string(f.Payload)
					}
				}
				if order != "ABWX" {
					overtaken++
				}
			})
		}
		t.Logf("deadline=%v: W overtaken by X, which queued after it, in %d of %d rounds", deadline, overtaken, rounds)
		if overtaken > 0 {
			t.Errorf("deadline=%v: FIFO broken in %d of %d rounds", deadline, overtaken, rounds)
		}
	}
}
