package ops

import (
	"fmt"
	"github.com/frugal-ml/frugal/arith/convert"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/impl/ref"
	"github.com/frugal-ml/frugal/tensor"
)

// Integer-arithmetic layers. QLinearConv and QLinearMatMul are the standard
// ONNX ops; FrugalDomain:QGemm is the fully connected layer frugal's QDQ
// fusion produces (ONNX has no standard quantized Gemm with bias), for Gemm
// (x [M, K]) and for MatMul with constant weights (x [..., K], the weights
// stored transposed as [N, K]). All
// accumulate (x - zx) * (w - zw) exactly in int32 and requantize once:
// y = saturate(round_half_even(acc * sx*sw/sy) + zy). Two extensions, set
// only by frugal's own fusion pass, let int8 layers end a network or absorb
// an activation: an empty y_scale input yields float32 acc*sx*sw, and the
// "activation"="Relu" attribute clamps at the zero point.

// FrugalDomain is the operator domain of frugal's internal fused ops.
const FrugalDomain = "ai.frugal"

func init() {
	Register(Impl{Op: "QLinearConv", Name: "int8-ref", DTypes: []tensor.DType{tensor.Uint8, tensor.Int8},
		Build: func(b *BuildInfo) (Kernel, error) { return buildQConv(b, false) }})
	Register(Impl{Op: "QGemm", Domain: FrugalDomain, Name: "int8-ref", DTypes: []tensor.DType{tensor.Uint8, tensor.Int8},
		Build: func(b *BuildInfo) (Kernel, error) { return buildQConv(b, true) }})
	Register(Impl{Op: "QLinearMatMul", Name: "int8-ref", DTypes: []tensor.DType{tensor.Uint8, tensor.Int8},
		Build: buildQLinearMatMul})
	Register(Impl{Op: "MaxPool", Name: "int8-direct", DTypes: []tensor.DType{tensor.Uint8, tensor.Int8},
		Match: func(b *BuildInfo) bool {
			dt := b.InDType(0)
			return dt == tensor.Uint8 || dt == tensor.Int8
		}, Build: buildMaxPoolInt8})
	graph.RegisterShape("", "QLinearConv", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		out := graph.Type{DType: tensor.Uint8}
		if len(in) > 7 && in[7].DType != tensor.Undefined {
			out.DType = in[7].DType
		} else if n.Input(6) == "" {
			out.DType = tensor.Float32
		}
		if len(in) > 3 {
			xs, okx := in[0].Known()
			ws, okw := in[3].Known()
			if okx && okw && len(xs) == len(ws) && len(xs) >= 3 {
				p, err := graph.ReadConvParams(n, xs, ws[2:])
				if err != nil {
					return nil, err
				}
				shape := []int{xs[0], ws[0]}
				for i := range p.Kernel {
					shape = append(shape, p.OutSize(i, xs[2+i]))
				}
				out.Shape, out.HasShape = graph.ConcreteShape(shape...), true
			}
		}
		return []graph.Type{out}, nil
	})
	graph.RegisterShape(FrugalDomain, "QGemm", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		out := graph.Type{DType: tensor.Float32}
		if len(in) > 7 && in[7].DType != tensor.Undefined {
			out.DType = in[7].DType
		} else if n.Input(6) != "" {
			out.DType = tensor.Uint8
		}
		// X [..., K] (a MatMul's leading dimensions stay), W [N, K].
		if in[0].HasShape && in[3].HasShape && len(in[0].Shape) >= 1 && len(in[3].Shape) == 2 {
			sh := append(graph.Shape{}, in[0].Shape[:len(in[0].Shape)-1]...)
			out.Shape, out.HasShape = append(sh, in[3].Shape[0]), true
		}
		return []graph.Type{out}, nil
	})
}

// intVals converts integer tensor data minus a zero point into int32.
func intVals(t *tensor.Tensor, zp int32, dst []int32) {
	switch d := t.Data.(type) {
	case []uint8:
		for i, v := range d {
			dst[i] = int32(v) - zp
		}
	case []int8:
		for i, v := range d {
			dst[i] = int32(v) - zp
		}
	}
}

