//go:build amd64 && !purego

#include "textflag.h"

// Row movers for the 8-bit phase planes (qconv_planes.go): whole planes per
// call, so rows of a few dozen bytes cost no Go call each. AVX-512BW.

// func fillBytesAVX512(dst *byte, n int, v uint64)
TEXT ·fillBytesAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ v+16(FP), AX
	VPBROADCASTB AX, Z0
fb_loop:
	CMPQ CX, $64
	JL   fb_tail
	VMOVDQU8 Z0, (DI)
	ADDQ $64, DI
	SUBQ $64, CX
	JMP  fb_loop
fb_tail:
	TESTQ CX, CX
	JZ   fb_done
	MOVQ $-1, AX
	BZHIQ CX, AX, AX
	KMOVQ AX, K1
	VMOVDQU8 Z0, K1, (DI)
fb_done:
	VZEROUPPER
	RET

// func copyRowsAVX512(dst, src *byte, rows, w, ds, ss int)
// Copies rows rows of w bytes, src rows ss apart, dst rows ds apart. Each
// row is moved with unmasked loads and stores that may overlap inside the
// row (the memcpy trick: the first and the last 2^k bytes), because
// byte-masked stores are slow on some cores (AMD's).
TEXT ·copyRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ w+24(FP), R9
	MOVQ ds+32(FP), R10
	MOVQ ss+40(FP), R11
	TESTQ R8, R8
	JZ   cr_done
	CMPQ R9, $64
	JGE  cr_big
	CMPQ R9, $32
	JGE  cr_32
	CMPQ R9, $16
	JGE  cr_16
	CMPQ R9, $8
	JGE  cr_8
	CMPQ R9, $4
	JGE  cr_4
cr_1:	// 1..3 bytes
	XORQ CX, CX
cr_1b:
	MOVB (SI)(CX*1), AX
	MOVB AX, (DI)(CX*1)
	INCQ CX
	CMPQ CX, R9
	JLT  cr_1b
	ADDQ R10, DI
	ADDQ R11, SI
	DECQ R8
	JNZ  cr_1
	JMP  cr_done
cr_4:	// 4..7 bytes
	MOVL (SI), AX
	MOVL -4(SI)(R9*1), BX
	MOVL AX, (DI)
	MOVL BX, -4(DI)(R9*1)
	ADDQ R10, DI
	ADDQ R11, SI
	DECQ R8
	JNZ  cr_4
	JMP  cr_done
cr_8:	// 8..15 bytes
	MOVQ (SI), AX
	MOVQ -8(SI)(R9*1), BX
	MOVQ AX, (DI)
	MOVQ BX, -8(DI)(R9*1)
	ADDQ R10, DI
	ADDQ R11, SI
	DECQ R8
	JNZ  cr_8
	JMP  cr_done
cr_16:	// 16..31 bytes
	VMOVDQU (SI), X0
	VMOVDQU -16(SI)(R9*1), X1
	VMOVDQU X0, (DI)
	VMOVDQU X1, -16(DI)(R9*1)
	ADDQ R10, DI
	ADDQ R11, SI
	DECQ R8
	JNZ  cr_16
	JMP  cr_done
cr_32:	// 32..63 bytes
	VMOVDQU (SI), Y0
	VMOVDQU -32(SI)(R9*1), Y1
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, -32(DI)(R9*1)
	ADDQ R10, DI
	ADDQ R11, SI
	DECQ R8
	JNZ  cr_32
	JMP  cr_done
cr_big:	// 64 or more: whole chunks, then the last 64 bytes (overlapping)
	LEAQ -64(R9), R12
cr_row:
	XORQ CX, CX
cr_chunk:
	CMPQ CX, R12
	JGE  cr_last
	VMOVDQU64 (SI)(CX*1), Z0
	VMOVDQU64 Z0, (DI)(CX*1)
	ADDQ $64, CX
	JMP  cr_chunk
cr_last:
	VMOVDQU64 (SI)(R12*1), Z0
	VMOVDQU64 Z0, (DI)(R12*1)
	ADDQ R10, DI
	ADDQ R11, SI
	DECQ R8
	JNZ  cr_row
cr_done:
	VZEROUPPER
	RET

