// Package depthwise is direct depthwise convolution for float32 NCHW data:
// group == Cin == Cout, one KH x KW filter per channel, as in MobileNet.
//
// im2col + GEMM is a poor fit for it (one output row per channel GEMM), so
// the package slides the window directly:
//
//   - 3x3, stride 1 or 2 (in both directions), dilation 1, any padding run
//     generated assembly kernels (AVX-512: 16 output columns per block;
//     AVX2 + FMA: 8, also used at the AVX-512 level when OW <= 8). Stride 1
//     computes two output rows per pass from four input rows, AVX-512
//     stride 2 two rows from five; stride 2 deinterleaves even/odd columns
//     with shuffles (AVX-512: cross-lane, two loads per input row in full
//     blocks). A kernel call
//     covers many planes: it loops over planes, rows and column blocks
//     itself; padding rows read a shared zero row and padding columns are
//     masked lanes, so no border is left to Go. See _asm/depthwise.go.
//   - everything else (other kernel sizes, strides, dilations; the purego
//     build; FRUGAL_NOASM=1 or a level forced below AVX2) runs in Go: a 3x3
//     register kernel over the interior of 3x3 dilation-1 convolutions, and
//     a row-accumulating kernel for other windows.
//
// Bias and a clamp are fused into the store: out = min(max(acc, lo), hi),
// with lo = -Inf, hi = +Inf for none, 0, +Inf for ReLU and 0, 6 for ReLU6.
//
// NaN: a NaN input (or weight, or bias) that reaches an output through a tap
// makes that output NaN whatever the clamp; the clamps keep NaN (the
// assembly puts the accumulator in the NaN-propagating operand of
// VMAXPS/VMINPS, Go uses its NaN-propagating min/max). Padding is read as
// zero and multiplied like any input, so an infinite or NaN weight poisons
// the outputs whose window overlaps the padding (0 * Inf = NaN), as in the
// pad-then-convolve definition.
//
// 8-bit: Q8 (q8.go) convolves uint8/int8 codes directly and requantizes
// them (QLinearConv's depthwise layers), with VPERMB + VPDPBUSD on
// AVX512-VBMI/VNNI (q8_amd64.s) and a Go version elsewhere.
//
// -0: the assembly's ReLU keeps the sign of a -0 sum (max(0, -0) returns
// the second operand), Go's max returns +0; both compare equal.
package depthwise

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/impl/cpu"
	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/impl/ref"
)

// Params is the convolution window: kernel KH x KW, strides SH, SW,
// padding top, left, bottom, right, dilations DH, DW. Zero strides and
// dilations mean 1.
type Params = ref.Conv2D

// Clamp bounds for no activation.
var (
	NoLo = float32(math.Inf(-1))
	NoHi = float32(math.Inf(1))
)

func norm(p Params) Params {
	if p.SH <= 0 {
		p.SH = 1
	}
	if p.SW <= 0 {
		p.SW = 1
	}
	if p.DH <= 0 {
		p.DH = 1
	}
	if p.DW <= 0 {
		p.DW = 1
	}
	return p
}

// Out returns the output height and width of an h x w input (zero when the
// window does not fit even once).
func Out(p Params, h, w int) (oh, ow int) {
	p = norm(p)
	eh := h + p.PT + p.PB - ((p.KH-1)*p.DH + 1)
	ew := w + p.PL + p.PR - ((p.KW-1)*p.DW + 1)
	if eh < 0 || ew < 0 {
		return 0, 0
	}
	return eh/p.SH + 1, ew/p.SW + 1
}

// plan is one call's geometry, shared read-only by the workers.
type plan struct {
	c, h, w, oh, ow int
	p               Params
	lo, hi          float32
	asm             asmKind
}

