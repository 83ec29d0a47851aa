package lns

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/arith/round"
)

func TestExhaustive(t *testing.T) {
	rtz := round.Options{Mode: round.TowardZero}
	for _, f := range []Format{{8, 3}, {16, 10}, {4, 0}, {6, DefaultFrac(6)}} {
		lo, hi := f.lRange()
		prev := 0.0
		for l := lo; l <= hi; l++ {
			c := f.code(false, l)
			v := f.Decode(c)
			if !(v > prev) {
				t.Fatalf("%s: not monotonic at L=%d", f.Name(), l)
			}
			prev = v
			if got := f.Encode(v, round.RNE, 0); got != c {
				t.Fatalf("%s: round trip L=%d: %#x", f.Name(), l, got)
			}
			if got := f.Encode(-v, round.RNE, 0); got != f.code(true, l) || f.Decode(got) != -v {
				t.Fatalf("%s: negative L=%d", f.Name(), l)
			}
			if l == hi {
				continue
			}
			// geometric midpoint to the next code; ties are irrational, so
			// probe just either side.
			mid := math.Exp2((float64(l) + 0.5) / float64(int64(1)<<f.F))
			if got := f.Encode(mid*(1-1e-12), round.RNE, 0); got != c {
				t.Fatalf("%s: below mid of L=%d -> %#x", f.Name(), l, got)
			}
			if got := f.Encode(mid*(1+1e-12), round.RNE, 0); got != f.code(false, l+1) {
				t.Fatalf("%s: above mid of L=%d -> %#x", f.Name(), l, got)
			}
			if got := f.Encode(mid, rtz, 0); got != c {
				t.Fatalf("%s: rtz mid L=%d", f.Name(), l)
			}
		}
	}
	f := Format{8, 3}
	if f.Decode(f.ZeroCode()) != 0 || !math.IsNaN(f.Decode(f.NaNCode())) || f.Encode(0, round.RNE, 0) != f.ZeroCode() {
		t.Fatal("specials")
	}
	if f.Decode(f.Encode(1e30, round.RNE, 0)) != math.Exp2(63.0/8) || f.Encode(1e-30, round.RNE, 0) != f.ZeroCode() {
		t.Fatal("saturation / underflow")
	}
	if f.Decode(f.Encode(1, round.RNE, 0)) != 1 || f.Decode(f.Encode(0.5, round.RNE, 0)) != 0.5 {
		t.Fatal("powers of two are exact")
	}
	// multiplication is exact log addition
	a, b := f.Encode(3, round.RNE, 0), f.Encode(-0.7, round.RNE, 0)
	if got, want := f.Decode(f.Mul(a, b)), f.Decode(a)*f.Decode(b); math.Abs(got-want) > 1e-12*math.Abs(want) {
		t.Fatalf("mul %v want %v", got, want)
	}
	if _, err := New(8, 7); err == nil {
		t.Fatal("F = B-1 accepted")
	}
}

func TestStochasticUnbiased(t *testing.T) {
	f := Format{8, 3}
	const N = 200000
	for _, x := range []float64{1.3, -0.07, 11.1} {
		o := round.Options{Mode: round.Stochastic, Seed: 17}
		sum := 0.0
		lo := math.Abs(f.Decode(f.Encode(x, round.Options{Mode: round.TowardZero}, 0)))
		_, l := f.L(f.Encode(x, round.Options{Mode: round.TowardZero}, 0))
		hi := math.Exp2(float64(l+1) / 8)
		for i := 0; i < N; i++ {
			sum += f.Decode(f.Encode(x, o, o.R(i)))
		}
		g := hi - lo
		p := (math.Abs(x) - lo) / g
		if math.Abs(sum/N-x) > 5*g*math.Sqrt(p*(1-p)/N) {
			t.Errorf("SR mean %v for %v", sum/N, x)
		}
	}
}
