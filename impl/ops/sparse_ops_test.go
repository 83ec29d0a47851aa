package ops_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/impl/ops"
	rt "github.com/frugal-ml/frugal/impl/runtime"
	"github.com/frugal-ml/frugal/tensor"
)

// The sparse implementations (sparse_ops.go) against the dense kernels of
// the same ops, built from the registry side by side.

// spImpl returns the registered implementation named name.
func spImpl(t testing.TB, domain, op, name string) ops.Impl {
	t.Helper()
	for _, im := range ops.Registered() {
		if im.Domain == domain && im.Op == op && im.Name == name {
			return im
		}
	}
	t.Fatalf("no implementation %s of %s:%s", name, domain, op)
	return ops.Impl{}
}

// spNode builds a node whose inputs are named in0, in1, ...
func spNode(domain, op string, nin int, attrs ...*graph.Attr) *graph.Node {
	n := &graph.Node{OpType: op, Domain: domain, Name: op, Attrs: map[string]*graph.Attr{}, Outputs: []string{"y"}}
	for i := 0; i < nin; i++ {
		n.Inputs = append(n.Inputs, fmt.Sprintf("in%d", i))
	}
	for _, a := range attrs {
		n.SetAttr(a)
	}
	return n
}

// spInfo is the BuildInfo of n with the given inputs; consts[i] marks the
// constant ones.
func spInfo(n *graph.Node, in []*tensor.Tensor, consts ...int) *ops.BuildInfo {
	b := &ops.BuildInfo{Node: n, Opset: 17, Const: make([]*tensor.Tensor, len(in)), InTypes: make([]graph.Type, len(in))}
	for i, x := range in {
		if x != nil {
			b.InTypes[i] = graph.Type{Kind: graph.KindTensor, DType: x.DType}
		}
	}
	for _, i := range consts {
		b.Const[i] = in[i]
	}
	return b
}

func spRun(t testing.TB, k ops.Kernel, in []*tensor.Tensor) *tensor.Tensor {
	t.Helper()
	vals := make([]ops.Value, len(in))
	for i, x := range in {
		if x != nil {
			vals[i] = x
		}
	}
	out, err := k.Run(&ops.Ctx{Context: context.Background(), Threads: 2}, vals)
	if err != nil {
		t.Fatal(err)
	}
	return out[0].(*tensor.Tensor)
}

func spBuild(t testing.TB, im ops.Impl, b *ops.BuildInfo) ops.Kernel {
	t.Helper()
	k, err := im.Build(b)
	if err != nil {
		t.Fatalf("%s: %v", im.Name, err)
	}
	return k
}

func spRand(rng *rand.Rand, shape ...int) *tensor.Tensor {
	x := tensor.New(tensor.Float32, shape...)
	for i := range x.F32() {
		x.F32()[i] = float32(rng.NormFloat64())
	}
	return x
}

// pruneRand zeroes each value with probability 1-density.
func pruneRand(rng *rand.Rand, w []float32, density float64) {
	for i := range w {
		if rng.Float64() >= density {
			w[i] = 0
		}
	}
}

// pruneBlocks zeroes whole r x c blocks of the m x k matrix W with
// W[i][j] = w[i*ld+j] (w[j*ld+i] when trans), keeping each with
// probability density.
func pruneBlocks(rng *rand.Rand, w []float32, m, k, ld int, trans bool, r, c int, density float64) {
	for bi := 0; bi < m; bi += r {
		for bj := 0; bj < k; bj += c {
			if rng.Float64() < density {
				continue
			}
			for i := bi; i < min(bi+r, m); i++ {
				for j := bj; j < min(bj+c, k); j++ {
					if trans {
						w[j*ld+i] = 0
					} else {
						w[i*ld+j] = 0
					}
				}
			}
		}
	}
}

func spClose(t testing.TB, what string, got, want *tensor.Tensor) {
	t.Helper()
	if !tensor.SameShape(got.Shape, want.Shape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, want.Shape)
	}
	g, w := got.F32(), want.F32()
	for i := range w {
		if d := math.Abs(float64(g[i] - w[i])); d > 1e-4*(1+math.Abs(float64(w[i]))) || math.IsNaN(float64(g[i])) != math.IsNaN(float64(w[i])) {
			t.Fatalf("%s: element %d = %v, want %v", what, i, g[i], w[i])
		}
	}
}

// noSmallBatch makes Gemm and MatMul run sparse at every batch.
func noSmallBatch(t testing.TB) {
	old := ops.SparseSmallBatch
	ops.SparseSmallBatch = nil
	t.Cleanup(func() { ops.SparseSmallBatch = old })
}

