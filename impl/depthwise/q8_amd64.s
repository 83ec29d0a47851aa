//go:build amd64 && !purego

#include "textflag.h"

// 8-bit depthwise 3 x KW (KW <= 4) convolution, column stride 1 or 2, with
// AVX512-VBMI (VPERMB) and AVX512-VNNI (VPDPBUSD). Hand-written; see q8.go
// for the method and q8_amd64.go for the argument block (q8Args).
//
// Registers:
//	AX  args            SI  input plane      DI  output
//	R8  weights (3 dwords per plane)  R9  corr  R10  mult  R15  planes left
//	BX  padded buffer   Z0-Z2 the plane's 3 weight rows (dword broadcast)
//	Z3  corr            Z4  mult             Z5 lo  Z6 hi  Z7 zy (lanes)
//	Z8  VPERMB index    Z9  padding bytes    Z10 xor bytes
//	K2  lanes of a row's last partial output block
//	K3  bytes of an input row's last partial 64-byte chunk
//	K4  lanes of the last group's last block  K5 data bytes of a narrow padded row
//	Z15 raw zero-point bytes (Z9 ^ Z10)

// Q8BLOCK computes 16 outputs from the padded rows at R13, R13+DX,
// R13+2*DX into Z12 (requantized, not yet narrowed): for each kernel row,
// VPERMB gathers bytes [s*j, s*j+3] of the row into dword j and VPDPBUSD
// adds their products with the weight bytes (u8 x s8, 4 per lane); then
// y = RNE(clamp(float32(acc) * mult, lo, hi)) + zy (NaN -> lo: the
// accumulator is VMAXPS's first source, whose NaN returns the second).
#define Q8BLOCK \
	VMOVDQA64 Z3, Z12             \
	VPERMB    (R13), Z8, Z11      \
	VPERMB    (R13)(DX*1), Z8, Z13 \
	VPERMB    (R13)(DX*2), Z8, Z14 \
	VPDPBUSD  Z0, Z11, Z12        \
	VPDPBUSD  Z1, Z13, Z12        \
	VPDPBUSD  Z2, Z14, Z12        \
	VCVTDQ2PS Z12, Z12            \
	VMULPS    Z4, Z12, Z12        \
	VMAXPS    Z5, Z12, Z12        \
	VMINPS    Z6, Z12, Z12        \
	VCVTPS2DQ Z12, Z12            \
	VPADDD    Z7, Z12, Z12

