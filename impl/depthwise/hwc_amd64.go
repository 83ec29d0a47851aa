//go:build amd64 && !purego

package depthwise

import "github.com/frugal-ml/frugal/impl/cpu"

// hwcFast reports whether ConvHWC's AVX-512 kernel runs for c channels.
func hwcFast(c int) bool { return cpu.Current() >= cpu.AVX512 && c%16 == 0 }

// hwcAVX512 computes c channels (c % 16 == 0) of npix output pixels ostep
// bytes apart at out,
// consecutive, whose inputs are xstep bytes apart: out = clamp(bias (nil:
// zero) + sum over the n taps of x[xoff+ch] * w[woff+ch]), taps holding n
// (xoff, woff) byte-offset pairs for the first pixel, in summation order.
//
//go:noescape
func hwcAVX512(x, w *float32, taps *int, n, c int, bias *float32, lo, hi float32, out *float32, npix, xstep, ostep int)

// hwcK3 is the row program of the register-blocked 3x3 kernels
// (hwc3x3s1_avx512, hwc3x3s2_avx512; _asm/hwc.go): one output row's groups.
type hwcK3 struct {
	groups [hwcMaxGroups]hwcGroup
	n      int // groups per row; 0: the kernels do not run
}

// prepK3 fills pl.k3 when the 3x3 kernels take pl's geometry: the fast
// path (c % 16 == 0, AVX-512), a 3x3 window with column dilation 1,
// column stride 1 or 2 (rows: any stride and dilation), at most 2 padding
// columns on either side, so that only a group's two first and two last
// input columns can be padding (checked here column by column).
func (pl *hwcPlan) prepK3() {
	pl.k3.n = 0
	p := &pl.p
	if !pl.fast || !hwcBlocked || p.KH != 3 || p.KW != 3 || p.DW != 1 || (p.SW != 1 && p.SW != 2) || p.PL > 2 || p.PR > 2 {
		return
	}
	// Balanced groups of at most hwcMaxG outputs (7x7: one group of 7,
	// 14x14: 7 + 7, 28x28: 4 x 7).
	ng := (pl.ow + hwcMaxG - 1) / hwcMaxG
	if ng > hwcMaxGroups {
		return
	}
	cb := 4 * pl.hw.c
	ox := 0
	for g := 0; g < ng; g++ {
		n := (pl.ow - ox) / (ng - g)
		if (pl.ow-ox)%(ng-g) != 0 {
			n++
		}
		ix0 := ox*p.SW - p.PL
		gr := &pl.k3.groups[g]
		*gr = hwcGroup{xoff: ix0 * cb, ooff: ox * cb, n: n}
		slots := hwcSlotCols(n, p.SW)
		for j := 0; j < p.SW*(n-1)+3; j++ {
			in := ix0+j >= 0 && ix0+j < pl.w
			slot := false
			for s, sc := range slots {
				if sc == j {
					slot = true
					gr.soff[s] = min(max(ix0+j, 0), pl.w-1) * cb
					if in {
						gr.mask[s] = 0xffff
					}
				}
			}
			if !slot && !in {
				return // cannot happen with PL, PR <= 2
			}
		}
		ox += n
	}
	pl.k3.n = ng
}

// hwcPairs lets the 3x3 kernels compute two output rows per pass (off: one;
// for benchmarks).
var hwcPairs = true

// runK3 computes channel blocks [b0, b1) (16 channels each) of output rows
// [oy0, oy1) with the 3x3 kernels.
func (pl *hwcPlan) runK3(b0, b1, oy0, oy1 int) {
	if b0 >= b1 || oy0 >= oy1 {
		return
	}
	c := pl.hw.c
	p := &pl.p
	a := hwcArgs{
		x: &pl.x[16*b0], w: &pl.hw.w[16*b0], out: &pl.out[16*b0],
		groups: &pl.k3.groups[0], ngroups: pl.k3.n, blocks: b1 - b0,
		cb: uintptr(4 * c), rs: uintptr(4 * pl.w * c), tapStep: uintptr(4 * p.DH * pl.w * c),
		ors: uintptr(4 * pl.ow * c), h: pl.h, sh: p.SH, dh: p.DH, pt: p.PT,
		oy0: oy0, oy1: oy1, lo: pl.lo, hi: pl.hi,
	}
	if pl.bias != nil {
		a.bias = &pl.bias[16*b0]
	}
	if p.DH == 1 && p.SH == p.SW && hwcPairs {
		a.pair = 1
	}
	if p.SW == 1 {
		hwc3x3s1_avx512(&a)
	} else {
		hwc3x3s2_avx512(&a)
	}
}
