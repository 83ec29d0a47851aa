package depthwise

import (
	"fmt"

	"github.com/frugal-ml/frugal/impl/gemm"
)

// HWCWeights are depthwise filters repacked tap-major for channels-last
// data: w[t*c + ch] is channel ch's weight at tap t = ky*KW + kx, so the
// weights of one tap for consecutive channels are contiguous, like the
// channels of one input pixel.
type HWCWeights struct {
	c, kh, kw int
	w         []float32
}

// hwcMaxTaps bounds the taps of the assembly path (a fixed tap list per
// output run keeps it allocation-free); larger windows run in Go.
const hwcMaxTaps = 25

// hwcChunk is the channels the assembly path computes for all of a
// worker's pixels before moving on (a multiple of 16).
const hwcChunk = 256

// PackHWC repacks c filters of kh x kw weights given in ONNX order
// (w[ch*kh*kw + ky*kw + kx], i.e. [C,1,KH,KW]) for ConvHWC.
func PackHWC(w []float32, c, kh, kw int) *HWCWeights {
	if c < 0 || kh <= 0 || kw <= 0 || len(w) < c*kh*kw {
		panic(fmt.Sprintf("depthwise: PackHWC: bad filters: %d weights for c %d kh %d kw %d", len(w), c, kh, kw))
	}
	kk := kh * kw
	w2 := make([]float32, kk*c)
	for ch := 0; ch < c; ch++ {
		for t := 0; t < kk; t++ {
			w2[t*c+ch] = w[ch*kk+t]
		}
	}
	return &HWCWeights{c: c, kh: kh, kw: kw, w: w2}
}

// hwcPlan is one ConvHWC call's geometry, shared read-only by the workers.
type hwcPlan struct {
	hw           *HWCWeights
	h, w, oh, ow int
	p            Params
	lo, hi       float32
	fast         bool
	x, bias, out []float32
	k3           hwcK3 // the register-blocked 3x3 kernels' row program (k3.n > 0: they run)
}

// hwcBlocked enables the register-blocked 3x3 kernels (off: the per-pixel
// tap-list kernel; for benchmarks and tests).
var hwcBlocked = true

// hwcSplit forces the 3x3 kernels' thread split (0: by measurement,
// hwcSplitRows; 1: channel blocks; 2: output rows); for benchmarks.
var hwcSplit = 0

// ConvHWC computes, for one image in channels-last layout (x[(iy*w+ix)*c +
// ch]),
//
//	out[(oy*OW+ox)*c + ch] = min(max(bias[ch] + sum_{ky,kx} wts[ch][ky][kx] *
//	    x[oy*SH-PT+ky*DH][ox*SW-PL+kx*DW][ch], lo), hi)
//
// with OH, OW = Out(p, h, w); p.KH, p.KW must match the packed filters.
// Taps outside the h x w plane are skipped (unlike Conv, which multiplies
// padding zeros, an Inf or NaN weight does not poison border outputs). bias
// is nil (zero) or c values. Each output sums bias first, then the valid
// taps in (ky, kx) row-major order; the AVX-512 path (c % 16 == 0, KH*KW <=
// 25) uses fused multiply-adds: 3x3 windows with column stride 1 or 2,
// column dilation 1 and at most 2 padding columns a side run the
// register-blocked kernels (hwc_amd64.go, _asm/hwc.go), other windows the
// per-pixel tap-list kernel. NaN propagates through the clamp as in Conv.
// The work is split over threads workers (gemm.Parallel) by channel blocks
// or output rows (hwcSplitRows); the hot path does not allocate (threads >
// 1 costs the pool's job and one closure per call, as in Conv). lo and hi
// must not be NaN.
func (hw *HWCWeights) ConvHWC(threads int, x []float32, h, w int, p Params, bias []float32, lo, hi float32, out []float32) {
	p = norm(p)
	c := hw.c
	if h < 0 || w < 0 || p.KH != hw.kh || p.KW != hw.kw || p.PT < 0 || p.PL < 0 || p.PB < 0 || p.PR < 0 {
		panic(fmt.Sprintf("depthwise: ConvHWC: bad geometry h %d w %d %+v for %dx%d filters", h, w, p, hw.kh, hw.kw))
	}
	if lo != lo || hi != hi {
		panic("depthwise: NaN clamp bound")
	}
	oh, ow := Out(p, h, w)
	if len(x) < h*w*c || len(out) < oh*ow*c || (bias != nil && len(bias) < c) {
		panic(fmt.Sprintf("depthwise: ConvHWC: short slices: x %d (want %d), out %d (%d), bias %d (%d)",
			len(x), h*w*c, len(out), oh*ow*c, len(bias), c))
	}
	npix := oh * ow
	if c == 0 || npix == 0 {
		return
	}
	pl := hwcPlan{hw: hw, h: h, w: w, oh: oh, ow: ow, p: p, lo: lo, hi: hi,
		fast: h > 0 && w > 0 && p.KH*p.KW <= hwcMaxTaps && hwcFast(c), x: x, bias: bias, out: out}
	t := min(threads, npix)
	if work := c * npix * p.KH * p.KW; work < 1<<14 {
		t = 1
	}
	if pl.prepK3(); pl.k3.n > 0 {
		nb := c / 16
		if t <= 1 {
			pl.runK3(0, nb, 0, oh)
			return
		}
		rows := !pl.k3.packed && hwcSplitRows(c, oh, ow, t)
		if rows {
			t = min(t, oh)
		} else {
			t = min(t, nb)
		}
		shared := &hwcPlan{}
		*shared = pl
		gemm.Parallel(t, func(i int) {
			if rows {
				shared.runK3(0, nb, i*oh/t, (i+1)*oh/t)
			} else {
				shared.runK3(i*nb/t, (i+1)*nb/t, 0, oh)
			}
		})
		return
	}
	if t <= 1 {
		pl.run(0, npix)
		return
	}
	shared := &hwcPlan{}
	*shared = pl
	gemm.Parallel(t, func(i int) {
		shared.run(i*npix/t, (i+1)*npix/t)
	})
}

