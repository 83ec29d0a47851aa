package main

import "fmt"

// Depthwise 3x3 convolution kernels (impl/depthwise): float32 NCHW, one
// filter per channel, stride 1 or 2, dilation 1, any padding.
//
// A kernel call runs `planes` consecutive (n, c) planes of one image. For
// each plane it broadcasts the 9 weights and the bias, then for each output
// row oy points at the input rows iy = oy*S - PT + ky (a shared zero row
// when iy is outside [0, H)), and walks the output columns in blocks of V
// lanes (16 for AVX-512, 8 for AVX2):
//
//   - head blocks, masked: loads use per-block lane masks from the mask
//     table (padding columns read as zero; masked-off lanes are not read, so
//     nothing outside the row is touched) and the store is masked to the
//     row's OW columns;
//   - full blocks: every load inside the row, no masks;
//   - tail blocks, masked like the head.
//
// The caller (impl/depthwise/asm_amd64.go) classifies the blocks and fills
// the masks, so the kernel has no per-element bounds logic; padding rows
// and columns need no Go code either.
//
// Stride 1: tap kx of block b reads the V input columns starting at
// V*b - PL + kx, as FMA memory operands (AVX-512 masked blocks: merge-masked
// FMAs, so padding lanes add nothing). While two or more output rows are
// left the kernel computes two rows per pass from four input rows, loading
// the middle two once for both (12 loads, 18 FMAs per two blocks).
//
// Stride 2: the block reads the 2V+1 columns starting at c0 = 2V*b - PL.
// AVX-512: A = [c0, c0+16), B = [c0+16, c0+32); cross-lane VPERMI2PS /
// VPERMT2PS give tap 0 = even(A, B) and tap 1 = odd(A, B) in output order,
// and tap 2 is tap 0 moved down a lane (VALIGND) with column c0+32 on top,
// broadcast from memory in full blocks; masked blocks load B1 = B+1 instead
// and take its lane 15 (one more VPERMI2PS), so no load reaches a column
// the masks do not allow. That is two full-width loads per input row (three
// masked) instead of four: on this AMD EPYC (Zen 5) the kernel is bound by
// its unaligned 512-bit loads, not by the shuffles. While two or more
// output rows are left it computes two rows per pass from five input rows,
// deinterleaving the shared middle row once for both; each output keeps
// the one-row FMA order, so results are bit-identical either way.
// AVX2: A = [c0, c0+8), B = [c0+8, c0+16), A1 = A+1, B1 = B+1, in-lane
// VSHUFPS: tap 0 = even(A, B) (imm 0x88), tap 1 = odd(A, B) (0xdd), tap 2 =
// odd(A1, B1), leaving the outputs in pair order 0 2 1 3, the same for
// every tap, so the block is put back in order once, after the
// accumulation (VPERMPD).
//
// Epilogue: acc = min(max(acc, lo), hi) with acc as the second (Intel)
// source of VMAXPS / VMINPS, so a NaN accumulator stays NaN.
//
// Go signature: func(a *dwArgs).

// dwArgs layout; the struct is generated into impl/depthwise with these
// offsets and a test checks them against unsafe.Offsetof.
var dwFields = []argField{
	{"in", "*float32", 0, "first input plane"},
	{"out", "*float32", 8, "first output plane (planes are contiguous)"},
	{"w", "*float32", 16, "9 weights per plane"},
	{"bias", "*float32", 24, "bias of the first plane"},
	{"zero", "*float32", 32, "a row of at least W zeros (keeps zeroAdj's buffer alive)"},
	{"zeroAdj", "uintptr", 40, "zero - 4*PL: the zero row at block 0's first column"},
	{"planes", "int", 48, "number of planes"},
	{"inPlane", "uintptr", 56, "bytes between input planes"},
	{"rs", "uintptr", 64, "bytes between input rows"},
	{"ors", "uintptr", 72, "bytes between output rows (OW*4)"},
	{"h", "int", 80, "input height"},
	{"oh", "int", 88, "output height"},
	{"pt", "int", 96, "top padding"},
	{"colOff", "int", 104, "-PL*4: byte offset of block 0's first input column"},
	{"hEnd", "int", 112, "input byte offset (from block 0) ending the masked head blocks"},
	{"fEnd", "int", 120, "... the full blocks"},
	{"tEnd", "int", 128, "... the masked tail blocks"},
	{"biasStep", "uintptr", 136, "bytes between biases (0: one shared bias)"},
	{"lo", "float32", 144, "clamp"},
	{"hi", "float32", 148, "clamp"},
	{"mask", "[dwMaskBytes]byte", 152, "masks of the head then tail blocks, dwSlot512/dwSlot256 bytes each"},
	{"oy0", "int", 152 + dwMaxMasked*dwSlot256, "first output row of every plane (a row band: out then points at that row of a single plane)"},
}

