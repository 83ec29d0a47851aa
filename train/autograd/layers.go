package autograd

import (
	"fmt"
	"math/rand/v2"

	"github.com/frugal-ml/frugal/tensor"
)

func init() {
	RegisterGrad("Dropout", func(b *BuildInfo) (Kernel, error) { return &dropoutK{b: b}, nil })
	RegisterNonDiff("Dropout", 1, 2)
	RegisterGrad("LayerNormalization", func(b *BuildInfo) (Kernel, error) {
		ax, err := b.Node.Int("axis", -1)
		if err != nil {
			return nil, err
		}
		eps, err := b.Node.Float("epsilon", 1e-5)
		if err != nil {
			return nil, err
		}
		return &lnK{b: b, axis: int(ax), eps: eps}, nil
	})
}

// dropoutK is Dropout: in training (Ctx.Training or a true training_mode
// input) each element is zeroed with probability ratio and the others are
// scaled by 1/(1-ratio); otherwise it is the identity. The random mask comes
// from Ctx.Rand, so a seeded Ctx makes it reproducible.
type dropoutK struct {
	b     *BuildInfo
	out   buf
	mask  []bool
	scale float32
	train bool
	maskT *tensor.Tensor
}

var fallbackRand = rand.New(rand.NewPCG(1, 2))

func (k *dropoutK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.b.Node
	if err := need(in, 1, n); err != nil {
		return nil, err
	}
	if err := checkF32(n, in, 0, 1); err != nil {
		return nil, err
	}
	ratio := float32(0.5)
	if k.b.Opset > 0 && k.b.Opset < 12 {
		r, err := n.Float("ratio", 0.5)
		if err != nil {
			return nil, err
		}
		ratio = r
	} else if len(in) > 1 && in[1] != nil {
		if in[1].Len() != 1 {
			return nil, fmt.Errorf("%s: ratio must be a scalar", n.Describe())
		}
		ratio = in[1].F32()[0]
	}
	if ratio < 0 || ratio >= 1 {
		return nil, fmt.Errorf("%s: ratio %g outside [0, 1)", n.Describe(), ratio)
	}
	train := c.Training
	if len(in) > 2 && in[2] != nil {
		if in[2].DType != tensor.Bool || in[2].Len() != 1 {
			return nil, fmt.Errorf("%s: training_mode must be a bool scalar", n.Describe())
		}
		train = in[2].Bools()[0]
	}
	x := in[0]
	k.train = train && ratio > 0
	wantMask := len(n.Outputs) > 1 && n.Outputs[1] != ""
	if !k.train {
		outs := []*tensor.Tensor{x}
		if wantMask {
			m := tensor.New(tensor.Bool, x.Shape...)
			for i := range m.Bools() {
				m.Bools()[i] = true
			}
			outs = append(outs, m)
		}
		return outs, nil
	}
	r := c.Rand
	if r == nil {
		r = fallbackRand
	}
	if cap(k.mask) < x.Len() {
		k.mask = make([]bool, x.Len())
	}
	k.mask = k.mask[:x.Len()]
	k.scale = 1 / (1 - ratio)
	out := k.out.get(x.Shape...)
	o := out.F32()
	for i, v := range x.F32() {
		keep := r.Float32() >= ratio
		k.mask[i] = keep
		if keep {
			o[i] = v * k.scale
		} else {
			o[i] = 0
		}
	}
	if wantMask {
		if k.maskT == nil || !tensor.SameShape(k.maskT.Shape, x.Shape) {
			k.maskT = &tensor.Tensor{DType: tensor.Bool, Shape: append([]int(nil), x.Shape...)}
		}
		k.maskT.Data = k.mask
		return []*tensor.Tensor{out, k.maskT}, nil
	}
	return []*tensor.Tensor{out}, nil
}

func (k *dropoutK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	if gin[0] == nil || gout[0] == nil {
		return nil
	}
	dx, dy := gin[0].F32(), gout[0].F32()
	if !k.train {
		for i, g := range dy {
			dx[i] += g
		}
		return nil
	}
	for i, g := range dy {
		if k.mask[i] {
			dx[i] += g * k.scale
		}
	}
	return nil
}

// lnK is LayerNormalization over the dimensions from axis on, with scale
// and optional bias of that trailing shape (or broadcastable to it).
type lnK struct {
	b             *BuildInfo
	axis          int
	eps           float32
	rows, d       int
	out, mo, io   buf
	mean, invstd  []float32
	sIdx, bIdx    []int
	sShape, bShap []int
}

