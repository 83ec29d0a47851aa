//go:build amd64 && !purego

#include "textflag.h"
#include "go_asm.h"

// Max-pool kernels; see pool_simd_amd64.go for the layout and the contract.
//
// Every kernel pools a.rows output rows. Registers through the row loop:
//   AX    the poolArgs
//   SI    window row 0 of the current output row; R10, R11 rows 1 and 2
//   R8/R9 off1/off2
//   DI    the current output row
//   BX    byte offset (from the row starts) of the block's first window
//         column s*J (for the 3-wide windows, column s*J-1 is the pad side)
//   CX    byte offset of the block's first output J
//   R12   rows left; DX blocks left
//
//   R14, R15 scratch
// and K0-K7 (AVX-512) or Y10-Y15 (AVX2) as the kernels say.
//
// Byte kernels exist twice, for uint8 (VPMAXUB, identity 0) and int8
// (VPMAXSB, identity 0x80): MAXB is defined before each set.

// PREFETCHROWS prefetches, at the start of an output row, the a.pfn cache
// lines from SI+a.pfoff: the input rows the window of an output row a few
// rows down adds (planes stream in from memory; prefetches past the plane
// do not fault).
#define PREFETCHROWS \
	MOVQ poolArgs_pfn(AX), R14; \
	MOVQ poolArgs_pfoff(AX), R15; \
	ADDQ SI, R15; \
pf: \
	PREFETCHT0 (R15); \
	ADDQ $64, R15; \
	DECQ R14; \
	JNZ pf

// VPSHUFB control: the even bytes of each 128-bit lane to its low 8.
DATA poolEvenBytes<>+0(SB)/8, $0x0e0c0a0806040200
DATA poolEvenBytes<>+8(SB)/8, $0x8080808080808080
DATA poolEvenBytes<>+16(SB)/8, $0x0e0c0a0806040200
DATA poolEvenBytes<>+24(SB)/8, $0x8080808080808080
GLOBL poolEvenBytes<>(SB), RODATA|NOPTR, $32

// VPERMPS indices (AVX2 float, stride 2): the odd elements in the
// in-lane order of VSHUFPS [O0 O1 O4 O5 | O2 O3 O6 O7] moved one output
// right, [O7 O0 O3 O4 | O1 O2 O5 O6]; element 0 is then replaced by the
// previous block's O7.
DATA poolOddShift<>+0(SB)/4, $7
DATA poolOddShift<>+4(SB)/4, $0
DATA poolOddShift<>+8(SB)/4, $5
DATA poolOddShift<>+12(SB)/4, $2
DATA poolOddShift<>+16(SB)/4, $1
DATA poolOddShift<>+20(SB)/4, $4
DATA poolOddShift<>+24(SB)/4, $3
DATA poolOddShift<>+28(SB)/4, $6
GLOBL poolOddShift<>(SB), RODATA|NOPTR, $32

// VPERMI2PS indices (AVX-512 float): even and odd elements of 32.
DATA poolEven16<>+0(SB)/4, $0
DATA poolEven16<>+4(SB)/4, $2
DATA poolEven16<>+8(SB)/4, $4
DATA poolEven16<>+12(SB)/4, $6
DATA poolEven16<>+16(SB)/4, $8
DATA poolEven16<>+20(SB)/4, $10
DATA poolEven16<>+24(SB)/4, $12
DATA poolEven16<>+28(SB)/4, $14
DATA poolEven16<>+32(SB)/4, $16
DATA poolEven16<>+36(SB)/4, $18
DATA poolEven16<>+40(SB)/4, $20
DATA poolEven16<>+44(SB)/4, $22
DATA poolEven16<>+48(SB)/4, $24
DATA poolEven16<>+52(SB)/4, $26
DATA poolEven16<>+56(SB)/4, $28
DATA poolEven16<>+60(SB)/4, $30
GLOBL poolEven16<>(SB), RODATA|NOPTR, $64

