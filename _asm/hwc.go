package main

import "fmt"

// Channels-last (NHWC) depthwise 3x3 convolution kernels for
// impl/depthwise ConvHWC, AVX-512: register-blocked direct convolution.
//
// A call computes `blocks` consecutive 16-channel blocks (one 64-byte line
// of a pixel each) over output rows [oy0, oy1), in chunks of `kchunk`
// blocks: a chunk walks the output rows, and each pass (one or two output
// rows) computes its rows for every block of the chunk, reloading the 9
// filter vectors and the bias per block (Z0..Z8, Z9). A pass's input rows
// of the chunk's blocks stay in L1 for the next pass (a row-outer order
// over all channels measured 1.7x slower on 384ch@14: three input rows of
// every channel do not fit), and a chunk of 4 reads 256 contiguous bytes
// per pixel, which the hardware prefetchers follow when the input is not
// in L2 (block by block, the lines of a block are 4*C bytes apart: a
// different page every pixel or two). Per pass the input rows
// iy = oy*SH - PT + ky*DH are computed once (a row outside [0, H) is a
// null pointer and its taps are skipped, not multiplied by zeros, so an Inf
// or NaN weight does not poison border outputs), and the row's outputs go
// in groups of up to hwcMaxG pixels listed in a table the Go side fills
// once per call (hwcGroup: input and output byte offsets, width, slot
// columns).
//
// A group of G outputs at column stride S reads the S*(G-1)+3 input
// columns of each valid input row once, as they come: column j is loaded
// into a scratch register and feeds every output whose window holds it
// (stride 1: three FMAs, so 10 loads for 24 FMAs per row of an 8-wide
// group; stride 2: two FMAs for even, one for odd columns). Each output
// still sums bias, then taps in (ky, kx) row-major order.
//
// Pairs: when rows are not dilated and SH = SW = S (args.pair), two output
// rows are computed per pass from the 3+S input rows they read: each input
// column is loaded once for both (stride 1: 4 rows of loads instead of 6;
// stride 2: 5 instead of 6), and the 2G independent accumulator chains
// cover the FMA latency of both FMA pipes even for 7-wide rows. A pair pass
// also prefetches the next block's line of every pixel it loads (the next
// block of the chunk, or the first of the next chunk). The last row of an
// odd count (and dilated or unequally strided rows) take single-row
// passes.
//
// Packing (hwc3x3s1_pack_avx512, chunks of one block): when 4*C is a
// multiple of 1024 a block's lines fall in at most 4 of L1's 64 sets and
// its input rows do not survive from one pass to the next; this kernel
// copies each block's input pixels to a contiguous buffer (64 bytes per
// pixel; the first block up front, each next one a chunk of pixels per
// pass while the current one computes, into the other of two buffers) and
// reads its columns at immediate offsets. See impl/depthwise hwc_amd64.go
// for when it runs.
//
// Padding columns: with PL, PR <= 2 only the first two and the last two
// columns of a group can fall outside the row. These four "slot" columns
// are accumulated with merge-masking by K1..K4 (0xffff or 0 per column,
// from the table; a masked-off FMA leaves the accumulator alone) and loaded
// through their own byte offsets from the row (DI, R13, R14, R15), which
// the table clamps into the row: a padding column reads a pixel of its
// row, whose values the mask then drops. (A zero-masked load at the
// padding address itself would not fault, but the two pixels before the
// image and after it may lie in a page that is not present, and such a
// load costs a microcode assist every time: 960ch@7 ran at 35 GFLOP/s
// instead of 190 when the allocations fell that way.) The Go side checks
// that every other column is inside the row.
//
// Epilogue: acc = min(max(acc, lo), hi) with acc as the second (Intel)
// source of VMAXPS / VMINPS, so a NaN accumulator stays NaN.

const (
	hwcMaxG      = 8  // outputs per group
	hwcMaxGroups = 16 // groups per row (OW <= 128)
	hwcGroupSize = 64 // bytes per hwcGroup
)

