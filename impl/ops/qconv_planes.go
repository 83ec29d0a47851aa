package ops

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/tensor"
)

// 8-bit convolution as an implicit GEMM over padded phase planes.
//
// im2col of an 8-bit input is mostly tiny copies (a 3x3 layer at 56x56
// writes 9·C·56 rows of 56 bytes) and the GEMM then packs the result once
// more. Instead, the input is padded once with its zero point and, for
// stride s, split into s x s phase planes (plane (py, px) holds padded
// pixels (py + s·i, px + s·j)). Every filter tap (ky, kx) then reads one
// phase plane shifted by (ky/s, kx/s): if the output is computed over the
// planes' full width wq instead of the output width OW, row (tap, channel)
// of the im2col matrix is one contiguous window of one plane, and the int8
// GEMM packs B straight from the planes through row offsets
// (gemm.QGemmPackedAOffsets), four rows of any offsets per SIMD step. The
// weights are reordered tap-major, their depth padded to a multiple of 4
// with rows equal to the weight zero point (they add nothing). A plane row
// is wq >= OW wide: with AVX512-VBMI the GEMM's columns are the output
// positions themselves (gemm.QGemmPackedAOffsetsCols: a byte permute per
// pair of rows gathers a 32-column panel from the 64 bytes it spans in
// every window) and its results are the output; elsewhere the wq - OW
// extra columns per output row are computed and dropped (3.4% at 56x56,
// 29% at 7x7): the output rows are computed in L2-sized chunks per
// goroutine and copied out without the extra columns.

// qplaneWeights are a group-1 convolution's weights, tap-major.
type qplaneWeights struct {
	pa         *gemm.PackedQA
	cin        int
	k          int // GEMM depth: taps·cin rounded up to a whole group of 4
	kh, kw     int
	zeroPoints []int32
}

// packPlaneWeights reorders w [cout][cin][kh][kw] to [cout][kh·kw][cin]
// and packs it, padded to a multiple of 4 rows with the weight zero point
// (rows that add nothing: their B rows may read any window, see
// layoutCache.get).
// Groups of four rows may mix taps: the GEMM packs any four row offsets.
func packPlaneWeights[T gemm.Int8](w []T, cout, cin, kh, kw int, zw []int32) *qplaneWeights {
	taps := kh * kw
	var pad T
	if zw != nil {
		pad = T(zw[0])
	}
	k := (taps*cin + 3) &^ 3
	r := make([]T, cout*k)
	for co := 0; co < cout; co++ {
		dst := r[co*k : (co+1)*k]
		src := w[co*cin*taps : (co+1)*cin*taps]
		for t := 0; t < taps; t++ {
			for c := 0; c < cin; c++ {
				dst[t*cin+c] = src[c*taps+t]
			}
		}
		for i := taps * cin; i < k; i++ {
			dst[i] = pad
		}
	}
	return &qplaneWeights{pa: gemm.PackQA(false, cout, k, r, k, zw), cin: cin, k: k, kh: kh, kw: kw, zeroPoints: zw}
}

// planeLayout is where an input of one shape goes in the phase planes.
type planeLayout struct {
	sy, sx   int
	phases   []int // used phases, each py*sx+px
	hq, wq   int   // rows and width of a phase plane
	plane    int   // elements per (phase, channel) plane, incl. slack for the shifted windows
	rowOff   []int // per GEMM row (tap-major): where its window starts
	oh, ow   int
	garbage  bool          // wq > ow: output rows carry columns to drop
	inH, inW int           // the input size wins are for
	wins     []planeWindow // window per phase (py*sx+px)
	c4Once   sync.Once
	c4Off    []int // c4Offsets, built on first use
}