DATA poolOdd16<>+0(SB)/4, $1
DATA poolOdd16<>+4(SB)/4, $3
DATA poolOdd16<>+8(SB)/4, $5
DATA poolOdd16<>+12(SB)/4, $7
DATA poolOdd16<>+16(SB)/4, $9
DATA poolOdd16<>+20(SB)/4, $11
DATA poolOdd16<>+24(SB)/4, $13
DATA poolOdd16<>+28(SB)/4, $15
DATA poolOdd16<>+32(SB)/4, $17
DATA poolOdd16<>+36(SB)/4, $19
DATA poolOdd16<>+40(SB)/4, $21
DATA poolOdd16<>+44(SB)/4, $23
DATA poolOdd16<>+48(SB)/4, $25
DATA poolOdd16<>+52(SB)/4, $27
DATA poolOdd16<>+56(SB)/4, $29
DATA poolOdd16<>+60(SB)/4, $31
GLOBL poolOdd16<>(SB), RODATA|NOPTR, $64

// ---------------------------------------------------------------- AVX-512
//
// A row is a.nb blocks of ob outputs: the first with the head masks, nb-2
// full ones (VU loads, or VUN where a block needs no NaN checks; the store
// masked by K7: all set), the last with the tail masks. Masked loads (VM)
// merge into a copy of Z31, the identity; K1-K3 mask the loads, K4 the
// store. A block BLK(V, VN, KA, KB, KC, KO) loads with V (VN where it may
// skip the NaN flags).

#define ROWS512(BLK, VM, VU, VUN, INSTEP, OUTSTEP, ROWINIT) \
	MOVQ poolArgs_in(AX), SI; \
	MOVQ poolArgs_out(AX), DI; \
	MOVQ poolArgs_off1(AX), R8; \
	MOVQ poolArgs_off2(AX), R9; \
	MOVQ poolArgs_rows(AX), R12; \
	KXNORQ K7, K7, K7; \
	TESTQ R12, R12; \
	JLE done; \
row: \
	PREFETCHROWS; \
	LEAQ (SI)(R8*1), R10; \
	LEAQ (SI)(R9*1), R11; \
	XORQ BX, BX; \
	XORQ CX, CX; \
	ROWINIT; \
	KMOVQ poolArgs_head+0(AX), K1; \
	KMOVQ poolArgs_head+8(AX), K2; \
	KMOVQ poolArgs_head+16(AX), K3; \
	KMOVQ poolArgs_head+24(AX), K4; \
	BLK(VM, VM, K1, K2, K3, K4); \
	MOVQ poolArgs_nb(AX), DX; \
	SUBQ $2, DX; \
	JLT next; \
	JEQ last; \
full: \
	ADDQ $INSTEP, BX; \
	ADDQ $OUTSTEP, CX; \
	BLK(VU, VUN, K7, K7, K7, K7); \
	DECQ DX; \
	JNZ full; \
last: \
	ADDQ $INSTEP, BX; \
	ADDQ $OUTSTEP, CX; \
	KMOVQ poolArgs_tail+0(AX), K1; \
	KMOVQ poolArgs_tail+8(AX), K2; \
	KMOVQ poolArgs_tail+16(AX), K3; \
	KMOVQ poolArgs_tail+24(AX), K4; \
	BLK(VM, VM, K1, K2, K3, K4); \
next: \
	ADDQ poolArgs_istep(AX), SI; \
	ADDQ poolArgs_ors(AX), DI; \
	DECQ R12; \
	JNZ row; \
done: \
	VZEROUPPER

#define NOINIT MOVQ BX, BX

// V512B: Z = the vertical max of the 64 codes at column offset OFF, lanes
// outside K the identity; V512BU the same for a full block.
#define V512B(OFF, K, Z) \
	VMOVDQA64 Z31, Z; \
	VMOVDQU8 OFF(SI)(BX*1), K, Z; \
	MAXB OFF(R10)(BX*1), Z, K, Z; \
	MAXB OFF(R11)(BX*1), Z, K, Z
