package main

import "fmt"

// AVX2 versions of the sparse kernels (see sparse.go): vectors of 8
// floats, 16 ymm registers, the last column vector masked with VMASKMOVPS
// (mask Y15 from sargs.maskv). Registers: accumulators Y0..Y7, X row
// vectors Y8..Y11, broadcasts Y12/Y13, temporary Y14.

const saMaskV = 152 // [8]int32 lane mask (-1 = on)

func bsr256Name(r, nv int, c1, edge bool) string {
	s := fmt.Sprintf("bsr256_r%dv%d", r, nv)
	if c1 {
		s += "c1"
	}
	if edge {
		s += "e"
	}
	return s
}

func nm24_256Name(nv int, edge bool) string {
	s := fmt.Sprintf("nm24_256_v%d", nv)
	if edge {
		s += "e"
	}
	return s
}

func bsr256MaxNV(r int) int {
	switch r {
	case 4:
		return 2
	case 8:
		return 1
	}
	return 4
}

// load256 loads vector v of a row at addr into dst (masked when it is the
// last vector of an edge kernel).
func load256(f *file, edge bool, v, nv int, addr, dst string) {
	if edge && v == nv-1 {
		f.i("VMASKMOVPS %s, Y15, %s", addr, dst)
	} else {
		f.i("VMOVUPS %s, %s", addr, dst)
	}
}

// fma256 accumulates a row at base times broadcast b into acc(v).
func fma256(f *file, edge bool, nv int, base, b string, acc func(v int) string) {
	for v := 0; v < nv; v++ {
		if edge && v == nv-1 {
			f.i("VMASKMOVPS %s, Y15, Y14", mem(32*v, base))
			f.i("VFMADD231PS Y14, %s, %s", b, acc(v))
		} else {
			f.i("VFMADD231PS %s, %s, %s", mem(32*v, base), b, acc(v))
		}
	}
}

func sparseEpilogue256(f *file, name string, R, nv int, edge bool, acc func(r, v int) string, rb string) {
	f.i("MOVQ %d(AX), DX // flags", saFlags)
	f.i("TESTQ $%d, DX", sfLoadY)
	f.i("JZ %s_noy", name)
	f.i("VBROADCASTSS %d(AX), Y12 // beta", saBeta)
	f.i("MOVQ R13, DI")
	for r := 0; r < R; r++ {
		for v := 0; v < nv; v++ {
			if edge && v == nv-1 {
				f.i("VMASKMOVPS %s, Y15, Y14", mem(32*v, "DI"))
				f.i("VFMADD231PS Y14, Y12, %s", acc(r, v))
			} else {
				f.i("VFMADD231PS %s, Y12, %s", mem(32*v, "DI"), acc(r, v))
			}
		}
		if r < R-1 {
			f.i("ADDQ %d(AX), DI", saLdy)
		}
	}
	f.label(name + "_noy")
	f.i("TESTQ $%d, DX", sfRowBias)
	f.i("JZ %s_norb", name)
	for r := 0; r < R; r++ {
		f.i("VBROADCASTSS %s, Y12", mem(4*r, rb))
		for v := 0; v < nv; v++ {
			f.i("VADDPS Y12, %s, %s", acc(r, v), acc(r, v))
		}
	}
	f.label(name + "_norb")
	f.i("TESTQ $%d, DX", sfColBias)
	f.i("JZ %s_nocb", name)
	f.i("MOVQ %d(AX), DI", saColBias)
	for v := 0; v < nv; v++ {
		load256(f, edge, v, nv, mem(32*v, "DI"), fmt.Sprintf("Y%d", 8+v))
	}
	for r := 0; r < R; r++ {
		for v := 0; v < nv; v++ {
			f.i("VADDPS Y%d, %s, %s", 8+v, acc(r, v), acc(r, v))
		}
	}
	f.label(name + "_nocb")
	f.i("TESTQ $%d, DX", sfClamp)
	f.i("JZ %s_store", name)
	f.i("VBROADCASTSS %d(AX), Y12", saLo)
	f.i("VBROADCASTSS %d(AX), Y13", saHi)
	for r := 0; r < R; r++ {
		for v := 0; v < nv; v++ {
			f.i("VMAXPS %s, Y12, %s", acc(r, v), acc(r, v))
			f.i("VMINPS %s, Y13, %s", acc(r, v), acc(r, v))
		}
	}
	f.label(name + "_store")
	f.i("MOVQ R13, DI")
	for r := 0; r < R; r++ {
		for v := 0; v < nv; v++ {
			if edge && v == nv-1 {
				f.i("VMASKMOVPS %s, Y15, %s", acc(r, v), mem(32*v, "DI"))
			} else {
				f.i("VMOVUPS %s, %s", acc(r, v), mem(32*v, "DI"))
			}
		}
		if r < R-1 {
			f.i("ADDQ %d(AX), DI", saLdy)
		}
	}
}