var hwcFields = []argField{
	{"x", "*float32", 0, "input pixel 0 at the first channel block"},
	{"w", "*float32", 8, "packed weights (tap-major) at the first channel block"},
	{"bias", "*float32", 16, "bias at the first channel block, or nil (zero)"},
	{"out", "*float32", 24, "output pixel 0 at the first channel block"},
	{"groups", "*hwcGroup", 32, "a row's groups"},
	{"ngroups", "int", 40, "number of groups (>= 1)"},
	{"blocks", "int", 48, "16-channel blocks"},
	{"cb", "uintptr", 56, "bytes per pixel (4*C), also between taps of the weights"},
	{"rs", "uintptr", 64, "bytes per input row"},
	{"tapStep", "uintptr", 72, "bytes between the input rows of consecutive kernel rows (DH*rs)"},
	{"ors", "uintptr", 80, "bytes per output row"},
	{"h", "int", 88, "input rows"},
	{"sh", "int", 96, "row stride"},
	{"dh", "int", 104, "row dilation"},
	{"pt", "int", 112, "top padding"},
	{"oy0", "int", 120, "first output row"},
	{"oy1", "int", 128, "end of the output rows"},
	{"lo", "float32", 136, "clamp"},
	{"hi", "float32", 140, "clamp"},
	{"pair", "int", 144, "1: two output rows per pass (rows not dilated, SH = SW)"},
	{"buf0", "*float32", 152, "packed input of even blocks (npix*16 floats; nil: unpacked kernel)"},
	{"buf1", "*float32", 160, "packed input of odd blocks"},
	{"npix", "int", 168, "input pixels (H*W)"},
	{"chunk", "int", 176, "pixels of the next block packed per pass"},
	{"kchunk", "int", 184, "channel blocks per chunk (>= 1; 1 for the packing kernel)"},
}

func hwcOff(name string) int { return fieldOff(hwcFields, name) }

func hwcName(stride int, pack bool) string {
	if pack {
		return fmt.Sprintf("hwc3x3s%d_pack_avx512", stride)
	}
	return fmt.Sprintf("hwc3x3s%d_avx512", stride)
}

// hwcKernels are the generated (stride, packed) kernels: packing pays
// only at stride 1 (see impl/depthwise hwc_amd64.go).
var hwcKernels = []struct {
	stride int
	pack   bool
}{{1, false}, {2, false}, {1, true}}

// hwcPack is the kernel being generated packs its blocks.
var hwcPack bool

// hwcSlotCols are the columns of a G-wide group at stride s that may be
// padding, in mask-slot order (K1..K4); a column listed twice takes the
// first slot.
func hwcSlotCols(g, s int) [4]int {
	return [4]int{0, 1, s*(g-1) + 1, s*(g-1) + 2}
}

// scaled addressing: offsets (in pixels) reachable from a base register
// with DX = cb and BX = 3*cb.
var hwcIdx = map[int]string{1: "(DX*1)", 2: "(DX*2)", 3: "(BX*1)", 4: "(DX*4)", 6: "(BX*2)", 8: "(DX*8)"}

// hwcAddr returns the address of pixel k relative to the pixel reg points
// at (*cur), rebasing reg by 4 pixels (LEAQ) while k is out of reach.
func hwcAddr(f *file, reg string, cur *int, k int) string {
	for {
		d := k - *cur
		if d == 0 {
			return "(" + reg + ")"
		}
		if ix, ok := hwcIdx[d]; ok {
			return "(" + reg + ")" + ix
		}
		f.i("LEAQ (%s)(DX*4), %s", reg, reg)
		*cur += 4
	}
}

