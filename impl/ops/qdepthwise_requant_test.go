package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/arith/convert"
	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// qdepthwise against a direct int32 convolution finished as ONNX Runtime
// does (acc = sum + bias in int32, RNE(float32(acc) * float32 multiplier)
// + zy, saturated to the fused activation's bounds), on every fused
// kernel set of arith/convert, for uint8 and int8 codes, row lengths with
// and without vector tails, biases beyond 2^24 and float output.
func TestQDepthwiseRequant(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	type tc struct {
		xdt, ydt       tensor.DType
		c, h, w, k     int
		attrs          []*graph.Attr
		zx, zw, zy     int32
		sx, sy         float32
		act            Activation
		noBias, bigB   bool
		floatOut, tiny bool
	}
	cases := []tc{
		{xdt: tensor.Uint8, ydt: tensor.Uint8, c: 16, h: 14, w: 14, k: 3, attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1)}, zx: 120, zy: 90, sx: 0.03, sy: 0.04, act: Activation{Kind: "Relu"}},
		{xdt: tensor.Uint8, ydt: tensor.Uint8, c: 24, h: 15, w: 13, k: 3, attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 0, 1, 2), graph.IntsAttr("strides", 2, 2)}, zx: 3, zy: 0, sx: 0.02, sy: 0.05, noBias: true},
		{xdt: tensor.Int8, ydt: tensor.Int8, c: 8, h: 9, w: 11, k: 5, attrs: []*graph.Attr{graph.IntsAttr("pads", 2, 2, 2, 2)}, zx: -5, zw: 2, zy: -10, sx: 0.05, sy: 0.1, act: Activation{Kind: "Clip", Min: 0, Max: 6}},
		{xdt: tensor.Int8, ydt: tensor.Int8, c: 12, h: 7, w: 7, k: 3, attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1)}, zx: 0, zy: 3, sx: 0.05, sy: 0.1, bigB: true},
		{xdt: tensor.Uint8, ydt: tensor.Uint8, c: 40, h: 28, w: 28, k: 3, attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1)}, zx: 128, zy: 128, sx: 0.02, sy: 0.02, bigB: true},
		{xdt: tensor.Uint8, ydt: tensor.Uint8, c: 6, h: 8, w: 8, k: 3, zx: 128, zy: 128, sx: 0.02, sy: 1e-4, tiny: true}, // saturates both ends
		{xdt: tensor.Uint8, ydt: tensor.Float32, c: 5, h: 9, w: 9, k: 3, attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1)}, zx: 100, sx: 0.02, floatOut: true, act: Activation{Kind: "Relu"}},
	}
	for ci, c := range cases {
		x := tensor.New(c.xdt, 2, c.c, c.h, c.w)
		for i := 0; i < x.Len(); i++ {
			if c.xdt == tensor.Int8 {
				x.I8()[i] = int8(rng.IntN(256) - 128)
			} else {
				x.U8()[i] = uint8(rng.IntN(256))
			}
		}
		kk := c.k * c.k
		wq := make([]int32, c.c*kk)
		wf := make([]float32, len(wq))
		for i := range wq {
			wq[i] = int32(rng.IntN(256) - 128)
			wf[i] = float32(wq[i] - c.zw)
		}
		sw := make([]float32, c.c)
		bias := make([]int32, c.c)
		for i := range sw {
			sw[i] = 0.001 + 0.01*rng.Float32()
			bias[i] = int32(rng.IntN(4000) - 2000)
			if c.bigB {
				// Beyond float32's exact integers; sw shrinks so that the
				// outputs do not all saturate.
				bias[i] = int32(rng.IntN(1<<28) - 1<<27)
				sw[i] = float32(60 / float64(max(1, qdwAbs(bias[i]))) * float64(c.sy) / float64(c.sx))
			}
		}
		if c.noBias {
			bias = nil
		}
		var ys, yzp *tensor.Tensor
		if !c.floatOut {
			ys = tensor.Scalar(c.sy)
			if c.ydt == tensor.Int8 {
				yzp = tensor.Scalar(int8(c.zy))
			} else {
				yzp = tensor.Scalar(uint8(c.zy))
			}
		}
		rq, err := newRequant(c.sx, sw, ys, yzp, c.c, c.act)
		if err != nil {
			t.Fatal(err)
		}
		n := node("QLinearConv", 9, append([]*graph.Attr{graph.AttrI("group", int64(c.c))}, c.attrs...)...)
		g, err := ResolveConv2D(n, x.Shape, []int{c.c, 1, c.k, c.k})
		if err != nil {
			t.Fatal(err)
		}
		want := qdwRef(x, c.zx, wq, c.zw, bias, g)
		def := convert.FusedImpl()
		for _, impl := range convert.FusedImpls() {
			if err := convert.SetFusedImpl(impl); err != nil {
				t.Fatal(err)
			}
			for _, threads := range []int{1, 2} {
				out := tensor.New(rq.dt, g.OutShape(4)...)
				qdepthwise(threads, x, c.zx, wf, bias, g, rq, out)
				for i, acc := range want {
					ch := (i / (g.OH * g.OW)) % c.c
					var w float64
					if c.floatOut {
						v := float32(float64(acc) * rq.mult[ch])
						w = float64(max(v, 0)) // Relu
					} else {
						m := c.sx * sw[ch] / c.sy
						p := float32(acc) * m
						w = math.Min(math.Max(math.RoundToEven(float64(p))+float64(rq.zy), float64(rq.lo)), float64(rq.hi))
					}
					if got := out.Float64At(i); got != w {
						t.Fatalf("case %d %s threads %d: output %d (acc %d) = %v want %v", ci, impl, threads, i, acc, got, w)
					}
				}
				if c.tiny {
					lo, hi := 0, 0
					for i := 0; i < out.Len(); i++ {
						switch out.Float64At(i) {
						case 0:
							lo++
						case 255:
							hi++
						}
					}
					if lo == 0 || hi == 0 {
						t.Fatalf("case %d: want saturation at both ends, got %d at 0, %d at 255", ci, lo, hi)
					}
				}
			}
		}
		convert.SetFusedImpl(def)
	}
}

