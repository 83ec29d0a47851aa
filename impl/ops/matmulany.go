package ops

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// MatMul and Gemm for the dtypes the float32 GEMM path does not take
// (float64, float16, bfloat16, integers), and MatMulInteger. Floats
// accumulate in float64, integers in int64 (wrapping to the output width).

func init() {
	Register(Impl{Op: "MatMul", Name: "ref-any", Priority: -10, DTypes: numericTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 2)
			if err != nil {
				return nil, err
			}
			if ts[0].DType == tensor.Float32 && ts[1].DType == tensor.Float32 {
				out, err := MatMulF32(ts[0], ts[1])
				if err != nil {
					return nil, err
				}
				return []Value{out}, nil
			}
			if ts[0].DType != ts[1].DType {
				return nil, fmt.Errorf("MatMul: input dtypes differ (%s vs %s)", ts[0].DType, ts[1].DType)
			}
			out, err := matMulAny(ts[0], ts[1], ts[0].DType, 0, 0)
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}), nil
	}})
	Register(Impl{Op: "MatMulInteger", DTypes: []tensor.DType{tensor.Uint8, tensor.Int8}, Build: func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 2)
			if err != nil {
				return nil, err
			}
			az, err := zeroPointVec(in, 2)
			if err != nil {
				return nil, err
			}
			bz, err := zeroPointVec(in, 3)
			if err != nil {
				return nil, err
			}
			out, err := matMulIntZP(ts[0], ts[1], az, bz)
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}), nil
	}})
	graph.RegisterShape("", "MatMulInteger", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{DType: tensor.Int32}}, nil
	})
	Register(Impl{Op: "Gemm", Name: "ref-any", Priority: -10, DTypes: numericTypes, Build: buildGemmAny})
}

// mmShapes resolves numpy.matmul shapes: batch broadcast, m, k, n and the
// output shape.
func mmShapes(as, bs []int) (batch []int, m, k, n int, out []int, err error) {
	if len(as) == 0 || len(bs) == 0 {
		return nil, 0, 0, 0, nil, fmt.Errorf("MatMul: scalar inputs %v, %v", as, bs)
	}
	a1, b1 := len(as) == 1, len(bs) == 1
	if a1 {
		as = []int{1, as[0]}
	}
	if b1 {
		bs = []int{bs[0], 1}
	}
	m, k = as[len(as)-2], as[len(as)-1]
	k2 := bs[len(bs)-2]
	n = bs[len(bs)-1]
	if k != k2 {
		return nil, 0, 0, 0, nil, fmt.Errorf("MatMul: inner dimensions differ: %v x %v", as, bs)
	}
	batch, err = tensor.BroadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, 0, 0, 0, nil, err
	}
	out = append([]int{}, batch...)
	if !a1 {
		out = append(out, m)
	}
	if !b1 {
		out = append(out, n)
	}
	return batch, m, k, n, out, nil
}

// batchIndex returns, per broadcast batch, the matrix index of a tensor of
// shape s (rank >= 2 after the 1-D promotion).
func batchIndex(s []int, batch []int) []int {
	bs := []int{}
	if len(s) > 2 {
		bs = s[:len(s)-2]
	}
	idx := make([]int, tensor.NumElems(batch))
	tensor.BroadcastIndex(batch, tensor.BroadcastStrides(bs, batch), idx)
	return idx
}

func mmLoop[T int64 | float64](a, b []T, as, bs, batch []int, m, k, n int) []T {
	ia, ib := batchIndex(as, batch), batchIndex(bs, batch)
	out := make([]T, len(ia)*m*n)
	for bi := range ia {
		ab := a[ia[bi]*m*k:]
		bb := b[ib[bi]*k*n:]
		ob := out[bi*m*n:]
		for i := 0; i < m; i++ {
			for p := 0; p < k; p++ {
				av := ab[i*k+p]
				for j := 0; j < n; j++ {
					ob[i*n+j] += av * bb[p*n+j]
				}
			}
		}
	}
	return out
}

