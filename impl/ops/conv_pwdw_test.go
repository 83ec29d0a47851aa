package ops

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func pwdwRand(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = float32(r.NormFloat64())
	}
	return t
}

// runNode builds n with the given constant inputs (nil: runtime input) and
// runs it on threads goroutines.
func runNode(t *testing.T, n *graph.Node, threads int, consts []*tensor.Tensor, in ...Value) *tensor.Tensor {
	t.Helper()
	info := &BuildInfo{Node: n, Opset: 17, Const: consts, InTypes: make([]graph.Type, len(in))}
	k, _, err := Build(info)
	if err != nil {
		t.Fatalf("%s: %v", n.OpType, err)
	}
	out, err := k.Run(&Ctx{Context: context.Background(), Threads: threads}, in)
	if err != nil {
		t.Fatalf("%s: %v", n.OpType, err)
	}
	return out[0].(*tensor.Tensor)
}

func setAct(n *graph.Node, prefix, kind string) {
	switch kind {
	case "Relu":
		n.SetAttr(graph.AttrS(prefix+"activation", "Relu"))
	case "Clip":
		n.SetAttr(graph.AttrS(prefix+"activation", "Clip"))
		n.SetAttr(graph.AttrF(prefix+"activation_min", 0))
		n.SetAttr(graph.AttrF(prefix+"activation_max", 6))
	}
}

// FusedPwDw computes what the 1x1 Conv followed by the depthwise Conv
// compute, for strides 1 and 2, odd and even sizes, with and without
// biases and activations, at batch 1 and 2, on 1 and 2 threads, with strips
// of one row, a few rows and the automatic height.
func TestFusedPwDwMatchesConvs(t *testing.T) {
	defer func(r, tg int) { pwdwRows, pwdwTarget = r, tg }(pwdwRows, pwdwTarget)
	type cs struct {
		n, cin, c, h, w, stride int
		bias                    bool
		actA, actB              string
	}
	cases := []cs{
		{1, 3, 8, 9, 9, 1, true, "Clip", ""},
		{1, 3, 8, 9, 9, 2, true, "Clip", ""},
		{1, 4, 12, 10, 8, 2, false, "", ""},
		{2, 5, 6, 11, 13, 1, true, "Relu", "Relu"},
		{2, 5, 6, 12, 7, 2, false, "Relu", "Clip"},
		{1, 16, 24, 20, 20, 2, true, "Clip", "Clip"},
		{1, 8, 16, 1, 5, 1, true, "", "Relu"},
		{1, 8, 16, 2, 1, 2, true, "Clip", ""},
		{2, 16, 40, 17, 37, 1, true, "Clip", ""},
	}
	for ci, c := range cases {
		for _, rows := range []int{1, 3, 0} {
			for _, threads := range []int{1, 2} {
				name := fmt.Sprintf("case%d/rows%d/t%d", ci, rows, threads)
				t.Run(name, func(t *testing.T) {
					pwdwRows = rows
					pwdwTarget = 256 << 10
					if rows == 0 {
						pwdwTarget = c.c * c.w * 4 * 5 // several strips even on small images
					}
					r := rand.New(rand.NewPCG(uint64(ci), 7))
					x := pwdwRand(r, c.n, c.cin, c.h, c.w)
					wa := pwdwRand(r, c.c, c.cin, 1, 1)
					wb := pwdwRand(r, c.c, 1, 3, 3)
					var ba, bb *tensor.Tensor
					if c.bias {
						ba, bb = pwdwRand(r, c.c), pwdwRand(r, c.c)
					}
					a := &graph.Node{OpType: "Conv", Attrs: map[string]*graph.Attr{}, Inputs: []string{"x", "wa", "ba"}, Outputs: []string{"e"}}
					setAct(a, "", c.actA)
					b := &graph.Node{OpType: "Conv", Attrs: map[string]*graph.Attr{}, Inputs: []string{"e", "wb", "bb"}, Outputs: []string{"y"}}
					b.SetAttr(graph.AttrI("group", int64(c.c)))
					b.SetAttr(graph.IntsAttr("strides", int64(c.stride), int64(c.stride)))
					b.SetAttr(graph.IntsAttr("pads", 1, 1, 1, 1))
					setAct(b, "", c.actB)
					e := runNode(t, a, 1, []*tensor.Tensor{nil, wa, ba}, x, wa, ba)
					want := runNode(t, b, 1, []*tensor.Tensor{nil, wb, bb}, e, wb, bb)

					f := &graph.Node{OpType: "FusedPwDw", Domain: FrugalDomain, Attrs: map[string]*graph.Attr{},
						Inputs: []string{"x", "wa", "ba", "wb", "bb"}, Outputs: []string{"y"}}
					setAct(f, "pw_", c.actA)
					setAct(f, "", c.actB)
					f.SetAttr(graph.IntsAttr("dw_strides", int64(c.stride), int64(c.stride)))
					f.SetAttr(graph.IntsAttr("dw_pads", 1, 1, 1, 1))
					var bav, bbv Value
					if ba != nil {
						bav, bbv = ba, bb
					}
					got := runNode(t, f, threads, []*tensor.Tensor{nil, wa, ba, wb, bb}, x, wa, bav, wb, bbv)
					if !tensor.SameShape(got.Shape, want.Shape) {
						t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
					}
					for i, w := range want.F32() {
						if d := math.Abs(float64(got.F32()[i] - w)); d > 1e-4*(1+math.Abs(float64(w))) {
							t.Fatalf("element %d = %v, want %v", i, got.F32()[i], w)
						}
					}
				})
			}
		}
	}
}

