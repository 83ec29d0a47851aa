package ops

import (
	"fmt"
	"github.com/frugal-ml/frugal/arith/convert"
	"github.com/frugal-ml/frugal/impl/vmath"
	"sync"
	"unsafe"

	dwconv "github.com/frugal-ml/frugal/impl/depthwise"
	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/impl/ref"
	"github.com/frugal-ml/frugal/tensor"
)

// Fast int8 layers: QLinearConv and ai.frugal:QGemm with constant weights
// run on impl/gemm's int8 GEMM (VNNI / AVX2 / pure Go), weights prepacked
// once with their zero point. Group-1 convolutions with a window or a
// stride read the raw 8-bit activations through phase planes
// (qconv_planes.go: padded once with the input zero point, i.e. real zero;
// no im2col matrix); pointwise ones multiply the input in place; grouped
// ones use im2col. Everything is requantized per output channel in the GEMM
// epilogue. The int32-accumulating reference kernels in qlinear.go are
// their oracle.

func init() {
	constW := func(b *BuildInfo) bool {
		if len(b.Const) < 4 || b.Const[3] == nil {
			return false
		}
		if w := b.Const[3]; w.DType != tensor.Int8 && w.DType != tensor.Uint8 {
			return false
		}
		// Scalar weight zero point (per-channel zero points take the reference path).
		if b.Node.Input(5) != "" && (len(b.Const) < 6 || b.Const[5] == nil || b.Const[5].Len() != 1) {
			return false
		}
		return b.Node.Input(2) == "" || (len(b.Const) > 2 && b.Const[2] != nil)
	}
	Register(Impl{Op: "QLinearConv", Name: "int8-gemm", Priority: 10, DTypes: []tensor.DType{tensor.Uint8, tensor.Int8},
		Match: constW, Build: func(b *BuildInfo) (Kernel, error) { return buildQFast(b, false) }})
	Register(Impl{Op: "QGemm", Domain: FrugalDomain, Name: "int8-gemm", Priority: 10, DTypes: []tensor.DType{tensor.Uint8, tensor.Int8},
		Match: constW, Build: func(b *BuildInfo) (Kernel, error) { return buildQFast(b, true) }})
}

