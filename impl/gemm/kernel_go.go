package gemm

import "unsafe"

// tileGo is the pure-Go micro-kernel (4 x 4 register tile). It has the same
// contract as the assembly kernels: a is a packed A micro-panel (k x rows),
// b has rows ldb floats apart, the epilogue is driven by ep.
func tileGo(kn *fkern, rows, cols, k int, a, b *float32, ldb int, c *float32, ldc int, ep *kargs) {
	var acc [4][4]float32
	if k > 0 {
		as := unsafe.Slice(a, k*rows)
		bs := unsafe.Slice(b, (k-1)*ldb+cols)
		if rows == 4 && cols == 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			var c20, c21, c22, c23, c30, c31, c32, c33 float32
			for p := 0; p < k; p++ {
				ap := as[p*4 : p*4+4 : p*4+4]
				bp := bs[p*ldb : p*ldb+4 : p*ldb+4]
				b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
				a0 := ap[0]
				c00 += a0 * b0
				c01 += a0 * b1
				c02 += a0 * b2
				c03 += a0 * b3
				a1 := ap[1]
				c10 += a1 * b0
				c11 += a1 * b1
				c12 += a1 * b2
				c13 += a1 * b3
				a2 := ap[2]
				c20 += a2 * b0
				c21 += a2 * b1
				c22 += a2 * b2
				c23 += a2 * b3
				a3 := ap[3]
				c30 += a3 * b0
				c31 += a3 * b1
				c32 += a3 * b2
				c33 += a3 * b3
			}
			acc = [4][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
		} else {
			for p := 0; p < k; p++ {
				ap := as[p*rows : p*rows+rows]
				bp := bs[p*ldb : p*ldb+cols]
				for r, av := range ap {
					for j, bv := range bp {
						acc[r][j] += av * bv
					}
				}
			}
		}
	}
	cs := unsafe.Slice(c, (rows-1)*ldc+cols)
	var rb, cb []float32
	if ep.flags&flRowBias != 0 {
		rb = unsafe.Slice(ep.rowBias, rows)
	}
	if ep.flags&flColBias != 0 {
		cb = unsafe.Slice(ep.colBias, cols)
	}
	for r := 0; r < rows; r++ {
		cr := cs[r*ldc : r*ldc+cols]
		for j := range cr {
			v := acc[r][j]
			v = epilogue1(ep, v, cr[j], rb, cb, r, j)
			cr[j] = v
		}
	}
}

// epilogue1 applies the kernel epilogue to one accumulator (the same
// sequence of float32 operations as the assembly; beta*C + acc is fused).
func epilogue1(ep *kargs, v, c float32, rb, cb []float32, r, j int) float32 {
	f := ep.flags
	if f&flAlpha != 0 {
		v *= ep.alpha
	}
	if f&flLoadC != 0 {
		v = fma32(ep.beta, c, v)
	}
	if f&flRowBias != 0 {
		v += rb[r]
	}
	if f&flColBias != 0 {
		v += cb[j]
	}
	if f&flClamp != 0 {
		v = clamp(v, ep.lo, ep.hi)
	}
	return v
}

// clamp is min(max(v, lo), hi) with NaN propagating, like the kernels.
func clamp(v, lo, hi float32) float32 {
	if v < lo {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return v
}
