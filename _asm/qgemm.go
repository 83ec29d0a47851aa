package main

import "fmt"

// INT8 GEMM micro-kernels and the requantizing finisher.
//
// Kernels compute a rows x (nv vectors) tile of int32 sums over kg groups of
// k and store it, whole vectors, into a scratch tile (row stride ldt bytes);
// the finisher then applies zero-point corrections, bias and
// requantization and writes the real output. Go signature:
//
//	func(kg int, a, b unsafe.Pointer, t *int32, ldt uintptr)
//
// AVX-512 VNNI (VPDPBUSD): a group is 4 consecutive k. The A micro-panel
// holds, per group, 4 bytes for each row; the B micro-panel, per group, 4
// bytes for each of its 32 columns (one zmm = 16 columns x 4 k). VPDPBUSD
// multiplies unsigned bytes of its first source with signed bytes of its
// second and adds each group of 4 products to an int32 lane, exactly (no
// saturation). Flavour "au" treats A as the unsigned side (broadcast A as
// the first source), "bu" treats B as the unsigned side.
//
// AVX2 (VPMADDWD): operands are packed widened to int16 and a group is 2
// consecutive k: VPMADDWD multiplies int16 pairs and adds each pair into an
// int32 lane, exactly. This is the documented way around VPMADDUBSW's
// saturation (u8*s8 pairs summed into int16 overflow for 255*127*2): the
// int16 path never saturates, at twice the packed size.

func qName(isa string, flavour string, mr, nv int) string {
	return fmt.Sprintf("qgemm_%s%s_%dx%d", isa, flavour, mr, nv)
}

// genQKernel512 emits a VNNI kernel; direct kernels read a row-major A in
// place (row r at a + r*lda, see directRow) instead of a packed panel:
//
//	func(kg int, a unsafe.Pointer, lda uintptr, b unsafe.Pointer, t *int32, ldt uintptr)
func genQKernel512(f *file, au bool, mr, nv int, direct bool) {
	fl := "bu"
	if au {
		fl = "au"
	}
	if direct {
		fl += "_d"
	}
	name := qName("vnni", fl, mr, nv)
	acc := func(r, v int) string { return z(r*nv + v) }
	bReg := []string{"Z28", "Z29"}
	bc := []string{"Z30", "Z31"}
	f.p("")
	if direct {
		f.p("// func %s(kg int, a unsafe.Pointer, lda uintptr, b unsafe.Pointer, t *int32, ldt uintptr)", name)
		f.p("TEXT ·%s(SB), NOSPLIT, $0-48", name)
		f.i("MOVQ kg+0(FP), CX")
		f.i("MOVQ a+8(FP), SI")
		f.i("MOVQ lda+16(FP), AX")
		f.i("MOVQ b+24(FP), DI")
		f.i("MOVQ t+32(FP), DX")
		f.i("MOVQ ldt+40(FP), R9")
		f.i("LEAQ (AX)(AX*2), BX // 3*lda")
		f.i("LEAQ (AX)(AX*4), R11 // 5*lda")
		if mr > 7 {
			f.i("LEAQ (SI)(BX*2), R12")
			f.i("ADDQ AX, R12 // row 7")
		}
	} else {
		f.p("// func %s(kg int, a, b unsafe.Pointer, t *int32, ldt uintptr)", name)
		f.p("TEXT ·%s(SB), NOSPLIT, $0-40", name)
		f.i("MOVQ kg+0(FP), CX")
		f.i("MOVQ a+8(FP), SI")
		f.i("MOVQ b+16(FP), DI")
		f.i("MOVQ t+24(FP), DX")
		f.i("MOVQ ldt+32(FP), R9")
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			f.i("VPXORD %s, %s, %s", acc(r, v), acc(r, v), acc(r, v))
		}
	}
	f.i("TESTQ CX, CX")
	f.i("JZ %s_store", name)
	f.label(name + "_loop")
	for v := 0; v < nv; v++ {
		f.i("VMOVDQU32 %s, %s", mem(64*v, "DI"), bReg[v])
	}
	for r := 0; r < mr; r++ {
		aAddr := mem(4*r, "SI")
		if direct {
			aAddr = directRow(0, r)
		}
		if !au && nv == 1 {
			// B (register) is the unsigned side; A is read with an
			// embedded dword broadcast as the signed side.
			f.i("VPDPBUSD.BCST %s, %s, %s", aAddr, bReg[0], acc(r, 0))
			continue
		}
		b := bc[r%2]
		f.i("VPBROADCASTD %s, %s", aAddr, b)
		for v := 0; v < nv; v++ {
			if au {
				f.i("VPDPBUSD %s, %s, %s // acc += u8(A) . s8(B)", bReg[v], b, acc(r, v))
			} else {
				f.i("VPDPBUSD %s, %s, %s // acc += u8(B) . s8(A)", b, bReg[v], acc(r, v))
			}
		}
	}
	if direct {
		f.i("ADDQ $4, SI")
		if mr > 7 {
			f.i("ADDQ $4, R12")
		}
	} else {
		f.i("ADDQ $%d, SI", 4*mr)
	}
	f.i("ADDQ $%d, DI", 128)
	f.i("DECQ CX")
	f.i("JNZ %s_loop", name)
	f.label(name + "_store")
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			f.i("VMOVDQU32 %s, %s", acc(r, v), mem(64*v, "DX"))
		}
		if r < mr-1 {
			f.i("ADDQ R9, DX")
		}
	}
	f.i("VZEROUPPER")
	f.i("RET")
}

