//go:build !amd64 || purego

package ops

func haveTransposeOut() bool { return false }

func transposeOut(dst, t []float32, ldd, ldt, channels int, add bool, lo, hi float32) {
	transposeOutGo(dst, t, ldd, ldt, channels, add, lo, hi)
}
