package ops

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	dwconv "github.com/frugal-ml/frugal/impl/depthwise"
	"github.com/frugal-ml/frugal/impl/ref"
	"github.com/frugal-ml/frugal/tensor"
)

func init() {
	Register(Impl{Op: "Conv", Name: "im2col-gemm", DTypes: floatTypes,
		Match: floatMatch,
		Build: buildConv})
	// FusedConv(X, W, B, Z) = act(Conv(X, W, B) + Z), made by the
	// fuse-conv-add pass from residual joins.
	Register(Impl{Op: "FusedConv", Domain: FrugalDomain, Name: "im2col-gemm-sum", DTypes: []tensor.DType{tensor.Float32},
		Build: buildConv})
}

// ConvGeom is a resolved 1-D or 2-D convolution: shapes plus window.
type ConvGeom struct {
	N, Cin, H, W, Cout, Group, OH, OW int
	P                                 ref.Conv2D
}

// ResolveConv2D reads the node's attributes for input x and weight w
// shapes (rank 3 or 4; rank 3 is treated as height 1).
func ResolveConv2D(n *graph.Node, xs, ws []int) (ConvGeom, error) {
	var g ConvGeom
	if len(xs) != len(ws) || (len(xs) != 3 && len(xs) != 4) {
		return g, fmt.Errorf("input %v and weight %v: only 1-D and 2-D convolutions are supported here", xs, ws)
	}
	p, err := graph.ReadConvParams(n, xs, ws[2:])
	if err != nil {
		return g, err
	}
	if p.Group <= 0 || xs[1] != ws[1]*p.Group || ws[0]%p.Group != 0 {
		return g, fmt.Errorf("input has %d channels; weight %v with group %d does not fit", xs[1], ws, p.Group)
	}
	g = ConvGeom{N: xs[0], Cin: xs[1], Cout: ws[0], Group: p.Group}
	if len(xs) == 4 {
		g.H, g.W = xs[2], xs[3]
		g.P = ref.Conv2D{KH: p.Kernel[0], KW: p.Kernel[1], SH: p.Strides[0], SW: p.Strides[1],
			PT: p.Pads[0], PL: p.Pads[1], PB: p.Pads[2], PR: p.Pads[3], DH: p.Dilations[0], DW: p.Dilations[1]}
	} else {
		g.H, g.W = 1, xs[2]
		g.P = ref.Conv2D{KH: 1, KW: p.Kernel[0], SH: 1, SW: p.Strides[0], PL: p.Pads[0], PR: p.Pads[1], DH: 1, DW: p.Dilations[0]}
	}
	g.OH, g.OW = g.P.Out(g.H, g.W)
	if g.OH <= 0 || g.OW <= 0 {
		return g, fmt.Errorf("input %v with kernel %v gives an empty output", xs, p.Kernel)
	}
	return g, nil
}

// OutShape is the output tensor shape (rank follows the input).
func (g ConvGeom) OutShape(rank int) []int {
	if rank == 3 {
		return []int{g.N, g.Cout, g.OW}
	}
	return []int{g.N, g.Cout, g.OH, g.OW}
}

// Activation is an elementwise epilogue fused into a producer kernel.
type Activation struct {
	Kind     string // "", "Relu", "Clip"
	Min, Max float32
}

// Apply runs the activation in place.
func (a Activation) Apply(x []float32) {
	switch a.Kind {
	case "Relu":
		ReluF32(x, x)
	case "Clip":
		lo, hi := a.Min, a.Max
		for i, v := range x {
			// Branch-free (MAXSS/MINSS); Go's min and max keep NaN.
			x[i] = min(max(v, lo), hi)
		}
	}
}

// ActivationFromNode reads the fused activation attributes frugal's fusion
// pass sets ("activation", "activation_min", "activation_max").
func ActivationFromNode(n *graph.Node) (Activation, error) {
	return activationAttrs(n, "")
}

