package ops

import (
	"math"

	"github.com/frugal-ml/frugal/impl/ref"
)

// maxPoolPlane is MaxPool over one float32 plane (no indices), separably:
// for each output row, the element-wise max of the window's input rows
// (one pass over full rows, no bounds checks), then the max over each
// window's columns of that row. It matches ref.MaxPool2D, NaN propagation
// included, with branch-free max (random data mispredicts a compare half the time).
// tmp must hold w floats.
func maxPoolPlane[T float32 | uint8 | int8](x []T, h, w int, p ref.Conv2D, oh, ow int, out, tmp []T) {
	negInf := lowest[T]()
	tmp = tmp[:w]
	for oy := 0; oy < oh; oy++ {
		or := out[oy*ow : (oy+1)*ow]
		rows := 0
		for ky := 0; ky < p.KH; ky++ {
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
		for ox := range or {
			m := negInf
			ix := ox*p.SW - p.PL
			for kx := 0; kx < p.KW; kx, ix = kx+1, ix+p.DW {
				if ix < 0 || ix >= w {
					continue
				}
				m = max(m, tmp[ix])
			}
			or[ox] = m
		}
	}
}

// lowest is the identity of max for T: -Inf for float32, the smallest code
// for 8-bit integers (quantized MaxPool works on codes directly, since
// dequantization is monotonic).
func lowest[T float32 | uint8 | int8]() T {
	var z T
	switch any(z).(type) {
	case float32:
		return T(float32(math.Inf(-1)))
	case int8:
		v := int8(math.MinInt8)
		return T(v)
	}
	return 0
}