const (
	dwMaxMasked = 8 // masked blocks per row
	// A mask slot holds up to 8 masks (AVX-512: uint16 each, AVX2: 8 int32
	// lanes each): stride 1 taps 0..2 at 0..2, stride 2 A, B, A1, B1 at
	// 0..3; the store mask at 4.
	dwSlot512 = 16
	dwSlot256 = 256
)

func dwOff(name string) int { return fieldOff(dwFields, name) }

type dwISA struct {
	name   string
	vec    int
	vbytes int
	reg    func(int) string
	slot   int
}

var dw512 = dwISA{"avx512", 16, 64, z, dwSlot512}
var dw256 = dwISA{"avx2", 8, 32, y, dwSlot256}

func dwName(s dwISA, stride int) string { return fmt.Sprintf("dw3x3s%d_%s", stride, s.name) }

// genDW emits one kernel.
//
// Registers: AX = args, CX = oy, DX = scratch, SI = input plane, R13 =
// output row, R8/R9/R10(/R11/DX) = the input rows of the current output row
// (pair; stride 2's fifth row takes DX), already offset by colOff, R14 = input byte offset of the block
// (the column loops run until it reaches hEnd / fEnd / tEnd), DI = output
// block, BX = ors (second row of a pair at (DI)(BX*1)), R12 = mask slot; the
// plane index lives in the frame.
// Vectors: weights V0..V8, bias V9, lo V10, hi V11; AVX-512: stride-2
// indices Z12 (even), Z13 (odd), Z27 (tap 2 of masked blocks),
// accumulators Z14/Z15/Z30 (two-row stride 2: also Z31/Z28/Z29), scratch
// from Z16; AVX2: accumulators and scratch Y12..Y15.
//
// Stride 1 computes two output rows per pass when at least two are left:
// they read four input rows, and the middle two are loaded once for both
// (12 loads and 18 FMAs per two blocks instead of 18 and 18).
func genDW(f *file, s dwISA, stride int) {
	name := dwName(s, stride)
	R := s.reg
	avx512 := s.name == "avx512"
	rowRegs := []string{"R8", "R9", "R10", "R11", "DX"}
	bias, lo, hi := R(9), R(10), R(11)
	wr := func(ky, kx int) string { return R(3*ky + kx) }
	inStep := s.vbytes * stride // input bytes per block
	a := func(field string) string { return mem(dwOff(field), "AX") }
	at := func(off int, row string) string { return mem(off, row, "R14*1") }
	maskK := func(m int) string { return fmt.Sprintf("K%d", m+1) }

	// clampStore clamps acc and stores it at dst, masked by the store mask
	// of the current slot when masked (AVX2: the mask is loaded into tmp).
	clampStore := func(acc, dst string, masked bool, tmp string) {
		f.i("VMAXPS %s, %s, %s", acc, lo, acc)
		f.i("VMINPS %s, %s, %s", acc, hi, acc)
		switch {
		case !masked:
			f.i("VMOVUPS %s, %s", acc, dst)
		case avx512:
			f.i("VMOVUPS %s, K5, %s", acc, dst)
		default:
			f.i("VMOVDQU %d(R12), %s", 32*4, tmp)
			f.i("VMASKMOVPS %s, %s, %s", acc, tmp, dst)
		}
	}
	loadMasks := func(masked bool, n int) {
		if masked && avx512 {
			for m := 0; m < n; m++ {
				f.i("KMOVW %d(R12), %s", 2*m, maskK(m))
			}
			f.i("KMOVW %d(R12), K5", 2*4)
		}
	}

	// s2taps (AVX-512 stride 2) loads the block's input columns of row r
	// and deinterleaves them into taps 0..2 in output order, returned
	// (t(0)..t(4): scratch). Cross-lane VPERMI2PS / VPERMT2PS with the
	// even / odd indices in Z12 / Z13 take taps 0 and 1 from A, B; tap 2 is
	// tap 0 moved down one lane with column c0+2V in the top lane: a
	// broadcast of that column in full blocks, lane 15 of B1 (masked, by
	// VPERMI2PS with the index in Z27) in masked ones. So a row costs two
	// (full) or three (masked) vector loads instead of four.
	s2taps := func(r string, masked bool, t func(int) string) [3]string {
		if masked {
			f.i("VMOVUPS.Z %s, K1, %s // A", at(0, r), t(0))
			f.i("VMOVUPS.Z %s, K2, %s // B", at(64, r), t(1))
			f.i("VMOVUPS.Z %s, K4, %s // B1", at(68, r), t(3))
		} else {
			f.i("VMOVUPS %s, %s // A", at(0, r), t(0))
			f.i("VMOVUPS %s, %s // B", at(64, r), t(1))
			f.i("VBROADCASTSS %s, %s // column c0+32", at(128, r), t(3))
		}
		f.i("VMOVAPS Z13, %s", t(2))
		f.i("VPERMI2PS %s, %s, %s // tap 1: odd(A, B)", t(1), t(0), t(2))
		f.i("VPERMT2PS %s, Z12, %s // tap 0: even(A, B)", t(1), t(0))
		if masked {
			f.i("VMOVAPS Z27, %s", t(4))
			f.i("VPERMI2PS %s, %s, %s // tap 2: tap 0 down a lane, B1[15] on top", t(3), t(0), t(4))
			return [3]string{t(0), t(2), t(4)}
		}
		f.i("VALIGND $1, %s, %s, %s // tap 2: tap 0 down a lane, column c0+32 on top", t(0), t(3), t(3))
		return [3]string{t(0), t(2), t(3)}
	}

	// block1 emits one block of V outputs of one row. The three filter
	// rows accumulate into up to three registers (the first starts at the
	// bias, the others with a multiply), summed before the clamp.
	block1 := func(masked bool) {
		var accs [3]string
		switch {
		case avx512:
			accs = [3]string{"Z14", "Z15", "Z30"}
		case stride == 1 && !masked:
			accs = [3]string{"Y12", "Y13", "Y14"}
		case stride == 2 && masked:
			accs = [3]string{"Y12", "Y12", "Y12"}
		default:
			accs = [3]string{"Y12", "Y13", "Y12"}
		}
		used := map[string]bool{accs[0]: true}
		f.i("VMOVAPS %s, %s", bias, accs[0])
		// fmaK accumulates src times the tap's weight; with a mask k the
		// lanes off keep the accumulator (a first multiply zeroes them):
		// padding contributes nothing, and a masked memory operand does not
		// fault.
		fmaK := func(src string, ky, kx int, k string) {
			acc := accs[ky]
			kk := ""
			if k != "" {
				kk = k + ", "
			}
			if !used[acc] {
				used[acc] = true
				if k != "" {
					f.i("VMULPS.Z %s, %s, %s%s", src, wr(ky, kx), kk, acc)
				} else {
					f.i("VMULPS %s, %s, %s", src, wr(ky, kx), acc)
				}
				return
			}
			f.i("VFMADD231PS %s, %s, %s%s", src, wr(ky, kx), kk, acc)
		}
		fma := func(src string, ky, kx int) { fmaK(src, ky, kx, "") }
		finish := func() {
			seen := map[string]bool{accs[0]: true}
			for _, a := range accs[1:] {
				if !seen[a] {
					seen[a] = true
					f.i("VADDPS %s, %s, %s", a, accs[0], accs[0])
				}
			}
		}
		acc := accs[0]
		rows := rowRegs[:3]
		if avx512 {
			if stride == 1 {
				loadMasks(masked, 3)
				for ky, r := range rows {
					for kx := 0; kx < 3; kx++ {
						if masked {
							fmaK(at(4*kx, r), ky, kx, maskK(kx))
						} else {
							fma(at(4*kx, r), ky, kx)
						}
					}
				}
			} else {
				loadMasks(masked, 4)
				for ky, r := range rows {
					// Taps in output order (s2taps): no final permute.
					t := func(i int) string { return z(16 + 5*(ky%2) + i) }
					taps := s2taps(r, masked, t)
					for kx := 0; kx < 3; kx++ {
						fma(taps[kx], ky, kx)
					}
				}
				finish()
				clampStore(acc, "(DI)", masked, "")
				return
			}
			finish()
			clampStore(acc, "(DI)", masked, "")
			return
		}
		// AVX2
		if stride == 1 {
			for ky, r := range rows {
				for kx := 0; kx < 3; kx++ {
					if masked {
						f.i("VMOVDQU %d(R12), Y14", 32*kx)
						f.i("VMASKMOVPS %s, Y14, Y15", at(4*kx, r))
						fma("Y15", ky, kx)
					} else {
						fma(at(4*kx, r), ky, kx)
					}
				}
			}
			finish()
			clampStore(acc, "(DI)", masked, "Y13")
			return
		}
		for ky, r := range rows {
			if masked {
				f.i("VMOVDQU 0(R12), Y15")
				f.i("VMASKMOVPS %s, Y15, Y13 // A", at(0, r))
				f.i("VMOVDQU 32(R12), Y15")
				f.i("VMASKMOVPS %s, Y15, Y14 // B", at(32, r))
				f.i("VSHUFPS $0x88, Y14, Y13, Y15 // tap 0: even, order 0 1 4 5 2 3 6 7")
				fma("Y15", ky, 0)
				f.i("VSHUFPS $0xdd, Y14, Y13, Y15 // tap 1: odd")
				fma("Y15", ky, 1)
				f.i("VMOVDQU 64(R12), Y15")
				f.i("VMASKMOVPS %s, Y15, Y13 // A1", at(4, r))
				f.i("VMOVDQU 96(R12), Y15")
				f.i("VMASKMOVPS %s, Y15, Y14 // B1", at(36, r))
				f.i("VSHUFPS $0xdd, Y14, Y13, Y15 // tap 2: odd of A1, B1")
				fma("Y15", ky, 2)
			} else {
				f.i("VMOVUPS %s, Y14 // A", at(0, r))
				f.i("VSHUFPS $0x88, %s, Y14, Y15 // tap 0: even, order 0 1 4 5 2 3 6 7", at(32, r))
				fma("Y15", ky, 0)
				f.i("VSHUFPS $0xdd, %s, Y14, Y15 // tap 1: odd", at(32, r))
				fma("Y15", ky, 1)
				f.i("VMOVUPS %s, Y14 // A1", at(4, r))
				f.i("VSHUFPS $0xdd, %s, Y14, Y15 // tap 2: odd of A1, B1", at(36, r))
				fma("Y15", ky, 2)
			}
		}
		finish()
		f.i("VPERMPD $0xd8, %s, %s // lanes back to 0..7", acc, acc)
		clampStore(acc, "(DI)", masked, "Y13")
	}

	// block2 emits one block of V outputs for two rows (stride 1): input
	// rows 0..3, output row A = taps of rows 0..2, row B = rows 1..3.
	block2 := func(masked bool) {
		accA, accB := R(14), R(15)
		if !avx512 {
			accA, accB = "Y12", "Y13"
		}
		f.i("VMOVAPS %s, %s", bias, accA)
		f.i("VMOVAPS %s, %s", bias, accB)
		loadMasks(masked, 3)
		for r, rr := range rowRegs[:4] {
			for kx := 0; kx < 3; kx++ {
				src := at(4*kx, rr)
				k := ""
				shared := r == 1 || r == 2
				switch {
				case avx512 && shared:
					t := z(16 + 3*(r-1) + kx)
					if masked {
						f.i("VMOVUPS.Z %s, %s, %s", src, maskK(kx), t)
					} else {
						f.i("VMOVUPS %s, %s", src, t)
					}
					src = t
				case avx512 && masked:
					k = maskK(kx) + ", "
				case !avx512 && masked:
					f.i("VMOVDQU %d(R12), Y15", 32*kx)
					f.i("VMASKMOVPS %s, Y15, Y14", src)
					src = "Y14"
				case !avx512 && shared:
					f.i("VMOVUPS %s, Y14", src)
					src = "Y14"
				}
				if r <= 2 {
					f.i("VFMADD231PS %s, %s, %s%s", src, wr(r, kx), k, accA)
				}
				if r >= 1 {
					f.i("VFMADD231PS %s, %s, %s%s", src, wr(r-1, kx), k, accB)
				}
			}
		}
		clampStore(accA, "(DI)", masked, "Y14")
		clampStore(accB, "(DI)(BX*1)", masked, "Y14")
	}

	// block2s2 emits one block of V outputs for two rows (AVX-512 stride
	// 2): input rows 0..4, output row A = taps of rows 0..2, row B = rows
	// 2..4; row 2 is loaded and deinterleaved once for both. Each output
	// row accumulates exactly as in block1 (bias + filter row 0, filter
	// rows 1 and 2 in their own registers, summed in that order), so the
	// results are bit-identical to one row per pass.
	block2s2 := func(masked bool) {
		accA := [3]string{"Z14", "Z15", "Z30"}
		accB := [3]string{"Z31", "Z28", "Z29"}
		loadMasks(masked, 4)
		f.i("VMOVAPS %s, %s", bias, accA[0])
		f.i("VMOVAPS %s, %s", bias, accB[0])
		for r := 0; r < 5; r++ {
			t := func(i int) string { return z(16 + 5*(r%2) + i) }
			taps := s2taps(rowRegs[r], masked, t)
			for kx := 0; kx < 3; kx++ {
				for _, o := range []struct {
					acc [3]string
					ky  int
				}{{accA, r}, {accB, r - 2}} {
					if o.ky < 0 || o.ky > 2 {
						continue
					}
					if o.ky > 0 && kx == 0 {
						f.i("VMULPS %s, %s, %s", taps[kx], wr(o.ky, kx), o.acc[o.ky])
					} else {
						f.i("VFMADD231PS %s, %s, %s", taps[kx], wr(o.ky, kx), o.acc[o.ky])
					}
				}
			}
		}
		for i, acc := range [][3]string{accA, accB} {
			f.i("VADDPS %s, %s, %s", acc[1], acc[0], acc[0])
			f.i("VADDPS %s, %s, %s", acc[2], acc[0], acc[0])
			clampStore(acc[0], []string{"(DI)", "(DI)(BX*1)"}[i], masked, "")
		}
	}

	advance := func(masked bool) {
		f.i("ADDQ $%d, R14", inStep)
		f.i("ADDQ $%d, DI", s.vbytes)
		if masked {
			f.i("ADDQ $%d, R12", s.slot)
		}
	}

	// rowsSetup points n row registers at input rows iy0.. (zero row when
	// outside [0, H)) and resets the column state.
	rowsSetup := func(n int) {
		f.i("MOVQ CX, DX")
		if stride == 2 {
			f.i("SHLQ $1, DX")
		}
		f.i("SUBQ %s, DX // iy of the first input row", a("pt"))
		f.i("MOVQ DX, R14")
		f.i("IMULQ %s, R14", a("rs"))
		f.i("ADDQ SI, R14")
		f.i("ADDQ %s, R14 // its block-0 column", a("colOff"))
		for k := 0; k < n; k++ {
			r := rowRegs[k]
			if r == "DX" {
				// The last row: DX, the row index, becomes its pointer.
				f.i("CMPQ DX, %s", a("h"))
				f.i("MOVQ R14, DX")
				f.i("CMOVQCC %s, DX // zero row unless 0 <= iy < H", a("zeroAdj"))
				break
			}
			f.i("MOVQ R14, %s", r)
			f.i("CMPQ DX, %s", a("h"))
			f.i("CMOVQCC %s, %s // zero row unless 0 <= iy < H", a("zeroAdj"), r)
			if k < n-1 {
				f.i("ADDQ %s, R14", a("rs"))
				f.i("INCQ DX")
			}
		}
		f.i("XORQ R14, R14")
		f.i("MOVQ R13, DI")
		f.i("LEAQ %s, R12", a("mask"))
	}

	// columns emits the head / full / tail loops of one row (pass).
	columns := func(tag string, block func(bool)) {
		l := name + "_" + tag
		for _, seg := range []struct {
			end    string
			masked bool
		}{{"hEnd", true}, {"fEnd", false}, {"tEnd", true}} {
			f.i("CMPQ R14, %s", a(seg.end))
			f.i("JGE %s_%s", l, seg.end)
			f.label(l + "_" + seg.end + "_loop")
			block(seg.masked)
			advance(seg.masked)
			f.i("CMPQ R14, %s", a(seg.end))
			f.i("JLT %s_%s_loop", l, seg.end)
			f.label(l + "_" + seg.end)
		}
	}

	f.p("")
	f.p("// func %s(a *dwArgs)", name)
	f.p("TEXT ·%s(SB), NOSPLIT, $8-8", name)
	f.i("MOVQ a+0(FP), AX")
	f.i("CMPQ %s, $0", a("planes"))
	f.i("JLE %s_done", name)
	f.i("MOVQ $0, plane-8(SP)")
	f.i("MOVQ %s, SI", a("in"))
	f.i("MOVQ %s, R13", a("out"))
	f.i("MOVQ %s, BX", a("ors"))
	f.i("VBROADCASTSS %s, %s", a("lo"), lo)
	f.i("VBROADCASTSS %s, %s", a("hi"), hi)
	if avx512 && stride == 2 {
		f.i("VMOVDQU32 dwidx<>+0(SB), Z12 // even columns 0 2 .. 30 of (A, B)")
		f.i("VMOVDQU32 dwidx<>+64(SB), Z13 // odd columns 1 3 .. 31")
		f.i("VMOVDQU32 dwidx<>+128(SB), Z27 // 1 2 .. 15, then lane 15 of the second table")
	}
	f.label(name + "_plane")
	f.i("MOVQ plane-8(SP), DX")
	f.i("LEAQ (DX)(DX*8), R14")
	f.i("SHLQ $2, R14")
	f.i("ADDQ %s, R14 // its 9 weights", a("w"))
	for k := 0; k < 9; k++ {
		f.i("VBROADCASTSS %d(R14), %s", 4*k, R(k))
	}
	f.i("IMULQ %s, DX", a("biasStep"))
	f.i("ADDQ %s, DX", a("bias"))
	f.i("VBROADCASTSS (DX), %s", bias)
	f.i("MOVQ %s, CX // oy", a("oy0"))
	f.label(name + "_row")
	if stride == 1 || avx512 {
		f.i("MOVQ %s, DX", a("oh"))
		f.i("SUBQ CX, DX")
		f.i("CMPQ DX, $2")
		f.i("JLT %s_single", name)
		if stride == 1 {
			rowsSetup(4)
			columns("pair", block2)
		} else {
			rowsSetup(5)
			columns("pair", block2s2)
		}
		f.i("LEAQ (R13)(BX*2), R13")
		f.i("ADDQ $2, CX")
		f.i("JMP %s_rowend", name)
		f.label(name + "_single")
	}
	rowsSetup(3)
	columns("one", block1)
	f.i("ADDQ BX, R13")
	f.i("INCQ CX")
	f.label(name + "_rowend")
	f.i("CMPQ CX, %s", a("oh"))
	f.i("JLT %s_row", name)
	f.i("ADDQ %s, SI", a("inPlane"))
	f.i("MOVQ plane-8(SP), DX")
	f.i("INCQ DX")
	f.i("MOVQ DX, plane-8(SP)")
	f.i("CMPQ DX, %s", a("planes"))
	f.i("JLT %s_plane", name)
	f.label(name + "_done")
	f.i("VZEROUPPER")
	f.i("RET")
}

