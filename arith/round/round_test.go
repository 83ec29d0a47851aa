package round

import (
	"math"
	"math/bits"
	"testing"
)

func TestParseMode(t *testing.T) {
	for s, m := range map[string]Mode{"rne": NearestEven, "RTZ": TowardZero, "sr": Stochastic, "stochastic": Stochastic} {
		got, err := ParseMode(s)
		if err != nil || got != m {
			t.Errorf("%q -> %v, %v", s, got, err)
		}
		if got.String() == "" {
			t.Error("empty name")
		}
	}
	if _, err := ParseMode("up"); err == nil {
		t.Fatal("unknown mode accepted")
	}
}

func TestInt(t *testing.T) {
	for _, c := range []struct {
		x        float64
		rne, rtz float64
	}{{2.5, 2, 2}, {3.5, 4, 3}, {-2.5, -2, -2}, {-2.6, -3, -2}, {0.49, 0, 0}} {
		if Int(c.x, NearestEven, 0) != c.rne || Int(c.x, TowardZero, 0) != c.rtz {
			t.Errorf("Int(%v)", c.x)
		}
	}
	// SR picks floor or floor+1, decided by the top 53 bits of r.
	if Int(2.25, Stochastic, 0) != 3 || Int(2.25, Stochastic, math.MaxUint64) != 2 || Int(2, Stochastic, 0) != 2 {
		t.Fatal("SR extremes")
	}
	if Int(-2.25, Stochastic, math.MaxUint64) != -3 {
		t.Fatal("SR negative floor")
	}
}

// Bits is a pure function of (seed, index), differs across seeds and
// indices, and its bits are balanced.
func TestBits(t *testing.T) {
	if Bits(1, 2) != Bits(1, 2) || Bits(1, 2) == Bits(2, 2) || Bits(1, 2) == Bits(1, 3) {
		t.Fatal("not a keyed function")
	}
	const N = 100000
	ones := 0
	var perBit [64]int
	for i := uint64(0); i < N; i++ {
		b := Bits(7, i)
		ones += bits.OnesCount64(b)
		for k := range perBit {
			perBit[k] += int(b >> k & 1)
		}
	}
	// each bit is 1 with probability 1/2: 5 sigma of Binomial(N, 1/2)
	sig := math.Sqrt(N) / 2
	for k, c := range perBit {
		if math.Abs(float64(c)-N/2) > 5*sig {
			t.Fatalf("bit %d set %d times of %d", k, c, N)
		}
	}
	// consecutive indices are uncorrelated in their low bits
	same := 0
	for i := uint64(0); i < N; i++ {
		if Bits(7, i)&1 == Bits(7, i+1)&1 {
			same++
		}
	}
	if math.Abs(float64(same)-N/2) > 5*sig {
		t.Fatalf("lag-1 agreement %d of %d", same, N)
	}
	o := Options{Mode: Stochastic, Seed: 3, Offset: 10}
	if o.R(5) != Bits(3, 15) || (Options{}).R(5) != 0 {
		t.Fatal("Options.R")
	}
}
