package gemm

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// B given by row offsets: an implicit im2col.
//
// A stride-1 convolution over an input whose planes are padded (and, for
// stride s, split into s x s phase planes) reads, for filter tap t and
// channel c, a shifted window of one plane: row (t, c) of the im2col
// matrix is plane[c] starting at offset(t), read over the output positions.
// QGemmPackedAOffsets takes B as those row start offsets, so the GEMM's own
// packing reads the input planes directly and no im2col matrix is ever
// written. Output position n = (y, x) sits at plane offset y·wq + x, where
// wq >= OW is the plane's row width: QGemmPackedAOffsetsCols maps the GEMM
// columns onto exactly those positions (skipping each row's wq - OW extra
// columns); QGemmPackedAOffsets reads the plane contiguously (the caller
// then computes the extra columns too and drops them).

// QGemmPackedAOffsets is QGemmPackedAThreads with B (pa.K() x n) given by
// row offsets: B[p][j] = b[rowOff[p]+j]. Each group of four rows packs in
// one SIMD step (qpackB32Off), wherever its rows are.
func QGemmPackedAOffsets[TB Int8, TC QOut](threads int, pa *PackedQA, n int, b []TB, rowOff []int, zb []int32, c []TC, ldc int, ep QEpilogue) {
	QGemmPackedAOffsetsCols(threads, pa, n, b, rowOff, 0, 0, zb, c, ldc, ep)
}

// QGemmPackedAOffsetsCols is QGemmPackedAOffsets with the columns of B
// taken in rows of ow out of every wq elements: B[p][j] =
// b[rowOff[p] + (j/ow)·wq + j%ow] (ow = 0: b[rowOff[p]+j]).
func QGemmPackedAOffsetsCols[TB Int8, TC QOut](threads int, pa *PackedQA, n int, b []TB, rowOff []int, ow, wq int, zb []int32, c []TC, ldc int, ep QEpilogue) {
	if len(rowOff) != pa.k {
		panic(fmt.Sprintf("gemm: %d row offsets for K = %d", len(rowOff), pa.k))
	}
	if ow < 0 || (ow > 0 && wq < ow) {
		panic(fmt.Sprintf("gemm: column rows of %d in %d", ow, wq))
	}
	if ow == wq {
		ow, wq = 0, 0
	}
	if n > 0 {
		last := colOff(n-1, ow, wq) + 1
		for p, o := range rowOff {
			if o < 0 || o+last > len(b) {
				panic(fmt.Sprintf("gemm: B row %d [%d, %d) outside %d elements", p, o, o+last, len(b)))
			}
		}
	}
	checkQMat("C", false, pa.m, n, len(c), ldc)
	j := &qjob{kn: pa.kn, m: pa.m, n: n, k: pa.k, pa: pa, au: pa.unsign, threads: threads}
	fb, sb := flipFor(isSigned[TB](), !j.au)
	j.b, j.rowOff, j.flipB, j.zb = bytesOf(b), rowOff, fb, mapZero(zb, sb, n, "zb")
	j.ldb = 1
	j.cw, j.cs = ow, wq
	j.za = pa.za
	setQOut(j, c, ldc, &ep)
	j.run()
}

// colOff is where column j of B starts relative to a row's offset: rows of
// ow columns wq apart (ow = 0: contiguous).
func colOff(j, ow, wq int) int {
	if ow == 0 {
		return j
	}
	return j/ow*wq + j%ow
}

// QOffsetColsFast reports whether QGemmPackedAOffsetsCols packs B with
// rows of ow in wq as fast as contiguous columns: every 32-column panel
// spans at most 64 bytes and one byte permute (AVX512-VBMI) gathers it.
func QOffsetColsFast(pa *PackedQA, ow, wq int) bool {
	return !noColPerm && pa.kn.nr == 32 && !pa.kn.wide && ow > 0 && colPermOK() && colSpan(32, ow, wq) <= 64
}

// colSpan is the most elements any cols consecutive columns span (rows of
// ow in wq): cols plus the skipped wq - ow per row break, of which there
// are at most 1 + (cols-2)/ow.
func colSpan(cols, ow, wq int) int {
	if ow == 0 || cols <= 1 {
		return cols
	}
	return cols + (1+(cols-2)/ow)*(wq-ow)
}

// noColPerm disables the permuting panel packer (tests and benchmarks).
var noColPerm = false

func colPermOK() bool {
	f := cpu.Active()
	return f.AVX512VBMI && f.Level() >= cpu.AVX512
}

