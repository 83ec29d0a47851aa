package ops

import (
	"math"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/ref"
)

// maxPoolPlane is MaxPool over one float32 plane (no indices), separably:
// for each output row, the element-wise max of the window's input rows
// (one pass over full rows, no bounds checks), then the max over each
// window's columns of that row. It matches ref.MaxPool2D, NaN propagation
// included, with branch-free max (random data mispredicts a compare half the
// time; 8-bit pooling converts to float for the same reason, see
// buildMaxPoolInt8). tmp must hold w floats.
//
// At AVX2 and above, assembly kernels (pool_simd_amd64.go) take 3-wide
// windows with left padding 1 at stride 1 or 2 and 2-wide ones at stride 2
// without, of at most 3 rows. They hand a plane holding a NaN back to this
// code, so NaN still wins as in Go's max.
func maxPoolPlane(x []float32, h, w int, p ref.Conv2D, oh, ow int, out, tmp []float32) {
	if h > 0 && w > 0 && oh > 0 && ow > 0 {
		_, _ = x[h*w-1], out[oh*ow-1] // the kernels stay inside both planes
		if maxPoolAsm(poolF32, unsafe.Pointer(&x[0]), unsafe.Pointer(&out[0]), h, w, p, oh, ow) {
			return
		}
	}
	maxPoolPlaneGo(x, h, w, p, oh, ow, out, tmp)
}

// maxPoolPlaneGo is maxPoolPlane in Go, the fallback and reference of the
// assembly kernels.
func maxPoolPlaneGo(x []float32, h, w int, p ref.Conv2D, oh, ow int, out, tmp []float32) {
	negInf := float32(math.Inf(-1))
	tmp = tmp[:w]
	for oy := 0; oy < oh; oy++ {
		or := out[oy*ow : (oy+1)*ow]
		rows, fused := 0, false
		if iy := oy*p.SH - p.PT; p.KH == 3 && iy >= 0 && iy+2*p.DH < h {
			// Three rows inside the image: one fused pass.
			r0 := x[iy*w : (iy+1)*w]
			r1 := x[(iy+p.DH)*w : (iy+p.DH+1)*w]
			r2 := x[(iy+2*p.DH)*w : (iy+2*p.DH+1)*w]
			r1, r2 = r1[:len(r0)], r2[:len(r0)]
			t := tmp[:len(r0)]
			for i, v := range r0 {
				t[i] = max(v, r1[i], r2[i])
			}
			rows, fused = 3, true
		}
		for ky := 0; ky < p.KH && !fused; ky++ {
			iy := oy*p.SH - p.PT + ky*p.DH
			if iy < 0 || iy >= h {
				continue
			}
			xr := x[iy*w : (iy+1)*w]
			if rows == 0 {
				copy(tmp, xr)
			} else {
				t := tmp[:len(xr)]
				for i, v := range xr {
					t[i] = max(t[i], v) // branch-free; NaN wins, as in the reference
				}
			}
			rows++
		}
		if rows == 0 {
			for i := range or {
				or[i] = negInf
			}
			continue
		}
		ox0 := 0
		if p.KW == 3 && p.DW == 1 {
			// Common 3-wide windows: interior outputs without bounds tests.
			for ox := range or {
				ix := ox*p.SW - p.PL
				if ix < 0 {
					continue
				}
				if ix+3 > w {
					break
				}
				t3 := tmp[ix : ix+3 : ix+3]
				or[ox] = max(t3[0], t3[1], t3[2])
			}
			// Edges (left padding and right border) take the general loop.
			for ox0 < len(or) && ox0*p.SW-p.PL < 0 {
				ox0++
			}
			rest := or[:ox0]
			for ox := range rest {
				or[ox] = windowMax(tmp, ox*p.SW-p.PL, p.KW, p.DW, w, negInf)
			}
			for ox := len(or) - 1; ox >= 0 && ox*p.SW-p.PL+3 > w; ox-- {
				or[ox] = windowMax(tmp, ox*p.SW-p.PL, p.KW, p.DW, w, negInf)
			}
			continue
		}
		for ox := range or {
			or[ox] = windowMax(tmp, ox*p.SW-p.PL, p.KW, p.DW, w, negInf)
		}
	}
}

// windowMax is the max of row[ix + k*dw] for k < kw, skipping columns
// outside [0, w).
func windowMax(row []float32, ix, kw, dw, w int, m float32) float32 {
	for k := 0; k < kw; k, ix = k+1, ix+dw {
		if ix >= 0 && ix < w {
			m = max(m, row[ix])
		}
	}
	return m
}