#define V512BU(OFF, K, Z) \
	VMOVDQU64 OFF(SI)(BX*1), Z; \
	MAXB OFF(R10)(BX*1), Z, Z; \
	MAXB OFF(R11)(BX*1), Z, Z

// 3 wide, stride 2, 32 outputs: A = columns 2J-1+i, B = 2J+i; M = max(A, B)
// holds max(c[2j-1], c[2j]) in even and max(c[2j], c[2j+1]) in odd bytes;
// out[j] = the max of word j's two bytes, narrowed by VPMOVWB.
#define B512S2K3(V, VN, KA, KB, KC, KO) \
	V(-1, KA, Z0); \
	V(0, KB, Z1); \
	MAXB Z1, Z0, Z0; \
	VPSRLW $8, Z0, Z1; \
	MAXB Z1, Z0, Z0; \
	VPMOVWB Z0, KO, (DI)(CX*1)

// 2 wide, stride 2, 32 outputs: the max of each word's two bytes.
#define B512S2K2(V, VN, KA, KB, KC, KO) \
	V(0, KA, Z0); \
	VPSRLW $8, Z0, Z1; \
	MAXB Z1, Z0, Z0; \
	VPMOVWB Z0, KO, (DI)(CX*1)

// 3 wide, stride 1, 64 outputs: max of the columns J-1+i, J+i, J+1+i.
#define B512S1K3(V, VN, KA, KB, KC, KO) \
	V(-1, KA, Z0); \
	V(0, KB, Z1); \
	V(1, KC, Z2); \
	MAXB Z1, Z0, Z0; \
	MAXB Z2, Z0, Z0; \
	VMOVDQU8 Z0, KO, (DI)(CX*1)

#define MAXB VPMAXUB

// func maxPoolU8S2K3AVX512(a *poolArgs)
TEXT ·maxPoolU8S2K3AVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	VPXORD Z31, Z31, Z31
	ROWS512(B512S2K3, V512B, V512BU, V512BU, 64, 32, NOINIT)
	RET

// func maxPoolU8S1K3AVX512(a *poolArgs)
TEXT ·maxPoolU8S1K3AVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	VPXORD Z31, Z31, Z31
	ROWS512(B512S1K3, V512B, V512BU, V512BU, 64, 64, NOINIT)
	RET

// func maxPoolU8S2K2AVX512(a *poolArgs)
TEXT ·maxPoolU8S2K2AVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	VPXORD Z31, Z31, Z31
	ROWS512(B512S2K2, V512B, V512BU, V512BU, 64, 32, NOINIT)
	RET

#undef MAXB
#define MAXB VPMAXSB

// func maxPoolS8S2K3AVX512(a *poolArgs)
TEXT ·maxPoolS8S2K3AVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVL $0x80, DX
	VPBROADCASTB DX, Z31
	ROWS512(B512S2K3, V512B, V512BU, V512BU, 64, 32, NOINIT)
	RET

// func maxPoolS8S1K3AVX512(a *poolArgs)
TEXT ·maxPoolS8S1K3AVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVL $0x80, DX
	VPBROADCASTB DX, Z31
	ROWS512(B512S1K3, V512B, V512BU, V512BU, 64, 64, NOINIT)
	RET

// func maxPoolS8S2K2AVX512(a *poolArgs)
TEXT ·maxPoolS8S2K2AVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVL $0x80, DX
	VPBROADCASTB DX, Z31
	ROWS512(B512S2K2, V512B, V512BU, V512BU, 64, 32, NOINIT)
	RET

#undef MAXB

// Float. VMAXPS returns its second (Intel order: last) operand when either
// is NaN, where Go's max returns NaN: the vertical max also ORs into K5
// the lanes where row 0 or row 1 is NaN (an unordered compare) and into K6
// those where the max is NaN after row 2, which it is when row 2 is (OR
// chains: a compare masked by the flags themselves would chain its latency).
// Any flag set sets a.nan and Go pools the plane again.

