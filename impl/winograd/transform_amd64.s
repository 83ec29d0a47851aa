//go:build amd64 && !purego

// Hand-written AVX2+FMA Winograd transforms on blocks of 8 channels: every
// ymm register holds the same tile element of 8 consecutive channels, so a
// transform is plain vector arithmetic (no shuffles) and the results are
// stored as 8 contiguous channels of one GEMM row. Both 2-D transforms run
// as two 1-D passes with the intermediate tile in the stack frame. The
// output transforms end with a 4x8 (or 2x8) register transpose that turns
// "one pixel, 8 channels" vectors into "one channel, 4 (2) pixels" rows of
// the NCHW output. The operation order matches transform.go (the pure-Go
// specification); FMA contractions may differ in the last bit.

#include "textflag.h"

DATA wgconst<>+0(SB)/4, $4.0
DATA wgconst<>+4(SB)/4, $5.0
DATA wgconst<>+8(SB)/4, $2.0
DATA wgconst<>+12(SB)/4, $8.0
GLOBL wgconst<>(SB), RODATA|NOPTR, $16

// BT4 applies B^T of F(4x4,3x3) to d0..d5 = Y0..Y5 (Y13 = 4, Y14 = 5):
//   r0 = 4d0 - 5d2 + d4        -> Y6
//   a = d4 - 4d2, b = d3 - 4d1: r1 = a + b -> Y9, r2 = a - b -> Y10
//   c = d4 - d2, e = 2(d3 - d1): r3 = c + e -> Y7, r4 = c - e -> Y8
//   r5 = 4d1 - 5d3 + d5        -> Y5
// Clobbers Y6..Y12; Y0..Y4 are left unchanged.
#define BT4 \
	VMOVAPS      Y4, Y6;       \
	VFMADD231PS  Y13, Y0, Y6;  \
	VFNMADD231PS Y14, Y2, Y6;  \
	VMOVAPS      Y4, Y7;       \
	VFNMADD231PS Y13, Y2, Y7;  \
	VMOVAPS      Y3, Y8;       \
	VFNMADD231PS Y13, Y1, Y8;  \
	VADDPS       Y8, Y7, Y9;   \
	VSUBPS       Y8, Y7, Y10;  \
	VSUBPS       Y2, Y4, Y11;  \
	VSUBPS       Y1, Y3, Y12;  \
	VADDPS       Y12, Y12, Y12; \
	VADDPS       Y12, Y11, Y7; \
	VSUBPS       Y12, Y11, Y8; \
	VFMADD231PS  Y13, Y1, Y5;  \
	VFNMADD231PS Y14, Y3, Y5

// func wgIn4(src *float32, rs, cs uintptr, nblk int, dst *float32, ps uintptr)
// src: tile origin of channel block 0, rows rs bytes apart, 8 floats per
// pixel; block b at src + b*cs. dst: position p of block b at
// dst + p*ps + b*32.
TEXT ·wgIn4(SB), 0, $1152-48
	MOVQ src+0(FP), SI
	MOVQ rs+8(FP), DX
	MOVQ cs+16(FP), AX
	MOVQ nblk+24(FP), CX
	MOVQ dst+32(FP), DI
	MOVQ ps+40(FP), R8
	LEAQ (DX)(DX*2), R12         // 3 rs
	LEAQ (DX)(DX*4), R13         // 5 rs
	LEAQ (R8)(R8*2), R9          // 3 ps
	LEAQ (R8)(R8*4), R10         // 5 ps
	LEAQ (R9)(R9*1), R11         // 6 ps
	VBROADCASTSS wgconst<>+0(SB), Y13
	VBROADCASTSS wgconst<>+4(SB), Y14
	TESTQ CX, CX
	JZ    in4_done

in4_block:
	// Pass 1: columns. t[r][c] at (r*6+c)*32(SP).
#define IN4COL(c) \
	VMOVUPS (c*32)(SI), Y0;        \
	VMOVUPS (c*32)(SI)(DX*1), Y1;  \
	VMOVUPS (c*32)(SI)(DX*2), Y2;  \
	VMOVUPS (c*32)(SI)(R12*1), Y3; \
	VMOVUPS (c*32)(SI)(DX*4), Y4;  \
	VMOVUPS (c*32)(SI)(R13*1), Y5; \
	BT4;                           \
	VMOVUPS Y6, ((0*6+c)*32)(SP);  \
	VMOVUPS Y9, ((1*6+c)*32)(SP);  \
	VMOVUPS Y10, ((2*6+c)*32)(SP); \
	VMOVUPS Y7, ((3*6+c)*32)(SP);  \
	VMOVUPS Y8, ((4*6+c)*32)(SP);  \
	VMOVUPS Y5, ((5*6+c)*32)(SP)
	IN4COL(0)
	IN4COL(1)
	IN4COL(2)
	IN4COL(3)
	IN4COL(4)
	IN4COL(5)

	// Pass 2: rows; position r*6+k goes to BX + k*ps, BX = dst + r*6*ps.
	MOVQ DI, BX
