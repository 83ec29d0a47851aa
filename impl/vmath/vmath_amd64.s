//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 forms of vmath.go's approximations, sixteen lanes at a time with
// fused multiply-adds; the last n%16 values go through the same code under
// an opmask. Constants are broadcast from vmc<> (embedded broadcasts), the
// clamps' bounds live in registers so that VMINPS/VMAXPS return the NaN
// operand: Z31 = expMax, Z30 = expMin, Z29 = erfTop, Z28 = 1, Z27 = -Inf.

DATA vmc<>+0(SB)/4, $0x3fb8aa3b // log2e
DATA vmc<>+4(SB)/4, $0x3f318000 // ln2Hi
DATA vmc<>+8(SB)/4, $0xb95e8083 // ln2Lo
DATA vmc<>+12(SB)/4, $0x3efffffd // expQ0
DATA vmc<>+16(SB)/4, $0x3e2aaa3d // expQ1
DATA vmc<>+20(SB)/4, $0x3d2aacb0 // expQ2
DATA vmc<>+24(SB)/4, $0x3c092593 // expQ3
DATA vmc<>+28(SB)/4, $0x3ab503ce // expQ4
DATA vmc<>+32(SB)/4, $0x3f800000 // one
DATA vmc<>+36(SB)/4, $0x42b1999a // expMax
DATA vmc<>+40(SB)/4, $0xc2d00000 // expMin
DATA vmc<>+44(SB)/4, $0x3f700000 // erfSplit
DATA vmc<>+48(SB)/4, $0x407b3333 // erfTop
DATA vmc<>+52(SB)/4, $0x3e0375d2 // erfS0
DATA vmc<>+56(SB)/4, $0xbec0936a // erfS1
DATA vmc<>+60(SB)/4, $0x3de70bd4 // erfS2
DATA vmc<>+64(SB)/4, $0xbcdb3192 // erfS3
DATA vmc<>+68(SB)/4, $0x3ba327f9 // erfS4
DATA vmc<>+72(SB)/4, $0xba1b2c8c // erfS5
DATA vmc<>+76(SB)/4, $0xb96a4f05 // erfB0
DATA vmc<>+80(SB)/4, $0xbf9053ee // erfB1
DATA vmc<>+84(SB)/4, $0xbf232aee // erfB2
DATA vmc<>+88(SB)/4, $0xbdd4825f // erfB3
DATA vmc<>+92(SB)/4, $0x3cb56cdd // erfB4
DATA vmc<>+96(SB)/4, $0xbb46203b // erfB5
DATA vmc<>+100(SB)/4, $0x394b51c4 // erfB6
DATA vmc<>+104(SB)/4, $0x7fffffff // absMask
DATA vmc<>+108(SB)/4, $0x80000000 // signMask
DATA vmc<>+112(SB)/4, $0x3f000000 // half
DATA vmc<>+116(SB)/4, $0x3f3504f3 // sqrt12
DATA vmc<>+120(SB)/4, $0xff800000 // negInf
GLOBL vmc<>(SB), RODATA|NOPTR, $124
#define C_log2e vmc<>+0(SB)
#define C_ln2Hi vmc<>+4(SB)
#define C_ln2Lo vmc<>+8(SB)
#define C_expQ0 vmc<>+12(SB)
#define C_expQ1 vmc<>+16(SB)
#define C_expQ2 vmc<>+20(SB)
#define C_expQ3 vmc<>+24(SB)
#define C_expQ4 vmc<>+28(SB)
#define C_one vmc<>+32(SB)
#define C_expMax vmc<>+36(SB)
#define C_expMin vmc<>+40(SB)
#define C_erfSplit vmc<>+44(SB)
#define C_erfTop vmc<>+48(SB)
#define C_erfS0 vmc<>+52(SB)
#define C_erfS1 vmc<>+56(SB)
#define C_erfS2 vmc<>+60(SB)
#define C_erfS3 vmc<>+64(SB)
#define C_erfS4 vmc<>+68(SB)
#define C_erfS5 vmc<>+72(SB)
#define C_erfB0 vmc<>+76(SB)
#define C_erfB1 vmc<>+80(SB)
#define C_erfB2 vmc<>+84(SB)
#define C_erfB3 vmc<>+88(SB)
#define C_erfB4 vmc<>+92(SB)
#define C_erfB5 vmc<>+96(SB)
#define C_erfB6 vmc<>+100(SB)
#define C_absMask vmc<>+104(SB)
#define C_signMask vmc<>+108(SB)
#define C_half vmc<>+112(SB)
#define C_sqrt12 vmc<>+116(SB)
#define C_negInf vmc<>+120(SB)

