//go:build !purego

#include "textflag.h"

// Registers held through the whole call:
//   Y15, Y14, Y13  kernel.prevHigh, prevLow, curHigh, in both lanes
//   Y12            0x0F in every byte
//   Y8             0x80 in every byte
//   Y7, Y6         kernel.third, kernel.fourth in every byte
//   Y11            the error bits found so far (zero: none)
//   Y10            the bytes of the last block that open a sequence past
//                  its end (zero: none); checked when ASCII follows, and
//                  at the end of the input
//   Y9             the previous 32-byte block (zero before the first:
//                  it reads as ASCII)
// Y2-Y5 are scratch for CHECK.

// CHECK(cur, prev) adds to Y11 the errors of the 32 bytes in cur, the
// block that follows prev.
#define CHECK(cur, prev) \
	VPERM2I128 $0x21, cur, prev, Y2 \ // prev's high lane, cur's low lane
	VPALIGNR   $15, Y2, cur, Y3     \ // the byte before each byte
	VPSRLW     $4, Y3, Y4           \
	VPAND      Y12, Y4, Y4          \
	VPSHUFB    Y4, Y15, Y4          \
	VPAND      Y12, Y3, Y3          \
	VPSHUFB    Y3, Y14, Y3          \
	VPAND      Y3, Y4, Y4           \
	VPSRLW     $4, cur, Y3          \
	VPAND      Y12, Y3, Y3          \
	VPSHUFB    Y3, Y13, Y3          \
	VPAND      Y3, Y4, Y4           \ // the error bits of each pair
	VPALIGNR   $14, Y2, cur, Y3     \ // two bytes back
	VPSUBUSB   Y7, Y3, Y3           \
	VPALIGNR   $13, Y2, cur, Y5     \ // three bytes back
	VPSUBUSB   Y6, Y5, Y5           \
	VPOR       Y5, Y3, Y3           \
	VPAND      Y8, Y3, Y3           \ // 0x80 where a continuation byte is due
	VPXOR      Y4, Y3, Y3           \ // errTwoConts must match it
	VPOR       Y3, Y11, Y11

// func validAVX2(p *byte, n int) bool
TEXT ·validAVX2(SB), NOSPLIT, $0-17
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), DX
	LEAQ ·kernel(SB), R8
	VBROADCASTI128 0(R8), Y15
	VBROADCASTI128 16(R8), Y14
	VBROADCASTI128 32(R8), Y13
	VPBROADCASTB   80(R8), Y12
	VPBROADCASTB   81(R8), Y7
	VPBROADCASTB   82(R8), Y6
	VPBROADCASTB   83(R8), Y8
	VPXOR Y11, Y11, Y11
	VPXOR Y10, Y10, Y10
	VPXOR Y9, Y9, Y9
	XORQ  CX, CX           // offset of the next block
	LEAQ  -64(DX), BX      // the last offset with 64 bytes to go
	LEAQ  -128(DX), R9     // the last offset with 128 bytes to go

loop128:
	CMPQ    CX, R9
	JGT     loop64
	VMOVDQU (SI)(CX*1), Y0
	VMOVDQU 32(SI)(CX*1), Y1
	VMOVDQU 64(SI)(CX*1), Y3
	VMOVDQU 96(SI)(CX*1), Y4
	VPOR    Y0, Y1, Y2
	VPOR    Y3, Y4, Y5
	VPOR    Y2, Y5, Y5
	VPTEST  Y8, Y5
	JNZ     multi128
	// 128 bytes of ASCII: only a sequence left open before them can fail.
	// Until the next non-ASCII byte, the previous block reads as zeros.
	VPOR  Y10, Y11, Y11
	VPXOR Y10, Y10, Y10
	VPXOR Y9, Y9, Y9

ascii128:
	ADDQ    $128, CX
	CMPQ    CX, R9
	JGT     loop64
	VMOVDQU (SI)(CX*1), Y0
	VMOVDQU 32(SI)(CX*1), Y1
	VMOVDQU 64(SI)(CX*1), Y3
	VMOVDQU 96(SI)(CX*1), Y4
	VPOR    Y0, Y1, Y2
	VPOR    Y3, Y4, Y5
	VPOR    Y2, Y5, Y5
	VPTEST  Y8, Y5
	JZ      ascii128

multi128:
	// CHECK overwrites Y3 and Y4: load the second half again.
	CHECK(Y0, Y9)
	CHECK(Y1, Y0)
	VMOVDQU  64(SI)(CX*1), Y0
	CHECK(Y0, Y1)
	VMOVDQU  96(SI)(CX*1), Y1
	CHECK(Y1, Y0)
	VMOVDQA  Y1, Y9
	VPSUBUSB 48(R8), Y1, Y10
	ADDQ     $128, CX
	JMP      loop128

loop64:
	CMPQ CX, BX
	JGT  tail
	VMOVDQU (SI)(CX*1), Y0
	VMOVDQU 32(SI)(CX*1), Y1
	VPOR    Y0, Y1, Y2
	VPTEST  Y8, Y2
	JNZ     multi
	// 64 bytes of ASCII: only a sequence left open before them can fail.
	VPOR  Y10, Y11, Y11
	VPXOR Y10, Y10, Y10
	VPXOR Y9, Y9, Y9
	ADDQ  $64, CX
	JMP   loop64

multi:
	CHECK(Y0, Y9)
	CHECK(Y1, Y0)
	VMOVDQA  Y1, Y9
	VPSUBUSB 48(R8), Y1, Y10
	ADDQ     $64, CX
	JMP      loop64

tail:
	// 0 to 63 bytes are left. Check a whole block if more than 32 are,
	// then the last 32 bytes of the input, after the 32 before them
	// (n >= 64): the blocks may overlap what was checked already.
	CMPQ CX, DX
	JEQ  done
	MOVQ DX, AX
	SUBQ CX, AX
	CMPQ AX, $32
	JLE  last
	VMOVDQU (SI)(CX*1), Y0
	CHECK(Y0, Y9)

last:
	VMOVDQU  -32(SI)(DX*1), Y0
	VMOVDQU  -64(SI)(DX*1), Y9
	CHECK(Y0, Y9)
	VPSUBUSB 48(R8), Y0, Y10

done:
	VPOR   Y10, Y11, Y11
	VPTEST Y11, Y11
	SETEQ  ret+16(FP)
	VZEROUPPER
	RET
