package ops

import (
	"fmt"
	"github.com/frugal-ml/frugal/impl/gemm"

	"github.com/frugal-ml/frugal/tensor"
)

func init() {
	Register(Impl{Op: "Gemm", Name: "gemm", DTypes: []tensor.DType{tensor.Float32},
		Match: func(b *BuildInfo) bool {
			dt := b.InDType(0)
			return dt == tensor.Float32 || dt == tensor.Undefined
		},
		Build: buildGemm})
	Register(Impl{Op: "MatMul", Name: "gemm", DTypes: []tensor.DType{tensor.Float32},
		Match: func(b *BuildInfo) bool {
			dt := b.InDType(0)
			return dt == tensor.Float32 || dt == tensor.Undefined
		},
		Build: func(b *BuildInfo) (Kernel, error) { return buildMatMul(b, false) }})
	// ai.frugal:MatMulBias(A, B, bias) = MatMul(A, B) + bias, bias [N]
	// added along the last axis (in the GEMM's store when B is constant):
	// what fuse-matmul-add makes of nn.Linear exported as MatMul + Add.
	Register(Impl{Op: "MatMulBias", Domain: FrugalDomain, Name: "gemm", DTypes: []tensor.DType{tensor.Float32},
		Build: func(b *BuildInfo) (Kernel, error) { return buildMatMul(b, true) }})
}

// buildMatMul is MatMul (and MatMulBias): with a constant 2-D float32 B
// (a linear layer's weights) B is packed once here and every leading
// dimension of A folds into the GEMM's rows, so [1, 32, 128] x [128, 384]
// is one 32-row GEMM rather than a GEMV per batch entry.
func buildMatMul(b *BuildInfo, withBias bool) (Kernel, error) {
	var packed *gemm.PackedB
	var constB *tensor.Tensor
	if len(b.Const) > 1 && b.Const[1] != nil {
		if c := b.Const[1]; c.DType == tensor.Float32 && c.Rank() == 2 && c.Shape[0] > 0 && c.Shape[1] > 0 {
			constB = c
			packed = gemm.PackB(false, c.Shape[0], c.Shape[1], c.F32(), c.Shape[1])
		}
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		a, bm := ts[0], ts[1]
		var bias *tensor.Tensor
		if withBias {
			if bias, err = Tensor(in, 2); err != nil {
				return nil, err
			}
		}
		if bias != nil {
			if bias.DType != tensor.Float32 || bias.Rank() != 1 || bm.Rank() == 0 || bias.Len() != bm.Shape[bm.Rank()-1] {
				return nil, fmt.Errorf("MatMulBias: bias %s%v does not match B %v", bias.DType, bias.Shape, bm.Shape)
			}
		}
		if packed != nil && bm == constB && a.DType == tensor.Float32 && a.Rank() >= 1 && a.Shape[a.Rank()-1] == constB.Shape[0] {
			k, n := constB.Shape[0], constB.Shape[1]
			shape := append(append([]int{}, a.Shape[:a.Rank()-1]...), n)
			out := ctx.Empty(tensor.Float32, shape...)
			m := a.Len() / k
			var ep gemm.Epilogue
			if bias != nil {
				ep.ColBias = bias.F32()
			}
			if m > 0 {
				gemm.SgemmPacked(m, a.F32(), k, packed, out.F32(), n, ep)
			}
			return []Value{out}, nil
		}
		out, err := matMulF32(ctx, a, bm)
		if err != nil {
			return nil, err
		}
		if bias != nil {
			o, bv := out.F32(), bias.F32()
			for i := 0; i+len(bv) <= len(o); i += len(bv) {
				vecF32('+', o[i:i+len(bv)], o[i:i+len(bv)], bv)
			}
		}
		return []Value{out}, nil
	}), nil
}

// matMulF32Kernel is the dense float32 MatMul (stateless, shared).
var matMulF32Kernel = KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
	ts, err := MustTensors(in, 2)
	if err != nil {
		return nil, err
	}
	out, err := matMulF32(ctx, ts[0], ts[1])
	if err != nil {
		return nil, err
	}
	return []Value{out}, nil
})

