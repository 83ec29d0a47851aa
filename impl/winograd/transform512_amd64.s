//go:build amd64 && !purego

// AVX-512 versions of the transforms in transform_amd64.s: one zmm holds
// two 8-channel blocks (16 channels), halving the arithmetic per channel.
// The padded input keeps its 8-channel blocks, so an input row of 16
// channels is assembled from two 256-bit loads (the second with
// VINSERTF32X8); GEMM rows (transformed input, products) hold channels
// contiguously, so their loads and stores are plain 512-bit moves. The
// output transpose runs in the four 128-bit lanes at once and stores each
// lane (4 pixels of one channel) with VEXTRACTF32X4. Same formulas and
// operation order as the AVX2 kernels.

#include "textflag.h"

DATA wgc512<>+0(SB)/4, $4.0
DATA wgc512<>+4(SB)/4, $5.0
DATA wgc512<>+8(SB)/4, $2.0
DATA wgc512<>+12(SB)/4, $8.0
GLOBL wgc512<>(SB), RODATA|NOPTR, $16

#define BT4Z \
	VMOVAPS      Z4, Z6;        \
	VFMADD231PS  Z13, Z0, Z6;   \
	VFNMADD231PS Z14, Z2, Z6;   \
	VMOVAPS      Z4, Z7;        \
	VFNMADD231PS Z13, Z2, Z7;   \
	VMOVAPS      Z3, Z8;        \
	VFNMADD231PS Z13, Z1, Z8;   \
	VADDPS       Z8, Z7, Z9;    \
	VSUBPS       Z8, Z7, Z10;   \
	VSUBPS       Z2, Z4, Z11;   \
	VSUBPS       Z1, Z3, Z12;   \
	VADDPS       Z12, Z12, Z12; \
	VADDPS       Z12, Z11, Z7;  \
	VSUBPS       Z12, Z11, Z8;  \
	VFMADD231PS  Z13, Z1, Z5;   \
	VFNMADD231PS Z14, Z3, Z5

// LD16 loads 16 channels of one tile element: 8 from block b (base SI),
// 8 from block b+1 (base R14 = SI + cs).
#define LD16(off, idx, z, y) \
	VMOVUPS      off(SI)idx, y; \
	VINSERTF32X8 $1, off(R14)idx, z, z
#define LD16B(off, z, y) \
	VMOVUPS      off(SI), y; \
	VINSERTF32X8 $1, off(R14), z, z

// func wgIn4x16(src *float32, rs, cs uintptr, npair int, dst *float32, ps uintptr)
// As wgIn4 for npair pairs of blocks (blocks 2k and 2k+1 together).
TEXT ·wgIn4x16(SB), 0, $2304-48
	MOVQ src+0(FP), SI
	MOVQ rs+8(FP), DX
	MOVQ cs+16(FP), AX
	MOVQ npair+24(FP), CX
	MOVQ dst+32(FP), DI
	MOVQ ps+40(FP), R8
	LEAQ (DX)(DX*2), R12         // 3 rs
	LEAQ (DX)(DX*4), R13         // 5 rs
	LEAQ (R8)(R8*2), R9          // 3 ps
	LEAQ (R8)(R8*4), R10         // 5 ps
	LEAQ (R9)(R9*1), R11         // 6 ps
	VBROADCASTSS wgc512<>+0(SB), Z13
	VBROADCASTSS wgc512<>+4(SB), Z14
	TESTQ CX, CX
	JZ    in4z_done

in4z_pair:
	LEAQ (SI)(AX*1), R14
#define IN4ZCOL(c) \
	LD16B(c*32, Z0, Y0); \
	LD16(c*32, (DX*1), Z1, Y1); \
	LD16(c*32, (DX*2), Z2, Y2); \
	LD16(c*32, (R12*1), Z3, Y3); \
	LD16(c*32, (DX*4), Z4, Y4); \
	LD16(c*32, (R13*1), Z5, Y5); \
	BT4Z;                          \
	VMOVUPS Z6, ((0*6+c)*64)(SP);  \
	VMOVUPS Z9, ((1*6+c)*64)(SP);  \
	VMOVUPS Z10, ((2*6+c)*64)(SP); \
	VMOVUPS Z7, ((3*6+c)*64)(SP);  \
	VMOVUPS Z8, ((4*6+c)*64)(SP);  \
	VMOVUPS Z5, ((5*6+c)*64)(SP)
	IN4ZCOL(0)
	IN4ZCOL(1)
	IN4ZCOL(2)
	IN4ZCOL(3)
	IN4ZCOL(4)
	IN4ZCOL(5)

	MOVQ DI, BX