func genQKernel256(f *file, mr, nv int) {
	name := qName("avx2", "", mr, nv)
	acc := func(r, v int) string { return y(r*nv + v) }
	bReg := []string{"Y12", "Y13"}
	f.p("")
	f.p("// func %s(kg int, a, b unsafe.Pointer, t *int32, ldt uintptr)", name)
	f.p("TEXT ·%s(SB), NOSPLIT, $0-40", name)
	f.i("MOVQ kg+0(FP), CX")
	f.i("MOVQ a+8(FP), SI")
	f.i("MOVQ b+16(FP), DI")
	f.i("MOVQ t+24(FP), DX")
	f.i("MOVQ ldt+32(FP), R9")
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			f.i("VPXOR %s, %s, %s", acc(r, v), acc(r, v), acc(r, v))
		}
	}
	f.i("TESTQ CX, CX")
	f.i("JZ %s_store", name)
	f.label(name + "_loop")
	for v := 0; v < nv; v++ {
		f.i("VMOVDQU %s, %s", mem(32*v, "DI"), bReg[v])
	}
	for r := 0; r < mr; r++ {
		f.i("VPBROADCASTD %s, Y14 // (a[r][2g], a[r][2g+1]) as int16", mem(4*r, "SI"))
		for v := 0; v < nv; v++ {
			f.i("VPMADDWD %s, Y14, Y15", bReg[v])
			f.i("VPADDD Y15, %s, %s", acc(r, v), acc(r, v))
		}
	}
	f.i("ADDQ $%d, SI", 4*mr)
	f.i("ADDQ $%d, DI", 64)
	f.i("DECQ CX")
	f.i("JNZ %s_loop", name)
	f.label(name + "_store")
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			f.i("VMOVDQU %s, %s", acc(r, v), mem(32*v, "DX"))
		}
		if r < mr-1 {
			f.i("ADDQ R9, DX")
		}
	}
	f.i("VZEROUPPER")
	f.i("RET")
}

// qfin offsets; keep in sync with impl/gemm/qgemm.go (checked by a test).
const (
	qfFlags   = 0
	qfR1      = 8
	qfC1      = 16
	qfR2      = 24
	qfC2      = 32
	qfRowAdd  = 40
	qfColAdd  = 48
	qfScale   = 56 // *float32
	qfZp      = 64 // int32 output zero point
	qfLo      = 68 // float32 lo - zp
	qfHi      = 72 // float32 hi - zp
	qfOut     = 80
	qfLdo     = 88
	qfRows    = 96
	qfCols    = 104
	qfTile    = 112
	qfTstride = 120

	qCorr1    = 1  // v += r1[i]*c1[j]
	qCorr2    = 2  // v += r2[i]*c2[j]
	qRowAdd   = 4  // v += rowAdd[i]
	qColAdd   = 8  // v += colAdd[j]
	qRequant  = 16 // byte output: rne(clamp(v*scale, lo-zp, hi-zp)) + zp
	qScaleRow = 32 // scale indexed by row (else by column)
)

