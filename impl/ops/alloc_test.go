package ops

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func base(t *tensor.Tensor) uintptr {
	lo, _, _ := dataRange(t.Data)
	return lo
}

func arenaCtx(slots int) (*Ctx, *Arena) {
	a := NewArena()
	a.Begin(slots)
	return &Ctx{Context: context.Background(), Threads: 1, Arena: a}, a
}

// Without an arena every helper allocates fresh zeroed memory.
func TestCtxWithoutArena(t *testing.T) {
	for _, c := range []*Ctx{nil, {Threads: 1}} {
		x := c.Empty(tensor.Float32, 4, 4)
		y := c.NewTensor(tensor.Int64, 3)
		z := c.Output(tensor.Float32, []int{4, 4}, x)
		s := c.Float32s(10)
		if x.Len() != 16 || y.Len() != 3 || z.Len() != 16 || len(s) != 10 || base(x) == base(z) {
			t.Fatal("wrong tensors without an arena")
		}
		for _, v := range append(x.F32(), s...) {
			if v != 0 {
				t.Fatal("not zeroed")
			}
		}
		c.Release(x)
	}
}

// A block returns to the free list when the last value referencing it dies,
// views (whole or a sub-slice) included, and comes back zeroed from
// NewTensor.
func TestArenaRecyclesAfterLastReference(t *testing.T) {
	ctx, a := arenaCtx(3)
	a.StartStep(false)
	x := ctx.Empty(tensor.Float32, 32, 32)
	for i := range x.F32() {
		x.F32()[i] = 7
	}
	a.Bind(0, x)
	a.EndStep()
	a.StartStep(false)
	view, _ := x.Reshaped(1024)
	a.Bind(1, view)
	tail := &tensor.Tensor{DType: tensor.Float32, Shape: []int{24}, Data: x.F32()[1000:]}
	a.Bind(2, tail)
	a.EndStep()
	a.Unbind(0)
	a.Unbind(1)
	a.StartStep(false)
	if y := ctx.Empty(tensor.Float32, 32, 32); base(y) == base(x) {
		t.Fatal("recycled while a sub-slice view is live")
	}
	a.EndStep() // the unbound y is scratch: recycled here
	a.Unbind(2)
	a.StartStep(false)
	got := map[uintptr]bool{}
	for i := 0; i < 2; i++ {
		z := ctx.NewTensor(tensor.Float32, 32, 32)
		got[base(z)] = true
		for _, v := range z.F32() {
			if v != 0 {
				t.Fatal("NewTensor returned a dirty buffer")
			}
		}
	}
	if !got[base(x)] {
		t.Fatal("x's block was not recycled after its last view died")
	}
	a.EndStep()
	if st := a.Finish(); st.Reused < 2 || st.Disowned != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Scratch not referenced by an output is recycled at the end of the step;
// Release recycles it at once.
func TestArenaScratch(t *testing.T) {
	ctx, a := arenaCtx(1)
	a.StartStep(false)
	s1 := ctx.Float32s(4096)
	ctx.Release(s1)
	s2 := ctx.Float32s(4096)
	if unsafe.SliceData(s1) != unsafe.SliceData(s2) {
		t.Fatal("Release did not recycle scratch within the step")
	}
	s3 := ctx.Float32s(4096)
	if unsafe.SliceData(s3) == unsafe.SliceData(s2) {
		t.Fatal("live scratch handed out twice")
	}
	out := ctx.Empty(tensor.Float32, 4096)
	a.Bind(0, out)
	ctx.Release(out) // bound: must be ignored
	a.EndStep()
	a.StartStep(false)
	seen := map[*float32]bool{}
	for i := 0; i < 3; i++ {
		seen[unsafe.SliceData(ctx.Float32s(4096))] = true
	}
	if !seen[unsafe.SliceData(s2)] || !seen[unsafe.SliceData(s3)] || seen[&out.F32()[0]] {
		t.Fatal("scratch not recycled at the end of the step, or an output was")
	}
}

// Output reuses a donated input only when nothing else references it, at
// most once, and only for a candidate the kernel names.
func TestArenaDonation(t *testing.T) {
	ctx, a := arenaCtx(4)
	a.StartStep(false)
	x := ctx.Empty(tensor.Float32, 512)
	y := ctx.Empty(tensor.Float32, 512)
	a.Bind(0, x)
	a.Bind(1, y)
	yv, _ := y.Reshaped(2, 256)
	a.Bind(2, yv) // y's storage has a second reference
	a.EndStep()

	a.StartStep(false)
	a.Donate(0, x)
	a.Donate(0, x) // donating twice changes nothing
	a.Donate(1, y) // refused: yv shares it
	if o := ctx.Output(tensor.Float32, []int{512}, y); base(o) == base(y) {
		t.Fatal("reused a buffer another value references")
	}
	if o := ctx.Output(tensor.Int32, []int{512}, x); base(o) == base(x) {
		t.Fatal("reused across dtypes")
	}
	if o := ctx.Output(tensor.Float32, []int{512}); base(o) == base(x) {
		t.Fatal("reused a donor the kernel did not name")
	}
	o1 := ctx.Output(tensor.Float32, []int{16, 32}, x)
	o2 := ctx.Output(tensor.Float32, []int{512}, x)
	if base(o1) != base(x) || base(o2) == base(x) || !tensor.SameShape(o1.Shape, []int{16, 32}) {
		t.Fatal("donation: want exactly one output over x")
	}
	a.Bind(3, o1)
	a.EndStep()
	a.Unbind(0)
	// x's block is still referenced by o1 (slot 3).
	a.StartStep(false)
	if z := ctx.Empty(tensor.Float32, 512); base(z) == base(x) {
		t.Fatal("the in-place output's block was recycled")
	}
	a.EndStep()
	if st := a.Finish(); st.InPlace != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Finish lets blocks still referenced (graph outputs) leave the arena: the
// next Run never hands them out.
func TestArenaFinishDisownsOutputs(t *testing.T) {
	ctx, a := arenaCtx(2)
	a.StartStep(false)
	out := ctx.Empty(tensor.Float32, 1000)
	tmp := ctx.Empty(tensor.Float32, 1000)
	a.Bind(0, out)
	a.Bind(1, tmp)
	a.EndStep()
	a.Unbind(1)
	st := a.Finish()
	if st.Disowned != 1 || st.Held != 4032 { // 4000 bytes rounded up to 64
		t.Fatalf("stats %+v", st)
	}
	a.Begin(2)
	a.StartStep(false)
	p, q := ctx.Empty(tensor.Float32, 1000), ctx.Empty(tensor.Float32, 1000)
	if base(p) == base(out) || base(q) == base(out) || (base(p) != base(tmp) && base(q) != base(tmp)) {
		t.Fatal("want tmp's block recycled and out's never")
	}
}

// Sequences and optionals are looked into; a value the arena cannot inspect
// stops recycling for the rest of the Run.
func TestArenaContainers(t *testing.T) {
	ctx, a := arenaCtx(3)
	a.StartStep(false)
	t1, t2 := ctx.Empty(tensor.Float32, 300), ctx.Empty(tensor.Int64, 200)
	a.Bind(0, &tensor.Sequence{ElemType: tensor.Float32, Tensors: []*tensor.Tensor{t1, t2}})
	a.Bind(1, &tensor.Optional{Value: t1})
	a.EndStep()
	a.Unbind(0)
	a.StartStep(false)
	if x := ctx.Empty(tensor.Float32, 300); base(x) == base(t1) {
		t.Fatal("recycled a block the optional still holds")
	}
	a.EndStep()
	a.StartStep(false)
	got := ctx.Empty(tensor.Int64, 200)
	if base(got) != base(t2) {
		t.Fatal("sequence element not recycled after the sequence died")
	}
	a.Bind(2, map[string]int{"opaque": 1})
	a.EndStep()
	a.Unbind(1)
	a.StartStep(false)
	if x := ctx.Empty(tensor.Float32, 300); base(x) == base(t1) || base(x) == base(got) {
		t.Fatal("recycling continued after an opaque value")
	}
	a.EndStep()
	a.Finish()
	// The next Run recycles again.
	a.Begin(1)
	a.StartStep(false)
	x := ctx.Empty(tensor.Float32, 300)
	a.EndStep()
	a.StartStep(false)
	if y := ctx.Empty(tensor.Float32, 300); base(y) != base(x) {
		t.Fatal("recycling did not resume in the next Run")
	}
}

// Small tensors and strings bypass the arena; bool buffers come back false.
func TestArenaBypassAndTypes(t *testing.T) {
	ctx, a := arenaCtx(1)
	a.StartStep(false)
	small := ctx.Empty(tensor.Float32, 8)
	str := ctx.Empty(tensor.String, 4096)
	if a.find(base(small)) != nil || a.find(base(str)) != nil {
		t.Fatal("small or string tensor in the arena")
	}
	for _, dt := range []tensor.DType{tensor.Float64, tensor.Int8, tensor.Uint16, tensor.Float16, tensor.Bool, tensor.Complex128, tensor.Int4, Float8E8M0} {
		x := ctx.Empty(dt, 2048)
		if x.DType != dt || x.Len() != 2048 {
			t.Fatalf("%s: %v", dt, x)
		}
		if want := newTensor(dt, 1).Data; !sameStorageType(x.Data, want) {
			t.Fatalf("%s: storage %T, want %T", dt, x.Data, want)
		}
	}
	a.EndStep()
	a.StartStep(false)
	for i := 0; i < 4; i++ {
		b := ctx.Empty(tensor.Bool, 2048)
		for _, v := range b.Bools() {
			if v {
				t.Fatal("recycled bool buffer not cleared")
			}
		}
		x := ctx.Empty(tensor.Float64, 256)
		for j := range x.F64() {
			x.F64()[j] = -1
		}
	}
}

func sameStorageType(a, b any) bool {
	switch a.(type) {
	case []float32:
		_, ok := b.([]float32)
		return ok
	case []float64:
		_, ok := b.([]float64)
		return ok
	case []int8:
		_, ok := b.([]int8)
		return ok
	case []uint8:
		_, ok := b.([]uint8)
		return ok
	case []uint16:
		_, ok := b.([]uint16)
		return ok
	case []bool:
		_, ok := b.([]bool)
		return ok
	case []complex128:
		_, ok := b.([]complex128)
		return ok
	}
	return false
}

// The kernels that allocate through the Ctx give bit-identical results on a
// poisoned arena (every handed-out buffer starts as all-ones bytes, so an
// element a kernel forgets to write shows up) with every input donated for
// in-place reuse, compared with plain allocation.
func TestKernelsOnPoisonedArena(t *testing.T) {
	old := poisonArena
	poisonArena = true
	defer func() { poisonArena = old }()
	rng := rand.New(rand.NewPCG(1, 2))
	rnd := func(shape ...int) *tensor.Tensor {
		x := tensor.New(tensor.Float32, shape...)
		for i := range x.F32() {
			x.F32()[i] = float32(rng.NormFloat64())
		}
		return x
	}
	pos := func(shape ...int) *tensor.Tensor {
		x := rnd(shape...)
		for i, v := range x.F32() {
			x.F32()[i] = float32(math.Abs(float64(v))) + 0.5
		}
		return x
	}
	ints := graph.IntsAttr
	i64t := func(v ...int64) *tensor.Tensor { return tensor.MustFromSlice(v, len(v)) }
	cases := []struct {
		node *graph.Node
		in   []*tensor.Tensor
	}{
		{mk("Add", 2, 1), []*tensor.Tensor{rnd(2, 8, 12, 12), rnd(2, 8, 12, 12)}},
		{mk("Add", 2, 1), []*tensor.Tensor{rnd(2, 8, 12, 12), rnd(8, 1, 1)}},
		{mk("Sub", 2, 1), []*tensor.Tensor{rnd(1), rnd(40, 40)}},
		{mk("Mul", 2, 1), []*tensor.Tensor{rnd(6, 30, 40), rnd(30, 40)}},
		{mk("Div", 2, 1), []*tensor.Tensor{rnd(4, 1, 300), pos(4, 5, 300)}},
		{mk("Div", 2, 1), []*tensor.Tensor{rnd(3, 400), pos(1)}},
		{mk("Pow", 2, 1), []*tensor.Tensor{rnd(3, 400), tensor.MustFromSlice([]float32{2}, 1)}},
		{mk("Max", 3, 1), []*tensor.Tensor{rnd(3, 400), rnd(400), rnd(3, 1)}},
		{mk("Mean", 3, 1), []*tensor.Tensor{rnd(3, 400), rnd(3, 400), rnd(3, 400)}},
		{mk("Equal", 2, 1), []*tensor.Tensor{rnd(3, 2000), rnd(3, 2000)}},
		{mk("Relu", 1, 1), []*tensor.Tensor{rnd(5, 700)}},
		{mk("Neg", 1, 1), []*tensor.Tensor{rnd(5, 700)}},
		{mk("Sigmoid", 1, 1), []*tensor.Tensor{rnd(5, 700)}},
		{mk("LeakyRelu", 1, 1, graph.AttrF("alpha", 0.1)), []*tensor.Tensor{rnd(5, 700)}},
		{mk("Clip", 3, 1), []*tensor.Tensor{rnd(5, 700), tensor.Scalar(float32(-0.5)), tensor.Scalar(float32(0.7))}},
		{mk("BatchNormalization", 5, 1), []*tensor.Tensor{rnd(2, 8, 10, 10), pos(8), rnd(8), rnd(8), pos(8)}},
		{mk("MaxPool", 1, 1, ints("kernel_shape", 3, 3), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1)), []*tensor.Tensor{rnd(1, 8, 21, 21)}},
		{mk("MaxPool", 1, 2, ints("kernel_shape", 2, 2)), []*tensor.Tensor{rnd(1, 8, 20, 20)}},
		{mk("AveragePool", 1, 1, ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1)), []*tensor.Tensor{rnd(1, 8, 20, 20)}},
		{mk("GlobalAveragePool", 1, 1), []*tensor.Tensor{rnd(2, 300, 5, 5)}},
		{mk("Gemm", 3, 1, graph.AttrI("transB", 1)), []*tensor.Tensor{rnd(7, 50), rnd(60, 50), rnd(60)}},
		{mk("Gemm", 2, 1), []*tensor.Tensor{rnd(30, 50), rnd(50, 60)}},
		{mk("MatMul", 2, 1), []*tensor.Tensor{rnd(3, 1, 20, 30), rnd(4, 30, 25)}},
		{mk("Softmax", 1, 1, graph.AttrI("axis", 1)), []*tensor.Tensor{rnd(4, 30, 20)}},
		{mk("Softmax", 1, 1, graph.AttrI("axis", -1)), []*tensor.Tensor{rnd(4, 30, 20)}},
		{mk("Transpose", 1, 1, ints("perm", 0, 2, 3, 1)), []*tensor.Tensor{rnd(2, 8, 9, 10)}},
		{mk("Transpose", 1, 1, ints("perm", 2, 0, 1)), []*tensor.Tensor{rnd(9, 20, 11)}},
		{mk("Transpose", 1, 1), []*tensor.Tensor{rnd(33, 47)}},
		{mk("Concat", 3, 1, graph.AttrI("axis", 1)), []*tensor.Tensor{rnd(2, 8, 30), rnd(2, 3, 30), rnd(2, 1, 30)}},
		{mk("Concat", 2, 1, graph.AttrI("axis", 0)), []*tensor.Tensor{rnd(20, 30), rnd(10, 30)}},
		{mk("Add", 2, 1), []*tensor.Tensor{rnd(300), rnd(4, 300)}},
		{mk("Sub", 2, 1), []*tensor.Tensor{rnd(1, 6, 1), rnd(3, 6, 200)}},
		{mk("Div", 2, 1), []*tensor.Tensor{rnd(3, 1, 200), pos(3, 6, 1)}},
		{mk("ReduceMean", 1, 1, ints("axes", -1)), []*tensor.Tensor{rnd(4, 32, 128)}},
		{mk("ReduceSum", 1, 1, ints("axes", 1, 2), graph.AttrI("keepdims", 0)), []*tensor.Tensor{rnd(4, 32, 128)}},
		{mk("ReduceMean", 1, 1, ints("axes", 1)), []*tensor.Tensor{rnd(4, 32, 128)}},
		{mk("ReduceMean", 1, 1), []*tensor.Tensor{rnd(40, 30)}},
		{mk("Slice", 5, 1), []*tensor.Tensor{rnd(6, 40, 50), i64t(1, 45), i64t(4, 5), i64t(1, 2), i64t(1, 1)}},
		{mk("Slice", 5, 1), []*tensor.Tensor{rnd(6, 40, 50), i64t(5, 0), i64t(0, 50), i64t(0, 2), i64t(-2, 3)}},
	}
	var inPlace int64
	for _, c := range cases {
		name := fmt.Sprintf("%s%v", c.node.OpType, c.in[0].Shape)
		in := make([]Value, len(c.in))
		for i, x := range c.in {
			in[i] = copyTensor(x)
		}
		want, err := exec(c.node, 17, in...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		info := &BuildInfo{Node: c.node, Opset: 17, Const: make([]*tensor.Tensor, len(in)), InTypes: make([]graph.Type, len(in))}
		k, _, err := Build(info)
		if err != nil {
			t.Fatal(err)
		}
		ctx, a := arenaCtx(len(in) + len(want))
		for round := 0; round < 3; round++ {
			// Inputs live in arena buffers, each the only reference to its
			// block, and are offered for in-place outputs.
			a.StartStep(false)
			args := make([]Value, len(in))
			for i, x := range c.in {
				y := ctx.Empty(x.DType, x.Shape...)
				if x.DType == tensor.Int64 {
					copy(y.I64(), x.I64())
				} else {
					copy(y.F32(), x.F32())
				}
				a.Bind(i, y)
				args[i] = y
			}
			a.EndStep()
			a.StartStep(false)
			for i := range args {
				a.Donate(i, args[i].(*tensor.Tensor))
			}
			got, err := k.Run(ctx, args)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for j := range want {
				w, g := want[j].(*tensor.Tensor), got[j].(*tensor.Tensor)
				if !tensor.SameShape(w.Shape, g.Shape) || w.DType != g.DType {
					t.Fatalf("%s output %d: %s%v, want %s%v", name, j, g.DType, g.Shape, w.DType, w.Shape)
				}
				wb, _ := ToFloat64(w)
				gb, _ := ToFloat64(g)
				for e := range wb {
					if math.Float64bits(wb[e]) != math.Float64bits(gb[e]) {
						t.Fatalf("%s round %d output %d[%d] = %v, want %v", name, round, j, e, gb[e], wb[e])
					}
				}
				a.Bind(len(in)+j, got[j])
			}
			a.EndStep()
			for i := range args {
				a.Unbind(i)
			}
			for j := range want {
				a.Unbind(len(in) + j)
			}
		}
		inPlace += a.Finish().InPlace
	}
	if inPlace == 0 {
		t.Error("no kernel wrote in place")
	}
	t.Logf("%d in-place outputs", inPlace)
}

// A step making a graph output gets a closely fitting block, never a large
// free one (which would leave the arena with the output), and no donor.
func TestArenaLeavingStep(t *testing.T) {
	ctx, a := arenaCtx(3)
	a.StartStep(false)
	big := ctx.Empty(tensor.Float32, 3000)
	x := ctx.Empty(tensor.Float32, 1000)
	a.Bind(0, x)
	a.EndStep() // big is scratch: free now
	a.StartStep(true)
	a.Donate(0, x)
	out := ctx.Output(tensor.Float32, []int{1000}, x)
	if base(out) == base(big) || base(out) == base(x) {
		t.Fatal("a leaving output took a large free block or a donor")
	}
	a.Bind(1, out)
	a.EndStep()
	a.StartStep(false)
	if y := ctx.Empty(tensor.Float32, 1000); base(y) != base(big) {
		t.Fatal("an ordinary step should reuse the free block (within 4x)")
	}
}
