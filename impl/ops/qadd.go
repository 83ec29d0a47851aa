package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/arith/convert"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// ai.frugal:QLinearAdd(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp)
// is the residual join of a quantized network, fused by the fuse-qdq pass
// from DQ(a) + DQ(b) [-> Relu|Clip] -> Q. It computes, per element, exactly
// the float32 operations of that QDQ chain (dequantize each side through a
// 256-entry table, add, clamp, divide by y_scale, round half to even, add
// the zero point, saturate), so fusing changes no output code. Inputs of
// different shapes broadcast like Add. Same-shape inputs (the residual
// case) run arith/convert's fused SIMD kernel, which performs the same
// float32 operations in the same order (a NaN sum, from a zero or NaN
// scale, gives the zero point clamped to the bounds, as QuantizeLinear
// maps NaN to the zero point).

func init() {
	Register(Impl{Op: "QLinearAdd", Domain: FrugalDomain, Name: "int8-table", DTypes: []tensor.DType{tensor.Uint8, tensor.Int8},
		Build: buildQLinearAdd})
	graph.RegisterShape(FrugalDomain, "QLinearAdd", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		if len(in) < 8 {
			return nil, fmt.Errorf("QLinearAdd needs 8 inputs")
		}
		out := graph.Type{DType: in[7].DType}
		if out.DType == tensor.Undefined {
			out.DType = tensor.Uint8
		}
		as, oka := in[0].Known()
		bs, okb := in[3].Known()
		if oka && okb {
			s, err := tensor.BroadcastShapes(as, bs)
			if err != nil {
				return nil, err
			}
			out.Shape, out.HasShape = graph.ConcreteShape(s...), true
		}
		return []graph.Type{out}, nil
	})
}

func buildQLinearAdd(b *BuildInfo) (Kernel, error) {
	act, err := ActivationFromNode(b.Node)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 8)
		if err != nil {
			return nil, err
		}
		a, bb, zy := ts[0], ts[3], ts[7]
		ta, err := dequantTable(a, ts[1], ts[2])
		if err != nil {
			return nil, fmt.Errorf("QLinearAdd a: %w", err)
		}
		tb, err := dequantTable(bb, ts[4], ts[5])
		if err != nil {
			return nil, fmt.Errorf("QLinearAdd b: %w", err)
		}
		if ts[6].DType != tensor.Float32 || ts[6].Len() != 1 || (zy.DType != tensor.Uint8 && zy.DType != tensor.Int8) || zy.Len() != 1 {
			return nil, fmt.Errorf("QLinearAdd: y_scale must be a float32 scalar and y_zero_point a uint8/int8 scalar")
		}
		sy := ts[6].F32()[0]
		zp := float32(zy.Float64At(0))
		lo, hi := float32(0), float32(255)
		if zy.DType == tensor.Int8 {
			lo, hi = -128, 127
		}
		f := func(x, y uint8) float32 {
			s := ta[x] + tb[y]
			switch act.Kind {
			case "Relu":
				s = max(s, 0)
			case "Clip":
				s = min(max(s, act.Min), act.Max)
			}
			q := float32(math.RoundToEven(float64(s/sy))) + zp
			return min(max(q, lo), hi)
		}
		ab, bbb := codes(a), codes(bb)
		if tensor.SameShape(a.Shape, bb.Shape) {
			// The activation clamps codes: Q is monotonic, so
			// Q(relu(s)) = max(Q(s), Q(0)) and likewise for Clip.
			qlo, qhi := lo, hi
			switch act.Kind {
			case "Relu":
				qlo = max(qlo, quantCode(0, sy, zp, lo, hi))
			case "Clip":
				qlo = max(qlo, quantCode(act.Min, sy, zp, lo, hi))
				qhi = min(qhi, quantCode(act.Max, sy, zp, lo, hi))
			}
			// arith/convert's fused SIMD kernel does the same float32
			// operations as f (its dequantization computes each code
			// exactly as dequantTable does).
			p := convert.QAddParams{
				SA: ts[1].F32()[0], SB: ts[4].F32()[0], SY: sy,
				ZA: int32(ts[2].Float64At(0)), ZB: int32(ts[5].Float64At(0)), ZY: int32(zp),
				ASigned: a.DType == tensor.Int8, BSigned: bb.DType == tensor.Int8, YSigned: zy.DType == tensor.Int8,
				Lo: int32(qlo), Hi: int32(qhi),
			}
			out := ctx.Empty(zy.DType, a.Shape...)
			o := codes(out)
			Parallel(ctx.Threads, (len(ab)+4095)/4096, func(c0, c1 int) {
				i0, i1 := c0*4096, min(len(ab), c1*4096)
				convert.QLinearAdd(o[i0:i1], ab[i0:i1], bbb[i0:i1], &p)
			})
			return []Value{out}, nil
		}
		res, shape, err := tensor.Binary(ab, a.Shape, bbb, bb.Shape, f)
		if err != nil {
			return nil, fmt.Errorf("QLinearAdd: %w", err)
		}
		out := tensor.New(zy.DType, shape...)
		switch o := out.Data.(type) {
		case []uint8:
			for i, v := range res {
				o[i] = uint8(v)
			}
		case []int8:
			for i, v := range res {
				o[i] = int8(v)
			}
		}
		return []Value{out}, nil
	}), nil
}

// quantCode quantizes v the way QuantizeLinear does (float32 division,
// round half to even, zero point, saturation).
func quantCode(v, sy, zp, lo, hi float32) float32 {
	return min(max(float32(math.RoundToEven(float64(v/sy)))+zp, lo), hi)
}

// codes views 8-bit data as bytes (int8 codes keep their bit pattern; the
// tables are indexed accordingly).
func codes(t *tensor.Tensor) []uint8 {
	if t.DType == tensor.Int8 {
		return anyBytes(t.I8())
	}
	return t.U8()
}

// dequantTable maps every byte pattern of t's 8-bit type to its float32
// dequantized value (code - zp) * scale, computed as DequantizeLinear does.
func dequantTable(t, scale, zp *tensor.Tensor) (*[256]float32, error) {
	if t.DType != tensor.Uint8 && t.DType != tensor.Int8 {
		return nil, fmt.Errorf("dtype %s, want uint8 or int8", t.DType)
	}
	if scale.DType != tensor.Float32 || scale.Len() != 1 || zp.Len() != 1 || zp.DType != t.DType {
		return nil, fmt.Errorf("scale must be a float32 scalar and the zero point a scalar of the data's type")
	}
	s := scale.F32()[0]
	z := int32(zp.Float64At(0))
	var tab [256]float32
	for i := range tab {
		c := int32(i)
		if t.DType == tensor.Int8 {
			c = int32(int8(uint8(i)))
		}
		tab[i] = float32(c-z) * s
	}
	return &tab, nil
}