// V512F: Z = the vertical max of the 16 floats at byte offset OFF, lanes
// outside K -Inf; V512FU the same for a full block, V512FUN without the
// NaN flags.
#define V512F(OFF, K, Z) \
	VMOVAPS Z31, Z; \
	VMOVUPS OFF(SI)(BX*1), K, Z; \
	VMOVAPS Z31, Z27; \
	VMOVUPS OFF(R10)(BX*1), K, Z27; \
	VCMPPS $3, Z27, Z, K0; \
	KORW K0, K5, K5; \
	VMAXPS Z27, Z, Z; \
	VMAXPS OFF(R11)(BX*1), Z, K, Z; \
	VCMPPS $3, Z, Z, K0; \
	KORW K0, K6, K6
#define V512FU(OFF, K, Z) \
	VMOVUPS OFF(SI)(BX*1), Z; \
	VMOVUPS OFF(R10)(BX*1), Z27; \
	VCMPPS $3, Z27, Z, K0; \
	KORW K0, K5, K5; \
	VMAXPS Z27, Z, Z; \
	VMAXPS OFF(R11)(BX*1), Z, Z; \
	VCMPPS $3, Z, Z, K0; \
	KORW K0, K6, K6
#define V512FUN(OFF, K, Z) \
	VMOVUPS OFF(SI)(BX*1), Z; \
	VMAXPS OFF(R10)(BX*1), Z, Z; \
	VMAXPS OFF(R11)(BX*1), Z, Z

// 3 wide, stride 2, 16 outputs from columns 2J .. 2J+31: even E and odd O
// elements (VPERMI2PS), O shifted one output right with the previous
// block's last odd element (Z28, -Inf at a row start) for column 2j-1.
#define F512S2K3(V, VN, KA, KB, KC, KO) \
	V(0, KA, Z0); \
	V(64, KB, Z1); \
	VMOVAPS Z30, Z2; \
	VPERMI2PS Z1, Z0, Z2; \
	VMOVAPS Z29, Z3; \
	VPERMI2PS Z1, Z0, Z3; \
	VALIGND $15, Z28, Z3, Z4; \
	VMOVAPS Z3, Z28; \
	VMAXPS Z3, Z2, Z2; \
	VMAXPS Z4, Z2, Z2; \
	VMOVUPS Z2, KO, (DI)(CX*1)

// 2 wide, stride 2, 16 outputs: max of the even and odd elements.
#define F512S2K2(V, VN, KA, KB, KC, KO) \
	V(0, KA, Z0); \
	V(64, KB, Z1); \
	VMOVAPS Z30, Z2; \
	VPERMI2PS Z1, Z0, Z2; \
	VMOVAPS Z29, Z3; \
	VPERMI2PS Z1, Z0, Z3; \
	VMAXPS Z3, Z2, Z2; \
	VMOVUPS Z2, KO, (DI)(CX*1)

// 3 wide, stride 1, 16 outputs: B = columns J .. J+15, C = J+1 .. J+16,
// A = J-1 .. J+14 from B and the previous block's B (Z28, -Inf at a row
// start). C of a full block needs no NaN check: its columns are those of
// this block's B and the first of the next block's.
#define F512S1K3(V, VN, KA, KB, KC, KO) \
	V(0, KB, Z1); \
	VN(4, KC, Z2); \
	VALIGND $15, Z28, Z1, Z0; \
	VMOVAPS Z1, Z28; \
	VMAXPS Z1, Z0, Z0; \
	VMAXPS Z2, Z0, Z0; \
	VMOVUPS Z0, KO, (DI)(CX*1)

#define F512PROLOG \
	MOVQ a+0(FP), AX; \
	MOVL $0xff800000, DX; \
	VPBROADCASTD DX, Z31; \
	VMOVDQU32 poolEven16<>(SB), Z30; \
	VMOVDQU32 poolOdd16<>(SB), Z29; \
	KXORW K5, K5, K5; \
	KXORW K6, K6, K6