#define IN4ZROW(r) \
	VMOVUPS ((r*6+0)*64)(SP), Z0; \
	VMOVUPS ((r*6+1)*64)(SP), Z1; \
	VMOVUPS ((r*6+2)*64)(SP), Z2; \
	VMOVUPS ((r*6+3)*64)(SP), Z3; \
	VMOVUPS ((r*6+4)*64)(SP), Z4; \
	VMOVUPS ((r*6+5)*64)(SP), Z5; \
	BT4Z;                         \
	VMOVUPS Z6, (BX);             \
	VMOVUPS Z9, (BX)(R8*1);       \
	VMOVUPS Z10, (BX)(R8*2);      \
	VMOVUPS Z7, (BX)(R9*1);       \
	VMOVUPS Z8, (BX)(R8*4);       \
	VMOVUPS Z5, (BX)(R10*1);      \
	ADDQ    R11, BX
	IN4ZROW(0)
	IN4ZROW(1)
	IN4ZROW(2)
	IN4ZROW(3)
	IN4ZROW(4)
	IN4ZROW(5)

	LEAQ (SI)(AX*2), SI
	ADDQ $64, DI
	DECQ CX
	JNZ  in4z_pair

in4z_done:
	VZEROUPPER
	RET

#define AT4Z \
	VADDPS      Z2, Z1, Z10; \
	VSUBPS      Z2, Z1, Z1;  \
	VADDPS      Z4, Z3, Z2;  \
	VSUBPS      Z4, Z3, Z3;  \
	VADDPS      Z10, Z0, Z6; \
	VADDPS      Z2, Z6, Z6;  \
	VMOVAPS     Z1, Z7;      \
	VFMADD231PS Z15, Z3, Z7; \
	VMOVAPS     Z10, Z8;     \
	VFMADD231PS Z13, Z2, Z8; \
	VADDPS      Z5, Z1, Z9;  \
	VFMADD231PS Z14, Z3, Z9

// ST16 stores lane k of z (4 pixels of channel 4k+j) at base_k + off,
// bases BX, SI, R10, R11 (channels 0, 4, 8, 12).
#define ST16(z, x, idx) \
	VMOVUPS       x, (BX)idx;      \
	VEXTRACTF32X4 $1, z, (SI)idx;  \
	VEXTRACTF32X4 $2, z, (R10)idx; \
	VEXTRACTF32X4 $3, z, (R11)idx
#define ST16B(z, x) \
	VMOVUPS       x, (BX);      \
	VEXTRACTF32X4 $1, z, (SI);  \
	VEXTRACTF32X4 $2, z, (R10); \
	VEXTRACTF32X4 $3, z, (R11)

// func wgOut4x16(m *float32, ps uintptr, ntile int, dst *float32, rs, chs uintptr, bias *float32, lo, hi float32, mts, ots uintptr)
// As wgOut4 for 16 channels (two blocks).
TEXT ·wgOut4x16(SB), 0, $1536-80
	MOVQ m+0(FP), AX
	MOVQ ntile+16(FP), CX
	MOVQ dst+24(FP), DI
	MOVQ rs+32(FP), DX
	MOVQ chs+40(FP), R12
	MOVQ bias+48(FP), R14
	LEAQ (R12)(R12*2), R13       // 3 chs
	VBROADCASTSS wgc512<>+0(SB), Z13
	VBROADCASTSS wgc512<>+12(SB), Z14
	VBROADCASTSS wgc512<>+8(SB), Z15
	VBROADCASTSS lo+56(FP), Z12
	VBROADCASTSS hi+60(FP), Z16
	TESTQ CX, CX
	JZ    out4z_done

out4z_tile:
	MOVQ ps+8(FP), R9            // ps (column step)
	LEAQ (R9)(R9*2), R8
	ADDQ R8, R8                  // 6 ps
	LEAQ (R8)(R8*2), R10         // 18 ps
	LEAQ (R10)(R8*2), R11        // 30 ps
	MOVQ AX, BX
#define OUT4ZCOL(c) \
	VMOVUPS (BX), Z0;             \
	VMOVUPS (BX)(R8*1), Z1;       \
	VMOVUPS (BX)(R8*2), Z2;       \
	VMOVUPS (BX)(R10*1), Z3;      \
	VMOVUPS (BX)(R8*4), Z4;       \
	VMOVUPS (BX)(R11*1), Z5;      \
	AT4Z;                         \
	VMOVUPS Z6, ((0*6+c)*64)(SP); \
	VMOVUPS Z7, ((1*6+c)*64)(SP); \
	VMOVUPS Z8, ((2*6+c)*64)(SP); \
	VMOVUPS Z9, ((3*6+c)*64)(SP); \
	ADDQ    R9, BX
	OUT4ZCOL(0)
	OUT4ZCOL(1)
	OUT4ZCOL(2)
	OUT4ZCOL(3)
	OUT4ZCOL(4)
	OUT4ZCOL(5)

	VMOVUPS (R14), Z11
	MOVQ    DI, BX