// Registers: CX oy, DX cb, BX 3*cb, R8/R9/R10(/R11/AX) the input rows of
// the pass at the block (0: outside the map), R12 group, SI column pointer
// (then output pointer), DI/R13/R14/R15 the slot columns' offsets; AX is
// the args pointer outside the group loop (reloaded from the frame). In the
// frame: the chunk's first block, its block count and the block in it, the
// end of the groups, input and output pixel 0 of the chunk, the pass's
// input rows and output row(s) at the chunk and at the block, the packing
// state. Vectors: weights Z0..Z8 (tap ky*3+kx), bias Z9, lo Z10, hi Z11,
// accumulators Z12.. (output row A, then row B of a pair), scratch
// Z28..Z31.
// hwcPackN copies R14 pixels' lines from SI (4*C bytes apart: DX = cb,
// BX = 3*cb) to DI (contiguous), advancing SI and DI.
func hwcPackN(f *file, l string) {
	f.label(l + "_p4")
	f.i("CMPQ R14, $4")
	f.i("JLT %s_p1", l)
	for k, ix := range []string{"", "(DX*1)", "(DX*2)", "(BX*1)"} {
		f.i("VMOVUPS (SI)%s, %s", ix, z(28+k))
	}
	for k := 0; k < 4; k++ {
		f.i("VMOVUPS %s, %d(DI)", z(28+k), 64*k)
	}
	f.i("LEAQ (SI)(DX*4), SI")
	f.i("ADDQ $256, DI")
	f.i("SUBQ $4, R14")
	f.i("JMP %s_p4", l)
	f.label(l + "_p1")
	f.i("TESTQ R14, R14")
	f.i("JEQ %s_pdone", l)
	f.i("VMOVUPS (SI), Z28")
	f.i("VMOVUPS Z28, (DI)")
	f.i("ADDQ DX, SI")
	f.i("ADDQ $64, DI")
	f.i("DECQ R14")
	f.i("JMP %s_p1", l)
	f.label(l + "_pdone")
}

// hwcPackChunk packs up to n (a memory operand) more pixels of the next
// block (state in the frame).
func hwcPackChunk(f *file, l, n string) {
	f.i("MOVQ pkLeft-72(SP), R13")
	f.i("TESTQ R13, R13")
	f.i("JEQ %s_skip", l)
	f.i("MOVQ %s, R14", n)
	f.i("CMPQ R14, R13")
	f.i("CMOVQGT R13, R14")
	f.i("SUBQ R14, R13")
	f.i("MOVQ R13, pkLeft-72(SP)")
	f.i("MOVQ pkSrc-56(SP), SI")
	f.i("MOVQ pkDst-64(SP), DI")
	hwcPackN(f, l)
	f.i("MOVQ SI, pkSrc-56(SP)")
	f.i("MOVQ DI, pkDst-64(SP)")
	f.label(l + "_skip")
}

