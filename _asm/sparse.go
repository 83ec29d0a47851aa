package main

import "fmt"

// Sparse x dense kernels: Y[M, N] = W[M, K] x X[K, N] with W sparse.
//
// BSR kernels process block rows of R rows; a block is R x C values stored
// column-major (for each of its C columns, R consecutive values), so the
// values are read strictly sequentially. For each block the kernel walks
// its C columns: it loads the X row k (nv vectors of the current column
// chunk of N, the last one masked in edge kernels), broadcasts each of the R
// values and FMAs into R x nv accumulators. CSR is BSR with 1 x 1 blocks;
// R = 1 kernels keep two accumulator sets (even and odd nonzeros) so the FMA
// latency of one chain does not bound the loop.
//
// The 2:4 kernel reads, per row and group of 4 k, two values and one
// metadata byte (bits 0-1 and 2-3: positions of the two values in the
// group) and FMAs the two selected X rows into two accumulator sets.
//
// All kernels take one argument, a pointer to sargs (impl/sparse/kernel.go),
// and apply the epilogue: acc += beta*Y; += rowBias[i]; += colBias[j];
// clamp; store.

const (
	saRowPtr  = 0
	saColIdx  = 8
	saVal     = 16
	saNbr     = 24
	saC       = 32
	saX       = 40
	saLdx     = 48
	saY       = 56
	saLdy     = 64
	saFlags   = 72
	saBeta    = 80
	saLo      = 84
	saHi      = 88
	saRowBias = 96
	saColBias = 104
	saMask    = 112
	saLdxC    = 120
	saMeta    = 128
	saGroups  = 136
	saSkip    = 144 // 2:4: metadata bytes to skip at the end of a row (values: 8x)

	sfLoadY   = 1
	sfRowBias = 2
	sfColBias = 4
	sfClamp   = 8
)

func bsrName(r, nv int, c1, edge bool) string {
	s := fmt.Sprintf("bsr512_r%dv%d", r, nv)
	if c1 {
		s += "c1"
	}
	if edge {
		s += "e"
	}
	return s
}

func nm24Name(nv int, edge bool) string {
	s := fmt.Sprintf("nm24_512_v%d", nv)
	if edge {
		s += "e"
	}
	return s
}

