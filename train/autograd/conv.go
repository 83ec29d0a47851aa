package autograd

import (
	"fmt"

	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/tensor"
)

func init() { RegisterGrad("Conv", buildConv) }

// maxSavedCols bounds the im2col columns a Conv keeps from forward for
// backward (floats); above it backward recomputes them image by image.
const maxSavedCols = 1 << 24

// packedConv selects the packed-weight GEMM path (weights packed once per
// step, bias and ReLU fused into the GEMM epilogue). Tests turn it off to
// compare with the plain Sgemm path.
var packedConv = true

// directDepthwise selects the direct kernel for depthwise convolutions
// (tests compare it with the im2col path).
var directDepthwise = true

type convK struct {
	b      *BuildInfo
	relu   bool // fused ReLU (see fuse.go)
	xs, ws []int
	g      ops.ConvGeom
	out    buf
	cols   []float32 // saved columns: [N][G][kk][ohw]
	saved  bool
	col    []float32 // one image-group of columns (recompute / dcol)
}

func buildConv(b *BuildInfo) (Kernel, error) {
	act, err := ops.ActivationFromNode(b.Node)
	if err != nil {
		return nil, err
	}
	switch act.Kind {
	case "":
		return &convK{b: b}, nil
	case "Relu":
		return &convK{b: b, relu: true}, nil
	}
	return nil, fmt.Errorf("fused activation %q is not differentiable here; train the unfused graph", act.Kind)
}

func (k *convK) pointwise() bool {
	p := k.g.P
	return p.KH == 1 && p.KW == 1 && p.SH == 1 && p.SW == 1 && p.PT+p.PL+p.PB+p.PR == 0
}

func (k *convK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.b.Node
	if err := need(in, 2, n); err != nil {
		return nil, err
	}
	if err := checkF32(n, in, 0, 1, 2); err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	if !tensor.SameShape(x.Shape, k.xs) || !tensor.SameShape(w.Shape, k.ws) {
		g, err := ops.ResolveConv2D(n, x.Shape, w.Shape)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.Describe(), err)
		}
		k.g, k.xs, k.ws = g, append([]int(nil), x.Shape...), append([]int(nil), w.Shape...)
	}
	g := k.g
	var bias []float32
	if len(in) > 2 && in[2] != nil {
		if in[2].Len() != g.Cout {
			return nil, fmt.Errorf("%s: bias has %d elements, want %d", n.Describe(), in[2].Len(), g.Cout)
		}
		bias = in[2].F32()
	}
	out := k.out.get(g.OutShape(x.Rank())...)
	if k.depthwise() && directDepthwise {
		k.dwForward(x.F32(), w.F32(), bias, out.F32())
		return []*tensor.Tensor{out}, nil
	}
	cpg, opg := g.Cin/g.Group, g.Cout/g.Group
	kk := cpg * g.P.KH * g.P.KW
	ohw := g.OH * g.OW
	hw := g.H * g.W
	pw := k.pointwise()
	k.saved = !pw && g.N*g.Group*kk*ohw <= maxSavedCols
	if k.saved {
		f32s(&k.cols, g.N*g.Group*kk*ohw)
	} else if !pw {
		f32s(&k.col, kk*ohw)
	}
	xd, wd, od := x.F32(), w.F32(), out.F32()
	for gi := 0; gi < g.Group; gi++ {
		wg := wd[gi*opg*kk : (gi+1)*opg*kk]
		var pa *gemm.PackedA
		ep := gemm.Epilogue{}
		if bias != nil {
			ep.RowBias = bias[gi*opg : (gi+1)*opg]
		}
		if k.relu {
			ep.Act = gemm.ActRelu
		}
		if packedConv && g.N > 1 && !k.b.BF16 {
			pa = gemm.PackA(false, opg, kk, wg, kk)
		}
		for b := 0; b < g.N; b++ {
			xg := xd[(b*g.Cin+gi*cpg)*hw : (b*g.Cin+(gi+1)*cpg)*hw]
			src := xg
			if !pw {
				if k.saved {
					src = k.cols[(b*g.Group+gi)*kk*ohw : (b*g.Group+gi+1)*kk*ohw]
				} else {
					src = k.col
				}
				im2col(xg, cpg, g.H, g.W, g.P, src)
			}
			og := od[(b*g.Cout+gi*opg)*ohw : (b*g.Cout+(gi+1)*opg)*ohw]
			if pa != nil {
				gemm.SgemmPackedA(pa, ohw, src, ohw, og, ohw, ep)
				continue
			}
			if k.b.BF16 {
				gemm.SgemmBF16(false, false, opg, ohw, kk, wg, kk, src, ohw, og, ohw, ep)
				continue
			}
			Sgemm(false, false, opg, ohw, kk, 1, wg, kk, src, ohw, 0, og, ohw)
			for o := 0; o < opg; o++ {
				row := og[o*ohw : (o+1)*ohw]
				if bias != nil {
					bv := bias[gi*opg+o]
					for i := range row {
						row[i] += bv
					}
				}
				if k.relu {
					for i, v := range row {
						if v < 0 {
							row[i] = 0
						}
					}
				}
			}
		}
	}
	return []*tensor.Tensor{out}, nil
}

