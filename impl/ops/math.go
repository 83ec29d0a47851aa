package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Elementwise math: unary functions, broadcasting binary arithmetic,
// comparisons, logical and bitwise ops, variadic Max/Min/Sum/Mean, Where,
// Clip. Floating types compute in float64 (float32 has fast paths; float16
// and bfloat16 go through float32); integer types compute in int64/uint64
// and wrap to their width.

type signedInt interface {
	~int8 | ~int16 | ~int32 | ~int64
}
type unsignedInt interface {
	~uint8 | ~uint16 | ~uint32 | ~uint64
}

// Dtype groups for the support table.
var (
	floatTypes    = []tensor.DType{tensor.Float32, tensor.Float64, tensor.Float16, tensor.BFloat16}
	intTypes      = []tensor.DType{tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64, tensor.Uint8, tensor.Uint16, tensor.Uint32, tensor.Uint64}
	numericTypes  = append(append([]tensor.DType{}, floatTypes...), intTypes...)
	signedTypes   = append(append([]tensor.DType{}, floatTypes...), tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64)
	unsignedTypes = []tensor.DType{tensor.Uint8, tensor.Uint16, tensor.Uint32, tensor.Uint64}
	allTypes      = append(append([]tensor.DType{}, numericTypes...), tensor.Bool, tensor.String)
)

// unaryOp is an elementwise function given per element family; a nil
// family is unsupported.
type unaryOp struct {
	f   func(float64) float64
	f32 func(float32) float32
	i   func(int64) int64
	u   func(uint64) uint64
}