// func q8dw3(a *q8Args)
TEXT ·q8dw3(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVQ 64(AX), R15
	TESTQ R15, R15
	JLE done
	MOVQ 0(AX), SI
	MOVQ 24(AX), DI
	MOVQ 32(AX), R8
	MOVQ 40(AX), R9
	MOVQ 48(AX), R10
	VMOVDQU64 256(AX), Z8
	VPBROADCASTD 172(AX), Z9
	VPBROADCASTD 176(AX), Z10
	VBROADCASTSS 164(AX), Z5
	VBROADCASTSS 168(AX), Z6
	VPBROADCASTD 160(AX), Z7
	KMOVQ 184(AX), K3
	KMOVW 192(AX), K2
	KMOVW 208(AX), K4
	KMOVQ 224(AX), K5
	VPXORD Z10, Z9, Z15 // the zero point's raw bytes
	MOVQ 16(AX), BX // slot of the plane being convolved
	// Pad plane 0 into slot BX, then enter the loop.
	MOVQ SI, R13
	MOVQ BX, R11
	JMP pad

plane:
	CMPQ R15, $1
	JEQ convolve
	MOVQ SI, R13
	ADDQ 8(AX), R13 // the next plane
	MOVQ 56(AX), R11
	XORQ BX, R11    // into the other slot

pad:
	// ---- Pad the plane at R13 into the slot at R11. Rows are written in
	// address order, each store at most 64 bytes past its row's end: the
	// next row (or the bottom fill) rewrites those bytes.
	MOVQ 88(AX), CX
	IMULQ 112(AX), CX // top padding bytes
	LEAQ (R11)(CX*1), R12

top:
	CMPQ R11, R12
	JAE topdone
	VMOVDQU64 Z9, (R11)
	ADDQ $64, R11
	JMP top

topdone:
	MOVQ R12, R11 // padded row pt
	MOVQ 72(AX), DX
	KORTESTQ K5, K5
	JZ copyrow
	// Narrow rows (PL + W + PR <= 64): one merge-masked load from PL
	// bytes before the row over raw zero-point bytes, flipped, stored
	// whole (its last bytes land in the next row, rewritten next).
	MOVQ R13, R14
	SUBQ 96(AX), R14
	MOVQ 80(AX), CX
	MOVQ 112(AX), R12

narrow:
	VMOVDQA64 Z15, Z11
	VMOVDQU8 (R14), K5, Z11
	VPXORD Z10, Z11, Z11
	VMOVDQU64 Z11, (R11)
	ADDQ CX, R14
	ADDQ R12, R11
	DECQ DX
	JNZ narrow
	JMP bottomrows

copyrow:
	VMOVDQU64 Z9, (R11) // left padding
	MOVQ R11, R12
	ADDQ 96(AX), R12
	MOVQ R13, R14
	MOVQ 80(AX), CX
	SHRQ $6, CX
	JZ copytail

copyfull:
	VPXORD (R14), Z10, Z11
	VMOVDQU64 Z11, (R12)
	ADDQ $64, R14
	ADDQ $64, R12
	DECQ CX
	JNZ copyfull

copytail:
	KORTESTQ K3, K3
	JZ copyright
	VMOVDQU8.Z (R14), K3, Z11
	VPXORD Z10, Z11, Z11
	VMOVDQU64 Z11, (R12)

copyright:
	MOVQ R11, R12
	ADDQ 96(AX), R12
	ADDQ 80(AX), R12
	VMOVDQU64 Z9, (R12) // right padding (over the tail chunk's excess)
	ADDQ 112(AX), R11
	ADDQ 80(AX), R13
	DECQ DX
	JNZ copyrow

bottomrows:
	// Bottom padding rows: hp - pt - h of them.
	MOVQ 104(AX), CX
	SUBQ 88(AX), CX
	SUBQ 72(AX), CX
	IMULQ 112(AX), CX
	LEAQ (R11)(CX*1), R12

bottom:
	CMPQ R11, R12
	JAE padded
	VMOVDQU64 Z9, (R11)
	ADDQ $64, R11
	JMP bottom

padded:
	// R12 is the slot's end: the prologue (slot BX) enters the loop, the
	// loop goes on to convolve plane BX.
	MOVQ 104(AX), CX
	IMULQ 112(AX), CX
	MOVQ R12, R14
	SUBQ CX, R14
	CMPQ R14, BX
	JEQ plane

convolve:
	// ---- Convolve and requantize the plane in slot BX: groups of output
	// rows, 16 outputs per block.
	VPBROADCASTD 0(R8), Z0
	VPBROADCASTD 4(R8), Z1
	VPBROADCASTD 8(R8), Z2
	VPBROADCASTD (R9), Z3
	VBROADCASTSS (R10), Z4
	MOVQ BX, R11       // first padded row of the group
	MOVQ 120(AX), R12  // groups left
	MOVQ 144(AX), DX   // tapStep
	MOVQ 152(AX), R14  // colStep

orow:
	MOVQ R11, R13
	MOVQ 128(AX), CX
	TESTQ CX, CX
	JZ otail

oblock:
	Q8BLOCK
	VPMOVDB Z12, X12
	VMOVDQU X12, (DI)
	ADDQ R14, R13
	ADDQ $16, DI
	DECQ CX
	JNZ oblock

otail:
	CMPQ R12, $1
	JEQ olast
	KORTESTW K2, K2
	JZ onext
	Q8BLOCK
	VPMOVDB Z12, K2, (DI) // dword-masked narrowing store
	ADDQ 200(AX), DI
	JMP onext

olast:
	KORTESTW K4, K4
	JZ onext
	Q8BLOCK
	VPMOVDB Z12, K4, (DI)
	ADDQ 216(AX), DI

onext:
	ADDQ 136(AX), R11
	DECQ R12
	JNZ orow

	XORQ 56(AX), BX // the other slot holds the next plane
	ADDQ 8(AX), SI
	ADDQ $12, R8
	ADDQ $4, R9
	ADDQ $4, R10
	DECQ R15
	JNZ plane

done:
	VZEROUPPER
	RET
