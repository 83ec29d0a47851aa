//go:build amd64 && !purego

package gemm

import "github.com/frugal-ml/frugal/impl/cpu"

//go:noescape
func cvtPH2PS(dst *float32, src *uint16, n int)

//go:noescape
func cvtPS2PH(dst *uint16, src *float32, n int)

func halfToFloat32sAsm(dst []float32, src []uint16) int {
	if !cpu.Active().F16C || len(src) < 8 {
		return 0
	}
	n := len(src) &^ 7
	cvtPH2PS(&dst[0], &src[0], n)
	return n
}

func halfFromFloat32sAsm(dst []uint16, src []float32) int {
	if !cpu.Active().F16C || len(src) < 8 {
		return 0
	}
	n := len(src) &^ 7
	cvtPS2PH(&dst[0], &src[0], n)
	return n
}