func newPlaneLayout(g ConvGeom, cin int) *planeLayout {
	p := g.P
	l := &planeLayout{sy: p.SH, sx: p.SW, oh: g.OH, ow: g.OW}
	wp := g.W + p.PL + p.PR
	l.wq = (wp + l.sx - 1) / l.sx
	l.garbage = l.wq > g.OW
	idx := map[int]int{}
	maxSy, maxSx := 0, 0
	type tap struct{ ph, sy, sx int }
	var taps []tap
	for ky := 0; ky < p.KH; ky++ {
		for kx := 0; kx < p.KW; kx++ {
			ry, rx := ky*p.DH, kx*p.DW
			ph := (ry%l.sy)*l.sx + rx%l.sx
			if _, ok := idx[ph]; !ok {
				idx[ph] = len(l.phases)
				l.phases = append(l.phases, ph)
			}
			t := tap{idx[ph], ry / l.sy, rx / l.sx}
			maxSy, maxSx = max(maxSy, t.sy), max(maxSx, t.sx)
			taps = append(taps, t)
		}
	}
	l.hq = g.OH + maxSy
	l.plane = l.hq*l.wq + maxSx
	l.rowOff = make([]int, 0, len(taps)*cin)
	for _, t := range taps {
		for c := 0; c < cin; c++ {
			l.rowOff = append(l.rowOff, (t.ph*cin+c)*l.plane+t.sy*l.wq+t.sx)
		}
	}
	l.inH, l.inW = g.H, g.W
	l.wins = make([]planeWindow, l.sy*l.sx)
	for ph := range l.wins {
		l.wins[ph] = l.computeWindow(g, g.H, g.W, ph)
	}
	return l
}

// planeChunkBytes bounds the GEMM result a goroutine holds before copying
// it out without the extra columns (L2-sized).
const planeChunkBytes = 128 << 10

// planeAsm lets tests compare the assembly plane filler with the Go rows.
var planeAsm = true

// fillPlane writes phase plane ph of one channel (xc, h x w, nil for a
// padding channel) into dst.
func fillPlane[T gemm.Int8](dst, xc []T, h, w int, g ConvGeom, l *planeLayout, ph int, zx T) {
	if xc == nil {
		fill(dst[:l.plane], zx)
		return
	}
	r := l.window(g, h, w, ph)
	if r.i1 > r.i0 && r.j1 > r.j0 && planeAsm && planeRowsAsm(anyBytes(dst[:l.plane]), byte(zx), r.i0*l.wq+r.j0, anyBytes(xc[r.y0*w+r.x0:]), r.i1-r.i0, r.j1-r.j0, l.wq, l.sy*w, l.sx) {
		return
	}
	fillPlaneRows(dst, xc, w, l, r, zx, func(d, row []T) { gather2(anyBytes(d), anyBytes(row)) })
}

// fillPlanes fills the phase-ph planes of n consecutive channels (dst:
// n planes of l.plane, xc: n input planes) in one assembly pass where
// available, else plane by plane.
func fillPlanes[T gemm.Int8](dst, xc []T, n int, g ConvGeom, l *planeLayout, ph int, zx T) {
	r := l.window(g, g.H, g.W, ph)
	plane := g.H * g.W
	if planeAsm && n > 0 && r.i1 > r.i0 && r.j1 > r.j0 && planesRowsAsm(anyBytes(dst), l.plane, byte(zx), r.i0*l.wq+r.j0, anyBytes(xc[r.y0*g.W+r.x0:]), plane, n, r.i1-r.i0, r.j1-r.j0, l.wq, l.sy*g.W, l.sx) {
		return
	}
	for i := 0; i < n; i++ {
		fillPlane(dst[i*l.plane:(i+1)*l.plane], xc[i*plane:(i+1)*plane], g.H, g.W, g, l, ph, zx)
	}
}

// planeWindow is where the input lands in one phase plane: rows [i0, i1)
// and columns [j0, j1) hold input rows y0, y0+sy, ... and columns x0,
// x0+sx, ...; everything else is padding.
type planeWindow struct{ i0, i1, j0, j1, y0, x0 int }

// window returns where phase ph's plane takes the input (h x w): cached
// per phase for the layout's own input size, since the integer divisions
// of computing it cost as much as filling one of a stride-2 layer's small
// planes (128-256@28 s2: 14% of the convolution).
func (l *planeLayout) window(g ConvGeom, h, w, ph int) planeWindow {
	if h == l.inH && w == l.inW && ph < len(l.wins) {
		return l.wins[ph]
	}
	return l.computeWindow(g, h, w, ph)
}

func (l *planeLayout) computeWindow(g ConvGeom, h, w, ph int) planeWindow {
	py, px := ph/l.sx, ph%l.sx
	p := g.P
	var r planeWindow
	r.j0, r.j1 = span(p.PL-px, w, l.sx, l.wq)
	r.i0, r.i1 = span(p.PT-py, h, l.sy, l.hq)
	r.x0, r.y0 = px+l.sx*r.j0-p.PL, py+l.sy*r.i0-p.PT
	return r
}

