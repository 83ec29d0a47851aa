package gemm

import (
	"fmt"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
)

// B read in place from channel-interleaved planes.
//
// A convolution's implicit im2col (see QGemmPackedAOffsets) still packs B:
// the four k of a VNNI group come from four channel planes and must be
// interleaved into each column's dword, once per GEMM column, per filter
// tap. If the input planes are themselves interleaved four channels deep
// ("C4": plane q holds channels 4q..4q+3, four bytes per position), the
// group (tap t, channels 4q..4q+3) of output position j is the dword at
// plane q, position off(t)+j: B is the C4 planes read at a per-group byte
// offset, and the kernel loads its two vectors straight from there (the
// "rqo" kernels). Interleaving costs one pass over the input; packing cost
// one pass per tap.

// qgemmRQO is the offset-B kernel with the requantizing store fused, nil
// where the machine has none (it needs AVX512-VNNI and AVX512-VBMI).
var qgemmRQO func(rows, kg int, a, b unsafe.Pointer, goff *int, f *qfin)

// QC4Ready reports whether QGemmPackedAC4 runs for weights pa with uint8
// output requantized per row: the machine has the kernels, pa is signed
// int8 with zero points 0 (symmetric weights, so B's column sums never
// enter) and its K is made of whole 4-byte groups.
func QC4Ready(pa *PackedQA) bool {
	if qgemmRQO == nil || noQC4 || pa.kn.kernRQ == nil || pa.kn.g != 4 || pa.kn.mr > 14 || pa.unsign || pa.k%4 != 0 || !cpu.Active().AVX512VBMI {
		return false
	}
	for _, z := range pa.za {
		if z != 0 {
			return false
		}
	}
	return true
}

// noQC4 turns QGemmPackedAC4 off (QC4Ready false) for tests and benchmarks.
var noQC4 = false

// SetQC4 turns the C4 path on or off and returns the previous setting.
func SetQC4(on bool) bool {
	prev := !noQC4
	noQC4 = !on
	return prev
}

// QC4Cols is the column granularity of QGemmPackedAC4's kernels: B must
// stay readable for roundUp(n, QC4Cols) positions (4 bytes each) past
// every group's offset.
const QC4Cols = 32

// QGemmPackedAC4 computes, on the calling goroutine, the n columns of
// C = requant(A x B) for weights pa (m x k,
// QC4Ready) and B given as uint8 bytes with zero point zb: for VNNI group
// g = p/4, B[p][j] = b[goff[g] + 4j + p%4]. The epilogue is per row
// (ep.PerRow, one scale per row or one for all), output bytes; C rows are
// ldc bytes apart.
func QGemmPackedAC4[TC int8 | uint8](pa *PackedQA, n int, b []byte, goff []int, zb int32, c []TC, ldc int, ep QEpilogue) {
	if !QC4Ready(pa) {
		panic("gemm: QGemmPackedAC4 on weights it cannot run (see QC4Ready)")
	}
	kg := pa.k / 4
	if len(goff) != kg {
		panic(fmt.Sprintf("gemm: %d group offsets for K = %d", len(goff), pa.k))
	}
	if !ep.PerRow {
		panic("gemm: QGemmPackedAC4 needs a per-row epilogue")
	}
	if n <= 0 || pa.m == 0 {
		return
	}
	ncols := roundUp(n, QC4Cols)
	if ldc < n || len(c) < (pa.m-1)*ldc+n {
		panic(fmt.Sprintf("gemm: QGemmPackedAC4 C of %d bytes, ldc %d for %d x %d", len(c), ldc, pa.m, n))
	}
	for g, o := range goff {
		if o < 0 || o+4*ncols > len(b) {
			panic(fmt.Sprintf("gemm: B group %d [%d, %d) outside %d bytes", g, o, o+4*ncols, len(b)))
		}
	}
	j := &qjob{m: pa.m, n: n}
	setQOut(j, c, ldc, &ep)
	mr := pa.kn.mr
	var f qfin
	f.setBounds(j.zp, j.lo, j.hi)
	var colAdd [QC4Cols]int32
	f.colAdd = &colAdd[0]
	// Per row: bias - zb * rowSum(A) (za = 0 leaves no other term).
	ws := getQWS()
	defer putQWS(ws)
	ws.rowAdd = growI32(ws.rowAdd, roundUp(pa.m, mr))
	rowAdd := ws.rowAdd
	for r := 0; r < pa.m; r++ {
		v := -zb * pa.rowSum[r]
		if j.bias != nil {
			v += j.bias[r]
		}
		rowAdd[r] = v
	}
	bp := unsafe.Pointer(unsafe.SliceData(b))
	out := unsafe.Pointer(unsafe.SliceData(c))
	// A last partial block of columns goes through a scratch tile.
	var tail [14 * QC4Cols]TC
	for jr := 0; jr < n; jr += QC4Cols {
		bj := unsafe.Add(bp, 4*jr)
		cols := min(QC4Cols, n-jr)
		f.ldo = uintptr(ldc)
		if cols < QC4Cols {
			f.ldo = QC4Cols
		}
		for ir := 0; ir < pa.m; ir += mr {
			rows := min(mr, pa.m-ir)
			f.rowAdd, f.scale = &rowAdd[ir], &j.scale[ir]
			f.out = unsafe.Add(out, ir*ldc+jr)
			if cols < QC4Cols {
				f.out = unsafe.Pointer(&tail[0])
			}
			qgemmRQO(rows, kg, unsafe.Pointer(&pa.data[ir*pa.kpad]), bj, &goff[0], &f)
			if cols < QC4Cols {
				for r := 0; r < rows; r++ {
					copy(c[(ir+r)*ldc+jr:(ir+r)*ldc+jr+cols], tail[r*QC4Cols:r*QC4Cols+cols])
				}
			}
		}
	}
}
