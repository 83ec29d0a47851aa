package autograd

import (
	"fmt"

	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/tensor"
)

func init() {
	RegisterGrad("Gemm", buildGemm)
	RegisterGrad("MatMul", func(b *BuildInfo) (Kernel, error) { return &matmulK{b: b}, nil })
}

type gemmK struct {
	b           *BuildInfo
	alpha, beta float32
	ta, tb      bool
	relu        bool // fused ReLU (see fuse.go)
	m, n, k     int
	out         buf
}

func buildGemm(b *BuildInfo) (Kernel, error) {
	n := b.Node
	act, err := ops.ActivationFromNode(n)
	if err != nil {
		return nil, err
	}
	if act.Kind != "" && act.Kind != "Relu" {
		return nil, fmt.Errorf("fused activation %q is not differentiable here; train the unfused graph", act.Kind)
	}
	alpha, err := n.Float("alpha", 1)
	if err != nil {
		return nil, err
	}
	beta, err := n.Float("beta", 1)
	if err != nil {
		return nil, err
	}
	ta, err := n.Int("transA", 0)
	if err != nil {
		return nil, err
	}
	tb, err := n.Int("transB", 0)
	if err != nil {
		return nil, err
	}
	return &gemmK{b: b, alpha: alpha, beta: beta, ta: ta != 0, tb: tb != 0, relu: act.Kind == "Relu"}, nil
}

func (k *gemmK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	node := k.b.Node
	if err := need(in, 2, node); err != nil {
		return nil, err
	}
	if err := checkF32(node, in, 0, 1, 2); err != nil {
		return nil, err
	}
	a, bm := in[0], in[1]
	if a.Rank() != 2 || bm.Rank() != 2 {
		return nil, fmt.Errorf("%s: A %v and B %v must be rank 2", node.Describe(), a.Shape, bm.Shape)
	}
	m, kd := a.Shape[0], a.Shape[1]
	if k.ta {
		m, kd = kd, m
	}
	k2, n := bm.Shape[0], bm.Shape[1]
	if k.tb {
		k2, n = n, k2
	}
	if kd != k2 {
		return nil, fmt.Errorf("%s: inner dimensions differ: A %v (transA=%v), B %v (transB=%v)", node.Describe(), a.Shape, k.ta, bm.Shape, k.tb)
	}
	k.m, k.n, k.k = m, n, kd
	out := k.out.get(m, n)
	od := out.F32()
	var bt float32
	if len(in) > 2 && in[2] != nil && k.beta != 0 {
		cm := in[2]
		if _, err := tensor.BroadcastShapes(cm.Shape, out.Shape); err != nil || cm.Rank() > 2 {
			return nil, fmt.Errorf("%s: C %v does not broadcast to %v", node.Describe(), cm.Shape, out.Shape)
		}
		cd := cm.F32()
		st := tensor.BroadcastStrides(cm.Shape, out.Shape)
		if st[0] == 0 && st[1] == 1 && k.beta == 1 {
			// Bias row: fused into the GEMM epilogue.
			ep := gemm.Epilogue{ColBias: cd[:n]}
			if k.relu {
				ep.Act = gemm.ActRelu
			}
			if k.b.BF16 && k.alpha == 1 {
				gemm.SgemmBF16(k.ta, k.tb, m, n, kd, a.F32(), a.Shape[1], bm.F32(), bm.Shape[1], od, n, ep)
			} else {
				gemm.SgemmEp(k.ta, k.tb, m, n, kd, k.alpha, a.F32(), a.Shape[1], bm.F32(), bm.Shape[1], od, n, ep)
			}
			return []*tensor.Tensor{out}, nil
		}
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				od[i*n+j] = cd[i*st[0]+j*st[1]]
			}
		}
		bt = k.beta
	}
	mm(k.b.BF16, k.ta, k.tb, m, n, kd, k.alpha, a.F32(), a.Shape[1], bm.F32(), bm.Shape[1], bt, od, n)
	if k.relu {
		for i, v := range od {
			if v < 0 {
				od[i] = 0
			}
		}
	}
	return []*tensor.Tensor{out}, nil
}

