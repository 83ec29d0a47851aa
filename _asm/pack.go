package main

// packT32: transposing pack of a full 32-column B panel when op(B) = B^T.
// The source holds the panel's 32 columns as rows (column c of op(B) at
// src + c*lds, contiguous in k); the panel wants, for each k, the 32 values
// of that k. The kernel transposes 16 x 16 tiles in registers with the
// classic unpack / unpack / shuffle / shuffle sequence.
//
//	func packT32(dst, src *float32, lds uintptr, k16 int)
//
// k16 is the number of 16-k blocks; the caller packs the remaining k.
func genPackT32(f *file) {
	f.p("")
	f.p("// func packT32(dst, src *float32, lds uintptr, k16 int)")
	f.p("TEXT ·packT32(SB), NOSPLIT, $0-32")
	f.i("MOVQ dst+0(FP), DI")
	f.i("MOVQ src+8(FP), SI")
	f.i("MOVQ lds+16(FP), DX")
	f.i("MOVQ k16+24(FP), CX")
	f.i("LEAQ (DX)(DX*2), R8 // 3*lds")
	f.i("TESTQ CX, CX")
	f.i("JZ packt32_done")
	f.label("packt32_loop")
	for h := 0; h < 2; h++ {
		// R9 = first of the 16 source rows of this half.
		f.i("MOVQ SI, R9")
		if h == 1 {
			f.i("MOVQ DX, R10")
			f.i("SHLQ $4, R10")
			f.i("ADDQ R10, R9 // rows 16..31")
		}
		load16Rows(f)
		transpose16(f)
		for j := 0; j < 16; j++ {
			f.i("VMOVUPS Z%d, %d(DI)", j, 128*j+64*h)
		}
	}
	f.i("ADDQ $64, SI // next 16 k")
	f.i("ADDQ $2048, DI")
	f.i("DECQ CX")
	f.i("JNZ packt32_loop")
	f.label("packt32_done")
	f.i("VZEROUPPER")
	f.i("RET")
}

// load16Rows loads Z0..Z15 with the 16 rows of 16 floats at R9, R9+DX,
// ... (DX the row stride in bytes, R8 = 3*DX); it advances R9.
func load16Rows(f *file) {
	for r := 0; r < 16; r++ {
		switch r % 4 {
		case 0:
			f.i("VMOVUPS (R9), Z%d", r)
		case 1:
			f.i("VMOVUPS (R9)(DX*1), Z%d", r)
		case 2:
			f.i("VMOVUPS (R9)(DX*2), Z%d", r)
		case 3:
			f.i("VMOVUPS (R9)(R8*1), Z%d", r)
			if r < 15 {
				f.i("LEAQ (R9)(DX*4), R9")
			}
		}
	}
}

// transpose16 transposes the 16 x 16 floats in Z0..Z15 in place (row i
// becomes column i) with the unpack / unpack / shuffle / shuffle sequence,
// using Z16..Z31 as scratch.
func transpose16(f *file) {
	// Stage 1: interleave floats of row pairs.
	for i := 0; i < 8; i++ {
		a, b := 2*i, 2*i+1
		f.i("VUNPCKLPS Z%d, Z%d, Z%d", b, a, 16+2*i)
		f.i("VUNPCKHPS Z%d, Z%d, Z%d", b, a, 16+2*i+1)
	}
	// Stage 2: interleave float pairs of pair-groups.
	for g := 0; g < 4; g++ {
		t0, t1, t2, t3 := 16+4*g, 16+4*g+1, 16+4*g+2, 16+4*g+3
		f.i("VUNPCKLPD Z%d, Z%d, Z%d", t2, t0, 4*g)
		f.i("VUNPCKHPD Z%d, Z%d, Z%d", t2, t0, 4*g+1)
		f.i("VUNPCKLPD Z%d, Z%d, Z%d", t3, t1, 4*g+2)
		f.i("VUNPCKHPD Z%d, Z%d, Z%d", t3, t1, 4*g+3)
	}
	// Stage 3: 128-bit lanes of 4-row groups (0-3 with 4-7, 8-11 with 12-15).
	for q := 0; q < 2; q++ {
		for i := 0; i < 4; i++ {
			a, b := 8*q+i, 8*q+4+i
			f.i("VSHUFF32X4 $0x88, Z%d, Z%d, Z%d", b, a, 16+8*q+i)
			f.i("VSHUFF32X4 $0xdd, Z%d, Z%d, Z%d", b, a, 16+8*q+4+i)
		}
	}
	// Stage 4: lanes of 8-row groups; output j is column j of the block.
	for i := 0; i < 8; i++ {
		a, b := 16+i, 24+i
		f.i("VSHUFF32X4 $0x88, Z%d, Z%d, Z%d", b, a, i)
		f.i("VSHUFF32X4 $0xdd, Z%d, Z%d, Z%d", b, a, 8+i)
	}
}

func genPack(out map[string][]byte) {
	f := newAsmFile("amd64 && !purego")
	f.p("")
	f.p("// Transposing B-panel pack for the AVX-512 kernel. See _asm/pack.go.")
	genPackT32(f)
	out["impl/gemm/packt_amd64.s"] = f.bytes()
}