func scalarInt(t *tensor.Tensor) int32 {
	if t == nil || t.Len() == 0 {
		return 0
	}
	return int32(t.Float64At(0))
}

// requant holds per-output-channel requantization.
//
// 8-bit outputs requantize as ONNX Runtime does (gemm.Requantize: float32
// product, round half to even, zero point, saturation) with ONNX Runtime's
// float32 multiplier x_scale*w_scale[c]/y_scale: the product rounded to
// float32, then the quotient rounded to float32 (qlinearconv.cc and
// qlinearmatmul.cc compute it in float32, in that order). mult keeps the
// float64 quotient of the same float32 product, which rounds to exactly
// mult32 (a float64 quotient of float32 operands rounded to float32 is the
// float32 quotient: 53 >= 2*24+2 bits make the double rounding innocuous).
type requant struct {
	mult   []float64 // float64(float32(sx*sw[c]))/sy; sx*sw[c] for float output
	mult32 []float32 // float32(sx*sw[c]) / sy in float32 (ONNX Runtime's multiplier; used for 8-bit output)
	zy     int32
	lo, hi int32
	dt     tensor.DType // output dtype; Float32 for float output
	relu   bool
	act    Activation // fused activation (float outputs clamp with it)
}

func newRequant(sx float32, sw []float32, ys, yzp *tensor.Tensor, nout int, act Activation) (*requant, error) {
	r := &requant{mult: make([]float64, nout), relu: act.Kind == "Relu", act: act}
	if act.Kind != "" && act.Kind != "Relu" && act.Kind != "Clip" {
		return nil, fmt.Errorf("unsupported fused activation %q", act.Kind)
	}
	if len(sw) != 1 && len(sw) != nout {
		return nil, fmt.Errorf("weight scale has %d elements, want 1 or %d", len(sw), nout)
	}
	sy := float32(1)
	r.dt = tensor.Float32
	if ys != nil {
		if ys.DType != tensor.Float32 || ys.Len() != 1 {
			return nil, fmt.Errorf("y_scale must be a float32 scalar, got %s%v", ys.DType, ys.Shape)
		}
		sy = ys.F32()[0]
		r.dt = tensor.Uint8
		if yzp != nil {
			r.dt = yzp.DType
			r.zy = scalarInt(yzp)
		}
		lo, hi, ok := IntRange(r.dt)
		if !ok || (r.dt != tensor.Uint8 && r.dt != tensor.Int8) {
			return nil, fmt.Errorf("output dtype %s: want uint8 or int8", r.dt)
		}
		r.lo, r.hi = int32(lo), int32(hi)
		if r.relu && r.zy > r.lo {
			r.lo = r.zy
		}
		if act.Kind == "Clip" {
			// Quantization is monotonic, so Q(clip(v)) = clip(Q(v)) with
			// the bounds quantized the way QuantizeLinear would.
			code := func(v float32) int32 { return int32(quantCode(v, sy, float32(r.zy), float32(lo), float32(hi))) }
			r.lo, r.hi = max(r.lo, code(act.Min)), min(r.hi, code(act.Max))
		}
	}
	r.mult32 = make([]float32, nout)
	for c := range r.mult {
		s := sw[0]
		if len(sw) > 1 {
			s = sw[c]
		}
		p := float32(sx * s) // rounded to float32 (no fusion across the conversion)
		r.mult[c] = float64(p) / float64(sy)
		r.mult32[c] = p / sy
	}
	return r, nil
}

// constRequant is a layer's requantization computed once at build time,
// when x_scale, w_scale, y_scale and y_zero_point are constants; a run
// whose inputs are those very tensors reuses it (requant is read-only).
type constRequant struct {
	sx, sw, ys, yzp *tensor.Tensor
	rq              *requant
}