func (k *convK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	g := k.g
	dy := gout[0].F32()
	cpg, opg := g.Cin/g.Group, g.Cout/g.Group
	kk := cpg * g.P.KH * g.P.KW
	ohw := g.OH * g.OW
	hw := g.H * g.W
	pw := k.pointwise()
	var db []float32
	if len(gin) > 2 && gin[2] != nil {
		db = gin[2].F32()
	}
	if k.relu || db != nil {
		// One pass: the fused ReLU's gradient (applied in place: nothing
		// else reads this gradient after this node) and the bias gradient.
		y := out[0].F32()
		for b := 0; b < g.N; b++ {
			for co := 0; co < g.Cout; co++ {
				lo, hi := (b*g.Cout+co)*ohw, (b*g.Cout+co+1)*ohw
				row := dy[lo:hi]
				if k.relu {
					reluMask(row, y[lo:hi])
				}
				if db != nil {
					var s float32
					for _, v := range row {
						s += v
					}
					db[co] += s
				}
			}
		}
	}
	x, wd := in[0].F32(), in[1].F32()
	if k.depthwise() && directDepthwise {
		var dw, dx []float32
		if gin[1] != nil {
			dw = gin[1].F32()
		}
		if gin[0] != nil {
			dx = gin[0].F32()
		}
		k.dwBackward(x, wd, dy, dw, dx)
		return nil
	}
	if gin[1] != nil {
		dw := gin[1].F32()
		for b := 0; b < g.N; b++ {
			for gi := 0; gi < g.Group; gi++ {
				xg := x[(b*g.Cin+gi*cpg)*hw : (b*g.Cin+(gi+1)*cpg)*hw]
				var col []float32
				switch {
				case pw:
					col = xg
				case k.saved:
					col = k.cols[(b*g.Group+gi)*kk*ohw : (b*g.Group+gi+1)*kk*ohw]
				default:
					col = f32s(&k.col, kk*ohw)
					im2col(xg, cpg, g.H, g.W, g.P, col)
				}
				dyg := dy[(b*g.Cout+gi*opg)*ohw : (b*g.Cout+(gi+1)*opg)*ohw]
				mm(k.b.BF16, false, true, opg, kk, ohw, 1, dyg, ohw, col, ohw, 1, dw[gi*opg*kk:(gi+1)*opg*kk], kk)
			}
		}
	}
	if gin[0] != nil {
		dx := gin[0].F32()
		var dcol []float32
		if !pw {
			dcol = f32s(&k.col, kk*ohw)
		}
		for gi := 0; gi < g.Group; gi++ {
			wg := wd[gi*opg*kk : (gi+1)*opg*kk]
			var pa *gemm.PackedA
			if packedConv && g.N > 1 && !k.b.BF16 {
				pa = gemm.PackA(true, kk, opg, wg, kk)
			}
			for b := 0; b < g.N; b++ {
				dxg := dx[(b*g.Cin+gi*cpg)*hw : (b*g.Cin+(gi+1)*cpg)*hw]
				dyg := dy[(b*g.Cout+gi*opg)*ohw : (b*g.Cout+(gi+1)*opg)*ohw]
				if pw {
					if pa != nil {
						gemm.SgemmPackedA(pa, ohw, dyg, ohw, dxg, ohw, gemm.Epilogue{Beta: 1})
					} else {
						mm(k.b.BF16, true, false, kk, ohw, opg, 1, wg, kk, dyg, ohw, 1, dxg, ohw)
					}
					continue
				}
				if pa != nil {
					gemm.SgemmPackedA(pa, ohw, dyg, ohw, dcol, ohw, gemm.Epilogue{})
				} else {
					mm(k.b.BF16, true, false, kk, ohw, opg, 1, wg, kk, dyg, ohw, 0, dcol, ohw)
				}
				col2im(dcol, cpg, g.H, g.W, g.P, dxg)
			}
		}
	}
	return nil
}