// sparseEpilogue emits the epilogue and store for R rows of nv vectors
// whose accumulators are acc(r, v); uses DI, DX, Z24..Z31. Leaves R13
// (Y row pointer) and SI (values, which run on across rows) unchanged.
//
// rb is the register holding the row bias pointer of the current rows: the
// pointer must never be written back into sargs (a pointer one past the
// bias array would reach the garbage collector).
func sparseEpilogue(f *file, name string, R, nv int, edge bool, acc func(r, v int) string, rb string) {
	last := func(v int) bool { return edge && v == nv-1 }
	load := func(v int, addr, dst string) {
		if last(v) {
			f.i("VMOVUPS.Z %s, K1, %s", addr, dst)
		} else {
			f.i("VMOVUPS %s, %s", addr, dst)
		}
	}
	f.i("MOVQ %d(AX), DX // flags", saFlags)
	f.i("TESTQ $%d, DX", sfLoadY)
	f.i("JZ %s_noy", name)
	f.i("VBROADCASTSS %d(AX), Z30 // beta", saBeta)
	f.i("MOVQ R13, DI")
	for r := 0; r < R; r++ {
		for v := 0; v < nv; v++ {
			if last(v) {
				load(v, mem(64*v, "DI"), "Z31")
				f.i("VFMADD231PS Z31, Z30, %s", acc(r, v))
			} else {
				f.i("VFMADD231PS %s, Z30, %s", mem(64*v, "DI"), acc(r, v))
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
		for v := 0; v < nv; v++ {
			f.i("VADDPS.BCST %s, %s, %s", mem(4*r, rb), acc(r, v), acc(r, v))
		}
	}
	f.label(name + "_norb")
	f.i("TESTQ $%d, DX", sfColBias)
	f.i("JZ %s_nocb", name)
	f.i("MOVQ %d(AX), DI", saColBias)
	for v := 0; v < nv; v++ {
		load(v, mem(64*v, "DI"), fmt.Sprintf("Z%d", 24+v))
	}
	for r := 0; r < R; r++ {
		for v := 0; v < nv; v++ {
			f.i("VADDPS Z%d, %s, %s", 24+v, acc(r, v), acc(r, v))
		}
	}
	f.label(name + "_nocb")
	f.i("TESTQ $%d, DX", sfClamp)
	f.i("JZ %s_store", name)
	f.i("VBROADCASTSS %d(AX), Z30", saLo)
	f.i("VBROADCASTSS %d(AX), Z31", saHi)
	for r := 0; r < R; r++ {
		for v := 0; v < nv; v++ {
			f.i("VMAXPS %s, Z30, %s", acc(r, v), acc(r, v))
			f.i("VMINPS %s, Z31, %s", acc(r, v), acc(r, v))
		}
	}
	f.label(name + "_store")
	f.i("MOVQ R13, DI")
	for r := 0; r < R; r++ {
		for v := 0; v < nv; v++ {
			if last(v) {
				f.i("VMOVUPS %s, K1, %s", acc(r, v), mem(64*v, "DI"))
			} else {
				f.i("VMOVUPS %s, %s", acc(r, v), mem(64*v, "DI"))
			}
		}
		if r < R-1 {
			f.i("ADDQ %d(AX), DI", saLdy)
		}
	}
}

// Registers: AX = sargs, BX = block rows left, CX = block index, DX = end,
// SI = values, DI/R14 = X rows, R8 = rowPtr, R9 = colIdx, R11 = X,
// R10 = row bias, R12 = ldx, R13 = Y row. Accumulators Z0.., X row vectors Z24..Z27,
// broadcasts Z28/Z29.
func genBSR(f *file, R, nv int, c1, edge bool) {
	name := bsrName(R, nv, c1, edge)
	sets := 1
	if R == 1 && c1 {
		sets = 2
	}
	acc := func(r, v int) string { return z(r*nv + v) }
	accB := func(v int) string { return z(R*nv + v) }
	xv := func(v int) string { return z(24 + v) }
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
		f.i("KMOVW %d(AX), K1", saMask)
	}
	f.i("TESTQ BX, BX")
	f.i("JZ %s_done", name)
	f.label(name + "_row")
	f.i("MOVLQSX (R8), CX // first block of this block row")
	f.i("MOVLQSX 4(R8), DX // end")
	f.i("ADDQ $4, R8")
	for r := 0; r < R; r++ {
		for v := 0; v < nv; v++ {
			f.i("VPXORD %s, %s, %s", acc(r, v), acc(r, v), acc(r, v))
		}
	}
	if sets == 2 {
		for v := 0; v < nv; v++ {
			f.i("VPXORD %s, %s, %s", accB(v), accB(v), accB(v))
		}
	}
	// fma accumulates X row at base into accumulator set for row r with
	// broadcast register b.
	fma := func(base, b string, accF func(v int) string) {
		for v := 0; v < nv; v++ {
			if edge && v == nv-1 {
				f.i("VMOVUPS.Z %s, K1, Z31", mem(64*v, base))
				f.i("VFMADD231PS Z31, %s, %s", b, accF(v))
			} else {
				f.i("VFMADD231PS %s, %s, %s", mem(64*v, base), b, accF(v))
			}
		}
	}
	if c1 && R == 1 {
		// Two nonzeros per iteration, one per accumulator set.
		f.i("LEAQ 1(CX), DI")
		f.i("CMPQ DI, DX")
		f.i("JGE %s_tail", name)
		f.label(name + "_pair")
		f.i("MOVLQSX (R9)(CX*4), DI")
		f.i("IMULQ R12, DI")
		f.i("ADDQ R11, DI // X row of nonzero 0")
		f.i("MOVLQSX 4(R9)(CX*4), R14")
		f.i("IMULQ R12, R14")
		f.i("ADDQ R11, R14 // X row of nonzero 1")
		f.i("VBROADCASTSS (SI), Z28")
		f.i("VBROADCASTSS 4(SI), Z29")
		fma("DI", "Z28", func(v int) string { return acc(0, v) })
		fma("R14", "Z29", accB)
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
		f.i("VBROADCASTSS (SI), Z28")
		fma("DI", "Z28", func(v int) string { return acc(0, v) })
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
		f.i("IMULQ %d(AX), DI // block column * C * ldx", saLdxC)
		f.i("ADDQ R11, DI")
		if !c1 {
			f.i("MOVQ %d(AX), R14 // C", saC)
			f.label(name + "_col")
		}
		// Load the X row once, reuse it for the R rows.
		for v := 0; v < nv; v++ {
			if edge && v == nv-1 {
				f.i("VMOVUPS.Z %s, K1, %s", mem(64*v, "DI"), xv(v))
			} else {
				f.i("VMOVUPS %s, %s", mem(64*v, "DI"), xv(v))
			}
		}
		for r := 0; r < R; r++ {
			b := z(28 + r%2)
			f.i("VBROADCASTSS %s, %s", mem(4*r, "SI"), b)
			for v := 0; v < nv; v++ {
				f.i("VFMADD231PS %s, %s, %s", xv(v), b, acc(r, v))
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
	sparseEpilogue(f, name, R, nv, edge, acc, "R10")
	f.i("ADDQ $%d, R10 // row bias of the next block row", 4*R)
	f.i("MOVQ %d(AX), DI", saLdy)
	f.i("IMULQ $%d, DI", R)
	f.i("ADDQ DI, R13")
	f.i("DECQ BX")
	f.i("JNZ %s_row", name)
	f.label(name + "_done")
	f.i("VZEROUPPER")
	f.i("RET")
}

// gen24 emits the 2:4 kernel: nbr rows, groups per row, values [2 per
// group], metadata [1 byte per group]. Registers as genBSR plus R9 = meta,
// R10 = group counter, R14 = second X row, CX = X base of the group.
func gen24(f *file, nv int, edge bool) {
	name := nm24Name(nv, edge)
	acc := func(r, v int) string { return z(v) }
	accB := func(v int) string { return z(nv + v) }
	f.p("")
	f.p("// func %s(s *sargs)", name)
	f.p("TEXT ·%s(SB), NOSPLIT, $0-8", name)
	f.i("MOVQ s+0(FP), AX")
	f.i("MOVQ %d(AX), R9 // metadata", saMeta)
	f.i("MOVQ %d(AX), SI // values", saVal)
	f.i("MOVQ %d(AX), BX // rows", saNbr)
	f.i("MOVQ %d(AX), R11", saX)
	f.i("MOVQ %d(AX), R12", saLdx)
	f.i("MOVQ %d(AX), R13", saY)
	f.i("MOVQ %d(AX), R8 // row bias", saRowBias)
	if edge {
		f.i("KMOVW %d(AX), K1", saMask)
	}
	f.i("TESTQ BX, BX")
	f.i("JZ %s_done", name)
	f.label(name + "_row")
	for v := 0; v < nv; v++ {
		f.i("VPXORD %s, %s, %s", acc(0, v), acc(0, v), acc(0, v))
		f.i("VPXORD %s, %s, %s", accB(v), accB(v), accB(v))
	}
	f.i("MOVQ %d(AX), R10 // groups", saGroups)
	f.i("MOVQ R11, CX // X row of the group's first k")
	f.i("TESTQ R10, R10")
	f.i("JZ %s_epi", name)
	f.label(name + "_grp")
	f.i("MOVBLZX (R9), DX // two 2-bit positions")
	f.i("MOVQ DX, DI")
	f.i("ANDQ $3, DI")
	f.i("IMULQ R12, DI")
	f.i("ADDQ CX, DI // X row of value 0")
	f.i("SHRQ $2, DX")
	f.i("ANDQ $3, DX")
	f.i("IMULQ R12, DX")
	f.i("LEAQ (CX)(DX*1), R14 // X row of value 1")
	f.i("VBROADCASTSS (SI), Z28")
	f.i("VBROADCASTSS 4(SI), Z29")
	for v := 0; v < nv; v++ {
		if edge && v == nv-1 {
			f.i("VMOVUPS.Z %s, K1, Z30", mem(64*v, "DI"))
			f.i("VFMADD231PS Z30, Z28, %s", acc(0, v))
			f.i("VMOVUPS.Z %s, K1, Z31", mem(64*v, "R14"))
			f.i("VFMADD231PS Z31, Z29, %s", accB(v))
		} else {
			f.i("VFMADD231PS %s, Z28, %s", mem(64*v, "DI"), acc(0, v))
			f.i("VFMADD231PS %s, Z29, %s", mem(64*v, "R14"), accB(v))
		}
	}
	f.i("ADDQ $8, SI")
	f.i("INCQ R9")
	f.i("ADDQ %d(AX), CX // next group: 4 rows of X further", saLdxC)
	f.i("DECQ R10")
	f.i("JNZ %s_grp", name)
	f.label(name + "_epi")
	for v := 0; v < nv; v++ {
		f.i("VADDPS %s, %s, %s", accB(v), acc(0, v), acc(0, v))
	}
	sparseEpilogue(f, name, 1, nv, edge, acc, "R8")
	f.i("ADDQ $4, R8")
	f.i("MOVQ %d(AX), DX // groups of the row outside this slab", saSkip)
	f.i("ADDQ DX, R9")
	f.i("LEAQ (SI)(DX*8), SI")
	f.i("ADDQ %d(AX), R13", saLdy)
	f.i("DECQ BX")
	f.i("JNZ %s_row", name)
	f.label(name + "_done")
	f.i("VZEROUPPER")
	f.i("RET")
}

// bsrRows are the block heights with kernels; bsrMaxNV the widest column
// chunk (in vectors) for each.
var bsrRows = []int{1, 2, 4, 8}

func bsrMaxNV(r int) int {
	if r == 8 {
		return 3
	}
	return 4
}

func genSparse(out map[string][]byte) {
	f := newAsmFile("amd64 && !purego")
	f.p("")
	f.p("// AVX-512 sparse x dense kernels (BSR/CSR and 2:4). See _asm/sparse.go.")
	g := newGoFile("amd64 && !purego", "sparse")
	g.p("// bsrKernels[r][nv][c1][edge] for block heights 1, 2, 4, 8 (index log2).")
	g.p("var bsrKernels = [4][5][2][2]func(*sargs){")
	for ri, R := range bsrRows {
		g.p("\t%d: {", ri)
		for nv := 1; nv <= bsrMaxNV(R); nv++ {
			g.p("\t\t%d: {", nv)
			for ci, c1 := range []bool{false, true} {
				genBSR(f, R, nv, c1, false)
				genBSR(f, R, nv, c1, true)
				g.p("\t\t\t%d: {%s, %s},", ci, bsrName(R, nv, c1, false), bsrName(R, nv, c1, true))
			}
			g.p("\t\t},")
		}
		g.p("\t},")
	}
	g.p("}")
	g.p("")
	g.p("// nm24Kernels[nv][edge]")
	g.p("var nm24Kernels = [5][2]func(*sargs){")
	for nv := 1; nv <= 4; nv++ {
		gen24(f, nv, false)
		gen24(f, nv, true)
		g.p("\t%d: {%s, %s},", nv, nm24Name(nv, false), nm24Name(nv, true))
	}
	g.p("}")
	for _, R := range bsrRows {
		for nv := 1; nv <= bsrMaxNV(R); nv++ {
			for _, c1 := range []bool{false, true} {
				for _, e := range []bool{false, true} {
					g.p("")
					g.p("//go:noescape")
					g.p("func %s(s *sargs)", bsrName(R, nv, c1, e))
				}
			}
		}
	}
	for nv := 1; nv <= 4; nv++ {
		for _, e := range []bool{false, true} {
			g.p("")
			g.p("//go:noescape")
			g.p("func %s(s *sargs)", nm24Name(nv, e))
		}
	}
	out["impl/sparse/kernels_amd64.s"] = f.bytes()
	out["impl/sparse/kernels_amd64.go"] = g.bytes()
}
