package main

import "fmt"

// FP32 GEMM micro-kernels.
//
// A kernel computes one rows x cols tile of C from a packed A micro-panel
// (for each k: rows consecutive floats) and a B micro-panel (for each k: one
// row of nv vectors, consecutive rows ldb bytes apart; ldb is the packed
// panel width when B is packed, or the caller's row stride when the kernel
// reads a row-major B directly). The accumulators live in registers for the
// whole k loop: rows*nv of them, each one vector of C.
//
// After the loop the epilogue, driven by the kargs block (see
// impl/gemm/kernel.go), applies in order: acc *= alpha; acc += beta*C;
// acc += rowBias[r]; acc += colBias[j]; acc = min(max(acc, lo), hi); and
// stores. "Edge" kernels mask the last column vector with the lane mask from
// kargs for every B, C and column-bias access, so no byte outside the tile is
// read or written.
//
// Go signature of every kernel:
//
//	func(k int, a, b *float32, ldb uintptr, c *float32, ldc uintptr, ep *kargs)

// kargs offsets; keep in sync with impl/gemm/kernel.go (a test checks them).
const (
	kaAlpha   = 0
	kaBeta    = 4
	kaLo      = 8
	kaHi      = 12
	kaFlags   = 16
	kaRowBias = 24
	kaColBias = 32
	kaMask    = 40
	kaMaskV   = 48
	kaPf      = 80

	flAlpha   = 1
	flLoadC   = 2
	flRowBias = 4
	flColBias = 8
	flClamp   = 16
)

type sgemmISA struct {
	name   string // avx512 | avx2 | avx512bf16
	vec    int    // floats per vector
	maxMR  int
	maxNV  int
	reg    func(int) string
	vbytes int
}

var isa512 = sgemmISA{"avx512", 16, 14, 2, z, 64}
var isa256 = sgemmISA{"avx2", 8, 6, 2, y, 32}

// isaBF16: same register tile as avx512, but a k step is a pair of bf16
// values (one dword per row of A, one dword per column of B) multiplied and
// added by VDPBF16PS.
var isaBF16 = sgemmISA{"avx512bf16", 16, 14, 2, z, 64}

func sgemmName(s sgemmISA, mr, nv int, edge, direct bool) string {
	e := ""
	if edge {
		e = "e"
	}
	d := ""
	if direct {
		d = "d_"
	}
	return fmt.Sprintf("sgemm_%s_%s%dx%d%s", s.name, d, mr, nv, e)
}

// directRow addresses row r of a row-major A read in place: rows 0..6 from
// SI, rows 7..13 from R12 = SI + 7*lda, with AX = lda, BX = 3*lda,
// R11 = 5*lda (x86 scales reach 0, 1, 2, 3, 4, 5, 6 times lda).
func directRow(off, r int) string {
	base := "SI"
	if r >= 7 {
		base = "R12"
	}
	idx := []string{"", "AX*1", "AX*2", "BX*1", "AX*4", "R11*1", "BX*2"}[r%7]
	if idx == "" {
		return mem(off, base)
	}
	return mem(off, base, idx)
}