// genQFinish512 emits the AVX-512 finisher:
//
//	func qfinish_avx512(f *qfin)
//
// For each row i and each 16-column vector j of the tile (last one masked):
//
//	v = tile[i][j] (+ r1[i]*c1[j]) (+ r2[i]*c2[j]) (+ rowAdd[i]) (+ colAdd[j])
//	int32 output: out[i][j] = v
//	byte output:  p = float32(v) * scale            (VCVTDQ2PS, VMULPS)
//	              p = min(max(p, lo-zp), hi-zp)     (VMAXPS, VMINPS)
//	              out[i][j] = byte(rne(p) + zp)     (VCVTPS2DQ, VPADDD, VPMOVDB)
//
// ONNX Runtime's float32 requantization (MlasRequantizeOutput), bit for bit
// the Go qfinishGo. The bounds lo-zp, hi-zp are exact float32 integers, so
// clamping before the conversion equals saturating after it, keeps the
// conversion in range (it would give 0x80000000 for a huge product) and
// sends a NaN product to the lower bound (VMAXPS returns its second source,
// the bound, when one operand is NaN). Every conversion rounds half to even
// by its embedded rounding control, whatever MXCSR says.
func genQFinish512(f *file) {
	f.p("")
	f.p("// func qfinish_avx512(f *qfin)")
	f.p("TEXT ·qfinish_avx512(SB), NOSPLIT, $0-8")
	f.i("MOVQ f+0(FP), AX")
	f.i("MOVQ %d(AX), R8 // flags", qfFlags)
	f.i("MOVQ %d(AX), R9 // c1", qfC1)
	f.i("MOVQ %d(AX), R10 // c2", qfC2)
	f.i("MOVQ %d(AX), R11 // colAdd", qfColAdd)
	f.i("MOVQ %d(AX), R12 // scale", qfScale)
	f.i("MOVQ %d(AX), R13 // cols", qfCols)
	f.i("MOVQ %d(AX), SI // tile row", qfTile)
	f.i("MOVQ %d(AX), DI // output row", qfOut)
	f.i("VPBROADCASTD %d(AX), Z14 // zero point", qfZp)
	f.i("VBROADCASTSS %d(AX), Z15 // lo - zp", qfLo)
	f.i("VBROADCASTSS %d(AX), Z16 // hi - zp", qfHi)
	f.i("MOVQ R8, DX")
	f.i("ANDQ $%d, DX", qRequant|qCorr1|qCorr2|qColAdd)
	f.i("CMPQ DX, $%d", qRequant)
	f.i("JEQ qfin_fast // requantize with at most a row addend")
	f.i("XORQ BX, BX // i")
	f.label("qfin_row")
	f.i("CMPQ BX, %d(AX)", qfRows)
	f.i("JGE qfin_done")
	// Row constants.
	f.i("TESTQ $%d, R8", qCorr1)
	f.i("JZ qfin_r2")
	f.i("MOVQ %d(AX), DX", qfR1)
	f.i("VPBROADCASTD (DX)(BX*4), Z10 // r1[i]")
	f.label("qfin_r2")
	f.i("TESTQ $%d, R8", qCorr2)
	f.i("JZ qfin_ra")
	f.i("MOVQ %d(AX), DX", qfR2)
	f.i("VPBROADCASTD (DX)(BX*4), Z11 // r2[i]")
	f.label("qfin_ra")
	f.i("TESTQ $%d, R8", qRowAdd)
	f.i("JZ qfin_rs")
	f.i("MOVQ %d(AX), DX", qfRowAdd)
	f.i("VPBROADCASTD (DX)(BX*4), Z12 // rowAdd[i]")
	f.label("qfin_rs")
	f.i("TESTQ $%d, R8", qScaleRow)
	f.i("JZ qfin_cols")
	f.i("VBROADCASTSS (R12)(BX*4), Z13 // scale[i]")
	f.label("qfin_cols")
	f.i("XORQ CX, CX // j")
	f.label("qfin_col")
	f.i("CMPQ CX, R13")
	f.i("JGE qfin_next")
	f.i("MOVQ R13, DX")
	f.i("SUBQ CX, DX // columns left")
	f.i("MOVL $0xffff, R14")
	f.i("CMPQ DX, $16")
	f.i("JGE qfin_full")
	f.i("BZHIL DX, R14, R14 // (1<<left)-1")
	f.label("qfin_full")
	f.i("KMOVW R14, K1")
	f.i("VMOVDQU32.Z (SI)(CX*4), K1, Z0")
	f.i("TESTQ $%d, R8", qCorr1)
	f.i("JZ qfin_c2")
	f.i("VMOVDQU32.Z (R9)(CX*4), K1, Z1")
	f.i("VPMULLD Z1, Z10, Z1")
	f.i("VPADDD Z1, Z0, Z0")
	f.label("qfin_c2")
	f.i("TESTQ $%d, R8", qCorr2)
	f.i("JZ qfin_radd")
	f.i("VMOVDQU32.Z (R10)(CX*4), K1, Z1")
	f.i("VPMULLD Z1, Z11, Z1")
	f.i("VPADDD Z1, Z0, Z0")
	f.label("qfin_radd")
	f.i("TESTQ $%d, R8", qRowAdd)
	f.i("JZ qfin_cadd")
	f.i("VPADDD Z12, Z0, Z0")
	f.label("qfin_cadd")
	f.i("TESTQ $%d, R8", qColAdd)
	f.i("JZ qfin_out")
	f.i("VMOVDQU32.Z (R11)(CX*4), K1, Z1")
	f.i("VPADDD Z1, Z0, Z0")
	f.label("qfin_out")
	f.i("TESTQ $%d, R8", qRequant)
	f.i("JNZ qfin_rq")
	f.i("VMOVDQU32 Z0, K1, (DI)(CX*4) // int32 output")
	f.i("JMP qfin_step")
	f.label("qfin_rq")
	f.i("VCVTDQ2PS.RN_SAE Z0, Z2 // float32(v), half to even")
	f.i("TESTQ $%d, R8", qScaleRow)
	f.i("JZ qfin_colscale")
	f.i("VMULPS.RN_SAE Z13, Z2, Z2")
	f.i("JMP qfin_clamp")
	f.label("qfin_colscale")
	f.i("VMOVUPS.Z (R12)(CX*4), K1, Z4")
	f.i("VMULPS.RN_SAE Z4, Z2, Z2")
	f.label("qfin_clamp")
	f.i("VMAXPS Z15, Z2, Z2 // max(p, lo-zp); NaN -> lo-zp")
	f.i("VMINPS Z16, Z2, Z2 // min(p, hi-zp)")
	f.i("VCVTPS2DQ.RN_SAE Z2, Z2 // round half to even, exact and in range")
	f.i("VPADDD Z14, Z2, Z2 // + zero point: within [lo, hi]")
	f.i("VPMOVDB Z2, X2 // low bytes: the u8 or s8 codes")
	f.i("VMOVDQU8 X2, K1, (DI)(CX*1)")
	f.label("qfin_step")
	f.i("ADDQ $16, CX")
	f.i("JMP qfin_col")
	f.label("qfin_next")
	f.i("MOVQ %d(AX), DX", qfTstride)
	f.i("LEAQ (SI)(DX*4), SI")
	f.i("MOVQ %d(AX), DX", qfLdo)
	f.i("TESTQ $%d, R8", qRequant)
	f.i("JNZ qfin_bytes")
	f.i("SHLQ $2, DX")
	f.label("qfin_bytes")
	f.i("ADDQ DX, DI")
	f.i("INCQ BX")
	f.i("JMP qfin_row")
	f.label("qfin_done")
	f.i("VZEROUPPER")
	f.i("RET")
	genQFinishFast512(f)
}

// genQFinishFast512 emits the finisher's fast path, taken for byte output
// without per-element corrections (c1, c2, colAdd unused: the usual
// convolution, whose weight zero point is 0 and whose input zero point and
// bias fold into the row addend). Its inner loop has no flag tests and no
// mask: whole vectors first, then one masked vector for the cols%16 tail,
// the mask computed once. Registers: R9 whole-vector columns, R10 tile row
// stride and R11 output row stride in bytes, Z12 the row addend (0 without
// qRowAdd), Z13 the row's scale.
func genQFinishFast512(f *file) {
	body := func(masked, rowScale bool) {
		if masked {
			f.i("VMOVDQU32.Z (SI)(CX*4), K1, Z0")
			f.i("VPADDD Z12, Z0, Z0")
		} else {
			f.i("VPADDD (SI)(CX*4), Z12, Z0")
		}
		f.i("VCVTDQ2PS.RN_SAE Z0, Z2")
		switch {
		case rowScale:
			f.i("VMULPS.RN_SAE Z13, Z2, Z2")
		case masked:
			f.i("VMOVUPS.Z (R12)(CX*4), K1, Z4")
			f.i("VMULPS.RN_SAE Z4, Z2, Z2")
		default:
			f.i("VMOVUPS (R12)(CX*4), Z4")
			f.i("VMULPS.RN_SAE Z4, Z2, Z2")
		}
		f.i("VMAXPS Z15, Z2, Z2")
		f.i("VMINPS Z16, Z2, Z2")
		f.i("VCVTPS2DQ.RN_SAE Z2, Z2")
		f.i("VPADDD Z14, Z2, Z2")
		f.i("VPMOVDB Z2, X2")
		if masked {
			f.i("VMOVDQU8 X2, K1, (DI)(CX*1)")
		} else {
			f.i("VMOVDQU X2, (DI)(CX*1)")
		}
	}
	f.label("qfin_fast")
	f.i("MOVQ %d(AX), R9", qfCols)
	f.i("ANDQ $-16, R9 // whole-vector columns")
	f.i("MOVQ R13, DX")
	f.i("ANDQ $15, DX")
	f.i("MOVL $0xffff, R14")
	f.i("BZHIL DX, R14, R14 // tail mask")
	f.i("KMOVW R14, K1")
	f.i("MOVQ %d(AX), R10", qfTstride)
	f.i("SHLQ $2, R10")
	f.i("MOVQ %d(AX), R11", qfLdo)
	f.i("MOVQ %d(AX), R14 // rowAdd", qfRowAdd)
	f.i("VPXORD Z12, Z12, Z12")
	f.i("XORQ BX, BX")
	f.label("qff_row")
	f.i("CMPQ BX, %d(AX)", qfRows)
	f.i("JGE qfin_done")
	f.i("TESTQ $%d, R8", qRowAdd)
	f.i("JZ qff_scale")
	f.i("VPBROADCASTD (R14)(BX*4), Z12 // rowAdd[i]")
	f.label("qff_scale")
	f.i("XORQ CX, CX")
	f.i("TESTQ $%d, R8", qScaleRow)
	f.i("JZ qff_cs")
	f.i("VBROADCASTSS (R12)(BX*4), Z13 // scale[i]")
	for _, rs := range []bool{true, false} {
		p := "qff_rs"
		if !rs {
			p = "qff_cs"
			f.label(p)
		}
		f.i("CMPQ CX, R9")
		f.i("JGE %s_tail", p)
		f.label(p + "_loop")
		body(false, rs)
		f.i("ADDQ $16, CX")
		f.i("CMPQ CX, R9")
		f.i("JLT %s_loop", p)
		f.label(p + "_tail")
		f.i("CMPQ CX, R13")
		f.i("JGE qff_next")
		body(true, rs)
		if rs {
			f.i("JMP qff_next")
		}
	}
	f.label("qff_next")
	f.i("ADDQ R10, SI")
	f.i("ADDQ R11, DI")
	f.i("INCQ BX")
	f.i("JMP qff_row")
}

