package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/cpu"
	dwconv "github.com/frugal-ml/frugal/impl/depthwise"
	"github.com/frugal-ml/frugal/tensor"
)

// qdw8Case is a random 8-bit depthwise convolution: input, raw weights,
// zero points, requantization.
type qdw8Case struct {
	x          *tensor.Tensor
	wq         []int32 // raw weight codes
	zx, zw     int32
	bias       []int32
	g          ConvGeom
	rq         *requant
	name       string
	wf         []float32
	w8         *dwconv.Q8Weights
	w8ok       bool
	signedOut  bool
	kh, kw, nc int
}

func newQdw8Case(t testing.TB, r *rand.Rand, n, c, h, w, kh, kw int, attrs []*graph.Attr, xdt, ydt tensor.DType, zx, zw int32, bias bool, act Activation, wideW bool) *qdw8Case {
	tc := &qdw8Case{zx: zx, zw: zw, kh: kh, kw: kw, nc: c}
	tc.x = tensor.New(xdt, n, c, h, w)
	for i := 0; i < tc.x.Len(); i++ {
		if xdt == tensor.Int8 {
			tc.x.I8()[i] = int8(r.IntN(256) - 128)
		} else {
			tc.x.U8()[i] = uint8(r.IntN(256))
		}
	}
	tc.wq = make([]int32, c*kh*kw)
	tc.wf = make([]float32, len(tc.wq))
	for i := range tc.wq {
		tc.wq[i] = int32(r.IntN(256) - 128) // int8 weight codes
		if !wideW {
			tc.wq[i] = max(zw-128, min(zw+127, tc.wq[i]))
		}
		tc.wf[i] = float32(tc.wq[i] - zw)
	}
	if wideW { // some w - zw outside int8
		tc.wq[0] = 127
		tc.wf[0] = float32(127 - zw)
	}
	wd := make([]int32, len(tc.wq))
	for i := range wd {
		wd[i] = tc.wq[i] - zw
	}
	tc.w8, tc.w8ok = dwconv.PackQ8(wd, c, kh, kw)
	sw := make([]float32, c)
	for i := range sw {
		sw[i] = 0.001 + 0.01*r.Float32()
	}
	if bias {
		tc.bias = make([]int32, c)
		for i := range tc.bias {
			tc.bias[i] = int32(r.IntN(8000) - 4000)
		}
	}
	var yzp *tensor.Tensor
	if ydt == tensor.Int8 {
		yzp = tensor.Scalar(int8(r.IntN(60) - 30))
	} else {
		yzp = tensor.Scalar(uint8(r.IntN(60)))
	}
	var err error
	tc.rq, err = newRequant(0.02, sw, tensor.Scalar(float32(0.03+0.1*r.Float32())), yzp, c, act)
	if err != nil {
		t.Fatal(err)
	}
	nd := node("QLinearConv", 9, append([]*graph.Attr{graph.AttrI("group", int64(c))}, attrs...)...)
	tc.g, err = ResolveConv2D(nd, tc.x.Shape, []int{c, 1, kh, kw})
	if err != nil {
		t.Fatal(err)
	}
	tc.name = fmt.Sprintf("n%d c%d %dx%d k%dx%d %+v x:%s y:%s zx %d zw %d bias %v act %q", n, c, h, w, kh, kw, tc.g.P, xdt, ydt, zx, zw, bias, act.Kind)
	return tc
}

