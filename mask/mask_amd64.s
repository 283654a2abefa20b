//go:build !purego

#include "textflag.h"

// Register use in every kernel:
//	DI  next byte to mask
//	CX  bytes left
//	AX  64-bit key word for the position of (DI)
// The key repeats every 4 bytes, so after any multiple of 4 bytes AX still
// fits; only the last 1-3 bytes shift it.

// func xorSSE2(p *byte, n int, key uint64)
TEXT ·xorSSE2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ key+16(FP), AX
	MOVQ AX, X0
	PUNPCKLQDQ X0, X0

sse2Loop64:
	CMPQ CX, $64
	JB   sse2Loop16
	MOVOU 0(DI), X1
	MOVOU 16(DI), X2
	MOVOU 32(DI), X3
	MOVOU 48(DI), X4
	PXOR  X0, X1
	PXOR  X0, X2
	PXOR  X0, X3
	PXOR  X0, X4
	MOVOU X1, 0(DI)
	MOVOU X2, 16(DI)
	MOVOU X3, 32(DI)
	MOVOU X4, 48(DI)
	ADDQ  $64, DI
	SUBQ  $64, CX
	JMP   sse2Loop64

sse2Loop16:
	CMPQ  CX, $16
	JB    sse2Tail
	MOVOU (DI), X1
	PXOR  X0, X1
	MOVOU X1, (DI)
	ADDQ  $16, DI
	SUBQ  $16, CX
	JMP   sse2Loop16

sse2Tail:
	CALL tail<>(SB)
	RET

// func xorAVX2(p *byte, n int, key uint64)
TEXT ·xorAVX2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ key+16(FP), AX
	MOVQ AX, X0
	VPBROADCASTQ X0, Y0

avx2Loop128:
	CMPQ    CX, $128
	JB      avx2Loop32
	VPXOR   0(DI), Y0, Y1
	VPXOR   32(DI), Y0, Y2
	VPXOR   64(DI), Y0, Y3
	VPXOR   96(DI), Y0, Y4
	VMOVDQU Y1, 0(DI)
	VMOVDQU Y2, 32(DI)
	VMOVDQU Y3, 64(DI)
	VMOVDQU Y4, 96(DI)
	ADDQ    $128, DI
	SUBQ    $128, CX
	JMP     avx2Loop128

avx2Loop32:
	CMPQ    CX, $32
	JB      avx2Half
	VPXOR   (DI), Y0, Y1
	VMOVDQU Y1, (DI)
	ADDQ    $32, DI
	SUBQ    $32, CX
	JMP     avx2Loop32

avx2Half:
	CMPQ    CX, $16
	JB      avx2Tail
	VPXOR   (DI), X0, X1
	VMOVDQU X1, (DI)
	ADDQ    $16, DI
	SUBQ    $16, CX

avx2Tail:
	VZEROUPPER
	CALL tail<>(SB)
	RET

// func xorAVX512(p *byte, n int, key uint64)
//
// The last 1-63 bytes are done with one masked load and store, so there is
// no scalar tail.
TEXT ·xorAVX512(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ key+16(FP), AX
	VPBROADCASTQ AX, Z0

avx512Loop256:
	CMPQ      CX, $256
	JB        avx512Loop64
	VPXORQ    0(DI), Z0, Z1
	VPXORQ    64(DI), Z0, Z2
	VPXORQ    128(DI), Z0, Z3
	VPXORQ    192(DI), Z0, Z4
	VMOVDQU64 Z1, 0(DI)
	VMOVDQU64 Z2, 64(DI)
	VMOVDQU64 Z3, 128(DI)
	VMOVDQU64 Z4, 192(DI)
	ADDQ      $256, DI
	SUBQ      $256, CX
	JMP       avx512Loop256

avx512Loop64:
	CMPQ      CX, $64
	JB        avx512Tail
	VPXORQ    (DI), Z0, Z1
	VMOVDQU64 Z1, (DI)
	ADDQ      $64, DI
	SUBQ      $64, CX
	JMP       avx512Loop64

avx512Tail:
	TESTQ    CX, CX
	JZ       avx512Done
	MOVQ     $1, BX
	SHLQ     CX, BX
	DECQ     BX
	KMOVQ    BX, K1
	VMOVDQU8 (DI), K1, Z1
	VPXORQ   Z0, Z1, Z1
	VMOVDQU8 Z1, K1, (DI)

avx512Done:
	VZEROUPPER
	RET

// tail masks the last 0-15 bytes at DI (count in CX) with the key in AX.
// It uses only general registers, so AVX callers may run VZEROUPPER first.
TEXT tail<>(SB), NOSPLIT|NOFRAME, $0-0
	CMPQ CX, $8
	JB   tail4
	XORQ AX, (DI)
	ADDQ $8, DI
	SUBQ $8, CX

tail4:
	CMPQ CX, $4
	JB   tail1
	XORL AX, (DI)
	ADDQ $4, DI
	SUBQ $4, CX

tail1:
	TESTQ CX, CX
	JZ    tailDone
	XORB  AL, (DI)
	INCQ  DI
	SHRQ  $8, AX
	DECQ  CX
	JMP   tail1

tailDone:
	RET
