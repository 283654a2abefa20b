package app

import (
	"math"
	"time"
)

// Backoff is the reconnect policy of an [App]: when a connection or an
// attempt to open one ends and Retry approves, Run waits a delay and
// connects again. The delay starts at Initial and is multiplied by
// Multiplier after each failed attempt, up to Max; Jitter then draws it at
// random from [d×(1−Jitter), d] so that many clients do not reconnect in
// step.
//
// A connection that stays open for at least Max (the longest delay)
// resets the sequence: the next reconnect waits Initial again. One that
// ends sooner is part of the same outage and counts as a failed attempt,
// so that a server that accepts and at once closes (with 1013, say) or
// drops the connection is retried with growing delays, and MaxAttempts
// ends Run. Time open, rather than a first message, is the test because
// a server in trouble may well send a greeting before it closes.
//
// The zero value reconnects after 1s, 2s, 4s, ... up to 30s, forever, with
// no jitter, whenever [Retryable] approves. Multiplier 1 gives
// websocket-client's fixed delay (run_forever(reconnect=N)).
type Backoff struct {
	Initial     time.Duration // first delay; 0 means 1s
	Max         time.Duration // cap on the delay; 0 means 30s
	Multiplier  float64       // growth per failed attempt, ≥ 1; 0 means 2
	Jitter      float64       // fraction of the delay drawn at random, in [0, 1]
	MaxAttempts int           // reconnects in a row that may fail before Run gives up (3: four connections at most); 0 means no limit

	// Retry reports whether Run connects again after err ended a
	// connection or an attempt: a *[status.CloseError] for the peer's
	// close frame, otherwise the error OnError has seen. Nil means
	// [Retryable]; a policy of one's own can wrap it. Retry is not asked
	// when Run ends because of [App.Close] or its context. It runs on
	// Run's goroutine; a panic counts as false and reaches OnError as a
	// [*HandlerError].
	Retry func(err error) bool
}

func (b *Backoff) check() error {
	switch {
	case b.Initial < 0, b.Max < 0, b.MaxAttempts < 0,
		b.Multiplier != 0 && !(b.Multiplier >= 1), // also refuses NaN
		!(b.Jitter >= 0 && b.Jitter <= 1):
		return invalid("Backoff's durations and MaxAttempts >= 0, Multiplier 0 or >= 1, Jitter in [0, 1]")
	}
	return nil
}

// stable returns how long a connection must stay open to reset the
// sequence: Max, or its default.
func (b *Backoff) stable() time.Duration {
	if b.Max == 0 {
		return 30 * time.Second
	}
	return b.Max
}

// delay returns the wait before attempt n (0 for the first reconnect),
// with u a uniform random number in [0, 1).
func (b *Backoff) delay(n int, u float64) time.Duration {
	initial, limit, mult := b.Initial, b.stable(), b.Multiplier
	if initial == 0 {
		initial = time.Second
	}
	if mult == 0 {
		mult = 2
	}
	d := limit
	if f := float64(initial) * math.Pow(mult, float64(n)); f < float64(limit) {
		d = min(time.Duration(f), limit)
	}
	d -= time.Duration(float64(d) * b.Jitter * u)
	return max(d, 0)
}
