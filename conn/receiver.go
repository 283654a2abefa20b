package conn

import (
	"context"
	"errors"

	"github.com/framewire/ws/frame"
)

// ErrReleased is returned by the calls of a [Receiver] after its Release.
var ErrReleased = errors.New("conn: Receiver used after Release")

// A Receiver is a Conn's receiving side, held by one goroutine from
// [Conn.Receiver] to Release: a read loop's. Its calls (Receive,
// ReadDataFrame, ReadMessages, ReadFrame) are the Conn's receiving calls
// without the read lock, which each of those takes and releases: two
// atomic operations per call, for a small message as much as the rest of
// its receive. Everything else is the same: the checks, the answers to pings
// and to the peer's close, the buffer trading, the context's part, the
// errors. It has no NextReader, whose MessageReader takes the read lock
// for each Read: Release it, then use the Conn's.
//
// A Receiver is not safe for concurrent use, as a bufio.Reader is not:
// its calls, Release included, must not overlap, so Release comes after
// the last call has returned. To stop a Receive blocked in another
// goroutine, end its context or call [Conn.CloseNow]; Release then.
//
// While it is held, the Conn's own receiving calls (ReadDataFrame,
// ReadMessages, ReadFrame, ReadMessage, NextReader and a MessageReader's
// Read, a NetConn's Read) and other Receivers wait for it, bounded by
// their contexts and by the end of the connection, as they wait for each
// other; sending calls and CloseNow do not. [Conn.Close] lets the holder read the peer's answer, as it does a
// receiving call under way, and waits for it, bounded by its context (3
// seconds without a deadline). So call Close from another goroutine while
// the loop receives, or Release first: from the holder's goroutine, Close
// waits its whole deadline and closes without the peer's answer. With
// defers, defer Close before Release, so that Release runs first.
type Receiver struct {
	c *Conn // nil once released
}

// Receiver waits for the read lock, bounded by ctx and by the end of the
// connection as a receiving call's wait is, and returns the Conn's
// receiving side, which holds it until its Release. On a Conn that has
// ended already it returns a Receiver whose calls return the error every
// receiving call does. It allocates the Receiver, once per read loop.
func (c *Conn) Receiver(ctx context.Context) (*Receiver, error) {
	if err := c.lockRead(ctx); err != nil {
		return nil, err
	}
	return &Receiver{c: c}, nil
}

// Release gives the read lock back, to the Conn's receiving calls or
// another Receiver. The Receiver's calls return [ErrReleased] from then
// on; a second Release does nothing. Call it from the goroutine that
// receives, once its last call has returned: a Release while a Receive
// is under way in another goroutine lets a second reader in beside it.
func (r *Receiver) Release() {
	if c := r.c; c != nil {
		r.c = nil
		c.rlock.unlock()
	}
}

// held returns the Conn of a Receiver not released, when ctx has not
// ended: the checks of lockRead, apart from the lock.
func (r *Receiver) held(ctx context.Context) (*Conn, error) {
	if r.c == nil {
		return nil, ErrReleased
	}
	if err := ctx.Err(); err != nil {
		return nil, &TimeoutError{Op: "read", Ctx: err}
	}
	return r.c, nil
}

// Receive returns the next data message, or control frame, as
// [Conn.ReadDataFrame] does, as its opcode and payload: a result that
// fits in registers, where ReadDataFrame's frame.Frame is returned through
// memory, which costs a small message's receive a third more. The payload
// is appended to dst, or an empty dst with room is traded for the buffer
// the message arrived in, as ReadDataFrame does. With
// Config.DeliverFragments, whose fragments differ only in Fin, use
// ReadDataFrame.
func (r *Receiver) Receive(ctx context.Context, dst []byte) (frame.Opcode, []byte, error) {
	c, err := r.held(ctx)
	if err != nil {
		return 0, nil, err
	}
	return c.receive(ctx, dst)
}

// receive is ReadDataFrame under the read lock, its result in registers:
// Receive's and ReadMessage's.
func (c *Conn) receive(ctx context.Context, dst []byte) (frame.Opcode, []byte, error) {
	for {
		if op, p, ok, err := c.takeWhole(dst); ok {
			if err != nil {
				return 0, nil, c.readFailed(ctx, err)
			}
			return op, p, nil
		}
		waited, err := c.await(ctx)
		if err != nil {
			return 0, nil, c.readFailed(ctx, err)
		}
		if !waited {
			break
		}
	}
	f, err := c.readDataFrameHeld(ctx, dst)
	return f.Opcode, f.Payload, err
}

// ReadDataFrame is [Conn.ReadDataFrame] on the held receiving side.
func (r *Receiver) ReadDataFrame(ctx context.Context, dst []byte) (frame.Frame, error) {
	c, err := r.held(ctx)
	if err != nil {
		return frame.Frame{}, err
	}
	for {
		if op, p, ok, err := c.takeWhole(dst); ok {
			if err != nil {
				return frame.Frame{}, c.readFailed(ctx, err)
			}
			return frame.Frame{Header: frame.Header{Fin: true, Opcode: op, Length: int64(len(p) - len(dst))}, Payload: p}, nil
		}
		waited, err := c.await(ctx)
		if err != nil {
			return frame.Frame{}, c.readFailed(ctx, err)
		}
		if !waited {
			return c.readDataFrameHeld(ctx, dst)
		}
	}
}

// ReadFrame is [Conn.ReadFrame] on the held receiving side: the next
// frame as it arrived, control frames included, for a read loop that
// holds the receiving side and reads frames. What it saves, the lock's two
// atomic operations, is a small part of a frame's read (level with
// Conn.ReadFrame within the noise in BenchmarkReadFrameMemory). Mixing it
// with the message calls within one message fails as on the Conn
// ([ErrMixedRead]).
func (r *Receiver) ReadFrame(ctx context.Context, dst []byte) (frame.Frame, error) {
	c, err := r.held(ctx)
	if err != nil {
		return frame.Frame{}, err
	}
	if !c.asm.Open() { // else a message call's fragments: ErrMixedRead
		if _, err := c.await(ctx); err != nil {
			return frame.Frame{}, c.readFailed(ctx, err)
		}
	}
	return c.readFrameHeld(ctx, dst)
}

// ReadMessages is [Conn.ReadMessages] on the held receiving side.
func (r *Receiver) ReadMessages(ctx context.Context, ms []frame.Frame, buf []byte) (int, []byte, error) {
	if r.c != nil && len(ms) == 0 {
		return 0, buf, nil
	}
	c, err := r.held(ctx)
	if err != nil {
		return 0, buf, err
	}
	if _, err := c.await(ctx); err != nil {
		return 0, buf, c.readFailed(ctx, err)
	}
	return c.readMessages(ctx, ms, buf)
}
