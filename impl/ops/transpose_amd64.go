//go:build amd64 && !purego

package ops

import (
	"unsafe"

	"github.com/frugal-ml/frugal/impl/cpu"
)

//go:noescape
func transposeOut16(dst, src *float32, ldd, lds uintptr, tiles int, add bool, lo, hi float32)

func haveTransposeOut() bool { return cpu.Current() >= cpu.AVX512 }

// transposeOut stores 16 pixels x channels (a multiple of 16) of t (pixel
// rows ldt apart) into dst as channel rows ldd apart: dst[c*ldd+p] =
// clamp(t[p*ldt+c] (+ dst[c*ldd+p] when add), lo, hi).
func transposeOut(dst, t []float32, ldd, ldt, channels int, add bool, lo, hi float32) {
	if channels <= 0 {
		return
	}
	// Bounds: the last element read and written.
	_ = t[15*ldt+channels-1]
	_ = dst[(channels-1)*ldd+15]
	if !haveTransposeOut() {
		transposeOutGo(dst, t, ldd, ldt, channels, add, lo, hi)
		return
	}
	const f = unsafe.Sizeof(float32(0))
	transposeOut16(&dst[0], &t[0], uintptr(ldd)*f, uintptr(ldt)*f, channels/16, add, lo, hi)
}
