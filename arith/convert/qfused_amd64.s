//go:build amd64 && !purego

#include "textflag.h"

// qaddArgs field offsets (qfused.go).
#define P_XA 0
#define P_XB 4
#define P_ZA 8
#define P_ZB 12
#define P_SA 16
#define P_SB 20
#define P_SY 24
#define P_LO 28
#define P_HI 32
#define P_ZY 36

// QLinearAdd, 16 codes: float32((code ^ x) - z) * s for both inputs (the
// conversion is exact), add, divide by sy, NaN -> 0 (ordered-compare
// mask), clamp to the code bounds minus zy (integers: clamping before the
// rounding equals clamping after), round half to even (VCVTPS2DQ under
// the default MXCSR), + zy, truncate to bytes (the values are in range).
// Constants: Z16 xa, Z17 xb, Z18 za, Z19 zb, Z20 sa, Z21 sb, Z22 sy,
// Z23 lo, Z24 hi, Z25 zy.
#define QADD16(OFF, A, B, K, XA) \
	VPMOVZXBD OFF(SI), A    \
	VPMOVZXBD OFF(DX), B    \
	VPXORD    Z16, A, A     \
	VPXORD    Z17, B, B     \
	VPSUBD    Z18, A, A     \
	VPSUBD    Z19, B, B     \
	VCVTDQ2PS A, A          \
	VCVTDQ2PS B, B          \
	VMULPS    Z20, A, A     \
	VMULPS    Z21, B, B     \
	VADDPS    B, A, A       \
	VDIVPS    Z22, A, A     \
	VCMPPS    $7, A, A, K   \
	VMOVAPS.Z A, K, A       \
	VMAXPS    Z23, A, A     \
	VMINPS    Z24, A, A     \
	VCVTPS2DQ A, A          \
	VPADDD    Z25, A, A     \
	VPMOVDB   A, XA         \
	VMOVDQU   XA, OFF(DI)

