package ops

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ref"
	"github.com/frugal-ml/frugal/tensor"
)

func randT(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = float32(r.NormFloat64())
	}
	return t
}

// run builds and runs a single-node kernel.
func run(t *testing.T, n *graph.Node, opset int64, in ...Value) []Value {
	t.Helper()
	info := &BuildInfo{Node: n, Opset: opset, Const: make([]*tensor.Tensor, len(in)), InTypes: make([]graph.Type, len(in))}
	for i, v := range in {
		if tt, ok := v.(*tensor.Tensor); ok {
			info.InTypes[i] = graph.Type{DType: tt.DType}
		}
	}
	k, _, err := Build(info)
	if err != nil {
		t.Fatal(err)
	}
	out, err := k.Run(&Ctx{Context: context.Background(), Threads: 2}, in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func node(op string, nin int, attrs ...*graph.Attr) *graph.Node {
	n := &graph.Node{OpType: op, Name: op, Attrs: map[string]*graph.Attr{}}
	for i := 0; i < nin; i++ {
		n.Inputs = append(n.Inputs, string(rune('a'+i)))
	}
	n.Outputs = []string{"y"}
	for _, a := range attrs {
		n.SetAttr(a)
	}
	return n
}

func closeF32(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d]: got %g want %g", what, i, got[i], want[i])
		}
	}
}

func TestConvMatchesDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	type cs struct{ n, cin, h, w, cout, k, s, pad, dil, group int }
	for _, c := range []cs{
		{1, 1, 5, 5, 1, 3, 1, 0, 1, 1}, {2, 3, 7, 6, 4, 3, 2, 1, 1, 1}, {1, 4, 8, 8, 4, 3, 1, 1, 1, 4}, {2, 6, 9, 8, 6, 3, 2, 1, 1, 6}, {1, 3, 7, 7, 3, 3, 1, 2, 2, 3}, {1, 5, 4, 9, 5, 5, 3, 2, 1, 5},
		{1, 6, 9, 9, 4, 1, 1, 0, 1, 2}, {3, 2, 6, 7, 5, 2, 1, 0, 2, 1}, {1, 1, 28, 28, 6, 5, 1, 2, 1, 1},
	} {
		x := randT(r, c.n, c.cin, c.h, c.w)
		w := randT(r, c.cout, c.cin/c.group, c.k, c.k)
		b := randT(r, c.cout)
		p := int64(c.pad)
		n := node("Conv", 3, graph.IntsAttr("strides", int64(c.s), int64(c.s)), graph.IntsAttr("pads", p, p, p, p),
			graph.IntsAttr("dilations", int64(c.dil), int64(c.dil)), graph.AttrI("group", int64(c.group)))
		got := run(t, n, 17, x, w, b)[0].(*tensor.Tensor)
		pp := ref.Conv2D{KH: c.k, KW: c.k, SH: c.s, SW: c.s, PT: c.pad, PL: c.pad, PB: c.pad, PR: c.pad, DH: c.dil, DW: c.dil}
		oh, ow := pp.Out(c.h, c.w)
		if !tensor.SameShape(got.Shape, []int{c.n, c.cout, oh, ow}) {
			t.Fatalf("%+v: shape %v", c, got.Shape)
		}
		want := make([]float32, got.Len())
		ref.ConvDirect(x.F32(), c.n, c.cin, c.h, c.w, w.F32(), c.cout, c.group, b.F32(), pp, want)
		closeF32(t, "conv", got.F32(), want, 1e-4)
	}
}

func TestGemmAttributes(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	a, b, c := randT(r, 4, 3), randT(r, 5, 4), randT(r, 5)
	// Y = 0.5 * A^T B^T + 2 * C, A [4,3] -> [3,4], B [5,4] -> [4,5]
	n := node("Gemm", 3, graph.AttrI("transA", 1), graph.AttrI("transB", 1), graph.AttrF("alpha", 0.5), graph.AttrF("beta", 2))
	y := run(t, n, 13, a, b, c)[0].(*tensor.Tensor)
	want := make([]float32, 15)
	for i := 0; i < 3; i++ {
		for j := 0; j < 5; j++ {
			var s float32
			for p := 0; p < 4; p++ {
				s += a.F32()[p*3+i] * b.F32()[j*4+p]
			}
			want[i*5+j] = 0.5*s + 2*c.F32()[j]
		}
	}
	closeF32(t, "gemm", y.F32(), want, 1e-5)
}

