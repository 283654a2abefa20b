// Package deflate is framewire's compressor and inflater for
// permessage-deflate (RFC 7692): a windowed LZ77 matcher with Huffman
// coding that writes a raw DEFLATE stream (RFC 1951) any inflater reads,
// compress/flate's included, and an [Inflater] that decodes any such
// stream with only the window the peer agreed to.
//
// # Why not compress/flate
//
// compress/flate always keeps a 32 KiB window and about 1 MB of state per
// writer, and cannot be told to keep back-references shorter. A
// [Compressor] holds only the window the peer agreed to (RFC 7692 §7.1.2,
// 2^8 to 2^15 bytes), so a connection with context takeover stays small.
//
// # Messages
//
// A message is compressed with [Compressor.Compress] (as many calls as the
// message has pieces) and ended with [Compressor.Flush], which closes the
// current block and appends a sync flush: an empty stored block whose last
// four bytes, 00 00 ff ff, the caller strips before framing (RFC 7692
// §7.2.1). With context takeover the next message goes on with the same
// history; without it the caller calls [Compressor.Reset] after each Flush
// and every message decodes on its own.
//
// # Window bits
//
// With [Config.WindowBits] = b, no back-reference reaches farther than 2^b
// bytes, for every b from 8 to 15. zlib silently widens a window of 8 bits
// to 9 (RFC 7692 §7.1.2.1 warns of it); this package does not: 8 means 256
// bytes, which is what a strict peer's inflater checks.
//
// # Blocks
//
// Each block is written as the cheapest of its three encodings (RFC 1951
// §3.2.3): dynamic Huffman codes built from the block's own symbol counts
// and limited to 15 bits, the fixed codes, or stored, so that input that
// does not compress grows by only a few bytes per block.
//
// # Build tags
//
// On amd64 and arm64 the match search loads its eight-byte words without
// a bounds check, at offsets its own bounds keep inside the buffer; the
// purego tag, and every other architecture, uses the checked load, so
// that the same output comes from a build that checks every access.
//
// # Inflating
//
// An [Inflater] decodes what compress/flate decodes, rejects what it
// rejects (it is fuzzed against it), and differs in three ways that a
// connection needs. Its history is 2^WindowBits bytes, the peer's agreed
// server_max_window_bits, not always 32 KiB; a back-reference beyond it is
// [ErrDistance]. It takes input in pieces of any size and stops at the end
// of each with its state kept, so a message that arrives in fragments, or
// a read that times out, only pauses it. And it decodes into the caller's
// buffer, whatever its size, with its tables built in place: inflating
// allocates nothing.
//
// # Memory
//
// The state is a byte buffer of twice the window and a hash table of
// uint16 positions, allocated once by [NewCompressor]. During a message a
// Compressor also holds a block's symbols, 64 KiB (16 KiB with a window
// of 1 KiB or less), borrowed from a pool at the first Compress and given
// back by Flush and Reset, so that blocks are large enough to amortise
// their Huffman tables while a Compressor between messages holds only its
// history and hash table. [Compressor.Size] reports the bytes held.
// Compressing allocates nothing once the caller's output slice has grown
// and the pool has buffers.
package deflate
