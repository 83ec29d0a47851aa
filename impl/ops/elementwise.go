package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Numeric is the set of Go element types arithmetic kernels are generic over.
type Numeric interface {
	~float32 | ~float64 | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// binaryOp is a broadcasting elementwise function given per element family;
// a nil family is unsupported.
type binaryOp struct {
	kind byte // '+', '-', '*', '/': float32 runs on binF32's loops
	f    func(a, b float64) float64
	f32  func(a, b float32) float32
	i    func(a, b int64) int64
	u    func(a, b uint64) uint64
	b    func(a, b bool) bool
	s    func(a, b string) string
}

// binOut allocates the output of a broadcasting binary op. With inplace
// (a top-level elementwise kernel) it may reuse a dying input's buffer.
func binOut(ctx *Ctx, dt tensor.DType, shape []int, a, b *tensor.Tensor, inplace bool) *tensor.Tensor {
	if inplace {
		return ctx.Output(dt, shape, a, b)
	}
	return ctx.Empty(dt, shape...)
}

func binT[T any](ctx *Ctx, a, b *tensor.Tensor, f func(x, y T) T, inplace bool) (*tensor.Tensor, error) {
	shape, err := tensor.BroadcastShapes(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	out := binOut(ctx, a.DType, shape, a, b, inplace)
	tensor.BinaryInto(out.Data.([]T), shape, a.Data.([]T), a.Shape, b.Data.([]T), b.Shape, f)
	return out, nil
}

func binS[T signedInt](ctx *Ctx, a, b *tensor.Tensor, f func(x, y int64) int64, inplace bool) (*tensor.Tensor, error) {
	return binT(ctx, a, b, func(x, y T) T { return T(f(int64(x), int64(y))) }, inplace)
}

func binU[T unsignedInt](ctx *Ctx, a, b *tensor.Tensor, f func(x, y uint64) uint64, inplace bool) (*tensor.Tensor, error) {
	return binT(ctx, a, b, func(x, y T) T { return T(f(uint64(x), uint64(y))) }, inplace)
}

func (op binaryOp) apply(a, b *tensor.Tensor) (*tensor.Tensor, error) {
	return op.applyCtx(nil, a, b, false)
}

// applyCtx computes op(a, b) with outputs from ctx; inplace lets the output
// take over a dying input's buffer (only for a kernel's final output).
func (op binaryOp) applyCtx(ctx *Ctx, a, b *tensor.Tensor, inplace bool) (*tensor.Tensor, error) {
	if a.DType != b.DType {
		return nil, fmt.Errorf("input dtypes differ (%s vs %s)", a.DType, b.DType)
	}
	bad := func() (*tensor.Tensor, error) { return nil, fmt.Errorf("dtype %s is not supported", a.DType) }
	switch a.DType {
	case tensor.Float32:
		if op.kind != 0 {
			return binF32(ctx, op.kind, a, b, inplace)
		}
		if op.f32 != nil {
			return binT(ctx, a, b, op.f32, inplace)
		}
		if op.f == nil {
			return bad()
		}
		return binT(ctx, a, b, func(x, y float32) float32 { return float32(op.f(float64(x), float64(y))) }, inplace)
	case tensor.Float64:
		if op.f == nil {
			if op.f32 == nil {
				return bad()
			}
			return binT(ctx, a, b, func(x, y float64) float64 { return float64(op.f32(float32(x), float32(y))) }, inplace)
		}
		return binT(ctx, a, b, op.f, inplace)
	case tensor.Float16, tensor.BFloat16:
		af, _, err := toF32(a)
		if err != nil {
			return nil, err
		}
		bf, _, err := toF32(b)
		if err != nil {
			return nil, err
		}
		r, err := op.applyCtx(ctx, af, bf, false)
		if err != nil {
			return nil, err
		}
		out := fromF32(r, a.DType)
		ctx.Release(r)
		return out, nil
	case tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64:
		if op.i == nil {
			return bad()
		}
		switch a.DType {
		case tensor.Int8:
			return binS[int8](ctx, a, b, op.i, inplace)
		case tensor.Int16:
			return binS[int16](ctx, a, b, op.i, inplace)
		case tensor.Int32:
			return binS[int32](ctx, a, b, op.i, inplace)
		}
		return binS[int64](ctx, a, b, op.i, inplace)
	case tensor.Uint8, tensor.Uint16, tensor.Uint32, tensor.Uint64:
		if op.u == nil {
			return bad()
		}
		switch a.DType {
		case tensor.Uint8:
			return binU[uint8](ctx, a, b, op.u, inplace)
		case tensor.Uint16:
			return binU[uint16](ctx, a, b, op.u, inplace)
		case tensor.Uint32:
			return binU[uint32](ctx, a, b, op.u, inplace)
		}
		return binU[uint64](ctx, a, b, op.u, inplace)
	case tensor.Bool:
		if op.b == nil {
			return bad()
		}
		return binT(ctx, a, b, op.b, inplace)
	case tensor.String:
		if op.s == nil {
			return bad()
		}
		// Strings never live in an arena.
		out, shape, err := tensor.Binary(a.Strings(), a.Shape, b.Strings(), b.Shape, op.s)
		if err != nil {
			return nil, err
		}
		return &tensor.Tensor{DType: a.DType, Shape: shape, Data: out}, nil
	}
	return bad()
}

func divI(x, y int64) int64 {
	if y == 0 {
		return 0
	}
	if y == -1 {
		return -x // avoids the MinInt64 / -1 trap; wraps like C
	}
	return x / y
}

func divU(x, y uint64) uint64 {
	if y == 0 {
		return 0
	}
	return x / y
}

// modI is numpy's mod (result has the divisor's sign).
func modI(x, y int64) int64 {
	if y == 0 {
		return 0
	}
	if y == -1 {
		return 0
	}
	r := x % y
	if r != 0 && (r < 0) != (y < 0) {
		r += y
	}
	return r
}

func fmodI(x, y int64) int64 {
	if y == 0 || y == -1 {
		return 0
	}
	return x % y
}

func modF(x, y float64) float64 {
	r := math.Mod(x, y)
	if r != 0 && (r < 0) != (y < 0) {
		r += y
	}
	return r
}

var arithOps = map[string]binaryOp{
	"Add": {kind: '+', f: func(a, b float64) float64 { return a + b }, f32: func(a, b float32) float32 { return a + b },
		i: func(a, b int64) int64 { return a + b }, u: func(a, b uint64) uint64 { return a + b }},
	"Sub": {kind: '-', f: func(a, b float64) float64 { return a - b }, f32: func(a, b float32) float32 { return a - b },
		i: func(a, b int64) int64 { return a - b }, u: func(a, b uint64) uint64 { return a - b }},
	"Mul": {kind: '*', f: func(a, b float64) float64 { return a * b }, f32: func(a, b float32) float32 { return a * b },
		i: func(a, b int64) int64 { return a * b }, u: func(a, b uint64) uint64 { return a * b }},
	"Div": {kind: '/', f: func(a, b float64) float64 { return a / b }, f32: func(a, b float32) float32 { return a / b },
		i: divI, u: divU},
	"BitwiseAnd": {i: func(a, b int64) int64 { return a & b }, u: func(a, b uint64) uint64 { return a & b }},
	"BitwiseOr":  {i: func(a, b int64) int64 { return a | b }, u: func(a, b uint64) uint64 { return a | b }},
	"BitwiseXor": {i: func(a, b int64) int64 { return a ^ b }, u: func(a, b uint64) uint64 { return a ^ b }},
	"And":        {b: func(a, b bool) bool { return a && b }},
	"Or":         {b: func(a, b bool) bool { return a || b }},
	"Xor":        {b: func(a, b bool) bool { return a != b }},
}

// maxF/minF propagate NaN like numpy.maximum/minimum.
func maxF(a, b float64) float64 {
	if a != a || b != b {
		return math.NaN()
	}
	return math.Max(a, b)
}

func minF(a, b float64) float64 {
	if a != a || b != b {
		return math.NaN()
	}
	return math.Min(a, b)
}

var foldOps = map[string]binaryOp{
	"Max": {f: maxF, i: func(a, b int64) int64 { return max(a, b) }, u: func(a, b uint64) uint64 { return max(a, b) }},
	"Min": {f: minF, i: func(a, b int64) int64 { return min(a, b) }, u: func(a, b uint64) uint64 { return min(a, b) }},
	"Sum": arithOps["Add"],
}

func init() {
	for op, bo := range arithOps {
		op, bo := op, bo
		var dts []tensor.DType
		if bo.f != nil {
			dts = append(dts, floatTypes...)
		}
		if bo.i != nil {
			dts = append(dts, intTypes...)
		}
		if bo.b != nil {
			dts = append(dts, tensor.Bool)
		}
		Register(Impl{Op: op, Name: "ref", DTypes: dts, Build: func(b *BuildInfo) (Kernel, error) {
			return legacyBroadcast(b, binaryKernel(bo))
		}})
		if op != "Add" && op != "Sub" && op != "Mul" && op != "Div" {
			graph.RegisterShape("", op, broadcastShape)
		}
	}
	Register(Impl{Op: "Mod", DTypes: numericTypes, Build: func(b *BuildInfo) (Kernel, error) {
		fm, err := b.Node.Int("fmod", 0)
		if err != nil {
			return nil, err
		}
		bo := binaryOp{f: modF, i: modI, u: divRemU}
		if fm != 0 {
			bo = binaryOp{f: math.Mod, i: fmodI, u: divRemU}
		}
		return binaryKernel(bo), nil
	}})
	graph.RegisterShape("", "Mod", broadcastShape)
	Register(Impl{Op: "BitShift", DTypes: unsignedTypes, Build: func(b *BuildInfo) (Kernel, error) {
		dir, err := b.Node.String("direction", "")
		if err != nil {
			return nil, err
		}
		var bo binaryOp
		switch dir {
		case "LEFT":
			bo.u = func(a, s uint64) uint64 {
				if s >= 64 {
					return 0
				}
				return a << s
			}
		case "RIGHT":
			bo.u = func(a, s uint64) uint64 {
				if s >= 64 {
					return 0
				}
				return a >> s
			}
		default:
			return nil, fmt.Errorf("BitShift: direction %q must be LEFT or RIGHT", dir)
		}
		return binaryKernel(bo), nil
	}})
	graph.RegisterShape("", "BitShift", broadcastShape)
	Register(Impl{Op: "PRelu", DTypes: signedTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return preluKernel(b.Opset > 0 && b.Opset < 7, binaryOp{
			f: func(x, s float64) float64 {
				if x < 0 {
					return x * s
				}
				return x
			},
			f32: func(x, s float32) float32 {
				if x < 0 {
					return x * s
				}
				return x
			},
			i: func(x, s int64) int64 {
				if x < 0 {
					return x * s
				}
				return x
			},
			u: func(x, s uint64) uint64 { return x },
		}), nil
	}})
	graph.RegisterShape("", "PRelu", sameShape)
	for _, op := range []string{"Max", "Min", "Sum", "Mean"} {
		op := op
		dts := numericTypes
		if op == "Mean" {
			dts = floatTypes
		}
		Register(Impl{Op: op, DTypes: dts, Build: func(b *BuildInfo) (Kernel, error) {
			return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
				if len(in) == 0 {
					return nil, fmt.Errorf("%s needs at least one input", op)
				}
				ts, err := MustTensors(in, len(in))
				if err != nil {
					return nil, err
				}
				fold := foldOps[op]
				if op == "Mean" {
					fold = foldOps["Sum"]
				}
				acc := ts[0]
				for i, t := range ts[1:] {
					prev := acc
					if acc, err = fold.applyCtx(ctx, acc, t, false); err != nil {
						return nil, err
					}
					if i > 0 {
						ctx.Release(prev) // an intermediate sum
					}
				}
				if len(ts) == 1 {
					acc = copyTensor(acc)
				}
				if op == "Mean" {
					n := float64(len(ts))
					prev := acc
					if acc, err = (unaryOp{f: func(v float64) float64 { return v / n }}).applyCtx(ctx, acc, false); err != nil {
						return nil, err
					}
					if len(ts) > 1 {
						ctx.Release(prev)
					}
				}
				return []Value{acc}, nil
			}), nil
		}})
		graph.RegisterShape("", op, broadcastShape)
	}
	// Pow: the exponent may have another dtype; the result has the base's.
	Register(Impl{Op: "Pow", DTypes: numericTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return legacyBroadcast(b, KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 2)
			if err != nil {
				return nil, err
			}
			out, err := pow(ctx, ts[0], ts[1])
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}))
	}})
	graph.RegisterShape("", "Pow", broadcastShape)
	// Comparisons.
	cmps := map[string]cmpOp{
		"Equal":          {f: func(a, b float64) bool { return a == b }, i: func(a, b int64) bool { return a == b }, u: func(a, b uint64) bool { return a == b }},
		"Less":           {f: func(a, b float64) bool { return a < b }, i: func(a, b int64) bool { return a < b }, u: func(a, b uint64) bool { return a < b }},
		"LessOrEqual":    {f: func(a, b float64) bool { return a <= b }, i: func(a, b int64) bool { return a <= b }, u: func(a, b uint64) bool { return a <= b }},
		"Greater":        {f: func(a, b float64) bool { return a > b }, i: func(a, b int64) bool { return a > b }, u: func(a, b uint64) bool { return a > b }},
		"GreaterOrEqual": {f: func(a, b float64) bool { return a >= b }, i: func(a, b int64) bool { return a >= b }, u: func(a, b uint64) bool { return a >= b }},
	}
	for op, c := range cmps {
		c := c
		Register(Impl{Op: op, DTypes: append(append([]tensor.DType{}, numericTypes...), tensor.Bool, tensor.String), Build: func(b *BuildInfo) (Kernel, error) {
			return legacyBroadcast(b, KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
				ts, err := MustTensors(in, 2)
				if err != nil {
					return nil, err
				}
				out, err := c.apply(ctx, ts[0], ts[1])
				if err != nil {
					return nil, err
				}
				return []Value{out}, nil
			}))
		}})
		graph.RegisterShape("", op, func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
			t, err := broadcastShape(n, in, c, v)
			if err != nil || len(t) == 0 {
				return t, err
			}
			t[0].DType = tensor.Bool
			return t, nil
		})
	}
	Register(Impl{Op: "Identity", Name: "ref", Build: func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			if len(in) == 0 {
				return nil, fmt.Errorf("Identity needs an input")
			}
			return []Value{in[0]}, nil
		}), nil
	}})
}

