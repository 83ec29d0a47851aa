package ops

import (
	"sync"

	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/impl/ref"
)

// The float32 convolution driver: out = act(W ⊛ x + bias) as a GEMM
// W[Cout, Cin/G·KH·KW] x im2col(x)[Cin/G·KH·KW, OH·OW] per image and group,
// with the weights packed once (gemm.PackA) when the model loads and the
// bias and activation fused into the GEMM's store (gemm.Epilogue).
//
// At batch 1 the work is split across threads by output columns: each
// goroutine expands a chunk of columns (sized so the chunk stays in L2) and
// multiplies it at once, so im2col runs in parallel, in cache, and never
// materialises the whole column matrix. Narrow outputs (late, small feature
// maps) instead expand everything once and let the GEMM split rows.

// convPlanesOn routes strided group-1 convolutions with a window through
// phase planes (conv_planes.go; measured at 2 threads: the 7x7/2 stem
// 706 -> 619 us, 3x3/2 64->128 at 56x56 457 -> 348 us, 256->512 at 14x14
// 369 -> 356 us; 1x1/2 was 8% slower and stays on im2col); tests turn it
// off to compare with im2col.
var convPlanesOn = true

// convWeights are a Conv node's weights packed for the GEMM, one operand
// per group.
type convWeights struct {
	groups []*gemm.PackedA
	planes layoutCache // strided group-1 convolutions' phase-plane layout
	// turned is W^T packed as a GEMM B operand for group-1 pointwise
	// convolutions run turned around (conv_pointwise_t.go), packed on
	// first use; nil for other convolutions.
	turned func() *gemm.PackedB
}

// packConvWeights packs w (Cout x Cin/G x KH x KW) per group.
func packConvWeights(w []float32, cout, group, kk int) *convWeights {
	opg := cout / group
	cw := &convWeights{groups: make([]*gemm.PackedA, group)}
	for gi := range cw.groups {
		cw.groups[gi] = gemm.PackA(false, opg, kk, w[gi*opg*kk:(gi+1)*opg*kk], kk)
	}
	if group == 1 {
		cw.turned = sync.OnceValue(func() *gemm.PackedB { return gemm.PackB(true, kk, cout, w, kk) })
	}
	return cw
}

// epilogue turns a fused activation into the GEMM's store clamp.
func (a Activation) epilogue(bias []float32) gemm.Epilogue {
	ep := gemm.Epilogue{RowBias: bias}
	switch a.Kind {
	case "Relu":
		ep.Act = gemm.ActRelu
	case "Clip":
		ep.Act, ep.Min, ep.Max = gemm.ActClip, a.Min, a.Max
	}
	return ep
}

// colTarget is the number of floats one column chunk of im2col may hold
// (512 KiB: half of this machine's 1 MiB L2, leaving room for the packed A panel
// and the output tile).
var colTarget = 128 << 10

// convChunking overrides the driver's choice between column chunks and one
// whole expansion (benchmarks measure both): 0 auto, 1 chunks, 2 whole.
var convChunking = 0

var colPool sync.Pool

func getCols(n int) *[]float32 {
	if p, ok := colPool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}