func buildQFast(b *BuildInfo, isGemm bool) (Kernel, error) {
	// The int32 reference kernel serves inputs the fast path does not
	// take; it holds an int32 copy of the weights (4x their size), so it
	// is built on first use only.
	if _, err := buildQConv(&BuildInfo{Node: b.Node, Opset: b.Opset, InTypes: b.InTypes, OutTypes: b.OutTypes, Const: make([]*tensor.Tensor, len(b.Const))}, isGemm); err != nil {
		return nil, err // attribute errors surface at build, as before
	}
	refK := &lazyKernel{build: func() (Kernel, error) { return buildQConv(b, isGemm) }}
	n := b.Node
	act, err := ActivationFromNode(n)
	if err != nil {
		return nil, err
	}
	w := b.Const[3]
	var zw []int32
	if len(b.Const) > 5 && b.Const[5] != nil {
		zw = []int32{scalarInt(b.Const[5])}
	}
	var zxConst int32
	if len(b.Const) > 2 && b.Const[2] != nil {
		zxConst = scalarInt(b.Const[2])
	}
	cout := w.Shape[0]
	var packedB *gemm.PackedQB // QGemm: W [N,K] as B^T
	// Depthwise weights as exact float32 integers (w - zw) for the direct
	// float kernel; see qdepthwise.
	var dwW []float32
	var dwQ8 *dwconv.Q8Weights
	if grp, _ := n.Int("group", 1); !isGemm && w.Rank() == 4 && w.Shape[1] == 1 && int(grp) == cout && cout > 1 && w.Shape[2]*w.Shape[3] <= 258 {
		var z int32
		if zw != nil {
			z = zw[0]
		}
		dwW = make([]float32, w.Len())
		wq := make([]int32, w.Len())
		for i := range dwW {
			wq[i] = int32(w.Float64At(i)) - z
			dwW[i] = float32(wq[i])
		}
		// The same weights as bytes for the native 8-bit kernel, when
		// every w - zw fits int8 (nil otherwise: float route).
		dwQ8, _ = dwconv.PackQ8(wq, cout, w.Shape[2], w.Shape[3])
	}
	// Group-1 convolutions with a window or a stride run on phase planes
	// (qconv_planes.go) with tap-major weights; the group-wise packing
	// below then only serves the float-output case and is built on first
	// use. Other convolutions pack each group's weights [Cout/g,
	// Cin/g*KH*KW] now. Both are read-only afterwards, so concurrent runs
	// share them safely.
	var planeW *qplaneWeights
	var layouts layoutCache
	var packedA func() []*gemm.PackedQA
	if !isGemm {
		grp, err := n.Int("group", 1)
		if err != nil {
			return nil, err
		}
		if w.Rank() < 3 || grp <= 0 || cout%int(grp) != 0 {
			return nil, fmt.Errorf("QLinearConv weight %v with group %d", w.Shape, grp)
		}
		opg, kk := cout/int(grp), tensor.NumElems(w.Shape[1:])
		packedA = sync.OnceValue(func() []*gemm.PackedQA {
			var pas []*gemm.PackedQA
			for gi := 0; gi < int(grp); gi++ {
				if w.DType == tensor.Int8 {
					pas = append(pas, gemm.PackQA(false, opg, kk, w.I8()[gi*opg*kk:(gi+1)*opg*kk], kk, zw))
				} else {
					pas = append(pas, gemm.PackQA(false, opg, kk, w.U8()[gi*opg*kk:(gi+1)*opg*kk], kk, zw))
				}
			}
			return pas
		})
		if grp == 1 && w.Rank() == 4 {
			cin, kh, kw := w.Shape[1], w.Shape[2], w.Shape[3]
			switch {
			case kh*kw == 1 && cin%4 == 0:
				// Tap-major is the original order: share the packing.
				planeW = &qplaneWeights{pa: packedA()[0], cin: cin, k: cin, kh: 1, kw: 1, zeroPoints: zw}
			case w.DType == tensor.Int8:
				planeW = packPlaneWeights(w.I8(), cout, cin, kh, kw, zw)
			default:
				planeW = packPlaneWeights(w.U8(), cout, cin, kh, kw, zw)
			}
		} else {
			packedA()
		}
	}
	if isGemm {
		if w.Rank() != 2 {
			return nil, fmt.Errorf("QGemm weight %v must be [N,K]", w.Shape)
		}
		k := w.Shape[1]
		if w.DType == tensor.Int8 {
			packedB = gemm.PackQB(true, k, cout, w.I8(), k, zw)
		} else {
			packedB = gemm.PackQB(true, k, cout, w.U8(), k, zw)
		}
	}
	// Requantization (the float32 multipliers) computed once when the
	// scales are constants.
	crq := newConstRequant(b, cout, act)
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 4)
		if err != nil {
			return nil, err
		}
		x, sx, swT := ts[0], ts[1], in[4]
		if ts[3] != w || (x.DType != tensor.Uint8 && x.DType != tensor.Int8) || sx.DType != tensor.Float32 || sx.Len() != 1 {
			return refK.Run(ctx, in)
		}
		sw, _ := swT.(*tensor.Tensor)
		if sw == nil || sw.DType != tensor.Float32 {
			return refK.Run(ctx, in)
		}
		ys, _ := Tensor(in, 6)
		yzp, _ := Tensor(in, 7)
		bias, _ := Tensor(in, 8)
		rq, err := crq.get(sx, sw, ys, yzp, cout, act)
		if err != nil {
			return nil, err
		}
		bv, err := int32Bias(bias, cout)
		if err != nil {
			return nil, err
		}
		zx := []int32{zxConst}
		scale := rq.mult32 // ONNX Runtime's float32 multipliers (see requant)
		if isGemm {
			m, k, oshape, err := qgemmDims(x, w)
			if err != nil {
				return nil, err
			}
			fb, err := qgemmFloatBias(in, rq, cout)
			if err != nil {
				return nil, err
			}
			out := ctx.Empty(rq.dt, oshape...)
			ep := gemm.QEpilogue{Bias: bv, Scale: scale, ZeroPoint: rq.zy, Relu: rq.relu, Clamp: true, Lo: rq.lo, Hi: rq.hi}
			if err := qgemmB(ctx, x, m, k, zx, packedB, out, cout, ep, rq, fb); err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}
		g, err := ResolveConv2D(n, x.Shape, w.Shape)
		if err != nil {
			return nil, err
		}
		cpg, opg := g.Cin/g.Group, g.Cout/g.Group
		kk := cpg * g.P.KH * g.P.KW
		out := ctx.Empty(rq.dt, g.OutShape(x.Rank())...)
		if dwW != nil && isDepthwise(g) && x.Rank() == 4 {
			if q := qdwNative(x, zxConst, dwQ8, bv, g, rq); q != nil {
				qdepthwise8(ctx.Threads, q, x, g, out)
				return []Value{out}, nil
			}
			qdepthwise(ctx.Threads, x, zxConst, dwW, bv, g, rq, out)
			return []Value{out}, nil
		}
		ohw := g.OH * g.OW
		plane := g.H * g.W
		epFor := func(gi int) gemm.QEpilogue {
			ep := gemm.QEpilogue{PerRow: true, ZeroPoint: rq.zy, Relu: rq.relu, Clamp: true, Lo: rq.lo, Hi: rq.hi}
			if bv != nil {
				ep.Bias = bv[gi*opg : (gi+1)*opg]
			}
			ep.Scale = scale[gi*opg : (gi+1)*opg]
			return ep
		}
		p := g.P
		pointwise := p.KH == 1 && p.KW == 1 && p.SH == 1 && p.SW == 1 && p.PT+p.PL+p.PB+p.PR == 0
		if planeW != nil && !pointwise && x.Rank() == 4 && g.Group == 1 && rq.dt != tensor.Float32 {
			l := layouts.get(g, planeW.cin, planeW.k)
			for bi := 0; bi < g.N; bi++ {
				xi, off := bi*g.Cin*plane, bi*g.Cout*ohw
				if x.DType == tensor.Uint8 {
					planeOut(ctx.Threads, planeW, l, x.U8()[xi:xi+g.Cin*plane], uint8(zxConst), g, zx, out, off, epFor(0))
				} else {
					planeOut(ctx.Threads, planeW, l, x.I8()[xi:xi+g.Cin*plane], int8(zxConst), g, zx, out, off, epFor(0))
				}
			}
			return []Value{out}, nil
		}
		if len(packedA()) != g.Group {
			return refK.Run(ctx, in)
		}
		for bi := 0; bi < g.N; bi++ {
			for gi := 0; gi < g.Group; gi++ {
				lo := (bi*g.Cin + gi*cpg) * plane
				ep := epFor(gi)
				off := (bi*g.Cout + gi*opg) * ohw
				if x.DType == tensor.Uint8 {
					qconvGroup(ctx.Threads, packedA()[gi], x.U8()[lo:lo+cpg*plane], uint8(zxConst), g, cpg, opg, kk, zx, out, off, ep, rq, gi*opg)
				} else {
					qconvGroup(ctx.Threads, packedA()[gi], x.I8()[lo:lo+cpg*plane], int8(zxConst), g, cpg, opg, kk, zx, out, off, ep, rq, gi*opg)
				}
			}
		}
		return []Value{out}, nil
	}), nil
}