// hwcSplitRows reports whether the 3x3 kernels split c channels of oh x ow
// outputs over t threads by output rows (else by channel blocks). Channel
// blocks read and write disjoint lines; rows halve what each thread keeps
// of one block, which pays when a block's lines crowd 8 of the 64 L1 sets
// (c % 128 == 0; 256 and up pack instead and split by blocks). Minima of
// 24 runs over 6 minutes, 2 threads, us, blocks / rows: 960ch@7 s1
// 2.67 / 2.97, 576ch@14 s2 2.89 / 3.15, 576ch@14 s1 5.10 / 5.01 (each
// won 12 of 24 adjacent pairs), 384ch@14 s1 4.18 / 4.03 (rows won 23 of
// 24); again with chunks of 4 blocks, min of 12: 3.07 / 3.26, 3.14 /
// 3.22, 5.65 / 5.64, 4.89 / 4.70.
func hwcSplitRows(c, oh, ow, t int) bool {
	switch hwcSplit {
	case 1:
		return false
	case 2:
		return true
	}
	return c%128 == 0 && oh >= 2*t
}

// run computes output pixels [q0, q1) (pixel q = oy*OW + ox).
func (pl *hwcPlan) run(q0, q1 int) {
	if !pl.fast {
		for q := q0; q < q1; q++ {
			pl.pixelGo(q/pl.ow, q%pl.ow)
		}
		return
	}
	p := &pl.p
	c := pl.hw.c
	// Output columns [ix0, ix1) read only columns inside the plane.
	ix0 := min(pl.ow, (p.PL+p.SW-1)/p.SW)
	ix1 := 0
	if last := pl.w - 1 + p.PL - (p.KW-1)*p.DW; last >= 0 {
		ix1 = min(pl.ow, last/p.SW+1)
	}
	var taps [2 * hwcMaxTaps]int // byte offsets: input (from the run's first pixel), weights
	// Channel chunks outermost: one chunk's weights and the input rows it
	// reads stay in L1 across the pixels (960 channels at once do not).
	for c0 := 0; c0 < c; c0 += hwcChunk {
		cn := min(hwcChunk, c-c0)
		var bias *float32
		if pl.bias != nil {
			bias = &pl.bias[c0]
		}
		for q := q0; q < q1; {
			oy, ox := q/pl.ow, q%pl.ow
			run := 1
			if ox >= ix0 && ox < ix1 {
				run = min(ix1-ox, q1-q)
			}
			n := 0
			iy0, ixs := oy*p.SH-p.PT, ox*p.SW-p.PL
			for ky := 0; ky < p.KH; ky++ {
				iy := iy0 + ky*p.DH
				if iy < 0 || iy >= pl.h {
					continue
				}
				for kx := 0; kx < p.KW; kx++ {
					ix := ixs + kx*p.DW
					if ix < 0 || ix >= pl.w {
						continue
					}
					taps[2*n] = 4 * (iy*pl.w + ix) * c
					taps[2*n+1] = 4 * (ky*p.KW + kx) * c
					n++
				}
			}
			// Bounds: the run's last pixel's taps and outputs are inside.
			if n > 0 {
				_ = pl.x[taps[2*n-2]/4+(run-1)*p.SW*c+c-1]
			}
			_ = pl.out[(q+run)*c-1]
			hwcAVX512(&pl.x[c0], &pl.hw.w[c0], &taps[0], n, cn, bias, pl.lo, pl.hi, &pl.out[q*c+c0], run, 4*p.SW*c, 4*c)
			q += run
		}
	}
}

// pixelGo computes output pixel (oy, ox) for any window.
func (pl *hwcPlan) pixelGo(oy, ox int) {
	p := &pl.p
	c := pl.hw.c
	o := pl.out[(oy*pl.ow+ox)*c:][:c]
	if pl.bias != nil {
		copy(o, pl.bias[:c])
	} else {
		clear(o)
	}
	for ky := 0; ky < p.KH; ky++ {
		iy := oy*p.SH - p.PT + ky*p.DH
		if iy < 0 || iy >= pl.h {
			continue
		}
		for kx := 0; kx < p.KW; kx++ {
			ix := ox*p.SW - p.PL + kx*p.DW
			if ix < 0 || ix >= pl.w {
				continue
			}
			xs := pl.x[(iy*pl.w+ix)*c:][:c]
			ws := pl.hw.w[(ky*p.KW+kx)*c:][:c]
			for i := range o {
				o[i] += xs[i] * ws[i]
			}
		}
	}
	for i, v := range o {
		o[i] = min(max(v, pl.lo), pl.hi)
	}
}