// Weights that are runtime inputs (not constants) are packed per call.
func TestFusedPwDwRuntimeWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x, wa, wb := pwdwRand(r, 1, 4, 10, 10), pwdwRand(r, 16, 4, 1, 1), pwdwRand(r, 16, 1, 3, 3)
	f := &graph.Node{OpType: "FusedPwDw", Domain: FrugalDomain, Attrs: map[string]*graph.Attr{},
		Inputs: []string{"x", "wa", "", "wb", ""}, Outputs: []string{"y"}}
	f.SetAttr(graph.IntsAttr("dw_strides", 2, 2))
	f.SetAttr(graph.IntsAttr("dw_pads", 1, 1, 1, 1))
	got := runNode(t, f, 2, make([]*tensor.Tensor, 5), x, wa, nil, wb, nil)
	a := &graph.Node{OpType: "Conv", Attrs: map[string]*graph.Attr{}, Inputs: []string{"x", "wa"}, Outputs: []string{"e"}}
	b := &graph.Node{OpType: "Conv", Attrs: map[string]*graph.Attr{}, Inputs: []string{"e", "wb"}, Outputs: []string{"y"}}
	b.SetAttr(graph.AttrI("group", 16))
	b.SetAttr(graph.IntsAttr("strides", 2, 2))
	b.SetAttr(graph.IntsAttr("pads", 1, 1, 1, 1))
	want := runNode(t, b, 1, make([]*tensor.Tensor, 2), runNode(t, a, 1, make([]*tensor.Tensor, 2), x, wa), wb)
	for i, w := range want.F32() {
		if d := math.Abs(float64(got.F32()[i] - w)); d > 1e-4*(1+math.Abs(float64(w))) {
			t.Fatalf("element %d = %v, want %v", i, got.F32()[i], w)
		}
	}
}

// BenchmarkPwDw times MobileNetV2's fused blocks against the two unfused
// kernels (2 threads): go test ./impl/ops -run - -bench PwDw.
func BenchmarkPwDw(b *testing.B) {
	for _, c := range []struct {
		name                 string
		cin, c, h, w, stride int
	}{
		{"f2_16x96x112_s2", 16, 96, 112, 112, 2},
		{"f3_24x144x56_s1", 24, 144, 56, 56, 1},
		{"f4_24x144x56_s2", 24, 144, 56, 56, 2},
		{"f5_32x192x28_s1", 32, 192, 28, 28, 1},
	} {
		r := rand.New(rand.NewPCG(1, 2))
		x := pwdwRand(r, 1, c.cin, c.h, c.w)
		wa, ba := pwdwRand(r, c.c, c.cin, 1, 1), pwdwRand(r, c.c)
		wb, bb := pwdwRand(r, c.c, 1, 3, 3), pwdwRand(r, c.c)
		a := &graph.Node{OpType: "Conv", Attrs: map[string]*graph.Attr{}, Inputs: []string{"x", "wa", "ba"}, Outputs: []string{"e"}}
		setAct(a, "", "Clip")
		d := &graph.Node{OpType: "Conv", Attrs: map[string]*graph.Attr{}, Inputs: []string{"e", "wb", "bb"}, Outputs: []string{"y"}}
		d.SetAttr(graph.AttrI("group", int64(c.c)))
		d.SetAttr(graph.IntsAttr("strides", int64(c.stride), int64(c.stride)))
		d.SetAttr(graph.IntsAttr("pads", 1, 1, 1, 1))
		setAct(d, "", "Clip")
		f := &graph.Node{OpType: "FusedPwDw", Domain: FrugalDomain, Attrs: map[string]*graph.Attr{},
			Inputs: []string{"x", "wa", "ba", "wb", "bb"}, Outputs: []string{"y"}}
		setAct(f, "pw_", "Clip")
		setAct(f, "", "Clip")
		f.SetAttr(graph.IntsAttr("dw_strides", int64(c.stride), int64(c.stride)))
		f.SetAttr(graph.IntsAttr("dw_pads", 1, 1, 1, 1))
		build := func(n *graph.Node, consts ...*tensor.Tensor) Kernel {
			k, _, err := Build(&BuildInfo{Node: n, Opset: 17, Const: consts, InTypes: make([]graph.Type, len(consts))})
			if err != nil {
				b.Fatal(err)
			}
			return k
		}
		ka, kd, kf := build(a, nil, wa, ba), build(d, nil, wb, bb), build(f, nil, wa, ba, wb, bb)
		ctx := &Ctx{Context: context.Background(), Threads: 2, Arena: NewArena()}
		b.Run(c.name+"/unfused", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				e, _ := ka.Run(ctx, []Value{x, wa, ba})
				y, _ := kd.Run(ctx, []Value{e[0], wb, bb})
				ctx.Release(e[0])
				ctx.Release(y[0])
			}
		})
		for _, kb := range []int{128, 256, 512, 1024} {
			b.Run(fmt.Sprintf("%s/fused%dK", c.name, kb), func(b *testing.B) {
				defer func(v int) { pwdwTarget = v }(pwdwTarget)
				pwdwTarget = kb << 10
				for i := 0; i < b.N; i++ {
					y, _ := kf.Run(ctx, []Value{x, wa, ba, wb, bb})
					ctx.Release(y[0])
				}
			})
		}
	}
}
