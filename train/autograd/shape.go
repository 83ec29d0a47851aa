package autograd

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/tensor"
)

func init() {
	RegisterGrad("Flatten", func(b *BuildInfo) (Kernel, error) {
		ax, err := b.Node.Int("axis", 1)
		if err != nil {
			return nil, err
		}
		return &viewK{b: b, op: "Flatten", shape: func(x *tensor.Tensor, _ []*tensor.Tensor) ([]int, error) {
			a := int(ax)
			if a < 0 {
				a += x.Rank()
			}
			if a < 0 || a > x.Rank() {
				return nil, fmt.Errorf("axis %d out of range for shape %v", ax, x.Shape)
			}
			return []int{tensor.NumElems(x.Shape[:a]), tensor.NumElems(x.Shape[a:])}, nil
		}}, nil
	})
	RegisterGrad("Reshape", func(b *BuildInfo) (Kernel, error) {
		az, err := b.Node.Int("allowzero", 0)
		if err != nil {
			return nil, err
		}
		return &viewK{b: b, op: "Reshape", shape: func(x *tensor.Tensor, in []*tensor.Tensor) ([]int, error) {
			if len(in) < 2 || in[1] == nil {
				return nil, fmt.Errorf("shape input is missing")
			}
			if in[1].DType != tensor.Int64 {
				return nil, fmt.Errorf("shape input has dtype %s, want int64", in[1].DType)
			}
			return graph.ResolveReshape(x.Shape, in[1].I64(), az != 0)
		}}, nil
	})
	for _, op := range []string{"Softmax", "LogSoftmax"} {
		op := op
		RegisterGrad(op, func(b *BuildInfo) (Kernel, error) {
			def := int64(-1)
			legacy := b.Opset > 0 && b.Opset < 13
			if legacy {
				def = 1
			}
			ax, err := b.Node.Int("axis", def)
			if err != nil {
				return nil, err
			}
			return &softmaxK{b: b, log: op == "LogSoftmax", axis: int(ax), legacy: legacy}, nil
		})
	}
}

type softmaxK struct {
	b               *BuildInfo
	log, legacy     bool
	axis            int
	outer, n, inner int
	out             buf
}

func (k *softmaxK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := need(in, 1, k.b.Node); err != nil {
		return nil, err
	}
	if err := checkF32(k.b.Node, in, 0); err != nil {
		return nil, err
	}
	x := in[0]
	r := x.Rank()
	ax := k.axis
	if ax < 0 {
		ax += r
	}
	if r == 0 {
		k.outer, k.n, k.inner = 1, 1, 1
	} else if ax < 0 || ax >= r {
		return nil, fmt.Errorf("%s: axis %d out of range for shape %v", k.b.Node.Describe(), k.axis, x.Shape)
	} else if k.legacy {
		k.n, k.inner = tensor.NumElems(x.Shape[ax:]), 1
		k.outer = tensor.NumElems(x.Shape[:ax])
	} else {
		k.n, k.inner = x.Shape[ax], tensor.NumElems(x.Shape[ax+1:])
		k.outer = tensor.NumElems(x.Shape[:ax])
	}
	out := k.out.get(x.Shape...)
	ops.SoftmaxRows(x.F32(), out.F32(), k.n, k.inner, k.log)
	return []*tensor.Tensor{out}, nil
}

func (k *softmaxK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	if gin[0] == nil {
		return nil
	}
	dx, dy, y := gin[0].F32(), gout[0].F32(), out[0].F32()
	n, inner := k.n, k.inner
	for o := 0; o < k.outer; o++ {
		base := o * n * inner
		for j := 0; j < inner; j++ {
			var s float64
			for i := 0; i < n; i++ {
				p := base + i*inner + j
				if k.log {
					s += float64(dy[p])
				} else {
					s += float64(dy[p]) * float64(y[p])
				}
			}
			sf := float32(s)
			for i := 0; i < n; i++ {
				p := base + i*inner + j
				if k.log {
					dx[p] += dy[p] - float32(expf(y[p]))*sf
				} else {
					dx[p] += y[p] * (dy[p] - sf)
				}
			}
		}
	}
	return nil
}
