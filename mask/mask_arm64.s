//go:build !purego

#include "textflag.h"

// func xorNEON(p *byte, n int, key uint64)
//
// Registers: R0 next byte to mask, R1 bytes left, R2 64-bit key word for the
// position of (R0), V0 the key word in both lanes. The key repeats every 4
// bytes, so after any multiple of 4 bytes R2 still fits; only the last 1-3
// bytes shift it.
TEXT ·xorNEON(SB), NOSPLIT, $0-24
	MOVD p+0(FP), R0
	MOVD n+8(FP), R1
	MOVD key+16(FP), R2
	VDUP R2, V0.D2

loop64:
	CMP   $64, R1
	BLT   loop16
	VLD1  (R0), [V1.B16, V2.B16, V3.B16, V4.B16]
	VEOR  V0.B16, V1.B16, V1.B16
	VEOR  V0.B16, V2.B16, V2.B16
	VEOR  V0.B16, V3.B16, V3.B16
	VEOR  V0.B16, V4.B16, V4.B16
	VST1.P [V1.B16, V2.B16, V3.B16, V4.B16], 64(R0)
	SUB   $64, R1, R1
	B     loop64

loop16:
	CMP    $16, R1
	BLT    tail8
	VLD1   (R0), [V1.B16]
	VEOR   V0.B16, V1.B16, V1.B16
	VST1.P [V1.B16], 16(R0)
	SUB    $16, R1, R1
	B      loop16

tail8:
	CMP   $8, R1
	BLT   tail4
	MOVD  (R0), R3
	EOR   R2, R3, R3
	MOVD.P R3, 8(R0)
	SUB   $8, R1, R1

tail4:
	CMP    $4, R1
	BLT    tail1
	MOVWU  (R0), R3
	EORW   R2, R3, R3
	MOVW.P R3, 4(R0)
	SUB    $4, R1, R1

tail1:
	CBZ    R1, done
	MOVBU  (R0), R3
	EORW   R2, R3, R3
	MOVB.P R3, 1(R0)
	LSR    $8, R2, R2
	SUB    $1, R1, R1
	B      tail1

done:
	RET