#define IN4ROW(r) \
	VMOVUPS ((r*6+0)*32)(SP), Y0; \
	VMOVUPS ((r*6+1)*32)(SP), Y1; \
	VMOVUPS ((r*6+2)*32)(SP), Y2; \
	VMOVUPS ((r*6+3)*32)(SP), Y3; \
	VMOVUPS ((r*6+4)*32)(SP), Y4; \
	VMOVUPS ((r*6+5)*32)(SP), Y5; \
	BT4;                          \
	VMOVUPS Y6, (BX);             \
	VMOVUPS Y9, (BX)(R8*1);       \
	VMOVUPS Y10, (BX)(R8*2);      \
	VMOVUPS Y7, (BX)(R9*1);       \
	VMOVUPS Y8, (BX)(R8*4);       \
	VMOVUPS Y5, (BX)(R10*1);      \
	ADDQ    R11, BX
	IN4ROW(0)
	IN4ROW(1)
	IN4ROW(2)
	IN4ROW(3)
	IN4ROW(4)
	IN4ROW(5)

	ADDQ AX, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  in4_block

in4_done:
	VZEROUPPER
	RET

// AT4 applies A^T of F(4x4,3x3) to m0..m5 = Y0..Y5 (Y13 = 4, Y14 = 8,
// Y15 = 2):
//   s12 = m1+m2, d12 = m1-m2, s34 = m3+m4, d34 = m3-m4
//   o0 = m0 + s12 + s34 -> Y6     o1 = d12 + 2 d34 -> Y7
//   o2 = s12 + 4 s34    -> Y8     o3 = d12 + 8 d34 + m5 -> Y9
// Clobbers Y0..Y4 and Y10.
#define AT4 \
	VADDPS      Y2, Y1, Y10; \
	VSUBPS      Y2, Y1, Y1;  \
	VADDPS      Y4, Y3, Y2;  \
	VSUBPS      Y4, Y3, Y3;  \
	VADDPS      Y10, Y0, Y6; \
	VADDPS      Y2, Y6, Y6;  \
	VMOVAPS     Y1, Y7;      \
	VFMADD231PS Y15, Y3, Y7; \
	VMOVAPS     Y10, Y8;     \
	VFMADD231PS Y13, Y2, Y8; \
	VADDPS      Y5, Y1, Y9;  \
	VFMADD231PS Y14, Y3, Y9

// func wgOut4(m *float32, ps uintptr, ntile int, dst *float32, rs, chs uintptr, bias *float32, lo, hi float32, mts, ots uintptr)
// One 8-channel block of ntile tiles: position p of tile i at
// m + i*mts + p*ps; channel c, output row r, column j of tile i at
// dst + i*ots + c*chs + r*rs + j*4. Each value is
// min(max(v + bias[c], lo), hi) (NaN preserved). Walking the tiles of a
// row (ots = 16) fills each output cache line before moving on.
TEXT ·wgOut4(SB), 0, $768-80
	MOVQ m+0(FP), AX
	MOVQ ps+8(FP), R8
	MOVQ ntile+16(FP), CX
	MOVQ dst+24(FP), DI
	MOVQ rs+32(FP), DX
	MOVQ chs+40(FP), R12
	MOVQ bias+48(FP), R14
	LEAQ (R8)(R8*2), R8
	ADDQ R8, R8                  // 6 ps
	LEAQ (R8)(R8*2), R10         // 18 ps
	LEAQ (R10)(R8*2), R11        // 30 ps
	MOVQ ps+8(FP), R9            // ps (column step)
	LEAQ (R12)(R12*2), R13       // 3 chs
	VBROADCASTSS wgconst<>+0(SB), Y13
	VBROADCASTSS wgconst<>+12(SB), Y14
	VBROADCASTSS wgconst<>+8(SB), Y15
	VBROADCASTSS lo+56(FP), Y12
	TESTQ CX, CX
	JZ    out4_done

