package conn

import (
	"context"
)

// ctxErr returns the context error that explains a socket timeout during
// the call: ctx.Err(), or context.DeadlineExceeded when the socket reached
// the context's deadline a moment before the context noticed.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); ok {
		return context.DeadlineExceeded
	}
	return nil
}