func TestMatMulBroadcast(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	a, b := randT(r, 2, 1, 3, 4), randT(r, 3, 4, 2)
	y := run(t, node("MatMul", 2), 13, a, b)[0].(*tensor.Tensor)
	if !tensor.SameShape(y.Shape, []int{2, 3, 3, 2}) {
		t.Fatalf("shape %v", y.Shape)
	}
	// spot-check element [1,2,1,0] = a[1,0,1,:] . b[2,:,0]
	var s float32
	for p := 0; p < 4; p++ {
		s += a.F32()[(1*3+1)*4+p] * b.F32()[(2*4+p)*2+0]
	}
	if got := y.F32()[((1*3+2)*3+1)*2+0]; math.Abs(float64(got-s)) > 1e-5 {
		t.Fatalf("got %g want %g", got, s)
	}
	v := run(t, node("MatMul", 2), 13, randT(r, 4), randT(r, 4, 3))[0].(*tensor.Tensor)
	if !tensor.SameShape(v.Shape, []int{3}) {
		t.Fatalf("vector matmul shape %v", v.Shape)
	}
}

func TestPools(t *testing.T) {
	x := tensor.MustFromSlice([]float32{
		1, 2, 3, 4,
		5, 6, 7, 8,
		9, 10, 11, 12,
		13, 14, 15, 16}, 1, 1, 4, 4)
	mp := run(t, node("MaxPool", 1, graph.IntsAttr("kernel_shape", 2, 2), graph.IntsAttr("strides", 2, 2)), 12, x)[0].(*tensor.Tensor)
	closeF32(t, "maxpool", mp.F32(), []float32{6, 8, 14, 16}, 0)
	ap := run(t, node("AveragePool", 1, graph.IntsAttr("kernel_shape", 3, 3), graph.IntsAttr("pads", 1, 1, 1, 1), graph.IntsAttr("strides", 2, 2)), 12, x)[0].(*tensor.Tensor)
	// top-left window covers 1,2,5,6 (padding excluded)
	if ap.F32()[0] != 3.5 {
		t.Fatalf("avgpool %v", ap.F32())
	}
	apc := run(t, node("AveragePool", 1, graph.IntsAttr("kernel_shape", 3, 3), graph.IntsAttr("pads", 1, 1, 1, 1), graph.IntsAttr("strides", 2, 2), graph.AttrI("count_include_pad", 1)), 12, x)[0].(*tensor.Tensor)
	if apc.F32()[0] != 14.0/9 {
		t.Fatalf("avgpool count_include_pad %v", apc.F32())
	}
	gp := run(t, node("GlobalAveragePool", 1), 12, x)[0].(*tensor.Tensor)
	if gp.F32()[0] != 8.5 || !tensor.SameShape(gp.Shape, []int{1, 1, 1, 1}) {
		t.Fatalf("gap %v", gp)
	}
}