// TestQDepthwise8 compares the native byte kernel (qdwNative +
// qdepthwise8) with qdepthwise's float route byte for byte over random
// shapes, strides, paddings, zero points, biases, activations, code types
// and thread counts.
func TestQDepthwise8(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	sizes := []int{1, 2, 3, 7, 14, 17, 28, 56, 112}
	padSets := [][4]int64{{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 1, 1}, {1, 1, 0, 0}, {1, 0, 1, 0}, {0, 1, 0, 2}, {2, 2, 2, 2}}
	acts := []Activation{{}, {Kind: "Relu"}, {Kind: "Clip", Min: 0, Max: 6}}
	ran, native := 0, 0
	for iter := 0; iter < 300; iter++ {
		h, w := sizes[r.IntN(len(sizes))], sizes[r.IntN(len(sizes))]
		if h*w >= 56*112 && iter%3 != 0 {
			h /= 2
		}
		s := int64(1 + r.IntN(2))
		pd := padSets[r.IntN(len(padSets))]
		kh, kw := 3, 3
		if iter%7 == 0 {
			kw = 1 + r.IntN(4)
		}
		if iter%11 == 0 {
			kh = 1 + r.IntN(5) // float route only
		}
		attrs := []*graph.Attr{graph.IntsAttr("pads", pd[0], pd[1], pd[2], pd[3]), graph.IntsAttr("strides", s, s), graph.IntsAttr("kernel_shape", int64(kh), int64(kw))}
		if h+int(pd[0]+pd[2]) < kh || w+int(pd[1]+pd[3]) < kw {
			continue
		}
		xdt := []tensor.DType{tensor.Uint8, tensor.Int8}[r.IntN(2)]
		ydt := []tensor.DType{tensor.Uint8, tensor.Int8}[r.IntN(2)]
		zx := []int32{0, 128, int32(r.IntN(256))}[r.IntN(3)]
		if xdt == tensor.Int8 {
			zx -= 128
		}
		zw := []int32{0, 0, int32(r.IntN(21) - 10)}[r.IntN(3)]
		c := 2 + r.IntN(40)
		n := 1 + r.IntN(2)*(iter%2)
		tc := newQdw8Case(t, r, n, c, h, w, kh, kw, attrs, xdt, ydt, zx, zw, r.IntN(3) != 0, acts[r.IntN(len(acts))], false)
		if !tc.w8ok {
			t.Fatalf("%s: PackQ8 refused int8 weights", tc.name)
		}
		for _, threads := range []int{1, 2} {
			want := tensor.New(tc.rq.dt, tc.g.OutShape(4)...)
			qdepthwise(threads, tc.x, zx, tc.wf, tc.bias, tc.g, tc.rq, want)
			q := qdwNative(tc.x, zx, tc.w8, tc.bias, tc.g, tc.rq)
			if q == nil {
				continue
			}
			native++
			got := tensor.New(tc.rq.dt, tc.g.OutShape(4)...)
			qdepthwise8(threads, q, tc.x, tc.g, got)
			gb, wb := anyBytes8(got), anyBytes8(want)
			for i := range wb {
				if gb[i] != wb[i] {
					t.Fatalf("%s threads %d: byte %d = %d, float route %d", tc.name, threads, i, gb[i], wb[i])
				}
			}
		}
		ran++
	}
	t.Logf("%d cases, %d runs on the native kernel", ran, native)
	if cpu.X86.AVX512VBMI && cpu.X86.AVX512VNNI && cpu.HWLevel >= cpu.AVX512 && native == 0 {
		t.Fatal("the native kernel never ran")
	}
}