// genSgemmKernel emits one kernel.
//
// Registers: SI = A panel, DI = B panel, R8 = ldb (bytes), DX = C,
// R9 = ldc (bytes), R10 = kargs, CX = loop counter, R11 = C row pointer,
// R12 = bias pointer, R13 = flags.
// AVX-512: acc = Z0..Z(rows*nv-1), B = Z28/Z29, broadcast = Z30/Z31, K1 = lane
// mask of the last column vector (edge kernels).
// AVX2: acc = Y0..Y11, B = Y12/Y13, broadcast = Y14, Y15 = lane mask (edge).
//
// Direct kernels read A in place instead of from a packed panel: a points
// at row 0, column k0 of a row-major A with rows lda bytes apart (saves
// packing A when it is not transposed).
func genSgemmKernel(f *file, s sgemmISA, mr, nv int, edge, direct bool) {
	name := sgemmName(s, mr, nv, edge, direct)
	R := s.reg
	acc := func(r, v int) string { return R(r*nv + v) }
	var bReg [2]string
	var bc [2]string
	var mask string
	if s.name != "avx2" {
		bReg = [2]string{"Z28", "Z29"}
		bc = [2]string{"Z30", "Z31"}
		mask = "K1"
	} else {
		bReg = [2]string{"Y12", "Y13"}
		bc = [2]string{"Y14", "Y14"}
		mask = "Y15"
	}
	lastMasked := func(v int) bool { return edge && v == nv-1 }
	// loadV loads vector v at address addr into dst, masked when needed.
	loadV := func(v int, addr, dst string) {
		if !lastMasked(v) {
			f.i("VMOVUPS %s, %s", addr, dst)
			return
		}
		if s.name != "avx2" {
			f.i("VMOVUPS.Z %s, %s, %s", addr, mask, dst)
		} else {
			f.i("VMASKMOVPS %s, %s, %s", addr, mask, dst)
		}
	}
	storeV := func(v int, src, addr string) {
		if !lastMasked(v) {
			f.i("VMOVUPS %s, %s", src, addr)
			return
		}
		if s.name != "avx2" {
			f.i("VMOVUPS %s, %s, %s", src, mask, addr)
		} else {
			f.i("VMASKMOVPS %s, %s, %s", src, mask, addr)
		}
	}

	f.p("")
	if direct {
		f.p("// func %s(k int, a *float32, lda uintptr, b *float32, ldb uintptr, c *float32, ldc uintptr, ep *kargs)", name)
	} else {
		f.p("// func %s(k int, a, b *float32, ldb uintptr, c *float32, ldc uintptr, ep *kargs)", name)
	}
	f.p("// %d rows x %d columns%s%s.", mr, nv*s.vec, map[bool]string{true: ", last column vector masked", false: ""}[edge],
		map[bool]string{true: ", A read in place", false: ""}[direct])
	if direct {
		f.p("TEXT ·%s(SB), NOSPLIT, $0-64", name)
		f.i("MOVQ k+0(FP), CX")
		f.i("MOVQ a+8(FP), SI")
		f.i("MOVQ b+24(FP), DI")
		f.i("MOVQ ldb+32(FP), R8")
		f.i("MOVQ c+40(FP), DX")
		f.i("MOVQ ldc+48(FP), R9")
		f.i("MOVQ ep+56(FP), R10")
	} else {
		f.p("TEXT ·%s(SB), NOSPLIT, $0-56", name)
		f.i("MOVQ k+0(FP), CX")
		f.i("MOVQ a+8(FP), SI")
		f.i("MOVQ b+16(FP), DI")
		f.i("MOVQ ldb+24(FP), R8")
		f.i("MOVQ c+32(FP), DX")
		f.i("MOVQ ldc+40(FP), R9")
		f.i("MOVQ ep+48(FP), R10")
	}
	if edge {
		if s.name != "avx2" {
			f.i("KMOVW %d(R10), K1 // lanes of the last column vector", kaMask)
		} else {
			f.i("VMOVDQU %d(R10), Y15 // lanes of the last column vector", kaMaskV)
		}
	}
	// Touch the C tile early so its lines arrive during the k loop.
	f.i("MOVQ DX, R11")
	for r := 0; r < mr; r++ {
		f.i("PREFETCHT0 (R11)")
		if nv*s.vbytes > 64 {
			f.i("PREFETCHT0 %d(R11)", nv*s.vbytes-4)
		}
		if r < mr-1 {
			f.i("ADDQ R9, R11")
		}
	}
	if direct {
		f.i("MOVQ lda+16(FP), AX")
		f.i("LEAQ (AX)(AX*2), BX // 3*lda")
		f.i("LEAQ (AX)(AX*4), R11 // 5*lda")
		if mr > 7 {
			f.i("LEAQ (SI)(BX*2), R12")
			f.i("ADDQ AX, R12 // row 7")
		}
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			if s.name != "avx2" {
				f.i("VPXORD %s, %s, %s", acc(r, v), acc(r, v), acc(r, v))
			} else {
				f.i("VXORPS %s, %s, %s", acc(r, v), acc(r, v), acc(r, v))
			}
		}
	}
	// One k step: load the B row (nv vectors), then per row of A one
	// broadcast and nv FMAs.
	step := func(u int, bAddr func(v int) string) {
		for v := 0; v < nv; v++ {
			loadV(v, bAddr(v), bReg[v])
		}
		for r := 0; r < mr; r++ {
			aAddr := mem(u*4*mr+4*r, "SI")
			if direct {
				aAddr = directRow(4*u, r)
			}
			if s.name == "avx512bf16" {
				b := bc[r%2]
				f.i("VPBROADCASTD %s, %s // bf16 pair of row %d", aAddr, b, r)
				for v := 0; v < nv; v++ {
					f.rawBytes(evex(0x52, 2, 2, false, 2, r*nv+v, 28+v, 30+r%2),
						fmt.Sprintf("VDPBF16PS Z%d, Z%d, Z%d: acc += pairwise bf16 dot", 30+r%2, 28+v, r*nv+v))
				}
				continue
			}
			if nv == 1 && s.name == "avx512" {
				// Embedded broadcast: the FMA reads A[r] itself.
				f.i("VFMADD231PS.BCST %s, %s, %s", aAddr, bReg[0], acc(r, 0))
				continue
			}
			b := bc[r%2]
			f.i("VBROADCASTSS %s, %s", aAddr, b)
			for v := 0; v < nv; v++ {
				f.i("VFMADD231PS %s, %s, %s", bReg[v], b, acc(r, v))
			}
		}
	}
	// Prefetch pointer: kargs.pf, or this B panel when nil.
	f.i("MOVQ %d(R10), R14", kaPf)
	f.i("TESTQ R14, R14")
	f.i("CMOVQEQ DI, R14")
	f.i("MOVQ CX, R13")
	f.i("SHRQ $1, CX // k/2 double steps")
	f.i("JZ %s_tail", name)
	f.label(name + "_loop")
	// Two lines per double step; four for one- and two-row tiles, which
	// stream B as fast as they can load it (a GEMV: the next panel whole).
	pfLines := 2
	if mr <= 2 {
		pfLines = 4
	}
	step(0, func(v int) string { return mem(v*s.vbytes, "DI") })
	for l := 0; l < pfLines; l++ {
		f.i("PREFETCHT0 %s", mem(64*l, "R14"))
	}
	step(1, func(v int) string { return mem(v*s.vbytes, "DI", "R8*1") })
	f.i("ADDQ $%d, R14", 64*pfLines)
	if direct {
		f.i("ADDQ $8, SI")
		if mr > 7 {
			f.i("ADDQ $8, R12")
		}
	} else {
		f.i("ADDQ $%d, SI", 8*mr)
	}
	f.i("LEAQ (DI)(R8*2), DI")
	f.i("DECQ CX")
	f.i("JNZ %s_loop", name)
	f.label(name + "_tail")
	f.i("TESTQ $1, R13")
	f.i("JZ %s_epi", name)
	step(0, func(v int) string { return mem(v*s.vbytes, "DI") })
	f.label(name + "_epi")
	f.i("MOVQ %d(R10), R13 // flags", kaFlags)
	all := func(fn func(a string)) {
		for r := 0; r < mr; r++ {
			for v := 0; v < nv; v++ {
				fn(acc(r, v))
			}
		}
	}
	// alpha
	f.i("TESTQ $%d, R13", flAlpha)
	f.i("JZ %s_noalpha", name)
	f.i("VBROADCASTSS %d(R10), %s", kaAlpha, bc[0])
	all(func(a string) { f.i("VMULPS %s, %s, %s", bc[0], a, a) })
	f.label(name + "_noalpha")
	// beta * C
	f.i("TESTQ $%d, R13", flLoadC)
	f.i("JZ %s_noc", name)
	f.i("VBROADCASTSS %d(R10), %s", kaBeta, bc[0])
	f.i("MOVQ DX, R11")
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			addr := mem(v*s.vbytes, "R11")
			if lastMasked(v) {
				loadV(v, addr, bReg[v])
				f.i("VFMADD231PS %s, %s, %s", bReg[v], bc[0], acc(r, v))
			} else {
				f.i("VFMADD231PS %s, %s, %s", addr, bc[0], acc(r, v))
			}
		}
		if r < mr-1 {
			f.i("ADDQ R9, R11")
		}
	}
	f.label(name + "_noc")
	// row bias
	f.i("TESTQ $%d, R13", flRowBias)
	f.i("JZ %s_norb", name)
	f.i("MOVQ %d(R10), R12", kaRowBias)
	for r := 0; r < mr; r++ {
		if s.name != "avx2" {
			for v := 0; v < nv; v++ {
				f.i("VADDPS.BCST %s, %s, %s", mem(4*r, "R12"), acc(r, v), acc(r, v))
			}
		} else {
			f.i("VBROADCASTSS %s, %s", mem(4*r, "R12"), bc[0])
			for v := 0; v < nv; v++ {
				f.i("VADDPS %s, %s, %s", bc[0], acc(r, v), acc(r, v))
			}
		}
	}
	f.label(name + "_norb")
	// column bias
	f.i("TESTQ $%d, R13", flColBias)
	f.i("JZ %s_nocb", name)
	f.i("MOVQ %d(R10), R12", kaColBias)
	for v := 0; v < nv; v++ {
		loadV(v, mem(v*s.vbytes, "R12"), bReg[v])
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			f.i("VADDPS %s, %s, %s", bReg[v], acc(r, v), acc(r, v))
		}
	}
	f.label(name + "_nocb")
	// clamp; max/min with acc as the second source so NaN propagates.
	f.i("TESTQ $%d, R13", flClamp)
	f.i("JZ %s_store", name)
	lo, hi := bc[0], bReg[1]
	if s.name != "avx2" {
		hi = bc[1]
	}
	f.i("VBROADCASTSS %d(R10), %s", kaLo, lo)
	f.i("VBROADCASTSS %d(R10), %s", kaHi, hi)
	all(func(a string) {
		f.i("VMAXPS %s, %s, %s", a, lo, a)
		f.i("VMINPS %s, %s, %s", a, hi, a)
	})
	f.label(name + "_store")
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			storeV(v, acc(r, v), mem(v*s.vbytes, "DX"))
		}
		if r < mr-1 {
			f.i("ADDQ R9, DX")
		}
	}
	f.i("VZEROUPPER")
	f.i("RET")
}

