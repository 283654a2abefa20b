//go:build !purego

#include "textflag.h"

// Every kernel masks n bytes at p with a 64-bit key word whose byte 0 is the
// key byte for p[0].
//
// Registers:
//	DI  p, the first byte
//	SI  p+n, one past the last byte
//	AX  key word for the position of (DI)
//	BX  next aligned byte to mask
//	CX, DX  scratch
//
// The key repeats every 4 bytes, so the word for the position of p+h is AX
// rotated right by 8*h bits. RORQ takes its count mod 64, and 8*h mod 64 is
// 8*(h%8): the same rotation of a word with a 32-bit period. The last vector
// window, at p+n-V for a vector of V = 16, 32 or 64 bytes, therefore needs
// AX rotated by 8*n.
//
// For n >= V the kernels work like this:
//	1. Load and mask the vector at p (the head) and the vector that ends at
//	   p+n (the tail). Both may be unaligned.
//	2. Mask the aligned vectors from the first vector boundary at or after
//	   p up to the last one that ends at or before p+n.
//	3. Store the head and the tail.
// The head and the tail overlap bytes of step 2, and may overlap each
// other. That is safe because every vector is loaded before any store can
// reach it, so each byte is computed from its original value and all stores
// to it write the same result. Storing the head and tail last also keeps
// every load in step 2 clear of an earlier store to an overlapping range.
//
// Shorter inputs: below 16 bytes SSE2 and AVX2 use general registers only
// (short); AVX2 covers 16-31 bytes with a 16-byte head and tail; AVX-512
// covers 1-63 bytes with one masked load and store.

// func xorSSE2(p *byte, n int, key uint64)
TEXT ·xorSSE2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ key+16(FP), AX
	CMPQ CX, $16
	JB   sse2Short
	LEAQ (DI)(CX*1), SI

	// Head and tail.
	MOVQ       AX, X0
	PUNPCKLQDQ X0, X0
	MOVOU      (DI), X1
	PXOR       X0, X1
	SHLQ       $3, CX
	MOVQ       AX, DX
	RORQ       CX, DX
	MOVQ       DX, X2
	PUNPCKLQDQ X2, X2
	MOVOU      -16(SI), X3
	PXOR       X2, X3

	// Key for the first aligned vector.
	LEAQ       15(DI), BX
	ANDQ       $-16, BX
	MOVQ       BX, CX
	SUBQ       DI, CX
	SHLQ       $3, CX
	MOVQ       AX, DX
	RORQ       CX, DX
	MOVQ       DX, X0
	PUNPCKLQDQ X0, X0

	LEAQ -64(SI), CX

sse2Loop64:
	CMPQ  BX, CX
	JA    sse2Loop16Start
	MOVO  0(BX), X4
	MOVO  16(BX), X5
	MOVO  32(BX), X6
	MOVO  48(BX), X7
	PXOR  X0, X4
	PXOR  X0, X5
	PXOR  X0, X6
	PXOR  X0, X7
	MOVO  X4, 0(BX)
	MOVO  X5, 16(BX)
	MOVO  X6, 32(BX)
	MOVO  X7, 48(BX)
	ADDQ  $64, BX
	JMP   sse2Loop64

sse2Loop16Start:
	LEAQ -16(SI), CX

sse2Loop16:
	CMPQ BX, CX
	JA   sse2Ends
	MOVO (BX), X4
	PXOR X0, X4
	MOVO X4, (BX)
	ADDQ $16, BX
	JMP  sse2Loop16

sse2Ends:
	MOVOU X1, (DI)
	MOVOU X3, -16(SI)
	RET

sse2Short:
	CALL short<>(SB)
	RET

// func xorAVX2(p *byte, n int, key uint64)
TEXT ·xorAVX2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ key+16(FP), AX
	CMPQ CX, $16
	JB   avx2Short
	LEAQ (DI)(CX*1), SI
	MOVQ AX, X0
	SHLQ $3, CX
	MOVQ AX, DX
	RORQ CX, DX
	MOVQ DX, X2
	CMPQ CX, $8*32
	JB   avx2Pair

	// Head and tail.
	VPBROADCASTQ X0, Y0
	VPBROADCASTQ X2, Y2
	VPXOR        (DI), Y0, Y1
	VPXOR        -32(SI), Y2, Y3

	// Key for the first aligned vector.
	LEAQ         31(DI), BX
	ANDQ         $-32, BX
	MOVQ         BX, CX
	SUBQ         DI, CX
	SHLQ         $3, CX
	MOVQ         AX, DX
	RORQ         CX, DX
	MOVQ         DX, X0
	VPBROADCASTQ X0, Y0

	LEAQ -128(SI), CX