// matMulAny multiplies with numpy.matmul semantics, subtracting zero
// points (for the integer variants), producing dtype outDT.
func matMulAny(a, b *tensor.Tensor, outDT tensor.DType, az, bz int64) (*tensor.Tensor, error) {
	batch, m, k, n, os, err := mmShapes(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	as, bs := a.Shape, b.Shape
	if len(as) == 1 {
		as = []int{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
	}
	if isInt(a.DType) && isInt(outDT) {
		av, err := ToInt64(a)
		if err != nil {
			return nil, err
		}
		bv, err := ToInt64(b)
		if err != nil {
			return nil, err
		}
		for i := range av {
			av[i] -= az
		}
		for i := range bv {
			bv[i] -= bz
		}
		return fromInt64(outDT, mmLoop(av, bv, as, bs, batch, m, k, n), os)
	}
	av, err := ToFloat64(a)
	if err != nil {
		return nil, err
	}
	bv, err := ToFloat64(b)
	if err != nil {
		return nil, err
	}
	return FromFloat64(outDT, mmLoop(av, bv, as, bs, batch, m, k, n), os)
}

// zeroPointVec reads an optional zero point that may be per-tensor or per
// row/column (returned as a slice; nil when absent).
func zeroPointVec(in []Value, i int) ([]int64, error) {
	t, err := Tensor(in, i)
	if err != nil || t == nil {
		return nil, err
	}
	return ToInt64(t)
}

// matMulIntZP is MatMulInteger: (A - a_zp) x (B - b_zp) in int32, with
// a_zp per row of A (or scalar) and b_zp per column of B (or scalar).
func matMulIntZP(a, b *tensor.Tensor, az, bz []int64) (*tensor.Tensor, error) {
	batch, m, k, n, os, err := mmShapes(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	as, bs := a.Shape, b.Shape
	if len(as) == 1 {
		as = []int{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
	}
	av, err := ToInt64(a)
	if err != nil {
		return nil, err
	}
	bv, err := ToInt64(b)
	if err != nil {
		return nil, err
	}
	if len(az) > 1 && len(az) != m || len(bz) > 1 && len(bz) != n {
		return nil, fmt.Errorf("zero points of %d and %d elements do not fit %dx%d x %dx%d", len(az), len(bz), m, k, k, n)
	}
	for i := range av {
		switch len(az) {
		case 1:
			av[i] -= az[0]
		case m:
			if len(az) > 0 {
				av[i] -= az[(i/k)%m]
			}
		}
	}
	for i := range bv {
		switch len(bz) {
		case 1:
			bv[i] -= bz[0]
		case n:
			if len(bz) > 0 {
				bv[i] -= bz[i%n]
			}
		}
	}
	return fromInt64(tensor.Int32, mmLoop(av, bv, as, bs, batch, m, k, n), os)
}

func buildGemmAny(b *BuildInfo) (Kernel, error) {
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
		if a.Rank() != 2 || bm.Rank() != 2 {
			return nil, fmt.Errorf("Gemm: A %v and B %v must be rank 2", a.Shape, bm.Shape)
		}
		if ta != 0 {
			if a, err = Transpose(a, nil); err != nil {
				return nil, err
			}
		}
		if tb != 0 {
			if bm, err = Transpose(bm, nil); err != nil {
				return nil, err
			}
		}
		ab, err := matMulAny(a, bm, tensor.Float64, 0, 0)
		if err != nil {
			return nil, err
		}
		r := ab.F64()
		for i := range r {
			r[i] *= float64(alpha)
		}
		if c != nil && beta != 0 {
			cv, err := ToFloat64(c)
			if err != nil {
				return nil, err
			}
			cb, err := broadcastTo(cv, c.Shape, ab.Shape)
			if err != nil {
				return nil, fmt.Errorf("Gemm: C: %w", err)
			}
			for i := range r {
				r[i] += float64(beta) * cb[i]
			}
		}
		dt := ts[0].DType
		if isInt(dt) {
			iv := make([]int64, len(r))
			for i, v := range r {
				iv[i] = f64ToI64(v)
			}
			out, err := fromInt64(dt, iv, ab.Shape)
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}
		out, err := FromFloat64(dt, r, ab.Shape)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}