func TestBatchNormAndSoftmax(t *testing.T) {
	x := tensor.MustFromSlice([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 1, 2, 2, 2)
	sc := tensor.MustFromSlice([]float32{2, 1}, 2)
	bi := tensor.MustFromSlice([]float32{0, 1}, 2)
	mu := tensor.MustFromSlice([]float32{1, 5}, 2)
	va := tensor.MustFromSlice([]float32{4, 1}, 2)
	y := run(t, node("BatchNormalization", 5, graph.AttrF("epsilon", 0)), 15, x, sc, bi, mu, va)[0].(*tensor.Tensor)
	closeF32(t, "bn", y.F32(), []float32{0, 1, 2, 3, 1, 2, 3, 4}, 1e-6)

	s := tensor.MustFromSlice([]float32{1, 2, 3, 1, 1, 1}, 2, 3)
	sm := run(t, node("Softmax", 1), 13, s)[0].(*tensor.Tensor)
	e := []float64{math.Exp(1), math.Exp(2), math.Exp(3)}
	tot := e[0] + e[1] + e[2]
	closeF32(t, "softmax", sm.F32(), []float32{float32(e[0] / tot), float32(e[1] / tot), float32(e[2] / tot), 1. / 3, 1. / 3, 1. / 3}, 1e-6)
	ls := run(t, node("LogSoftmax", 1, graph.AttrI("axis", 0)), 13, s)[0].(*tensor.Tensor)
	// along axis 0: column 0 is (1,1) -> log(0.5)
	if math.Abs(float64(ls.F32()[0])-math.Log(0.5)) > 1e-6 {
		t.Fatalf("logsoftmax axis 0: %v", ls.F32())
	}
}

func TestShapeOpsAndArith(t *testing.T) {
	x := tensor.MustFromSlice([]float32{1, 2, 3, 4, 5, 6}, 1, 2, 3)
	f := run(t, node("Flatten", 1, graph.AttrI("axis", 2)), 13, x)[0].(*tensor.Tensor)
	if !tensor.SameShape(f.Shape, []int{2, 3}) {
		t.Fatalf("flatten %v", f.Shape)
	}
	rs := run(t, node("Reshape", 2), 14, x, tensor.MustFromSlice([]int64{3, -1}, 2))[0].(*tensor.Tensor)
	if !tensor.SameShape(rs.Shape, []int{3, 2}) {
		t.Fatalf("reshape %v", rs.Shape)
	}
	d := run(t, node("Div", 2), 14, tensor.MustFromSlice([]int32{7, -7}, 2), tensor.MustFromSlice([]int32{2}, 1))[0].(*tensor.Tensor)
	if d.I32()[0] != 3 || d.I32()[1] != -3 {
		t.Fatalf("int div truncates toward zero: %v", d.I32())
	}
	sub := run(t, node("Sub", 2), 14, x, tensor.MustFromSlice([]float32{1, 2, 3}, 3))[0].(*tensor.Tensor)
	closeF32(t, "sub", sub.F32(), []float32{0, 0, 0, 3, 3, 3}, 0)
	rl := run(t, node("Relu", 1), 14, tensor.MustFromSlice([]float32{-1, 0, 2}, 3))[0].(*tensor.Tensor)
	closeF32(t, "relu", rl.F32(), []float32{0, 0, 2}, 0)
}

func TestQuantizeDequantize(t *testing.T) {
	x := tensor.MustFromSlice([]float32{-1, 0, 0.5, 1.5, 2.5, 1000}, 6)
	q := run(t, node("QuantizeLinear", 3), 13, x, tensor.Scalar(float32(0.5)), tensor.Scalar(uint8(10)))[0].(*tensor.Tensor)
	// -2+10, 0+10, 1+10, 3+10, round_half_even(5)=5 -> 15, saturate 255
	want := []uint8{8, 10, 11, 13, 15, 255}
	for i, v := range q.U8() {
		if v != want[i] {
			t.Fatalf("quantize %v want %v", q.U8(), want)
		}
	}
	dq := run(t, node("DequantizeLinear", 3), 13, q, tensor.Scalar(float32(0.5)), tensor.Scalar(uint8(10)))[0].(*tensor.Tensor)
	closeF32(t, "dequantize", dq.F32(), []float32{-1, 0, 0.5, 1.5, 2.5, 122.5}, 0)
	// Per-axis int8.
	w := tensor.MustFromSlice([]float32{1, -1, 10, -10}, 2, 2)
	qa := run(t, node("QuantizeLinear", 3, graph.AttrI("axis", 0)), 13, w, tensor.MustFromSlice([]float32{1, 10}, 2), tensor.MustFromSlice([]int8{0, 0}, 2))[0].(*tensor.Tensor)
	if qa.I8()[0] != 1 || qa.I8()[1] != -1 || qa.I8()[2] != 1 || qa.I8()[3] != -1 {
		t.Fatalf("per-axis %v", qa.I8())
	}
}

// QLinearConv must equal dequantize -> float conv -> quantize.
func TestQLinearConvMatchesFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	xq := tensor.New(tensor.Uint8, 2, 3, 6, 6)
	for i := range xq.U8() {
		xq.U8()[i] = uint8(r.IntN(256))
	}
	wq := tensor.New(tensor.Int8, 4, 3, 3, 3)
	for i := range wq.I8() {
		wq.I8()[i] = int8(r.IntN(255) - 127)
	}
	sx, zx := float32(0.02), uint8(128)
	sw := []float32{0.01, 0.02, 0.005, 0.03}
	sy, zy := float32(0.5), uint8(100)
	bias := tensor.MustFromSlice([]int32{100, -200, 0, 50}, 4)
	n := node("QLinearConv", 9, graph.IntsAttr("pads", 1, 1, 1, 1))
	y := run(t, n, 13, xq, tensor.Scalar(sx), tensor.Scalar(zx), wq, tensor.MustFromSlice(sw, 4), tensor.Scalar(int8(0)), tensor.Scalar(sy), tensor.Scalar(zy), bias)[0].(*tensor.Tensor)
	xf := make([]float32, xq.Len())
	for i, v := range xq.U8() {
		xf[i] = (float32(v) - float32(zx)) * sx
	}
	wf := make([]float32, wq.Len())
	for i, v := range wq.I8() {
		wf[i] = float32(v) * sw[i/27]
	}
	bf := make([]float32, 4)
	for i, v := range bias.I32() {
		bf[i] = float32(v) * sx * sw[i]
	}
	out := make([]float32, y.Len())
	ref.ConvDirect(xf, 2, 3, 6, 6, wf, 4, 1, bf, ref.Conv2D{KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, PB: 1, PR: 1, DH: 1, DW: 1}, out)
	off := 0
	for i, v := range out {
		want := math.Max(0, math.Min(255, math.RoundToEven(float64(v/sy))+float64(zy)))
		if d := math.Abs(float64(y.U8()[i]) - want); d > 1 {
			t.Fatalf("element %d: got %d want %g", i, y.U8()[i], want)
		} else if d == 1 {
			off++
		}
	}
	if off > y.Len()/100 {
		t.Fatalf("%d of %d elements off by one (float rounding ties should be rare)", off, y.Len())
	}
}

