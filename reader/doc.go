// Package reader reads WebSocket frames (RFC 6455 §5.2) from a byte stream
// such as a net.Conn.
//
// # Frames
//
// A [Reader] decodes each header in its buffer with [frame.DecodeHeader],
// the one header decoder, and validates it before any payload is read:
// reserved bits (only those its [frame.Policy] allows, and only on the
// first frame of a data message) and opcodes, control frame rules (§5.5), masking for its role (§5.1:
// a client rejects masked frames, a server unmasked ones), the shortest
// length encoding and the frame size limit. [Reader.ReadFrame] returns a
// whole frame with its payload unmasked (§5.3); [Reader.ReadHeader] with
// [Reader.Read] streams one frame's payload, unmasked, without holding it
// in memory, and [Reader.Discard] skips it.
//
// # Messages of one frame
//
// The common message, one final text or binary frame with no reserved bit,
// has a fast path: [Reader.ReadBuffered] decodes its header in place and
// appends its payload to the caller's slice when all of it is buffered,
// with no read of the source, and [Reader.ReadWhole] first reads a binary
// frame that fits the read buffer until it is whole. Both make the checks
// above; a frame of any other shape is left, unconsumed, to ReadHeader or
// ReadFrame. A text frame is taken only once whole, so that a caller
// streaming it can check its UTF-8 as its bytes arrive.
// [Reader.ReadBufferedFrames] takes every such frame whole in the buffer
// in one call, for a caller that receives in bursts, and
// [Reader.ControlBuffered] tells whether a control frame between them can
// be read without a read of the source.
//
// # Limits
//
// MaxFrameSize is on by default (16 MiB). No allocation is ever sized from
// a length the peer declared: ReadFrame's payload buffer starts small and
// doubles as bytes arrive, up to the declared length.
//
// # Ownership
//
// The Payload of a Frame returned by ReadFrame is valid until the next call
// on the Reader, which reuses the buffer; copy it to keep it. Steady-state
// ReadFrame allocates nothing.
//
// # Timeouts
//
// An error from the source leaves the Reader where it was. When a read
// deadline passes in the middle of a header, an extended length, a masking
// key or a payload, the source's error is returned unchanged (so
// errors.Is(err, os.ErrDeadlineExceeded) holds) and the next call continues
// the same frame, with no byte lost. A protocol error is final: the Reader
// returns it from every call until [Reader.Reset].
//
// # Memory
//
// The read buffer is taken from a package-level cache of buffers
// (sync.Pool, one per power-of-two size) when a read starts, and given back
// when the call ends with nothing left buffered, so an idle Reader holds no
// read buffer. The cache holds no state a caller can observe. ReadFrame's
// payload buffer stays with the Reader for the next frame unless it grew
// past 1 MiB. A call waiting for the next frame on a TCP or Unix socket
// holds no buffer at all: it waits for the socket to be readable, then
// takes one. [Reader.Wait] does that wait alone, so that a goroutine can
// wait near the top of its stack and keep the smallest stack a goroutine
// has.
//
// # websocket-client
//
// Reader is frame_buffer. It is stricter: masked frames from a server,
// non-minimal lengths, a set top bit in a 64-bit length, fragmented close
// and pong frames and long pongs are errors, frames have a size limit, and
// a bad header fails before its payload is read.
package reader