func genSgemm(out map[string][]byte) {
	stubs := newGoFile("amd64 && !purego", "gemm", "unsafe")
	stubs.p("var _ unsafe.Pointer")
	for _, s := range []sgemmISA{isa512, isa256, isaBF16} {
		f := newAsmFile("amd64 && !purego")
		f.p("")
		f.p("// %s FP32 GEMM micro-kernels: up to %d rows x %d columns, accumulators in", s.name, s.maxMR, s.maxNV*s.vec)
		f.p("// registers, broadcast A, vector loads of B, FMA. See _asm/sgemm.go.")
		stubs.p("")
		stubs.p("// %s FP32 micro-kernels, indexed [rows][vectors][edge].", s.name)
		stubs.p("var sgemmKernels_%s = [%d][%d][2]sgemmFunc{", s.name, s.maxMR+1, s.maxNV+1)
		for mr := 1; mr <= s.maxMR; mr++ {
			stubs.p("\t%d: {", mr)
			for nv := 1; nv <= s.maxNV; nv++ {
				genSgemmKernel(f, s, mr, nv, false, false)
				genSgemmKernel(f, s, mr, nv, true, false)
				stubs.p("\t\t%d: {%s, %s},", nv, sgemmName(s, mr, nv, false, false), sgemmName(s, mr, nv, true, false))
			}
			stubs.p("\t},")
		}
		stubs.p("}")
		if s.name != "avx512bf16" {
			stubs.p("")
			stubs.p("// %s FP32 micro-kernels reading A in place, indexed [rows][vectors][edge].", s.name)
			stubs.p("var sgemmKernelsDirect_%s = [%d][%d][2]sgemmDirectFunc{", s.name, s.maxMR+1, s.maxNV+1)
			for mr := 1; mr <= s.maxMR; mr++ {
				stubs.p("\t%d: {", mr)
				for nv := 1; nv <= s.maxNV; nv++ {
					genSgemmKernel(f, s, mr, nv, false, true)
					genSgemmKernel(f, s, mr, nv, true, true)
					stubs.p("\t\t%d: {%s, %s},", nv, sgemmName(s, mr, nv, false, true), sgemmName(s, mr, nv, true, true))
				}
				stubs.p("\t},")
			}
			stubs.p("}")
		}
		out[fmt.Sprintf("impl/gemm/sgemm_%s_amd64.s", s.name)] = f.bytes()
		for mr := 1; mr <= s.maxMR; mr++ {
			for nv := 1; nv <= s.maxNV; nv++ {
				for _, e := range []bool{false, true} {
					stubs.p("")
					stubs.p("//go:noescape")
					stubs.p("func %s(k int, a, b *float32, ldb uintptr, c *float32, ldc uintptr, ep *kargs)", sgemmName(s, mr, nv, e, false))
					if s.name != "avx512bf16" {
						stubs.p("")
						stubs.p("//go:noescape")
						stubs.p("func %s(k int, a *float32, lda uintptr, b *float32, ldb uintptr, c *float32, ldc uintptr, ep *kargs)", sgemmName(s, mr, nv, e, true))
					}
				}
			}
		}
	}
	out["impl/gemm/sgemm_kernels_amd64.go"] = stubs.bytes()
}