func genBSR256(f *file, R, nv int, c1, edge bool) {
	name := bsr256Name(R, nv, c1, edge)
	pair := R == 1 && c1
	acc := func(r, v int) string { return y(r*nv + v) }
	accB := func(v int) string { return y(4 + v) }
	f.p("")
	f.p("// func %s(s *sargs)", name)
	f.p("TEXT ·%s(SB), NOSPLIT, $0-8", name)
	f.i("MOVQ s+0(FP), AX")
	f.i("MOVQ %d(AX), R8", saRowPtr)
	f.i("MOVQ %d(AX), R9", saColIdx)
	f.i("MOVQ %d(AX), SI", saVal)
	f.i("MOVQ %d(AX), BX", saNbr)
	f.i("MOVQ %d(AX), R11", saX)
	f.i("MOVQ %d(AX), R12", saLdx)
	f.i("MOVQ %d(AX), R13", saY)
	f.i("MOVQ %d(AX), R10 // row bias", saRowBias)
	if edge {
		f.i("VMOVDQU %d(AX), Y15 // lane mask", saMaskV)
	}
	f.i("TESTQ BX, BX")
	f.i("JZ %s_done", name)
	f.label(name + "_row")
	f.i("MOVLQSX (R8), CX")
	f.i("MOVLQSX 4(R8), DX")
	f.i("ADDQ $4, R8")
	for r := 0; r < R; r++ {
		for v := 0; v < nv; v++ {
			f.i("VXORPS %s, %s, %s", acc(r, v), acc(r, v), acc(r, v))
		}
	}
	if pair {
		for v := 0; v < nv; v++ {
			f.i("VXORPS %s, %s, %s", accB(v), accB(v), accB(v))
		}
		f.i("LEAQ 1(CX), DI")
		f.i("CMPQ DI, DX")
		f.i("JGE %s_tail", name)
		f.label(name + "_pair")
		f.i("MOVLQSX (R9)(CX*4), DI")
		f.i("IMULQ R12, DI")
		f.i("ADDQ R11, DI")
		f.i("MOVLQSX 4(R9)(CX*4), R14")
		f.i("IMULQ R12, R14")
		f.i("ADDQ R11, R14")
		f.i("VBROADCASTSS (SI), Y12")
		f.i("VBROADCASTSS 4(SI), Y13")
		fma256(f, edge, nv, "DI", "Y12", func(v int) string { return acc(0, v) })
		fma256(f, edge, nv, "R14", "Y13", accB)
		f.i("ADDQ $8, SI")
		f.i("ADDQ $2, CX")
		f.i("LEAQ 1(CX), DI")
		f.i("CMPQ DI, DX")
		f.i("JL %s_pair", name)
		f.label(name + "_tail")
		f.i("CMPQ CX, DX")
		f.i("JGE %s_sum", name)
		f.i("MOVLQSX (R9)(CX*4), DI")
		f.i("IMULQ R12, DI")
		f.i("ADDQ R11, DI")
		f.i("VBROADCASTSS (SI), Y12")
		fma256(f, edge, nv, "DI", "Y12", func(v int) string { return acc(0, v) })
		f.i("ADDQ $4, SI")
		f.label(name + "_sum")
		for v := 0; v < nv; v++ {
			f.i("VADDPS %s, %s, %s", accB(v), acc(0, v), acc(0, v))
		}
	} else {
		f.i("CMPQ CX, DX")
		f.i("JGE %s_epi", name)
		f.label(name + "_blk")
		f.i("MOVLQSX (R9)(CX*4), DI")
		f.i("IMULQ %d(AX), DI", saLdxC)
		f.i("ADDQ R11, DI")
		if !c1 {
			f.i("MOVQ %d(AX), R14", saC)
			f.label(name + "_col")
		}
		for v := 0; v < nv; v++ {
			load256(f, edge, v, nv, mem(32*v, "DI"), fmt.Sprintf("Y%d", 8+v))
		}
		for r := 0; r < R; r++ {
			b := fmt.Sprintf("Y%d", 12+r%2)
			f.i("VBROADCASTSS %s, %s", mem(4*r, "SI"), b)
			for v := 0; v < nv; v++ {
				f.i("VFMADD231PS Y%d, %s, %s", 8+v, b, acc(r, v))
			}
		}
		f.i("ADDQ $%d, SI", 4*R)
		if !c1 {
			f.i("ADDQ R12, DI")
			f.i("DECQ R14")
			f.i("JNZ %s_col", name)
		}
		f.i("INCQ CX")
		f.i("CMPQ CX, DX")
		f.i("JL %s_blk", name)
	}
	f.label(name + "_epi")
	sparseEpilogue256(f, name, R, nv, edge, acc, "R10")
	f.i("ADDQ $%d, R10", 4*R)
	f.i("MOVQ %d(AX), DI", saLdy)
	f.i("IMULQ $%d, DI", R)
	f.i("ADDQ DI, R13")
	f.i("DECQ BX")
	f.i("JNZ %s_row", name)
	f.label(name + "_done")
	f.i("VZEROUPPER")
	f.i("RET")
}