// activationAttrs reads a fused activation stored under prefix+"activation"
// ("activation" for the output's, "pw_activation" for FusedPwDw's first
// convolution).
func activationAttrs(n *graph.Node, prefix string) (Activation, error) {
	k, err := n.String(prefix+"activation", "")
	if err != nil {
		return Activation{}, err
	}
	a := Activation{Kind: k}
	switch k {
	case "", "Relu":
	case "Clip":
		if a.Min, err = n.Float(prefix+"activation_min", -3.4e38); err != nil {
			return a, err
		}
		if a.Max, err = n.Float(prefix+"activation_max", 3.4e38); err != nil {
			return a, err
		}
	default:
		return a, fmt.Errorf("unknown fused activation %q", k)
	}
	return a, nil
}

func buildConv(b *BuildInfo) (Kernel, error) {
	act, err := ActivationFromNode(b.Node)
	if err != nil {
		return nil, err
	}
	n := b.Node
	// Constant float32 weights are packed for the GEMM once, here.
	var packed *convWeights
	var packedFor []int
	if len(b.Const) > 1 && b.Const[1] != nil && b.Const[1].DType == tensor.Float32 && (b.Const[1].Rank() == 3 || b.Const[1].Rank() == 4) {
		w := b.Const[1]
		group, err := n.Int("group", 1)
		if err != nil {
			return nil, err
		}
		kk := 1
		for _, d := range w.Shape[1:] {
			kk *= d
		}
		if group >= 1 && w.Shape[0]%int(group) == 0 && !(w.Shape[1] == 1 && w.Shape[0] == int(group) && group > 1) {
			packed = packConvWeights(w.F32(), w.Shape[0], int(group), kk)
			packedFor = w.Shape
		}
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x, w := ts[0], ts[1]
		bias, err := Tensor(in, 2)
		if err != nil {
			return nil, err
		}
		if x.DType != w.DType || (bias != nil && bias.DType != x.DType) {
			return nil, fmt.Errorf("Conv: input dtypes differ (%s, %s)", x.DType, w.DType)
		}
		if x.DType != tensor.Float32 || (x.Rank() != 3 && x.Rank() != 4) {
			return convGeneric(ctx, n, x, w, bias, act)
		}
		g, err := ResolveConv2D(n, x.Shape, w.Shape)
		if err != nil {
			return nil, err
		}
		var bv []float32
		if bias != nil {
			if bias.Len() != g.Cout {
				return nil, fmt.Errorf("bias has %d elements, want %d", bias.Len(), g.Cout)
			}
			bv = bias.F32()
		}
		z, err := Tensor(in, 3) // FusedConv's addend
		if err != nil {
			return nil, err
		}
		// Every path writes all of out. A same-shape addend that dies here
		// lends its storage: the residual stores read each element of it
		// before writing that element, so no copy of Z is needed.
		var out *tensor.Tensor
		if z != nil && z.DType == tensor.Float32 && tensor.SameShape(z.Shape, g.OutShape(x.Rank())) && !overlaps(x, z) {
			out = ctx.Output(tensor.Float32, g.OutShape(x.Rank()), z)
		} else {
			out = ctx.Empty(tensor.Float32, g.OutShape(x.Rank())...)
		}
		if z != nil && (z.DType != tensor.Float32 || !tensor.SameShape(z.Shape, out.Shape)) {
			// Broadcasting addend: convolve, then add and clamp apart.
			if z.DType != tensor.Float32 {
				return nil, fmt.Errorf("FusedConv: addend is %s, want float32", z.DType)
			}
			if packed != nil && w == b.Const[1] && tensor.SameShape(w.Shape, packedFor) {
				convGemm(ctx.Threads, x.F32(), packed, bv, g, Activation{}, false, out.F32())
			} else {
				ConvForward(ctx.Threads, x.F32(), w.F32(), bv, g, Activation{}, out.F32())
			}
			sum, shape, err := tensor.Binary(out.F32(), out.Shape, z.F32(), z.Shape, func(a, b float32) float32 { return a + b })
			if err != nil {
				return nil, fmt.Errorf("FusedConv: adding %v to the convolution's %v: %w", z.Shape, out.Shape, err)
			}
			act.Apply(sum)
			return []Value{tensor.MustFromSlice(sum, shape...)}, nil
		}
		residual := z != nil
		if residual && !sameStorage(out.F32(), z.F32()) {
			copy(out.F32(), z.F32())
		}
		if packed != nil && w == b.Const[1] && tensor.SameShape(w.Shape, packedFor) {
			convGemm(ctx.Threads, x.F32(), packed, bv, g, act, residual, out.F32())
		} else if residual && !isDepthwise(g) {
			kk := g.Cin / g.Group * g.P.KH * g.P.KW
			convGemm(ctx.Threads, x.F32(), packConvWeights(w.F32(), g.Cout, g.Group, kk), bv, g, act, true, out.F32())
		} else if residual {
			dw := ctx.Float32s(out.Len())
			depthwise(ctx.Threads, x.F32(), w.F32(), bv, g, Activation{}, dw)
			addActivate(ctx.Threads, out.F32(), dw, act)
			ctx.Release(dw)
		} else {
			ConvForward(ctx.Threads, x.F32(), w.F32(), bv, g, act, out.F32())
		}
		return []Value{out}, nil
	}), nil
}