#define LOADCONSTS \
	VBROADCASTSS C_expMax, Z31 ; \
	VBROADCASTSS C_expMin, Z30 ; \
	VBROADCASTSS C_erfTop, Z29 ; \
	VBROADCASTSS C_one, Z28 ; \
	VBROADCASTSS C_negInf, Z27

// EXPCORE sets p = e^x for x already clamped (x is clobbered; n, r2 temps).
#define EXPCORE(x, n, p, r2) \
	VMULPS.BCST C_log2e, x, n ; \
	VRNDSCALEPS $0, n, n ; \
	VFNMADD231PS.BCST C_ln2Hi, n, x ; \
	VFNMADD231PS.BCST C_ln2Lo, n, x ; \
	VBROADCASTSS C_expQ4, p ; \
	VFMADD213PS.BCST C_expQ3, x, p ; \
	VFMADD213PS.BCST C_expQ2, x, p ; \
	VFMADD213PS.BCST C_expQ1, x, p ; \
	VFMADD213PS.BCST C_expQ0, x, p ; \
	VMULPS x, x, r2 ; \
	VFMADD213PS x, r2, p ; \
	VADDPS Z28, p, p ; \
	VSCALEFPS n, p, p

// EXPZ sets p = e^x for any x (clamped to [expMin, expMax]: overflow to
// +Inf and underflow to 0 through VSCALEFPS, NaN kept).
#define EXPZ(x, n, p, r2) \
	VMINPS x, Z31, x ; \
	VMAXPS x, Z30, x ; \
	EXPCORE(x, n, p, r2)

// ERFZ sets res = erf(x) (x kept; t, g, q, n, r2 temps; K1 clobbered).
#define ERFZ(x, res, t, g, q, n, r2) \
	VPANDD.BCST C_absMask, x, t ; \
	VMULPS x, x, q ; \
	VBROADCASTSS C_erfS5, g ; \
	VFMADD213PS.BCST C_erfS4, q, g ; \
	VFMADD213PS.BCST C_erfS3, q, g ; \
	VFMADD213PS.BCST C_erfS2, q, g ; \
	VFMADD213PS.BCST C_erfS1, q, g ; \
	VFMADD213PS.BCST C_erfS0, q, g ; \
	VFMADD213PS x, x, g ; \
	VCMPPS.BCST $0x11, C_erfSplit, t, K1 ; \
	VMINPS t, Z29, t ; \
	VBROADCASTSS C_erfB6, q ; \
	VFMADD213PS.BCST C_erfB5, t, q ; \
	VFMADD213PS.BCST C_erfB4, t, q ; \
	VFMADD213PS.BCST C_erfB3, t, q ; \
	VFMADD213PS.BCST C_erfB2, t, q ; \
	VFMADD213PS.BCST C_erfB1, t, q ; \
	VFMADD213PS.BCST C_erfB0, t, q ; \
	EXPCORE(q, n, res, r2) ; \
	VSUBPS res, Z28, res ; \
	VPANDD.BCST C_signMask, x, t ; \
	VPORD t, res, res ; \
	VMOVAPS g, K1, res

// TAILMASK sets K2 to the low CX bits (CX < 16; AX clobbered).
#define TAILMASK \
	MOVL $1, AX ; \
	SHLL CX, AX ; \
	DECL AX ; \
	KMOVW AX, K2

// func expAVX512(dst, src *float32, n int)
TEXT ·expAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	LOADCONSTS
exploop:
	CMPQ CX, $16
	JLT  exptail
	VMOVUPS (SI), Z0
	EXPZ(Z0, Z1, Z2, Z3)
	VMOVUPS Z2, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  exploop
exptail:
	TESTQ CX, CX
	JZ    expdone
	TAILMASK
	VMOVUPS.Z (SI), K2, Z0
	EXPZ(Z0, Z1, Z2, Z3)
	VMOVUPS Z2, K2, (DI)
expdone:
	VZEROUPPER
	RET

// func erfAVX512(dst, src *float32, n int)
TEXT ·erfAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	LOADCONSTS
erfloop:
	CMPQ CX, $16
	JLT  erftail
	VMOVUPS (SI), Z0
	ERFZ(Z0, Z1, Z2, Z3, Z4, Z5, Z6)
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  erfloop
erftail:
	TESTQ CX, CX
	JZ    erfdone
	TAILMASK
	VMOVUPS.Z (SI), K2, Z0
	ERFZ(Z0, Z1, Z2, Z3, Z4, Z5, Z6)
	VMOVUPS Z1, K2, (DI)
erfdone:
	VZEROUPPER
	RET

