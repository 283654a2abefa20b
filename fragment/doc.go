// Package fragment reassembles fragmented WebSocket messages (RFC 6455
// §5.4) and checks them as their bytes arrive.
//
// # Reassembly
//
// An [Assembler] takes the data frames of a connection in order, with
// [Assembler.Add] for whole frames or [Assembler.Begin], [Assembler.Write]
// and [Assembler.End] for a frame whose payload is still being read; a
// reader can also fill the Assembler's buffer in place, with
// [Assembler.Grow] and [Assembler.Commit] instead of Write, and save a
// copy. It
// enforces the rules of §5.4: a message starts with a text or binary frame,
// continues with continuation frames and ends with the frame that has FIN
// set; control frames (§5.5) may come between fragments and pass through
// without touching the open message. A continuation with no message open
// is [ErrUnexpectedContinuation]; a text or binary frame while one is open
// is [ErrMissingContinuation].
//
// # Limits and text
//
// MaxMessageSize (32 MiB unless set) is enforced as bytes arrive
// ([ErrMessageTooBig], close code 1009). The payload of a text message is
// checked for UTF-8 (§5.6, §8.1) incrementally, across fragments and
// across the Write calls of one frame, so the first byte that cannot be
// part of UTF-8 text fails the message ([ErrInvalidUTF8], close code
// 1007); a message that ends inside a multi-byte character fails too.
//
// # Ownership
//
// Message.Payload is valid until the next call to Add or Begin; the
// Assembler reuses its buffer, which doubles as bytes arrive (see
// [Assembler.Grow]), so reassembly is linear in the size of the message, and
// never holds more than MaxMessageSize; a buffer over 1 MiB is dropped when
// the next message begins, so one large message does not stay in memory.
// A message that is one frame comes
// back from Add without a copy, as the frame's own payload.
//
// # websocket-client
//
// Assembler is continuous_frame. It differs on purpose: UTF-8 is checked
// as bytes arrive rather than at the end of the message, a text message
// ending inside a character is an error, DeliverFragments mode still checks
// UTF-8, the two kinds of "Illegal frame" are distinct errors, and messages
// have a size limit.
package fragment