// ConvForward computes out = act(conv(x, w) + bias) for float32 NCHW data:
// the direct kernel for depthwise convolution, else im2col + GEMM with the
// weights packed for this call (constant weights are packed once instead,
// when the node is built).
func ConvForward(threads int, x, w, bias []float32, g ConvGeom, act Activation, out []float32) {
	if isDepthwise(g) {
		depthwise(threads, x, w, bias, g, act, out)
		return
	}
	kk := g.Cin / g.Group * g.P.KH * g.P.KW
	convGemm(threads, x, packConvWeights(w, g.Cout, g.Group, kk), bias, g, act, false, out)
}

// isDepthwise reports one filter per channel (group == Cin == Cout).
func isDepthwise(g ConvGeom) bool { return g.Cin == g.Group && g.Cout == g.Group && g.Group > 1 }

// convGeneric runs Conv of any rank; float32 and float64 compute natively,
// other floats through float32.
func convGeneric(ctx *Ctx, n *graph.Node, x, w, bias *tensor.Tensor, act Activation) ([]Value, error) {
	dt := x.DType
	if dt != tensor.Float32 && dt != tensor.Float64 {
		var err error
		if x, _, err = toF32(x); err != nil {
			return nil, err
		}
		if w, _, err = toF32(w); err != nil {
			return nil, err
		}
		if bias != nil {
			if bias, _, err = toF32(bias); err != nil {
				return nil, err
			}
		}
	}
	out, err := ConvAny(ctx.Threads, n, x, w, bias)
	if err != nil {
		return nil, err
	}
	if out.DType == tensor.Float32 {
		act.Apply(out.F32())
		out = fromF32(out, dt)
	}
	return []Value{out}, nil
}

// depthwise runs one-filter-per-channel convolution (group == Cin ==
// Cout, as in MobileNet) on impl/depthwise's direct kernels: im2col + GEMM
// would run one GEMM with a single output row per channel. The activation
// is fused into the kernel's store.
func depthwise(threads int, x, w, bias []float32, g ConvGeom, act Activation, out []float32) {
	lo, hi := act.bounds()
	dwconv.Conv(threads, x, g.N, g.Cin, g.H, g.W, g.P, w, bias, lo, hi, out)
}

// bounds are the activation's clamp limits (infinite when absent).
func (a Activation) bounds() (lo, hi float32) {
	switch a.Kind {
	case "Relu":
		return 0, dwconv.NoHi
	case "Clip":
		return a.Min, a.Max
	}
	return dwconv.NoLo, dwconv.NoHi
}

// overlaps reports whether a and b share storage (Conv(x) + x, fused:
// the output may then not be written over the addend, which is also the
// input the convolution reads).
func overlaps(a, b *tensor.Tensor) bool {
	alo, ahi, aok := dataRange(a.Data)
	blo, bhi, bok := dataRange(b.Data)
	return !aok || !bok || (alo < bhi && blo < ahi)
}

// sameStorage reports whether a and b start at the same element (an
// output written in place over an input).
func sameStorage(a, b []float32) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}
