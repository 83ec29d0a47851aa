package gemm

import "fmt"

// SgemmPackedAOffsets is SgemmPackedAThreads with B (pa.K() x n) given by
// row offsets: B[p][j] = b[rowOff[p]+j]. Convolutions pass the windows of
// padded, phase-split input planes as rows (an implicit im2col; see
// QGemmPackedAOffsets and impl/ops/conv_planes.go), and B's packing reads
// the planes directly.
func SgemmPackedAOffsets(threads int, pa *PackedA, n int, b []float32, rowOff []int, c []float32, ldc int, ep Epilogue) {
	if len(rowOff) != pa.k {
		panic(fmt.Sprintf("gemm: %d row offsets for K = %d", len(rowOff), pa.k))
	}
	maxOff := 0
	for p, o := range rowOff {
		if o < 0 || (n > 0 && o+n > len(b)) {
			panic(fmt.Sprintf("gemm: B row %d [%d, %d) outside %d elements", p, o, o+n, len(b)))
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
			// A short last panel copies a full width when b has the
			// values (its extra columns are never stored).
			if (cols == nr || maxOff+c0+nr <= len(b)) && packRowsOffAsm(d, b[c0:], off, kcur, nr) {
				continue
			}
			for p, o := range off {
				row := d[p*nr : p*nr+nr]
				copy(row, b[o+c0:o+c0+cols])
				clear(row[cols:])
			}
		}
	}
	j.setEpilogue(&ep)
	j.run()
}