// qColUnroll is how many groups a column kernel of t columns keeps in
// flight (independent accumulator sets, summed at the end): enough chains
// to cover VPDPBUSD latency when t is small.
func qColUnroll(t int) int { return max(2, (8+t-1)/t) }

// qColMax is the widest column kernel.
const qColMax = 8

// genQColKernel512 emits a VNNI "column" kernel: rows (<= 16) of a packed A
// panel against t (<= qColMax) columns of a packed B panel, with the rows
// in the vector lanes. Per group it loads the A panel's group (4*rows
// bytes, masked to rows lanes) once and broadcasts one B dword per column,
// so a tile t columns wide costs t VPDPBUSD per group where the row
// kernels spend one per row on a whole 16-column vector. Used for the
// cols%16 tail of a panel (N = 49 or 196: the last 1 or 4 columns). The
// sums go to the scratch tile (rows 128 bytes apart) by VPSCATTERDD.
//
//	func(kg int, a, b unsafe.Pointer, t *int32, rows int)
//
// b points at the first column's dword of group 0; groups are 128 bytes
// apart in B and 4*rows bytes apart in A.
func genQColKernel512(f *file, au bool, t int) {
	fl := "bu"
	if au {
		fl = "au"
	}
	name := fmt.Sprintf("qgemm_vnni%s_c%d", fl, t)
	u := qColUnroll(t)
	acc := func(j, c int) string { return z(j*t + c) }
	f.p("")
	f.p("// func %s(kg int, a, b unsafe.Pointer, t *int32, rows int)", name)
	f.p("TEXT ·%s(SB), NOSPLIT, $0-40", name)
	f.i("MOVQ kg+0(FP), CX")
	f.i("MOVQ a+8(FP), SI")
	f.i("MOVQ b+16(FP), DI")
	f.i("MOVQ t+24(FP), DX")
	f.i("MOVQ rows+32(FP), R8")
	f.i("MOVL $0xffff, R9")
	f.i("BZHIL R8, R9, R9 // (1<<rows)-1")
	f.i("KMOVW R9, K1")
	f.i("SHLQ $2, R8 // A group stride")
	for j := 0; j < u; j++ {
		for c := 0; c < t; c++ {
			f.i("VPXORD %s, %s, %s", acc(j, c), acc(j, c), acc(j, c))
		}
	}
	group := func(j int) {
		a := []string{"Z28", "Z29"}[j%2]
		f.i("VMOVDQU32.Z (SI), K1, %s", a)
		f.i("ADDQ R8, SI")
		for c := 0; c < t; c++ {
			bm := mem(j*128+4*c, "DI")
			if au {
				f.i("VPDPBUSD.BCST %s, %s, %s // acc += u8(A) . s8(B)", bm, a, acc(j, c))
				continue
			}
			b := []string{"Z30", "Z31"}[c%2]
			f.i("VPBROADCASTD %s, %s", bm, b)
			f.i("VPDPBUSD %s, %s, %s // acc += u8(B) . s8(A)", a, b, acc(j, c))
		}
	}
	f.i("CMPQ CX, $%d", u)
	f.i("JLT %s_rem", name)
	f.label(name + "_loop")
	for j := 0; j < u; j++ {
		group(j)
	}
	f.i("ADDQ $%d, DI", 128*u)
	f.i("SUBQ $%d, CX", u)
	f.i("CMPQ CX, $%d", u)
	f.i("JGE %s_loop", name)
	f.label(name + "_rem")
	f.i("TESTQ CX, CX")
	f.i("JZ %s_sum", name)
	f.label(name + "_remloop")
	group(0)
	f.i("ADDQ $128, DI")
	f.i("DECQ CX")
	f.i("JNZ %s_remloop", name)
	f.label(name + "_sum")
	for c := 0; c < t; c++ {
		for j := 1; j < u; j++ {
			f.i("VPADDD %s, %s, %s", acc(j, c), acc(0, c), acc(0, c))
		}
	}
	f.i("VMOVDQU32 qcolidx<>(SB), Z28 // lane r -> tile row r")
	for c := 0; c < t; c++ {
		f.i("KMOVW R9, K2")
		f.i("VPSCATTERDD %s, K2, %s", acc(0, c), mem(4*c, "DX", "Z28*4"))
	}
	f.i("VZEROUPPER")
	f.i("RET")
}