#define OUT4ZROW(i) \
	VMOVUPS ((i*6+0)*64)(SP), Z0;  \
	VMOVUPS ((i*6+1)*64)(SP), Z1;  \
	VMOVUPS ((i*6+2)*64)(SP), Z2;  \
	VMOVUPS ((i*6+3)*64)(SP), Z3;  \
	VMOVUPS ((i*6+4)*64)(SP), Z4;  \
	VMOVUPS ((i*6+5)*64)(SP), Z5;  \
	AT4Z;                          \
	VADDPS   Z11, Z6, Z6;          \
	VADDPS   Z11, Z7, Z7;          \
	VADDPS   Z11, Z8, Z8;          \
	VADDPS   Z11, Z9, Z9;          \
	VMAXPS   Z6, Z12, Z6;          \
	VMAXPS   Z7, Z12, Z7;          \
	VMAXPS   Z8, Z12, Z8;          \
	VMAXPS   Z9, Z12, Z9;          \
	VMINPS   Z6, Z16, Z6;          \
	VMINPS   Z7, Z16, Z7;          \
	VMINPS   Z8, Z16, Z8;          \
	VMINPS   Z9, Z16, Z9;          \
	VUNPCKLPS Z7, Z6, Z0;          \
	VUNPCKHPS Z7, Z6, Z1;          \
	VUNPCKLPS Z9, Z8, Z2;          \
	VUNPCKHPS Z9, Z8, Z3;          \
	VSHUFPS  $0x44, Z2, Z0, Z4;    \
	VSHUFPS  $0xEE, Z2, Z0, Z5;    \
	VSHUFPS  $0x44, Z3, Z1, Z6;    \
	VSHUFPS  $0xEE, Z3, Z1, Z7;    \
	LEAQ     (BX)(R12*4), SI;      \
	LEAQ     (SI)(R12*4), R10;     \
	LEAQ     (R10)(R12*4), R11;    \
	ST16B(Z4, X4); \
	ST16(Z5, X5, (R12*1)); \
	ST16(Z6, X6, (R12*2)); \
	ST16(Z7, X7, (R13*1)); \
	ADDQ     DX, BX
	OUT4ZROW(0)
	OUT4ZROW(1)
	OUT4ZROW(2)
	OUT4ZROW(3)

	ADDQ mts+64(FP), AX
	ADDQ ots+72(FP), DI
	DECQ CX
	JNZ  out4z_tile

out4z_done:
	VZEROUPPER
	RET

// func wgIn2x16(src *float32, rs, cs uintptr, npair int, dst *float32, ps uintptr)
// As wgIn2 for npair pairs of blocks.
TEXT ·wgIn2x16(SB), 0, $1024-48
	MOVQ src+0(FP), SI
	MOVQ rs+8(FP), DX
	MOVQ cs+16(FP), AX
	MOVQ npair+24(FP), CX
	MOVQ dst+32(FP), DI
	MOVQ ps+40(FP), R8
	LEAQ (DX)(DX*2), R12         // 3 rs
	LEAQ (R8)(R8*2), R9          // 3 ps
	TESTQ CX, CX
	JZ    in2z_done

in2z_pair:
	LEAQ (SI)(AX*1), R14
#define BT2Z \
	VSUBPS Z2, Z0, Z4; \
	VADDPS Z2, Z1, Z5; \
	VSUBPS Z1, Z2, Z6; \
	VSUBPS Z3, Z1, Z7
#define IN2ZCOL(c) \
	LD16B(c*32, Z0, Y0);          \
	LD16(c*32, (DX*1), Z1, Y1);    \
	LD16(c*32, (DX*2), Z2, Y2);    \
	LD16(c*32, (R12*1), Z3, Y3);   \
	BT2Z;                          \
	VMOVUPS Z4, ((0*4+c)*64)(SP);  \
	VMOVUPS Z5, ((1*4+c)*64)(SP);  \
	VMOVUPS Z6, ((2*4+c)*64)(SP);  \
	VMOVUPS Z7, ((3*4+c)*64)(SP)
	IN2ZCOL(0)
	IN2ZCOL(1)
	IN2ZCOL(2)
	IN2ZCOL(3)
	MOVQ DI, BX
