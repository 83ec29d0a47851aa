package runtime

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/tensor"
)

// checkPlan verifies what every plan must satisfy: buffers live at the same
// step never overlap in the arena, and the arena lies between the live
// lower bound and the no-reuse sum.
func checkPlan(t *testing.T, p *MemoryPlan) {
	t.Helper()
	for i, a := range p.Buffers {
		if a.Offset%64 != 0 || a.Offset+a.Bytes > p.ArenaBytes {
			t.Fatalf("buffer %s at %d+%d outside the %d-byte arena", a.Value, a.Offset, a.Bytes, p.ArenaBytes)
		}
		for _, b := range p.Buffers[i+1:] {
			live := a.First <= b.Last && b.First <= a.Last
			apart := a.Offset+a.Bytes <= b.Offset || b.Offset+b.Bytes <= a.Offset
			if live && !apart {
				t.Fatalf("buffers %s [%d,%d]@%d+%d and %s [%d,%d]@%d+%d overlap", a.Value, a.First, a.Last, a.Offset, a.Bytes, b.Value, b.First, b.Last, b.Offset, b.Bytes)
			}
		}
	}
	if p.ArenaBytes < p.LiveBytes || p.LiveBytes > p.NoReuseBytes {
		t.Fatalf("arena %d, live %d, no reuse %d", p.ArenaBytes, p.LiveBytes, p.NoReuseBytes)
	}
}

// planFor plans s for a zero input of the given shape (Transpose has no
// shape function: the plan runs the graph once to size its values).
func planFor(t *testing.T, s *Session, input string, shape ...int) *MemoryPlan {
	t.Helper()
	p, err := s.MemoryPlanFor(context.Background(), map[string]ops.Value{input: tensor.New(tensor.Float32, shape...)})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p)
	if len(p.Unsized) > 0 {
		t.Fatalf("unsized values: %v", p.Unsized)
	}
	return p
}

// Four transposes in a row: three 4 KiB intermediates, two live at a time.
func TestPlanChain(t *testing.T) {
	g := graph.New("chain")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 32, 32)}
	g.AddNode("Transpose", []string{"x"}, []string{"t1"})
	g.AddNode("Transpose", []string{"t1"}, []string{"t2"})
	g.AddNode("Transpose", []string{"t2"}, []string{"t3"})
	g.AddNode("Transpose", []string{"t3"}, []string{"y"})
	g.Outputs = []graph.ValueInfo{{Name: "y"}}
	s := mustSession(t, model(g), Options{Threads: 1, NoOptimize: true})
	p := planFor(t, s, "x", 32, 32)
	if p.ArenaBytes != 8192 || p.NoReuseBytes != 3*4096 || p.LiveBytes != 8192 || p.OutputBytes != 4096 || p.InputBytes != 4096 || len(p.Buffers) != 3 {
		t.Fatalf("plan %+v", p)
	}
	// The run-time arena holds the planned peak (its output, made when t2 is
	// already dead, takes t2's buffer before it leaves the arena).
	for i := 0; i < 3; i++ {
		mustRun(t, s, map[string]ops.Value{"x": tensor.New(tensor.Float32, 32, 32)})
	}
	if st := s.ReuseStats(); st.InUsePeakBytes != p.ArenaBytes {
		t.Errorf("arena in use at peak %d, plan %d", st.InUsePeakBytes, p.ArenaBytes)
	}
}

// Views share their input's buffer (extending its life), elementwise ops
// write over a dying input, and buffers that leave with a graph output are
// not in the arena.
func TestPlanViewsAndInPlace(t *testing.T) {
	g := graph.New("views")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x", tensor.Float32, 16, 64)}
	g.AddInitializer("shape", tensor.MustFromSlice([]int64{64, 16}, 2))
	g.AddNode("Transpose", []string{"x"}, []string{"a"})        // 0: buffer A
	g.AddNode("Neg", []string{"a"}, []string{"b"})              // 1: in place over A
	g.AddNode("Reshape", []string{"b", "shape"}, []string{"c"}) // 2: view of A
	g.AddNode("Neg", []string{"c"}, []string{"d"})              // 3: buffer D, A still live (c read at 4)
	g.AddNode("Add", []string{"d", "c"}, []string{"e"})         // 4: in place over D or A
	g.AddNode("Transpose", []string{"e"}, []string{"y"})        // 5
	g.Outputs = []graph.ValueInfo{{Name: "y"}}
	s := mustSession(t, model(g), Options{Threads: 1, NoOptimize: true})
	p := planFor(t, s, "x", 16, 64)
	if len(p.Buffers) != 2 || p.ArenaBytes != 2*4096 || p.NoReuseBytes != 4*4096 {
		t.Fatalf("want two 4 KiB buffers (A shared by a, b, c and one of d/e), got %+v", p)
	}
	first := p.Buffers[0]
	if first.Value != "a" || len(first.Shares) < 2 || first.First != 0 || first.Last < 4 {
		t.Fatalf("buffer A: %+v", first)
	}

	// An intermediate whose storage a graph output views leaves the arena.
	g.Outputs = []graph.ValueInfo{{Name: "y"}, {Name: "c"}}
	s = mustSession(t, model(g), Options{Threads: 1, NoOptimize: true})
	p = planFor(t, s, "x", 16, 64)
	for _, b := range p.Buffers {
		if b.Value == "a" {
			t.Fatalf("a's buffer is viewed by output c but was planned in the arena: %+v", p)
		}
	}
	if p.OutputBytes != 2*4096 {
		t.Fatalf("output bytes %d, want a's and y's buffers", p.OutputBytes)
	}
}

// Plans of the test networks keep the invariants and save memory; symbolic
// shapes are sized from real inputs.
func TestPlanNetworks(t *testing.T) {
	for _, c := range reuseCases() {
		s := mustSession(t, c.model, Options{Threads: 1})
		p, err := s.MemoryPlanFor(context.Background(), c.input(rand.New(rand.NewPCG(1, 1))))
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, p)
		if len(p.Unsized) > 0 || len(p.Buffers) == 0 {
			t.Fatalf("%s: %+v", c.name, p)
		}
		t.Logf("%s: %s", c.name, p)
	}
	// A batch dimension left symbolic: static planning cannot size it.
	m := convNet(1)
	m.Graph.Inputs[0].Type.Shape[0] = graph.Dim{Size: -1, Param: "N"}
	s := mustSession(t, m, Options{Threads: 1})
	if p := s.MemoryPlan(); len(p.Unsized) == 0 {
		t.Fatalf("symbolic batch, yet everything sized: %+v", p)
	}
	in := map[string]ops.Value{"x": tensor.New(tensor.Float32, 3, 3, 16, 16)}
	p, err := s.MemoryPlanFor(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p)
	if len(p.Unsized) > 0 || p.InputBytes != 3*3*16*16*4 {
		t.Fatalf("batch 3: %+v", p)
	}
}
