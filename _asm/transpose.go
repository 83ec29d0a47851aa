package main

// transposeOut16: the store of the turned-around pointwise convolution
// (impl/ops/conv_pointwise_t.go). The GEMM leaves t[p][c] (pixels as rows,
// channels contiguous); the convolution wants out[c][p] (NCHW). One call
// covers a strip of 16 pixels and tiles x 16 channels: per tile, 16 rows
// of t are loaded, transposed in registers (the unpack / unpack / shuffle /
// shuffle sequence of packT32), optionally added to what out holds (the
// residual of a fused Add), clamped to [lo, hi] (the accumulator in the
// NaN-propagating operand, as the GEMM kernels do), and stored as 16 rows
// of 16 pixels.
//
//	func transposeOut16(dst, src *float32, ldd, lds uintptr, tiles int, add bool, lo, hi float32)
//
// ldd and lds are row strides in bytes; dst points at out[c0][p0], src at
// t[p0][c0].
func genTransposeOut16(f *file) {
	f.p("")
	f.p("// func transposeOut16(dst, src *float32, ldd, lds uintptr, tiles int, add bool, lo, hi float32)")
	f.p("TEXT ·transposeOut16(SB), NOSPLIT, $0-52")
	f.i("MOVQ dst+0(FP), DI")
	f.i("MOVQ src+8(FP), SI")
	f.i("MOVQ ldd+16(FP), BX")
	f.i("MOVQ lds+24(FP), DX")
	f.i("MOVQ tiles+32(FP), CX")
	f.i("MOVBQZX add+40(FP), AX")
	f.i("LEAQ (DX)(DX*2), R8 // 3*lds")
	f.i("TESTQ CX, CX")
	f.i("JZ tout_done")
	f.label("tout_loop")
	f.i("MOVQ SI, R9")
	load16Rows(f)
	transpose16(f) // packT32's sequence (pack.go)
	// Z0..Z15 are now channels 0..15 of the tile, 16 pixels each.
	f.i("VBROADCASTSS lo+44(FP), Z30")
	f.i("VBROADCASTSS hi+48(FP), Z31")
	f.i("MOVQ DI, R10")
	f.i("TESTQ AX, AX")
	f.i("JZ tout_store")
	for j := 0; j < 16; j++ {
		f.i("VADDPS (R10), Z%d, Z%d", j, j)
		if j < 15 {
			f.i("ADDQ BX, R10")
		}
	}
	f.i("MOVQ DI, R10")
	f.label("tout_store")
	for j := 0; j < 16; j++ {
		f.i("VMAXPS Z%d, Z30, Z%d", j, j)
		f.i("VMINPS Z%d, Z31, Z%d", j, j)
		f.i("VMOVUPS Z%d, (R10)", j)
		if j < 15 {
			f.i("ADDQ BX, R10")
		}
	}
	f.i("ADDQ $64, SI // next 16 channels of t")
	f.i("MOVQ BX, R11")
	f.i("SHLQ $4, R11")
	f.i("ADDQ R11, DI // next 16 rows of out")
	f.i("DECQ CX")
	f.i("JNZ tout_loop")
	f.label("tout_done")
	f.i("VZEROUPPER")
	f.i("RET")
}

func genTranspose(out map[string][]byte) {
	f := newAsmFile("amd64 && !purego")
	f.p("")
	f.p("// Transposing store of the turned-around pointwise convolution (AVX-512).")
	f.p("// See _asm/transpose.go.")
	genTransposeOut16(f)
	out["impl/ops/transpose_amd64.s"] = f.bytes()
}
