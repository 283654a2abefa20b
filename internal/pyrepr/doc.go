// Package pyrepr writes values as websocket-client prints them: a byte
// string as Python's repr of a bytes object (b'hi'), a frame as str() of an
// ABNF (fin=1 opcode=1 data=b'hi').
//
// # Users
//
// These are the text formats of websocket-client's enableTrace output, which
// the conn package's io.Writer trace reproduces byte for byte, and of the
// wsdump and wsdemo commands. Nothing else should speak Python: frame.Frame's
// own String method is Go's.
//
// # Byte strings
//
// [AppendBytes] quotes with ' unless the bytes contain a ' and no ", then
// with "; it escapes the backslash and the quote in use, writes \t, \n and
// \r by name and any other byte outside printable ASCII (0x20-0x7E) as \xhh
// with lower-case hex digits. This is what CPython's bytes.__repr__ does.
package pyrepr