func qgemmB(ctx *Ctx, x *tensor.Tensor, m, k int, zx []int32, pb *gemm.PackedQB, out *tensor.Tensor, n int, ep gemm.QEpilogue, rq *requant, fbias []float32) error {
	switch o := out.Data.(type) {
	case []uint8:
		qgemmBT(x, m, k, zx, pb, o, n, ep)
	case []int8:
		qgemmBT(x, m, k, zx, pb, o, n, ep)
	case []float32:
		// Float output: int32 accumulators (arena scratch) scaled per
		// column in one vector pass, the float bias (input 9) added in
		// the same pass.
		accT := ctx.Empty(tensor.Int32, m*n)
		defer ctx.Release(accT)
		acc := accT.I32()
		ep.Scale, ep.Relu, ep.ZeroPoint = nil, false, 0
		qgemmBT(x, m, k, zx, pb, acc, n, ep)
		for i := 0; i < m; i++ {
			row := o[i*n : (i+1)*n]
			if rq.act.Kind == "" {
				vmath.ScaleInt32(row, acc[i*n:(i+1)*n], rq.mult32[:n], fbias)
				continue
			}
			rq.floatRow(acc[i*n:(i+1)*n], row)
			if fbias != nil {
				vecF32('+', row, row, fbias)
			}
		}
	}
	return nil
}