// GELUZ sets res = x/2 (1 + erf(x/sqrt 2)) (x kept; z and temps clobbered).
#define GELUZ(x, res, z, t, g, q, n, r2) \
	VMULPS.BCST C_sqrt12, x, z ; \
	ERFZ(z, res, t, g, q, n, r2) ; \
	VMULPS.BCST C_half, x, z ; \
	VFMADD213PS z, z, res

// func geluAVX512(dst, src *float32, n int)
TEXT ·geluAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	LOADCONSTS
geluloop:
	CMPQ CX, $16
	JLT  gelutail
	VMOVUPS (SI), Z0
	GELUZ(Z0, Z1, Z7, Z2, Z3, Z4, Z5, Z6)
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  geluloop
gelutail:
	TESTQ CX, CX
	JZ    geludone
	TAILMASK
	VMOVUPS.Z (SI), K2, Z0
	GELUZ(Z0, Z1, Z7, Z2, Z3, Z4, Z5, Z6)
	VMOVUPS Z1, K2, (DI)
geludone:
	VZEROUPPER
	RET

// HREDUCE folds the 16 lanes of z (y, x: its ymm and xmm names) with op
// and broadcasts the result to every lane of z (Z15 clobbered).
#define HREDUCE(op, z, y, x) \
	VEXTRACTF64X4 $1, z, Y15 ; \
	op Y15, y, y ; \
	VEXTRACTF128 $1, y, X15 ; \
	op X15, x, x ; \
	VPERMILPS $0x4e, x, X15 ; \
	op X15, x, x ; \
	VPERMILPS $0xb1, x, X15 ; \
	op X15, x, x ; \
	VBROADCASTSS x, z

// func softmaxAVX512(dst, src *float32, rows, n int)
//
// Per row of n: the max (a tail lane reads as -Inf), exp(x - max) stored
// and summed, then the stored row scaled by 1/sum.
TEXT ·softmaxAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ n+24(FP), R9
	LOADCONSTS
	MOVQ R9, CX
	ANDQ $15, CX
	TAILMASK
	MOVQ R9, R10
	SHRQ $4, R10
	TESTQ R8, R8
	JZ    smdone
smrow:
	VMOVAPS Z27, Z0
	MOVQ SI, R11
	MOVQ R10, CX
	TESTQ CX, CX
	JZ    smmaxtail
smmax:
	VMAXPS (R11), Z0, Z0
	ADDQ $64, R11
	DECQ CX
	JNZ  smmax
smmaxtail:
	KORTESTW K2, K2
	JZ   smmaxred
	VMOVAPS Z27, Z1
	VMOVUPS (R11), K2, Z1
	VMAXPS Z1, Z0, Z0
smmaxred:
	HREDUCE(VMAXPS, Z0, Y0, X0)
	VXORPS Z5, Z5, Z5
	MOVQ SI, R11
	MOVQ DI, R12
	MOVQ R10, CX
	TESTQ CX, CX
	JZ    smexptail
smexp:
	VMOVUPS (R11), Z1
	VSUBPS Z0, Z1, Z1
	EXPZ(Z1, Z2, Z3, Z4)
	VMOVUPS Z3, (R12)
	VADDPS Z3, Z5, Z5
	ADDQ $64, R11
	ADDQ $64, R12
	DECQ CX
	JNZ  smexp
smexptail:
	KORTESTW K2, K2
	JZ   smsumred
	VMOVAPS Z27, Z1
	VMOVUPS (R11), K2, Z1
	VSUBPS Z0, Z1, Z1
	EXPZ(Z1, Z2, Z3, Z4)
	VMOVUPS Z3, K2, (R12)
	VADDPS Z3, Z5, Z5
smsumred:
	HREDUCE(VADDPS, Z5, Y5, X5)
	VDIVPS Z5, Z28, Z5
	MOVQ DI, R12
	MOVQ R10, CX
	TESTQ CX, CX
	JZ    smscaletail
smscale:
	VMULPS (R12), Z5, Z1
	VMOVUPS Z1, (R12)
	ADDQ $64, R12
	DECQ CX
	JNZ  smscale
smscaletail:
	KORTESTW K2, K2
	JZ   smnext
	VMOVUPS.Z (R12), K2, Z1
	VMULPS Z5, Z1, Z1
	VMOVUPS Z1, K2, (R12)
smnext:
	LEAQ (SI)(R9*4), SI
	LEAQ (DI)(R9*4), DI
	DECQ R8
	JNZ  smrow
smdone:
	VZEROUPPER
	RET

// func scaleInt32AVX512(dst *float32, acc *int32, mult, bias *float32, n int)
//
// dst = float32(acc) * mult (+ bias when bias is not nil), no FMA.
TEXT ·scaleInt32AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ mult+16(FP), DX
	MOVQ bias+24(FP), BX
	MOVQ n+32(FP), CX
	VXORPS Z3, Z3, Z3