func TestSparseGemm(t *testing.T) {
	noSmallBatch(t)
	rng := rand.New(rand.NewPCG(3, 4))
	dense := spImpl(t, "", "Gemm", "gemm")
	type shape struct{ m, k, n int }
	shapes := []shape{{1, 37, 53}, {5, 64, 96}, {3, 130, 71}, {64, 256, 129}, {17, 96, 200}, {130, 300, 257}}
	type cCase struct {
		name  string
		shape func(m, n int) []int
		konst bool
	}
	cs := []cCase{
		{"none", nil, false},
		{"rowN", func(m, n int) []int { return []int{n} }, true},
		{"row1N", func(m, n int) []int { return []int{1, n} }, false},
		{"colM1", func(m, n int) []int { return []int{m, 1} }, true},
		{"full", func(m, n int) []int { return []int{m, n} }, false},
		{"scalar", func(m, n int) []int { return []int{} }, true},
	}
	acts := [][]*graph.Attr{nil, {graph.AttrS("activation", "Relu")},
		{graph.AttrS("activation", "Clip"), graph.AttrF("activation_min", -0.5), graph.AttrF("activation_max", 0.75)}}
	for si, s := range shapes {
		for _, tb := range []int64{0, 1} {
			for _, blocky := range []bool{false, true} {
				ta := int64(si % 2)
				c := cs[(si+int(tb))%len(cs)]
				if blocky {
					c = cs[(si+int(tb)+3)%len(cs)]
				}
				act := acts[(si+int(tb))%len(acts)]
				alpha, beta := float32(1), float32(1)
				if si%3 == 1 {
					alpha, beta = 0.5, -2
				}
				a := spRand(rng, s.m, s.k)
				if ta != 0 {
					a = spRand(rng, s.k, s.m)
				}
				b := spRand(rng, s.k, s.n)
				if tb != 0 {
					b = spRand(rng, s.n, s.k)
				}
				want := "sparse-csr"
				if blocky {
					ld := b.Shape[1]
					pruneBlocks(rng, b.F32(), s.n, s.k, ld, tb == 0, 8, 1, 0.25)
					want = "sparse-bsr8x1"
				} else {
					pruneRand(rng, b.F32(), 0.1)
				}
				in := []*tensor.Tensor{a, b}
				consts := []int{1}
				if c.shape != nil {
					in = append(in, spRand(rng, c.shape(s.m, s.n)...))
					if c.konst {
						consts = append(consts, 2)
					}
				}
				attrs := append([]*graph.Attr{graph.AttrI("transA", ta), graph.AttrI("transB", tb),
					graph.AttrF("alpha", alpha), graph.AttrF("beta", beta)}, act...)
				n := spNode("", "Gemm", len(in), attrs...)
				name := fmt.Sprintf("%dx%dx%d/ta=%d/tb=%d/C=%s/%s", s.m, s.k, s.n, ta, tb, c.name, want)
				info := spInfo(n, in, consts...)
				k, im, err := ops.Build(info)
				if err != nil {
					t.Fatal(err)
				}
				if im.Name != want {
					t.Fatalf("%s: selected %s", name, im.Name)
				}
				got := spRun(t, k, in)
				ref := spRun(t, spBuild(t, dense, spInfo(n, in, consts...)), in)
				spClose(t, name, got, ref)
			}
		}
	}
}

func TestSparseMatMul(t *testing.T) {
	noSmallBatch(t)
	rng := rand.New(rand.NewPCG(5, 6))
	dense := spImpl(t, "", "MatMul", "gemm")
	for _, ash := range [][]int{{45}, {1, 45}, {7, 45}, {2, 3, 45}, {65, 45}} {
		for _, blocky := range []bool{false, true} {
			b := spRand(rng, 45, 83)
			want := "sparse-csr"
			if blocky {
				pruneBlocks(rng, b.F32(), 83, 45, 83, true, 4, 4, 0.2) // W = B^T: 4x4 blocks along K
				want = "sparse-bsr"
			} else {
				pruneRand(rng, b.F32(), 0.08)
			}
			a := spRand(rng, ash...)
			in := []*tensor.Tensor{a, b}
			n := spNode("", "MatMul", 2)
			k, im, err := ops.Build(spInfo(n, in, 1))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(im.Name, want) {
				t.Fatalf("%v: selected %s, want %s", ash, im.Name, want)
			}
			spClose(t, fmt.Sprintf("%v/%s", ash, im.Name), spRun(t, k, in), spRun(t, spBuild(t, dense, spInfo(n, in, 1)), in))
		}
	}
}

type convCase struct {
	n, cin, h, w, cout, kh, kw, stride, pad, dil, group int
	rank3, bias, fused                                  bool
	act                                                 string
}

