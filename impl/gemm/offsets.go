package gemm

import "fmt"

// SgemmPackedAOffsets is SgemmPackedAThreads with B (pa.K() x n) given by
// row offsets: B[p][j] = b[rowOff[p]+j]. Convolutions pass the windows of
// padded, phase-split input planes as rows (an implicit im2col; see
// QGemmPackedAOffsets and impl/ops/conv_planes.go), and B's packing reads
// the planes directly.
func SgemmPackedAOffsets(threads int, pa *PackedA, n int, b []float32, rowOff []int, c []float32, ldc int, ep Epilogue) {
	SgemmPackedAOffsetsCols(threads, pa, n, b, rowOff, 0, 0, c, ldc, ep)
}

// SOffsetColsFast reports whether SgemmPackedAOffsetsCols packs maps of
// width ow for pa's kernel in assembly: 32-column panels (AVX-512) that
// span at most two map rows.
func SOffsetColsFast(pa *PackedA, ow int) bool {
	return pa.kn.nr == 32 && ow >= 31 && packRowsOff2Avail()
}

// SgemmPackedAOffsetsCols is SgemmPackedAOffsets with the columns mapped
// onto rows of width ow placed wq apart: B[p][j] = b[rowOff[p] + (j/ow)*wq
// + j%ow] (ow = 0: B[p][j] = b[rowOff[p]+j]). A convolution's output
// positions then skip the phase planes' extra columns (wq - OW per output
// row), so the GEMM computes only real outputs and writes them in place.
// A panel of 32 columns spanning two rows packs with two masked loads per
// row (AVX-512); narrower maps go through Go.
func SgemmPackedAOffsetsCols(threads int, pa *PackedA, n int, b []float32, rowOff []int, ow, wq int, c []float32, ldc int, ep Epilogue) {
	if len(rowOff) != pa.k {
		panic(fmt.Sprintf("gemm: %d row offsets for K = %d", len(rowOff), pa.k))
	}
	if ow < 0 || (ow > 0 && wq < ow) {
		panic(fmt.Sprintf("gemm: column rows of %d values %d apart", ow, wq))
	}
	colOff := func(j int) int { return j }
	if ow > 0 {
		colOff = func(j int) int { return j/ow*wq + j%ow }
	}
	maxOff := 0
	for p, o := range rowOff {
		if o < 0 || (n > 0 && o+colOff(n-1) >= len(b)) {
			panic(fmt.Sprintf("gemm: B row %d [%d, %d] outside %d elements", p, o, o+colOff(n-1), len(b)))
		}
		maxOff = max(maxOff, o)
	}
	checkMat("C", false, pa.m, n, c, ldc)
	nr := pa.kn.nr
	j := job{
		kn: pa.kn, m: pa.m, n: n, k: pa.k, alpha: 1,
		a: operand{pa: pa},
		c: c, ldc: ldc, threads: threads,
	}
	j.packBF = func(dst []float32, p0, kcur, j0, ncur int) {
		off := rowOff[p0 : p0+kcur]
		for jr := 0; jr < ncur; jr += nr {
			cols := min(nr, ncur-jr)
			d := dst[jr*kcur : jr*kcur+nr*kcur]
			c0 := j0 + jr
			s0 := colOff(c0)
			run := nr // columns of the first run (all of a contiguous panel)
			if ow > 0 {
				run = ow - c0%ow
			}
			// A short last panel copies a full width when b has the
			// values (its extra columns are never stored).
			switch {
			case run >= nr && (cols == nr || maxOff+s0+nr <= len(b)):
				if packRowsOffAsm(d, b[s0:], off, kcur, nr) {
					continue
				}
			case run < nr && ow >= nr-run && maxOff+colOff(c0+run)+nr-run <= len(b):
				if packRowsOff2Asm(d, b, off, kcur, nr, s0, colOff(c0+run), run) {
					continue
				}
			}
			for p, o := range off {
				row := d[p*nr : p*nr+nr]
				if ow == 0 {
					copy(row, b[o+c0:o+c0+cols])
				} else {
					for i := range cols {
						row[i] = b[o+colOff(c0+i)]
					}
				}
				clear(row[cols:])
			}
		}
	}
	j.setEpilogue(&ep)
	j.run()
}