// newConstRequant returns nil unless inputs 1, 4, 6 and 7 (QLinearConv /
// QGemm numbering) are constants (or absent, for 6 and 7) that newRequant
// accepts.
func newConstRequant(b *BuildInfo, nout int, act Activation) *constRequant {
	c := func(i int) (*tensor.Tensor, bool) {
		if b.Node.Input(i) == "" {
			return nil, true
		}
		if i < len(b.Const) && b.Const[i] != nil {
			return b.Const[i], true
		}
		return nil, false
	}
	sx, ok1 := c(1)
	sw, ok4 := c(4)
	ys, ok6 := c(6)
	yzp, ok7 := c(7)
	if !ok1 || !ok4 || !ok6 || !ok7 || sx == nil || sw == nil || sx.DType != tensor.Float32 || sx.Len() != 1 || sw.DType != tensor.Float32 {
		return nil
	}
	rq, err := newRequant(sx.F32()[0], sw.F32(), ys, yzp, nout, act)
	if err != nil {
		return nil // reported by the run, as without the cache
	}
	return &constRequant{sx: sx, sw: sw, ys: ys, yzp: yzp, rq: rq}
}

// get returns the build-time requantization when the run's scale tensors
// are the constants it was computed from, else computes it (sx a float32
// scalar and sw float32, as the callers check).
func (c *constRequant) get(sx, sw, ys, yzp *tensor.Tensor, nout int, act Activation) (*requant, error) {
	if c != nil && sx == c.sx && sw == c.sw && ys == c.ys && yzp == c.yzp {
		return c.rq, nil
	}
	return newRequant(sx.F32()[0], sw.F32(), ys, yzp, nout, act)
}

// apply converts one output channel's accumulators.
func (r *requant) apply(c int, acc []int32, out any, off int) {
	switch o := out.(type) {
	case []float32:
		m := r.mult[c]
		for i, a := range acc {
			v := float32(float64(a) * m)
			if r.relu && v < 0 {
				v = 0
			}
			if r.act.Kind == "Clip" {
				v = min(max(v, r.act.Min), r.act.Max)
			}
			o[off+i] = v
		}
	case []uint8:
		m := r.mult32[c]
		for i, a := range acc {
			o[off+i] = uint8(r.q(a, m))
		}
	case []int8:
		m := r.mult32[c]
		for i, a := range acc {
			o[off+i] = int8(r.q(a, m))
		}
	}
}

// floatRow converts one output row (one accumulator per channel) to float
// output, as apply does channel by channel.
func (r *requant) floatRow(acc []int32, out []float32) {
	mult := r.mult[:len(acc)]
	for c, a := range acc {
		v := float32(float64(a) * mult[c])
		if r.relu && v < 0 {
			v = 0
		}
		if r.act.Kind == "Clip" {
			v = min(max(v, r.act.Min), r.act.Max)
		}
		out[c] = v
	}
}

// int32Bias checks an int8 layer's optional bias: int32, one per output
// channel.
func int32Bias(bias *tensor.Tensor, cout int) ([]int32, error) {
	if bias == nil {
		return nil, nil
	}
	if bias.DType != tensor.Int32 || bias.Len() != cout {
		return nil, fmt.Errorf("bias must be int32[%d], got %s%v", cout, bias.DType, bias.Shape)
	}
	return bias.I32(), nil
}

// q requantizes one accumulator with the GEMM finisher's arithmetic.
func (r *requant) q(a int32, m float32) int32 {
	return gemm.Requantize(a, m, r.zy, r.lo, r.hi)
}

// qgemmDims checks QGemm's operands, x [..., K] and w [N, K], and returns
// M (the product of x's leading dimensions), K and the output shape
// [..., N]: a rank-2 x is Gemm's [M, K], another rank a MatMul's rows
// against the same weights (a vector x [K] gives [N], as MatMul does).
func qgemmDims(x, w *tensor.Tensor) (m, k int, out []int, err error) {
	if x.Rank() < 1 || w.Rank() != 2 || x.Shape[x.Rank()-1] != w.Shape[1] {
		return 0, 0, nil, fmt.Errorf("QGemm: x %v and w %v must be [..., K] and [N, K]", x.Shape, w.Shape)
	}
	k = w.Shape[1]
	out = append(append([]int(nil), x.Shape[:x.Rank()-1]...), w.Shape[0])
	return tensor.NumElems(x.Shape[:x.Rank()-1]), k, out, nil
}

