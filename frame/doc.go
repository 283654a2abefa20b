// Package frame is the WebSocket frame of RFC 6455 §5.2: its header, its
// validation and its wire encoding.
//
// # Frames
//
// [Frame] is websocket-client's ABNF: a [Header] (fin, rsv1-3, opcode, mask
// flag and key, payload length) and an unmasked payload. [New] builds a
// frame as a client sends it (ABNF.create_frame), [Frame.AppendBinary]
// encodes it (ABNF.format) and [Frame.Validate] checks it (ABNF.validate).
// Encoding appends to the caller's slice, so a sender that keeps its buffer
// encodes without allocating.
//
// A Frame's payload length is len(Payload): AppendBinary and Validate take
// it from the payload and ignore Header.Length, which only a Header on its
// own (from [ParseHeader], or before its payload is read) needs. A frame
// literal may leave Length out.
//
// # Lengths
//
// The payload length is written in its shortest form (§5.2): up to
// [Max7BitLength] (125) in the header's second byte, up to [Max16BitLength]
// (65535) in 16 more bits, and above that in 64 bits. websocket-client's
// ABNF.LENGTH_7 and LENGTH_16 are the first lengths of the longer forms,
// Max7BitLength+1 and Max16BitLength+1. Its LENGTH_63 has no counterpart:
// Header.Length is an int64, so every length it holds fits the 64-bit form.
// [MaxControlPayload] (also 125) is the §5.5 limit of a control frame's
// payload.
//
// # Decoding
//
// [ParseHeader] decodes a header from bytes, [DecodeHeader] does the same
// into a Header the caller holds, and [ReadHeader] reads one from an
// io.Reader; all three are the same decoder. They accept only the shortest
// length encoding and reject a 64-bit length with its top bit set (§5.2).
// Reading whole frames from a stream is the reader package's job.
// [ParseClose] checks and decodes a close frame's payload in one pass.
//
// # Extensions
//
// A [Policy] allows the reserved bits a negotiated extension owns, only
// on the first frame of a data message, as RFC 7692 defines RSV1 for
// permessage-deflate; the zero Policy refuses every reserved bit.
//
// # Errors
//
// Every rule violation is an [*Error] carrying the close code with which a
// receiver fails the connection (§7.1.7): 1002 ([ErrProtocol]) for a
// malformed frame and 1007 ([ErrInvalidPayload]) for a close reason that is
// not UTF-8. Specific sentinels such as [ErrReservedOpcode] match with
// errors.Is, and errors.As yields the code.
//
// # Differences from websocket-client
//
// Validation is strict where websocket-client is lenient: close and pong
// frames must be final, every control payload is at most 125 bytes, and
// non-minimal or top-bit lengths are refused when decoding. Encoding does
// not refuse reserved opcodes or bits, so test peers can send them; call
// Validate first to refuse them.
package frame