// func qaddAVX512(dst, a, b *uint8, n int, p *qaddArgs)
TEXT ·qaddAVX512(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         b+16(FP), DX
	MOVQ         n+24(FP), CX
	MOVQ         p+32(FP), AX
	VPBROADCASTD P_XA(AX), Z16
	VPBROADCASTD P_XB(AX), Z17
	VPBROADCASTD P_ZA(AX), Z18
	VPBROADCASTD P_ZB(AX), Z19
	VBROADCASTSS P_SA(AX), Z20
	VBROADCASTSS P_SB(AX), Z21
	VBROADCASTSS P_SY(AX), Z22
	VBROADCASTSS P_LO(AX), Z23
	VBROADCASTSS P_HI(AX), Z24
	VPBROADCASTD P_ZY(AX), Z25
	CMPQ         CX, $64
	JLT          one

four:
	QADD16(0, Z0, Z1, K1, X0)
	QADD16(16, Z2, Z3, K2, X2)
	QADD16(32, Z4, Z5, K3, X4)
	QADD16(48, Z6, Z7, K4, X6)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $64, CX
	CMPQ CX, $64
	JGE  four
	TESTQ CX, CX
	JZ    done

one:
	QADD16(0, Z0, Z1, K1, X0)
	ADDQ $16, SI
	ADDQ $16, DX
	ADDQ $16, DI
	SUBQ $16, CX
	JNZ  one

done:
	VZEROUPPER
	RET

// Bytes 0, 4, 8, 12 of each 128-bit lane to its low dword, then the two
// lanes' low dwords together: the low bytes of 8 dwords.
DATA lowbytes<>+0(SB)/8, $0x808080800c080400
DATA lowbytes<>+8(SB)/8, $0x8080808080808080
DATA lowbytes<>+16(SB)/8, $0x808080800c080400
DATA lowbytes<>+24(SB)/8, $0x8080808080808080
GLOBL lowbytes<>(SB), RODATA|NOPTR, $32
DATA lowperm<>+0(SB)/8, $0x0000000400000000
DATA lowperm<>+8(SB)/8, $0
DATA lowperm<>+16(SB)/8, $0
DATA lowperm<>+24(SB)/8, $0
GLOBL lowperm<>(SB), RODATA|NOPTR, $32

// QADD16 for AVX2, 8 codes; B is the compare temporary once added.
// Constants: Y4 xa, Y5 xb, Y6 za, Y7 zb, Y8 sa, Y9 sb, Y10 sy, Y11 lo,
// Y12 hi, Y13 zy, Y14 byte shuffle, Y15 dword permutation.
#define QADD8(OFF, A, B) \
	VPMOVZXBD OFF(SI), A    \
	VPMOVZXBD OFF(DX), B    \
	VPXOR     Y4, A, A      \
	VPXOR     Y5, B, B      \
	VPSUBD    Y6, A, A      \
	VPSUBD    Y7, B, B      \
	VCVTDQ2PS A, A          \
	VCVTDQ2PS B, B          \
	VMULPS    Y8, A, A      \
	VMULPS    Y9, B, B      \
	VADDPS    B, A, A       \
	VDIVPS    Y10, A, A     \
	VCMPPS    $7, A, A, B   \
	VANDPS    B, A, A       \
	VMAXPS    Y11, A, A     \
	VMINPS    Y12, A, A     \
	VCVTPS2DQ A, A          \
	VPADDD    Y13, A, A     \
	VPSHUFB   Y14, A, A     \
	VPERMD    A, Y15, A

// func qaddAVX2(dst, a, b *uint8, n int, p *qaddArgs)
TEXT ·qaddAVX2(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         b+16(FP), DX
	MOVQ         n+24(FP), CX
	MOVQ         p+32(FP), AX
	VPBROADCASTD P_XA(AX), Y4
	VPBROADCASTD P_XB(AX), Y5
	VPBROADCASTD P_ZA(AX), Y6
	VPBROADCASTD P_ZB(AX), Y7
	VBROADCASTSS P_SA(AX), Y8
	VBROADCASTSS P_SB(AX), Y9
	VBROADCASTSS P_SY(AX), Y10
	VBROADCASTSS P_LO(AX), Y11
	VBROADCASTSS P_HI(AX), Y12
	VPBROADCASTD P_ZY(AX), Y13
	VMOVDQU      lowbytes<>(SB), Y14
	VMOVDQU      lowperm<>(SB), Y15

loop:
	QADD8(0, Y0, Y1)
	QADD8(8, Y2, Y3)
	VPUNPCKLQDQ X2, X0, X0
	VMOVDQU     X0, (DI)
	ADDQ        $16, SI
	ADDQ        $16, DX
	ADDQ        $16, DI
	SUBQ        $16, CX
	JNZ         loop
	VZEROUPPER
	RET

// Requantize, 16 accumulators: exact float32 integers to int32, + bias,
// to float32 (rounded as ONNX Runtime's float(acc)), times the multiplier,
// clamp (a NaN product takes lo: VMAXPS returns its second source operand,
// in Go's order the first, when one is NaN, as in MLAS), round, + zp.
// Z20 bias, Z21 mult, Z23 lo, Z24 hi, Z25 zp.
#define REQ16(A) \
	VPADDD    Z20, A, A     \
	VCVTDQ2PS A, A          \
	VMULPS    Z21, A, A     \
	VMAXPS    Z23, A, A     \
	VMINPS    Z24, A, A     \
	VCVTPS2DQ A, A          \
	VPADDD    Z25, A, A

// func requantAVX512(dst *uint8, src *float32, rows, cols int, bias *int32, bstep int, mult *float32, zp int32, lo, hi float32)
TEXT ·requantAVX512(SB), NOSPLIT, $0-68
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         rows+16(FP), BX
	MOVQ         cols+24(FP), R11
	MOVQ         bias+32(FP), R8
	MOVQ         bstep+40(FP), R9
	MOVQ         mult+48(FP), R10
	MOVL         zp+56(FP), AX
	VPBROADCASTD AX, Z25
	VBROADCASTSS lo+60(FP), Z23
	VBROADCASTSS hi+64(FP), Z24
	// K2: the lanes of a row's last, partial block.
	MOVQ  R11, CX
	ANDQ  $15, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K2
	MOVQ  R11, R12
	SHRQ  $4, R12              // full blocks per row
	ANDQ  $15, R11             // tail length

row:
	VPBROADCASTD (R8), Z20
	VBROADCASTSS (R10), Z21
	MOVQ         R12, CX
	TESTQ        CX, CX
	JZ           tail

block:
	VCVTPS2DQ (SI), Z0
	REQ16(Z0)
	VPMOVDB   Z0, X0
	VMOVDQU   X0, (DI)
	ADDQ      $64, SI
	ADDQ      $16, DI
	DECQ      CX
	JNZ       block

tail:
	TESTQ     R11, R11
	JZ        next
	VMOVUPS.Z (SI), K2, Z0
	VCVTPS2DQ Z0, Z0
	REQ16(Z0)
	VPMOVDB   Z0, K2, (DI)
	LEAQ      (SI)(R11*4), SI
	ADDQ      R11, DI

next:
	ADDQ R9, R8
	ADDQ $4, R10
	DECQ BX
	JNZ  row
	VZEROUPPER
	RET

// func requantAVX2(dst *uint8, src *float32, rows, cols int, bias *int32, bstep int, mult *float32, zp int32, lo, hi float32)
TEXT ·requantAVX2(SB), NOSPLIT, $0-68
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         rows+16(FP), BX
	MOVQ         cols+24(FP), R11
	MOVQ         bias+32(FP), R8
	MOVQ         bstep+40(FP), R9
	MOVQ         mult+48(FP), R10
	MOVL         zp+56(FP), AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	VBROADCASTSS lo+60(FP), Y11
	VBROADCASTSS hi+64(FP), Y12
	VMOVDQU      lowbytes<>(SB), Y14
	VMOVDQU      lowperm<>(SB), Y15
	MOVQ         R11, R12
	SHRQ         $3, R12           // blocks of 8 per row
	ANDQ         $7, R11           // values left to Go

row:
	VPBROADCASTD (R8), Y4
	VBROADCASTSS (R10), Y5
	MOVQ         R12, CX

block:
	VCVTPS2DQ (SI), Y0
	VPADDD    Y4, Y0, Y0
	VCVTDQ2PS Y0, Y0
	VMULPS    Y5, Y0, Y0
	VMAXPS    Y11, Y0, Y0           // NaN -> lo
	VMINPS    Y12, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD    Y13, Y0, Y0
	VPSHUFB   Y14, Y0, Y0
	VPERMD    Y0, Y15, Y0
	VMOVQ     X0, (DI)
	ADDQ      $32, SI
	ADDQ      $8, DI
	DECQ      CX
	JNZ       block
	LEAQ      (SI)(R11*4), SI
	ADDQ      R11, DI
	ADDQ      R9, R8
	ADDQ      $4, R10
	DECQ      BX
	JNZ       row
	VZEROUPPER
	RET
