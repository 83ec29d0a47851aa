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
// Copies rows rows of w bytes, src rows ss apart, dst rows ds apart.
TEXT ·copyRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ w+24(FP), R9
	MOVQ ds+32(FP), R10
	MOVQ ss+40(FP), R11
	MOVQ R9, AX
	ANDQ $63, AX
	MOVQ $-1, BX
	BZHIQ AX, BX, BX
	KMOVQ BX, K1               // the last partial chunk
	MOVQ R9, R12
	ANDQ $-64, R12              // whole chunks
cr_row:
	TESTQ R8, R8
	JZ   cr_done
	XORQ CX, CX
cr_chunk:
	CMPQ CX, R12
	JGE  cr_rest
	VMOVDQU8 (SI)(CX*1), Z0
	VMOVDQU8 Z0, (DI)(CX*1)
	ADDQ $64, CX
	JMP  cr_chunk
cr_rest:
	CMPQ CX, R9
	JGE  cr_next
	VMOVDQU8.Z (SI)(CX*1), K1, Z0
	VMOVDQU8 Z0, K1, (DI)(CX*1)
cr_next:
	ADDQ R10, DI
	ADDQ R11, SI
	DECQ R8
	JMP  cr_row
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