// convGemm runs a float32 NCHW convolution (any group count) on packed
// weights. out must hold N x Cout x OH x OW values; it is fully written.
// With residual set, out already holds an addend of the same shape, and
// the result is act(conv + bias + addend) (the GEMM store reads C, Beta 1).
func convGemm(threads int, x []float32, cw *convWeights, bias []float32, g ConvGeom, act Activation, residual bool, out []float32) {
	cpg, opg := g.Cin/g.Group, g.Cout/g.Group
	kk := cpg * g.P.KH * g.P.KW
	ohw, hw := g.OH*g.OW, g.H*g.W
	pointwise := g.P.KH == 1 && g.P.KW == 1 && g.P.SH == 1 && g.P.SW == 1 && g.P.PT+g.P.PL+g.P.PB+g.P.PR == 0
	threads = max(threads, 1)
	for b := 0; b < g.N; b++ {
		for gi := 0; gi < g.Group; gi++ {
			pa := cw.groups[gi]
			xg := x[(b*g.Cin+gi*cpg)*hw : (b*g.Cin+(gi+1)*cpg)*hw]
			og := out[(b*g.Cout+gi*opg)*ohw : (b*g.Cout+(gi+1)*opg)*ohw]
			var bg []float32
			if bias != nil {
				bg = bias[gi*opg : (gi+1)*opg]
			}
			ep := act.epilogue(bg)
			if residual {
				ep.Beta = 1
			}
			if pointwise && cw.turned != nil && turnPointwise(ohw, cpg, opg) {
				convPointwiseT(threads, xg, cw.turned(), bg, act, residual, ohw, opg, og)
				continue
			}
			if pointwise {
				gemm.SgemmPackedAThreads(threads, pa, ohw, xg, ohw, og, ohw, ep)
				continue
			}
			if g.Group == 1 && !residual && (g.P.SH > 1 || g.P.SW > 1) && g.P.KH*g.P.KW > 1 && convPlanesOn {
				convPlanes(threads, xg, pa, cw.planes.floatLayout(g), g, ep, og)
				continue
			}
			nr := pa.Nr()
			chunk := max(nr, colTarget/max(kk, 1)/nr*nr)
			chunked := threads > 1 && ohw >= 2*threads*nr
			if convChunking != 0 {
				chunked = convChunking == 1 && threads > 1
			}
			if chunked {
				// Column chunks, each expanded and multiplied by one goroutine.
				chunk = min(chunk, (ohw+threads*nr-1)/(threads*nr)*nr)
				if chunk > g.OW {
					// Whole output rows: im2col then copies full rows, not
					// pieces of two.
					chunk = chunk / g.OW * g.OW
				}
				nch := (ohw + chunk - 1) / chunk
				t := min(threads, nch)
				// Strided windows read every SW-th input column: split the
				// rows into phases once so that im2col copies runs.
				// It pays when the windows read each input value several
				// times (the 7x7 stride-2 stem: 12x; a 3x3 stride-2 conv,
				// 2.25x, measured slower).
				var xph []float32
				if g.P.SW > 1 && g.P.KH*g.P.KW*ohw >= 4*g.H*g.W {
					phb := getCols(len(xg))
					defer colPool.Put(phb)
					xph = *phb
					rows := cpg * g.H
					gemm.Parallel(min(threads, rows), func(i int) {
						r0, r1 := i*rows/threads, (i+1)*rows/threads
						splitPhases(xg[r0*g.W:r1*g.W], r1-r0, g.W, g.P.SW, xph[r0*g.W:r1*g.W])
					})
				}
				gemm.Parallel(t, func(i int) {
					buf := getCols(kk * chunk)
					for c := i * nch / t; c < (i+1)*nch/t; c++ {
						j0 := c * chunk
						j1 := min(ohw, j0+chunk)
						col := (*buf)[:kk*(j1-j0)]
						if xph != nil {
							im2colColsPad(xph, cpg, g.H, g.W, g.P, g.OW, j0, j1, 0, true, col)
						} else {
							im2colCols(xg, cpg, g.H, g.W, g.P, g.OW, j0, j1, col)
						}
						gemm.SgemmPackedAThreads(1, pa, j1-j0, col, j1-j0, og[j0:], ohw, ep)
					}
					colPool.Put(buf)
				})
				continue
			}
			// Few columns: expand all at once (rows split across threads)
			// and let the GEMM parallelise over output channels.
			buf := getCols(kk * ohw)
			col := *buf
			rowsPer := g.P.KH * g.P.KW
			t := min(threads, cpg)
			if kk*ohw < 1<<14 {
				t = 1
			}
			gemm.Parallel(t, func(i int) {
				c0, c1 := i*cpg/t, (i+1)*cpg/t
				ref.Im2Col(xg[c0*hw:c1*hw], c1-c0, g.H, g.W, g.P, col[c0*rowsPer*ohw:c1*rowsPer*ohw])
			})
			if cw.turned != nil && turnPointwise(ohw, kk, opg) {
				// The column matrix is a pointwise convolution's input.
				convPointwiseT(threads, col, cw.turned(), bg, act, residual, ohw, opg, og)
			} else {
				gemm.SgemmPackedAThreads(threads, pa, ohw, col, ohw, og, ohw, ep)
			}
			colPool.Put(buf)
		}
	}
}

