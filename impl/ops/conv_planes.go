package ops

import (
	"github.com/frugal-ml/frugal/impl/gemm"
)

// Float32 strided convolutions as an implicit GEMM over phase planes.
//
// The layout is the 8-bit one (qconv_planes.go): the input is padded once
// (with zeros) and split into stride x stride phase planes, every filter
// tap reads one plane shifted, and the GEMM packs B straight from the
// planes through row offsets (gemm.SgemmPackedAOffsets), computing wq - OW
// extra columns per output row that are dropped. Float panels copy whole
// rows of 32 values, so unlike int8 no channel grouping is needed: the rows
// keep the weights' own channel-major order and the packed weights are
// shared with the im2col path. Stride-1 convolutions stay on im2col (whose
// unit-stride copies are cheap) or Winograd.

// floatLayout returns the phase-plane layout for g with channel-major rows
// (row c·KH·KW + t, as the weights are packed), cached like layoutCache.get.
func (c *layoutCache) floatLayout(g ConvGeom) *planeLayout {
	g.N = 1
	if e := c.last.Load(); e != nil && e.g == g {
		return e.l
	}
	l := newPlaneLayout(g, g.Cin)
	taps := g.P.KH * g.P.KW
	cm := make([]int, len(l.rowOff))
	for t := 0; t < taps; t++ {
		for ch := 0; ch < g.Cin; ch++ {
			cm[ch*taps+t] = l.rowOff[t*g.Cin+ch]
		}
	}
	l.rowOff = cm
	c.last.Store(&cachedLayout{g, l})
	return l
}

// fillPlaneF32 writes phase plane ph of one channel xc (h x w) into dst.
func fillPlaneF32(dst, xc []float32, h, w int, g ConvGeom, l *planeLayout, ph int) {
	py, px := ph/l.sx, ph%l.sx
	p := g.P
	j0, j1 := span(p.PL-px, w, l.sx, l.wq)
	i0, i1 := span(p.PT-py, h, l.sy, l.hq)
	x0, y0 := px+l.sx*j0-p.PL, py+l.sy*i0-p.PT
	if i1 > i0 && j1 > j0 && planeAsm && planeRowsF32Asm(dst[:l.plane], i0*l.wq+j0, xc[y0*w+x0:], i1-i0, j1-j0, l.wq, l.sy*w, l.sx) {
		return
	}
	clear(dst[:i0*l.wq])
	for i := i0; i < i1; i++ {
		d := dst[i*l.wq : (i+1)*l.wq]
		row := xc[(y0+(i-i0)*l.sy)*w+x0:]
		clear(d[:j0])
		if l.sx == 1 {
			copy(d[j0:j1], row[:j1-j0])
		} else {
			seg := d[j0:j1]
			for j := range seg {
				seg[j] = row[j*l.sx]
			}
		}
		clear(d[j1:])
	}
	clear(dst[i1*l.wq : l.plane])
}

// convPlanes convolves one image (x: Cin planes) into out (Cout x OH x OW)
// with packed weights pa and epilogue ep.
func convPlanes(threads int, x []float32, pa *gemm.PackedA, l *planeLayout, g ConvGeom, ep gemm.Epilogue, out []float32) {
	units := len(l.phases) * g.Cin
	// 32 values of slack let the GEMM pack a short last panel at full width.
	pbuf := getCols(units*l.plane + 32)
	defer colPool.Put(pbuf)
	planes := *pbuf
	plane := g.H * g.W
	Parallel(threads, units, func(u0, u1 int) {
		for u := u0; u < u1; u++ {
			ph, c := l.phases[u/g.Cin], u%g.Cin
			fillPlaneF32(planes[u*l.plane:(u+1)*l.plane], x[c*plane:(c+1)*plane], g.H, g.W, g, l, ph)
		}
	})
	ohw := g.OH * g.OW
	nr := pa.Nr()
	t := 1
	if threads > 1 && g.OH >= threads && g.OH*l.wq >= 2*threads*nr {
		t = threads
	}
	gemm.Parallel(t, func(i int) {
		gt := threads
		if t > 1 {
			gt = 1
		}
		var tmp []float32
		if l.garbage {
			tbuf := getCols(planeChunkBytes/4 + g.Cout*l.wq)
			defer colPool.Put(tbuf)
			tmp = *tbuf
		}
		// Output rows in chunks whose result stays in L2 until copied out.
		step := max(1, planeChunkBytes/(4*g.Cout*l.wq))
		for r0, end := i*g.OH/t, (i+1)*g.OH/t; r0 < end; r0 += step {
			r1 := min(end, r0+step)
			n := (r1 - r0) * l.wq
			src := planes[r0*l.wq:]
			if !l.garbage {
				gemm.SgemmPackedAOffsets(gt, pa, n, src, l.rowOff, out[r0*g.OW:], ohw, ep)
				continue
			}
			gemm.SgemmPackedAOffsets(gt, pa, n, src, l.rowOff, tmp, n, ep)
			for co := 0; co < g.Cout; co++ {
				src := tmp[co*n:]
				dst := out[co*ohw+r0*g.OW:]
				for r := 0; r < r1-r0; r++ {
					copy(dst[r*g.OW:(r+1)*g.OW], src[r*l.wq:r*l.wq+g.OW])
				}
			}
		}
	})
}