#define IN2ZROW(r) \
	VMOVUPS ((r*4+0)*64)(SP), Z0; \
	VMOVUPS ((r*4+1)*64)(SP), Z1; \
	VMOVUPS ((r*4+2)*64)(SP), Z2; \
	VMOVUPS ((r*4+3)*64)(SP), Z3; \
	BT2Z;                         \
	VMOVUPS Z4, (BX);             \
	VMOVUPS Z5, (BX)(R8*1);       \
	VMOVUPS Z6, (BX)(R8*2);       \
	VMOVUPS Z7, (BX)(R9*1);       \
	LEAQ    (BX)(R8*4), BX
	IN2ZROW(0)
	IN2ZROW(1)
	IN2ZROW(2)
	IN2ZROW(3)

	LEAQ (SI)(AX*2), SI
	ADDQ $64, DI
	DECQ CX
	JNZ  in2z_pair

in2z_done:
	VZEROUPPER
	RET

// ST2LANE stores 128-bit lane pair (x0 = from t0, x1 = from t1) of base b:
// channels 4k..4k+3, 2 pixels each.
#define ST2LANE(x0, x1, b) \
	VMOVLPS x0, (b);        \
	VMOVHPS x0, (b)(R12*1); \
	VMOVLPS x1, (b)(R12*2); \
	VMOVHPS x1, (b)(R13*1)

// func wgOut2x16(m *float32, ps uintptr, ntile int, dst *float32, rs, chs uintptr, bias *float32, lo, hi float32, mts, ots uintptr)
// As wgOut2 for 16 channels (two blocks).
TEXT ·wgOut2x16(SB), NOSPLIT, $0-80
	MOVQ m+0(FP), AX
	MOVQ ntile+16(FP), CX
	MOVQ dst+24(FP), DI
	MOVQ rs+32(FP), DX
	MOVQ chs+40(FP), R12
	MOVQ bias+48(FP), R14
	LEAQ (R12)(R12*2), R13       // 3 chs
	VBROADCASTSS lo+56(FP), Z14
	VBROADCASTSS hi+60(FP), Z15
	TESTQ CX, CX
	JZ    out2z_done

out2z_tile:
	MOVQ ps+8(FP), R9
	LEAQ (R9*4), R8              // 4 ps
	LEAQ (R8)(R8*2), R10         // 12 ps
	MOVQ AX, BX
#define OUT2ZCOL(t0, t1) \
	VMOVUPS (BX), Z0;        \
	VMOVUPS (BX)(R8*1), Z1;  \
	VMOVUPS (BX)(R8*2), Z2;  \
	VMOVUPS (BX)(R10*1), Z3; \
	VADDPS  Z1, Z0, t0;      \
	VADDPS  Z2, t0, t0;      \
	VSUBPS  Z2, Z1, t1;      \
	VSUBPS  Z3, t1, t1;      \
	ADDQ    R9, BX
	OUT2ZCOL(Z4, Z8)
	OUT2ZCOL(Z5, Z9)
	OUT2ZCOL(Z6, Z10)
	OUT2ZCOL(Z7, Z11)
	VMOVUPS (R14), Z12
	MOVQ    DI, BX
#define OUT2ZROW(a0, a1, a2, a3) \
	VADDPS   a1, a0, Z0;      \
	VADDPS   a2, Z0, Z0;      \
	VSUBPS   a2, a1, Z1;      \
	VSUBPS   a3, Z1, Z1;      \
	VADDPS   Z12, Z0, Z0;     \
	VADDPS   Z12, Z1, Z1;     \
	VMAXPS   Z0, Z14, Z0;     \
	VMAXPS   Z1, Z14, Z1;     \
	VMINPS   Z0, Z15, Z0;     \
	VMINPS   Z1, Z15, Z1;     \
	VUNPCKLPS Z1, Z0, Z2;     \
	VUNPCKHPS Z1, Z0, Z3;     \
	LEAQ     (BX)(R12*4), SI; \
	LEAQ     (SI)(R12*4), R10; \
	LEAQ     (R10)(R12*4), R11; \
	ST2LANE(X2, X3, BX);      \
	VEXTRACTF32X4 $1, Z2, X0; \
	VEXTRACTF32X4 $1, Z3, X1; \
	ST2LANE(X0, X1, SI);      \
	VEXTRACTF32X4 $2, Z2, X0; \
	VEXTRACTF32X4 $2, Z3, X1; \
	ST2LANE(X0, X1, R10);     \
	VEXTRACTF32X4 $3, Z2, X0; \
	VEXTRACTF32X4 $3, Z3, X1; \
	ST2LANE(X0, X1, R11);     \
	ADDQ     DX, BX
	OUT2ZROW(Z4, Z5, Z6, Z7)
	OUT2ZROW(Z8, Z9, Z10, Z11)

	ADDQ mts+64(FP), AX
	ADDQ ots+72(FP), DI
	DECQ CX
	JNZ  out2z_tile

out2z_done:
	VZEROUPPER
	RET