func (c convCase) String() string {
	return fmt.Sprintf("n%d_c%d_%dx%d_o%d_k%dx%d_s%d_p%d_d%d_g%d_r3=%v_b=%v_z=%v_%s", c.n, c.cin, c.h, c.w, c.cout, c.kh, c.kw, c.stride, c.pad, c.dil, c.group, c.rank3, c.bias, c.fused, c.act)
}

func convInputs(rng *rand.Rand, c convCase, prune func(w *tensor.Tensor)) (*graph.Node, []*tensor.Tensor, []int) {
	attrs := []*graph.Attr{graph.AttrI("group", int64(c.group))}
	var x, w *tensor.Tensor
	if c.rank3 {
		x = spRand(rng, c.n, c.cin, c.w)
		w = spRand(rng, c.cout, c.cin/c.group, c.kw)
		attrs = append(attrs, graph.IntsAttr("strides", int64(c.stride)), graph.IntsAttr("pads", int64(c.pad), int64(c.pad)),
			graph.IntsAttr("dilations", int64(c.dil)))
	} else {
		x = spRand(rng, c.n, c.cin, c.h, c.w)
		w = spRand(rng, c.cout, c.cin/c.group, c.kh, c.kw)
		s, p, d := int64(c.stride), int64(c.pad), int64(c.dil)
		attrs = append(attrs, graph.IntsAttr("strides", s, s), graph.IntsAttr("pads", p, p, p, p),
			graph.IntsAttr("dilations", d, d))
	}
	switch c.act {
	case "Relu":
		attrs = append(attrs, graph.AttrS("activation", "Relu"))
	case "Clip":
		attrs = append(attrs, graph.AttrS("activation", "Clip"), graph.AttrF("activation_min", -1), graph.AttrF("activation_max", 0.5))
	}
	prune(w)
	in := []*tensor.Tensor{x, w, nil}
	consts := []int{1}
	if c.bias {
		in[2] = spRand(rng, c.cout)
		consts = append(consts, 2)
	}
	op, dom := "Conv", ""
	if c.fused {
		op, dom = "FusedConv", ops.FrugalDomain
		// the output shape: run the dense conv once
		oh := (c.h+2*c.pad-c.dil*(c.kh-1)-1)/c.stride + 1
		ow := (c.w+2*c.pad-c.dil*(c.kw-1)-1)/c.stride + 1
		if c.rank3 {
			in = append(in, spRand(rng, c.n, c.cout, ow))
		} else {
			in = append(in, spRand(rng, c.n, c.cout, oh, ow))
		}
	}
	return spNode(dom, op, len(in), attrs...), in, consts
}

