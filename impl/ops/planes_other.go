//go:build !amd64 || purego

package ops

func planeRowsAsm(plane []byte, zx byte, at int, src []byte, rows, w, ds, ss, sx int) bool {
	return false
}

func copyRowsAsm(dst, src []byte, rows, w, ds, ss int) bool { return false }

func planeRowsF32Asm(plane []float32, at int, src []float32, rows, w, ds, ss, sx int) bool {
	return false
}

func interleave4Asm(dst, src []byte, n, stride int) int { return 0 }

func planesRowsAsm(dst []byte, dstPlane int, zx byte, at int, src []byte, srcPlane, count, rows, w, ds, ss, sx int) bool {
	return false
}
