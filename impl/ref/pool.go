package ref

import "math"

// MaxPool2D pools one plane x[h][w] into out[oh][ow]; when arg is non-nil it
// records the flat index (within the plane) of each maximum, for backward.
// Padding never wins (it is -inf).
func MaxPool2D(x []float32, h, w int, p Conv2D, oh, ow int, out []float32, arg []int32) {
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			best := float32(math.Inf(-1))
			bi := int32(-1)
			for ky := 0; ky < p.KH; ky++ {
				iy := oy*p.SH - p.PT + ky*p.DH
				if iy < 0 || iy >= h {
					continue
				}
				for kx := 0; kx < p.KW; kx++ {
					ix := ox*p.SW - p.PL + kx*p.DW
					if ix < 0 || ix >= w {
						continue
					}
					v := x[iy*w+ix]
					if v > best || bi < 0 || v != v {
						best, bi = v, int32(iy*w+ix)
						if v != v {
							break
						}
					}
				}
			}
			out[oy*ow+ox] = best
			if arg != nil {
				arg[oy*ow+ox] = bi
			}
		}
	}
}

// AvgPool2D averages windows of one plane. countPad includes padding cells
// in the divisor (ONNX count_include_pad=1); cells beyond the padded input
// (from ceil_mode) never count.
func AvgPool2D(x []float32, h, w int, p Conv2D, oh, ow int, countPad bool, out []float32) {
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			var s float32
			cnt := 0
			for ky := 0; ky < p.KH; ky++ {
				iy := oy*p.SH - p.PT + ky*p.DH
				for kx := 0; kx < p.KW; kx++ {
					ix := ox*p.SW - p.PL + kx*p.DW
					inside := iy >= 0 && iy < h && ix >= 0 && ix < w
					if inside {
						s += x[iy*w+ix]
						cnt++
					} else if countPad && iy >= -p.PT && iy < h+p.PB && ix >= -p.PL && ix < w+p.PR {
						cnt++
					}
				}
			}
			if cnt > 0 {
				out[oy*ow+ox] = s / float32(cnt)
			} else {
				out[oy*ow+ox] = 0
			}
		}
	}
}

// AvgPool2DBackward spreads dout back over the windows (countPad as in
// forward). dx must be zeroed by the caller.
func AvgPool2DBackward(dout []float32, h, w int, p Conv2D, oh, ow int, countPad bool, dx []float32) {
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			cnt := 0
			for ky := 0; ky < p.KH; ky++ {
				iy := oy*p.SH - p.PT + ky*p.DH
				for kx := 0; kx < p.KW; kx++ {
					ix := ox*p.SW - p.PL + kx*p.DW
					if iy >= 0 && iy < h && ix >= 0 && ix < w {
						cnt++
					} else if countPad && iy >= -p.PT && iy < h+p.PB && ix >= -p.PL && ix < w+p.PR {
						cnt++
					}
				}
			}
			if cnt == 0 {
				continue
			}
			g := dout[oy*ow+ox] / float32(cnt)
			for ky := 0; ky < p.KH; ky++ {
				iy := oy*p.SH - p.PT + ky*p.DH
				if iy < 0 || iy >= h {
					continue
				}
				for kx := 0; kx < p.KW; kx++ {
					ix := ox*p.SW - p.PL + kx*p.DW
					if ix >= 0 && ix < w {
						dx[iy*w+ix] += g
					}
				}
			}
		}
	}
}