func genQGemm(out map[string][]byte) {
	stubs := newGoFile("amd64 && !purego", "gemm", "unsafe")
	f := newAsmFile("amd64 && !purego")
	f.p("")
	f.p("// INT8 GEMM micro-kernels (AVX-512 VNNI and AVX2 VPMADDWD) and the")
	f.p("// AVX-512 requantizing finisher. See _asm/qgemm.go.")
	stubs.p("// VNNI int8 micro-kernels, indexed [A unsigned][rows][vectors].")
	stubs.p("var qgemmKernels_vnni = [2][15][3]qgemmFunc{")
	for i, au := range []bool{false, true} {
		stubs.p("\t%d: {", i)
		for mr := 1; mr <= 14; mr++ {
			stubs.p("\t\t%d: {", mr)
			for nv := 1; nv <= 2; nv++ {
				fl := map[bool]string{true: "au", false: "bu"}[au]
				genQKernel512(f, au, mr, nv, false)
				stubs.p("\t\t\t%d: %s,", nv, qName("vnni", fl, mr, nv))
			}
			stubs.p("\t\t},")
		}
		stubs.p("\t},")
	}
	stubs.p("}")
	stubs.p("")
	stubs.p("// VNNI int8 micro-kernels reading A in place, indexed [A unsigned][rows][vectors].")
	stubs.p("var qgemmKernelsDirect_vnni = [2][15][3]qgemmDirectFunc{")
	for i, au := range []bool{false, true} {
		stubs.p("\t%d: {", i)
		for mr := 1; mr <= 14; mr++ {
			stubs.p("\t\t%d: {", mr)
			for nv := 1; nv <= 2; nv++ {
				fl := map[bool]string{true: "au_d", false: "bu_d"}[au]
				genQKernel512(f, au, mr, nv, true)
				stubs.p("\t\t\t%d: %s,", nv, qName("vnni", fl, mr, nv))
			}
			stubs.p("\t\t},")
		}
		stubs.p("\t},")
	}
	stubs.p("}")
	stubs.p("")
	f.p("")
	f.p("// Fused kernels' byte pick: byte 4i of the first vector, then of the second.")
	for w := 0; w < 16; w++ {
		var d uint32
		for b := 0; b < 4; b++ {
			i := (4*w + b) % 32
			d |= uint32(4*(i%16)+64*(i/16)) << (8 * b)
		}
		f.p("DATA qrqpick<>+%d(SB)/4, $0x%08x", 4*w, d)
	}
	f.p("GLOBL qrqpick<>(SB), RODATA|NOPTR, $64")
	stubs.p("// VNNI int8 micro-kernels with the requantizing store fused, indexed [A unsigned][rows][vectors].")
	stubs.p("var qgemmKernelsRQ_vnni = [2][15][3]qgemmRQFunc{")
	for i, au := range []bool{false, true} {
		stubs.p("\t%d: {", i)
		for mr := 1; mr <= 14; mr++ {
			stubs.p("\t\t%d: {", mr)
			for nv := 1; nv <= 2; nv++ {
				fl := map[bool]string{true: "au_rq", false: "bu_rq"}[au]
				genQKernelRQ512(f, au, mr, nv, false)
				stubs.p("\t\t\t%d: %s,", nv, qName("vnni", fl, mr, nv))
			}
			stubs.p("\t\t},")
		}
		stubs.p("\t},")
	}
	stubs.p("}")
	stubs.p("")
	stubs.p("// VNNI int8 micro-kernels with the requantizing store fused and B read")
	stubs.p("// through per-group offsets (B unsigned, 32 columns), indexed [rows].")
	stubs.p("var qgemmKernelsRQO_vnni = [15]qgemmRQOFunc{")
	for mr := 1; mr <= 14; mr++ {
		genQKernelRQ512(f, false, mr, 2, true)
		stubs.p("\t%d: %s,", mr, qName("vnni", "bu_rqo", mr, 2))
	}
	stubs.p("}")
	stubs.p("")
	stubs.p("// VNNI column kernels (rows in the lanes), indexed [A unsigned][columns].")
	stubs.p("var qgemmColKernels_vnni = [2][%d]qcolFunc{", qColMax+1)
	f.p("")
	f.p("// Column kernels' scatter indices: lane r -> tile row r (32 int32 apart).")
	for r := 0; r < 16; r++ {
		f.p("DATA qcolidx<>+%d(SB)/4, $%d", 4*r, 32*r)
	}
	f.p("GLOBL qcolidx<>(SB), RODATA|NOPTR, $64")
	for i, au := range []bool{false, true} {
		stubs.p("\t%d: {", i)
		for t := 1; t <= qColMax; t++ {
			genQColKernel512(f, au, t)
			fl := map[bool]string{true: "au", false: "bu"}[au]
			stubs.p("\t\t%d: qgemm_vnni%s_c%d,", t, fl, t)
		}
		stubs.p("\t},")
	}
	stubs.p("}")
	stubs.p("")
	stubs.p("// AVX2 int16-pair micro-kernels, indexed [rows][vectors].")
	stubs.p("var qgemmKernels_avx2 = [7][3]qgemmFunc{")
	for mr := 1; mr <= 6; mr++ {
		stubs.p("\t%d: {", mr)
		for nv := 1; nv <= 2; nv++ {
			genQKernel256(f, mr, nv)
			stubs.p("\t\t%d: %s,", nv, qName("avx2", "", mr, nv))
		}
		stubs.p("\t},")
	}
	stubs.p("}")
	genQFinish512(f)
	genQFinish256(f)
	for _, fl := range []string{"au", "bu"} {
		for mr := 1; mr <= 14; mr++ {
			for nv := 1; nv <= 2; nv++ {
				stubs.p("")
				stubs.p("//go:noescape")
				stubs.p("func %s(kg int, a, b unsafe.Pointer, t *int32, ldt uintptr)", qName("vnni", fl, mr, nv))
				stubs.p("")
				stubs.p("//go:noescape")
				stubs.p("func %s(kg int, a unsafe.Pointer, lda uintptr, b unsafe.Pointer, t *int32, ldt uintptr)", qName("vnni", fl+"_d", mr, nv))
				stubs.p("")
				stubs.p("//go:noescape")
				stubs.p("func %s(kg int, a, b unsafe.Pointer, f *qfin)", qName("vnni", fl+"_rq", mr, nv))
			}
		}
	}
	for mr := 1; mr <= 14; mr++ {
		stubs.p("")
		stubs.p("//go:noescape")
		stubs.p("func %s(kg int, a, b unsafe.Pointer, goff *int, f *qfin)", qName("vnni", "bu_rqo", mr, 2))
	}
	for _, fl := range []string{"au", "bu"} {
		for t := 1; t <= qColMax; t++ {
			stubs.p("")
			stubs.p("//go:noescape")
			stubs.p("func qgemm_vnni%s_c%d(kg int, a, b unsafe.Pointer, t *int32, rows int)", fl, t)
		}
	}
	for mr := 1; mr <= 6; mr++ {
		for nv := 1; nv <= 2; nv++ {
			stubs.p("")
			stubs.p("//go:noescape")
			stubs.p("func %s(kg int, a, b unsafe.Pointer, t *int32, ldt uintptr)", qName("avx2", "", mr, nv))
		}
	}
	stubs.p("")
	stubs.p("//go:noescape")
	stubs.p("func qfinish_avx512(f *qfin)")
	stubs.p("")
	stubs.p("//go:noescape")
	stubs.p("func qfinish_avx2(f *qfin)")
	out["impl/gemm/qgemm_amd64.s"] = f.bytes()
	out["impl/gemm/qgemm_kernels_amd64.go"] = stubs.bytes()
}

