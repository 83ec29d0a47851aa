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
	return c.load(g, func(g ConvGeom) *planeLayout {
		l := newPlaneLayout(g, g.Cin)
		taps := g.P.KH * g.P.KW
		cm := make([]int, len(l.rowOff))
		for t := 0; t < taps; t++ {
			for ch := 0; ch < g.Cin; ch++ {
				cm[ch*taps+t] = l.rowOff[t*g.Cin+ch]
			}
		}
		l.rowOff = cm
		return l
	})
}

// fillPlaneF32 writes phase plane ph of one channel xc (h x w) into dst.
func fillPlaneF32(dst, xc []float32, h, w int, g ConvGeom, l *planeLayout, ph int) {
	r := l.window(g, h, w, ph)
	if r.i1 > r.i0 && r.j1 > r.j0 && planeAsm && planeRowsF32Asm(dst[:l.plane], r.i0*l.wq+r.j0, xc[r.y0*w+r.x0:], r.i1-r.i0, r.j1-r.j0, l.wq, l.sy*w, l.sx) {
		return
	}
	fillPlaneRows(dst, xc, w, l, r, 0, nil)
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
	if l.garbage && planeCols && gemm.SOffsetColsFast(pa, g.OW) {
		// The GEMM's columns are the output positions themselves: B skips
		// each plane row's wq - OW extra columns, and no copy drops them.
		planeGEMMs(threads, pa.Nr(), l, g, true, out, func(gt, r0, n int, c []float32, ldc int) {
			gemm.SgemmPackedAOffsetsCols(gt, pa, n, planes[r0*l.wq:], l.rowOff, g.OW, l.wq, c, ldc, ep)
		})
		return
	}
	planeGEMMs(threads, pa.Nr(), l, g, false, out, func(gt, r0, n int, c []float32, ldc int) {
		gemm.SgemmPackedAOffsets(gt, pa, n, planes[r0*l.wq:], l.rowOff, c, ldc, ep)
	})
}

// planeCols lets float phase-plane convolutions skip the planes' extra
// columns in the GEMM (gemm.SgemmPackedAOffsetsCols) on maps at least 31
// wide; off, they compute and drop them (tests and benchmarks compare).
var planeCols = true
