//go:build amd64 && !purego

#include "textflag.h"

// func f32ToF16F16C(dst *uint16, src *float32, n int)
TEXT ·f32ToF16F16C(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
loop:
	VMOVUPS   (SI), Y0
	VMOVUPS   32(SI), Y1
	VCVTPS2PH $0, Y0, X2
	VCVTPS2PH $0, Y1, X3
	VMOVDQU   X2, (DI)
	VMOVDQU   X3, 16(DI)
	ADDQ      $64, SI
	ADDQ      $32, DI
	SUBQ      $16, CX
	JNZ       loop
	VZEROUPPER
	RET

// func f16ToF32F16C(dst *float32, src *uint16, n int)
TEXT ·f16ToF32F16C(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
loop:
	VCVTPH2PS (SI), Y0
	VCVTPH2PS 16(SI), Y1
	VMOVUPS   Y0, (DI)
	VMOVUPS   Y1, 32(DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	SUBQ      $16, CX
	JNZ       loop
	VZEROUPPER
	RET

DATA bfone<>+0(SB)/4, $1
GLOBL bfone<>(SB), RODATA|NOPTR, $4
DATA bfbias<>+0(SB)/4, $0x7fff
GLOBL bfbias<>(SB), RODATA|NOPTR, $4
DATA bfabs<>+0(SB)/4, $0x7fffffff
GLOBL bfabs<>(SB), RODATA|NOPTR, $4
DATA bfinf<>+0(SB)/4, $0x7f800000
GLOBL bfinf<>(SB), RODATA|NOPTR, $4
DATA bfquiet<>+0(SB)/4, $0x40
GLOBL bfquiet<>(SB), RODATA|NOPTR, $4

// bf16 = (x + 0x7fff + ((x>>16)&1)) >> 16, NaN -> (x>>16)|0x40.
// Integer RNE rather than VCVTNEPS2BF16, which flushes subnormals to zero.
#define BF16ROUND(X, T, U) \
	VPSRLD    $16, X, T     \
	VPAND     Y10, T, U     \
	VPADDD    Y11, U, U     \
	VPADDD    X, U, U       \
	VPSRLD    $16, U, U     \
	VPOR      Y14, T, T     \
	VPAND     Y12, X, X     \
	VPCMPGTD  Y13, X, X     \
	VPBLENDVB X, T, U, X

// func f32ToBF16AVX2(dst *uint16, src *float32, n int)
TEXT ·f32ToBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VPBROADCASTD bfone<>(SB), Y10
	VPBROADCASTD bfbias<>(SB), Y11
	VPBROADCASTD bfabs<>(SB), Y12
	VPBROADCASTD bfinf<>(SB), Y13
	VPBROADCASTD bfquiet<>(SB), Y14
loop:
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	BF16ROUND(Y0, Y2, Y3)
	BF16ROUND(Y1, Y4, Y5)
	VPACKUSDW Y1, Y0, Y0
	VPERMQ    $0xd8, Y0, Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $64, SI
	ADDQ      $32, DI
	SUBQ      $16, CX
	JNZ       loop
	VZEROUPPER
	RET

// func bf16ToF32AVX2(dst *float32, src *uint16, n int)
TEXT ·bf16ToF32AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
loop:
	VPMOVZXWD (SI), Y0
	VPMOVZXWD 16(SI), Y1
	VPSLLD    $16, Y0, Y0
	VPSLLD    $16, Y1, Y1
	VMOVDQU   Y0, (DI)
	VMOVDQU   Y1, 32(DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	SUBQ      $16, CX
	JNZ       loop
	VZEROUPPER
	RET

// v = x/scale; NaN -> 0; clamp to [lo,hi] (integers, so clamp-then-round
// equals round-then-clamp); cvt with the default MXCSR rounding (nearest
// even); + zp; pack. Y15 scale, Y14 lo, Y13 hi, Y12 zp.
#define QUANT8(X, T) \
	VDIVPS    Y15, X, X      \
	VCMPPS    $7, X, X, T    \
	VANDPS    T, X, X        \
	VMAXPS    Y14, X, X      \
	VMINPS    Y13, X, X      \
	VCVTPS2DQ X, X           \
	VPADDD    Y12, X, X

// func quantI8AVX2(dst *int8, src *float32, n int, scale, lo, hi float32, zp int32)
TEXT ·quantI8AVX2(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y15
	VBROADCASTSS lo+28(FP), Y14
	VBROADCASTSS hi+32(FP), Y13
	MOVL         zp+36(FP), AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	QUANT8(Y0, Y2)
	QUANT8(Y1, Y3)
	VPACKSSDW Y1, Y0, Y0     // lanes: a0-3 b0-3 | a4-7 b4-7 (words)
	VPERMQ    $0xd8, Y0, Y0  // a0-7 b0-7
	VEXTRACTI128 $1, Y0, X1
	VPACKSSWB X1, X0, X0
	VMOVDQU   X0, (DI)
	ADDQ      $64, SI
	ADDQ      $16, DI
	SUBQ      $16, CX
	JNZ       loop
	VZEROUPPER
	RET

// func quantU8AVX2(dst *uint8, src *float32, n int, scale, lo, hi float32, zp int32)
TEXT ·quantU8AVX2(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y15
	VBROADCASTSS lo+28(FP), Y14
	VBROADCASTSS hi+32(FP), Y13
	MOVL         zp+36(FP), AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	QUANT8(Y0, Y2)
	QUANT8(Y1, Y3)
	VPACKSSDW Y1, Y0, Y0
	VPERMQ    $0xd8, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB X1, X0, X0
	VMOVDQU   X0, (DI)
	ADDQ      $64, SI
	ADDQ      $16, DI
	SUBQ      $16, CX
	JNZ       loop
	VZEROUPPER
	RET

// func dequantI8AVX2(dst *float32, src *int8, n int, scale float32, zp int32)
TEXT ·dequantI8AVX2(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y15
	MOVL         zp+28(FP), AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
loop:
	VPMOVSXBD (SI), Y0
	VPMOVSXBD 8(SI), Y1
	VPSUBD    Y12, Y0, Y0
	VPSUBD    Y12, Y1, Y1
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VMULPS    Y15, Y0, Y0
	VMULPS    Y15, Y1, Y1
	VMOVUPS   Y0, (DI)
	VMOVUPS   Y1, 32(DI)
	ADDQ      $16, SI
	ADDQ      $64, DI
	SUBQ      $16, CX
	JNZ       loop
	VZEROUPPER
	RET

// func dequantU8AVX2(dst *float32, src *uint8, n int, scale float32, zp int32)
TEXT ·dequantU8AVX2(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y15
	MOVL         zp+28(FP), AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
loop:
	VPMOVZXBD (SI), Y0
	VPMOVZXBD 8(SI), Y1
	VPSUBD    Y12, Y0, Y0
	VPSUBD    Y12, Y1, Y1
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VMULPS    Y15, Y0, Y0
	VMULPS    Y15, Y1, Y1
	VMOVUPS   Y0, (DI)
	VMOVUPS   Y1, 32(DI)
	ADDQ      $16, SI
	ADDQ      $64, DI
	SUBQ      $16, CX
	JNZ       loop
	VZEROUPPER
	RET

// func dequantI8AVX512(dst *float32, src *int8, n int, scale float32, zp int32)
// n a multiple of 16.
TEXT ·dequantI8AVX512(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Z15
	MOVL         zp+28(FP), AX
	VPBROADCASTD AX, Z12
dqi5_loop:
	VPMOVSXBD (SI), Z0
	VPSUBD    Z12, Z0, Z0
	VCVTDQ2PS Z0, Z0
	VMULPS    Z15, Z0, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $16, SI
	ADDQ      $64, DI
	SUBQ      $16, CX
	JNZ       dqi5_loop
	VZEROUPPER
	RET

// func dequantU8AVX512(dst *float32, src *uint8, n int, scale float32, zp int32)
// n a multiple of 16.
TEXT ·dequantU8AVX512(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Z15
	MOVL         zp+28(FP), AX
	VPBROADCASTD AX, Z12
dqu5_loop:
	VPMOVZXBD (SI), Z0
	VPSUBD    Z12, Z0, Z0
	VCVTDQ2PS Z0, Z0
	VMULPS    Z15, Z0, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $16, SI
	ADDQ      $64, DI
	SUBQ      $16, CX
	JNZ       dqu5_loop
	VZEROUPPER
	RET
