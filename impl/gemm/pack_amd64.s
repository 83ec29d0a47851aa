//go:build amd64 && !purego

// Hand-written packing loops for full micro-panels (the Go loops in pack.go
// handle everything else).

#include "textflag.h"

// func packRows32(dst, src *float32, lds uintptr, k int)
// Copies k rows of 32 floats (rows lds bytes apart in src) into dst, 128
// bytes per row: a full B panel of the AVX-512 kernel. AVX-512.
TEXT ·packRows32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lds+16(FP), DX
	MOVQ k+24(FP), CX
	TESTQ CX, CX
	JZ   pr32_done
pr32_loop:
	VMOVUPS (SI), Z0      // columns 0..15
	VMOVUPS 64(SI), Z1    // columns 16..31
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ DX, SI           // next row of the source
	ADDQ $128, DI         // next row of the panel
	DECQ CX
	JNZ  pr32_loop
pr32_done:
	VZEROUPPER
	RET

// func packRows16(dst, src *float32, lds uintptr, k int)
// Same for 16-float rows (the AVX2 kernel's B panel). AVX.
TEXT ·packRows16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lds+16(FP), DX
	MOVQ k+24(FP), CX
	TESTQ CX, CX
	JZ   pr16_done
pr16_loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ DX, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  pr16_loop
pr16_done:
	VZEROUPPER
	RET

