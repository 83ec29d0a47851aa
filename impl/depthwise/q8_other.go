//go:build !amd64 || purego

package depthwise

func q8Native(*Q8) bool { return false }

func q8Asm(*Q8, Params, int, int, []byte, int, int, []byte) {
	panic("depthwise: no assembly kernels in this build")
}