// im2colCols writes columns [j0, j1) of im2col(x) (c channels of h x w) as
// a row-major (c·KH·KW) x (j1-j0) matrix. Column j is output pixel
// (j / ow, j % ow). Stride-1 rows are copied in runs; padding is zeroed.
func im2colCols(x []float32, c, h, w int, p ref.Conv2D, ow, j0, j1 int, col []float32) {
	im2colColsPad(x, c, h, w, p, ow, j0, j1, 0, false, col)
}

// im2colColsPad is im2colCols for any element type with an explicit
// padding value (int8 kernels pad with the input zero point). With phased
// set, x's rows have been rearranged by splitPhases, so a strided window
// segment is one copy too; otherwise strided segments are gathered.
func im2colColsPad[T any](x []T, c, h, w int, p ref.Conv2D, ow, j0, j1 int, pad T, phased bool, col []T) {
	n := j1 - j0
	sw := p.SW
	// Where phase r of a split row starts.
	var starts [8]int
	start := starts[:min(sw, len(starts))]
	if phased {
		if sw > len(starts) {
			start = make([]int, sw)
		}
		for r := range start {
			start[r] = phaseStart(r, w, sw)
		}
	}
	row := 0
	for ci := 0; ci < c; ci++ {
		xc := x[ci*h*w : (ci+1)*h*w]
		for ky := 0; ky < p.KH; ky++ {
			for kx := 0; kx < p.KW; kx++ {
				dst := col[row*n : (row+1)*n]
				row++
				i := 0
				for j := j0; j < j1; {
					oy, ox0 := j/ow, j%ow
					seg := min(j1-j, ow-ox0) // output pixels left in this output row
					d := dst[i : i+seg]
					i += seg
					j += seg
					iy := oy*p.SH - p.PT + ky*p.DH
					if iy < 0 || iy >= h {
						fill(d, pad)
						continue
					}
					xr := xc[iy*w : (iy+1)*w]
					// Output k reads input column ix+k*sw: pad the outputs
					// left of column 0 and right of column w-1.
					ix := ox0*sw - p.PL + kx*p.DW
					var lo, hi int
					if sw == 1 { // no divisions on the common path
						lo = min(seg, max(0, -ix))
						hi = max(lo, min(seg, w-ix))
					} else {
						lo, hi = 0, seg
						if ix < 0 {
							lo = min(hi, (-ix+sw-1)/sw)
						}
						if end := (w - ix + sw - 1) / sw; end < hi {
							hi = max(lo, end)
						}
					}
					fill(d[:lo], pad)
					switch first := ix + lo*sw; {
					case lo >= hi:
					case sw == 1:
						copy(d[lo:hi], xr[first:first+hi-lo])
					case phased:
						r := first % sw
						k := start[r] + (first-r)/sw
						copy(d[lo:hi], xr[k:k+hi-lo])
					default:
						src := xr[first:]
						for k, s := lo, 0; k < hi; k, s = k+1, s+sw {
							d[k] = src[s]
						}
					}
					fill(d[hi:], pad)
				}
			}
		}
	}
}

func fill[T any](d []T, v T) {
	for i := range d {
		d[i] = v
	}
}

// splitPhases rewrites each of rows rows of width w so that its columns
// come grouped by residue modulo sw: columns r, r+sw, r+2sw, ... for r = 0,
// then 1, ... (phase r starts at phaseStart(r, w, sw)). A stride-sw window
// then reads consecutive values of one phase.
func splitPhases[T any](x []T, rows, w, sw int, dst []T) {
	for r := 0; r < rows; r++ {
		src, d := x[r*w:(r+1)*w], dst[r*w:(r+1)*w]
		i := 0
		for ph := 0; ph < sw; ph++ {
			for k := ph; k < w; k += sw {
				d[i] = src[k]
				i++
			}
		}
	}
}

// phaseStart is where phase r of a row of width w begins after splitPhases.
func phaseStart(r, w, sw int) int {
	// Phases before r hold ceil((w - q) / sw) columns each.
	n := 0
	for q := 0; q < r; q++ {
		n += (w - q + sw - 1) / sw
	}
	return n
}
