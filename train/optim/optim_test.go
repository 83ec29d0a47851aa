package optim

import (
	"math"
	"testing"
)

func TestSGD(t *testing.T) {
	w := []float32{1, -2}
	g := []float32{0.5, 1}
	o, err := New(Config{Kind: "sgd", LR: 0.1, Momentum: 0.9, WeightDecay: 0.01}, []Param{{Name: "w", W: w, G: g, Decay: true}})
	if err != nil {
		t.Fatal(err)
	}
	ps := []Param{{Name: "w", W: w, G: g, Decay: true}}
	o.Step(ps, 0.1)
	// v = g + wd*w = 0.51; w = 1 - 0.1*0.51
	if math.Abs(float64(w[0])-0.949) > 1e-6 {
		t.Fatalf("w[0] = %v", w[0])
	}
	o.Step(ps, 0.1)
	// g' = 0.5 + 0.01*0.949 = 0.50949; v = 0.9*0.51 + 0.50949 = 0.96849
	if math.Abs(float64(w[0])-(0.949-0.096849)) > 1e-6 {
		t.Fatalf("w[0] = %v", w[0])
	}
	// Nesterov
	w2 := []float32{1}
	g2 := []float32{1}
	o2, _ := New(Config{Kind: "sgd", Momentum: 0.5, Nesterov: true}, []Param{{W: w2, G: g2}})
	o2.Step([]Param{{W: w2, G: g2}}, 1)
	// v = 1; step = g + mu*v = 1.5
	if w2[0] != -0.5 {
		t.Fatalf("nesterov w = %v", w2[0])
	}
}

func TestAdamW(t *testing.T) {
	w := []float32{1}
	g := []float32{0.3}
	ps := []Param{{Name: "w", W: w, G: g, Decay: true}}
	o, _ := New(Config{Kind: "adamw", WeightDecay: 0.1}, ps)
	o.Step(ps, 0.01)
	// first step: mhat = g, vhat = g^2 -> update = lr * sign(g) (eps tiny); decay 1-0.001
	want := 1*(1-0.01*0.1) - 0.01*0.3/(0.3+1e-8)
	if math.Abs(float64(w[0])-want) > 1e-6 {
		t.Fatalf("w = %v, want %v", w[0], want)
	}
	if len(o.State()) != 2 || o.Steps() != 1 {
		t.Fatalf("state %v steps %d", o.State(), o.Steps())
	}
	// Minimises a quadratic.
	x := []float32{5, -3}
	gx := make([]float32, 2)
	pq := []Param{{W: x, G: gx}}
	oq, _ := New(Config{}, pq)
	for i := 0; i < 3000; i++ {
		gx[0], gx[1] = 2*x[0], 2*x[1]
		oq.Step(pq, 0.05)
	}
	if math.Abs(float64(x[0])) > 1e-2 || math.Abs(float64(x[1])) > 1e-2 {
		t.Fatalf("adam did not converge: %v", x)
	}
}

func TestClip(t *testing.T) {
	g := []float32{3, 4}
	n := ClipGlobalNorm([]Param{{G: g}}, 1)
	if n != 5 || math.Abs(float64(g[0])-0.6) > 1e-5 {
		t.Fatalf("norm %v g %v", n, g)
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{Kind: "cosine", WarmupSteps: 4, MinFactor: 0.1}
	if f := s.Factor(0, 104); f != 0.2 {
		t.Fatalf("warmup factor %v", f)
	}
	if f := s.Factor(4, 104); f != 1 {
		t.Fatalf("start factor %v", f)
	}
	if f := s.Factor(103, 104); math.Abs(float64(f)-0.1) > 1e-6 {
		t.Fatalf("end factor %v", f)
	}
	st := Schedule{Kind: "step", StepSize: 10, Gamma: 0.5}
	if st.Factor(25, 100) != 0.25 {
		t.Fatalf("step factor %v", st.Factor(25, 100))
	}
	if (Schedule{Kind: "bogus"}).Validate() == nil || (Schedule{Kind: "step"}).Validate() == nil {
		t.Fatal("invalid schedule accepted")
	}
	if _, err := New(Config{Kind: "rmsprop"}, nil); err == nil {
		t.Fatal("unknown optimizer accepted")
	}
}
