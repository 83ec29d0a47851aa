package autograd

import (
	"fmt"

	"github.com/frugal-ml/frugal/tensor"
)

func init() {
	RegisterGrad("BatchNormalization", buildBN)
	RegisterNonDiff("BatchNormalization", 3, 4)
}

// bnK is BatchNormalization. In training mode (Ctx.Training, or the node's
// training_mode=1) it normalises with the batch statistics and reports new
// running statistics (running = running*momentum + batch*(1-momentum), the
// batch variance biased, as in ONNX); otherwise it uses the running
// statistics and is an affine map.
type bnK struct {
	b            *BuildInfo
	eps, mom     float32
	attrTrain    bool
	train        bool // mode of the last Forward
	out, rm, rv  buf
	mean, invstd []float32
	n, c, plane  int
}

func buildBN(b *BuildInfo) (Kernel, error) {
	n := b.Node
	eps, err := n.Float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	mom, err := n.Float("momentum", 0.9)
	if err != nil {
		return nil, err
	}
	tm, err := n.Int("training_mode", 0)
	if err != nil {
		return nil, err
	}
	return &bnK{b: b, eps: eps, mom: mom, attrTrain: tm != 0}, nil
}

func (k *bnK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	node := k.b.Node
	if err := need(in, 5, node); err != nil {
		return nil, err
	}
	if err := checkF32(node, in, 0, 1, 2, 3, 4); err != nil {
		return nil, err
	}
	x := in[0]
	if x.Rank() < 2 {
		return nil, fmt.Errorf("%s: input %v: want rank >= 2", node.Describe(), x.Shape)
	}
	nb, ch := x.Shape[0], x.Shape[1]
	for i := 1; i < 5; i++ {
		if in[i].Len() != ch {
			return nil, fmt.Errorf("%s: input %d has %d elements, want %d channels", node.Describe(), i, in[i].Len(), ch)
		}
	}
	plane := tensor.NumElems(x.Shape[2:])
	k.n, k.c, k.plane = nb, ch, plane
	k.train = c.Training || k.attrTrain
	k.mean = f32s(&k.mean, ch)
	k.invstd = f32s(&k.invstd, ch)
	xd := x.F32()
	rmIn, rvIn := in[3].F32(), in[4].F32()
	var rm, rv *tensor.Tensor
	if k.train {
		cnt := float64(nb * plane)
		if cnt == 0 {
			return nil, fmt.Errorf("%s: empty batch", node.Describe())
		}
		rm, rv = k.rm.get(ch), k.rv.get(ch)
		for cc := 0; cc < ch; cc++ {
			var s float64
			for i := 0; i < nb; i++ {
				for _, v := range xd[(i*ch+cc)*plane : (i*ch+cc+1)*plane] {
					s += float64(v)
				}
			}
			mu := s / cnt
			var ss float64
			for i := 0; i < nb; i++ {
				for _, v := range xd[(i*ch+cc)*plane : (i*ch+cc+1)*plane] {
					d := float64(v) - mu
					ss += d * d
				}
			}
			vr := ss / cnt
			k.mean[cc] = float32(mu)
			k.invstd[cc] = float32(1 / sqrt64(vr+float64(k.eps)))
			rm.F32()[cc] = rmIn[cc]*k.mom + float32(mu)*(1-k.mom)
			rv.F32()[cc] = rvIn[cc]*k.mom + float32(vr)*(1-k.mom)
		}
	} else {
		for cc := 0; cc < ch; cc++ {
			k.mean[cc] = rmIn[cc]
			k.invstd[cc] = float32(1 / sqrt64(float64(rvIn[cc])+float64(k.eps)))
		}
	}
	out := k.out.get(x.Shape...)
	od := out.F32()
	sc, bi := in[1].F32(), in[2].F32()
	for cc := 0; cc < ch; cc++ {
		a := sc[cc] * k.invstd[cc]
		off := bi[cc] - k.mean[cc]*a
		for i := 0; i < nb; i++ {
			xs := xd[(i*ch+cc)*plane : (i*ch+cc+1)*plane]
			os := od[(i*ch+cc)*plane : (i*ch+cc+1)*plane]
			for j, v := range xs {
				os[j] = v*a + off
			}
		}
	}
	if k.train && len(node.Outputs) > 1 {
		return []*tensor.Tensor{out, rm, rv}, nil
	}
	return []*tensor.Tensor{out}, nil
}

// NewState implements StateUpdater.
func (k *bnK) NewState() map[int]*tensor.Tensor {
	if !k.train {
		return nil
	}
	return map[int]*tensor.Tensor{3: k.rm.t, 4: k.rv.t}
}

func (k *bnK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	if gout[0] == nil {
		return nil
	}
	nb, ch, plane := k.n, k.c, k.plane
	xd, dy := in[0].F32(), gout[0].F32()
	sc := in[1].F32()
	m := float64(nb * plane)
	for cc := 0; cc < ch; cc++ {
		mu, is := k.mean[cc], k.invstd[cc]
		var sdy, sdyx float64
		for i := 0; i < nb; i++ {
			xs := xd[(i*ch+cc)*plane : (i*ch+cc+1)*plane]
			ds := dy[(i*ch+cc)*plane : (i*ch+cc+1)*plane]
			for j, v := range ds {
				sdy += float64(v)
				sdyx += float64(v) * float64((xs[j]-mu)*is)
			}
		}
		if gin[2] != nil {
			gin[2].F32()[cc] += float32(sdy)
		}
		if gin[1] != nil {
			gin[1].F32()[cc] += float32(sdyx)
		}
		if gin[0] == nil {
			continue
		}
		dx := gin[0].F32()
		a := sc[cc] * is
		if !k.train {
			for i := 0; i < nb; i++ {
				ds := dy[(i*ch+cc)*plane : (i*ch+cc+1)*plane]
				dxs := dx[(i*ch+cc)*plane : (i*ch+cc+1)*plane]
				for j, v := range ds {
					dxs[j] += a * v
				}
			}
			continue
		}
		mdy := float32(sdy / m)
		mdyx := float32(sdyx / m)
		for i := 0; i < nb; i++ {
			xs := xd[(i*ch+cc)*plane : (i*ch+cc+1)*plane]
			ds := dy[(i*ch+cc)*plane : (i*ch+cc+1)*plane]
			dxs := dx[(i*ch+cc)*plane : (i*ch+cc+1)*plane]
			for j, v := range ds {
				xh := (xs[j] - mu) * is
				dxs[j] += a * (v - mdy - xh*mdyx)
			}
		}
	}
	return nil
}
