package runtime

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/impl/ops"
)

func TestOpProfile(t *testing.T) {
	m := convNet(3)
	s, err := NewSession(m, Options{Threads: 2, Profile: true})
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]ops.Value{"x": randTensor(rand.New(rand.NewPCG(1, 1)), 2, 3, 16, 16)}
	for i := 0; i < 2; i++ {
		if _, err := s.Run(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	s.ResetProfile()
	const runs = 3
	for i := 0; i < runs; i++ {
		if _, err := s.Run(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	prof := s.OpProfile()
	if len(prof) != len(s.steps) {
		t.Fatalf("%d profiled nodes, session has %d steps", len(prof), len(s.steps))
	}
	ops := map[string]bool{}
	for i, n := range prof {
		if n.Calls != runs {
			t.Errorf("%s (%s): %d calls, want %d", n.Node, n.Op, n.Calls, runs)
		}
		if n.Total <= 0 || n.Kernel == "" || n.Node == "" {
			t.Errorf("node %+v: want a name, a kernel and a positive time", n)
		}
		if i > 0 && n.Total > prof[i-1].Total {
			t.Errorf("not sorted slowest first at %d", i)
		}
		ops[n.Op] = true
	}
	if !ops["Conv"] && !ops["ai.frugal:FusedConv"] {
		t.Errorf("no convolution in the profile: %v", ops)
	}
	// Without Options.Profile there is nothing to report and no cost.
	s2, err := NewSession(m, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p := s2.OpProfile(); p != nil {
		t.Errorf("profile without Options.Profile: %v", p)
	}
}