out4_tile:
	// Pass 1: columns c = 0..5 of m (positions r*6+c); t[i][c] at (i*6+c)*32(SP).
	MOVQ AX, BX
#define OUT4COL(c) \
	VMOVUPS (BX), Y0;             \
	VMOVUPS (BX)(R8*1), Y1;       \
	VMOVUPS (BX)(R8*2), Y2;       \
	VMOVUPS (BX)(R10*1), Y3;      \
	VMOVUPS (BX)(R8*4), Y4;       \
	VMOVUPS (BX)(R11*1), Y5;      \
	AT4;                          \
	VMOVUPS Y6, ((0*6+c)*32)(SP); \
	VMOVUPS Y7, ((1*6+c)*32)(SP); \
	VMOVUPS Y8, ((2*6+c)*32)(SP); \
	VMOVUPS Y9, ((3*6+c)*32)(SP); \
	ADDQ    R9, BX
	OUT4COL(0)
	OUT4COL(1)
	OUT4COL(2)
	OUT4COL(3)
	OUT4COL(4)
	OUT4COL(5)

	// Pass 2: output rows; bias in Y11, bounds in Y12 (lo) and Y10 (hi,
	// reloaded after each AT4, which clobbers Y10).
	VMOVUPS (R14), Y11
	MOVQ    DI, BX
#define OUT4ROW(i) \
	VMOVUPS ((i*6+0)*32)(SP), Y0;  \
	VMOVUPS ((i*6+1)*32)(SP), Y1;  \
	VMOVUPS ((i*6+2)*32)(SP), Y2;  \
	VMOVUPS ((i*6+3)*32)(SP), Y3;  \
	VMOVUPS ((i*6+4)*32)(SP), Y4;  \
	VMOVUPS ((i*6+5)*32)(SP), Y5;  \
	AT4;                           \
	VBROADCASTSS hi+60(FP), Y10;   \
	VADDPS   Y11, Y6, Y6;          \
	VADDPS   Y11, Y7, Y7;          \
	VADDPS   Y11, Y8, Y8;          \
	VADDPS   Y11, Y9, Y9;          \
	VMAXPS   Y6, Y12, Y6;          \
	VMAXPS   Y7, Y12, Y7;          \
	VMAXPS   Y8, Y12, Y8;          \
	VMAXPS   Y9, Y12, Y9;          \
	VMINPS   Y6, Y10, Y6;          \
	VMINPS   Y7, Y10, Y7;          \
	VMINPS   Y8, Y10, Y8;          \
	VMINPS   Y9, Y10, Y9;          \
	VUNPCKLPS Y7, Y6, Y0;          \
	VUNPCKHPS Y7, Y6, Y1;          \
	VUNPCKLPS Y9, Y8, Y2;          \
	VUNPCKHPS Y9, Y8, Y3;          \
	VSHUFPS  $0x44, Y2, Y0, Y4;    \
	VSHUFPS  $0xEE, Y2, Y0, Y5;    \
	VSHUFPS  $0x44, Y3, Y1, Y6;    \
	VSHUFPS  $0xEE, Y3, Y1, Y7;    \
	LEAQ     (BX)(R12*4), SI;      \
	VMOVUPS  X4, (BX);             \
	VEXTRACTF128 $1, Y4, (SI);     \
	VMOVUPS  X5, (BX)(R12*1);      \
	VEXTRACTF128 $1, Y5, (SI)(R12*1); \
	VMOVUPS  X6, (BX)(R12*2);      \
	VEXTRACTF128 $1, Y6, (SI)(R12*2); \
	VMOVUPS  X7, (BX)(R13*1);      \
	VEXTRACTF128 $1, Y7, (SI)(R13*1); \
	ADDQ     DX, BX
	OUT4ROW(0)
	OUT4ROW(1)
	OUT4ROW(2)
	OUT4ROW(3)

	ADDQ mts+64(FP), AX
	ADDQ ots+72(FP), DI
	DECQ CX
	JNZ  out4_tile

out4_done:
	VZEROUPPER
	RET

