package autograd

// Direct depthwise convolution (one input channel per group, any channel
// multiplier): out[co] = sum over taps of w[co][tap] * x[co/mult] shifted.
// Per tap it runs an axpy over the valid span of each output row, which
// beats im2col + a 1-row GEMM per channel by a wide margin.

// depthwise selects the direct kernel: one input channel per group, and
// more than one group (a single-channel input, e.g. a first layer on
// grey images, is a dense convolution better served by im2col + GEMM).
func (k *convK) depthwise() bool { return k.g.Group > 1 && k.g.Cin == k.g.Group }

func (k *convK) dwForward(x, w, bias, out []float32) {
	g, p := k.g, k.g.P
	opg := g.Cout / g.Group
	hw, ohw := g.H*g.W, g.OH*g.OW
	taps := p.KH * p.KW
	for b := 0; b < g.N; b++ {
		for co := 0; co < g.Cout; co++ {
			xc := x[(b*g.Cin+co/opg)*hw : (b*g.Cin+co/opg+1)*hw]
			o := out[(b*g.Cout+co)*ohw : (b*g.Cout+co+1)*ohw]
			bv := float32(0)
			if bias != nil {
				bv = bias[co]
			}
			for i := range o {
				o[i] = bv
			}
			wc := w[co*taps : (co+1)*taps]
			for ky := 0; ky < p.KH; ky++ {
				for kx := 0; kx < p.KW; kx++ {
					wv := wc[ky*p.KW+kx]
					off := kx*p.DW - p.PL
					lo, hi := validRange(off, p.SW, g.W, g.OW)
					if lo >= hi {
						continue
					}
					for oy := 0; oy < g.OH; oy++ {
						iy := oy*p.SH - p.PT + ky*p.DH
						if iy < 0 || iy >= g.H {
							continue
						}
						xr := xc[iy*g.W : (iy+1)*g.W]
						or := o[oy*g.OW : (oy+1)*g.OW]
						if p.SW == 1 {
							xs := xr[lo+off : hi+off]
							os := or[lo:hi]
							for i, v := range xs {
								os[i] += wv * v
							}
							continue
						}
						ix := lo*p.SW + off
						for ox := lo; ox < hi; ox++ {
							or[ox] += wv * xr[ix]
							ix += p.SW
						}
					}
				}
			}
			if k.relu {
				for i, v := range o {
					if v < 0 {
						o[i] = 0
					}
				}
			}
		}
	}
}

// dwBackward accumulates dW (when dw != nil) and dX (when dx != nil) from
// dy (already masked by a fused ReLU).
func (k *convK) dwBackward(x, w, dy, dw, dx []float32) {
	g, p := k.g, k.g.P
	opg := g.Cout / g.Group
	hw, ohw := g.H*g.W, g.OH*g.OW
	taps := p.KH * p.KW
	for b := 0; b < g.N; b++ {
		for co := 0; co < g.Cout; co++ {
			ci := co / opg
			xc := x[(b*g.Cin+ci)*hw : (b*g.Cin+ci+1)*hw]
			d := dy[(b*g.Cout+co)*ohw : (b*g.Cout+co+1)*ohw]
			var dxc []float32
			if dx != nil {
				dxc = dx[(b*g.Cin+ci)*hw : (b*g.Cin+ci+1)*hw]
			}
			for ky := 0; ky < p.KH; ky++ {
				for kx := 0; kx < p.KW; kx++ {
					t := co*taps + ky*p.KW + kx
					wv := w[t]
					off := kx*p.DW - p.PL
					lo, hi := validRange(off, p.SW, g.W, g.OW)
					if lo >= hi {
						continue
					}
					var s float32
					for oy := 0; oy < g.OH; oy++ {
						iy := oy*p.SH - p.PT + ky*p.DH
						if iy < 0 || iy >= g.H {
							continue
						}
						dr := d[oy*g.OW+lo : oy*g.OW+hi]
						if p.SW == 1 {
							if dw != nil {
								xs := xc[iy*g.W+lo+off : iy*g.W+hi+off]
								for i, v := range dr {
									s += v * xs[i]
								}
							}
							if dxc != nil {
								xs := dxc[iy*g.W+lo+off : iy*g.W+hi+off]
								for i, v := range dr {
									xs[i] += wv * v
								}
							}
							continue
						}
						ix := iy*g.W + lo*p.SW + off
						for _, v := range dr {
							if dw != nil {
								s += v * xc[ix]
							}
							if dxc != nil {
								dxc[ix] += wv * v
							}
							ix += p.SW
						}
					}
					if dw != nil {
						dw[t] += s
					}
				}
			}
		}
	}
}