func mapT[S ~[]E, E, O any](s S, f func(E) O) []O {
	out := make([]O, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}

// mapInto writes f(s[i]) into out[i]; out may be s itself.
func mapInto[E, O any](out []O, s []E, f func(E) O) {
	out = out[:len(s)]
	for i, v := range s {
		out[i] = f(v)
	}
}

func unaryS[T signedInt](out, d []T, f func(int64) int64) {
	mapInto(out, d, func(v T) T { return T(f(int64(v))) })
}

func unaryU[T unsignedInt](out, d []T, f func(uint64) uint64) {
	mapInto(out, d, func(v T) T { return T(f(uint64(v))) })
}

func (op unaryOp) apply(x *tensor.Tensor) (*tensor.Tensor, error) {
	return op.applyCtx(nil, x, false)
}

// supports reports whether op has a function for x's element storage.
func (op unaryOp) supports(x *tensor.Tensor) bool {
	if isRawFloat(x.DType) {
		return op.f != nil || op.f32 != nil
	}
	switch x.Data.(type) {
	case []float32, []float64:
		return op.f != nil || op.f32 != nil
	case []int8, []int16, []int32, []int64:
		return op.i != nil
	case []uint8, []uint16, []uint32, []uint64:
		return op.u != nil
	}
	return false
}

// applyCtx computes op(x) with the output from ctx; inplace lets it take
// over x's buffer when x dies at this step (only for a kernel's final
// output).
func (op unaryOp) applyCtx(ctx *Ctx, x *tensor.Tensor, inplace bool) (*tensor.Tensor, error) {
	if !op.supports(x) {
		return nil, fmt.Errorf("dtype %s is not supported", x.DType)
	}
	if isRawFloat(x.DType) {
		xf, _, err := toF32(x)
		if err != nil {
			return nil, err
		}
		r, err := op.applyCtx(ctx, xf, false)
		if err != nil {
			return nil, err
		}
		out := fromF32(r, x.DType)
		ctx.Release(r)
		return out, nil
	}
	var out *tensor.Tensor
	if inplace {
		out = ctx.Output(x.DType, x.Shape, x)
	} else {
		out = ctx.Empty(x.DType, x.Shape...)
	}
	switch d := x.Data.(type) {
	case []float32:
		if op.f32 != nil {
			mapInto(out.F32(), d, op.f32)
		} else {
			mapInto(out.F32(), d, func(v float32) float32 { return float32(op.f(float64(v))) })
		}
	case []float64:
		if op.f == nil {
			mapInto(out.F64(), d, func(v float64) float64 { return float64(op.f32(float32(v))) })
		} else {
			mapInto(out.F64(), d, op.f)
		}
	case []int8:
		unaryS(out.Data.([]int8), d, op.i)
	case []int16:
		unaryS(out.Data.([]int16), d, op.i)
	case []int32:
		unaryS(out.Data.([]int32), d, op.i)
	case []int64:
		unaryS(out.Data.([]int64), d, op.i)
	case []uint8:
		unaryU(out.Data.([]uint8), d, op.u)
	case []uint16:
		unaryU(out.Data.([]uint16), d, op.u)
	case []uint32:
		unaryU(out.Data.([]uint32), d, op.u)
	case []uint64:
		unaryU(out.Data.([]uint64), d, op.u)
	default:
		return nil, fmt.Errorf("dtype %s is not supported", x.DType)
	}
	return out, nil
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

func absI(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func signF(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	case v == 0:
		return 0
	}
	return v
}

func signI(v int64) int64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

func identU(v uint64) uint64 { return v }
func identI(v int64) int64   { return v }

var simpleUnary = map[string]unaryOp{
	"Abs":        {f: math.Abs, i: absI, u: identU},
	"Neg":        {f: func(v float64) float64 { return -v }, f32: func(v float32) float32 { return -v }, i: func(v int64) int64 { return -v }, u: func(v uint64) uint64 { return -v }},
	"Sqrt":       {f: math.Sqrt},
	"Exp":        {f: math.Exp},
	"Log":        {f: math.Log},
	"Reciprocal": {f: func(v float64) float64 { return 1 / v }},
	"Floor":      {f: math.Floor},
	"Ceil":       {f: math.Ceil},
	"Round":      {f: math.RoundToEven},
	"Sign":       {f: signF, i: signI, u: func(v uint64) uint64 { return min(v, 1) }},
	"Sin":        {f: math.Sin},
	"Cos":        {f: math.Cos},
	"Tan":        {f: math.Tan},
	"Asin":       {f: math.Asin},
	"Acos":       {f: math.Acos},
	"Atan":       {f: math.Atan},
	"Sinh":       {f: math.Sinh},
	"Cosh":       {f: math.Cosh},
	"Tanh":       {f: math.Tanh},
	"Asinh":      {f: math.Asinh},
	"Acosh":      {f: math.Acosh},
	"Atanh":      {f: math.Atanh},
	"Erf":        {f: math.Erf},
	"Sigmoid":    {f: sigmoid},
	"Softsign":   {f: func(v float64) float64 { return v / (1 + math.Abs(v)) }},
	"Softplus":   {f: softplus},
	"Mish":       {f: func(v float64) float64 { return v * math.Tanh(softplus(v)) }},
	"HardSwish":  {f: func(v float64) float64 { return v * math.Max(0, math.Min(1, v/6+0.5)) }},
	"BitwiseNot": {i: func(v int64) int64 { return ^v }, u: func(v uint64) uint64 { return ^v }},
}

func init() {
	for op, u := range simpleUnary {
		op, u := op, u
		dts := []tensor.DType{}
		if u.f != nil {
			dts = append(dts, floatTypes...)
		}
		if u.i != nil {
			dts = append(dts, tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64)
		}
		if u.u != nil {
			dts = append(dts, unsignedTypes...)
		}
		Register(Impl{Op: op, DTypes: dts, Build: func(b *BuildInfo) (Kernel, error) {
			return unaryKernel(u), nil
		}})
		graph.RegisterShape("", op, sameShape)
	}
	// Relu (generalised: every signed type).
	Register(Impl{Op: "Relu", Name: "ref", DTypes: signedTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 1)
			if err != nil {
				return nil, err
			}
			x := ts[0]
			if x.DType == tensor.Float32 {
				out := ctx.Output(tensor.Float32, x.Shape, x)
				ReluF32(x.F32(), out.F32())
				return []Value{out}, nil
			}
			out, err := unaryOp{f: func(v float64) float64 { return math.Max(v, 0) }, i: func(v int64) int64 { return max(v, 0) }}.applyCtx(ctx, x, true)
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}), nil
	}})
	// Activations with attributes.
	attrUnary := map[string]func(n *graph.Node) (unaryOp, error){
		"Elu": func(n *graph.Node) (unaryOp, error) {
			a, err := n.Float("alpha", 1)
			al := float64(a)
			return unaryOp{f: func(v float64) float64 {
				if v < 0 {
					return al * (math.Exp(v) - 1)
				}
				return v
			}}, err
		},
		"Selu": func(n *graph.Node) (unaryOp, error) {
			a, err := n.Float("alpha", 1.67326319217681884765625)
			if err != nil {
				return unaryOp{}, err
			}
			g, err := n.Float("gamma", 1.05070102214813232421875)
			al, ga := float64(a), float64(g)
			return unaryOp{f: func(v float64) float64 {
				if v > 0 {
					return ga * v
				}
				return ga * (al*math.Exp(v) - al)
			}}, err
		},
		"Celu": func(n *graph.Node) (unaryOp, error) {
			a, err := n.Float("alpha", 1)
			al := float64(a)
			return unaryOp{f: func(v float64) float64 {
				return math.Max(0, v) + math.Min(0, al*(math.Exp(v/al)-1))
			}}, err
		},
		"LeakyRelu": func(n *graph.Node) (unaryOp, error) {
			a, err := n.Float("alpha", 0.01)
			al := float64(a)
			return unaryOp{f: func(v float64) float64 {
				if v < 0 {
					return al * v
				}
				return v
			}, f32: func(v float32) float32 {
				if v < 0 {
					return a * v
				}
				return v
			}}, err
		},
		"HardSigmoid": func(n *graph.Node) (unaryOp, error) {
			a, err := n.Float("alpha", 0.2)
			if err != nil {
				return unaryOp{}, err
			}
			b, err := n.Float("beta", 0.5)
			al, be := float64(a), float64(b)
			return unaryOp{f: func(v float64) float64 { return math.Max(0, math.Min(1, al*v+be)) }}, err
		},
		"ThresholdedRelu": func(n *graph.Node) (unaryOp, error) {
			a, err := n.Float("alpha", 1)
			al := float64(a)
			return unaryOp{f: func(v float64) float64 {
				if v > al {
					return v
				}
				return 0
			}}, err
		},
		"Shrink": func(n *graph.Node) (unaryOp, error) {
			b, err := n.Float("bias", 0)
			if err != nil {
				return unaryOp{}, err
			}
			l, err := n.Float("lambd", 0.5)
			bi, la := float64(b), float64(l)
			f := func(v float64) float64 {
				switch {
				case v < -la:
					return v + bi
				case v > la:
					return v - bi
				}
				return 0
			}
			return unaryOp{f: f,
				i: func(v int64) int64 { return int64(f(float64(v))) },
				u: func(v uint64) uint64 { return uint64(f(float64(v))) }}, err
		},
		"Gelu": func(n *graph.Node) (unaryOp, error) {
			ap, err := n.String("approximate", "none")
			if err != nil {
				return unaryOp{}, err
			}
			return geluRef(ap)
		},
		"Swish": func(n *graph.Node) (unaryOp, error) {
			a, err := n.Float("alpha", 1)
			al := float64(a)
			return unaryOp{f: func(v float64) float64 { return v * sigmoid(al*v) }}, err
		},
	}
	for op, mk := range attrUnary {
		op, mk := op, mk
		dts := floatTypes
		if op == "Shrink" {
			dts = numericTypes
		}
		Register(Impl{Op: op, DTypes: dts, Build: func(b *BuildInfo) (Kernel, error) {
			u, err := mk(b.Node)
			if err != nil {
				return nil, err
			}
			return unaryKernel(u), nil
		}})
		graph.RegisterShape("", op, sameShape)
	}
	// Predicates.
	Register(Impl{Op: "IsNaN", DTypes: floatTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return predKernel(func(v float64) bool { return math.IsNaN(v) }), nil
	}})
	Register(Impl{Op: "IsInf", DTypes: floatTypes, Build: func(b *BuildInfo) (Kernel, error) {
		pos, err := b.Node.Int("detect_positive", 1)
		if err != nil {
			return nil, err
		}
		neg, err := b.Node.Int("detect_negative", 1)
		if err != nil {
			return nil, err
		}
		return predKernel(func(v float64) bool { return (pos != 0 && math.IsInf(v, 1)) || (neg != 0 && math.IsInf(v, -1)) }), nil
	}})
	for _, op := range []string{"IsNaN", "IsInf", "Not"} {
		graph.RegisterShape("", op, boolShape)
	}
	Register(Impl{Op: "Not", DTypes: []tensor.DType{tensor.Bool}, Build: func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 1)
			if err != nil {
				return nil, err
			}
			if err := CheckDType(ts[0], "X", tensor.Bool); err != nil {
				return nil, err
			}
			out := &tensor.Tensor{DType: tensor.Bool, Shape: append([]int{}, ts[0].Shape...), Data: mapT(ts[0].Bools(), func(v bool) bool { return !v })}
			return []Value{out}, nil
		}), nil
	}})
}