func genHWC3(f *file, stride int) {
	name := hwcName(stride, hwcPack)
	a := func(field string) string { return mem(hwcOff(field), "AX") }
	rowSlot := func(k int) string { return fmt.Sprintf("row%d-%d(SP)", k, 112+8*k) }

	f.p("")
	f.p("// func %s(a *hwcArgs)", name)
	f.p("TEXT ·%s(SB), NOSPLIT, $144-8", name)
	f.i("MOVQ a+0(FP), AX")
	f.i("CMPQ %s, $0", a("blocks"))
	f.i("JLE %s_done", name)
	f.i("MOVQ %s, CX", a("oy0"))
	f.i("CMPQ CX, %s", a("oy1"))
	f.i("JGE %s_done", name)
	f.i("MOVQ %s, DX", a("cb"))
	f.i("LEAQ (DX)(DX*2), BX")
	f.i("MOVQ %s, SI", a("ngroups"))
	f.i("SHLQ $%d, SI", 6)
	f.i("ADDQ %s, SI", a("groups"))
	f.i("MOVQ SI, gend-16(SP)")
	f.i("VBROADCASTSS %s, Z10", a("lo"))
	f.i("VBROADCASTSS %s, Z11", a("hi"))
	f.i("MOVQ $0, cblk-8(SP)")

	// A chunk of kn = min(kchunk, blocks left) blocks walks the output
	// rows; each pass computes its rows for every block of the chunk.
	f.label(name + "_chunk")
	f.i("MOVQ %s, SI", a("blocks"))
	f.i("SUBQ cblk-8(SP), SI")
	f.i("MOVQ %s, DI", a("kchunk"))
	f.i("CMPQ DI, SI")
	f.i("CMOVQGT SI, DI")
	f.i("MOVQ DI, kn-80(SP)")
	f.i("MOVQ cblk-8(SP), R15")
	f.i("SHLQ $6, R15 // byte offset of the chunk")
	if hwcPack {
		// kchunk is 1: the chunk is block cblk, packed into
		// buf[cblk&1] (the first one here, the others while the
		// previous block computed).
		f.i("MOVQ %s, DI", a("buf0"))
		f.i("MOVQ cblk-8(SP), SI")
		f.i("TESTQ $1, SI")
		f.i("CMOVQNE %s, DI // this block's packed input: buf[blk&1]", a("buf1"))
		f.i("MOVQ DI, xb-24(SP)")
		f.i("TESTQ SI, SI")
		f.i("JNE %s_havecur", name)
		f.i("MOVQ %s, SI", a("x"))
		f.i("ADDQ R15, SI")
		f.i("MOVQ %s, R14", a("npix"))
		hwcPackN(f, name+"_first")
		f.label(name + "_havecur")
		f.i("MOVQ $0, pkLeft-72(SP)")
		f.i("MOVQ cblk-8(SP), SI")
		f.i("INCQ SI")
		f.i("CMPQ SI, %s", a("blocks"))
		f.i("JGE %s_nonext", name)
		f.i("MOVQ %s, SI", a("x"))
		f.i("LEAQ 64(SI)(R15*1), SI")
		f.i("MOVQ SI, pkSrc-56(SP) // the next block's input")
		f.i("MOVQ %s, DI", a("buf0"))
		f.i("MOVQ xb-24(SP), SI")
		f.i("CMPQ SI, DI")
		f.i("CMOVQEQ %s, DI // the other buffer", a("buf1"))
		f.i("MOVQ DI, pkDst-64(SP)")
		f.i("MOVQ %s, SI", a("npix"))
		f.i("MOVQ SI, pkLeft-72(SP)")
		f.label(name + "_nonext")
	} else {
		f.i("MOVQ %s, SI", a("x"))
		f.i("ADDQ R15, SI")
		f.i("MOVQ SI, xb-24(SP)")
	}
	f.i("ADDQ %s, R15", a("out"))
	f.i("MOVQ R15, ob-32(SP)")
	f.i("MOVQ %s, CX", a("oy0"))

	f.label(name + "_row")
	if hwcPack {
		hwcPackChunk(f, name+"_pass", a("chunk"))
	}
	f.i("LEAQ 1(CX), SI")
	f.i("CMPQ SI, %s", a("oy1"))
	f.i("JGE %s_single", name)
	f.i("CMPQ %s, $0", a("pair"))
	f.i("JNE %s_pair", name)

	// inner emits the loop over the chunk's blocks of one pass: the
	// block's filters and bias, its n row pointers (the chunk's, from the
	// frame, moved to the block unless null), its output row(s), then the
	// groups.
	inner := func(mode string, rows []string, nout int, pair bool) {
		l := name + "_" + mode
		f.i("MOVQ $0, bi-88(SP)")
		f.label(l + "_inner")
		f.i("MOVQ a+0(FP), AX")
		f.i("MOVQ cblk-8(SP), R15")
		f.i("ADDQ bi-88(SP), R15")
		f.i("SHLQ $6, R15 // byte offset of the block")
		f.i("MOVQ %s, SI", a("w"))
		f.i("ADDQ R15, SI")
		cur := 0
		for t := 0; t < 9; t++ {
			f.i("VMOVUPS %s, %s", hwcAddr(f, "SI", &cur, t), z(t))
		}
		f.i("MOVQ %s, SI", a("bias"))
		f.i("TESTQ SI, SI")
		f.i("JEQ %s_nobias", l)
		f.i("VMOVUPS (SI)(R15*1), Z9")
		f.i("JMP %s_bias", l)
		f.label(l + "_nobias")
		f.i("VPXORD Z9, Z9, Z9")
		f.label(l + "_bias")
		f.i("MOVQ bi-88(SP), R15")
		f.i("SHLQ $6, R15 // byte offset of the block in the chunk")
		f.i("MOVQ orowb-96(SP), SI")
		f.i("ADDQ R15, SI")
		f.i("MOVQ SI, orow-40(SP)")
		if nout == 2 {
			f.i("MOVQ orow2b-104(SP), SI")
			f.i("ADDQ R15, SI")
			f.i("MOVQ SI, orow2-48(SP)")
		}
		f.i("MOVQ %s, R12", a("groups"))
		for k, r := range rows {
			f.i("MOVQ %s, %s", rowSlot(k), r)
			f.i("LEAQ (%s)(R15*1), SI", r)
			f.i("TESTQ %s, %s", r, r)
			f.i("CMOVQNE SI, %s", r)
		}
		genHWCGroups(f, name, stride, pair)
		f.label(l + "_end")
		f.i("MOVQ bi-88(SP), SI")
		f.i("INCQ SI")
		f.i("MOVQ SI, bi-88(SP)")
		f.i("CMPQ SI, kn-80(SP)")
		f.i("JLT %s_inner", l)
		f.i("MOVQ a+0(FP), AX")
	}

	// One output row: kernel rows at iy = oy*SH - PT + ky*DH.
	f.label(name + "_single")
	f.i("MOVQ CX, SI")
	f.i("IMULQ %s, SI", a("sh"))
	f.i("SUBQ %s, SI // iy of kernel row 0", a("pt"))
	f.i("MOVQ SI, R8")
	f.i("IMULQ %s, R8", a("rs"))
	f.i("ADDQ xb-24(SP), R8")
	f.i("LEAQ (R8), R9")
	f.i("ADDQ %s, R9", a("tapStep"))
	f.i("LEAQ (R9), R10")
	f.i("ADDQ %s, R10", a("tapStep"))
	f.i("XORQ DI, DI")
	for k, r := range []string{"R8", "R9", "R10"} {
		f.i("CMPQ SI, %s", a("h"))
		f.i("CMOVQCC DI, %s // null unless 0 <= iy < H", r)
		f.i("MOVQ %s, %s", r, rowSlot(k))
		if k < 2 {
			f.i("ADDQ %s, SI", a("dh"))
		}
	}
	f.i("MOVQ CX, SI")
	f.i("IMULQ %s, SI", a("ors"))
	f.i("ADDQ ob-32(SP), SI")
	f.i("MOVQ SI, orowb-96(SP)")
	inner("s", []string{"R8", "R9", "R10"}, 1, false)
	f.i("INCQ CX")
	f.i("JMP %s_rowend", name)

	// Two output rows: input rows iy0 .. iy0+S+2, iy0 = oy*S - PT.
	f.label(name + "_pair")
	prow := []string{"R8", "R9", "R10", "R11", "AX"}[:3+stride]
	f.i("MOVQ CX, SI")
	f.i("IMULQ %s, SI", a("sh"))
	f.i("SUBQ %s, SI // iy of the first input row", a("pt"))
	f.i("MOVQ SI, R8")
	f.i("IMULQ %s, R8", a("rs"))
	f.i("ADDQ xb-24(SP), R8")
	f.i("MOVQ %s, DI", a("rs"))
	f.i("MOVQ %s, R13", a("h"))
	f.i("XORQ R14, R14")
	for k := range prow {
		if k > 0 {
			f.i("ADDQ DI, R8")
		}
		f.i("MOVQ R8, R12")
		f.i("CMPQ SI, R13")
		f.i("CMOVQCC R14, R12 // null unless 0 <= iy < H")
		f.i("MOVQ R12, %s", rowSlot(k))
		f.i("INCQ SI")
	}
	f.i("MOVQ CX, R13")
	f.i("IMULQ %s, R13", a("ors"))
	f.i("ADDQ ob-32(SP), R13")
	f.i("MOVQ R13, orowb-96(SP)")
	f.i("ADDQ %s, R13", a("ors"))
	f.i("MOVQ R13, orow2b-104(SP)")
	inner("p", prow, 2, true)
	f.i("ADDQ $2, CX")

	f.label(name + "_rowend")
	f.i("CMPQ CX, %s", a("oy1"))
	f.i("JLT %s_row", name)
	if hwcPack {
		hwcPackChunk(f, name+"_flush", a("npix"))
	}
	f.i("MOVQ cblk-8(SP), SI")
	f.i("ADDQ kn-80(SP), SI")
	f.i("MOVQ SI, cblk-8(SP)")
	f.i("CMPQ SI, %s", a("blocks"))
	f.i("JLT %s_chunk", name)
	f.label(name + "_done")
	f.i("VZEROUPPER")
	f.i("RET")
}