avx2Loop128:
	CMPQ    BX, CX
	JA      avx2Loop32Start
	VPXOR   0(BX), Y0, Y4
	VPXOR   32(BX), Y0, Y5
	VPXOR   64(BX), Y0, Y6
	VPXOR   96(BX), Y0, Y7
	VMOVDQA Y4, 0(BX)
	VMOVDQA Y5, 32(BX)
	VMOVDQA Y6, 64(BX)
	VMOVDQA Y7, 96(BX)
	ADDQ    $128, BX
	JMP     avx2Loop128

avx2Loop32Start:
	LEAQ -32(SI), CX

avx2Loop32:
	CMPQ    BX, CX
	JA      avx2Ends
	VPXOR   (BX), Y0, Y4
	VMOVDQA Y4, (BX)
	ADDQ    $32, BX
	JMP     avx2Loop32

avx2Ends:
	VMOVDQU Y1, (DI)
	VMOVDQU Y3, -32(SI)
	VZEROUPPER
	RET

	// 16 <= n < 32: a 16-byte head and tail cover it all.
avx2Pair:
	VPBROADCASTQ X0, X0
	VPBROADCASTQ X2, X2
	VPXOR        (DI), X0, X1
	VPXOR        -16(SI), X2, X3
	VMOVDQU      X1, (DI)
	VMOVDQU      X3, -16(SI)
	VZEROUPPER
	RET

avx2Short:
	CALL short<>(SB)
	RET

// func xorAVX512(p *byte, n int, key uint64)
//
// Below 64 bytes it does one masked load and store.
TEXT ·xorAVX512(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ key+16(FP), AX
	CMPQ CX, $64
	JB   avx512Masked
	LEAQ (DI)(CX*1), SI

	// Head and tail.
	VPBROADCASTQ AX, Z0
	SHLQ         $3, CX
	MOVQ         AX, DX
	RORQ         CX, DX
	VPBROADCASTQ DX, Z2
	VPXORQ       (DI), Z0, Z1
	VPXORQ       -64(SI), Z2, Z3

	// Key for the first aligned vector.
	LEAQ         63(DI), BX
	ANDQ         $-64, BX
	MOVQ         BX, CX
	SUBQ         DI, CX
	SHLQ         $3, CX
	MOVQ         AX, DX
	RORQ         CX, DX
	VPBROADCASTQ DX, Z0

	LEAQ -256(SI), CX

avx512Loop256:
	CMPQ      BX, CX
	JA        avx512Loop64Start
	VPXORQ    0(BX), Z0, Z4
	VPXORQ    64(BX), Z0, Z5
	VPXORQ    128(BX), Z0, Z6
	VPXORQ    192(BX), Z0, Z7
	VMOVDQA64 Z4, 0(BX)
	VMOVDQA64 Z5, 64(BX)
	VMOVDQA64 Z6, 128(BX)
	VMOVDQA64 Z7, 192(BX)
	ADDQ      $256, BX
	JMP       avx512Loop256

avx512Loop64Start:
	LEAQ -64(SI), CX

avx512Loop64:
	CMPQ      BX, CX
	JA        avx512Ends
	VPXORQ    (BX), Z0, Z4
	VMOVDQA64 Z4, (BX)
	ADDQ      $64, BX
	JMP       avx512Loop64

avx512Ends:
	VMOVDQU64 Z1, (DI)
	VMOVDQU64 Z3, -64(SI)
	VZEROUPPER
	RET

avx512Masked:
	TESTQ        CX, CX
	JZ           avx512Done
	MOVQ         $1, BX
	SHLQ         CX, BX
	DECQ         BX
	KMOVQ        BX, K1
	VPBROADCASTQ AX, Z0
	VMOVDQU8.Z   (DI), K1, Z1
	VPXORQ       Z0, Z1, Z1
	VMOVDQU8     Z1, K1, (DI)
	VZEROUPPER

avx512Done:
	RET

// short masks the 0-15 bytes at DI (count in CX) with the key in AX, in
// general registers only.
TEXT short<>(SB), NOSPLIT|NOFRAME, $0-0
	CMPQ CX, $8
	JB   short4
	XORQ AX, (DI)
	ADDQ $8, DI
	SUBQ $8, CX

short4:
	CMPQ CX, $4
	JB   short1
	XORL AX, (DI)
	ADDQ $4, DI
	SUBQ $4, CX

short1:
	TESTQ CX, CX
	JZ    shortDone
	XORB  AL, (DI)
	INCQ  DI
	SHRQ  $8, AX
	DECQ  CX
	JMP   short1

shortDone:
	RET