// qSigned marks int8 (not uint8) byte output for the AVX2 finisher's packs.
const qSigned = 64

// genQFinish256 emits the AVX2 finisher, same contract and arithmetic as
// the AVX-512 one but for a column count that is a multiple of 8 (the Go
// finisher does the rest): VCVTDQ2PS, VMULPS, VMAXPS/VMINPS against lo-zp
// and hi-zp, VCVTPS2DQ (half to even under MXCSR's default rounding, which
// Go never changes, as Go's own float conversions assume), VPADDD zp. The
// values are then within [lo, hi], so the saturating packs (dword -> word
// -> byte) only narrow.
//
//	func qfinish_avx2(f *qfin)
func genQFinish256(f *file) {
	f.p("")
	f.p("// func qfinish_avx2(f *qfin)")
	f.p("TEXT ·qfinish_avx2(SB), NOSPLIT, $0-8")
	f.i("MOVQ f+0(FP), AX")
	f.i("MOVQ %d(AX), R8 // flags", qfFlags)
	f.i("MOVQ %d(AX), R9 // c1", qfC1)
	f.i("MOVQ %d(AX), R10 // c2", qfC2)
	f.i("MOVQ %d(AX), R11 // colAdd", qfColAdd)
	f.i("MOVQ %d(AX), R12 // scale", qfScale)
	f.i("MOVQ %d(AX), R13 // cols (multiple of 8)", qfCols)
	f.i("MOVQ %d(AX), SI // tile row", qfTile)
	f.i("MOVQ %d(AX), DI // output row", qfOut)
	f.i("VPBROADCASTD %d(AX), Y14 // zero point", qfZp)
	f.i("VBROADCASTSS %d(AX), Y15 // lo - zp", qfLo)
	f.i("VBROADCASTSS %d(AX), Y9 // hi - zp", qfHi)
	f.i("MOVQ R8, DX")
	f.i("ANDQ $%d, DX", qRequant|qCorr1|qCorr2|qColAdd)
	f.i("CMPQ DX, $%d", qRequant)
	f.i("JEQ qf2_fast // requantize with at most a row addend")
	f.i("XORQ BX, BX")
	f.label("qf2_row")
	f.i("CMPQ BX, %d(AX)", qfRows)
	f.i("JGE qf2_done")
	for _, c := range []struct {
		flag int
		off  int
		reg  string
		lbl  string
	}{{qCorr1, qfR1, "Y10", "qf2_r2"}, {qCorr2, qfR2, "Y11", "qf2_ra"}, {qRowAdd, qfRowAdd, "Y12", "qf2_rs"}} {
		f.i("TESTQ $%d, R8", c.flag)
		f.i("JZ %s", c.lbl)
		f.i("MOVQ %d(AX), DX", c.off)
		f.i("VPBROADCASTD (DX)(BX*4), %s", c.reg)
		f.label(c.lbl)
	}
	f.i("TESTQ $%d, R8", qScaleRow)
	f.i("JZ qf2_cols")
	f.i("VBROADCASTSS (R12)(BX*4), Y13 // scale[i]")
	f.label("qf2_cols")
	f.i("XORQ CX, CX")
	f.label("qf2_col")
	f.i("CMPQ CX, R13")
	f.i("JGE qf2_next")
	f.i("VMOVDQU (SI)(CX*4), Y0")
	f.i("TESTQ $%d, R8", qCorr1)
	f.i("JZ qf2_c2")
	f.i("VPMULLD (R9)(CX*4), Y10, Y1")
	f.i("VPADDD Y1, Y0, Y0")
	f.label("qf2_c2")
	f.i("TESTQ $%d, R8", qCorr2)
	f.i("JZ qf2_radd")
	f.i("VPMULLD (R10)(CX*4), Y11, Y1")
	f.i("VPADDD Y1, Y0, Y0")
	f.label("qf2_radd")
	f.i("TESTQ $%d, R8", qRowAdd)
	f.i("JZ qf2_cadd")
	f.i("VPADDD Y12, Y0, Y0")
	f.label("qf2_cadd")
	f.i("TESTQ $%d, R8", qColAdd)
	f.i("JZ qf2_out")
	f.i("VPADDD (R11)(CX*4), Y0, Y0")
	f.label("qf2_out")
	f.i("TESTQ $%d, R8", qRequant)
	f.i("JNZ qf2_rq")
	f.i("VMOVDQU Y0, (DI)(CX*4)")
	f.i("JMP qf2_step")
	f.label("qf2_rq")
	f.i("VCVTDQ2PS Y0, Y2 // float32(v)")
	f.i("TESTQ $%d, R8", qScaleRow)
	f.i("JZ qf2_colscale")
	f.i("VMULPS Y13, Y2, Y2")
	f.i("JMP qf2_clamp")
	f.label("qf2_colscale")
	f.i("VMULPS (R12)(CX*4), Y2, Y2")
	f.label("qf2_clamp")
	f.i("VMAXPS Y15, Y2, Y2 // max(p, lo-zp); NaN -> lo-zp")
	f.i("VMINPS Y9, Y2, Y2 // min(p, hi-zp)")
	f.i("VCVTPS2DQ Y2, Y2 // round half to even, exact and in range")
	f.i("VPADDD Y14, Y2, Y2 // + zero point: within [lo, hi]")
	f.i("VEXTRACTI128 $1, Y2, X3")
	f.i("VPACKSSDW X3, X2, X2 // 8 x int16, exact")
	f.i("TESTQ $%d, R8", qSigned)
	f.i("JNZ qf2_s8")
	f.i("VPACKUSWB X2, X2, X2 // 8 x uint8, exact")
	f.i("JMP qf2_st")
	f.label("qf2_s8")
	f.i("VPACKSSWB X2, X2, X2 // 8 x int8, exact")
	f.label("qf2_st")
	f.i("MOVQ X2, (DI)(CX*1)")
	f.label("qf2_step")
	f.i("ADDQ $8, CX")
	f.i("JMP qf2_col")
	f.label("qf2_next")
	f.i("MOVQ %d(AX), DX", qfTstride)
	f.i("LEAQ (SI)(DX*4), SI")
	f.i("MOVQ %d(AX), DX", qfLdo)
	f.i("TESTQ $%d, R8", qRequant)
	f.i("JNZ qf2_bytes")
	f.i("SHLQ $2, DX")
	f.label("qf2_bytes")
	f.i("ADDQ DX, DI")
	f.i("INCQ BX")
	f.i("JMP qf2_row")
	f.label("qf2_done")
	f.i("VZEROUPPER")
	f.i("RET")
	genQFinishFast256(f)
}