func TestSparseConv(t *testing.T) {
	cases := []convCase{
		{n: 1, cin: 3, h: 11, w: 13, cout: 16, kh: 3, kw: 3, stride: 1, pad: 1, dil: 1, group: 1, bias: true, act: "Relu"},
		{n: 2, cin: 16, h: 9, w: 7, cout: 33, kh: 3, kw: 3, stride: 1, pad: 1, dil: 1, group: 1, act: "Clip"},
		{n: 1, cin: 24, h: 7, w: 5, cout: 40, kh: 1, kw: 1, stride: 1, pad: 0, dil: 1, group: 1, bias: true},
		{n: 2, cin: 12, h: 10, w: 9, cout: 24, kh: 3, kw: 3, stride: 2, pad: 1, dil: 1, group: 3, bias: true, act: "Relu"},
		{n: 1, cin: 16, h: 12, w: 12, cout: 16, kh: 3, kw: 3, stride: 1, pad: 2, dil: 2, group: 1, bias: true},
		{n: 1, cin: 8, h: 9, w: 10, cout: 16, kh: 3, kw: 2, stride: 1, pad: 0, dil: 1, group: 2, act: "Relu"},
		{n: 3, cin: 8, h: 1, w: 31, cout: 20, kh: 1, kw: 5, stride: 2, pad: 2, dil: 1, group: 2, rank3: true, bias: true, act: "Relu"},
		{n: 2, cin: 6, h: 1, w: 29, cout: 16, kh: 1, kw: 3, stride: 1, pad: 1, dil: 1, group: 1, rank3: true, bias: true},
		{n: 2, cin: 32, h: 8, w: 8, cout: 32, kh: 3, kw: 3, stride: 1, pad: 1, dil: 1, group: 1, bias: true, fused: true, act: "Relu"},
		{n: 1, cin: 32, h: 6, w: 6, cout: 48, kh: 1, kw: 1, stride: 1, pad: 0, dil: 1, group: 1, fused: true},
		{n: 1, cin: 16, h: 7, w: 9, cout: 24, kh: 3, kw: 3, stride: 2, pad: 1, dil: 1, group: 1, bias: true, fused: true, act: "Clip"},
	}
	for _, im2col := range []bool{false, true} { // stride-1 Convs: direct, or through im2col
		ops.SparseConvIm2col = im2col
		rng := rand.New(rand.NewPCG(7, 8))
		for _, c := range cases {
			for _, pruning := range []string{"csr", "bsr8x1", "bsr4x4"} {
				opg, kk := c.cout/c.group, c.cin/c.group*c.kh*c.kw
				want := "sparse-" + pruning
				prune := func(w *tensor.Tensor) { pruneRand(rng, w.F32(), 0.1) }
				switch pruning {
				case "bsr8x1":
					prune = func(w *tensor.Tensor) {
						for g := 0; g < c.group; g++ {
							pruneBlocks(rng, w.F32()[g*opg*kk:], opg, kk, kk, false, 8, 1, 0.2)
						}
					}
				case "bsr4x4":
					if kk%4 != 0 {
						continue
					}
					prune = func(w *tensor.Tensor) {
						for g := 0; g < c.group; g++ {
							pruneBlocks(rng, w.F32()[g*opg*kk:], opg, kk, kk, false, 4, 4, 0.2)
						}
					}
				}
				n, in, consts := convInputs(rng, c, prune)
				k, im, err := ops.Build(spInfo(n, in, consts...))
				if err != nil {
					t.Fatal(err)
				}
				// Blocks of 8 rows when Cout/G is not a multiple of 8, and
				// 4x4 blocks (as sparse as 4x1 ones), may pick another BSR.
				if im.Name != want && !(pruning != "csr" && (pruning == "bsr4x4" || opg%8 != 0) && strings.HasPrefix(im.Name, "sparse-bsr")) {
					t.Fatalf("%v %s: selected %s", c, pruning, im.Name)
				}
				denseName := "im2col-gemm"
				if c.fused {
					denseName = "im2col-gemm-sum"
				}
				dense := spBuild(t, spImpl(t, n.Domain, n.OpType, denseName), spInfo(n, in, consts...))
				what := fmt.Sprintf("%v/%s/im2col=%v", c, im.Name, im2col)
				spClose(t, what, spRun(t, k, in), spRun(t, dense, in))
				// A second input size reuses the kernel (the direct path
				// re-indexes its weights for it).
				if !c.rank3 {
					x2 := spRand(rng, c.n, c.cin, c.h+3, c.w+1)
					in2 := append([]*tensor.Tensor{x2}, in[1:]...)
					if c.fused {
						in2[3] = spRun(t, spBuild(t, spImpl(t, "", "Conv", "im2col-gemm"), spInfo(spNode("", "Conv", 3, nodeAttrs(n)...), in2[:3], consts...)), in2[:3])
					}
					spClose(t, what+"/resized", spRun(t, k, in2), spRun(t, dense, in2))
				}
			}
		}
	}
	ops.SparseConvIm2col = false
}

func nodeAttrs(n *graph.Node) []*graph.Attr {
	var out []*graph.Attr
	for _, a := range n.Attrs {
		out = append(out, a)
	}
	return out
}

