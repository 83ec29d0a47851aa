package autograd

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Elementwise activations: forward f(x) and derivative d(x, y) = f'(x),
// where y = f(x) is available to save recomputation.

type unaryFn struct {
	f func(x float32) float32
	d func(x, y float32) float32
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

const sqrt2pi = 0.7978845608028654 // sqrt(2/pi)

func unaryOps(n *graph.Node) (unaryFn, error) {
	switch n.OpType {
	case "Sigmoid":
		return unaryFn{sigmoid, func(x, y float32) float32 { return y * (1 - y) }}, nil
	case "Tanh":
		return unaryFn{func(x float32) float32 { return float32(math.Tanh(float64(x))) },
			func(x, y float32) float32 { return 1 - y*y }}, nil
	case "LeakyRelu":
		a, err := n.Float("alpha", 0.01)
		if err != nil {
			return unaryFn{}, err
		}
		return unaryFn{func(x float32) float32 {
			if x < 0 {
				return a * x
			}
			return x
		}, func(x, y float32) float32 {
			if x < 0 {
				return a
			}
			return 1
		}}, nil
	case "Elu":
		a, err := n.Float("alpha", 1)
		if err != nil {
			return unaryFn{}, err
		}
		return unaryFn{func(x float32) float32 {
			if x < 0 {
				return a * float32(math.Expm1(float64(x)))
			}
			return x
		}, func(x, y float32) float32 {
			if x < 0 {
				return y + a
			}
			return 1
		}}, nil
	case "Softplus":
		return unaryFn{func(x float32) float32 {
			v := float64(x)
			if v > 20 {
				return x
			}
			return float32(math.Log1p(math.Exp(v)))
		}, func(x, y float32) float32 { return sigmoid(x) }}, nil
	case "HardSigmoid":
		a, err := n.Float("alpha", 0.2)
		if err != nil {
			return unaryFn{}, err
		}
		b, err := n.Float("beta", 0.5)
		if err != nil {
			return unaryFn{}, err
		}
		return unaryFn{func(x float32) float32 { return clamp(a*x+b, 0, 1) },
			func(x, y float32) float32 {
				if v := a*x + b; v > 0 && v < 1 {
					return a
				}
				return 0
			}}, nil
	case "HardSwish":
		// x * relu6(x+3)/6
		return unaryFn{func(x float32) float32 { return x * clamp(x/6+0.5, 0, 1) },
			func(x, y float32) float32 {
				switch {
				case x <= -3:
					return 0
				case x >= 3:
					return 1
				}
				return x/3 + 0.5
			}}, nil
	case "Swish":
		// Swish(x) = x * sigmoid(alpha x) (ONNX opset 24); alpha 1 is SiLU.
		a, err := n.Float("alpha", 1)
		if err != nil {
			return unaryFn{}, err
		}
		return unaryFn{func(x float32) float32 { return x * sigmoid(a*x) },
			func(x, y float32) float32 { s := sigmoid(a * x); return s + a*x*s*(1-s) }}, nil
	case "Gelu":
		approx, err := n.String("approximate", "none")
		if err != nil {
			return unaryFn{}, err
		}
		switch approx {
		case "none":
			return unaryFn{func(x float32) float32 {
				v := float64(x)
				return float32(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
			}, func(x, y float32) float32 {
				v := float64(x)
				cdf := 0.5 * (1 + math.Erf(v/math.Sqrt2))
				pdf := math.Exp(-0.5*v*v) / math.Sqrt(2*math.Pi)
				return float32(cdf + v*pdf)
			}}, nil
		case "tanh":
			return unaryFn{func(x float32) float32 {
				v := float64(x)
				return float32(0.5 * v * (1 + math.Tanh(sqrt2pi*(v+0.044715*v*v*v))))
			}, func(x, y float32) float32 {
				v := float64(x)
				u := sqrt2pi * (v + 0.044715*v*v*v)
				t := math.Tanh(u)
				du := sqrt2pi * (1 + 3*0.044715*v*v)
				return float32(0.5*(1+t) + 0.5*v*(1-t*t)*du)
			}}, nil
		}
		return unaryFn{}, fmt.Errorf("Gelu approximate=%q (want none or tanh)", approx)
	case "Neg":
		return unaryFn{func(x float32) float32 { return -x }, func(x, y float32) float32 { return -1 }}, nil
	case "Exp":
		return unaryFn{func(x float32) float32 { return float32(math.Exp(float64(x))) }, func(x, y float32) float32 { return y }}, nil
	case "Log":
		return unaryFn{func(x float32) float32 { return float32(math.Log(float64(x))) }, func(x, y float32) float32 { return 1 / x }}, nil
	case "Sqrt":
		return unaryFn{func(x float32) float32 { return float32(math.Sqrt(float64(x))) }, func(x, y float32) float32 { return 0.5 / y }}, nil
	case "Abs":
		return unaryFn{func(x float32) float32 { return float32(math.Abs(float64(x))) }, func(x, y float32) float32 {
			if x < 0 {
				return -1
			}
			return 1
		}}, nil
	}
	return unaryFn{}, fmt.Errorf("no unary gradient for %s", n.OpType)
}

func clamp(v, lo, hi float32) float32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func init() {
	for _, op := range []string{"Sigmoid", "Tanh", "LeakyRelu", "Elu", "Softplus", "HardSigmoid", "HardSwish", "Swish", "Gelu", "Neg", "Exp", "Log", "Sqrt", "Abs"} {
		RegisterGrad(op, func(b *BuildInfo) (Kernel, error) {
			fn, err := unaryOps(b.Node)
			if err != nil {
				return nil, err
			}
			return &unaryK{b: b, fn: fn}, nil
		})
	}
	RegisterGrad("Clip", func(b *BuildInfo) (Kernel, error) { return &clipK{b: b}, nil })
}

type unaryK struct {
	b   *BuildInfo
	fn  unaryFn
	out buf
}

func (k *unaryK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := need(in, 1, k.b.Node); err != nil {
		return nil, err
	}
	if err := checkF32(k.b.Node, in, 0); err != nil {
		return nil, err
	}
	out := k.out.get(in[0].Shape...)
	o, f := out.F32(), k.fn.f
	for i, v := range in[0].F32() {
		o[i] = f(v)
	}
	return []*tensor.Tensor{out}, nil
}

func (k *unaryK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	if gin[0] == nil {
		return nil
	}
	x, y, dy, dx := in[0].F32(), out[0].F32(), gout[0].F32(), gin[0].F32()
	d := k.fn.d
	for i, g := range dy {
		dx[i] += g * d(x[i], y[i])
	}
	return nil
}

// clipK is Clip with min/max as inputs (opset >= 11) or attributes (older).
// ReLU6 is Clip(0, 6). The gradient passes where min < x < max.
type clipK struct {
	b      *BuildInfo
	lo, hi float32
	out    buf
}

func (k *clipK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.b.Node
	if err := need(in, 1, n); err != nil {
		return nil, err
	}
	if err := checkF32(n, in, 0, 1, 2); err != nil {
		return nil, err
	}
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if k.b.Opset > 0 && k.b.Opset < 11 {
		var err error
		if lo, err = n.Float("min", lo); err != nil {
			return nil, err
		}
		if hi, err = n.Float("max", hi); err != nil {
			return nil, err
		}
	} else {
		if len(in) > 1 && in[1] != nil {
			if in[1].Len() != 1 {
				return nil, fmt.Errorf("%s: min must be a scalar", n.Describe())
			}
			lo = in[1].F32()[0]
		}
		if len(in) > 2 && in[2] != nil {
			if in[2].Len() != 1 {
				return nil, fmt.Errorf("%s: max must be a scalar", n.Describe())
			}
			hi = in[2].F32()[0]
		}
	}
	k.lo, k.hi = lo, hi
	out := k.out.get(in[0].Shape...)
	o := out.F32()
	for i, v := range in[0].F32() {
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		o[i] = v
	}
	return []*tensor.Tensor{out}, nil
}

// Backward also gives min and max (when they are inputs) the gradient of
// the elements they clamp, which makes the bounds learnable (PACT).
func (k *clipK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	x, dy := in[0].F32(), gout[0].F32()
	var dlo, dhi float64
	for i, g := range dy {
		switch {
		case x[i] < k.lo:
			dlo += float64(g)
		case x[i] > k.hi:
			dhi += float64(g)
		case x[i] > k.lo && x[i] < k.hi && gin[0] != nil:
			gin[0].F32()[i] += g
		}
	}
	if len(gin) > 1 && gin[1] != nil {
		gin[1].F32()[0] += float32(dlo)
	}
	if len(gin) > 2 && gin[2] != nil {
		gin[2].F32()[0] += float32(dhi)
	}
	return nil
}