func buildGemm(b *BuildInfo) (Kernel, error) {
	n := b.Node
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
	act, err := ActivationFromNode(n)
	if err != nil {
		return nil, err
	}
	// Constant weights (a fully connected layer) are packed for the GEMM
	// once, here, instead of on every call.
	var packed *gemm.PackedB
	var constB *tensor.Tensor
	if len(b.Const) > 1 && b.Const[1] != nil && b.Const[1].DType == tensor.Float32 && b.Const[1].Rank() == 2 && ta == 0 && alpha == 1 {
		constB = b.Const[1]
		k, nn := constB.Shape[0], constB.Shape[1]
		if tb != 0 {
			k, nn = nn, k
		}
		packed = gemm.PackB(tb != 0, k, nn, constB.F32(), constB.Shape[1])
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		a, bm := ts[0], ts[1]
		c, err := Tensor(in, 2)
		if err != nil {
			return nil, err
		}
		if a.DType != tensor.Float32 || bm.DType != tensor.Float32 {
			return nil, fmt.Errorf("Gemm: dtypes %s/%s, want float32", a.DType, bm.DType)
		}
		if a.Rank() != 2 || bm.Rank() != 2 {
			return nil, fmt.Errorf("Gemm: A %v and B %v must be rank 2", a.Shape, bm.Shape)
		}
		m, k := a.Shape[0], a.Shape[1]
		if ta != 0 {
			m, k = k, m
		}
		k2, nn := bm.Shape[0], bm.Shape[1]
		if tb != 0 {
			k2, nn = nn, k2
		}
		if k != k2 {
			return nil, fmt.Errorf("Gemm: inner dimensions differ: A %v (transA=%d), B %v (transB=%d)", a.Shape, ta, bm.Shape, tb)
		}
		out := ctx.Empty(tensor.Float32, m, nn) // beta 0: the GEMM does not read C
		od := out.F32()
		if packed != nil && bm == constB && ta == 0 {
			ep := act.epilogue(nil)
			switch {
			case c == nil || beta == 0:
			case c.DType == tensor.Float32 && beta == 1 && c.Len() == nn && (c.Rank() == 1 || (c.Rank() == 2 && c.Shape[0] == 1)):
				ep.ColBias = c.F32() // the usual bias vector, added in the store
			default:
				if err := fillGemmC(c, out, m, nn); err != nil {
					return nil, err
				}
				ep.Beta = beta
			}
			gemm.SgemmPacked(m, a.F32(), a.Shape[1], packed, od, nn, ep)
			return []Value{out}, nil
		}
		var bt float32
		if c != nil && beta != 0 {
			if c.DType != tensor.Float32 {
				return nil, fmt.Errorf("Gemm: C has dtype %s, want float32", c.DType)
			}
			if err := fillGemmC(c, out, m, nn); err != nil {
				return nil, err
			}
			bt = beta
		}
		lda, ldb := a.Shape[1], bm.Shape[1]
		sgemm(ta != 0, tb != 0, m, nn, k, alpha, a.F32(), lda, bm.F32(), ldb, bt, od, nn)
		act.Apply(od)
		return []Value{out}, nil
	}), nil
}

// fillGemmC broadcasts Gemm's C into out (m x nn) for a beta*C epilogue.
func fillGemmC(c, out *tensor.Tensor, m, nn int) error {
	if c.DType != tensor.Float32 {
		return fmt.Errorf("Gemm: C has dtype %s, want float32", c.DType)
	}
	if _, err := tensor.BroadcastShapes(c.Shape, out.Shape); err != nil || c.Rank() > 2 {
		return fmt.Errorf("Gemm: C %v does not broadcast to %v", c.Shape, out.Shape)
	}
	cd, od := c.F32(), out.F32()
	st := tensor.BroadcastStrides(c.Shape, out.Shape)
	for i := 0; i < m; i++ {
		for j := 0; j < nn; j++ {
			od[i*nn+j] = cd[i*st[0]+j*st[1]]
		}
	}
	return nil
}

// MatMulF32 is numpy.matmul for float32 with batch broadcasting.
func MatMulF32(a, b *tensor.Tensor) (*tensor.Tensor, error) { return matMulF32(nil, a, b) }

func matMulF32(ctx *Ctx, a, b *tensor.Tensor) (*tensor.Tensor, error) {
	if a.DType != tensor.Float32 || b.DType != tensor.Float32 {
		return nil, fmt.Errorf("MatMul: dtypes %s/%s, want float32", a.DType, b.DType)
	}
	as, bs := a.Shape, b.Shape
	if len(as) == 0 || len(bs) == 0 {
		return nil, fmt.Errorf("MatMul: scalar inputs %v, %v", as, bs)
	}
	a1, b1 := len(as) == 1, len(bs) == 1
	if a1 {
		as = []int{1, as[0]}
	}
	if b1 {
		bs = []int{bs[0], 1}
	}
	m, k := as[len(as)-2], as[len(as)-1]
	k2, n := bs[len(bs)-2], bs[len(bs)-1]
	if k != k2 {
		return nil, fmt.Errorf("MatMul: inner dimensions differ: %v x %v", a.Shape, b.Shape)
	}
	batch, err := tensor.BroadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, fmt.Errorf("MatMul: %w", err)
	}
	nb := tensor.NumElems(batch)
	ia, ib := make([]int, nb), make([]int, nb)
	tensor.BroadcastIndex(batch, tensor.BroadcastStrides(as[:len(as)-2], batch), ia)
	tensor.BroadcastIndex(batch, tensor.BroadcastStrides(bs[:len(bs)-2], batch), ib)
	shape := append([]int{}, batch...)
	if !a1 {
		shape = append(shape, m)
	}
	if !b1 {
		shape = append(shape, n)
	}
	if k == 0 || m == 0 || n == 0 {
		return ctx.NewTensor(tensor.Float32, shape...), nil // empty sums, or no output
	}
	out := ctx.Empty(tensor.Float32, shape...) // every batch written, beta 0
	ad, bd, od := a.F32(), b.F32(), out.F32()
	for i := 0; i < nb; i++ {
		sgemm(false, false, m, n, k, 1, ad[ia[i]*m*k:], k, bd[ib[i]*k*n:], n, 0, od[i*m*n:], n)
	}
	return out, nil
}