// Dense weights, weights at 60% unstructured density, depthwise Conv and
// disabled implementations stay on the dense kernels.
func TestSparseSelection(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	gemmWith := func(prune func(w []float32)) *ops.BuildInfo {
		b := spRand(rng, 256, 128)
		prune(b.F32())
		in := []*tensor.Tensor{spRand(rng, 8, 256), b}
		return spInfo(spNode("", "Gemm", 2), in, 1)
	}
	convWith := func(prune func(w []float32)) *ops.BuildInfo {
		c := convCase{n: 1, cin: 64, h: 8, w: 8, cout: 64, kh: 3, kw: 3, stride: 1, pad: 1, dil: 1, group: 1}
		n, in, consts := convInputs(rng, c, func(w *tensor.Tensor) { prune(w.F32()) })
		return spInfo(n, in, consts...)
	}
	sel := func(b *ops.BuildInfo) string {
		im, err := ops.Select(b)
		if err != nil {
			t.Fatal(err)
		}
		return im.Name
	}
	for _, tc := range []struct {
		name  string
		prune func(w []float32)
		want  string // "" = the dense kernel
	}{
		{"dense", func(w []float32) {}, ""},
		{"60%", func(w []float32) { pruneRand(rng, w, 0.6) }, ""},
		{"35%", func(w []float32) { pruneRand(rng, w, 0.35) }, ""},
		{"20%", func(w []float32) { pruneRand(rng, w, 0.2) }, "sparse-csr"},
		{"10%", func(w []float32) { pruneRand(rng, w, 0.1) }, "sparse-csr"},
		{"blocks8x1 at 50%", func(w []float32) { pruneBlocks(rng, w, 64, 576, 576, false, 8, 1, 0.5) }, "sparse-bsr8x1"},
		{"blocks4x1 at 30%", func(w []float32) { pruneBlocks(rng, w, 64, 576, 576, false, 4, 1, 0.3) }, "sparse-bsr4x1"},
		{"blocks8x1 at 75%", func(w []float32) { pruneBlocks(rng, w, 64, 576, 576, false, 8, 1, 0.75) }, ""},
	} {
		// The dense kernel for this 3x3 stride-1 conv is winograd or im2col.
		if got, want := sel(convWith(tc.prune)), tc.want; got != want && !(want == "" && (got == "im2col-gemm" || got == "winograd")) {
			t.Errorf("Conv %s: selected %s, want %q", tc.name, got, want)
		}
		if strings.HasPrefix(tc.name, "blocks") {
			continue // the prune functions above assume the Conv's layout
		}
		if got, want := sel(gemmWith(tc.prune)), tc.want; got != want && !(want == "" && got == "gemm") {
			t.Errorf("Gemm %s: selected %s, want %q", tc.name, got, want)
		}
	}
	// Depthwise convolution keeps its direct kernel.
	c := convCase{n: 1, cin: 32, h: 8, w: 8, cout: 32, kh: 3, kw: 3, stride: 1, pad: 1, dil: 1, group: 32}
	n, in, consts := convInputs(rng, c, func(w *tensor.Tensor) { pruneRand(rng, w.F32(), 0.1) })
	if got := sel(spInfo(n, in, consts...)); got != "im2col-gemm" {
		t.Errorf("depthwise: selected %s", got)
	}
	// A non-constant weight is not analysed.
	b := spRand(rng, 64, 64)
	pruneRand(rng, b.F32(), 0.05)
	if got := sel(spInfo(spNode("", "MatMul", 2), []*tensor.Tensor{spRand(rng, 4, 64), b})); got != "gemm" {
		t.Errorf("MatMul with a variable weight: selected %s", got)
	}
	// Disabling the best format moves to the next one; "sparse" disables all.
	info := func() *ops.BuildInfo { return gemmWith(func(w []float32) { pruneRand(rng, w, 0.1) }) }
	ops.Disabled["sparse-csr"] = true
	got := sel(info())
	delete(ops.Disabled, "sparse-csr")
	if got == "sparse-csr" || !strings.HasPrefix(got, "sparse-bsr") {
		t.Errorf("with sparse-csr disabled: selected %s, want a BSR format", got)
	}
	ops.Disabled[ops.SparseDisableAll] = true
	got = sel(info())
	delete(ops.Disabled, ops.SparseDisableAll)
	if got != "gemm" {
		t.Errorf("with sparse disabled: selected %s", got)
	}
}