// buildQConv builds QLinearConv (gemm=false) or QGemm (gemm=true: X [..., K]
// as M = prod(...) rows, W [N,K], Y = X W^T of shape [..., N]). Inputs: x, x_scale, x_zp, w, w_scale, w_zp, y_scale,
// y_zp, bias.
func buildQConv(b *BuildInfo, isGemm bool) (Kernel, error) {
	n := b.Node
	act, err := ActivationFromNode(n)
	if err != nil {
		return nil, err
	}
	// Prepack constant weights as int32 minus their zero points.
	type packedW struct {
		w    []int32
		cout int
	}
	var pre *packedW
	if b.Const[3] != nil && (len(b.Const) <= 5 || n.Input(5) == "" || b.Const[5] != nil) {
		w := b.Const[3]
		var zw *tensor.Tensor
		if len(b.Const) > 5 {
			zw = b.Const[5]
		}
		if zw != nil && zw.Len() > 1 {
			// per-channel zero points: handled on the slow path
		} else if w.DType == tensor.Int8 || w.DType == tensor.Uint8 {
			pw := make([]int32, w.Len())
			intVals(w, scalarInt(zw), pw)
			pre = &packedW{w: pw, cout: w.Shape[0]}
		}
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 4)
		if err != nil {
			return nil, err
		}
		x, sx, w := ts[0], ts[1], ts[3]
		swT, err := Tensor(in, 4)
		if err != nil || swT == nil {
			return nil, fmt.Errorf("w_scale is required")
		}
		zx, _ := Tensor(in, 2)
		zw, _ := Tensor(in, 5)
		ys, _ := Tensor(in, 6)
		yzp, _ := Tensor(in, 7)
		bias, _ := Tensor(in, 8)
		if x.DType != tensor.Uint8 && x.DType != tensor.Int8 {
			return nil, fmt.Errorf("x has dtype %s, want uint8 or int8", x.DType)
		}
		if w.DType != tensor.Uint8 && w.DType != tensor.Int8 {
			return nil, fmt.Errorf("w has dtype %s, want uint8 or int8", w.DType)
		}
		if sx.DType != tensor.Float32 || sx.Len() != 1 || swT.DType != tensor.Float32 {
			return nil, fmt.Errorf("scales must be float32 (x_scale scalar)")
		}
		cout := w.Shape[0]
		rq, err := newRequant(sx.F32()[0], swT.F32(), ys, yzp, cout, act)
		if err != nil {
			return nil, err
		}
		bv, err := int32Bias(bias, cout)
		if err != nil {
			return nil, err
		}
		var wv []int32
		if pre != nil && w == b.Const[3] {
			wv = pre.w
		} else {
			wv = make([]int32, w.Len())
			if zw != nil && zw.Len() > 1 {
				per := w.Len() / cout
				for c := 0; c < cout; c++ {
					z := int32(zw.Float64At(c))
					sub := &tensor.Tensor{DType: w.DType, Data: sliceRange(w.Data, c*per, (c+1)*per)}
					intVals(sub, z, wv[c*per:(c+1)*per])
				}
			} else {
				intVals(w, scalarInt(zw), wv)
			}
		}
		xz := scalarInt(zx)
		if isGemm {
			m, k, oshape, err := qgemmDims(x, w)
			if err != nil {
				return nil, err
			}
			out := tensor.New(rq.dt, oshape...)
			xv := make([]int32, x.Len())
			intVals(x, xz, xv)
			Parallel(ctx.Threads, m, func(lo, hi int) {
				acc := make([]int32, cout)
				for i := lo; i < hi; i++ {
					xr := xv[i*k : (i+1)*k]
					for c := 0; c < cout; c++ {
						wr := wv[c*k : (c+1)*k]
						var s int32
						for p, xvv := range xr {
							s += xvv * wr[p]
						}
						if bv != nil {
							s += bv[c]
						}
						acc[c] = s
					}
					for c := 0; c < cout; c++ {
						rq.apply(c, acc[c:c+1], out.Data, i*cout+c)
					}
				}
			})
			if fb, err := qgemmFloatBias(in, rq, cout); err != nil {
				return nil, err
			} else if fb != nil {
				o := out.F32()
				for i := 0; i < m; i++ {
					vecF32('+', o[i*cout:(i+1)*cout], o[i*cout:(i+1)*cout], fb)
				}
			}
			return []Value{out}, nil
		}
		g, err := ResolveConv2D(n, x.Shape, w.Shape)
		if err != nil {
			return nil, err
		}
		out := tensor.New(rq.dt, g.OutShape(x.Rank())...)
		cpg, opg := g.Cin/g.Group, g.Cout/g.Group
		kk := cpg * g.P.KH * g.P.KW
		ohw := g.OH * g.OW
		plane := g.H * g.W
		Parallel(ctx.Threads, g.N, func(lo, hi int) {
			xv := make([]int32, g.Cin*plane)
			col := make([]int32, kk*ohw)
			acc := make([]int32, ohw)
			for bi := lo; bi < hi; bi++ {
				img := &tensor.Tensor{DType: x.DType, Data: sliceRange(x.Data, bi*g.Cin*plane, (bi+1)*g.Cin*plane)}
				intVals(img, xz, xv)
				for gi := 0; gi < g.Group; gi++ {
					ref.Im2ColPad(xv[gi*cpg*plane:(gi+1)*cpg*plane], cpg, g.H, g.W, g.P, 0, col)
					for o := 0; o < opg; o++ {
						co := gi*opg + o
						for i := range acc {
							acc[i] = 0
						}
						if bv != nil {
							for i := range acc {
								acc[i] = bv[co]
							}
						}
						wr := wv[co*kk : (co+1)*kk]
						for p, wvv := range wr {
							if wvv == 0 {
								continue
							}
							cr := col[p*ohw : (p+1)*ohw]
							for i, cv := range cr {
								acc[i] += wvv * cv
							}
						}
						rq.apply(co, acc, out.Data, (bi*g.Cout+co)*ohw)
					}
				}
			}
		})
		return []Value{out}, nil
	}), nil
}

