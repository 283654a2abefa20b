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
// # Decoding
//
// [ParseHeader] decodes a header from bytes and [ReadHeader] from an
// io.Reader. Both accept only the shortest length encoding and reject a
// 64-bit length with its top bit set (§5.2). Reading whole frames from a
// stream is the reader package's job.
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