func genDepthwise(out map[string][]byte) {
	f := newAsmFile("amd64 && !purego")
	f.p("")
	f.p("// Depthwise 3x3 convolution kernels, stride 1 and 2. See _asm/depthwise.go.")
	f.p("")
	f.p("// VPERMI2PS / VPERMT2PS indices of the AVX-512 stride-2 kernel: even")
	f.p("// and odd lanes of (A, B), and tap 0 moved down a lane with lane 15 of")
	f.p("// B1 on top.")
	var idx []int
	for i := 0; i < 16; i++ {
		idx = append(idx, 2*i)
	}
	for i := 0; i < 16; i++ {
		idx = append(idx, 2*i+1)
	}
	for i := 1; i < 16; i++ {
		idx = append(idx, i)
	}
	idx = append(idx, 31)
	for i, v := range idx {
		f.p("DATA dwidx<>+%d(SB)/4, $%d", 4*i, v)
	}
	f.p("GLOBL dwidx<>(SB), RODATA|NOPTR, $%d", 4*len(idx))
	g := newGoFile("amd64 && !purego", "depthwise")
	g.p("// Masked blocks per row the kernels accept, and the bytes of one mask")
	g.p("// slot (see _asm/depthwise.go).")
	g.p("const (")
	g.p("\tdwMaxMasked = %d", dwMaxMasked)
	g.p("\tdwSlot512 = %d", dwSlot512)
	g.p("\tdwSlot256 = %d", dwSlot256)
	g.p("\tdwMaskBytes = dwMaxMasked * dwSlot256")
	g.p(")")
	g.p("")
	argBlock(g, "dwArgs", "dwOffsets", dwFields)
	for _, s := range []dwISA{dw512, dw256} {
		for _, st := range []int{1, 2} {
			genDW(f, s, st)
			g.p("")
			g.p("//go:noescape")
			g.p("func %s(a *dwArgs)", dwName(s, st))
		}
	}
	out["impl/depthwise/kernels_amd64.s"] = f.bytes()
	out["impl/depthwise/kernels_amd64.go"] = g.bytes()
}