// A session picks the sparse kernels on its own, reports them in Kernels,
// and FRUGAL_DISABLE_IMPL=sparse turns them off with the same results.
func TestSparseSession(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	g := graph.New("pruned")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 2, 16, 10, 10)}
	w1 := spRand(rng, 32, 16, 3, 3)
	pruneRand(rng, w1.F32(), 0.1)
	g.AddInitializer("w1", w1)
	g.AddInitializer("b1", spRand(rng, 32))
	g.AddNode("Conv", []string{"x", "w1", "b1"}, []string{"c1"}, graph.IntsAttr("pads", 1, 1, 1, 1))
	g.AddNode("Relu", []string{"c1"}, []string{"r1"}) // fused into the Conv
	g.AddNode("Flatten", []string{"r1"}, []string{"f"})
	w2 := spRand(rng, 3200, 64)
	pruneBlocks(rng, w2.F32(), 64, 3200, 64, true, 8, 1, 0.3)
	g.AddInitializer("w2", w2)
	g.AddInitializer("b2", spRand(rng, 64))
	g.AddNode("Gemm", []string{"f", "w2", "b2"}, []string{"g"})
	g.AddNode("Relu", []string{"g"}, []string{"r2"})
	w3 := spRand(rng, 64, 10)
	pruneRand(rng, w3.F32(), 0.1)
	g.AddInitializer("w3", w3)
	g.AddNode("MatMul", []string{"r2", "w3"}, []string{"y"})
	g.Outputs = []graph.ValueInfo{{Name: "y"}}
	m := &graph.Model{Graph: g, IRVersion: 8, Opsets: []graph.OpsetImport{{Domain: "", Version: 17}}}
	x := spRand(rng, 2, 16, 10, 10)
	run := func() ([]string, *tensor.Tensor) {
		s, err := rt.NewSession(m, rt.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Run(context.Background(), map[string]ops.Value{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		return s.Kernels(), out["y"].(*tensor.Tensor)
	}
	noSmallBatch(t) // batch 2: make the MatMul run sparse too
	kern, got := run()
	joined := strings.Join(kern, "\n")
	for _, want := range []string{"Conv", "Gemm", "MatMul"} {
		found := false
		for _, k := range kern {
			found = found || (strings.Contains(k, want) && strings.Contains(k, ": sparse-"))
		}
		if !found {
			t.Errorf("no sparse kernel for %s in\n%s", want, joined)
		}
	}
	if !strings.Contains(joined, "sparse-bsr8x1") || !strings.Contains(joined, "sparse-csr") {
		t.Errorf("want sparse-csr and sparse-bsr8x1 in\n%s", joined)
	}
	t.Setenv("FRUGAL_DISABLE_IMPL", "sparse")
	defer delete(ops.Disabled, ops.SparseDisableAll)
	kernD, want := run()
	if s := strings.Join(kernD, "\n"); strings.Contains(s, "sparse-") {
		t.Errorf("FRUGAL_DISABLE_IMPL=sparse still selects sparse kernels:\n%s", s)
	}
	spClose(t, "session", got, want)
}

// Small batches the sparse kernel would lose on, and inputs it does not
// handle, run the dense kernel from inside the sparse implementation.
func TestSparseFallback(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	b := spRand(rng, 512, 256)
	pruneRand(rng, b.F32(), 0.285) // CSR estimated at ~1.16x: dense below batch 8
	for _, op := range []string{"Gemm", "MatMul"} {
		n := spNode("", op, 2)
		for _, m := range []int{1, 3, 9} {
			a := spRand(rng, m, 512)
			in := []*tensor.Tensor{a, b}
			k, im, err := ops.Build(spInfo(n, in, 1))
			if err != nil {
				t.Fatal(err)
			}
			if im.Name != "sparse-csr" {
				t.Fatalf("%s: selected %s", op, im.Name)
			}
			dense := spBuild(t, spImpl(t, "", op, "gemm"), spInfo(n, in, 1))
			spClose(t, fmt.Sprintf("%s batch %d", op, m), spRun(t, k, in), spRun(t, dense, in))
		}
	}
	// A Gemm input of the wrong rank gets the dense kernel's error.
	n := spNode("", "Gemm", 2)
	k, _, err := ops.Build(spInfo(n, []*tensor.Tensor{spRand(rng, 2, 512), b}, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Run(&ops.Ctx{Threads: 1}, []ops.Value{spRand(rng, 2, 2, 512), b}); err == nil {
		t.Error("Gemm with a rank-3 A: no error")
	}
	// A FusedConv addend that broadcasts runs the dense kernel.
	c := convCase{n: 1, cin: 16, h: 6, w: 6, cout: 16, kh: 3, kw: 3, stride: 1, pad: 1, dil: 1, group: 1, bias: true, fused: true, act: "Relu"}
	cn, in, consts := convInputs(rng, c, func(w *tensor.Tensor) { pruneRand(rng, w.F32(), 0.1) })
	in[3] = spRand(rng, 1, 16, 1, 1)
	ck, im, err := ops.Build(spInfo(cn, in, consts...))
	if err != nil || im.Name != "sparse-csr" {
		t.Fatalf("%v %v", im, err)
	}
	dense := spBuild(t, spImpl(t, ops.FrugalDomain, "FusedConv", "im2col-gemm-sum"), spInfo(cn, in, consts...))
	spClose(t, "FusedConv broadcast", spRun(t, ck, in), spRun(t, dense, in))
}

// One built kernel serves concurrent Runs (run with -race).
func TestSparseConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	b := spRand(rng, 300, 200)
	pruneRand(rng, b.F32(), 0.1)
	n := spNode("", "Gemm", 2, graph.AttrS("activation", "Relu"))
	a := spRand(rng, 33, 300)
	k, im, err := ops.Build(spInfo(n, []*tensor.Tensor{a, b}, 1))
	if err != nil || im.Name != "sparse-csr" {
		t.Fatalf("%v %v", im, err)
	}
	want := spRun(t, k, []*tensor.Tensor{a, b})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				got := spRun(t, k, []*tensor.Tensor{a, b})
				for e, v := range got.F32() {
					if v != want.F32()[e] {
						t.Errorf("concurrent run differs at %d", e)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// ---------------------------------------------------------------------------
// Speed: sparse against dense through the registry (Build + Run).

type spBench struct {
	name          string
	sparse, dense ops.Kernel
	in            []*tensor.Tensor
}

// spBenches builds the benchmark cases: a 90%-pruned 1024x1024 Gemm at
// batch 64 and 1, and a 90%-pruned 3x3 Conv 256->256 at 14x14.
func spBenches(t testing.TB) []spBench {
	rng := rand.New(rand.NewPCG(15, 16))
	var out []spBench
	b := spRand(rng, 1024, 1024)
	pruneRand(rng, b.F32(), 0.1)
	bias := spRand(rng, 1024)
	for _, batch := range []int{64, 1} {
		n := spNode("", "Gemm", 3, graph.AttrI("transB", 1), graph.AttrS("activation", "Relu"))
		in := []*tensor.Tensor{spRand(rng, batch, 1024), b, bias}
		info := spInfo(n, in, 1, 2)
		sk, im, err := ops.Build(info)
		if err != nil {
			t.Fatal(err)
		}
		dk := spBuild(t, spImpl(t, "", "Gemm", "gemm"), spInfo(n, in, 1, 2))
		out = append(out, spBench{fmt.Sprintf("gemm1024x1024_batch%d_90pct/%s", batch, im.Name), sk, dk, in})
	}
	c := convCase{n: 1, cin: 256, h: 14, w: 14, cout: 256, kh: 3, kw: 3, stride: 1, pad: 1, dil: 1, group: 1, bias: true, act: "Relu"}
	n, in, consts := convInputs(rng, c, func(w *tensor.Tensor) { pruneRand(rng, w.F32(), 0.1) })
	sk, im, err := ops.Build(spInfo(n, in, consts...))
	if err != nil {
		t.Fatal(err)
	}
	dk := spBuild(t, spImpl(t, "", "Conv", "im2col-gemm"), spInfo(n, in, consts...))
	out = append(out, spBench{"conv3x3_256to256_14x14_90pct/" + im.Name, sk, dk, in})
	// block-pruned (8x1 at 25%) variants
	wb := spRand(rng, 256, 256, 3, 3)
	pruneBlocks(rng, wb.F32(), 256, 2304, 2304, false, 8, 1, 0.25)
	in2 := append([]*tensor.Tensor{}, in...)
	in2[1] = wb
	sk, im, err = ops.Build(spInfo(n, in2, consts...))
	if err != nil {
		t.Fatal(err)
	}
	dk = spBuild(t, spImpl(t, "", "Conv", "im2col-gemm"), spInfo(n, in2, consts...))
	out = append(out, spBench{"conv3x3_256to256_14x14_blocks8x1_25pct/" + im.Name, sk, dk, in2})
	return out
}

// BenchmarkSparseOps: each case's sparse kernel beside the dense one in
// one run; compare ns/op (go test -bench SparseOps -run ^$ ./impl/ops).
func BenchmarkSparseOps(b *testing.B) {
	for _, c := range spBenches(b) {
		b.Run(c.name+"/sparse", func(b *testing.B) {
			for b.Loop() {
				spRun(b, c.sparse, c.in)
			}
		})
		b.Run(c.name+"/dense", func(b *testing.B) {
			for b.Loop() {
				spRun(b, c.dense, c.in)
			}
		})
	}
}

func spThreadCPU() time.Duration {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0) // CLOCK_THREAD_CPUTIME_ID
	return time.Duration(ts.Nano())
}

// spCPUTime is the CPU time per call of f on one locked thread (best of 3
// rounds).
func spCPUTime(reps int, f func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f()
	best := time.Duration(math.MaxInt64)
	for r := 0; r < 3; r++ {
		t0 := spThreadCPU()
		for i := 0; i < reps; i++ {
			f()
		}
		best = min(best, (spThreadCPU()-t0)/time.Duration(reps))
	}
	return best
}

// TestSparseOpsSpeedup prints single-thread CPU times of the benchmark
// cases, sparse against dense (FRUGAL_RATES=1 go test -run SparseOpsSpeedup -v).
func TestSparseOpsSpeedup(t *testing.T) {
	if os.Getenv("FRUGAL_RATES") == "" {
		t.Skip("set FRUGAL_RATES=1")
	}
	gemm.SetThreads(1)
	defer gemm.SetThreads(0)
	for _, c := range spBenches(t) {
		ctx := &ops.Ctx{Context: context.Background(), Threads: 1}
		vals := []ops.Value{c.in[0], c.in[1], c.in[2]}
		run := func(k ops.Kernel) func() {
			return func() {
				if _, err := k.Run(ctx, vals); err != nil {
					t.Fatal(err)
				}
			}
		}
		ts := spCPUTime(20, run(c.sparse))
		td := spCPUTime(20, run(c.dense))
		fmt.Printf("%-58s sparse %9v  dense %9v  speed-up %.2fx\n", c.name, ts, td, float64(td)/float64(ts))
	}
}

// TestSparseOpsCrossover prints single-thread speed-ups of each sparse
// implementation over the dense one, through the registry, at several
// densities (FRUGAL_RATES=1 go test -run SparseOpsCrossover -v): the
// measurements behind the selection thresholds.
func TestSparseOpsCrossover(t *testing.T) {
	if os.Getenv("FRUGAL_RATES") == "" {
		t.Skip("set FRUGAL_RATES=1")
	}
	gemm.SetThreads(1)
	defer gemm.SetThreads(0)
	old := ops.SparseSmallBatch
	ops.SparseSmallBatch = nil
	defer func() { ops.SparseSmallBatch = old }()
	rng := rand.New(rand.NewPCG(19, 20))
	ctx := &ops.Ctx{Context: context.Background(), Threads: 1}
	timeIt := func(k ops.Kernel, in []*tensor.Tensor) time.Duration {
		vals := make([]ops.Value, len(in))
		for i, x := range in {
			if x != nil {
				vals[i] = x
			}
		}
		return spCPUTime(10, func() {
			if _, err := k.Run(ctx, vals); err != nil {
				t.Fatal(err)
			}
		})
	}
	type format struct {
		name string
		r, c int
		fr   []float64
	}
	formats := []format{
		{"sparse-csr", 0, 0, []float64{0.1, 0.2, 0.3, 0.4}},
		{"sparse-bsr8x1", 8, 1, []float64{0.3, 0.5, 0.6, 0.8}},
		{"sparse-bsr4x1", 4, 1, []float64{0.3, 0.5, 0.6}},
		{"sparse-bsr4x4", 4, 4, []float64{0.3, 0.5, 0.6}},
	}
	prune := func(w []float32, m, k int, f format, d float64) {
		if f.r == 0 {
			pruneRand(rng, w, d)
		} else {
			pruneBlocks(rng, w, m, k, k, false, f.r, f.c, d)
		}
	}
	for _, batch := range []int{1, 8, 64} {
		n := spNode("", "Gemm", 3, graph.AttrI("transB", 1))
		a := spRand(rng, batch, 1024)
		bias := spRand(rng, 1024)
		b := spRand(rng, 1024, 1024)
		in := []*tensor.Tensor{a, b, bias}
		td := timeIt(spBuild(t, spImpl(t, "", "Gemm", "gemm"), spInfo(n, in, 1, 2)), in)
		for _, f := range formats {
			line := fmt.Sprintf("Gemm 1024x1024 batch %2d (dense %8v) %-14s", batch, td, f.name)
			for _, d := range f.fr {
				w := spRand(rng, 1024, 1024)
				prune(w.F32(), 1024, 1024, f, d)
				in := []*tensor.Tensor{a, w, bias}
				ts := timeIt(spBuild(t, spImpl(t, "", "Gemm", f.name), spInfo(n, in, 1, 2)), in)
				line += fmt.Sprintf("  %.2f: %.2fx", d, float64(td)/float64(ts))
			}
			fmt.Println(line)
		}
	}
	for _, c := range []convCase{
		{n: 1, cin: 256, h: 14, w: 14, cout: 256, kh: 3, kw: 3, stride: 1, pad: 1, dil: 1, group: 1, bias: true, act: "Relu"},
		{n: 1, cin: 64, h: 56, w: 56, cout: 64, kh: 3, kw: 3, stride: 1, pad: 1, dil: 1, group: 1, bias: true, act: "Relu"},
		{n: 1, cin: 128, h: 28, w: 28, cout: 256, kh: 3, kw: 3, stride: 2, pad: 1, dil: 1, group: 1, bias: true, act: "Relu"},
		{n: 1, cin: 256, h: 14, w: 14, cout: 1024, kh: 1, kw: 1, stride: 1, pad: 0, dil: 1, group: 1, bias: true},
	} {
		n, in, consts := convInputs(rng, c, func(*tensor.Tensor) {})
		td := timeIt(spBuild(t, spImpl(t, "", "Conv", "im2col-gemm"), spInfo(n, in, consts...)), in)
		kk := c.cin * c.kh * c.kw
		for _, f := range formats {
			line := fmt.Sprintf("Conv %dx%d %d->%d @%dx%d s%d (dense %8v) %-14s", c.kh, c.kw, c.cin, c.cout, c.h, c.w, c.stride, td, f.name)
			for _, d := range f.fr {
				w := spRand(rng, c.cout, c.cin, c.kh, c.kw)
				prune(w.F32(), c.cout, kk, f, d)
				in2 := append([]*tensor.Tensor{}, in...)
				in2[1] = w
				ts := timeIt(spBuild(t, spImpl(t, "", "Conv", f.name), spInfo(n, in2, consts...)), in2)
				line += fmt.Sprintf("  %.2f: %.2fx", d, float64(td)/float64(ts))
			}
			fmt.Println(line)
		}
	}
}