// The int8 GEMM path (constant weights) must equal the reference kernel
// exactly, for conv (with groups, padding, stride) and QGemm, all output kinds.
func TestQFastMatchesRef(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	u8 := func(shape ...int) *tensor.Tensor {
		x := tensor.New(tensor.Uint8, shape...)
		for i := range x.U8() {
			x.U8()[i] = uint8(r.IntN(256))
		}
		return x
	}
	i8 := func(shape ...int) *tensor.Tensor {
		x := tensor.New(tensor.Int8, shape...)
		for i := range x.I8() {
			x.I8()[i] = int8(r.IntN(255) - 127)
		}
		return x
	}
	type tc struct {
		gemm                  bool
		x, w                  *tensor.Tensor
		attrs                 []*graph.Attr
		floatOut, relu, noBia bool
		zw                    int8 // weight zero point
	}
	cases := []tc{
		{x: u8(2, 4, 7, 6), w: i8(6, 2, 3, 3), attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1), graph.AttrI("group", 2), graph.IntsAttr("strides", 2, 1)}},
		{x: u8(1, 3, 5, 5), w: i8(4, 3, 1, 1), relu: true},
		{x: u8(1, 1, 9, 9), w: i8(5, 1, 5, 5), floatOut: true, attrs: []*graph.Attr{graph.IntsAttr("pads", 2, 2, 2, 2)}},
		// Wide outputs take the per-thread column-chunk path.
		{x: u8(1, 8, 20, 23), w: i8(16, 8, 3, 3), relu: true, attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1)}},
		{x: u8(1, 6, 33, 31), w: i8(10, 3, 3, 3), attrs: []*graph.Attr{graph.IntsAttr("pads", 0, 1, 2, 1), graph.AttrI("group", 2), graph.IntsAttr("strides", 2, 1)}},
		{x: u8(2, 64, 30, 30), w: i8(20, 64, 3, 3), attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1)}},
		// Depthwise: the exact float-kernel path.
		{x: u8(1, 16, 20, 21), w: i8(16, 1, 3, 3), relu: true, attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1), graph.AttrI("group", 16)}},
		{x: u8(2, 8, 17, 17), w: i8(8, 1, 3, 3), attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 0, 1, 2), graph.AttrI("group", 8), graph.IntsAttr("strides", 2, 2)}},
		{x: u8(1, 4, 9, 9), w: i8(4, 1, 5, 5), floatOut: true, attrs: []*graph.Attr{graph.IntsAttr("pads", 2, 2, 2, 2), graph.AttrI("group", 4)}},
		// Group 1 with a window or a stride: the phase-plane path.
		{x: u8(1, 3, 23, 21), w: i8(8, 3, 7, 7), relu: true, attrs: []*graph.Attr{graph.IntsAttr("pads", 3, 3, 3, 3), graph.IntsAttr("strides", 2, 2)}},
		{x: u8(2, 16, 14, 14), w: i8(12, 16, 1, 1), attrs: []*graph.Attr{graph.IntsAttr("strides", 2, 2)}},
		{x: u8(1, 8, 15, 16), w: i8(8, 8, 3, 3), attrs: []*graph.Attr{graph.IntsAttr("pads", 2, 2, 2, 2), graph.IntsAttr("dilations", 2, 2)}},
		{x: u8(1, 5, 12, 13), w: i8(6, 5, 3, 2), attrs: []*graph.Attr{graph.IntsAttr("pads", 0, 1, 1, 0), graph.IntsAttr("strides", 3, 2)}},
		{x: u8(1, 12, 8, 9), w: i8(7, 12, 3, 3), zw: 3, attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1)}},
		{x: i8(1, 6, 11, 10), w: i8(9, 6, 3, 3), relu: true, attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1), graph.IntsAttr("strides", 2, 2)}},
		{x: u8(1, 32, 7, 7), w: i8(40, 32, 3, 3), attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1)}},
		// Output widths 2 and 13: the GEMM on the output positions.
		{x: u8(1, 8, 3, 3), w: i8(20, 8, 3, 3), attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1), graph.IntsAttr("strides", 2, 2)}},
		{x: i8(1, 16, 26, 26), w: i8(24, 16, 3, 3), relu: true, attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1), graph.IntsAttr("strides", 2, 2)}},
		{x: u8(1, 12, 13, 13), w: i8(33, 12, 3, 3), zw: -2, attrs: []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1)}},
		{gemm: true, x: u8(3, 37), w: i8(11, 37), relu: true},
		{gemm: true, x: u8(5, 16), w: i8(7, 16), floatOut: true, noBia: true},
		// x [..., K]: a MatMul's rows (fuse-qdq turns MatMul with constant weights into QGemm).
		{gemm: true, x: u8(2, 3, 37), w: i8(11, 37), noBia: true},
		{gemm: true, x: u8(1, 32, 128), w: i8(40, 128), floatOut: true, noBia: true},
		{gemm: true, x: i8(4, 1, 2, 24), w: i8(9, 24)},
		{gemm: true, x: u8(24), w: i8(9, 24), relu: true},
		{gemm: true, x: u8(2, 3, 37), w: i8(11, 37), floatOut: true, relu: true},
	}
	for ci, c := range cases {
		cout := c.w.Shape[0]
		sw := make([]float32, cout)
		bias := tensor.New(tensor.Int32, cout)
		for i := range sw {
			sw[i] = 0.001 + 0.01*r.Float32()
			bias.I32()[i] = int32(r.IntN(2000) - 1000)
		}
		var zx Value = tensor.Scalar(uint8(120))
		if c.x.DType == tensor.Int8 {
			zx = tensor.Scalar(int8(-5))
		}
		in := []Value{c.x, tensor.Scalar(float32(0.03)), zx, c.w, tensor.MustFromSlice(sw, cout), tensor.Scalar(c.zw),
			tensor.Scalar(float32(0.4)), tensor.Scalar(uint8(90)), bias}
		op, dom := "QLinearConv", ""
		if c.gemm {
			op, dom = "QGemm", FrugalDomain
		}
		n := node(op, 9, c.attrs...)
		n.Domain = dom
		if c.relu {
			n.SetAttr(graph.AttrS("activation", "Relu"))
		}
		if c.floatOut {
			n.Inputs[6], n.Inputs[7] = "", ""
			in[6], in[7] = nil, nil
		}
		if c.noBia {
			n.Inputs[8] = ""
			in[8] = nil
		}
		outs := map[string]*tensor.Tensor{}
		for _, impl := range []string{"int8-ref", "int8-gemm"} {
			info := &BuildInfo{Node: n, Opset: 13, Const: make([]*tensor.Tensor, 9), InTypes: make([]graph.Type, 9)}
			for i, v := range in {
				if tt, ok := v.(*tensor.Tensor); ok && i != 0 {
					info.Const[i] = tt
				}
			}
			if impl == "int8-ref" {
				Disabled["int8-gemm"] = true
			}
			k, im, err := Build(info)
			delete(Disabled, "int8-gemm")
			if err != nil {
				t.Fatal(err)
			}
			if im.Name != impl {
				t.Fatalf("case %d: selected %s, want %s", ci, im.Name, impl)
			}
			y, err := k.Run(&Ctx{Threads: 2}, in)
			if err != nil {
				t.Fatalf("case %d %s: %v", ci, impl, err)
			}
			outs[impl] = y[0].(*tensor.Tensor)
		}
		a, b := outs["int8-ref"], outs["int8-gemm"]
		if want := append(append([]int(nil), c.x.Shape[:c.x.Rank()-1]...), cout); c.gemm && !tensor.SameShape(a.Shape, want) {
			t.Fatalf("case %d: QGemm output shape %v, want %v", ci, a.Shape, want)
		}
		if a.DType != b.DType || !tensor.SameShape(a.Shape, b.Shape) {
			t.Fatalf("case %d: %s%v vs %s%v", ci, a.DType, a.Shape, b.DType, b.Shape)
		}
		for i := 0; i < a.Len(); i++ {
			if a.Float64At(i) != b.Float64At(i) {
				t.Fatalf("case %d element %d: ref %g, gemm %g", ci, i, a.Float64At(i), b.Float64At(i))
			}
		}
	}
}
