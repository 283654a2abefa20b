package bench

import (
	_ "unsafe" // for go:linkname

	_ "github.com/coder/websocket"
	_ "github.com/gorilla/websocket"
	_ "github.com/lxzan/gws"
)

// gorilla/websocket, coder/websocket and lxzan/gws do not export their
// masking kernels. The benchmarks reach the unexported functions through
// go:linkname so that every library's own kernel is measured as shipped;
// nothing is copied. If a peer renames its kernel the link fails at build
// time, and the names below are the place to update. None of the kernels
// keeps its arguments, which go:noescape tells the compiler (a declaration
// without a body is otherwise assumed to leak them).

//go:noescape
//go:linkname gorillaMaskBytes github.com/gorilla/websocket.maskBytes
func gorillaMaskBytes(key [4]byte, pos int, b []byte) int

//go:noescape
//go:linkname coderMask github.com/coder/websocket.mask
func coderMask(b []byte, key uint32) uint32

//go:noescape
//go:linkname gwsMaskXOR github.com/lxzan/gws/internal.MaskXOR
func gwsMaskXOR(b []byte, key []byte)