// genHWCGroups emits the group loop of a single-row or pair pass: the
// dispatch on the group width, then one body per width.
func genHWCGroups(f *file, name string, stride int, pair bool) {
	mode := "s"
	if pair {
		mode = "p"
	}
	l := name + "_" + mode
	f.label(l + "_group")
	f.i("MOVQ 56(R12), DI")
	for g := hwcMaxG; g > 1; g-- {
		f.i("CMPQ DI, $%d", g)
		f.i("JEQ %s_g%d", l, g)
	}
	for g := 1; g <= hwcMaxG; g++ {
		if g > 1 {
			f.label(fmt.Sprintf("%s_g%d", l, g))
		}
		genHWCGroup(f, l, stride, g, pair)
	}
}

// genHWCGroup emits one G-wide group: bias start, the input rows (skipped
// when null), clamp and store, then the jump to the next group.
func genHWCGroup(f *file, l string, stride, g int, pair bool) {
	slots := hwcSlotCols(g, stride)
	slotOf := func(j int) int {
		for s, c := range slots {
			if c == j {
				return s
			}
		}
		return -1
	}
	slotReg := []string{"DI", "R13", "R14", "R15"}
	used := map[int]bool{}
	ncols := stride*(g-1) + 3
	for j := 0; j < ncols; j++ {
		if s := slotOf(j); s >= 0 && !used[s] {
			used[s] = true
			f.i("KMOVW %d(R12), K%d", 48+2*s, s+1)
			f.i("MOVQ %d(R12), %s", 16+8*s, slotReg[s])
		}
	}
	rows := []string{"R8", "R9", "R10"}
	nout := 1
	if pair {
		rows = []string{"R8", "R9", "R10", "R11", "AX"}[:3+stride]
		nout = 2
	}
	acc := func(row, o int) string { return z(12 + row*g + o) }
	for row := 0; row < nout; row++ {
		for o := 0; o < g; o++ {
			f.i("VMOVAPS Z9, %s", acc(row, o))
		}
	}
	for r, rr := range rows {
		skip := fmt.Sprintf("%s_g%d_r%d", l, g, r)
		f.i("TESTQ %s, %s", rr, rr)
		f.i("JEQ %s", skip)
		if ncols > 4 {
			f.i("MOVQ 0(R12), SI")
			f.i("ADDQ %s, SI // the group's first column", rr)
		}
		cur := 0
		// Pair passes prefetch the next block's line of every pixel they
		// load (against none, 1 thread, minima of two noisy runs of 4
		// and 8: 1-13% faster on the four BenchmarkHWC shapes).
		pf := pair && !hwcPack
		for j := 0; j < ncols; j++ {
			t := z(28 + j%4)
			k := ""
			if s := slotOf(j); s >= 0 {
				k = fmt.Sprintf("K%d, ", s+1)
				f.i("VMOVUPS (%s)(%s*1), %s", rr, slotReg[s], t)
				if pf {
					f.i("PREFETCHT0 64(%s)(%s*1)", rr, slotReg[s])
				}
			} else {
				var ad string
				if hwcPack {
					ad = fmt.Sprintf("%d(SI)", 64*j)
				} else {
					ad = hwcAddr(f, "SI", &cur, j)
				}
				f.i("VMOVUPS %s, %s", ad, t)
				if pf {
					f.i("PREFETCHT0 64%s", ad)
				}
			}
			// Output row A uses input row r as kernel row r, row B
			// (pairs) as kernel row r - S.
			for row := 0; row < nout; row++ {
				ky := r - row*stride
				if ky < 0 || ky > 2 {
					continue
				}
				for kx := 0; kx < 3; kx++ {
					if j < kx || (j-kx)%stride != 0 {
						continue
					}
					o := (j - kx) / stride
					if o >= g {
						continue
					}
					f.i("VFMADD231PS %s, %s, %s%s", t, z(3*ky+kx), k, acc(row, o))
				}
			}
		}
		f.label(skip)
	}
	for row := 0; row < nout; row++ {
		f.i("MOVQ 8(R12), SI")
		f.i("ADDQ %s, SI // the group's first output", []string{"orow-40(SP)", "orow2-48(SP)"}[row])
		cur := 0
		for o := 0; o < g; o++ {
			f.i("VMAXPS %s, Z10, %s", acc(row, o), acc(row, o))
			f.i("VMINPS %s, Z11, %s", acc(row, o), acc(row, o))
			f.i("VMOVUPS %s, %s", acc(row, o), hwcAddr(f, "SI", &cur, o))
		}
	}
	f.i("ADDQ $%d, R12", hwcGroupSize)
	f.i("CMPQ R12, gend-16(SP)")
	f.i("JLT %s_group", l)
	f.i("JMP %s_end", l)
}