// func wgIn2(src *float32, rs, cs uintptr, nblk int, dst *float32, ps uintptr)
// F(2x2,3x3) input transform: B^T d B on 4x4 tiles, 16 positions.
//   r0 = d0 - d2, r1 = d1 + d2, r2 = d2 - d1, r3 = d1 - d3
TEXT ·wgIn2(SB), NOSPLIT, $512-48
	MOVQ src+0(FP), SI
	MOVQ rs+8(FP), DX
	MOVQ cs+16(FP), AX
	MOVQ nblk+24(FP), CX
	MOVQ dst+32(FP), DI
	MOVQ ps+40(FP), R8
	LEAQ (DX)(DX*2), R12         // 3 rs
	LEAQ (R8)(R8*2), R9          // 3 ps
	TESTQ CX, CX
	JZ    in2_done

in2_block:
#define BT2 \
	VSUBPS Y2, Y0, Y4; \
	VADDPS Y2, Y1, Y5; \
	VSUBPS Y1, Y2, Y6; \
	VSUBPS Y3, Y1, Y7
#define IN2COL(c) \
	VMOVUPS (c*32)(SI), Y0;        \
	VMOVUPS (c*32)(SI)(DX*1), Y1;  \
	VMOVUPS (c*32)(SI)(DX*2), Y2;  \
	VMOVUPS (c*32)(SI)(R12*1), Y3; \
	BT2;                           \
	VMOVUPS Y4, ((0*4+c)*32)(SP);  \
	VMOVUPS Y5, ((1*4+c)*32)(SP);  \
	VMOVUPS Y6, ((2*4+c)*32)(SP);  \
	VMOVUPS Y7, ((3*4+c)*32)(SP)
	IN2COL(0)
	IN2COL(1)
	IN2COL(2)
	IN2COL(3)
	MOVQ DI, BX
#define IN2ROW(r) \
	VMOVUPS ((r*4+0)*32)(SP), Y0; \
	VMOVUPS ((r*4+1)*32)(SP), Y1; \
	VMOVUPS ((r*4+2)*32)(SP), Y2; \
	VMOVUPS ((r*4+3)*32)(SP), Y3; \
	BT2;                          \
	VMOVUPS Y4, (BX);             \
	VMOVUPS Y5, (BX)(R8*1);       \
	VMOVUPS Y6, (BX)(R8*2);       \
	VMOVUPS Y7, (BX)(R9*1);       \
	LEAQ    (BX)(R8*4), BX
	IN2ROW(0)
	IN2ROW(1)
	IN2ROW(2)
	IN2ROW(3)

	ADDQ AX, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  in2_block

in2_done:
	VZEROUPPER
	RET

// func wgOut2(m *float32, ps uintptr, ntile int, dst *float32, rs, chs uintptr, bias *float32, lo, hi float32, mts, ots uintptr)
// F(2x2,3x3) output transform (as wgOut4): o0 = m0 + m1 + m2,
// o1 = m1 - m2 - m3 on columns, then rows; 2x2 outputs per channel.
TEXT ·wgOut2(SB), NOSPLIT, $0-80
	MOVQ m+0(FP), AX
	MOVQ ps+8(FP), R9
	MOVQ ntile+16(FP), CX
	MOVQ dst+24(FP), DI
	MOVQ rs+32(FP), DX
	MOVQ chs+40(FP), R12
	MOVQ bias+48(FP), R14
	LEAQ (R9*4), R8               // 4 ps
	LEAQ (R8)(R8*2), R10         // 12 ps
	LEAQ (R12)(R12*2), R13       // 3 chs
	VBROADCASTSS lo+56(FP), Y14
	VBROADCASTSS hi+60(FP), Y15
	TESTQ CX, CX
	JZ    out2_done

out2_tile:
	// Pass 1: column c -> t0c in Y(4+c), t1c in Y(8+c).
	MOVQ AX, BX
#define OUT2COL(t0, t1) \
	VMOVUPS (BX), Y0;        \
	VMOVUPS (BX)(R8*1), Y1;  \
	VMOVUPS (BX)(R8*2), Y2;  \
	VMOVUPS (BX)(R10*1), Y3; \
	VADDPS  Y1, Y0, t0;      \
	VADDPS  Y2, t0, t0;      \
	VSUBPS  Y2, Y1, t1;      \
	VSUBPS  Y3, t1, t1;      \
	ADDQ    R9, BX
	OUT2COL(Y4, Y8)
	OUT2COL(Y5, Y9)
	OUT2COL(Y6, Y10)
	OUT2COL(Y7, Y11)
	VMOVUPS (R14), Y12
	MOVQ    DI, BX
	// Pass 2: row i from Y(a..a+3) -> pixels Y0 (x=0), Y1 (x=1), then
	// bias, clamp, 2x8 transpose and 8-byte stores.
