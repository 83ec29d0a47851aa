//go:build !amd64 || purego

package depthwise

func hwcFast(c int) bool { return false }

func hwcAVX512(x, w *float32, taps *int, n, c int, bias *float32, lo, hi float32, out *float32, npix, xstep, ostep int) {
	panic("depthwise: no assembly kernels in this build")
}