// func packRows14(dst, src *float32, lds uintptr, k int)
// Copies k rows of 14 floats (a transposed A's micro-panel: op(A) column p
// is row p of A, contiguous) into dst, 56 bytes per row. AVX-512: a masked
// load/store moves exactly 14 floats, never touching the bytes past them.
TEXT ·packRows14(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lds+16(FP), DX
	MOVQ k+24(FP), CX
	MOVL $0x3fff, AX
	KMOVW AX, K1          // lanes 0..13
	TESTQ CX, CX
	JZ   pr14_done
pr14_loop:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ DX, SI
	ADDQ $56, DI
	DECQ CX
	JNZ  pr14_loop
pr14_done:
	VZEROUPPER
	RET

// func packRowsW(dst, src *float32, lds uintptr, k, w int)
// packRows14 for any width w <= 16 (a short last row panel of a
// transposed A: 49 pixels are panels of 14, 14, 14 and 7).
TEXT ·packRowsW(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lds+16(FP), DX
	MOVQ k+24(FP), CX
	MOVQ w+32(FP), BX
	MOVL $1, AX
	SHLXL BX, AX, AX
	DECL AX
	KMOVW AX, K1          // lanes 0..w-1
	SHLQ $2, BX           // w*4 bytes per packed row
	TESTQ CX, CX
	JZ   prw_done
prw_loop:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ DX, SI
	ADDQ BX, DI
	DECQ CX
	JNZ  prw_loop
prw_done:
	VZEROUPPER
	RET

// func qpackB32(dst, src *byte, ldb uintptr, kq int, flip uint32)
// Packs kq groups of 4 rows x 32 columns of a row-major byte B into the
// VNNI panel layout: for each group, for each column, its 4 bytes (one
// dword per column, 128 bytes per group), each byte xored with flip.
// AVX2 byte/word unpacks work within 128-bit lanes, so lane 0 holds columns
// 0..15 and lane 1 columns 16..31; the stores put them back in order.
TEXT ·qpackB32(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), DX
	MOVQ kq+24(FP), CX
	MOVL flip+32(FP), AX
	VMOVD AX, X8
	VPBROADCASTD X8, Y8           // flip byte in every byte lane
	LEAQ (DX)(DX*2), R8           // 3*ldb
	TESTQ CX, CX
	JZ   qpb_done
qpb_loop:
	VPXOR   (SI), Y8, Y0          // row 4q
	VPXOR   (SI)(DX*1), Y8, Y1    // row 4q+1
	VPXOR   (SI)(DX*2), Y8, Y2    // row 4q+2
	VPXOR   (SI)(R8*1), Y8, Y3    // row 4q+3
	VPUNPCKLBW Y1, Y0, Y4         // (r0,r1) byte pairs, columns 0-7 | 16-23
	VPUNPCKHBW Y1, Y0, Y5         // columns 8-15 | 24-31
	VPUNPCKLBW Y3, Y2, Y6         // (r2,r3) pairs
	VPUNPCKHBW Y3, Y2, Y7
	VPUNPCKLWD Y6, Y4, Y0         // dwords (r0,r1,r2,r3): columns 0-3 | 16-19
	VPUNPCKHWD Y6, Y4, Y1         // columns 4-7 | 20-23
	VPUNPCKLWD Y7, Y5, Y2         // columns 8-11 | 24-27
	VPUNPCKHWD Y7, Y5, Y3         // columns 12-15 | 28-31
	VMOVDQU X0, (DI)
	VMOVDQU X1, 16(DI)
	VMOVDQU X2, 32(DI)
	VMOVDQU X3, 48(DI)
	VEXTRACTI128 $1, Y0, 64(DI)
	VEXTRACTI128 $1, Y1, 80(DI)
	VEXTRACTI128 $1, Y2, 96(DI)
	VEXTRACTI128 $1, Y3, 112(DI)
	LEAQ (SI)(DX*4), SI           // next 4 rows
	ADDQ $128, DI
	DECQ CX
	JNZ  qpb_loop
qpb_done:
	VZEROUPPER
	RET

// func qpackB32Off(dst, src *byte, off *int, kq int, flip uint32)
// qpackB32 with each row found by offset: group q interleaves the 32 bytes
// at src+off[4q], src+off[4q+1], src+off[4q+2] and src+off[4q+3].
TEXT ·qpackB32Off(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ off+16(FP), DX
	MOVQ kq+24(FP), CX
	MOVL flip+32(FP), AX
	VMOVD AX, X8
	VPBROADCASTD X8, Y8
	TESTQ CX, CX
	JZ   qpbo_done
qpbo_loop:
	MOVQ 0(DX), R8
	MOVQ 8(DX), R9
	MOVQ 16(DX), R10
	MOVQ 24(DX), R11
	VPXOR   (SI)(R8*1), Y8, Y0
	VPXOR   (SI)(R9*1), Y8, Y1
	VPXOR   (SI)(R10*1), Y8, Y2
	VPXOR   (SI)(R11*1), Y8, Y3
	VPUNPCKLBW Y1, Y0, Y4
	VPUNPCKHBW Y1, Y0, Y5
	VPUNPCKLBW Y3, Y2, Y6
	VPUNPCKHBW Y3, Y2, Y7
	VPUNPCKLWD Y6, Y4, Y0
	VPUNPCKHWD Y6, Y4, Y1
	VPUNPCKLWD Y7, Y5, Y2
	VPUNPCKHWD Y7, Y5, Y3
	VMOVDQU X0, (DI)
	VMOVDQU X1, 16(DI)
	VMOVDQU X2, 32(DI)
	VMOVDQU X3, 48(DI)
	VEXTRACTI128 $1, Y0, 64(DI)
	VEXTRACTI128 $1, Y1, 80(DI)
	VEXTRACTI128 $1, Y2, 96(DI)
	VEXTRACTI128 $1, Y3, 112(DI)
	ADDQ $32, DX
	ADDQ $128, DI
	DECQ CX
	JNZ  qpbo_loop
qpbo_done:
	VZEROUPPER
	RET

// func packRows32Off(dst, src *float32, off *int, k int)
// packRows32 with row p at src + 4*off[p] bytes.
TEXT ·packRows32Off(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ off+16(FP), DX
	MOVQ k+24(FP), CX
	TESTQ CX, CX
	JZ   pr32o_done
pr32o_loop:
	MOVQ (DX), AX
	VMOVUPS (SI)(AX*4), Z0
	VMOVUPS 64(SI)(AX*4), Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $8, DX
	ADDQ $128, DI
	DECQ CX
	JNZ  pr32o_loop
pr32o_done:
	VZEROUPPER
	RET

// func packRows32Off2(dst, src0, src1 *float32, off *int, k int, mask uint32)
// packRows32Off for a panel whose 32 columns are two runs: the lanes set
// in mask from src0 + 4*off[p], the others from src1 + 4*off[p] (src1
// already moved back by the first run's length, so lane i reads
// src1[off[p] + i]). Masked loads: the lanes of the other run are not
// read. AVX-512F.
TEXT ·packRows32Off2(SB), NOSPLIT, $0-44
	MOVQ dst+0(FP), DI
	MOVQ src0+8(FP), SI
	MOVQ src1+16(FP), R8
	MOVQ off+24(FP), DX
	MOVQ k+32(FP), CX
	MOVL mask+40(FP), AX
	// K1/K3: the first run's lanes of the low/high vector; K2/K4 the others.
	KMOVD AX, K5
	KMOVW AX, K1
	KSHIFTRD $16, K5, K3
	KNOTW K1, K2
	KNOTW K3, K4
	TESTQ CX, CX
	JZ   pr32o2_done
pr32o2_loop:
	MOVQ (DX), AX
	VMOVUPS.Z (SI)(AX*4), K1, Z0
	VMOVUPS (R8)(AX*4), K2, Z0
	VMOVUPS.Z 64(SI)(AX*4), K3, Z1
	VMOVUPS 64(R8)(AX*4), K4, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $8, DX
	ADDQ $128, DI
	DECQ CX
	JNZ  pr32o2_loop
pr32o2_done:
	VZEROUPPER
	RET

// func qpackB32OffPerm(dst, src *byte, off *int, kq int, flip uint32, idx *[64]byte)
// qpackB32Off for a panel whose 32 columns lie, at the same positions for
// every row, within the 64 bytes at src+off[p] (rows of an output map with
// the plane's extra columns skipped). One VPERMT2B per pair of rows gathers
// the 32 wanted bytes of both as byte pairs (idx: bit 6 picks the row,
// bits 0..5 the byte; the column order makes the word unpacks below come
// out in column order); the two pair vectors unpack to 32 dwords.
// AVX512-BW + VBMI.
TEXT ·qpackB32OffPerm(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ off+16(FP), DX
	MOVQ kq+24(FP), CX
	MOVL flip+32(FP), AX
	MOVQ idx+40(FP), BX
	VPBROADCASTD AX, Z8
	VMOVDQU64 (BX), Z9
	TESTQ CX, CX
	JZ   qpbp_done
qpbp_loop:
	MOVQ 0(DX), R8
	MOVQ 8(DX), R9
	MOVQ 16(DX), R10
	MOVQ 24(DX), R11
	VMOVDQU64 (SI)(R8*1), Z0
	VPERMT2B (SI)(R9*1), Z9, Z0   // (row 4q, row 4q+1) pairs
	VMOVDQU64 (SI)(R10*1), Z1
	VPERMT2B (SI)(R11*1), Z9, Z1  // (row 4q+2, row 4q+3) pairs
	VPUNPCKLWD Z1, Z0, Z2         // columns 0..15
	VPUNPCKHWD Z1, Z0, Z3         // columns 16..31
	VPXORD Z8, Z2, Z2
	VPXORD Z8, Z3, Z3
	VMOVDQU64 Z2, (DI)
	VMOVDQU64 Z3, 64(DI)
	ADDQ $32, DX
	ADDQ $128, DI
	DECQ CX
	JNZ  qpbp_loop
qpbp_done:
	VZEROUPPER
	RET