#define OUT2ROW(a0, a1, a2, a3) \
	VADDPS   a1, a0, Y0;      \
	VADDPS   a2, Y0, Y0;      \
	VSUBPS   a2, a1, Y1;      \
	VSUBPS   a3, Y1, Y1;      \
	VADDPS   Y12, Y0, Y0;     \
	VADDPS   Y12, Y1, Y1;     \
	VMAXPS   Y0, Y14, Y0;     \
	VMAXPS   Y1, Y14, Y1;     \
	VMINPS   Y0, Y15, Y0;     \
	VMINPS   Y1, Y15, Y1;     \
	VUNPCKLPS Y1, Y0, Y2;     \
	VUNPCKHPS Y1, Y0, Y3;     \
	LEAQ     (BX)(R12*4), SI; \
	VMOVLPS  X2, (BX);        \
	VMOVHPS  X2, (BX)(R12*1); \
	VMOVLPS  X3, (BX)(R12*2); \
	VMOVHPS  X3, (BX)(R13*1); \
	VEXTRACTF128 $1, Y2, X2;  \
	VEXTRACTF128 $1, Y3, X3;  \
	VMOVLPS  X2, (SI);        \
	VMOVHPS  X2, (SI)(R12*1); \
	VMOVLPS  X3, (SI)(R12*2); \
	VMOVHPS  X3, (SI)(R13*1); \
	ADDQ     DX, BX
	OUT2ROW(Y4, Y5, Y6, Y7)
	OUT2ROW(Y8, Y9, Y10, Y11)

	ADDQ mts+64(FP), AX
	ADDQ ots+72(FP), DI
	DECQ CX
	JNZ  out2_tile

out2_done:
	VZEROUPPER
	RET

// func wgRepack8(src *float32, plane, rowStride uintptr, rows, n8 int, dst *float32, dstRow uintptr)
// Interleaves 8 channel planes into pixel-major blocks: for each of rows
// rows and n8 groups of 8 pixels, loads 8 pixels of each channel (planes
// plane bytes apart, rows rowStride bytes apart), transposes the 8x8 block
// in registers and stores 8 pixels x 8 channels contiguously at dst (rows
// dstRow bytes apart).
TEXT ·wgRepack8(SB), NOSPLIT, $0-56
	MOVQ src+0(FP), SI
	MOVQ plane+8(FP), R8
	MOVQ rowStride+16(FP), R11
	MOVQ rows+24(FP), CX
	MOVQ n8+32(FP), R12
	MOVQ dst+40(FP), DI
	MOVQ dstRow+48(FP), R13
	LEAQ (R8)(R8*2), R9          // 3 planes
	TESTQ CX, CX
	JZ    rp_done

rp_row:
	MOVQ SI, BX
	LEAQ (SI)(R8*4), R10
	MOVQ DI, DX
	MOVQ R12, AX
	TESTQ AX, AX
	JZ    rp_next

rp_grp:
	VMOVUPS (BX), Y0
	VMOVUPS (BX)(R8*1), Y1
	VMOVUPS (BX)(R8*2), Y2
	VMOVUPS (BX)(R9*1), Y3
	VMOVUPS (R10), Y4
	VMOVUPS (R10)(R8*1), Y5
	VMOVUPS (R10)(R8*2), Y6
	VMOVUPS (R10)(R9*1), Y7
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0   // pixels 0|4, channels 0-3
	VSHUFPS $0xEE, Y10, Y8, Y1   // pixels 1|5
	VSHUFPS $0x44, Y11, Y9, Y2   // pixels 2|6
	VSHUFPS $0xEE, Y11, Y9, Y3   // pixels 3|7
	VSHUFPS $0x44, Y14, Y12, Y4  // channels 4-7
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS Y8, 0(DX)
	VMOVUPS Y9, 32(DX)
	VMOVUPS Y10, 64(DX)
	VMOVUPS Y11, 96(DX)
	VMOVUPS Y12, 128(DX)
	VMOVUPS Y13, 160(DX)
	VMOVUPS Y14, 192(DX)
	VMOVUPS Y15, 224(DX)
	ADDQ $32, BX
	ADDQ $32, R10
	ADDQ $256, DX
	DECQ AX
	JNZ  rp_grp

rp_next:
	ADDQ R11, SI
	ADDQ R13, DI
	DECQ CX
	JNZ  rp_row

rp_done:
	VZEROUPPER
	RET