// qgemmFloatBias reads ai.frugal:QGemm's optional input 9, a float32
// vector of N values added to a float output after the scaling (and any
// fused activation): the bias Add that follows a float-output QGemm in a
// QDQ model (fuse-matmul-add moves it there).
func qgemmFloatBias(in []Value, rq *requant, n int) ([]float32, error) {
	fb, err := Tensor(in, 9)
	if err != nil || fb == nil {
		return nil, err
	}
	if rq.dt != tensor.Float32 || fb.DType != tensor.Float32 || fb.Len() != n || fb.Rank() != 1 {
		return nil, fmt.Errorf("QGemm: float bias %s%v needs a float output of %d columns", fb.DType, fb.Shape, n)
	}
	return fb.F32(), nil
}

func qgemmBT[TC gemm.QOut](x *tensor.Tensor, m, k int, zx []int32, pb *gemm.PackedQB, c []TC, n int, ep gemm.QEpilogue) {
	if x.DType == tensor.Uint8 {
		gemm.QGemmPackedB(m, x.U8(), k, zx, pb, c, n, ep)
	} else {
		gemm.QGemmPackedB(m, x.I8(), k, zx, pb, c, n, ep)
	}
}

// qdepthwise runs an 8-bit depthwise convolution (one filter per channel)
// on impl/depthwise's float kernels, exactly: inputs x - zx and weights
// w - zw are small integers, and every partial sum of at most 258 products
// of magnitude <= 255*255 stays below 2^24, so float32 accumulates them
// without rounding. 8-bit outputs are then requantized in one SIMD pass
// (bias, float32 multiplier, rounding, zero point, clamp: qdwRequant);
// float outputs go through requant.apply.
func qdepthwise(threads int, x *tensor.Tensor, zx int32, wf []float32, bias []int32, g ConvGeom, rq *requant, out *tensor.Tensor) {
	plane, ohw := g.H*g.W, g.OH*g.OW
	kk := g.P.KH * g.P.KW
	// Work in chunks of channels whose planes fit in L2, each chunk
	// converted, convolved, and requantized by one goroutine.
	cc := max(1, min(g.Cout, (64<<10)/max(plane, ohw)))
	// Small late maps fit whole in one chunk: still give every thread a
	// share (MobileNetV2's 960-channel 7x7 layers ran on one thread).
	if g.N == 1 && threads > 1 {
		cc = min(cc, (g.Cout+threads-1)/threads)
	}
	perImg := (g.Cout + cc - 1) / cc
	units := g.N * perImg
	Parallel(threads, units, func(u0, u1 int) {
		bufp := getCols(cc * (plane + ohw))
		defer colPool.Put(bufp)
		for u := u0; u < u1; u++ {
			b, c0 := u/perImg, (u%perImg)*cc
			c1 := min(g.Cout, c0+cc)
			nc := c1 - c0
			xf, acc := (*bufp)[:nc*plane], (*bufp)[nc*plane:nc*(plane+ohw)]
			// x - zx as float32 (exact), with arith/convert's SIMD loop.
			lo, hi := (b*g.Cin+c0)*plane, (b*g.Cin+c1)*plane
			if x.DType == tensor.Int8 {
				convert.DequantizeInt8(xf, x.I8()[lo:hi], 1, zx)
			} else {
				convert.DequantizeUint8(xf, x.U8()[lo:hi], 1, zx)
			}
			dwconv.Conv(1, xf, 1, nc, g.H, g.W, g.P, wf[c0*kk:c1*kk], nil, dwconv.NoLo, dwconv.NoHi, acc)
			off := (b*g.Cout + c0) * ohw
			if qdwRequant(acc, nc, ohw, bias, rq, c0, out, off) {
				continue
			}
			// Float output: the sums are exact integers, convert in place.
			ai := unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(acc))), len(acc))
			for i, v := range acc {
				ai[i] = int32(v)
			}
			for c := 0; c < nc; c++ {
				row := ai[c*ohw : (c+1)*ohw]
				if bias != nil {
					for i := range row {
						row[i] += bias[c0+c]
					}
				}
				rq.apply(c0+c, row, out.Data, off+c*ohw)
			}
		}
	})
}