func divRemU(a, b uint64) uint64 {
	if b == 0 {
		return 0
	}
	return a % b
}

func binaryKernel(bo binaryOp) Kernel {
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		out, err := bo.applyCtx(ctx, ts[0], ts[1], true)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	})
}

// cmpOp is a broadcasting comparison producing bool.
type cmpOp struct {
	f func(a, b float64) bool
	i func(a, b int64) bool
	u func(a, b uint64) bool
}

func cmpT[T any](ctx *Ctx, a, b *tensor.Tensor, f func(x, y T) bool) (*tensor.Tensor, error) {
	shape, err := tensor.BroadcastShapes(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	out := ctx.Empty(tensor.Bool, shape...)
	tensor.BinaryInto(out.Bools(), shape, a.Data.([]T), a.Shape, b.Data.([]T), b.Shape, f)
	return out, nil
}

func cmpS[T signedInt](ctx *Ctx, a, b *tensor.Tensor, f func(x, y int64) bool) (*tensor.Tensor, error) {
	return cmpT(ctx, a, b, func(x, y T) bool { return f(int64(x), int64(y)) })
}

func cmpU[T unsignedInt](ctx *Ctx, a, b *tensor.Tensor, f func(x, y uint64) bool) (*tensor.Tensor, error) {
	return cmpT(ctx, a, b, func(x, y T) bool { return f(uint64(x), uint64(y)) })
}

func (c cmpOp) apply(ctx *Ctx, a, b *tensor.Tensor) (*tensor.Tensor, error) {
	if a.DType != b.DType {
		return nil, fmt.Errorf("input dtypes differ (%s vs %s)", a.DType, b.DType)
	}
	switch a.DType {
	case tensor.Float32:
		return cmpT(ctx, a, b, func(x, y float32) bool { return c.f(float64(x), float64(y)) })
	case tensor.Float64:
		return cmpT(ctx, a, b, c.f)
	case tensor.Int8:
		return cmpS[int8](ctx, a, b, c.i)
	case tensor.Int16:
		return cmpS[int16](ctx, a, b, c.i)
	case tensor.Int32:
		return cmpS[int32](ctx, a, b, c.i)
	case tensor.Int64:
		return cmpS[int64](ctx, a, b, c.i)
	case tensor.Uint8:
		return cmpU[uint8](ctx, a, b, c.u)
	case tensor.Uint16:
		return cmpU[uint16](ctx, a, b, c.u)
	case tensor.Uint32:
		return cmpU[uint32](ctx, a, b, c.u)
	case tensor.Uint64:
		return cmpU[uint64](ctx, a, b, c.u)
	case tensor.Bool:
		b2i := func(v bool) int64 {
			if v {
				return 1
			}
			return 0
		}
		return cmpT(ctx, a, b, func(x, y bool) bool { return c.i(b2i(x), b2i(y)) })
	case tensor.String:
		return cmpT(ctx, a, b, func(x, y string) bool {
			switch {
			case x < y:
				return c.i(0, 1)
			case x > y:
				return c.i(1, 0)
			}
			return c.i(0, 0)
		})
	}
	if isRawFloat(a.DType) {
		av, err := ToFloat64(a)
		if err != nil {
			return nil, err
		}
		bv, err := ToFloat64(b)
		if err != nil {
			return nil, err
		}
		out, shape, err := tensor.Binary(av, a.Shape, bv, b.Shape, c.f)
		if err != nil {
			return nil, err
		}
		return &tensor.Tensor{DType: tensor.Bool, Shape: shape, Data: out}, nil
	}
	return nil, fmt.Errorf("dtype %s is not supported", a.DType)
}

// pow computes base**exp elementwise with broadcasting; the result has the
// base's dtype. Integer bases with integer exponents are exact.
func pow(ctx *Ctx, x, y *tensor.Tensor) (*tensor.Tensor, error) {
	if x.DType == tensor.Float32 && y.DType == tensor.Float32 {
		if y.Len() == 1 {
			// x**2 (variance in layer norms) and x**0.5 without math.Pow.
			switch e := y.F32()[0]; e {
			case 2:
				return binT(ctx, x, y, func(a, _ float32) float32 { return a * a }, true)
			case 1:
				return binT(ctx, x, y, func(a, _ float32) float32 { return a }, true)
			}
		}
		return binT(ctx, x, y, func(a, b float32) float32 { return float32(math.Pow(float64(a), float64(b))) }, true)
	}
	if isInt(x.DType) && isInt(y.DType) {
		xv, err := ToInt64(x)
		if err != nil {
			return nil, err
		}
		yv, err := ToInt64(y)
		if err != nil {
			return nil, err
		}
		out, shape, err := tensor.Binary(xv, x.Shape, yv, y.Shape, ipow)
		if err != nil {
			return nil, err
		}
		return fromInt64(x.DType, out, shape)
	}
	xv, err := ToFloat64(x)
	if err != nil {
		return nil, err
	}
	yv, err := ToFloat64(y)
	if err != nil {
		return nil, err
	}
	out, shape, err := tensor.Binary(xv, x.Shape, yv, y.Shape, math.Pow)
	if err != nil {
		return nil, err
	}
	if isInt(x.DType) {
		iv := make([]int64, len(out))
		for i, v := range out {
			iv[i] = f64ToI64(v)
		}
		return fromInt64(x.DType, iv, shape)
	}
	return FromFloat64(x.DType, out, shape)
}

func ipow(b, e int64) int64 {
	if e < 0 {
		switch b {
		case 1:
			return 1
		case -1:
			if e%2 == 0 {
				return 1
			}
			return -1
		}
		return 0
	}
	r := int64(1)
	for e > 0 {
		if e&1 != 0 {
			r *= b
		}
		b *= b
		e >>= 1
	}
	return r
}

// f64ToI64 truncates toward zero; NaN and out-of-range give MinInt64 (as
// x86 conversions do).
func f64ToI64(v float64) int64 {
	if v != v || v >= 9.223372036854775807e18 || v < -9.223372036854775808e18 {
		return math.MinInt64
	}
	return int64(v)
}

// fromInt64 narrows int64 values to an integer (or bool) dtype, wrapping.
func fromInt64(dt tensor.DType, v []int64, shape []int) (*tensor.Tensor, error) {
	t := newTensor(dt, shape...)
	switch d := t.Data.(type) {
	case []int64:
		copy(d, v)
	case []int32:
		conv(d, v)
	case []int16:
		conv(d, v)
	case []int8:
		conv(d, v)
	case []uint8:
		if isRawFloat(dt) {
			return nil, fmt.Errorf("%s is not an integer type", dt)
		}
		conv(d, v)
	case []uint16:
		if isRawFloat(dt) {
			return nil, fmt.Errorf("%s is not an integer type", dt)
		}
		conv(d, v)
	case []uint32:
		conv(d, v)
	case []uint64:
		conv(d, v)
	case []bool:
		for i, x := range v {
			d[i] = x != 0
		}
	default:
		return nil, fmt.Errorf("%s is not an integer type", dt)
	}
	return t, nil
}

// broadcastShape is the shape function of broadcasting ops with any number
// of inputs; the dtype is the first input's.
func broadcastShape(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := graph.Type{DType: in[0].DType}
	shapes := make([][]int, 0, len(in))
	for _, t := range in {
		s, ok := t.Known()
		if !ok {
			return []graph.Type{out}, nil
		}
		shapes = append(shapes, s)
	}
	s, err := tensor.BroadcastShapes(shapes...)
	if err != nil {
		return nil, err
	}
	out.Shape, out.HasShape = graph.ConcreteShape(s...), true
	return []graph.Type{out}, nil
}

// ReluF32 writes max(x, 0) into out (NaN stays NaN).
func ReluF32(x, out []float32) {
	out = out[:len(x)]
	i := reluVec(x, out) // AVX-512 blocks of 16 (ResNet-18 int8's last Relu: 14 -> ~2 us)
	for ; i < len(x); i++ {
		out[i] = max(x[i], 0) // branch-free (MAXSS); NaN stays NaN
	}
}

// preluKernel applies PRelu; a 1-D slope with one entry per channel is
// applied along axis 1 before opset 7 (and whenever it does not broadcast
// numpy-style).
func preluKernel(legacy bool, bo binaryOp) Kernel {
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x, s := ts[0], ts[1]
		_, berr := tensor.BroadcastShapes(x.Shape, s.Shape)
		if (legacy || berr != nil) && s.Rank() == 1 && x.Rank() >= 2 && s.Len() == x.Shape[1] && s.Len() > 1 {
			shape := make([]int, x.Rank()-1)
			for i := range shape {
				shape[i] = 1
			}
			shape[0] = s.Len()
			if s, err = s.Reshaped(shape...); err != nil {
				return nil, err
			}
		}
		out, err := bo.applyCtx(ctx, x, s, false)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	})
}