// F512NAN records in a.nan whether a NaN flag is set.
#define F512NAN \
	KORTESTW K5, K6; \
	JEQ nonan; \
	MOVQ $1, poolArgs_nan(AX); \
nonan:

#define F512ROWINIT VMOVAPS Z31, Z28

// func maxPoolF32S2K3AVX512(a *poolArgs)
TEXT ·maxPoolF32S2K3AVX512(SB), NOSPLIT, $0-8
	F512PROLOG
	ROWS512(F512S2K3, V512F, V512FU, V512FUN, 128, 64, F512ROWINIT)
	F512NAN
	RET

// func maxPoolF32S1K3AVX512(a *poolArgs)
TEXT ·maxPoolF32S1K3AVX512(SB), NOSPLIT, $0-8
	F512PROLOG
	ROWS512(F512S1K3, V512F, V512FU, V512FUN, 64, 64, F512ROWINIT)
	F512NAN
	RET

// func maxPoolF32S2K2AVX512(a *poolArgs)
TEXT ·maxPoolF32S2K2AVX512(SB), NOSPLIT, $0-8
	F512PROLOG
	ROWS512(F512S2K2, V512F, V512FU, V512FUN, 128, 64, NOINIT)
	F512NAN
	RET

// ---------------------------------------------------------------- AVX2
//
// A row is nf full blocks (every load inside the row, all ob outputs
// stored) and then tail blocks up to ow outputs. The tail blocks load from
// the row while that stays inside it, else from a.t, where VLAST has put
// the vertical max of the row's last L columns, followed by the identity
// (set by Go): block input at byte offset BX is a.t[BX - a.tlo], the
// offset capped at TCAP (= L columns: all identity). Their outputs are
// stored in pieces (STOREN). The column left of a block, for the 3-wide
// windows, comes from the previous block's vector in Y15 (the identity at
// a row start), so no load starts left of a row or ends right of it.
// Y14 is the identity, Y13 a shuffle constant, Y12 (float) the NaN flags.

#define ROWS256(VROWS, VT, HC, ST, VLAST, INSTEP, OUTSTEP, TCAP) \
	MOVQ poolArgs_in(AX), SI; \
	MOVQ poolArgs_out(AX), DI; \
	MOVQ poolArgs_off1(AX), R8; \
	MOVQ poolArgs_off2(AX), R9; \
	MOVQ poolArgs_rows(AX), R12; \
	MOVQ poolArgs_owb(AX), R13; \
	TESTQ R12, R12; \
	JLE done; \
row: \
	PREFETCHROWS; \
	LEAQ (SI)(R8*1), R10; \
	LEAQ (SI)(R9*1), R11; \
	XORQ BX, BX; \
	XORQ CX, CX; \
	VMOVDQA Y14, Y15; \
	MOVQ poolArgs_nf(AX), DX; \
	TESTQ DX, DX; \
	JEQ tails; \
full: \
	VROWS; \
	HC; \
	ST; \
	ADDQ $INSTEP, BX; \
	ADDQ $OUTSTEP, CX; \
	DECQ DX; \
	JNZ full; \
tails: \
	CMPQ CX, R13; \
	JGE next; \
	VLAST; \
tail: \
	MOVQ BX, R14; \
	SUBQ poolArgs_tlo(AX), R14; \
	JLT direct; \
	CMPQ R14, $TCAP; \
	JLE tok; \
	MOVQ $TCAP, R14; \
tok: \
	LEAQ poolArgs_t(AX)(R14*1), R15; \
	VT; \
	JMP hc; \
direct: \
	VROWS; \
hc: \
	HC; \
	MOVQ R13, R14; \
	SUBQ CX, R14; \
	LEAQ (DI)(CX*1), R15; \
	STOREN(OUTSTEP); \
	ADDQ $INSTEP, BX; \
	ADDQ $OUTSTEP, CX; \
	CMPQ CX, R13; \
	JLT tail; \