// TestQDepthwise8Node runs whole QLinearConv nodes (constant weights) on the
// native kernel and, with the level forced to AVX2, on the float route;
// weights with w - zw outside int8 must take the float route at every level
// and still match the int32 reference.
func TestQDepthwise8Node(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 11))
	for ci, wide := range []bool{false, true, false, true} {
		xdt := []tensor.DType{tensor.Uint8, tensor.Int8}[ci/2]
		zx, zw := int32(131), int32(-7)
		if xdt == tensor.Int8 {
			zx = -5
		}
		if wide {
			zw = -60 // 127 - (-60) = 187 does not fit int8
		}
		tc := newQdw8Case(t, r, 1, 24, 19, 23, 3, 3, []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1), graph.IntsAttr("strides", 2, 2)}, xdt, tensor.Uint8, zx, zw, true, Activation{Kind: "Relu"}, wide)
		if tc.w8ok == wide {
			t.Fatalf("case %d: PackQ8 ok %v with wide weights %v", ci, tc.w8ok, wide)
		}
		w := tensor.New(tensor.Int8, 24, 1, 3, 3)
		for i, v := range tc.wq {
			w.I8()[i] = int8(v)
		}
		sw := tensor.New(tensor.Float32, 24)
		for i := range sw.F32() {
			sw.F32()[i] = float32(tc.rq.mult[i] * 1) // any positive scales
		}
		var xzp *tensor.Tensor
		if xdt == tensor.Int8 {
			xzp = tensor.Scalar(int8(zx))
		} else {
			xzp = tensor.Scalar(uint8(zx))
		}
		nd := node("QLinearConv", 9, graph.AttrI("group", 24), graph.IntsAttr("pads", 1, 1, 1, 1), graph.IntsAttr("strides", 2, 2), graph.AttrS("activation", "Relu"))
		sx, ys, yzp := tensor.Scalar(float32(0.02)), tensor.Scalar(float32(0.05)), tensor.Scalar(uint8(3))
		bias := tensor.New(tensor.Int32, 24)
		copy(bias.I32(), tc.bias)
		in := []Value{tc.x, sx, xzp, w, sw, tensor.Scalar(int8(zw)), ys, yzp, bias}
		consts := []*tensor.Tensor{nil, sx, xzp, w, sw, tensor.Scalar(int8(zw)), ys, yzp, bias}
		got := runNode(t, nd, 2, consts, in...)
		restore := cpu.Force(min(cpu.HWLevel, cpu.AVX2))
		want := runNode(t, nd, 2, consts, in...)
		restore()
		for i := range want.U8() {
			if got.U8()[i] != want.U8()[i] {
				t.Fatalf("case %d (wide %v): byte %d = %d, float route %d", ci, wide, i, got.U8()[i], want.U8()[i])
			}
		}
		// And the int32 reference, requantized as ONNX Runtime does.
		acc := qdwRef(tc.x, zx, tc.wq, zw, tc.bias, tc.g)
		rq, err := newRequant(0.02, sw.F32(), ys, yzp, 24, Activation{Kind: "Relu"})
		if err != nil {
			t.Fatal(err)
		}
		ref := make([]uint8, len(acc))
		for i, a := range acc {
			ch := i / (tc.g.OH * tc.g.OW)
			rq.apply(ch, []int32{a}, ref, i)
		}
		for i := range ref {
			if got.U8()[i] != ref[i] {
				t.Fatalf("case %d (wide %v): byte %d = %d, int32 reference %d", ci, wide, i, got.U8()[i], ref[i])
			}
		}
	}
}

// BenchmarkQDepthwise8: MobileNetV2's int8 depthwise layers (uint8, 3x3,
// pads 1, Relu6-like clip), the float route (qdepthwise) against the
// native byte kernel (qdepthwise8), threads 1 and 2. Compare the routes
// side by side with -count and benchstat: the machine is shared.
func BenchmarkQDepthwise8(b *testing.B) {
	shapes := []struct{ c, hw, stride int }{
		{32, 112, 1}, {96, 112, 2}, {144, 56, 1}, {144, 56, 2}, {192, 28, 1},
		{192, 28, 2}, {384, 14, 1}, {576, 14, 1}, {576, 14, 2}, {960, 7, 1},
	}
	for _, s := range shapes {
		r := rand.New(rand.NewPCG(5, 6))
		st := int64(s.stride)
		tc := newQdw8Case(b, r, 1, s.c, s.hw, s.hw, 3, 3, []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1), graph.IntsAttr("strides", st, st)},
			tensor.Uint8, tensor.Uint8, 128, 0, true, Activation{Kind: "Clip", Min: 0, Max: 6}, false)
		out := tensor.New(tensor.Uint8, tc.g.OutShape(4)...)
		q := qdwNative(tc.x, 128, tc.w8, tc.bias, tc.g, tc.rq)
		for _, threads := range []int{1, 2} {
			name := fmt.Sprintf("%dx%dx%d_s%d/threads=%d", s.c, s.hw, s.hw, s.stride, threads)
			b.Run(name+"/route=float", func(b *testing.B) {
				for b.Loop() {
					qdepthwise(threads, tc.x, 128, tc.wf, tc.bias, tc.g, tc.rq, out)
				}
			})
			if q == nil {
				continue
			}
			b.Run(name+"/route=q8", func(b *testing.B) {
				for b.Loop() {
					qdepthwise8(threads, q, tc.x, tc.g, out)
				}
			})
		}
	}
}