// legacyBroadcast implements the opset < 7 broadcasting of binary ops: with
// broadcast=1, B's shape matches a contiguous run of A's dimensions starting
// at axis (default: the trailing ones), and is reshaped to A's rank.
func legacyBroadcast(b *BuildInfo, k Kernel) (Kernel, error) {
	if b.Opset <= 0 || b.Opset >= 7 {
		return k, nil
	}
	bc, err := b.Node.Int("broadcast", 0)
	if err != nil {
		return nil, err
	}
	axis, err := b.Node.Int("axis", -1)
	if err != nil {
		return nil, err
	}
	if bc == 0 || !b.Node.Has("axis") {
		return k, nil
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		a, bt := ts[0], ts[1]
		ax := int(axis)
		if ax < 0 {
			ax += a.Rank()
		}
		if ax < 0 || ax+bt.Rank() > a.Rank() {
			return nil, fmt.Errorf("legacy broadcast of %v at axis %d into %v", bt.Shape, axis, a.Shape)
		}
		shape := make([]int, a.Rank())
		for i := range shape {
			shape[i] = 1
		}
		copy(shape[ax:], bt.Shape)
		r, err := bt.Reshaped(shape...)
		if err != nil {
			return nil, err
		}
		args := append([]Value{a, r}, in[2:]...)
		return k.Run(ctx, args)
	}), nil
}