func unaryKernel(u unaryOp) Kernel {
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		out, err := u.applyCtx(ctx, ts[0], true)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	})
}

func predKernel(f func(float64) bool) Kernel {
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		v, err := ToFloat64(ts[0])
		if err != nil {
			return nil, err
		}
		return []Value{&tensor.Tensor{DType: tensor.Bool, Shape: append([]int{}, ts[0].Shape...), Data: mapT(v, f)}}, nil
	})
}

func sameShape(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
	if len(in) == 0 {
		return nil, nil
	}
	return []graph.Type{in[0]}, nil
}

func boolShape(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
	if len(in) == 0 {
		return nil, nil
	}
	t := in[0]
	t.DType = tensor.Bool
	return []graph.Type{t}, nil
}

// geluRef is Gelu in float64: the erf form ("none") or the tanh one.
func geluRef(approximate string) (unaryOp, error) {
	switch approximate {
	case "none":
		return unaryOp{f: func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }}, nil
	case "tanh":
		c := math.Sqrt(2 / math.Pi)
		return unaryOp{f: func(v float64) float64 { return 0.5 * v * (1 + math.Tanh(c*(v+0.044715*v*v*v))) }}, nil
	}
	return unaryOp{}, fmt.Errorf("Gelu: unknown approximate %q", approximate)
}