sciloop:
	CMPQ CX, $16
	JLT  scitail
	VCVTDQ2PS (SI), Z0
	VMULPS (DX), Z0, Z0
	TESTQ BX, BX
	JZ    scinob
	VADDPS (BX), Z0, Z0
	ADDQ $64, BX
scinob:
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  sciloop
scitail:
	TESTQ CX, CX
	JZ    scidone
	TAILMASK
	VMOVDQU32.Z (SI), K2, Z0
	VCVTDQ2PS Z0, Z0
	VMOVUPS.Z (DX), K2, Z1
	VMULPS Z1, Z0, Z0
	TESTQ BX, BX
	JZ    scitailnob
	VMOVUPS.Z (BX), K2, Z1
	VADDPS Z1, Z0, Z0
scitailnob:
	VMOVUPS Z0, K2, (DI)
scidone:
	VZEROUPPER
	RET

// func layerNormAVX512(y, x, gamma, beta *float32, rows, n int, invn, eps float32)
//
// Per row of n: mean, mean of squared deviations, then
// y = (x - mean) * (1/sqrt(var + eps)) * g + b (g, b: n values each).
TEXT ·layerNormAVX512(SB), NOSPLIT, $0-56
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gamma+16(FP), R13
	MOVQ beta+24(FP), BX
	MOVQ rows+32(FP), R8
	MOVQ n+40(FP), R9
	VBROADCASTSS invn+48(FP), Z30
	VBROADCASTSS eps+52(FP), Z29
	VBROADCASTSS C_one, Z28
	MOVQ R9, CX
	ANDQ $15, CX
	TAILMASK
	MOVQ R9, R10
	SHRQ $4, R10
	TESTQ R8, R8
	JZ    lndone
lnrow:
	// mean
	VXORPS Z0, Z0, Z0
	MOVQ SI, R11
	MOVQ R10, CX
	TESTQ CX, CX
	JZ    lnsumtail
lnsum:
	VADDPS (R11), Z0, Z0
	ADDQ $64, R11
	DECQ CX
	JNZ  lnsum
lnsumtail:
	KORTESTW K2, K2
	JZ   lnsumred
	VMOVUPS.Z (R11), K2, Z1
	VADDPS Z1, Z0, Z0
lnsumred:
	HREDUCE(VADDPS, Z0, Y0, X0)
	VMULPS Z30, Z0, Z0
	// variance
	VXORPS Z5, Z5, Z5
	MOVQ SI, R11
	MOVQ R10, CX
	TESTQ CX, CX
	JZ    lnvartail
lnvar:
	VMOVUPS (R11), Z1
	VSUBPS Z0, Z1, Z1
	VFMADD231PS Z1, Z1, Z5
	ADDQ $64, R11
	DECQ CX
	JNZ  lnvar
lnvartail:
	KORTESTW K2, K2
	JZ   lnvarred
	VMOVUPS.Z (R11), K2, Z1
	VSUBPS.Z Z0, Z1, K2, Z1
	VFMADD231PS Z1, Z1, Z5
lnvarred:
	HREDUCE(VADDPS, Z5, Y5, X5)
	VMULPS Z30, Z5, Z5
	VADDPS Z29, Z5, Z5
	VSQRTPS Z5, Z5
	VDIVPS Z5, Z28, Z5
	// normalise
	MOVQ SI, R11
	MOVQ DI, R12
	MOVQ R13, AX
	MOVQ BX, DX
	MOVQ R10, CX
	TESTQ CX, CX
	JZ    lnouttail
lnout:
	VMOVUPS (R11), Z1
	VSUBPS Z0, Z1, Z1
	VMULPS Z5, Z1, Z1
	VMOVUPS (DX), Z2
	VFMADD231PS (AX), Z1, Z2
	VMOVUPS Z2, (R12)
	ADDQ $64, R11
	ADDQ $64, R12
	ADDQ $64, AX
	ADDQ $64, DX
	DECQ CX
	JNZ  lnout
lnouttail:
	KORTESTW K2, K2
	JZ   lnnext
	VMOVUPS.Z (R11), K2, Z1
	VSUBPS Z0, Z1, Z1
	VMULPS Z5, Z1, Z1
	VMOVUPS.Z (DX), K2, Z2
	VMOVUPS.Z (AX), K2, Z3
	VFMADD231PS Z3, Z1, Z2
	VMOVUPS Z2, K2, (R12)
lnnext:
	LEAQ (SI)(R9*4), SI
	LEAQ (DI)(R9*4), DI
	DECQ R8
	JNZ  lnrow
lndone:
	VZEROUPPER
	RET
