package conformance

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/framewire/ws/internal/deflate"
)

// Errors of clientInflater. A message that breaks the agreed window or
// reaches into history it may not use is a client bug the suite fails.
var (
	errWindow    = errors.New("back-reference farther than the agreed window")
	errNoHistory = errors.New("back-reference before the start of the message, with no context takeover agreed")
	errCorrupt   = errors.New("invalid DEFLATE data")
	errInflated  = errors.New("inflated message over the fuzzing server's size limit")
)

// deflateTail is what a permessage-deflate sender strips from the end of a
// message and the receiver appends again (RFC 7692 §7.2.2): an empty
// stored block.
var deflateTail = [4]byte{0x00, 0x00, 0xff, 0xff}

// clientInflater inflates the messages of one direction of a
// permessage-deflate connection (RFC 7692 §7.2.2) with internal/deflate's
// Inflater, whose history is the agreed window, 2^client_max_window_bits
// bytes: a back-reference farther than the window, or, without context
// takeover, into an earlier message, is an error compress/flate's reader
// would not see.
type clientInflater struct {
	f        *deflate.Inflater
	takeover bool  // messages may refer to earlier ones
	history  int64 // bytes inflated by earlier messages, with takeover
}

func newClientInflater(bits int, takeover bool) (*clientInflater, error) {
	f, err := deflate.NewInflater(bits)
	if err != nil {
		return nil, err
	}
	return &clientInflater{f: f, takeover: takeover}, nil
}

// inflate appends the inflated form of the compressed message src to dst.
// limit caps the inflated size. An empty src is taken as an empty message,
// as zlib-based peers take it. A message may end with a final block
// (RFC 7692 §7.2.3.4); data after it is an error.
func (z *clientInflater) inflate(dst, src []byte, limit int) ([]byte, error) {
	if len(src) == 0 {
		return dst, nil
	}
	if z.takeover {
		z.f.Restart()
	} else {
		z.f.Reset()
	}
	start := len(dst)
	dst, err := inflateInto(z.f, dst, src, limit)
	switch {
	case errors.Is(err, deflate.ErrDistance):
		return dst, z.distanceError(src, limit)
	case err != nil:
		return dst, err
	}
	z.history += int64(len(dst) - start)
	return dst, nil
}

// distanceError says which rule the back-reference of src that reached
// beyond the Inflater's history broke. The Inflater does not tell the
// window from the start of the history apart, so src is inflated again
// alone with a 32 KiB window: if that works, the reference stayed inside
// the message and only the window was too small.
func (z *clientInflater) distanceError(src []byte, limit int) error {
	alone, _ := deflate.NewInflater(deflate.MaxWindowBits) // bits in range
	_, err := inflateInto(alone, nil, src, limit)
	window := 1 << z.f.WindowBits()
	switch {
	case !errors.Is(err, deflate.ErrDistance):
		return fmt.Errorf("%w of %d bytes", errWindow, window)
	case !z.takeover:
		return errNoHistory
	case z.history >= int64(window):
		return fmt.Errorf("%w of %d bytes", errWindow, window)
	}
	return fmt.Errorf("%w: back-reference before the first message, %d bytes of history", errCorrupt, z.history)
}

// inflateInto inflates src, then deflateTail, with f into dst, growing dst
// as bytes come out and never past limit bytes of output.
//
// The Inflater reads up to 7 bytes ahead of what it decodes, so bytes
// after a final block would go unseen in its read-ahead: the last
// readAhead bytes of src go in one at a time, and a final block that ends
// before the last of them leaves data after it.
func inflateInto(f *deflate.Inflater, dst, src []byte, limit int) ([]byte, error) {
	const readAhead = 8
	start := len(dst)
	for k := max(0, len(src)-readAhead); ; k++ {
		// Inflate src[:k] at once at first, then a byte at a time, then the
		// tail.
		var in []byte
		switch {
		case k == max(0, len(src)-readAhead):
			in = src[:k]
		case k <= len(src):
			in = src[k-1 : k]
		default:
			in = deflateTail[:]
		}
		for {
			if len(dst) == cap(dst) {
				dst = slices.Grow(dst, max(4<<10, len(dst)-start))
			}
			room := min(cap(dst)-len(dst), limit+1-(len(dst)-start))
			n, used, err := f.Inflate(dst[len(dst):len(dst)+room], in)
			dst, in = dst[:len(dst)+n], in[used:]
			switch {
			case len(dst)-start > limit:
				return dst, errInflated
			case err == io.EOF:
				// A final block: nothing may follow but the tail.
				if after := len(in) + max(0, len(src)-k); k <= len(src) && after > 0 {
					return dst, fmt.Errorf("%w: %d bytes after the final block", errCorrupt, after)
				}
				return dst, nil
			case err != nil:
				return dst, fmt.Errorf("%w: %w", errCorrupt, err)
			case len(in) > 0 || n == room:
				continue
			}
			break
		}
		if k > len(src) {
			break
		}
	}
	if !f.Idle() {
		return dst, fmt.Errorf("%w: the message ends inside a block", errCorrupt)
	}
	return dst, nil
}