// bytePool recycles the 8-bit im2col buffers across calls and Runs.
var bytePool sync.Pool

func getBytes(n int) *[]byte {
	if p, ok := bytePool.Get().(*[]byte); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n)
	return &b
}

// qconvGroup convolves one image and group: 8-bit outputs at batch 1 go
// in L2-sized column chunks, one goroutine each expanding and multiplying
// its own (as convGemm does for float32); other cases expand everything
// and let the GEMM thread itself.
func qconvGroup[TB gemm.Int8](threads int, pa *gemm.PackedQA, xg []TB, zx0 TB, g ConvGeom, cpg, opg, kk int, zx []int32, out *tensor.Tensor, off int, ep gemm.QEpilogue, rq *requant, c0 int) {
	ohw := g.OH * g.OW
	nr := pa.Nr()
	pointwise := g.P.KH == 1 && g.P.KW == 1 && g.P.SH == 1 && g.P.SW == 1 && g.P.PT+g.P.PL+g.P.PB+g.P.PR == 0
	if pointwise {
		convOut(pa, opg, ohw, xg, zx, out, off, ep, rq, c0)
		return
	}
	_, isFloat := out.Data.([]float32)
	if threads > 1 && ohw >= 2*threads*nr && !isFloat {
		chunk := max(nr, 4*colTarget/max(kk, 1)/nr*nr)
		chunk = min(chunk, (ohw+threads*nr-1)/(threads*nr)*nr)
		if chunk > g.OW {
			chunk = chunk / g.OW * g.OW
		}
		nch := (ohw + chunk - 1) / chunk
		t := min(threads, nch)
		gemm.Parallel(t, func(i int) {
			buf := getBytes(kk * chunk)
			defer bytePool.Put(buf)
			col := unsafe.Slice((*TB)(unsafe.Pointer(unsafe.SliceData(*buf))), kk*chunk)
			for c := i * nch / t; c < (i+1)*nch/t; c++ {
				j0 := c * chunk
				j1 := min(ohw, j0+chunk)
				cc := col[:kk*(j1-j0)]
				im2colColsPad(xg, cpg, g.H, g.W, g.P, g.OW, j0, j1, zx0, false, cc)
				switch o := out.Data.(type) {
				case []uint8:
					gemm.QGemmPackedAThreads(1, pa, j1-j0, cc, j1-j0, zx, o[off+j0:], ohw, ep)
				case []int8:
					gemm.QGemmPackedAThreads(1, pa, j1-j0, cc, j1-j0, zx, o[off+j0:], ohw, ep)
				}
			}
		})
		return
	}
	buf := getBytes(kk * ohw)
	defer bytePool.Put(buf)
	col := unsafe.Slice((*TB)(unsafe.Pointer(unsafe.SliceData(*buf))), kk*ohw)
	ref.Im2ColPad(xg, cpg, g.H, g.W, g.P, zx0, col)
	convOut(pa, opg, ohw, col, zx, out, off, ep, rq, c0)
}

func convOut[TB gemm.Int8](pa *gemm.PackedQA, rows, ohw int, col []TB, zx []int32, out *tensor.Tensor, off int, ep gemm.QEpilogue, rq *requant, c0 int) {
	switch o := out.Data.(type) {
	case []uint8:
		gemm.QGemmPackedA(pa, ohw, col, ohw, zx, o[off:off+rows*ohw], ohw, ep)
	case []int8:
		gemm.QGemmPackedA(pa, ohw, col, ohw, zx, o[off:off+rows*ohw], ohw, ep)
	case []float32:
		acc := make([]int32, rows*ohw)
		ep.Scale, ep.Relu, ep.ZeroPoint = nil, false, 0
		gemm.QGemmPackedA(pa, ohw, col, ohw, zx, acc, ohw, ep)
		for r := 0; r < rows; r++ {
			rq.apply(c0+r, acc[r*ohw:(r+1)*ohw], o, off+r*ohw)
		}
	}
}