// genQFinishFast256 is genQFinishFast512 for AVX2: byte output without
// per-element corrections, one loop per (row or column scale, u8 or s8)
// with no flag tests inside. R10, R11: tile and output row strides in
// bytes; Y12 the row addend (0 without qRowAdd), Y13 the row's scale.
func genQFinishFast256(f *file) {
	f.label("qf2_fast")
	f.i("MOVQ %d(AX), R10", qfTstride)
	f.i("SHLQ $2, R10")
	f.i("MOVQ %d(AX), R11", qfLdo)
	f.i("MOVQ %d(AX), R14 // rowAdd", qfRowAdd)
	f.i("VPXOR Y12, Y12, Y12")
	f.i("XORQ BX, BX")
	f.label("qf2f_row")
	f.i("CMPQ BX, %d(AX)", qfRows)
	f.i("JGE qf2_done")
	f.i("TESTQ $%d, R8", qRowAdd)
	f.i("JZ qf2f_scale")
	f.i("VPBROADCASTD (R14)(BX*4), Y12 // rowAdd[i]")
	f.label("qf2f_scale")
	f.i("XORQ CX, CX")
	f.i("TESTQ R13, R13")
	f.i("JZ qf2f_next")
	f.i("TESTQ $%d, R8", qScaleRow)
	f.i("JZ qf2f_cs")
	f.i("VBROADCASTSS (R12)(BX*4), Y13 // scale[i]")
	for _, rs := range []bool{true, false} {
		p := "qf2f_rs"
		if !rs {
			p = "qf2f_cs"
			f.label(p)
		}
		f.i("TESTQ $%d, R8", qSigned)
		f.i("JNZ %s_s8", p)
		for _, signed := range []bool{false, true} {
			lbl := p + "_u8"
			if signed {
				lbl = p + "_s8"
			}
			f.label(lbl)
			f.i("VPADDD (SI)(CX*4), Y12, Y0")
			f.i("VCVTDQ2PS Y0, Y2")
			if rs {
				f.i("VMULPS Y13, Y2, Y2")
			} else {
				f.i("VMULPS (R12)(CX*4), Y2, Y2")
			}
			f.i("VMAXPS Y15, Y2, Y2")
			f.i("VMINPS Y9, Y2, Y2")
			f.i("VCVTPS2DQ Y2, Y2")
			f.i("VPADDD Y14, Y2, Y2")
			f.i("VEXTRACTI128 $1, Y2, X3")
			f.i("VPACKSSDW X3, X2, X2")
			if signed {
				f.i("VPACKSSWB X2, X2, X2")
			} else {
				f.i("VPACKUSWB X2, X2, X2")
			}
			f.i("MOVQ X2, (DI)(CX*1)")
			f.i("ADDQ $8, CX")
			f.i("CMPQ CX, R13")
			f.i("JLT %s", lbl)
			f.i("JMP qf2f_next")
		}
	}
	f.label("qf2f_next")
	f.i("ADDQ R10, SI")
	f.i("ADDQ R11, DI")
	f.i("INCQ BX")
	f.i("JMP qf2f_row")
}