next: \
	ADDQ poolArgs_istep(AX), SI; \
	ADDQ poolArgs_ors(AX), DI; \
	DECQ R12; \
	JNZ row; \
done:

// STOREN stores min(R14, OBB) bytes of Y0 (OBB = 16 or 32) at R15.
#define STOREN(OBB) \
	CMPQ R14, $OBB; \
	JLT sn32; \
	MOVQ $OBB, R14; \
sn32: \
	TESTQ $32, R14; \
	JZ sn16; \
	VMOVDQU Y0, (R15); \
	JMP sn0; \
sn16: \
	TESTQ $16, R14; \
	JZ sn8; \
	VMOVDQU X0, (R15); \
	VEXTRACTI128 $1, Y0, X0; \
	ADDQ $16, R15; \
sn8: \
	TESTQ $8, R14; \
	JZ sn4; \
	VMOVQ X0, (R15); \
	VPSRLDQ $8, X0, X0; \
	ADDQ $8, R15; \
sn4: \
	TESTQ $4, R14; \
	JZ sn2; \
	VMOVD X0, (R15); \
	VPSRLDQ $4, X0, X0; \
	ADDQ $4, R15; \
sn2: \
	TESTQ $2, R14; \
	JZ sn1; \
	VPEXTRW $0, X0, (R15); \
	VPSRLDQ $2, X0, X0; \
	ADDQ $2, R15; \
sn1: \
	TESTQ $1, R14; \
	JZ sn0; \
	VPEXTRB $0, X0, (R15); \
sn0:

// Y = the vertical max of the 32 codes at byte offset OFF from IDX.
#define V256B(IDX, OFF, Y) \
	VMOVDQU OFF(SI)(IDX*1), Y; \
	MAXB OFF(R10)(IDX*1), Y, Y; \
	MAXB OFF(R11)(IDX*1), Y, Y

// VLAST for 32 columns: into a.t[0:32].
#define VLAST256B \
	MOVQ poolArgs_tlo(AX), R14; \
	V256B(R14, 0, Y1); \
	VMOVDQU Y1, poolArgs_t(AX)

// SHIFT1B: Y1 = Y0 moved up one byte, the last byte of Y15 (the previous
// block) in byte 0; then Y15 = Y0.
#define SHIFT1B \
	VPERM2I128 $0x21, Y0, Y15, Y1; \
	VPALIGNR $15, Y1, Y0, Y1; \
	VMOVDQA Y0, Y15

// 3 wide, stride 2, 16 outputs from B = columns 2J .. 2J+31 (Y0) and
// A = columns 2J-1 .. 2J+30 (SHIFT1B): as B512S2K3, then the even bytes
// (the words' low bytes) packed into X0.
#define VROWSB2 V256B(BX, 0, Y0)
#define VTB2 VMOVDQU (R15), Y0
#define HB2K3 \
	SHIFT1B; \
	MAXB Y1, Y0, Y0; \
	VPSRLW $8, Y0, Y1; \
	MAXB Y1, Y0, Y0; \
	VPSHUFB Y13, Y0, Y0; \
	VPERMQ $0x08, Y0, Y0
#define STB16 VMOVDQU X0, (DI)(CX*1)

// 2 wide, stride 2, 16 outputs.
#define HB2K2 \
	VPSRLW $8, Y0, Y1; \
	MAXB Y1, Y0, Y0; \
	VPSHUFB Y13, Y0, Y0; \
	VPERMQ $0x08, Y0, Y0

// 3 wide, stride 1, 32 outputs: B = columns J .. J+31 (Y0), C = J+1 ..
// J+32 (Y2), A = J-1 .. J+30 (SHIFT1B).
#define VROWSB1 \
	V256B(BX, 0, Y0); \
	V256B(BX, 1, Y2)
#define VTB1 \
	VMOVDQU (R15), Y0; \
	VMOVDQU 1(R15), Y2
