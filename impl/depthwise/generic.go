package depthwise

// The pure-Go kernels. Both write every output exactly once per tap pass and
// clamp with Go's min/max (branch-free, NaN-propagating).

// cols returns the output columns [a, e) whose tap kx lands inside the
// input row.
func (pl *plan) cols(kx int) (a, e int) {
	p := &pl.p
	off := kx*p.DW - p.PL // input column of output 0
	// off + ox*SW >= 0  and  off + ox*SW <= w-1
	a = 0
	if off < 0 {
		a = (-off + p.SW - 1) / p.SW
	}
	e = 0
	if last := pl.w - 1 - off; last >= 0 {
		e = last/p.SW + 1
	}
	return min(a, pl.ow), min(e, pl.ow)
}

// planeGeneric handles any window: each output row starts at the bias, then
// every tap whose input row is inside adds its weight times a strided slice
// of that row to the columns whose input is inside; the row is clamped
// while it is still in cache.
func (pl *plan) planeGeneric(xs, ws []float32, b float32, os []float32) {
	p := &pl.p
	w, ow, lo, hi := pl.w, pl.ow, pl.lo, pl.hi
	for oy := 0; oy < pl.oh; oy++ {
		orow := os[oy*ow : oy*ow+ow]
		for i := range orow {
			orow[i] = b
		}
		for ky := 0; ky < p.KH; ky++ {
			iy := oy*p.SH - p.PT + ky*p.DH
			if uint(iy) >= uint(pl.h) {
				continue
			}
			xr := xs[iy*w : iy*w+w]
			wk := ws[ky*p.KW : ky*p.KW+p.KW]
			for kx, wv := range wk {
				a, e := pl.cols(kx)
				if a >= e {
					continue
				}
				dst := orow[a:e]
				ix := a*p.SW - p.PL + kx*p.DW
				if p.SW == 1 {
					src := xr[ix : ix+len(dst)]
					for i, v := range src {
						dst[i] += wv * v
					}
					continue
				}
				src := xr[ix : ix+(len(dst)-1)*p.SW+1]
				for i := range dst {
					dst[i] += wv * src[i*p.SW]
				}
			}
		}
		for i, v := range orow {
			orow[i] = min(max(v, lo), hi)
		}
	}
}

// point computes one output with bounds checks (borders of plane3x3).
func (pl *plan) point(xs, ws []float32, b float32, oy, ox int) float32 {
	p := &pl.p
	s := b
	for ky := 0; ky < p.KH; ky++ {
		iy := oy*p.SH - p.PT + ky*p.DH
		if uint(iy) >= uint(pl.h) {
			continue
		}
		for kx := 0; kx < p.KW; kx++ {
			ix := ox*p.SW - p.PL + kx*p.DW
			if uint(ix) >= uint(pl.w) {
				continue
			}
			s += ws[ky*p.KW+kx] * xs[iy*pl.w+ix]
		}
	}
	return min(max(s, pl.lo), pl.hi)
}

// plane3x3 handles 3x3 windows with dilation 1 and any stride: interior
// outputs (all nine taps inside) keep the weights in registers and read the
// three rows once per output; border outputs take point.
func (pl *plan) plane3x3(xs, ws []float32, b float32, os []float32) {
	p := &pl.p
	h, w, ow, sw := pl.h, pl.w, pl.ow, p.SW
	lo, hi := pl.lo, pl.hi
	// Interior columns [ca, cb): ox*sw-PL >= 0 and ox*sw-PL+2 <= w-1.
	ca := min((p.PL+sw-1)/sw, ow)
	cb := 0
	if w-3+p.PL >= 0 {
		cb = min((w-3+p.PL)/sw+1, ow)
	}
	cb = max(cb, ca)
	ws = ws[:9]
	w00, w01, w02 := ws[0], ws[1], ws[2]
	w10, w11, w12 := ws[3], ws[4], ws[5]
	w20, w21, w22 := ws[6], ws[7], ws[8]
	for oy := 0; oy < pl.oh; oy++ {
		orow := os[oy*ow : oy*ow+ow]
		iy := oy*p.SH - p.PT
		if iy < 0 || iy+2 >= h || ca == cb {
			for ox := range orow {
				orow[ox] = pl.point(xs, ws, b, oy, ox)
			}
			continue
		}
		for ox := 0; ox < ca; ox++ {
			orow[ox] = pl.point(xs, ws, b, oy, ox)
		}
		for ox := cb; ox < ow; ox++ {
			orow[ox] = pl.point(xs, ws, b, oy, ox)
		}
		o := orow[ca:cb]
		n := len(o)
		j0 := iy*w + ca*sw - p.PL
		span := (n-1)*sw + 3
		r0 := xs[j0 : j0+span]
		r1 := xs[j0+w : j0+w+span]
		r2 := xs[j0+2*w : j0+2*w+span]
		if sw == 1 {
			r1, r2 = r1[:len(r0)], r2[:len(r0)]
			for j := 2; j < len(r0); j++ {
				s := b + w00*r0[j-2] + w01*r0[j-1] + w02*r0[j] +
					w10*r1[j-2] + w11*r1[j-1] + w12*r1[j] +
					w20*r2[j-2] + w21*r2[j-1] + w22*r2[j]
				o[j-2] = min(max(s, lo), hi)
			}
			continue
		}
		if sw == 2 {
			r1, r2 = r1[:len(r0)], r2[:len(r0)]
			i := 0
			for j := 2; j < len(r0); j += 2 {
				s := b + w00*r0[j-2] + w01*r0[j-1] + w02*r0[j] +
					w10*r1[j-2] + w11*r1[j-1] + w12*r1[j] +
					w20*r2[j-2] + w21*r2[j-1] + w22*r2[j]
				o[i] = min(max(s, lo), hi)
				i++
			}
			continue
		}
		for i := range o {
			j := i * sw
			s := b + w00*r0[j] + w01*r0[j+1] + w02*r0[j+2] +
				w10*r1[j] + w11*r1[j+1] + w12*r1[j+2] +
				w20*r2[j] + w21*r2[j+1] + w22*r2[j+2]
			o[i] = min(max(s, lo), hi)
		}
	}
}