// binF32 is float32 Add/Sub/Mul/Div with loops specialised per operator
// and broadcast pattern (same shape, scalar, repeated trailing block, one
// value per channel), falling back to the general broadcast.
func binF32(ctx *Ctx, kind byte, a, b *tensor.Tensor, inplace bool) (*tensor.Tensor, error) {
	shape, err := tensor.BroadcastShapes(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	out := binOut(ctx, tensor.Float32, shape, a, b, inplace)
	o, x, y := out.F32(), a.F32(), b.F32()
	n := len(o)
	switch {
	case n == 0:
	case len(x) == n && len(y) == n:
		vecF32(kind, o, x, y)
	case len(x) == n && len(y) == 1:
		scalarF32(kind, o, x, y[0], false)
	case len(y) == n && len(x) == 1:
		scalarF32(kind, o, y, x[0], true)
	case len(x) == n && tensor.TrailingMatch(b.Shape, shape):
		m := len(y)
		for i := 0; i < n; i += m {
			vecF32(kind, o[i:i+m], x[i:i+m], y)
		}
	case len(y) == n && tensor.TrailingMatch(a.Shape, shape):
		m := len(x)
		for i := 0; i < n; i += m {
			vecF32(kind, o[i:i+m], x, y[i:i+m])
		}
	case len(x) == n && isChannel(b.Shape, shape):
		outer, c, inner, _ := channelBroadcast(b.Shape, shape)
		for i := 0; i < outer; i++ {
			for ch := 0; ch < c; ch++ {
				off := (i*c + ch) * inner
				scalarF32(kind, o[off:off+inner], x[off:off+inner], y[ch], false)
			}
		}
	case len(y) == n && isChannel(a.Shape, shape):
		outer, c, inner, _ := channelBroadcast(a.Shape, shape)
		for i := 0; i < outer; i++ {
			for ch := 0; ch < c; ch++ {
				off := (i*c + ch) * inner
				scalarF32(kind, o[off:off+inner], y[off:off+inner], x[ch], true)
			}
		}
	default:
		var f func(p, q float32) float32
		switch kind {
		case '+':
			f = func(p, q float32) float32 { return p + q }
		case '-':
			f = func(p, q float32) float32 { return p - q }
		case '*':
			f = func(p, q float32) float32 { return p * q }
		default:
			f = func(p, q float32) float32 { return p / q }
		}
		tensor.BinaryInto(o, shape, x, a.Shape, y, b.Shape, f)
	}
	return out, nil
}

func vecF32(kind byte, o, x, y []float32) {
	y = y[:len(o)]
	x = x[:len(o)]
	switch kind {
	case '+':
		for i := range o {
			o[i] = x[i] + y[i]
		}
	case '-':
		for i := range o {
			o[i] = x[i] - y[i]
		}
	case '*':
		for i := range o {
			o[i] = x[i] * y[i]
		}
	default:
		for i := range o {
			o[i] = x[i] / y[i]
		}
	}
}

// scalarF32 computes o = x op s, or o = s op x when swap.
func scalarF32(kind byte, o, x []float32, s float32, swap bool) {
	x = x[:len(o)]
	switch {
	case kind == '+':
		for i := range o {
			o[i] = x[i] + s
		}
	case kind == '*':
		for i := range o {
			o[i] = x[i] * s
		}
	case kind == '-' && !swap:
		for i := range o {
			o[i] = x[i] - s
		}
	case kind == '-':
		for i := range o {
			o[i] = s - x[i]
		}
	case !swap:
		for i := range o {
			o[i] = x[i] / s
		}
	default:
		for i := range o {
			o[i] = s / x[i]
		}
	}
}

// isChannel reports a channelBroadcast worth a per-channel loop.
func isChannel(s, o []int) bool {
	_, _, inner, ok := channelBroadcast(s, o)
	return ok && inner > 1
}

// channelBroadcast recognises s as one value per index of a single axis of
// o (e.g. [C,1,1] against [N,C,H,W]): o is then outer x c x inner.
func channelBroadcast(s, o []int) (outer, c, inner int, ok bool) {
	if len(s) > len(o) {
		return 0, 0, 0, false
	}
	off := len(o) - len(s)
	axis := -1
	for j, d := range s {
		if d == 1 {
			continue
		}
		if axis >= 0 || d != o[off+j] {
			return 0, 0, 0, false
		}
		axis = off + j
	}
	if axis < 0 {
		return 0, 0, 0, false
	}
	return tensor.NumElems(o[:axis]), o[axis], tensor.NumElems(o[axis+1:]), true
}