#define HB1K3 \
	SHIFT1B; \
	MAXB Y1, Y0, Y0; \
	MAXB Y2, Y0, Y0
#define STB32 VMOVDQU Y0, (DI)(CX*1)

#define B256PROLOG \
	MOVQ a+0(FP), AX; \
	VMOVDQU poolEvenBytes<>(SB), Y13

#define MAXB VPMAXUB

// func maxPoolU8S2K3AVX2(a *poolArgs)
TEXT ·maxPoolU8S2K3AVX2(SB), NOSPLIT, $0-8
	B256PROLOG
	VPXOR Y14, Y14, Y14
	ROWS256(VROWSB2, VTB2, HB2K3, STB16, VLAST256B, 32, 16, 32)
	VZEROUPPER
	RET

// func maxPoolU8S1K3AVX2(a *poolArgs)
TEXT ·maxPoolU8S1K3AVX2(SB), NOSPLIT, $0-8
	B256PROLOG
	VPXOR Y14, Y14, Y14
	ROWS256(VROWSB1, VTB1, HB1K3, STB32, VLAST256B, 32, 32, 32)
	VZEROUPPER
	RET

// func maxPoolU8S2K2AVX2(a *poolArgs)
TEXT ·maxPoolU8S2K2AVX2(SB), NOSPLIT, $0-8
	B256PROLOG
	VPXOR Y14, Y14, Y14
	ROWS256(VROWSB2, VTB2, HB2K2, STB16, VLAST256B, 32, 16, 32)
	VZEROUPPER
	RET

#undef MAXB
#define MAXB VPMAXSB

#define S8IDENT256 \
	MOVL $0x80808080, DX; \
	MOVD DX, X14; \
	VPBROADCASTD X14, Y14

// func maxPoolS8S2K3AVX2(a *poolArgs)
TEXT ·maxPoolS8S2K3AVX2(SB), NOSPLIT, $0-8
	B256PROLOG
	S8IDENT256
	ROWS256(VROWSB2, VTB2, HB2K3, STB16, VLAST256B, 32, 16, 32)
	VZEROUPPER
	RET

// func maxPoolS8S1K3AVX2(a *poolArgs)
TEXT ·maxPoolS8S1K3AVX2(SB), NOSPLIT, $0-8
	B256PROLOG
	S8IDENT256
	ROWS256(VROWSB1, VTB1, HB1K3, STB32, VLAST256B, 32, 32, 32)
	VZEROUPPER
	RET

// func maxPoolS8S2K2AVX2(a *poolArgs)
TEXT ·maxPoolS8S2K2AVX2(SB), NOSPLIT, $0-8
	B256PROLOG
	S8IDENT256
	ROWS256(VROWSB2, VTB2, HB2K2, STB16, VLAST256B, 32, 16, 32)
	VZEROUPPER
	RET

#undef MAXB

// Float. VMAXPS returns its second (Intel order: last) operand when either
// is NaN, so each vertical max also ORs into Y12 whether row 0 or row 1 is
// NaN (an unordered compare) or, through the max, row 2 is: an all-ones
// flag is itself a NaN, so the second compare folds both in.

// Y = the vertical max of the 8 floats at byte offset OFF from IDX.
#define V256F(IDX, OFF, Y) \
	VMOVUPS OFF(SI)(IDX*1), Y; \
	VMOVUPS OFF(R10)(IDX*1), Y10; \
	VCMPPS $3, Y10, Y, Y11; \
	VMAXPS Y10, Y, Y; \
	VMAXPS OFF(R11)(IDX*1), Y, Y; \
	VCMPPS $3, Y11, Y, Y11; \
	VORPS Y11, Y12, Y12

// VLAST for 16 columns (stride 2) or 8 (stride 1).
#define VLAST256F16 \
	MOVQ poolArgs_tlo(AX), R14; \
	V256F(R14, 0, Y1); \
	V256F(R14, 32, Y2); \
	VMOVUPS Y1, poolArgs_t(AX); \
	VMOVUPS Y2, poolArgs_t+32(AX)
