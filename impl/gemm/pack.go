package gemm

// Packing routines. A block of op(A) (rows [i0, i0+mcur), depth
// [p0, p0+kcur)) becomes consecutive micro-panels of mr rows: the panel that
// starts at local row ir sits at offset ir*kcur and holds, for each k, its
// rows' values (the last panel may have fewer than mr rows; no padding).
// A block of op(B) (depth [p0, p0+kcur), columns [j0, j0+ncur)) becomes
// micro-panels of nr columns: the panel at local column jr sits at offset
// jr*kcur and holds, for each k, nr values, zero padded past ncur.

// packA packs a block of op(A) into dst. Packing is a pure copy: alpha is
// applied by the kernel epilogue.
func packA(mr int, dst []float32, a []float32, lda int, trans bool, i0, mcur, p0, kcur int) {
	for ir := 0; ir < mcur; ir += mr {
		rows := min(mr, mcur-ir)
		d := dst[ir*kcur : ir*kcur+rows*kcur]
		if trans {
			// op(A)[i][p] = a[p*lda+i]: each k gives rows contiguous values.
			// The AVX-512 kernel's panels (mr 14), a short last one included.
			if mr == 14 && packRowsAsm(d, a[p0*lda+i0+ir:], lda, kcur, rows) {
				continue
			}
			for p := 0; p < kcur; p++ {
				src := a[(p0+p)*lda+i0+ir:]
				copy(d[p*rows:p*rows+rows], src[:rows])
			}
			continue
		}
		if rows == mr {
			packARows(mr, d, a, lda, i0+ir, p0, kcur)
			continue
		}
		for r := 0; r < rows; r++ {
			src := a[(i0+ir+r)*lda+p0:]
			src = src[:kcur]
			for p, v := range src {
				d[p*rows+r] = v
			}
		}
	}
}

// packARows packs mr full rows (a transpose of an mr x kcur block).
func packARows(mr int, d []float32, a []float32, lda int, i, p0, kcur int) {
	switch mr {
	case 14:
		// Four rows at a time keeps four read streams and a short write stride.
		for r := 0; r < 12; r += 4 {
			r0 := a[(i+r)*lda+p0:][:kcur]
			r1 := a[(i+r+1)*lda+p0:][:kcur]
			r2 := a[(i+r+2)*lda+p0:][:kcur]
			r3 := a[(i+r+3)*lda+p0:][:kcur]
			for p := range r0 {
				o := d[p*14+r : p*14+r+4 : p*14+r+4]
				o[0], o[1], o[2], o[3] = r0[p], r1[p], r2[p], r3[p]
			}
		}
		r0 := a[(i+12)*lda+p0:][:kcur]
		r1 := a[(i+13)*lda+p0:][:kcur]
		for p := range r0 {
			o := d[p*14+12 : p*14+14 : p*14+14]
			o[0], o[1] = r0[p], r1[p]
		}
	default:
		for r := 0; r < mr; r++ {
			src := a[(i+r)*lda+p0:][:kcur]
			for p, v := range src {
				d[p*mr+r] = v
			}
		}
	}
}

// packB packs a block of op(B) into dst.
func packB(nr int, dst []float32, b []float32, ldb int, trans bool, p0, kcur, j0, ncur int) {
	for jr := 0; jr < ncur; jr += nr {
		cols := min(nr, ncur-jr)
		d := dst[jr*kcur : jr*kcur+nr*kcur]
		if !trans {
			if cols == nr && packRowsAsm(d, b[p0*ldb+j0+jr:], ldb, kcur, nr) {
				continue
			}
			for p := 0; p < kcur; p++ {
				src := b[(p0+p)*ldb+j0+jr:]
				o := d[p*nr : p*nr+nr]
				copy(o, src[:cols])
				clear(o[cols:])
			}
			continue
		}
		// op(B)[p][j] = b[j*ldb+p]
		if cols < nr {
			clear(d)
		}
		done := 0
		if cols == nr {
			done = packTAsm(d, b[(j0+jr)*ldb+p0:], ldb, kcur, nr)
		}
		for j := 0; j < cols; j++ {
			src := b[(j0+jr+j)*ldb+p0+done:][:kcur-done]
			for p, v := range src {
				d[(done+p)*nr+j] = v
			}
		}
	}
}

var noAsmPack = false