// fillPlaneRows writes a phase plane row by row in Go (the fallback of
// the assembly fillers): pad, then each row's input; gather2, when set,
// moves stride-2 rows (d[j] = row[2j]).
func fillPlaneRows[T any](dst, xc []T, w int, l *planeLayout, r planeWindow, pad T, gather2 func(d, row []T)) {
	fill(dst[:r.i0*l.wq], pad)
	for i := r.i0; i < r.i1; i++ {
		d := dst[i*l.wq : (i+1)*l.wq]
		row := xc[(r.y0+(i-r.i0)*l.sy)*w+r.x0:]
		fill(d[:r.j0], pad)
		switch {
		case l.sx == 1:
			copy(d[r.j0:r.j1], row[:r.j1-r.j0])
		case l.sx == 2 && gather2 != nil:
			gather2(d[r.j0:r.j1], row)
		default:
			seg := d[r.j0:r.j1]
			for j := range seg {
				seg[j] = row[j*l.sx]
			}
		}
		fill(d[r.j1:], pad)
	}
	fill(dst[r.i1*l.wq:l.plane], pad)
}

// span returns the phase-plane indices [a, b) (of n) whose padded
// coordinate lands inside an input of size size: index a reads input
// a·s - lead, for lead = padding minus phase offset.
func span(lead, size, s, n int) (a, b int) {
	if lead > 0 {
		a = min(n, (lead+s-1)/s)
	}
	b = a
	if last := size - 1 + lead; last >= 0 {
		b = max(a, min(n, last/s+1))
	}
	return a, b
}

// gather2 sets d[j] = src[2j], eight bytes at a time: the even bytes of
// two 64-bit words are folded together with shifts and masks.
func gather2(d, src []byte) {
	j := 0
	for ; j+8 <= len(d) && 2*j+16 <= len(src); j += 8 {
		a := binary.LittleEndian.Uint64(src[2*j:])
		b := binary.LittleEndian.Uint64(src[2*j+8:])
		binary.LittleEndian.PutUint64(d[j:], evenBytes(a)|evenBytes(b)<<32)
	}
	for ; j < len(d); j++ {
		d[j] = src[2*j]
	}
}

// evenBytes packs bytes 0, 2, 4, 6 of v into its low 32 bits.
func evenBytes(v uint64) uint64 {
	v &= 0x00FF00FF00FF00FF
	v = (v | v>>8) & 0x0000FFFF0000FFFF
	return (v | v>>16) & 0x00000000FFFFFFFF
}

// qconvPlanes runs one image of a group-1 8-bit convolution through the
// phase planes; out receives Cout x OH x OW codes at off.
func qconvPlanes[TB gemm.Int8, TC int8 | uint8](threads int, pw *qplaneWeights, l *planeLayout, x []TB, zx0 TB, g ConvGeom, zx []int32, out []TC, ep gemm.QEpilogue) {
	np := len(l.phases)
	units := np * pw.cin
	if xb, ok := any(x).([]uint8); ok && qplaneC4 && len(zx) == 1 && l.c4Fits(pw.cin, g, threads) && gemm.QC4Ready(pw.pa) {
		qconvPlanesC4(threads, pw, l, xb, uint8(any(zx0).(uint8)), g, zx[0], out, ep)
		return
	}
	// 64 bytes of slack let the GEMM pack a short last panel at full
	// width (see gemm.qpackBOffsets).
	pbuf := getBytes(units*l.plane + 64)
	defer bytePool.Put(pbuf)
	planes := unsafe.Slice((*TB)(unsafe.Pointer(unsafe.SliceData(*pbuf))), units*l.plane+64)
	plane := g.H * g.W
	Parallel(threads, units, func(u0, u1 int) {
		for u := u0; u < u1; {
			pi, c := u/pw.cin, u%pw.cin
			n := min(u1-u, pw.cin-c) // same phase: consecutive channels
			fillPlanes(planes[u*l.plane:(u+n)*l.plane], x[c*plane:(c+n)*plane], n, g, l, l.phases[pi], zx0)
			u += n
		}
	})
	if l.garbage && qplaneCols && gemm.QOffsetColsFast(pw.pa, g.OW, l.wq) {
		// The GEMM's columns are the output positions themselves: B
		// skips each plane row's wq - OW extra columns.
		planeGEMMs(threads, pw.pa.Nr(), l, g, true, out, func(gt, r0, n int, c []TC, ldc int) {
			gemm.QGemmPackedAOffsetsCols(gt, pw.pa, n, planes[r0*l.wq:], l.rowOff, g.OW, l.wq, zx, c, ldc, ep)
		})
		return
	}
	planeGEMMs(threads, pw.pa.Nr(), l, g, false, out, func(gt, r0, n int, c []TC, ldc int) {
		gemm.QGemmPackedAOffsets(gt, pw.pa, n, planes[r0*l.wq:], l.rowOff, zx, c, ldc, ep)
	})
}