// packB packs columns [j0, j0+ncur) of the job's B into dst.
func (j *qjob) packB(dst []byte, j0, ncur int, colSum []int32) {
	if j.rowOff != nil {
		qpackBOffsets(j.kn, dst, j.b, j.rowOff, j.cw, j.cs, j.flipB, !j.au, j.k, j0, ncur, colSum)
		return
	}
	qpackB(j.kn, dst, j.b, j.ldb, false, j.flipB, !j.au, j.k, j0, ncur, colSum)
}

// colRun is a panel's columns [c, c+n) read contiguously from a row's
// offset plus src.
type colRun struct{ c, n, src int }

// qpackBOffsets is qpackB for B[p][j] = src[rowOff[p]+colOff(j, ow, wq)].
func qpackBOffsets(kn *qkern, dst []byte, src []byte, rowOff []int, ow, wq int, flip byte, unsigned bool, k, j0, ncur int, colSum []int32) {
	g, nr := kn.g, kn.nr
	kpad := roundUp(k, g)
	maxOff := 0
	for _, o := range rowOff {
		maxOff = max(maxOff, o)
	}
	perm := ow > 0 && nr == 32 && !kn.wide && !noColPerm && k >= 4 && colPermOK()
	var idx [64]byte
	var runBuf [32]colRun
	for jr := 0; jr < ncur; jr += nr {
		cols := min(nr, ncur-jr)
		c0 := j0 + jr
		// The panel's columns as contiguous runs of the source.
		runs := runBuf[:0]
		if ow == 0 {
			runs = append(runs, colRun{0, cols, c0})
		} else {
			for c := 0; c < cols; {
				y, x := (c0+c)/ow, (c0+c)%ow
				n := min(cols-c, ow-x)
				if len(runs) == cap(runBuf) {
					panic("gemm: panel wider than 32 columns")
				}
				runs = append(runs, colRun{c, n, y*wq + x})
				c += n
			}
		}
		if colSum != nil {
			cs := colSum[jr : jr+cols]
			clear(cs)
			for _, o := range rowOff {
				for _, r := range runs {
					s := cs[r.c : r.c+r.n]
					for c, x := range src[o+r.src : o+r.src+r.n] {
						s[c] += side(x^flip, unsigned)
					}
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
				for _, r := range runs {
					for c, x := range src[o+r.src : o+r.src+r.n] {
						d[base+(r.c+c)*2] = int16(side(x^flip, unsigned))
					}
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
		if len(runs) == 1 {
			if cols == nr || maxOff+runs[0].src+nr <= len(src) {
				q0 = qpackBOffAsm(d, src[runs[0].src:], rowOff, k, nr, flip) / 4
			}
		} else if perm {
			last := runs[len(runs)-1]
			base := runs[0].src
			if last.src+last.n-base <= 64 && maxOff+base+64 <= len(src) {
				// Byte p of the permute picks (row p&1 of a pair, column
				// permCol[p]), see qpackB32OffPerm.
				var e [32]byte
				for _, r := range runs {
					for c := range r.n {
						e[r.c+c] = byte(r.src - base + c)
					}
				}
				for p := range idx {
					idx[p] = e[permCol[p]] | byte(p&1)<<6
				}
				q0 = qpackBOffPermAsm(d, src[base:], rowOff, k, flip, &idx) / 4
			}
		}
		// In Go: interleave four rows into one uint32 per column.
		for q := q0; q < k/4; q++ {
			o := rowOff[4*q : 4*q+4]
			for _, r := range runs {
				interleave4(d[q*nr*4+r.c*4:q*nr*4+(r.c+r.n)*4], src, o[0]+r.src, o[1]+r.src, o[2]+r.src, o[3]+r.src, r.n, f32)
			}
		}
		for p := k &^ 3; p < k; p++ {
			o := (p>>2)*nr*4 + p&3
			for _, r := range runs {
				for c, x := range src[rowOff[p]+r.src : rowOff[p]+r.src+r.n] {
					d[o+(r.c+c)*4] = x ^ flip
				}
			}
		}
	}
}

// permCol[p] is the column of byte p of a row-pair vector in
// qpackB32OffPerm: 128-bit lane L holds, as byte pairs, columns 4L..4L+3
// and then 16+4L..16+4L+3, so that the word unpacks with the other pair's
// vector give columns 0..15 (low) and 16..31 (high) in order.
var permCol = func() (t [64]byte) {
	for p := range t {
		l, w := p/16, p%16/2
		c := 4*l + w
		if w >= 4 {
			c = 16 + 4*l + w - 4
		}
		t[p] = byte(c)
	}
	return t
}()

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
