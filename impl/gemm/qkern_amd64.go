//go:build amd64 && !purego

package gemm

import (
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
)

func init() {
	qgemmRQO = func(rows, kg int, a, b unsafe.Pointer, goff *int, f *qfin) {
		qgemmKernelsRQO_vnni[rows](kg, a, b, goff, f)
	}
}

// qasmKernels lists the assembly int8 kernels, best first.
var qasmKernels = []*qkern{
	{
		level: cpu.AVX512, name: "vnni-14x32", mr: 14, nr: 32, g: 4,
		mc: 14 * 16, nc: 512,
		kern: func(kn *qkern, au bool, rows, cols, kg int, a, b unsafe.Pointer, t *int32) {
			nv := (cols + 15) / 16
			i := 0
			if au {
				i = 1
			}
			qgemmKernels_vnni[i][rows][nv](kg, a, b, t, 32*4)
		},
		kernD: func(kn *qkern, au bool, rows, cols, kg int, a unsafe.Pointer, lda int, b unsafe.Pointer, t *int32) {
			i := 0
			if au {
				i = 1
			}
			qgemmKernelsDirect_vnni[i][rows][(cols+15)/16](kg, a, uintptr(lda), b, t, 32*4)
		},
		kernCol: func(au bool, rows, cols, kg int, a, b unsafe.Pointer, t *int32) {
			i := 0
			if au {
				i = 1
			}
			qgemmColKernels_vnni[i][cols](kg, a, b, t, rows)
		},
		kernRQ: func(au bool, rows, nv, kg int, a, b unsafe.Pointer, f *qfin) {
			i := 0
			if au {
				i = 1
			}
			qgemmKernelsRQ_vnni[i][rows][nv](kg, a, b, f)
		},
		colMax: 8, vec: 16,
		finish: qfinish_avx512,
	},
	{
		level: cpu.AVX2, name: "avx2-6x16-i16", mr: 6, nr: 16, g: 2, wide: true,
		mc: 6 * 32, nc: 512,
		kern: func(kn *qkern, au bool, rows, cols, kg int, a, b unsafe.Pointer, t *int32) {
			qgemmKernels_avx2[rows][(cols+7)/8](kg, a, b, t, 16*4)
		},
		finish: func(f *qfin) { qfinishSplit(f, 8, qfinish_avx2) },
	},
}