// qplaneC4 lets 8-bit phase-plane convolutions run on channel-interleaved
// planes with B read in place (qconvPlanesC4); off, B is packed from the
// planes (tests and benchmarks compare).
var qplaneC4 = true

// c4Fits reports whether the C4 route suits this convolution: whole
// groups of four channels; planes whose extra columns (computed, then
// dropped) are at most 1/25 of a row, since the packed route skips them
// and the C4 GEMM does not (measured, BenchmarkQConvPlanes, 2 threads:
// 64-64@56 c4 134.6 us against 140.0 packed; 128-128@28, 2 of every 30
// columns extra, 150.7 against 134.6); and a map tall and wide enough for
// planeGEMMs to split its rows among the goroutines (the C4 GEMM runs on
// one).
func (l *planeLayout) c4Fits(cin int, g ConvGeom, threads int) bool {
	return cin%4 == 0 && (l.wq-g.OW)*25 <= l.wq &&
		(threads <= 1 || (g.OH >= threads && g.OH*l.wq >= 2*threads*gemm.QC4Cols))
}

// c4Offsets returns, per VNNI group of the GEMM's K (tap-major like
// rowOff: tap t, channels 4q..4q+3), the byte offset of its window in the
// C4 planes: plane (phase, q) holds 4 bytes per position.
func (l *planeLayout) c4Offsets(cin int) []int {
	l.c4Once.Do(func() {
		l.c4Off = make([]int, len(l.rowOff)/4)
		for gi := range l.c4Off {
			o := l.rowOff[4*gi]
			unit, shift := o/l.plane, o%l.plane
			ph, q := unit/cin, unit%cin/4
			l.c4Off[gi] = 4 * ((ph*(cin/4)+q)*l.plane + shift)
		}
	})
	return l.c4Off
}

// qconvPlanesC4 is qconvPlanes for uint8 input on C4 planes: each group of
// four channel planes (per phase) is filled as usual, then woven into one
// plane of 4-byte quads, which the GEMM reads in place
// (gemm.QGemmPackedAC4): no B packing, one pass over the input instead of
// one per filter tap. The GEMM computes the planes' extra columns too
// (planeGEMMs drops them).
func qconvPlanesC4[TC int8 | uint8](threads int, pw *qplaneWeights, l *planeLayout, x []uint8, zx0 uint8, g ConvGeom, zx int32, out []TC, ep gemm.QEpilogue) {
	np, cq := len(l.phases), pw.cin/4
	goff := l.c4Offsets(pw.cin)
	// Slack: the GEMM reads whole blocks of QC4Cols positions.
	size := np*pw.cin*l.plane + 4*gemm.QC4Cols
	cbuf := getBytes(size)
	defer bytePool.Put(cbuf)
	c4 := (*cbuf)[:size]
	clear(c4[np*pw.cin*l.plane:])
	plane := g.H * g.W
	Parallel(threads, np*cq, func(u0, u1 int) {
		sbuf := getBytes(4 * l.plane)
		defer bytePool.Put(sbuf)
		four := (*sbuf)[:4*l.plane]
		for u := u0; u < u1; u++ {
			ph, q := l.phases[u/cq], u%cq
			fillPlanes(four, x[4*q*plane:(4*q+4)*plane], 4, g, l, ph, zx0)
			interleave4(c4[u*4*l.plane:(u+1)*4*l.plane], four, l.plane)
		}
	})
	planeGEMMs(threads, gemm.QC4Cols, l, g, false, out, func(gt, r0, n int, c []TC, ldc int) {
		gemm.QGemmPackedAC4(pw.pa, n, c4[4*r0*l.wq:], goff, zx, c, ldc, ep)
	})
}

// interleave4 weaves four rows of n bytes (src, n apart) into dst, 4 bytes
// per position.
func interleave4(dst, src []byte, n int) {
	i := interleave4Asm(dst, src, n, n)
	for ; i < n; i++ {
		dst[4*i], dst[4*i+1], dst[4*i+2], dst[4*i+3] = src[i], src[n+i], src[2*n+i], src[3*n+i]
	}
}

// qplaneCols lets 8-bit phase-plane convolutions skip the planes' extra
// columns in the GEMM (gemm.QGemmPackedAOffsetsCols) where its packing
// does so at full speed; off, they compute and drop them (tests and
// benchmarks compare both).
var qplaneCols = true

