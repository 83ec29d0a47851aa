package autograd

import (
	"fmt"

	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/impl/ref"
	"github.com/frugal-ml/frugal/tensor"
)

func init() {
	RegisterGrad("MaxPool", func(b *BuildInfo) (Kernel, error) {
		if so, _ := b.Node.Int("storage_order", 0); so != 0 {
			return nil, fmt.Errorf("MaxPool storage_order=1 is not supported for training")
		}
		return &poolK{b: b, max: true}, nil
	})
	RegisterGrad("AveragePool", func(b *BuildInfo) (Kernel, error) {
		cip, err := b.Node.Int("count_include_pad", 0)
		if err != nil {
			return nil, err
		}
		return &poolK{b: b, countPad: cip != 0}, nil
	})
	RegisterGrad("GlobalAveragePool", func(b *BuildInfo) (Kernel, error) { return &gapK{b: b}, nil })
}

type poolK struct {
	b        *BuildInfo
	max      bool
	countPad bool
	xs       []int
	g        ops.ConvGeom
	out, idx buf
	arg      []int32
	idxT     *tensor.Tensor
}

func (k *poolK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.b.Node
	if err := need(in, 1, n); err != nil {
		return nil, err
	}
	if err := checkF32(n, in, 0); err != nil {
		return nil, err
	}
	x := in[0]
	if !tensor.SameShape(x.Shape, k.xs) {
		g, err := ops.PoolGeom(n, x.Shape)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.Describe(), err)
		}
		k.g, k.xs = g, append([]int(nil), x.Shape...)
	}
	g := k.g
	out := k.out.get(g.OutShape(x.Rank())...)
	plane, oplane := g.H*g.W, g.OH*g.OW
	planes := g.N * g.Cin
	xd, od := x.F32(), out.F32()
	if k.max {
		arg := k.arg
		if cap(arg) < planes*oplane {
			arg = make([]int32, planes*oplane)
		}
		k.arg = arg[:planes*oplane]
		if p := g.P; p.KH == 2 && p.KW == 2 && p.SH == 2 && p.SW == 2 && p.DH == 1 && p.DW == 1 &&
			p.PT == 0 && p.PL == 0 && 2*g.OH <= g.H && 2*g.OW <= g.W {
			for i := 0; i < planes; i++ {
				maxPool2x2(xd[i*plane:(i+1)*plane], g.W, g.OH, g.OW, od[i*oplane:(i+1)*oplane], k.arg[i*oplane:(i+1)*oplane])
			}
		} else {
			for i := 0; i < planes; i++ {
				ref.MaxPool2D(xd[i*plane:(i+1)*plane], g.H, g.W, g.P, g.OH, g.OW, od[i*oplane:(i+1)*oplane], k.arg[i*oplane:(i+1)*oplane])
			}
		}
		if len(n.Outputs) > 1 && n.Outputs[1] != "" {
			if k.idxT == nil || !tensor.SameShape(k.idxT.Shape, out.Shape) {
				k.idxT = tensor.New(tensor.Int64, out.Shape...)
			}
			ii := k.idxT.I64()
			for i := 0; i < planes; i++ {
				for j, a := range k.arg[i*oplane : (i+1)*oplane] {
					ii[i*oplane+j] = int64(i*plane) + int64(a)
				}
			}
			return []*tensor.Tensor{out, k.idxT}, nil
		}
		return []*tensor.Tensor{out}, nil
	}
	for i := 0; i < planes; i++ {
		ref.AvgPool2D(xd[i*plane:(i+1)*plane], g.H, g.W, g.P, g.OH, g.OW, k.countPad, od[i*oplane:(i+1)*oplane])
	}
	return []*tensor.Tensor{out}, nil
}

func (k *poolK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	if gin[0] == nil || gout[0] == nil {
		return nil
	}
	g := k.g
	plane, oplane := g.H*g.W, g.OH*g.OW
	planes := g.N * g.Cin
	dx, dy := gin[0].F32(), gout[0].F32()
	if k.max {
		for i := 0; i < planes; i++ {
			dxp := dx[i*plane : (i+1)*plane]
			dyp := dy[i*oplane : (i+1)*oplane]
			for j, a := range k.arg[i*oplane : (i+1)*oplane] {
				if a >= 0 {
					dxp[a] += dyp[j]
				}
			}
		}
		return nil
	}
	for i := 0; i < planes; i++ {
		ref.AvgPool2DBackward(dy[i*oplane:(i+1)*oplane], g.H, g.W, g.P, g.OH, g.OW, k.countPad, dx[i*plane:(i+1)*plane])
	}
	return nil
}

type gapK struct {
	b   *BuildInfo
	out buf
}

func (k *gapK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := need(in, 1, k.b.Node); err != nil {
		return nil, err
	}
	if err := checkF32(k.b.Node, in, 0); err != nil {
		return nil, err
	}
	x := in[0]
	if x.Rank() < 2 {
		return nil, fmt.Errorf("%s: input shape %v: want rank >= 2", k.b.Node.Describe(), x.Shape)
	}
	shape := []int{x.Shape[0], x.Shape[1]}
	for range x.Shape[2:] {
		shape = append(shape, 1)
	}
	out := k.out.get(shape...)
	plane := tensor.NumElems(x.Shape[2:])
	xd, od := x.F32(), out.F32()
	for i := range od {
		var s float32
		for _, v := range xd[i*plane : (i+1)*plane] {
			s += v
		}
		od[i] = s / float32(plane)
	}
	return []*tensor.Tensor{out}, nil
}

func (k *gapK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	if gin[0] == nil {
		return nil
	}
	x := in[0]
	plane := tensor.NumElems(x.Shape[2:])
	dx, dy := gin[0].F32(), gout[0].F32()
	inv := 1 / float32(plane)
	for i, v := range dy {
		g := v * inv
		row := dx[i*plane : (i+1)*plane]
		for j := range row {
			row[j] += g
		}
	}
	return nil
}

// maxPool2x2 is MaxPool with a 2x2 window and stride 2 inside the input (no
// padding), the common case, recording the argmax like ref.MaxPool2D.
func maxPool2x2(x []float32, w, oh, ow int, out []float32, arg []int32) {
	for oy := 0; oy < oh; oy++ {
		r0 := x[2*oy*w : 2*oy*w+2*ow]
		r1 := x[(2*oy+1)*w : (2*oy+1)*w+2*ow]
		o := out[oy*ow : oy*ow+ow]
		a := arg[oy*ow : oy*ow+ow]
		base := int32(2 * oy * w)
		for ox := range o {
			i := 2 * ox
			best, bi := r0[i], base+int32(i)
			if v := r0[i+1]; v > best {
				best, bi = v, base+int32(i+1)
			}
			if v := r1[i]; v > best {
				best, bi = v, base+int32(w+i)
			}
			if v := r1[i+1]; v > best {
				best, bi = v, base+int32(w+i+1)
			}
			o[ox], a[ox] = best, bi
		}
	}
}
