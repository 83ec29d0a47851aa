package ref

// Conv2D describes a 2-D convolution window: kernel, stride, padding
// (top, left, bottom, right) and dilation.
type Conv2D struct {
	KH, KW, SH, SW, PT, PL, PB, PR, DH, DW int
}

// Out returns the output height and width for an h x w input.
func (p Conv2D) Out(h, w int) (int, int) {
	oh := (h+p.PT+p.PB-((p.KH-1)*p.DH+1))/p.SH + 1
	ow := (w+p.PL+p.PR-((p.KW-1)*p.DW+1))/p.SW + 1
	return oh, ow
}

// Im2Col unrolls one image x[c][h][w] into col[c*KH*KW][oh*ow] so that a
// convolution becomes W[Cout][c*KH*KW] x col. Padding reads as zero.
func Im2Col(x []float32, c, h, w int, p Conv2D, col []float32) { Im2ColPad(x, c, h, w, p, 0, col) }

// Im2ColPad is Im2Col for any element type with an explicit padding value
// (int8 kernels pad raw codes with the input zero point, i.e. real zero).
func Im2ColPad[T any](x []T, c, h, w int, p Conv2D, pad T, col []T) {
	oh, ow := p.Out(h, w)
	ohw := oh * ow
	row := 0
	for ci := 0; ci < c; ci++ {
		xc := x[ci*h*w : (ci+1)*h*w]
		for ky := 0; ky < p.KH; ky++ {
			for kx := 0; kx < p.KW; kx++ {
				dst := col[row*ohw : (row+1)*ohw]
				row++
				i := 0
				for oy := 0; oy < oh; oy++ {
					iy := oy*p.SH - p.PT + ky*p.DH
					if iy < 0 || iy >= h {
						for ox := 0; ox < ow; ox++ {
							dst[i] = pad
							i++
						}
						continue
					}
					xr := xc[iy*w : (iy+1)*w]
					ix := -p.PL + kx*p.DW
					if p.SW == 1 && ix >= 0 && ix+ow <= w {
						copy(dst[i:i+ow], xr[ix:ix+ow])
						i += ow
						continue
					}
					for ox := 0; ox < ow; ox++ {
						if ix >= 0 && ix < w {
							dst[i] = xr[ix]
						} else {
							dst[i] = pad
						}
						ix += p.SW
						i++
					}
				}
			}
		}
	}
}

// Col2Im is the adjoint of Im2Col: it accumulates col back into dx (which
// the caller zeroes). Autograd uses it for the input gradient.
func Col2Im(col []float32, c, h, w int, p Conv2D, dx []float32) {
	oh, ow := p.Out(h, w)
	ohw := oh * ow
	row := 0
	for ci := 0; ci < c; ci++ {
		xc := dx[ci*h*w : (ci+1)*h*w]
		for ky := 0; ky < p.KH; ky++ {
			for kx := 0; kx < p.KW; kx++ {
				src := col[row*ohw : (row+1)*ohw]
				row++
				i := 0
				for oy := 0; oy < oh; oy++ {
					iy := oy*p.SH - p.PT + ky*p.DH
					if iy < 0 || iy >= h {
						i += ow
						continue
					}
					xr := xc[iy*w : (iy+1)*w]
					ix := -p.PL + kx*p.DW
					for ox := 0; ox < ow; ox++ {
						if ix >= 0 && ix < w {
							xr[ix] += src[i]
						}
						ix += p.SW
						i++
					}
				}
			}
		}
	}
}

// ConvDirect is the naive 7-loop convolution, the oracle for the im2col
// path. x is [n][cin][h][w], wt is [cout][cin/group][KH][KW], out is
// [n][cout][oh][ow]; bias may be nil.
func ConvDirect(x []float32, n, cin, h, w int, wt []float32, cout, group int, bias []float32, p Conv2D, out []float32) {
	oh, ow := p.Out(h, w)
	cpg, opg := cin/group, cout/group
	for b := 0; b < n; b++ {
		for co := 0; co < cout; co++ {
			g := co / opg
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float32
					if bias != nil {
						s = bias[co]
					}
					for ci := 0; ci < cpg; ci++ {
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
								s += x[((b*cin+g*cpg+ci)*h+iy)*w+ix] * wt[((co*cpg+ci)*p.KH+ky)*p.KW+kx]
							}
						}
					}
					out[((b*cout+co)*oh+oy)*ow+ox] = s
				}
			}
		}
	}
}