func sliceRange(d any, lo, hi int) any {
	switch s := d.(type) {
	case []uint8:
		return s[lo:hi]
	case []int8:
		return s[lo:hi]
	}
	return nil
}

func buildQLinearMatMul(b *BuildInfo) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 8)
		if err != nil {
			return nil, err
		}
		a, sa, za, bm, sb, zb, sy, zy := ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], ts[6], ts[7]
		for _, t := range []*tensor.Tensor{a, bm} {
			if t.DType != tensor.Uint8 && t.DType != tensor.Int8 {
				return nil, fmt.Errorf("operands must be uint8/int8, got %s", t.DType)
			}
		}
		if a.Rank() < 2 || bm.Rank() < 2 {
			return nil, fmt.Errorf("QLinearMatMul: operands %v, %v must have rank >= 2", a.Shape, bm.Shape)
		}
		m, k := a.Shape[a.Rank()-2], a.Shape[a.Rank()-1]
		k2, nn := bm.Shape[bm.Rank()-2], bm.Shape[bm.Rank()-1]
		if k != k2 {
			return nil, fmt.Errorf("QLinearMatMul: inner dims differ: %v x %v", a.Shape, bm.Shape)
		}
		batch, err := tensor.BroadcastShapes(a.Shape[:a.Rank()-2], bm.Shape[:bm.Rank()-2])
		if err != nil {
			return nil, err
		}
		nbat := tensor.NumElems(batch)
		ia, ib := make([]int, nbat), make([]int, nbat)
		tensor.BroadcastIndex(batch, tensor.BroadcastStrides(a.Shape[:a.Rank()-2], batch), ia)
		tensor.BroadcastIndex(batch, tensor.BroadcastStrides(bm.Shape[:bm.Rank()-2], batch), ib)
		// Per-tensor or per-row/column zero points and scales.
		av := make([]int32, a.Len())
		intVals(a, 0, av)
		bv := make([]int32, bm.Len())
		intVals(bm, 0, bv)
		out := tensor.New(zy.DType, append(append([]int{}, batch...), m, nn)...)
		lo, hi, ok := IntRange(zy.DType)
		if !ok {
			return nil, fmt.Errorf("y_zero_point dtype %s unsupported", zy.DType)
		}
		syv := float32(sy.Float64At(0))
		yz := float64(scalarInt(zy))
		for bt := 0; bt < nbat; bt++ {
			ao, bo := ia[bt]*m*k, ib[bt]*k*nn
			for i := 0; i < m; i++ {
				zai := int32(za.Float64At(min(i, za.Len()-1)))
				sai := float32(sa.Float64At(min(i, sa.Len()-1)))
				for j := 0; j < nn; j++ {
					zbj := int32(zb.Float64At(min(j, zb.Len()-1)))
					sbj := float32(sb.Float64At(min(j, sb.Len()-1)))
					var s int32
					for p := 0; p < k; p++ {
						s += (av[ao+i*k+p] - zai) * (bv[bo+p*nn+j] - zbj)
					}
					v := math.RoundToEven(float64(s)*float64(sai*sbj/syv)) + yz
					v = math.Max(float64(lo), math.Min(float64(hi), v))
					setInt(out, (bt*m+i)*nn+j, int64(v))
				}
			}
		}
		return []Value{out}, nil
	}), nil
}