// Conv computes, for every image i < n and channel ch < c,
//
//	out[i][ch][oy][ox] = min(max(bias[ch] + sum_{ky,kx} wts[ch][ky][kx] *
//	    x[i][ch][oy*SH-PT+ky*DH][ox*SW-PL+kx*DW], lo), hi)
//
// with inputs outside the h x w plane read as zero. x holds n*c*h*w values,
// wts c*KH*KW, bias c values or nil (zero), out n*c*OH*OW with OH, OW =
// Out(p, h, w). Planes are split over threads workers (the GEMM helper
// pool); the hot path does not allocate (threads > 1 costs the pool's job
// and one closure per call). lo and hi must not be NaN.
func Conv(threads int, x []float32, n, c, h, w int, p Params, wts, bias []float32, lo, hi float32, out []float32) {
	p = norm(p)
	if n < 0 || c < 0 || h < 0 || w < 0 || p.KH <= 0 || p.KW <= 0 || p.PT < 0 || p.PL < 0 || p.PB < 0 || p.PR < 0 {
		panic(fmt.Sprintf("depthwise: bad geometry n %d c %d h %d w %d %+v", n, c, h, w, p))
	}
	if lo != lo || hi != hi {
		panic("depthwise: NaN clamp bound")
	}
	oh, ow := Out(p, h, w)
	np := n * c
	if len(x) < np*h*w || len(wts) < c*p.KH*p.KW || len(out) < np*oh*ow || (bias != nil && len(bias) < c) {
		panic(fmt.Sprintf("depthwise: short slices: x %d (want %d), wts %d (%d), out %d (%d), bias %d (%d)",
			len(x), np*h*w, len(wts), c*p.KH*p.KW, len(out), np*oh*ow, len(bias), c))
	}
	if np == 0 || oh == 0 || ow == 0 {
		return
	}
	pl := plan{c: c, h: h, w: w, oh: oh, ow: ow, p: p, lo: lo, hi: hi}
	if h > 0 && w > 0 {
		pl.asm = asmFor(cpu.Current(), &pl)
	}
	t := min(threads, np)
	// Tiny problems are not worth waking a helper.
	if work := np * oh * ow * p.KH * p.KW; work < 1<<14 {
		t = 1
	}
	if t <= 1 {
		pl.run(x, wts, bias, out, 0, np)
		return
	}
	shared := &plan{}
	*shared = pl
	if pl.asm != asmNone && n == 1 && rowBands && oh*ow >= rowBandMinPixels && oh >= 4*threads {
		// Row bands: each goroutine all channels of its rows, the rows
		// the convolution before it (split by rows or output positions)
		// most likely left in its own core's cache.
		t = threads
		gemm.Parallel(t, func(i int) {
			shared.runAsmRows(x, wts, bias, out, c, i*oh/t, (i+1)*oh/t)
		})
		return
	}
	gemm.Parallel(t, func(i int) {
		shared.run(x, wts, bias, out, i*np/t, (i+1)*np/t)
	})
}

// rowBands splits large single-image maps by output rows instead of by
// channels (rowBandMinPixels and up); off for benchmarks and tests.
var rowBands = true

const rowBandMinPixels = 112 * 112

// run computes planes [q0, q1) (plane q = image q/c, channel q%c).
func (pl *plan) run(x, wts, bias, out []float32, q0, q1 int) {
	plane, oplane := pl.h*pl.w, pl.oh*pl.ow
	kk := pl.p.KH * pl.p.KW
	for q := q0; q < q1; {
		ch := q % pl.c
		cnt := min(q1-q, pl.c-ch) // same image: consecutive channels
		if pl.asm != asmNone {
			pl.runAsm(x[q*plane:(q+cnt)*plane], wts[ch*kk:(ch+cnt)*kk], biasAt(bias, ch, cnt), out[q*oplane:(q+cnt)*oplane], cnt)
		} else {
			for k := 0; k < cnt; k++ {
				var b float32
				if bias != nil {
					b = bias[ch+k]
				}
				xs := x[(q+k)*plane : (q+k+1)*plane]
				os := out[(q+k)*oplane : (q+k+1)*oplane]
				ws := wts[(ch+k)*kk : (ch+k+1)*kk]
				if pl.p.KH == 3 && pl.p.KW == 3 && pl.p.DH == 1 && pl.p.DW == 1 {
					pl.plane3x3(xs, ws, b, os)
				} else {
					pl.planeGeneric(xs, ws, b, os)
				}
			}
		}
		q += cnt
	}
}

func biasAt(bias []float32, ch, cnt int) []float32 {
	if bias == nil {
		return nil
	}
	return bias[ch : ch+cnt]
}
