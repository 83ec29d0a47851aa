package autograd

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/tensor"
)

func init() {
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		op := op
		RegisterGrad(op, func(b *BuildInfo) (Kernel, error) { return &binK{b: b, op: op}, nil })
	}
	RegisterGrad("Relu", func(b *BuildInfo) (Kernel, error) { return &reluK{b: b}, nil })
	RegisterGrad("Identity", func(b *BuildInfo) (Kernel, error) { return &viewK{b: b, op: "Identity"}, nil })
}

// binK is a broadcasting binary arithmetic op. Gradients of broadcast
// operands are summed over the broadcast dimensions.
type binK struct {
	b          *BuildInfo
	op         string
	as, bs, os []int
	same       bool
	ia, ib     []int
	out        buf
}

func (k *binK) plan(as, bs []int) error {
	if k.os != nil && tensor.SameShape(as, k.as) && tensor.SameShape(bs, k.bs) {
		return nil
	}
	os, err := tensor.BroadcastShapes(as, bs)
	if err != nil {
		return err
	}
	k.as, k.bs, k.os = append([]int(nil), as...), append([]int(nil), bs...), os
	k.same = tensor.SameShape(as, os) && tensor.SameShape(bs, os)
	if !k.same {
		n := tensor.NumElems(os)
		k.ia, k.ib = make([]int, n), make([]int, n)
		tensor.BroadcastIndex(os, tensor.BroadcastStrides(as, os), k.ia)
		tensor.BroadcastIndex(os, tensor.BroadcastStrides(bs, os), k.ib)
	}
	return nil
}

func (k *binK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	node := k.b.Node
	if err := need(in, 2, node); err != nil {
		return nil, err
	}
	if err := checkF32(node, in, 0, 1); err != nil {
		return nil, err
	}
	if err := k.plan(in[0].Shape, in[1].Shape); err != nil {
		return nil, fmt.Errorf("%s: %w", node.Describe(), err)
	}
	out := k.out.get(k.os...)
	a, b, o := in[0].F32(), in[1].F32(), out.F32()
	if k.same {
		switch k.op {
		case "Add":
			for i := range o {
				o[i] = a[i] + b[i]
			}
		case "Sub":
			for i := range o {
				o[i] = a[i] - b[i]
			}
		case "Mul":
			for i := range o {
				o[i] = a[i] * b[i]
			}
		case "Div":
			for i := range o {
				o[i] = a[i] / b[i]
			}
		}
		return []*tensor.Tensor{out}, nil
	}
	ia, ib := k.ia, k.ib
	switch k.op {
	case "Add":
		for i := range o {
			o[i] = a[ia[i]] + b[ib[i]]
		}
	case "Sub":
		for i := range o {
			o[i] = a[ia[i]] - b[ib[i]]
		}
	case "Mul":
		for i := range o {
			o[i] = a[ia[i]] * b[ib[i]]
		}
	case "Div":
		for i := range o {
			o[i] = a[ia[i]] / b[ib[i]]
		}
	}
	return []*tensor.Tensor{out}, nil
}

func (k *binK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	dy := gout[0].F32()
	a, b, y := in[0].F32(), in[1].F32(), out[0].F32()
	ia, ib := k.ia, k.ib
	idx := func(ix []int, i int) int {
		if k.same {
			return i
		}
		return ix[i]
	}
	if gin[0] != nil {
		da := gin[0].F32()
		switch k.op {
		case "Add", "Sub":
			if k.same {
				for i, v := range dy {
					da[i] += v
				}
			} else {
				for i, v := range dy {
					da[ia[i]] += v
				}
			}
		case "Mul":
			for i, v := range dy {
				da[idx(ia, i)] += v * b[idx(ib, i)]
			}
		case "Div":
			for i, v := range dy {
				da[idx(ia, i)] += v / b[idx(ib, i)]
			}
		}
	}
	if gin[1] != nil {
		db := gin[1].F32()
		switch k.op {
		case "Add":
			if k.same {
				for i, v := range dy {
					db[i] += v
				}
			} else {
				for i, v := range dy {
					db[ib[i]] += v
				}
			}
		case "Sub":
			for i, v := range dy {
				db[idx(ib, i)] -= v
			}
		case "Mul":
			for i, v := range dy {
				db[idx(ib, i)] += v * a[idx(ia, i)]
			}
		case "Div":
			for i, v := range dy {
				j := idx(ib, i)
				db[j] -= v * y[i] / b[j]
			}
		}
	}
	return nil
}

type reluK struct {
	b   *BuildInfo
	out buf
}

func (k *reluK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := need(in, 1, k.b.Node); err != nil {
		return nil, err
	}
	if err := checkF32(k.b.Node, in, 0); err != nil {
		return nil, err
	}
	out := k.out.get(in[0].Shape...)
	o := out.F32()
	for i, v := range in[0].F32() {
		if v < 0 {
			v = 0
		}
		o[i] = v
	}
	return []*tensor.Tensor{out}, nil
}

func (k *reluK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	if gin[0] == nil {
		return nil
	}
	dx, dy, y := gin[0].F32(), gout[0].F32(), out[0].F32()
	dx = dx[:len(dy)]
	y = y[:len(dy)]
	for i, v := range dy {
		dx[i] += math.Float32frombits(math.Float32bits(v) & positive(y[i]))
	}
	return nil
}

// positive is all ones when v > 0 and zero otherwise (v not NaN; -0 counts
// as positive), without a branch: ReLU masks are as unpredictable as the
// signs of the activations.
func positive(v float32) uint32 {
	return uint32((-int32(math.Float32bits(v))) >> 31)
}

// reluMask zeroes dy where y <= 0.
func reluMask(dy, y []float32) {
	y = y[:len(dy)]
	for i, g := range dy {
		dy[i] = math.Float32frombits(math.Float32bits(g) & positive(y[i]))
	}
}

// viewK covers ops whose output is input 0 with another shape (Identity,
// Flatten, Reshape, Squeeze, Unsqueeze): the gradient passes through.
type viewK struct {
	b     *BuildInfo
	op    string
	shape func(x *tensor.Tensor, in []*tensor.Tensor) ([]int, error)
}

func (k *viewK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := need(in, 1, k.b.Node); err != nil {
		return nil, err
	}
	x := in[0]
	if k.shape == nil {
		return []*tensor.Tensor{x}, nil
	}
	s, err := k.shape(x, in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.b.Node.Describe(), err)
	}
	out, err := x.Reshaped(s...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.b.Node.Describe(), err)
	}
	return []*tensor.Tensor{out}, nil
}

func (k *viewK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	if gin[0] == nil {
		return nil
	}
	if gin[0].DType != tensor.Float32 || gout[0].DType != tensor.Float32 {
		return fmt.Errorf("gradient of %s through dtype %s", k.op, in[0].DType)
	}
	dx := gin[0].F32()
	for i, v := range gout[0].F32() {
		dx[i] += v
	}
	return nil
}