// genQKernelRQ512 emits a VNNI kernel with the finisher's fast path fused
// into it: the int32 tile never reaches memory.
//
//	func(kg int, a, b unsafe.Pointer, f *qfin)
//
// It reads f's rowAdd, colAdd (nv*16 entries), scale (per row), zp, lo, hi,
// out and ldo; the caller guarantees byte output, no c1/c2 terms, a per-row
// scale and whole vectors of columns. The accumulators start at
// rowAdd[i] + colAdd[j] instead of 0 (integer sums in any order are the
// same). After the k loop each row is requantized exactly as
// genQFinishFast512 does it: VCVTDQ2PS, VMULPS by the row's scale, VMAXPS
// lo-zp, VMINPS hi-zp, VCVTPS2DQ (rounding half to even by embedded
// control), then the low byte of each lane. The zero point is added to
// those bytes (VPADDB): the low byte of y+zp is the low byte of y plus that
// of zp, mod 256, and y+zp lies within [lo, hi], a byte. A 32-column row
// narrows with one VPERMT2B (byte 4i of the two vectors, AVX512-VBMI, like
// the column-permuting packer) into one 32-byte store; a 16-column row with
// VPMOVDB. After the loop the B and broadcast registers are free: Z28 the
// byte-pick index, Z29 zp's low byte in every byte, Z30 the row's scale,
// Z31 a 16-column row's bytes; lo-zp and hi-zp are embedded broadcasts.
//
// With off set (the "rqo" kernels, B unsigned) B is not a packed panel:
// group g's 4-byte column quads start at b + goff[g] (one int64 per group),
// columns 4 bytes apart: B read in place from interleaved channel planes
// (see gemm.QGemmPackedAC4).
//
//	func(kg int, a, b unsafe.Pointer, goff *int, f *qfin)
func genQKernelRQ512(f *file, au bool, mr, nv int, off bool) {
	fl := "bu"
	if au {
		fl = "au"
	}
	name := qName("vnni", fl+"_rq", mr, nv)
	if off {
		name = qName("vnni", fl+"_rqo", mr, nv)
	}
	acc := func(r, v int) string { return z(r*nv + v) }
	bReg := []string{"Z28", "Z29"}
	bc := []string{"Z30", "Z31"}
	f.p("")
	if off {
		f.p("// func %s(kg int, a, b unsafe.Pointer, goff *int, f *qfin)", name)
		f.p("TEXT ·%s(SB), NOSPLIT, $0-40", name)
		f.i("MOVQ kg+0(FP), CX")
		f.i("MOVQ a+8(FP), SI")
		f.i("MOVQ b+16(FP), DI")
		f.i("MOVQ goff+24(FP), BX")
		f.i("MOVQ f+32(FP), AX")
	} else {
		f.p("// func %s(kg int, a, b unsafe.Pointer, f *qfin)", name)
		f.p("TEXT ·%s(SB), NOSPLIT, $0-32", name)
		f.i("MOVQ kg+0(FP), CX")
		f.i("MOVQ a+8(FP), SI")
		f.i("MOVQ b+16(FP), DI")
		f.i("MOVQ f+24(FP), AX")
	}
	f.i("MOVQ %d(AX), R10 // rowAdd", qfRowAdd)
	f.i("MOVQ %d(AX), R11 // colAdd", qfColAdd)
	for v := 0; v < nv; v++ {
		f.i("VMOVDQU32 %s, %s // colAdd", mem(64*v, "R11"), bReg[v])
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			f.i("VPADDD.BCST %s, %s, %s // rowAdd[i] + colAdd[j]", mem(4*r, "R10"), bReg[v], acc(r, v))
		}
	}
	f.i("TESTQ CX, CX")
	f.i("JZ %s_store", name)
	f.i("PCALIGN $64")
	f.label(name + "_loop")
	if off {
		f.i("MOVQ (BX), R13 // goff[g]")
		f.i("ADDQ $8, BX")
		for v := 0; v < nv; v++ {
			f.i("VMOVDQU32 %d(DI)(R13*1), %s", 64*v, bReg[v])
		}
	} else {
		for v := 0; v < nv; v++ {
			f.i("VMOVDQU32 %s, %s", mem(64*v, "DI"), bReg[v])
		}
	}
	for r := 0; r < mr; r++ {
		aAddr := mem(4*r, "SI")
		if !au && nv == 1 {
			f.i("VPDPBUSD.BCST %s, %s, %s", aAddr, bReg[0], acc(r, 0))
			continue
		}
		b := bc[r%2]
		f.i("VPBROADCASTD %s, %s", aAddr, b)
		for v := 0; v < nv; v++ {
			if au {
				f.i("VPDPBUSD %s, %s, %s // acc += u8(A) . s8(B)", bReg[v], b, acc(r, v))
			} else {
				f.i("VPDPBUSD %s, %s, %s // acc += u8(B) . s8(A)", b, bReg[v], acc(r, v))
			}
		}
	}
	f.i("ADDQ $%d, SI", 4*mr)
	if !off {
		f.i("ADDQ $%d, DI", 128)
	}
	f.i("DECQ CX")
	f.i("JNZ %s_loop", name)
	f.label(name + "_store")
	f.i("MOVQ %d(AX), R12 // scale (per row)", qfScale)
	f.i("MOVQ %d(AX), DX // out", qfOut)
	f.i("MOVQ %d(AX), R9 // ldo (bytes)", qfLdo)
	if nv == 2 {
		f.i("VMOVDQU64 qrqpick<>(SB), Z28 // byte 4i of two vectors")
	}
	f.i("VPBROADCASTB %d(AX), Z29 // zp mod 256", qfZp)
	for r := 0; r < mr; r++ {
		f.i("VBROADCASTSS %s, Z30 // scale[i]", mem(4*r, "R12"))
		for v := 0; v < nv; v++ {
			a := acc(r, v)
			f.i("VCVTDQ2PS.RN_SAE %s, %s", a, a)
			f.i("VMULPS.RN_SAE Z30, %s, %s", a, a)
			f.i("VMAXPS.BCST %s, %s, %s // max(p, lo-zp); NaN -> lo-zp", mem(qfLo, "AX"), a, a)
			f.i("VMINPS.BCST %s, %s, %s // min(p, hi-zp)", mem(qfHi, "AX"), a, a)
			f.i("VCVTPS2DQ.RN_SAE %s, %s", a, a)
		}
		if nv == 2 {
			a0, a1 := acc(r, 0), acc(r, 1)
			y0 := "Y" + a0[1:]
			f.i("VPERMT2B %s, Z28, %s // low bytes of the 32 lanes", a1, a0)
			f.i("VPADDB Y29, %s, %s // + zp", y0, y0)
			f.i("VMOVDQU32 %s, (DX)", y0)
		} else {
			f.i("VPMOVDB %s, X31 // low bytes", acc(r, 0))
			f.i("VPADDB X29, X31, X31 // + zp")
			f.i("VMOVDQU32 X31, (DX)")
		}
		if r < mr-1 {
			f.i("ADDQ R9, DX")
		}
	}
	f.i("VZEROUPPER")
	f.i("RET")
}
