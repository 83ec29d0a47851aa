package gemm

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// B given by row offsets: an implicit im2col.
//
// A stride-1 convolution over an input whose planes are padded (and, for
// stride s, split into s x s phase planes) reads, for filter tap t and
// channel c, a shifted window of one plane: if the output is computed over
// the planes' full padded width (the columns past the true output width are
// garbage the caller drops), row (t, c) of the im2col matrix is just
// plane[c] starting at offset(t). QGemmPackedAOffsets takes B as those row
// start offsets, so the GEMM's own packing reads the input planes directly
// and no im2col matrix is ever written.

// QGemmPackedAOffsets is QGemmPackedAThreads with B (pa.K() x n) given by
// row offsets: B[p][j] = b[rowOff[p]+j]. Each group of four rows packs in
// one SIMD step (qpackB32Off), wherever its rows are.
func QGemmPackedAOffsets[TB Int8, TC QOut](threads int, pa *PackedQA, n int, b []TB, rowOff []int, zb []int32, c []TC, ldc int, ep QEpilogue) {
	if len(rowOff) != pa.k {
		panic(fmt.Sprintf("gemm: %d row offsets for K = %d", len(rowOff), pa.k))
	}
	if n > 0 {
		for p, o := range rowOff {
			if o < 0 || o+n > len(b) {
				panic(fmt.Sprintf("gemm: B row %d [%d, %d) outside %d elements", p, o, o+n, len(b)))
			}
		}
	}
	checkQMat("C", false, pa.m, n, len(c), ldc)
	j := &qjob{kn: pa.kn, m: pa.m, n: n, k: pa.k, pa: pa, au: pa.unsign, threads: threads}
	fb, sb := flipFor(isSigned[TB](), !j.au)
	j.b, j.rowOff, j.flipB, j.zb = bytesOf(b), rowOff, fb, mapZero(zb, sb, n, "zb")
	j.ldb = 1
	j.za = pa.za
	setQOut(j, c, ldc, &ep)
	j.run()
}

// packB packs columns [j0, j0+ncur) of the job's B into dst.
func (j *qjob) packB(dst []byte, j0, ncur int, colSum []int32) {
	if j.rowOff != nil {
		qpackBOffsets(j.kn, dst, j.b, j.rowOff, j.flipB, !j.au, j.k, j0, ncur, colSum)
		return
	}
	qpackB(j.kn, dst, j.b, j.ldb, false, j.flipB, !j.au, j.k, j0, ncur, colSum)
}

// qpackBOffsets is qpackB for B[p][j] = src[rowOff[p]+j].
func qpackBOffsets(kn *qkern, dst []byte, src []byte, rowOff []int, flip byte, unsigned bool, k, j0, ncur int, colSum []int32) {
	g, nr := kn.g, kn.nr
	kpad := roundUp(k, g)
	maxOff := 0
	for _, o := range rowOff {
		maxOff = max(maxOff, o)
	}
	for jr := 0; jr < ncur; jr += nr {
		cols := min(nr, ncur-jr)
		c0 := j0 + jr
		if colSum != nil {
			cs := colSum[jr : jr+cols]
			clear(cs)
			for _, o := range rowOff {
				for c, x := range src[o+c0 : o+c0+cols] {
					cs[c] += side(x^flip, unsigned)
				}
			}
		}
		if kpad == 0 {
			continue
		}
		if kn.wide {
			d := unsafe.Slice((*int16)(unsafe.Pointer(&dst[jr*kpad*2])), nr*kpad)
			clear(d)
			for p, o := range rowOff {
				base := (p/2)*nr*2 + p%2
				for c, x := range src[o+c0 : o+c0+cols] {
					d[base+c*2] = int16(side(x^flip, unsigned))
				}
			}
			continue
		}
		d := dst[jr*kpad : jr*kpad+nr*kpad]
		if cols < nr || k < kpad {
			clear(d)
		}
		f32 := uint32(flip) * 0x01010101
		// Whole quads in one SIMD call; a short last panel packs a full
		// width too when the source has the bytes (its extra columns are
		// never stored).
		q0 := 0
		if cols == nr || maxOff+c0+nr <= len(src) {
			q0 = qpackBOffAsm(d, src[c0:], rowOff, k, nr, flip) / 4
		}
		// In Go: interleave four rows into one uint32 per column.
		for q := q0; q < k/4; q++ {
			o := rowOff[4*q : 4*q+4]
			interleave4(d[q*nr*4:q*nr*4+cols*4], src, o[0]+c0, o[1]+c0, o[2]+c0, o[3]+c0, cols, f32)
		}
		for p := k &^ 3; p < k; p++ {
			o := (p>>2)*nr*4 + p&3
			for c, x := range src[rowOff[p]+c0 : rowOff[p]+c0+cols] {
				d[o+c*4] = x ^ flip
			}
		}
	}
}

// interleave4 writes, for c < cols, the bytes src[o0+c], src[o1+c],
// src[o2+c], src[o3+c] as one little-endian uint32 xored with f32: one
// group of four B rows in the VNNI panel layout.
func interleave4(dst, src []byte, o0, o1, o2, o3, cols int, f32 uint32) {
	r0, r1, r2, r3 := src[o0:o0+cols], src[o1:o1+cols], src[o2:o2+cols], src[o3:o3+cols]
	for c := range r0 {
		w := uint32(r0[c]) | uint32(r1[c])<<8 | uint32(r2[c])<<16 | uint32(r3[c])<<24
		binary.LittleEndian.PutUint32(dst[4*c:], w^f32)
	}
}
