//go:build amd64 && !purego

package convert

import "github.com/frugal-ml/frugal/arith/internal/cpu"

// The QLinearAdd kernels process n elements, n a multiple of 16; Go
// finishes the tail.
//
//go:noescape
func qaddAVX512(dst, a, b *uint8, n int, p *qaddArgs)

//go:noescape
func qaddAVX2(dst, a, b *uint8, n int, p *qaddArgs)

// requantAVX512 does whole rows (a masked block ends each row);
// requantAVX2 does the first cols&^7 values of each row, Go the rest.
// bias advances by bstep bytes per row (0: one shared value).
//
//go:noescape
func requantAVX512(dst *uint8, src *float32, rows, cols int, bias *int32, bstep int, mult *float32, zp int32, lo, hi float32)

//go:noescape
func requantAVX2(dst *uint8, src *float32, rows, cols int, bias *int32, bstep int, mult *float32, zp int32, lo, hi float32)

var zeroBias int32

func biasArg(bias []int32) (*int32, int) {
	if bias == nil {
		return &zeroBias, 0
	}
	return &bias[0], 4
}

func registerFusedAsm(r map[string]fusedKernels) string {
	if !cpu.AVX2 {
		return "go"
	}
	r["avx2"] = fusedKernels{
		qadd: func(dst, a, b []uint8, p *qaddArgs) {
			n := len(a) &^ 15
			if n > 0 {
				qaddAVX2(&dst[0], &a[0], &b[0], n, p)
			}
			qaddScalar(dst[n:], a[n:], b[n:], p)
		},
		requant: func(dst []uint8, src []float32, rows, cols int, bias []int32, mult []float32, zp int32, lo, hi float32) {
			n := cols &^ 7
			if n > 0 {
				b, bs := biasArg(bias)
				requantAVX2(&dst[0], &src[0], rows, cols, b, bs, &mult[0], zp, lo, hi)
			}
			if n == cols {
				return
			}
			for r := 0; r < rows; r++ {
				requantRowGo(dst[r*cols+n:(r+1)*cols], src[r*cols+n:(r+1)*cols], biasOf(bias, r), mult[r], zp, lo, hi)
			}
		},
	}
	if !cpu.AVX512F {
		return "avx2"
	}
	r["avx512"] = fusedKernels{
		qadd: func(dst, a, b []uint8, p *qaddArgs) {
			n := len(a) &^ 15
			if n > 0 {
				qaddAVX512(&dst[0], &a[0], &b[0], n, p)
			}
			qaddScalar(dst[n:], a[n:], b[n:], p)
		},
		requant: func(dst []uint8, src []float32, rows, cols int, bias []int32, mult []float32, zp int32, lo, hi float32) {
			b, bs := biasArg(bias)
			requantAVX512(&dst[0], &src[0], rows, cols, b, bs, &mult[0], zp, lo, hi)
		},
	}
	return "avx512"
}