// func gatherRows2AVX512(dst, src *byte, rows, w, ds, ss int)
// dst row r gets w bytes src[r*ss + 2j]; reads src[r*ss .. r*ss+2w-2]
// (w >= 1).
TEXT ·gatherRows2AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ w+24(FP), R9
	MOVQ ds+32(FP), R10
	MOVQ ss+40(FP), R11
	// Whole chunks of 32 outputs while more follow; the last 1..32
	// outputs load exactly 2*rest-1 bytes (never past the last one read).
	LEAQ -1(R9), R12
	ANDQ $-32, R12
	MOVQ R9, AX
	SUBQ R12, AX                // rest, 1..32
	MOVQ $-1, BX
	BZHIQ AX, BX, DX
	KMOVQ DX, K1                // its output bytes
	LEAQ -1(AX)(AX*1), AX       // 2*rest-1 input bytes
	BZHIQ AX, BX, BX
	KMOVQ BX, K2
gr_row:
	TESTQ R8, R8
	JZ   gr_done
	XORQ CX, CX                 // output index
gr_chunk:
	CMPQ CX, R12
	JGE  gr_rest
	VMOVDQU8 (SI)(CX*2), Z0
	VPMOVWB Z0, Y1              // low (even) byte of each word
	VMOVDQU Y1, (DI)(CX*1)
	ADDQ $32, CX
	JMP  gr_chunk
gr_rest:
	CMPQ CX, R9
	JGE  gr_next
	VMOVDQU8.Z (SI)(CX*2), K2, Z0
	VPMOVWB Z0, Y1
	VMOVDQU8 Y1, K1, (DI)(CX*1)
gr_next:
	ADDQ R10, DI
	ADDQ R11, SI
	DECQ R8
	JMP  gr_row
gr_done:
	VZEROUPPER
	RET

// func gatherRows2F32AVX512(dst, src *float32, rows, w, ds, ss int)
// dst row r gets w floats src[r*ss + 2j] (w >= 1; strides in floats):
// VPMOVQD keeps the low (even) float of each pair.
TEXT ·gatherRows2F32AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ w+24(FP), R9
	MOVQ ds+32(FP), R10
	MOVQ ss+40(FP), R11
	SHLQ $2, R10
	SHLQ $2, R11
	LEAQ -1(R9), R12
	ANDQ $-8, R12               // whole chunks of 8 outputs while more follow
	MOVQ R9, AX
	SUBQ R12, AX                // rest, 1..8
	MOVQ $-1, BX
	BZHIQ AX, BX, DX
	KMOVW DX, K1                // its outputs
	LEAQ -1(AX)(AX*1), AX       // 2*rest-1 input floats
	BZHIQ AX, BX, BX
	KMOVW BX, K2
gf_row:
	TESTQ R8, R8
	JZ   gf_done
	XORQ CX, CX
gf_chunk:
	CMPQ CX, R12
	JGE  gf_rest
	VMOVUPS (SI)(CX*8), Z0
	VPMOVQD Z0, Y1
	VMOVUPS Y1, (DI)(CX*4)
	ADDQ $8, CX
	JMP  gf_chunk
gf_rest:
	VMOVUPS.Z (SI)(CX*8), K2, Z0
	VPMOVQD Z0, Y1
	VMOVUPS Y1, K1, (DI)(CX*4)
	ADDQ R10, DI
	ADDQ R11, SI
	DECQ R8
	JMP  gf_row
gf_done:
	VZEROUPPER
	RET

// func interleave4AVX(dst, src *byte, n, stride int)
// dst[4i+j] = src[j*stride+i] for i < n (a multiple of 16), j < 4: four
// byte rows woven into one row of 4-byte quads (the C4 planes of
// qconv_planes.go). Two rounds of unpacks per 16 positions.
TEXT ·interleave4AVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ stride+24(FP), DX
	LEAQ (SI)(DX*2), R8
	SHRQ $4, CX
	JZ   il_done
il_loop:
	VMOVDQU (SI), X0
	VMOVDQU (SI)(DX*1), X1
	VMOVDQU (R8), X2
	VMOVDQU (R8)(DX*1), X3
	VPUNPCKLBW X1, X0, X4 // r0 r1 pairs, positions 0-7
	VPUNPCKHBW X1, X0, X5 // 8-15
	VPUNPCKLBW X3, X2, X6 // r2 r3 pairs
	VPUNPCKHBW X3, X2, X7
	VPUNPCKLWD X6, X4, X0 // quads 0-3
	VPUNPCKHWD X6, X4, X1 // 4-7
	VPUNPCKLWD X7, X5, X2 // 8-11
	VPUNPCKHWD X7, X5, X3 // 12-15
	VMOVDQU X0, (DI)
	VMOVDQU X1, 16(DI)
	VMOVDQU X2, 32(DI)
	VMOVDQU X3, 48(DI)
	ADDQ $16, SI
	ADDQ $16, R8
	ADDQ $64, DI
	DECQ CX
	JNZ  il_loop
il_done:
	VZEROUPPER
	RET