// buildMaxPoolInt8 pools 8-bit codes directly (max commutes with the
// monotonic dequantization), planes spread over threads.
func buildMaxPoolInt8(b *BuildInfo) (Kernel, error) {
	n := b.Node
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if x.DType != tensor.Uint8 && x.DType != tensor.Int8 {
			return nil, fmt.Errorf("8-bit MaxPool got %s input", x.DType)
		}
		g, err := PoolGeom(n, x.Shape)
		if err != nil {
			return nil, err
		}
		out := ctx.Empty(x.DType, g.OutShape(x.Rank())...)
		plane, oplane := g.H*g.W, g.OH*g.OW
		// Common windows pool the codes as bytes, eight at a time
		// (pool_bytes.go). Others become exact float32 values for the
		// float plane kernel:
		// Go compiles the 8-bit max to branches, which real data mispredicts
		// (42 us a 112x112 plane against 9 us in float, SIMD conversions
		// included).
		if bytePoolFits(g.P) {
			xb, ob := codes(x), codes(out)
			signed := x.DType == tensor.Int8
			Parallel(ctx.Threads, g.N*g.Cin, func(lo, hi int) {
				buf := getBytes(bytePoolScratch(g.W, g.OW))
				defer bytePool.Put(buf)
				for i := lo; i < hi; i++ {
					maxPoolBytes(xb[i*plane:(i+1)*plane], g.H, g.W, g.P, g.OH, g.OW, signed, ob[i*oplane:(i+1)*oplane], *buf)
				}
			})
			return []Value{out}, nil
		}
		Parallel(ctx.Threads, g.N*g.Cin, func(lo, hi int) {
			buf := getCols(plane + oplane + g.W)
			defer colPool.Put(buf)
			xf, of, tmp := (*buf)[:plane], (*buf)[plane:plane+oplane], (*buf)[plane+oplane:]
			for i := lo; i < hi; i++ {
				switch xd := x.Data.(type) {
				case []uint8:
					convert.DequantizeUint8(xf, xd[i*plane:(i+1)*plane], 1, 0)
				case []int8:
					convert.DequantizeInt8(xf, xd[i*plane:(i+1)*plane], 1, 0)
				}
				maxPoolPlane(xf, g.H, g.W, g.P, g.OH, g.OW, of, tmp)
				switch x.DType {
				case tensor.Uint8:
					convert.QuantizeUint8(out.U8()[i*oplane:(i+1)*oplane], of, 1, 0)
				case tensor.Int8:
					convert.QuantizeInt8(out.I8()[i*oplane:(i+1)*oplane], of, 1, 0)
				}
			}
		})
		return []Value{out}, nil
	}), nil
}