// planeGEMMs runs a phase-plane convolution's GEMM over its output rows:
// on t goroutines each with a share of the rows and a one-thread GEMM, or
// (short maps) one GEMM on all threads. Rows go in chunks whose result
// fits planeChunkBytes; mul(gt, r0, n, c, ldc) computes the n = rows·wq
// plane columns (n = rows·OW output positions when compact) from output
// row r0 into c, which is out itself when compact or the planes carry no
// extra columns, else a chunk buffer then copied out without them.
func planeGEMMs[T any](threads, nr int, l *planeLayout, g ConvGeom, compact bool, out []T, mul func(gt, r0, n int, c []T, ldc int)) {
	ohw := g.OH * g.OW
	elt := int(unsafe.Sizeof(*new(T)))
	garbage, w := l.garbage, l.wq
	if compact {
		garbage, w = false, g.OW
	}
	t := 1
	if threads > 1 && g.OH >= threads && g.OH*w >= 2*threads*nr {
		t = threads
	}
	gemm.Parallel(t, func(i int) {
		gt := threads
		if t > 1 {
			gt = 1
		}
		var tmp []T
		if garbage {
			tbuf := getBytes(planeChunkBytes + elt*g.Cout*l.wq)
			defer bytePool.Put(tbuf)
			tmp = unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(*tbuf))), len(*tbuf)/elt)
		}
		step := max(1, planeChunkBytes/(elt*g.Cout*w))
		for r0, end := i*g.OH/t, (i+1)*g.OH/t; r0 < end; r0 += step {
			r1 := min(end, r0+step)
			n := (r1 - r0) * w
			if !garbage {
				mul(gt, r0, n, out[r0*g.OW:], ohw)
				continue
			}
			mul(gt, r0, n, tmp, n)
			for co := 0; co < g.Cout; co++ {
				dropColumns(out[co*ohw+r0*g.OW:], tmp[co*n:], r1-r0, g.OW, l.wq)
			}
		}
	})
}

// dropColumns copies rows rows of ow values, src rows wq apart, to dst
// rows ow apart.
func dropColumns[T any](dst, src []T, rows, ow, wq int) {
	elt := int(unsafe.Sizeof(*new(T)))
	if planeAsm && copyRowsAsm(anyBytes(dst), anyBytes(src), rows, ow*elt, ow*elt, wq*elt) {
		return
	}
	for r := 0; r < rows; r++ {
		copy(dst[r*ow:(r+1)*ow], src[r*wq:r*wq+ow])
	}
}

// anyBytes views a slice as its bytes.
func anyBytes[T any](x []T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), len(x)*int(unsafe.Sizeof(*new(T))))
}

// planeOut dispatches qconvPlanes on the output's code type.
func planeOut[TB gemm.Int8](threads int, pw *qplaneWeights, l *planeLayout, x []TB, zx0 TB, g ConvGeom, zx []int32, out *tensor.Tensor, off int, ep gemm.QEpilogue) bool {
	switch o := out.Data.(type) {
	case []uint8:
		qconvPlanes(threads, pw, l, x, zx0, g, zx, o[off:off+g.Cout*g.OH*g.OW], ep)
	case []int8:
		qconvPlanes(threads, pw, l, x, zx0, g, zx, o[off:off+g.Cout*g.OH*g.OW], ep)
	default:
		return false
	}
	return true
}

// layoutCache keeps the last input shape's layout: a model runs one shape
// again and again, and the row offsets are as long as the GEMM's K.
type layoutCache struct {
	last atomic.Pointer[cachedLayout]
}

type cachedLayout struct {
	g ConvGeom
	l *planeLayout
}

func (c *layoutCache) get(g ConvGeom, cin, k int) *planeLayout {
	return c.load(g, func(g ConvGeom) *planeLayout {
		l := newPlaneLayout(g, cin)
		for len(l.rowOff) < k {
			l.rowOff = append(l.rowOff, l.rowOff[0]) // padding rows (zero-point weights)
		}
		return l
	})
}

// load returns the cached layout when g is the last shape, else builds
// and caches it.
func (c *layoutCache) load(g ConvGeom, build func(g ConvGeom) *planeLayout) *planeLayout {
	g.N = 1
	if e := c.last.Load(); e != nil && e.g == g {
		return e.l
	}
	l := build(g)
	c.last.Store(&cachedLayout{g, l})
	return l
}
