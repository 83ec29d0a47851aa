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
