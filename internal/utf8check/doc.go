// Package utf8check validates UTF-8 (RFC 3629) for text messages and close
// reasons (RFC 6455 §5.6, §8.1).
//
// # Whole buffers
//
// [Valid] reports whether a complete buffer is well-formed UTF-8. Inputs
// shorter than 64 bytes are checked here, eight or more bytes at a time
// while the input is ASCII and one sequence at a time after a byte with
// its high bit set. Longer ones go, on amd64 with AVX2, to a vector kernel
// that classifies every byte with the three before it by table lookups
// (the "range" method of Keiser and Lemire) and skips ASCII 128 bytes at a
// time; elsewhere to the standard library's unicode/utf8.Valid, which
// checks the same rules.
//
// # Streams
//
// A [Validator] checks a text message that arrives in pieces: fragments of a
// message, or chunks of one frame's payload read from the network. Its
// [Validator.Write] reports a failure as soon as the byte that makes the
// input invalid arrives, even when a multi-byte sequence is split between
// calls, so a receiver can fail the connection with close code 1007 early
// (RFC 6455 §8.1, "fail fast"). [Validator.Complete] reports whether the
// input seen so far ends on a character boundary, which a finished message
// must. A piece of 64 bytes or more goes to the same kernel as [Valid],
// except for the at most three bytes of a sequence it leaves open: their
// state carries over to the next Write.
//
// # Rules
//
// Both check the ranges of RFC 3629 §4: overlong forms, UTF-16 surrogates
// (U+D800-U+DFFF) and code points above U+10FFFF are rejected. The results
// agree with the standard library's unicode/utf8.Valid.
//
// # Build tags
//
// The word-at-a-time ASCII scan, the vector kernel and the hand-off to
// unicode/utf8 are the fast path. The purego build tag turns them off and
// leaves the byte-at-a-time reference, against which the fast path is
// fuzzed.
package utf8check
