package ops

import (
	"fmt"
	"sync/atomic"

	"github.com/frugal-ml/frugal/graph"
	dwconv "github.com/frugal-ml/frugal/impl/depthwise"
	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/tensor"
)

// Channels-last (NHWC) convolutions for the small-map tail of a network,
// made by the channels-last pass (impl/passes/channels_last.go):
//
//   - ai.frugal:ConvNHWC(X, W, B[, Z]): Conv (or FusedConv with its
//     residual Z, also NHWC) writing [N, OH, OW, Cout]. A 1x1 convolution
//     is the GEMM out[HW, Cout] = x[HW, Cin] x W^T with W^T packed once:
//     x read in place when NHWC (gemm.SgemmPackedCols), or transposed as
//     it is packed when the pass left it NCHW (gemm.SgemmPackedTransACols,
//     the turned-around convolution of conv_pointwise_t.go, now without
//     its transposing store). A depthwise one runs 16 channels per vector
//     (impl/depthwise ConvHWC).
//   - ai.frugal:GlobalAveragePoolNHWC(X): the mean over the pixels, one
//     GEMM row (ones x X / HW), giving the usual [N, C, 1, 1].
//
// Batch 1 only (the pass checks it; other shapes are an error here).

func init() {
	Register(Impl{Op: "ConvNHWC", Domain: FrugalDomain, Name: "nhwc", DTypes: []tensor.DType{tensor.Float32},
		Build: buildConvNHWC})
	Register(Impl{Op: "GlobalAveragePoolNHWC", Domain: FrugalDomain, Name: "nhwc", DTypes: []tensor.DType{tensor.Float32},
		Build: buildGAPNHWC})
}

