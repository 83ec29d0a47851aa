package winograd

import "math"

// Transform matrices (Lavin & Gray 2016, interpolation points 0, +-1, +-2
// and infinity for F(4x4,3x3); 0, +-1, infinity for F(2x2,3x3)).
//
//	F(4x4,3x3)                              F(2x2,3x3)
//	B^T = [4  0 -5  0 1 0]    G = [ 1/4     0    0 ]   B^T = [1  0 -1  0]
//	      [0 -4 -4  1 1 0]        [-1/6 -1/6 -1/6 ]         [0  1  1  0]
//	      [0  4 -4 -1 1 0]        [-1/6  1/6 -1/6 ]         [0 -1  1  0]
//	      [0 -2 -1  2 1 0]        [1/24 1/12  1/6 ]         [0  1  0 -1]
//	      [0  2 -1 -2 1 0]        [1/24 -1/12 1/6 ]   G  = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
//	      [0  4  0 -5 0 1]        [ 0     0    1  ]   A^T = [1 1 1 0; 0 1 -1 -1]
//	A^T = [1 1  1 1  1 0]
//	      [0 1 -1 2 -2 0]
//	      [0 1  1 4  4 0]
//	      [0 1 -1 8 -8 1]
//
// Y = A^T [ (G g G^T) .* (B^T d B) ] A for a (m+2)x(m+2) input tile d and a
// 3x3 filter g gives the m x m outputs of the correlation (ONNX Conv).

var g4 = [6][3]float64{
	{1.0 / 4, 0, 0},
	{-1.0 / 6, -1.0 / 6, -1.0 / 6},
	{-1.0 / 6, 1.0 / 6, -1.0 / 6},
	{1.0 / 24, 1.0 / 12, 1.0 / 6},
	{1.0 / 24, -1.0 / 12, 1.0 / 6},
	{0, 0, 1},
}

var g2 = [4][3]float64{
	{1, 0, 0},
	{0.5, 0.5, 0.5},
	{0.5, -0.5, 0.5},
	{0, 0, 1},
}

// filterTransform writes U = G g G^T (a x a, row-major, a = m+2) for one
// 3x3 filter g, computed in float64 and rounded once.
func filterTransform(t Tile, g []float32, u []float64) {
	a := t.in()
	gm := func(i, k int) float64 {
		if t == F4 {
			return g4[i][k]
		}
		return g2[i][k]
	}
	var tmp [6][3]float64 // G g
	for i := 0; i < a; i++ {
		for j := 0; j < 3; j++ {
			var s float64
			for k := 0; k < 3; k++ {
				s += gm(i, k) * float64(g[k*3+j])
			}
			tmp[i][j] = s
		}
	}
	for i := 0; i < a; i++ {
		for j := 0; j < a; j++ {
			var s float64
			for k := 0; k < 3; k++ {
				s += tmp[i][k] * gm(j, k)
			}
			u[i*a+j] = s
		}
	}
}

// The generic (pure Go) transforms below work on blocks of 8 channels
// stored contiguously (the same layout the assembly uses), so both paths
// share every index computation.

// lanes is the channel block: transforms process 8 channels at a time.
const lanes = 8

// inGo4 transforms nblk channel blocks of one 6x6 input tile.
// src[s + (r*rs + c)*lanes + l] is row r, column c, lane l of block 0; block b
// starts cs floats later. dst[d + p*ps + b*lanes + l] receives position p.
func inGo4(src []float32, s, rs, cs, nblk int, dst []float32, d, ps int) {
	var t [6][6][lanes]float32
	for b := 0; b < nblk; b++ {
		base := s + b*cs
		for c := 0; c < 6; c++ {
			for l := 0; l < lanes; l++ {
				d0 := src[base+(0*rs+c)*lanes+l]
				d1 := src[base+(1*rs+c)*lanes+l]
				d2 := src[base+(2*rs+c)*lanes+l]
				d3 := src[base+(3*rs+c)*lanes+l]
				d4 := src[base+(4*rs+c)*lanes+l]
				d5 := src[base+(5*rs+c)*lanes+l]
				r0, r1, r2, r3, r4, r5 := bt4(d0, d1, d2, d3, d4, d5)
				t[0][c][l], t[1][c][l], t[2][c][l] = r0, r1, r2
				t[3][c][l], t[4][c][l], t[5][c][l] = r3, r4, r5
			}
		}
		o := d + b*lanes
		for r := 0; r < 6; r++ {
			tr := &t[r]
			for l := 0; l < lanes; l++ {
				r0, r1, r2, r3, r4, r5 := bt4(tr[0][l], tr[1][l], tr[2][l], tr[3][l], tr[4][l], tr[5][l])
				p := o + r*6*ps + l
				dst[p] = r0
				dst[p+ps] = r1
				dst[p+2*ps] = r2
				dst[p+3*ps] = r3
				dst[p+4*ps] = r4
				dst[p+5*ps] = r5
			}
		}
	}
}

// bt4 is B^T (F4) applied to one column; the operation order matches the
// assembly (fused multiply-adds aside).
func bt4(d0, d1, d2, d3, d4, d5 float32) (r0, r1, r2, r3, r4, r5 float32) {
	r0 = 4*d0 - 5*d2 + d4
	a := d4 - 4*d2
	b := d3 - 4*d1
	r1 = a + b
	r2 = a - b
	c := d4 - d2
	e := 2 * (d3 - d1)
	r3 = c + e
	r4 = c - e
	r5 = 4*d1 - 5*d3 + d5
	return
}