func (k *lnK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.b.Node
	if err := need(in, 2, n); err != nil {
		return nil, err
	}
	if err := checkF32(n, in, 0, 1, 2); err != nil {
		return nil, err
	}
	x := in[0]
	ax := k.axis
	if ax < 0 {
		ax += x.Rank()
	}
	if ax < 0 || ax >= x.Rank() {
		return nil, fmt.Errorf("%s: axis %d out of range for %v", n.Describe(), k.axis, x.Shape)
	}
	inner := x.Shape[ax:]
	k.rows, k.d = tensor.NumElems(x.Shape[:ax]), tensor.NumElems(inner)
	var err error
	if k.sIdx, err = paramIndex(in[1], inner, k.sIdx); err != nil {
		return nil, fmt.Errorf("%s: scale: %w", n.Describe(), err)
	}
	var bias []float32
	if len(in) > 2 && in[2] != nil {
		if k.bIdx, err = paramIndex(in[2], inner, k.bIdx); err != nil {
			return nil, fmt.Errorf("%s: bias: %w", n.Describe(), err)
		}
		bias = in[2].F32()
	}
	k.mean = f32s(&k.mean, k.rows)
	k.invstd = f32s(&k.invstd, k.rows)
	out := k.out.get(x.Shape...)
	xd, od, sc := x.F32(), out.F32(), in[1].F32()
	d := k.d
	for r := 0; r < k.rows; r++ {
		row := xd[r*d : (r+1)*d]
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		mu := s / float64(d)
		var ss float64
		for _, v := range row {
			e := float64(v) - mu
			ss += e * e
		}
		is := float32(1 / sqrt64(ss/float64(d)+float64(k.eps)))
		m := float32(mu)
		k.mean[r], k.invstd[r] = m, is
		o := od[r*d : (r+1)*d]
		for j, v := range row {
			y := (v - m) * is * sc[k.sIdx[j]]
			if bias != nil {
				y += bias[k.bIdx[j]]
			}
			o[j] = y
		}
	}
	outs := []*tensor.Tensor{out}
	if len(n.Outputs) > 1 {
		stat := append(append([]int(nil), x.Shape[:ax]...), make([]int, x.Rank()-ax)...)
		for i := ax; i < x.Rank(); i++ {
			stat[i] = 1
		}
		mt, it := k.mo.get(stat...), k.io.get(stat...)
		copy(mt.F32(), k.mean)
		copy(it.F32(), k.invstd)
		outs = append(outs, mt, it)
	}
	return outs, nil
}

// paramIndex maps each position of the trailing shape to an index of p
// (broadcast to it).
func paramIndex(p *tensor.Tensor, inner []int, idx []int) ([]int, error) {
	if _, err := tensor.BroadcastShapes(p.Shape, inner); err != nil || len(p.Shape) > len(inner) {
		return nil, fmt.Errorf("shape %v does not broadcast to %v", p.Shape, inner)
	}
	n := tensor.NumElems(inner)
	if cap(idx) < n {
		idx = make([]int, n)
	}
	idx = idx[:n]
	tensor.BroadcastIndex(inner, tensor.BroadcastStrides(p.Shape, inner), idx)
	return idx, nil
}

func (k *lnK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	if gout[0] == nil {
		return nil
	}
	xd, dy, sc := in[0].F32(), gout[0].F32(), in[1].F32()
	d := k.d
	var dx, ds, db []float32
	if gin[0] != nil {
		dx = gin[0].F32()
	}
	if gin[1] != nil {
		ds = gin[1].F32()
	}
	if len(gin) > 2 && gin[2] != nil {
		db = gin[2].F32()
	}
	for r := 0; r < k.rows; r++ {
		row, g := xd[r*d:(r+1)*d], dy[r*d:(r+1)*d]
		m, is := k.mean[r], k.invstd[r]
		var s1, s2 float64 // sum(dxhat), sum(dxhat*xhat)
		for j, v := range row {
			xh := (v - m) * is
			if ds != nil {
				ds[k.sIdx[j]] += g[j] * xh
			}
			if db != nil {
				db[k.bIdx[j]] += g[j]
			}
			dxh := g[j] * sc[k.sIdx[j]]
			s1 += float64(dxh)
			s2 += float64(dxh) * float64(xh)
		}
		if dx == nil {
			continue
		}
		a1, a2 := float32(s1/float64(d)), float32(s2/float64(d))
		o := dx[r*d : (r+1)*d]
		for j, v := range row {
			xh := (v - m) * is
			o[j] += is * (g[j]*sc[k.sIdx[j]] - a1 - xh*a2)
		}
	}
	return nil
}