func genHWC(out map[string][]byte) {
	f := newAsmFile("amd64 && !purego")
	f.p("")
	f.p("// Channels-last depthwise 3x3 kernels, stride 1 and 2. See _asm/hwc.go.")
	for _, k := range hwcKernels {
		hwcPack = k.pack
		genHWC3(f, k.stride)
	}
	hwcPack = false
	g := newGoFile("amd64 && !purego", "depthwise")
	g.p("// Outputs per group, groups per row, and the bytes of one group of the")
	g.p("// channels-last 3x3 kernels (see _asm/hwc.go).")
	g.p("const (")
	g.p("\thwcMaxG = %d", hwcMaxG)
	g.p("\thwcMaxGroups = %d", hwcMaxGroups)
	g.p("\thwcGroupBytes = %d", hwcGroupSize)
	g.p(")")
	g.p("")
	g.p("// hwcGroup is one group of a row's outputs (%d bytes).", hwcGroupSize)
	g.p("type hwcGroup struct {")
	g.p("\txoff int // 0: byte offset of its first input column (S*ox0 - PL pixels) from the row")
	g.p("\tooff int // 8: byte offset of its first output from the row")
	g.p("\tsoff [4]int // 16: byte offsets from the row of the slot columns (hwcSlotCols), clamped into the row")
	g.p("\tmask [4]uint16 // 48: 0xffff (inside the row) or 0 per slot column")
	g.p("\tn int // 56: outputs, 1..hwcMaxG")
	g.p("}")
	g.p("")
	g.p("// hwcGroupOffsets are the offsets of hwcGroup's fields the assembly uses.")
	g.p("var hwcGroupOffsets = map[string]uintptr{\"xoff\": 0, \"ooff\": 8, \"soff\": 16, \"mask\": 48, \"n\": 56}")
	g.p("")
	g.p("// hwcSlotCols are the columns of an n-wide group at stride s that may be")
	g.p("// padding, in mask order (a column listed twice uses the first slot).")
	g.p("func hwcSlotCols(n, s int) [4]int { return [4]int{0, 1, s*(n-1) + 1, s*(n-1) + 2} }")
	g.p("")
	argBlock(g, "hwcArgs", "hwcOffsets", hwcFields)
	for _, k := range hwcKernels {
		g.p("")
		g.p("//go:noescape")
		g.p("func %s(a *hwcArgs)", hwcName(k.stride, k.pack))
	}
	out["impl/depthwise/hwc3_amd64.s"] = f.bytes()
	out["impl/depthwise/hwc3_amd64.go"] = g.bytes()
}