func buildConvNHWC(b *BuildInfo) (Kernel, error) {
	n := b.Node
	act, err := ActivationFromNode(n)
	if err != nil {
		return nil, err
	}
	layout, err := n.String("x_layout", "NCHW")
	if err != nil {
		return nil, err
	}
	if layout != "NCHW" && layout != "NHWC" {
		return nil, fmt.Errorf("ConvNHWC: x_layout %q, want NCHW or NHWC", layout)
	}
	if len(b.Const) < 2 || b.Const[1] == nil || b.Const[1].DType != tensor.Float32 || b.Const[1].Rank() != 4 {
		return nil, fmt.Errorf("ConvNHWC: the weight must be a constant float32 [Cout, Cin/group, KH, KW] tensor")
	}
	w := b.Const[1]
	group, err := n.Int("group", 1)
	if err != nil {
		return nil, err
	}
	cout, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
	var wt *gemm.PackedB
	var hw *dwconv.HWCWeights
	switch {
	case group == 1 && kh == 1 && kw == 1:
		wt = gemm.PackB(true, w.Shape[1], cout, w.F32(), w.Shape[1])
	case int(group) == cout && w.Shape[1] == 1:
		if layout != "NHWC" {
			return nil, fmt.Errorf("ConvNHWC: a depthwise convolution needs an NHWC input")
		}
		hw = dwconv.PackHWC(w.F32(), cout, kh, kw)
	default:
		return nil, fmt.Errorf("ConvNHWC: only 1x1 group-1 and depthwise convolutions (weight %v, group %d)", w.Shape, group)
	}
	lo, hi := act.bounds()
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		bias, err := Tensor(in, 2)
		if err != nil {
			return nil, err
		}
		z, err := Tensor(in, 3)
		if err != nil {
			return nil, err
		}
		if x.DType != tensor.Float32 || x.Rank() != 4 || x.Shape[0] != 1 {
			return nil, fmt.Errorf("ConvNHWC: input %s%v, want float32 of one image", x.DType, x.Shape)
		}
		xs := []int{1, x.Shape[1], x.Shape[2], x.Shape[3]} // as NCHW
		if layout == "NHWC" {
			xs = []int{1, x.Shape[3], x.Shape[1], x.Shape[2]}
		}
		p, err := graph.ReadConvParams(n, xs, []int{kh, kw})
		if err != nil {
			return nil, err
		}
		cin := xs[1]
		if cin != w.Shape[1]*int(group) {
			return nil, fmt.Errorf("ConvNHWC: input %v (%s) has %d channels, weight %v with group %d", x.Shape, layout, cin, w.Shape, group)
		}
		oh, ow := p.OutSize(0, xs[2]), p.OutSize(1, xs[3])
		if oh <= 0 || ow <= 0 {
			return nil, fmt.Errorf("ConvNHWC: input %v gives an empty output", x.Shape)
		}
		outShape := []int{1, oh, ow, cout}
		var bv []float32
		if bias != nil {
			if bias.DType != tensor.Float32 || bias.Len() != cout {
				return nil, fmt.Errorf("ConvNHWC: bias %s%v, want %d float32 values", bias.DType, bias.Shape, cout)
			}
			bv = bias.F32()
		}
		if z != nil && (z.DType != tensor.Float32 || !tensor.SameShape(z.Shape, outShape)) {
			return nil, fmt.Errorf("ConvNHWC: addend %s%v, want float32 %v", z.DType, z.Shape, outShape)
		}
		if hw != nil {
			if z != nil {
				return nil, fmt.Errorf("ConvNHWC: no residual addend for a depthwise convolution")
			}
			out := ctx.Empty(tensor.Float32, outShape...)
			dp := dwconv.Params{KH: kh, KW: kw, SH: p.Strides[0], SW: p.Strides[1],
				PT: p.Pads[0], PL: p.Pads[1], PB: p.Pads[2], PR: p.Pads[3], DH: p.Dilations[0], DW: p.Dilations[1]}
			hw.ConvHWC(ctx.Threads, x.F32(), xs[2], xs[3], dp, bv, lo, hi, out.F32())
			return []Value{out}, nil
		}
		// 1x1: out[HW, Cout] = act(x^T W^T + bias [+ z]).
		var out *tensor.Tensor
		if z != nil && !overlaps(x, z) {
			out = ctx.Output(tensor.Float32, outShape, z)
		} else {
			out = ctx.Empty(tensor.Float32, outShape...)
		}
		ep := act.epilogue(nil)
		ep.ColBias = bv
		if z != nil {
			ep.Beta = 1
			if !sameStorage(out.F32(), z.F32()) {
				copy(out.F32(), z.F32())
			}
		}
		ohw := oh * ow
		mr, nr := wt.Tile()
		shares := turnedShares(ohw, cout, mr, nr, max(1, ctx.Threads))
		xd, od := x.F32(), out.F32()
		gemm.Parallel(len(shares), func(i int) {
			for _, r := range shares[i] {
				if layout == "NHWC" {
					gemm.SgemmPackedCols(r.p1-r.p0, xd[r.p0*cin:], cin, wt, r.c0, r.c1, od[r.p0*cout:], cout, ep)
				} else {
					gemm.SgemmPackedTransACols(r.p1-r.p0, xd[r.p0:], ohw, wt, r.c0, r.c1, od[r.p0*cout:], cout, ep)
				}
			}
		})
		return []Value{out}, nil
	}), nil
}

func buildGAPNHWC(b *BuildInfo) (Kernel, error) {
	// A row of ones as long as the largest map seen, shared read-only by
	// concurrent runs (built once per shape, not per run).
	var onesRow atomic.Pointer[[]float32]
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if x.DType != tensor.Float32 || x.Rank() != 4 || x.Shape[0] != 1 {
			return nil, fmt.Errorf("GlobalAveragePoolNHWC: input %s%v, want float32 [1, H, W, C]", x.DType, x.Shape)
		}
		pix, c := x.Shape[1]*x.Shape[2], x.Shape[3]
		out := ctx.Empty(tensor.Float32, 1, c, 1, 1)
		if pix == 0 {
			return nil, fmt.Errorf("GlobalAveragePoolNHWC: empty input %v", x.Shape)
		}
		op := onesRow.Load()
		if op == nil || len(*op) < pix {
			o := make([]float32, pix)
			for i := range o {
				o[i] = 1
			}
			op = &o
			onesRow.Store(op)
		}
		ones := (*op)[:pix]
		// The column sums as one GEMM row, scaled by 1/HW.
		gemm.SgemmEp(false, false, 1, c, pix, 1/float32(pix), ones, pix, x.F32(), c, out.F32(), c, gemm.Epilogue{})
		return []Value{out}, nil
	}), nil
}
