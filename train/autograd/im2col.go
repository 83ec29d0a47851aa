package autograd

import "github.com/frugal-ml/frugal/impl/ref"

// im2col is ref.Im2Col with whole-row copies: for each kernel tap and output
// row it copies (stride 1) or gathers (stride > 1) the valid range of
// columns and zero-fills the padding on either side, instead of testing
// every element. Same output as ref.Im2Col.
func im2col(x []float32, c, h, w int, p ref.Conv2D, col []float32) {
	oh, ow := p.Out(h, w)
	ohw := oh * ow
	row := 0
	for ci := 0; ci < c; ci++ {
		xc := x[ci*h*w : (ci+1)*h*w]
		for ky := 0; ky < p.KH; ky++ {
			for kx := 0; kx < p.KW; kx++ {
				dst := col[row*ohw : (row+1)*ohw]
				row++
				// valid output columns: 0 <= ox*SW - PL + kx*DW < w
				off := kx*p.DW - p.PL
				lo, hi := validRange(off, p.SW, w, ow)
				for oy := 0; oy < oh; oy++ {
					d := dst[oy*ow : (oy+1)*ow]
					iy := oy*p.SH - p.PT + ky*p.DH
					if iy < 0 || iy >= h {
						clear(d)
						continue
					}
					clear(d[:lo])
					clear(d[hi:])
					xr := xc[iy*w : (iy+1)*w]
					if p.SW == 1 {
						copy(d[lo:hi], xr[lo+off:hi+off])
						continue
					}
					ix := lo*p.SW + off
					for ox := lo; ox < hi; ox++ {
						d[ox] = xr[ix]
						ix += p.SW
					}
				}
			}
		}
	}
}

// col2im is the adjoint of im2col (ref.Col2Im): it adds col into dx.
func col2im(col []float32, c, h, w int, p ref.Conv2D, dx []float32) {
	oh, ow := p.Out(h, w)
	ohw := oh * ow
	row := 0
	for ci := 0; ci < c; ci++ {
		xc := dx[ci*h*w : (ci+1)*h*w]
		for ky := 0; ky < p.KH; ky++ {
			for kx := 0; kx < p.KW; kx++ {
				src := col[row*ohw : (row+1)*ohw]
				row++
				off := kx*p.DW - p.PL
				lo, hi := validRange(off, p.SW, w, ow)
				if lo >= hi {
					continue
				}
				for oy := 0; oy < oh; oy++ {
					iy := oy*p.SH - p.PT + ky*p.DH
					if iy < 0 || iy >= h {
						continue
					}
					s := src[oy*ow : (oy+1)*ow]
					xr := xc[iy*w : (iy+1)*w]
					if p.SW == 1 {
						d := xr[lo+off : hi+off]
						for i, v := range s[lo:hi] {
							d[i] += v
						}
						continue
					}
					ix := lo*p.SW + off
					for ox := lo; ox < hi; ox++ {
						xr[ix] += s[ox]
						ix += p.SW
					}
				}
			}
		}
	}
}

// validRange returns [lo, hi) of output columns ox with 0 <= ox*s+off < w,
// clamped to [0, ow).
func validRange(off, s, w, ow int) (int, int) {
	lo := 0
	if off < 0 {
		lo = (-off + s - 1) / s
	}
	hi := 0
	if w-off > 0 {
		hi = (w - off + s - 1) / s // first ox with ox*s+off >= w
	}
	if hi > ow {
		hi = ow
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}