func gen24_256(f *file, nv int, edge bool) {
	name := nm24_256Name(nv, edge)
	acc := func(r, v int) string { return y(v) }
	accB := func(v int) string { return y(4 + v) }
	f.p("")
	f.p("// func %s(s *sargs)", name)
	f.p("TEXT ·%s(SB), NOSPLIT, $0-8", name)
	f.i("MOVQ s+0(FP), AX")
	f.i("MOVQ %d(AX), R9", saMeta)
	f.i("MOVQ %d(AX), SI", saVal)
	f.i("MOVQ %d(AX), BX", saNbr)
	f.i("MOVQ %d(AX), R11", saX)
	f.i("MOVQ %d(AX), R12", saLdx)
	f.i("MOVQ %d(AX), R13", saY)
	f.i("MOVQ %d(AX), R8 // row bias", saRowBias)
	if edge {
		f.i("VMOVDQU %d(AX), Y15 // lane mask", saMaskV)
	}
	f.i("TESTQ BX, BX")
	f.i("JZ %s_done", name)
	f.label(name + "_row")
	for v := 0; v < nv; v++ {
		f.i("VXORPS %s, %s, %s", acc(0, v), acc(0, v), acc(0, v))
		f.i("VXORPS %s, %s, %s", accB(v), accB(v), accB(v))
	}
	f.i("MOVQ %d(AX), R10", saGroups)
	f.i("MOVQ R11, CX")
	f.i("TESTQ R10, R10")
	f.i("JZ %s_epi", name)
	f.label(name + "_grp")
	f.i("MOVBLZX (R9), DX")
	f.i("MOVQ DX, DI")
	f.i("ANDQ $3, DI")
	f.i("IMULQ R12, DI")
	f.i("ADDQ CX, DI")
	f.i("SHRQ $2, DX")
	f.i("ANDQ $3, DX")
	f.i("IMULQ R12, DX")
	f.i("LEAQ (CX)(DX*1), R14")
	f.i("VBROADCASTSS (SI), Y12")
	f.i("VBROADCASTSS 4(SI), Y13")
	fma256(f, edge, nv, "DI", "Y12", func(v int) string { return acc(0, v) })
	fma256(f, edge, nv, "R14", "Y13", accB)
	f.i("ADDQ $8, SI")
	f.i("INCQ R9")
	f.i("ADDQ %d(AX), CX", saLdxC)
	f.i("DECQ R10")
	f.i("JNZ %s_grp", name)
	f.label(name + "_epi")
	for v := 0; v < nv; v++ {
		f.i("VADDPS %s, %s, %s", accB(v), acc(0, v), acc(0, v))
	}
	sparseEpilogue256(f, name, 1, nv, edge, acc, "R8")
	f.i("ADDQ $4, R8")
	f.i("MOVQ %d(AX), DX", saSkip)
	f.i("ADDQ DX, R9")
	f.i("LEAQ (SI)(DX*8), SI")
	f.i("ADDQ %d(AX), R13", saLdy)
	f.i("DECQ BX")
	f.i("JNZ %s_row", name)
	f.label(name + "_done")
	f.i("VZEROUPPER")
	f.i("RET")
}

func genSparse256(out map[string][]byte) {
	f := newAsmFile("amd64 && !purego")
	f.p("")
	f.p("// AVX2 sparse x dense kernels (BSR/CSR and 2:4). See _asm/sparse256.go.")
	g := newGoFile("amd64 && !purego", "sparse")
	g.p("// bsrKernels256[r][nv][c1][edge] for block heights 1, 2, 4, 8 (index log2).")
	g.p("var bsrKernels256 = [4][5][2][2]func(*sargs){")
	for ri, R := range bsrRows {
		g.p("\t%d: {", ri)
		for nv := 1; nv <= bsr256MaxNV(R); nv++ {
			g.p("\t\t%d: {", nv)
			for ci, c1 := range []bool{false, true} {
				genBSR256(f, R, nv, c1, false)
				genBSR256(f, R, nv, c1, true)
				g.p("\t\t\t%d: {%s, %s},", ci, bsr256Name(R, nv, c1, false), bsr256Name(R, nv, c1, true))
			}
			g.p("\t\t},")
		}
		g.p("\t},")
	}
	g.p("}")
	g.p("")
	g.p("// nm24Kernels256[nv][edge]")
	g.p("var nm24Kernels256 = [5][2]func(*sargs){")
	for nv := 1; nv <= 4; nv++ {
		gen24_256(f, nv, false)
		gen24_256(f, nv, true)
		g.p("\t%d: {%s, %s},", nv, nm24_256Name(nv, false), nm24_256Name(nv, true))
	}
	g.p("}")
	for _, R := range bsrRows {
		for nv := 1; nv <= bsr256MaxNV(R); nv++ {
			for _, c1 := range []bool{false, true} {
				for _, e := range []bool{false, true} {
					g.p("")
					g.p("//go:noescape")
					g.p("func %s(s *sargs)", bsr256Name(R, nv, c1, e))
				}
			}
		}
	}
	for nv := 1; nv <= 4; nv++ {
		for _, e := range []bool{false, true} {
			g.p("")
			g.p("//go:noescape")
			g.p("func %s(s *sargs)", nm24_256Name(nv, e))
		}
	}
	out["impl/sparse/kernels256_amd64.s"] = f.bytes()
	out["impl/sparse/kernels256_amd64.go"] = g.bytes()
}
