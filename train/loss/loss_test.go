package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

func numGrad(f func([]float32) float64, x []float32, i int) float64 {
	const eps = 1e-3
	o := x[i]
	x[i] = o + eps
	hi := float64(x[i])
	lp := f(x)
	x[i] = o - eps
	lo := float64(x[i])
	lm := f(x)
	x[i] = o
	return (lp - lm) / (hi - lo)
}

func randv(r *rand.Rand, n int, s float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((r.Float64()*2 - 1) * s)
	}
	return v
}

func close(a, b float64) bool { return math.Abs(a-b) <= 1e-3+1e-2*math.Max(math.Abs(a), math.Abs(b)) }

func TestCrossEntropy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, c = 4, 5
	labels := []int{0, 3, 4, 1}
	for _, sm := range []float32{0, 0.1} {
		z := randv(r, n*c, 3)
		g := make([]float32, n*c)
		if _, _, err := CrossEntropy(z, labels, c, sm, 0.5, g); err != nil {
			t.Fatal(err)
		}
		f := func(x []float32) float64 { s, _, _ := CrossEntropy(x, labels, c, sm, 1, nil); return 0.5 * s }
		for i := range z {
			if num := numGrad(f, z, i); !close(float64(g[i]), num) {
				t.Fatalf("smoothing %g: grad[%d] %g, numeric %g", sm, i, g[i], num)
			}
		}
	}
	// Known value: uniform logits give log(c).
	s, _, _ := CrossEntropy(make([]float32, c), []int{2}, c, 0, 1, nil)
	if math.Abs(s-math.Log(c)) > 1e-6 {
		t.Fatalf("uniform loss %g, want %g", s, math.Log(c))
	}
	// Stability with huge logits.
	s, correct, _ := CrossEntropy([]float32{1e4, -1e4, 0}, []int{0}, 3, 0, 1, nil)
	if s != 0 || correct != 1 || math.IsNaN(s) {
		t.Fatalf("huge logits: loss %g correct %d", s, correct)
	}
	if _, _, err := CrossEntropy(make([]float32, 3), []int{3}, 3, 0, 1, nil); err == nil {
		t.Fatal("label out of range accepted")
	}
}

func TestMSE(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	p, q := randv(r, 7, 1), randv(r, 7, 1)
	g := make([]float32, 7)
	MSE(p, q, 1.0/7, g)
	f := func(x []float32) float64 { s, _ := MSE(x, q, 1, nil); return s / 7 }
	for i := range p {
		if num := numGrad(f, p, i); !close(float64(g[i]), num) {
			t.Fatalf("grad[%d] %g, numeric %g", i, g[i], num)
		}
	}
}

func TestDistillKL(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, c = 3, 4
	s, te := randv(r, n*c, 2), randv(r, n*c, 2)
	for _, T := range []float32{1, 4} {
		g := make([]float32, n*c)
		if _, err := DistillKL(s, te, c, T, 1, g); err != nil {
			t.Fatal(err)
		}
		f := func(x []float32) float64 { v, _ := DistillKL(x, te, c, T, 1, nil); return v }
		for i := range s {
			if num := numGrad(f, s, i); !close(float64(g[i]), num) {
				t.Fatalf("T=%g grad[%d] %g, numeric %g", T, i, g[i], num)
			}
		}
	}
	if v, _ := DistillKL(te, te, c, 2, 1, nil); math.Abs(v) > 1e-9 {
		t.Fatalf("KL(p||p) = %g", v)
	}
}