// at4 is A^T (F4) applied to one column of six values.
func at4(m0, m1, m2, m3, m4, m5 float32) (o0, o1, o2, o3 float32) {
	s12, d12 := m1+m2, m1-m2
	s34, d34 := m3+m4, m3-m4
	o0 = m0 + s12 + s34
	o1 = d12 + 2*d34
	o2 = s12 + 4*s34
	o3 = d12 + 8*d34 + m5
	return
}

// outGo4 inverse-transforms nb channel blocks of ntile tiles: tile i's
// position p, channel c is m[s + i*mts + p*ps + c]; its 4x4 outputs go to
// dst[d + i*ots + c*chs + r*rs + col] after bias[c] and the clamp.
func outGo4(m []float32, s, ps, mts, ntile int, dst []float32, d, ots, rs, chs int, bias []float32, nb int, clamp bool, lo, hi float32) {
	var t [4][6][lanes]float32
	for i := 0; i < ntile; i++ {
		for b := 0; b < nb; b++ {
			base := s + i*mts + b*lanes
			for c := 0; c < 6; c++ {
				for l := 0; l < lanes; l++ {
					o0, o1, o2, o3 := at4(m[base+(0*6+c)*ps+l], m[base+(1*6+c)*ps+l], m[base+(2*6+c)*ps+l],
						m[base+(3*6+c)*ps+l], m[base+(4*6+c)*ps+l], m[base+(5*6+c)*ps+l])
					t[0][c][l], t[1][c][l], t[2][c][l], t[3][c][l] = o0, o1, o2, o3
				}
			}
			for l := 0; l < lanes; l++ {
				bv := bias[b*lanes+l]
				o := d + i*ots + (b*lanes+l)*chs
				for r := 0; r < 4; r++ {
					tr := &t[r]
					o0, o1, o2, o3 := at4(tr[0][l], tr[1][l], tr[2][l], tr[3][l], tr[4][l], tr[5][l])
					row := dst[o+r*rs : o+r*rs+4]
					row[0] = act(o0+bv, clamp, lo, hi)
					row[1] = act(o1+bv, clamp, lo, hi)
					row[2] = act(o2+bv, clamp, lo, hi)
					row[3] = act(o3+bv, clamp, lo, hi)
				}
			}
		}
	}
}

// inGo2 is inGo4 for F(2x2,3x3): 4x4 input tiles, 16 positions.
func inGo2(src []float32, s, rs, cs, nblk int, dst []float32, d, ps int) {
	var t [4][4][lanes]float32
	for b := 0; b < nblk; b++ {
		base := s + b*cs
		for c := 0; c < 4; c++ {
			for l := 0; l < lanes; l++ {
				d0 := src[base+(0*rs+c)*lanes+l]
				d1 := src[base+(1*rs+c)*lanes+l]
				d2 := src[base+(2*rs+c)*lanes+l]
				d3 := src[base+(3*rs+c)*lanes+l]
				t[0][c][l], t[1][c][l], t[2][c][l], t[3][c][l] = d0-d2, d1+d2, d2-d1, d1-d3
			}
		}
		o := d + b*lanes
		for r := 0; r < 4; r++ {
			tr := &t[r]
			for l := 0; l < lanes; l++ {
				d0, d1, d2, d3 := tr[0][l], tr[1][l], tr[2][l], tr[3][l]
				p := o + r*4*ps + l
				dst[p] = d0 - d2
				dst[p+ps] = d1 + d2
				dst[p+2*ps] = d2 - d1
				dst[p+3*ps] = d1 - d3
			}
		}
	}
}

// outGo2 is outGo4 for F(2x2,3x3).
func outGo2(m []float32, s, ps, mts, ntile int, dst []float32, d, ots, rs, chs int, bias []float32, nb int, clamp bool, lo, hi float32) {
	var t [2][4][lanes]float32
	for i := 0; i < ntile; i++ {
		for b := 0; b < nb; b++ {
			base := s + i*mts + b*lanes
			for c := 0; c < 4; c++ {
				for l := 0; l < lanes; l++ {
					m0, m1, m2, m3 := m[base+(0*4+c)*ps+l], m[base+(1*4+c)*ps+l], m[base+(2*4+c)*ps+l], m[base+(3*4+c)*ps+l]
					t[0][c][l], t[1][c][l] = m0+m1+m2, m1-m2-m3
				}
			}
			for l := 0; l < lanes; l++ {
				bv := bias[b*lanes+l]
				o := d + i*ots + (b*lanes+l)*chs
				for r := 0; r < 2; r++ {
					m0, m1, m2, m3 := t[r][0][l], t[r][1][l], t[r][2][l], t[r][3][l]
					dst[o+r*rs] = act(m0+m1+m2+bv, clamp, lo, hi)
					dst[o+r*rs+1] = act(m1-m2-m3+bv, clamp, lo, hi)
				}
			}
		}
	}
}

// act clamps v to [lo, hi] when clamp is set; NaN stays NaN.
func act(v float32, clamp bool, lo, hi float32) float32 {
	if !clamp {
		return v
	}
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

var inf32 = float32(math.Inf(1))