func qdwAbs(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// qdwRef is the depthwise convolution in int32: sum (x-zx)*(w-zw) over
// the window (padding contributes nothing) plus the bias.
func qdwRef(x *tensor.Tensor, zx int32, wq []int32, zw int32, bias []int32, g ConvGeom) []int32 {
	p := g.P
	sh, sw, dh, dw := max(p.SH, 1), max(p.SW, 1), max(p.DH, 1), max(p.DW, 1)
	out := make([]int32, g.N*g.Cout*g.OH*g.OW)
	i := 0
	for b := 0; b < g.N; b++ {
		for c := 0; c < g.Cout; c++ {
			for oy := 0; oy < g.OH; oy++ {
				for ox := 0; ox < g.OW; ox++ {
					var acc int32
					if bias != nil {
						acc = bias[c]
					}
					for ky := 0; ky < p.KH; ky++ {
						for kx := 0; kx < p.KW; kx++ {
							iy, ix := oy*sh-p.PT+ky*dh, ox*sw-p.PL+kx*dw
							if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
								continue
							}
							xv := int32(x.Float64At(((b*g.Cin+c)*g.H+iy)*g.W + ix))
							acc += (xv - zx) * (wq[(c*p.KH+ky)*p.KW+kx] - zw)
						}
					}
					out[i] = acc
					i++
				}
			}
		}
	}
	return out
}

// BenchmarkQDepthwise: MobileNetV2's int8 depthwise layers (uint8, 3x3,
// Relu6-like clip), the whole qdepthwise (dequantize, convolve, finish).
func BenchmarkQDepthwise(b *testing.B) {
	for _, s := range []struct{ c, hw, stride int }{{32, 112, 1}, {144, 56, 2}, {192, 28, 1}, {960, 7, 1}} {
		rng := rand.New(rand.NewPCG(5, 6))
		x := tensor.New(tensor.Uint8, 1, s.c, s.hw, s.hw)
		for i := range x.U8() {
			x.U8()[i] = uint8(rng.IntN(256))
		}
		wf := make([]float32, s.c*9)
		sw := make([]float32, s.c)
		bias := make([]int32, s.c)
		for i := range wf {
			wf[i] = float32(rng.IntN(255) - 127)
		}
		for i := range sw {
			sw[i], bias[i] = 0.001+0.01*rng.Float32(), int32(rng.IntN(2000)-1000)
		}
		rq, err := newRequant(0.02, sw, tensor.Scalar(float32(0.05)), tensor.Scalar(uint8(0)), s.c, Activation{Kind: "Clip", Min: 0, Max: 6})
		if err != nil {
			b.Fatal(err)
		}
		n := node("QLinearConv", 9, graph.AttrI("group", int64(s.c)), graph.IntsAttr("pads", 1, 1, 1, 1), graph.IntsAttr("strides", int64(s.stride), int64(s.stride)))
		g, err := ResolveConv2D(n, x.Shape, []int{s.c, 1, 3, 3})
		if err != nil {
			b.Fatal(err)
		}
		out := tensor.New(tensor.Uint8, g.OutShape(4)...)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%dx%d_s%d/threads=%d", s.c, s.hw, s.hw, s.stride, threads), func(b *testing.B) {
				for b.Loop() {
					qdepthwise(threads, x, 128, wf, bias, g, rq, out)
				}
			})
		}
	}
}
