//go:build !amd64 || purego

package depthwise

func hwcFast(c int) bool { return false }

func hwcAVX512(x, w *float32, taps *int, n, c int, bias *float32, lo, hi float32, out *float32, npix, xstep, ostep int) {
	panic("depthwise: no assembly kernels in this build")
}

// hwcK3 is empty: no register-blocked kernels in this build.
type hwcK3 struct {
	n      int
	packed bool
}

func (pl *hwcPlan) prepK3() {}

func (pl *hwcPlan) runK3(b0, b1, oy0, oy1 int) {
	panic("depthwise: no assembly kernels in this build")
}

// hwcForcePack overrides the packing rule in tests (no effect here).
var hwcForcePack = 0

// hwcChunkBlocks is the kernels' channel blocks per pass (no effect here).
var hwcChunkBlocks = 4
