//go:build amd64 && !purego

// Hand-written F16C conversions (8 values per instruction).

#include "textflag.h"

// func cvtPH2PS(dst *float32, src *uint16, n int)
// n is a multiple of 8.
TEXT ·cvtPH2PS(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX          // groups of 8
	JZ   ph2ps_done
ph2ps_loop:
	VCVTPH2PS (SI), Y0   // 8 halves -> 8 floats, exact
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       ph2ps_loop
ph2ps_done:
	VZEROUPPER
	RET

// func cvtPS2PH(dst *uint16, src *float32, n int)
// n is a multiple of 8. Rounds to nearest even (imm8 = 0).
TEXT ·cvtPS2PH(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   ps2ph_done
ps2ph_loop:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X1 // 8 floats -> 8 halves, round to nearest even
	VMOVDQU   X1, (DI)
	ADDQ      $32, SI
	ADDQ      $16, DI
	DECQ      CX
	JNZ       ps2ph_loop
ps2ph_done:
	VZEROUPPER
	RET
