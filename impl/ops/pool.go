package ops

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ref"
	"github.com/frugal-ml/frugal/tensor"
)

func init() {
	for _, op := range []string{"MaxPool", "AveragePool"} {
		op := op
		Register(Impl{Op: op, Name: "ref", DTypes: floatTypes,
			Match: floatMatch,
			Build: func(b *BuildInfo) (Kernel, error) { return buildPool(op, b) }})
	}
	Register(Impl{Op: "GlobalAveragePool", Name: "ref", DTypes: []tensor.DType{tensor.Float32},
		Match: func(b *BuildInfo) bool {
			dt := b.InDType(0)
			return dt == tensor.Float32 || dt == tensor.Undefined
		},
		Build: func(b *BuildInfo) (Kernel, error) {
			return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
				ts, err := MustTensors(in, 1)
				if err != nil {
					return nil, err
				}
				x := ts[0]
				if err := CheckDType(x, "X", tensor.Float32); err != nil {
					return nil, err
				}
				if x.Rank() < 2 {
					return nil, fmt.Errorf("input shape %v: want rank >= 2", x.Shape)
				}
				shape := []int{x.Shape[0], x.Shape[1]}
				for range x.Shape[2:] {
					shape = append(shape, 1)
				}
				out := ctx.Empty(tensor.Float32, shape...)
				globalAvgPool(ctx.Threads, x.F32(), out.F32(), tensor.NumElems(x.Shape[2:]))
				return []Value{out}, nil
			}), nil
		}})
}

// PoolGeom resolves pooling attributes for a rank-3 or rank-4 input.
func PoolGeom(n *graph.Node, xs []int) (ConvGeom, error) {
	var g ConvGeom
	if len(xs) != 3 && len(xs) != 4 {
		return g, fmt.Errorf("input %v: only 1-D and 2-D pooling are supported here", xs)
	}
	p, err := graph.ReadConvParams(n, xs, nil)
	if err != nil {
		return g, err
	}
	g = ConvGeom{N: xs[0], Cin: xs[1], Cout: xs[1], Group: 1}
	if len(xs) == 4 {
		g.H, g.W = xs[2], xs[3]
		g.P = ref.Conv2D{KH: p.Kernel[0], KW: p.Kernel[1], SH: p.Strides[0], SW: p.Strides[1],
			PT: p.Pads[0], PL: p.Pads[1], PB: p.Pads[2], PR: p.Pads[3], DH: p.Dilations[0], DW: p.Dilations[1]}
		g.OH, g.OW = p.OutSize(0, g.H), p.OutSize(1, g.W)
	} else {
		g.H, g.W = 1, xs[2]
		g.P = ref.Conv2D{KH: 1, KW: p.Kernel[0], SH: 1, SW: p.Strides[0], PL: p.Pads[0], PR: p.Pads[1], DH: 1, DW: p.Dilations[0]}
		g.OH, g.OW = 1, p.OutSize(0, g.W)
	}
	if g.OH <= 0 || g.OW <= 0 {
		return g, fmt.Errorf("input %v with kernel %v gives an empty output", xs, p.Kernel)
	}
	return g, nil
}

func buildPool(op string, b *BuildInfo) (Kernel, error) {
	n := b.Node
	cip, err := n.Int("count_include_pad", 0)
	if err != nil {
		return nil, err
	}
	so, err := n.Int("storage_order", 0)
	if err != nil {
		return nil, err
	}
	nd, err := buildPoolND(op, b)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if x.DType != tensor.Float32 || (x.Rank() != 3 && x.Rank() != 4) || so != 0 {
			return nd.Run(ctx, in)
		}
		g, err := PoolGeom(n, x.Shape)
		if err != nil {
			return nil, err
		}
		out := ctx.Empty(tensor.Float32, g.OutShape(x.Rank())...)
		var idx *tensor.Tensor
		wantIdx := op == "MaxPool" && len(n.Outputs) > 1 && n.Outputs[1] != ""
		if wantIdx {
			idx = ctx.Empty(tensor.Int64, out.Shape...)
		}
		plane, oplane := g.H*g.W, g.OH*g.OW
		xd, od := x.F32(), out.F32()
		Parallel(ctx.Threads, g.N*g.Cin, func(lo, hi int) {
			var arg, tmp = []int32(nil), []float32(nil)
			if wantIdx {
				arg = make([]int32, oplane)
			} else {
				tmp = make([]float32, g.W)
			}
			for i := lo; i < hi; i++ {
				xs, os := xd[i*plane:(i+1)*plane], od[i*oplane:(i+1)*oplane]
				if op == "MaxPool" && !wantIdx {
					maxPoolPlane(xs, g.H, g.W, g.P, g.OH, g.OW, os, tmp)
				} else if op == "MaxPool" {
					ref.MaxPool2D(xs, g.H, g.W, g.P, g.OH, g.OW, os, arg)
					if wantIdx {
						ii := idx.I64()[i*oplane : (i+1)*oplane]
						for j, a := range arg {
							ii[j] = int64(i*plane) + int64(a)
						}
					}
				} else {
					ref.AvgPool2D(xs, g.H, g.W, g.P, g.OH, g.OW, cip != 0, os)
				}
			}
		})
		if wantIdx {
			return []Value{out, idx}, nil
		}
		return []Value{out}, nil
	}), nil
}

// globalAvgPool sets od[i] to the mean of plane values of xd from i*plane:
// SIMD row sums (sumRows), channels split over threads when there are
// enough of them (MobileNetV2's 1280 x 7x7: 16 us in a scalar loop, whose
// one accumulator waits on each add).
func globalAvgPool(threads int, xd, od []float32, plane int) {
	rows := len(od)
	if rows*plane < 1<<15 {
		threads = 1
	}
	Parallel(threads, rows, func(r0, r1 int) {
		sumRows(od[r0:r1], xd[r0*plane:r1*plane], plane)
		inv := float32(plane)
		for i := r0; i < r1; i++ {
			od[i] /= inv
		}
	})
}

// sumRowsGo is sumRows in Go, four accumulators per row.
func sumRowsGo(dst, src []float32, n int) {
	for i := range dst {
		row := src[i*n : (i+1)*n]
		var s0, s1, s2, s3 float32
		j := 0
		for ; j+4 <= len(row); j += 4 {
			s0 += row[j]
			s1 += row[j+1]
			s2 += row[j+2]
			s3 += row[j+3]
		}
		for ; j < len(row); j++ {
			s0 += row[j]
		}
		dst[i] = (s0 + s1) + (s2 + s3)
	}
}