func (k *gemmK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	m, n, kd := k.m, k.n, k.k
	dy := gout[0].F32()
	if k.relu {
		reluMask(dy, out[0].F32())
	}
	a, bm := in[0], in[1]
	lda, ldb := a.Shape[1], bm.Shape[1]
	if gin[0] != nil {
		da := gin[0].F32()
		if !k.ta {
			// dA[M,K] += alpha dY[M,N] op(B)^T
			mm(k.b.BF16, false, !k.tb, m, kd, n, k.alpha, dy, n, bm.F32(), ldb, 1, da, kd)
		} else {
			// dA[K,M] += alpha op(B)[K,N] dY^T
			mm(k.b.BF16, k.tb, true, kd, m, n, k.alpha, bm.F32(), ldb, dy, n, 1, da, m)
		}
	}
	if gin[1] != nil {
		db := gin[1].F32()
		if !k.tb {
			// dB[K,N] += alpha op(A)^T dY
			mm(k.b.BF16, !k.ta, false, kd, n, m, k.alpha, a.F32(), lda, dy, n, 1, db, n)
		} else {
			// dB[N,K] += alpha dY^T op(A)
			mm(k.b.BF16, true, k.ta, n, kd, m, k.alpha, dy, n, a.F32(), lda, 1, db, kd)
		}
	}
	if len(gin) > 2 && gin[2] != nil && k.beta != 0 {
		cm := in[2]
		dc := gin[2].F32()
		st := tensor.BroadcastStrides(cm.Shape, []int{m, n})
		for i := 0; i < m; i++ {
			row := dy[i*n : (i+1)*n]
			for j, v := range row {
				dc[i*st[0]+j*st[1]] += k.beta * v
			}
		}
	}
	return nil
}

// matmulK is numpy.matmul with batch broadcasting.
type matmulK struct {
	b            *BuildInfo
	as, bs       []int
	m, n, k      int
	ia, ib       []int
	outShape     []int
	out          buf
	lastA, lastB []int
}

func (k *matmulK) plan(a, b []int) error {
	if tensor.SameShape(a, k.lastA) && tensor.SameShape(b, k.lastB) && k.lastA != nil {
		return nil
	}
	if len(a) == 0 || len(b) == 0 {
		return fmt.Errorf("scalar inputs %v, %v", a, b)
	}
	as, bs := a, b
	a1, b1 := len(as) == 1, len(bs) == 1
	if a1 {
		as = []int{1, as[0]}
	}
	if b1 {
		bs = []int{bs[0], 1}
	}
	m, kd := as[len(as)-2], as[len(as)-1]
	k2, n := bs[len(bs)-2], bs[len(bs)-1]
	if kd != k2 {
		return fmt.Errorf("inner dimensions differ: %v x %v", a, b)
	}
	batch, err := tensor.BroadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return err
	}
	nb := tensor.NumElems(batch)
	k.ia, k.ib = make([]int, nb), make([]int, nb)
	tensor.BroadcastIndex(batch, tensor.BroadcastStrides(as[:len(as)-2], batch), k.ia)
	tensor.BroadcastIndex(batch, tensor.BroadcastStrides(bs[:len(bs)-2], batch), k.ib)
	shape := append([]int{}, batch...)
	if !a1 {
		shape = append(shape, m)
	}
	if !b1 {
		shape = append(shape, n)
	}
	k.m, k.n, k.k, k.outShape = m, n, kd, shape
	k.lastA, k.lastB = append([]int(nil), a...), append([]int(nil), b...)
	return nil
}

func (k *matmulK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
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
	out := k.out.get(k.outShape...)
	ad, bd, od := in[0].F32(), in[1].F32(), out.F32()
	m, n, kd := k.m, k.n, k.k
	for i := range k.ia {
		mm(k.b.BF16, false, false, m, n, kd, 1, ad[k.ia[i]*m*kd:], kd, bd[k.ib[i]*kd*n:], n, 0, od[i*m*n:], n)
	}
	return []*tensor.Tensor{out}, nil
}

func (k *matmulK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	m, n, kd := k.m, k.n, k.k
	ad, bd, dy := in[0].F32(), in[1].F32(), gout[0].F32()
	for i := range k.ia {
		dyi := dy[i*m*n:]
		if gin[0] != nil {
			mm(k.b.BF16, false, true, m, kd, n, 1, dyi, n, bd[k.ib[i]*kd*n:], n, 1, gin[0].F32()[k.ia[i]*m*kd:], kd)
		}
		if gin[1] != nil {
			mm(k.b.BF16, true, false, kd, n, m, 1, ad[k.ia[i]*m*kd:], kd, dyi, n, 1, gin[1].F32()[k.ib[i]*kd*n:], n)
		}
	}
	return nil
}