#define VLAST256F8 \
	MOVQ poolArgs_tlo(AX), R14; \
	V256F(R14, 0, Y1); \
	VMOVUPS Y1, poolArgs_t(AX)

// Stride 2, 8 outputs from columns 2J .. 2J+15 (Y0, Y1). VSHUFPS gives
// the even elements E and odd ones O in the lane order
// [0 1 4 5 | 2 3 6 7]; VPERMPS + VBLENDPS the odd ones shifted one output
// right (in that order too) with the previous block's last odd element;
// VPERMPD restores the order of the result.
#define VROWSF2 \
	V256F(BX, 0, Y0); \
	V256F(BX, 32, Y1)
#define VTF2 \
	VMOVUPS (R15), Y0; \
	VMOVUPS 32(R15), Y1
#define HF2K3 \
	VSHUFPS $0x88, Y1, Y0, Y2; \
	VSHUFPS $0xDD, Y1, Y0, Y3; \
	VPERMPS Y3, Y13, Y4; \
	VBLENDPS $1, Y15, Y4, Y5; \
	VMOVAPS Y4, Y15; \
	VMAXPS Y3, Y2, Y2; \
	VMAXPS Y5, Y2, Y0; \
	VPERMPD $0xD8, Y0, Y0
#define HF2K2 \
	VSHUFPS $0x88, Y1, Y0, Y2; \
	VSHUFPS $0xDD, Y1, Y0, Y3; \
	VMAXPS Y3, Y2, Y0; \
	VPERMPD $0xD8, Y0, Y0
#define STF8 VMOVUPS Y0, (DI)(CX*1)

// Stride 1, 8 outputs: B = columns J .. J+7 (Y0), C = J+1 .. J+8 (Y2),
// A = J-1 .. J+6 from B and the previous block.
#define VROWSF1 \
	V256F(BX, 0, Y0); \
	V256F(BX, 4, Y2)
#define VTF1 \
	VMOVUPS (R15), Y0; \
	VMOVUPS 4(R15), Y2
#define HF1K3 \
	VPERM2F128 $0x21, Y0, Y15, Y1; \
	VPALIGNR $12, Y1, Y0, Y1; \
	VMOVAPS Y0, Y15; \
	VMAXPS Y1, Y0, Y0; \
	VMAXPS Y2, Y0, Y0

#define F256PROLOG \
	MOVQ a+0(FP), AX; \
	MOVL $0xff800000, DX; \
	MOVD DX, X14; \
	VPBROADCASTD X14, Y14; \
	VXORPS Y12, Y12, Y12

// F256NAN records in a.nan whether Y12 has a flag set.
#define F256NAN \
	VMOVMSKPS Y12, DX; \
	TESTL DX, DX; \
	JZ nonan; \
	MOVQ $1, poolArgs_nan(AX); \
nonan: \
	VZEROUPPER

// func maxPoolF32S2K3AVX2(a *poolArgs)
TEXT ·maxPoolF32S2K3AVX2(SB), NOSPLIT, $0-8
	F256PROLOG
	VMOVDQU poolOddShift<>(SB), Y13
	ROWS256(VROWSF2, VTF2, HF2K3, STF8, VLAST256F16, 64, 32, 64)
	F256NAN
	RET

// func maxPoolF32S1K3AVX2(a *poolArgs)
TEXT ·maxPoolF32S1K3AVX2(SB), NOSPLIT, $0-8
	F256PROLOG
	ROWS256(VROWSF1, VTF1, HF1K3, STF8, VLAST256F8, 32, 32, 32)
	F256NAN
	RET

// func maxPoolF32S2K2AVX2(a *poolArgs)
TEXT ·maxPoolF32S2K2AVX2(SB), NOSPLIT, $0-8
	F256PROLOG
	ROWS256(VROWSF2, VTF2, HF2K2, STF8, VLAST256F16, 64, 32, 64)
	F256NAN
	RET
