package fixed

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/arith/round"
)

func TestExhaustive(t *testing.T) {
	rtz := round.Options{Mode: round.TowardZero}
	for _, q := range []Q{{3, 4}, {0, 7}, {7, 8}, {0, 15}, {15, 0}, {1, 0}} {
		lo, hi := q.Range()
		prev := math.Inf(-1)
		for c := lo; c <= hi; c++ {
			v := q.DecodeInt(c)
			if v <= prev {
				t.Fatalf("%s: not monotonic at %d", q.Name(), c)
			}
			prev = v
			if q.EncodeInt(v, round.RNE, 0) != c || q.Decode(q.Encode(v, round.RNE, 0)) != v {
				t.Fatalf("%s: round trip %d", q.Name(), c)
			}
			if c == hi {
				continue
			}
			mid := v + q.Step()/2
			even := c + c&1
			if got := q.EncodeInt(mid, round.RNE, 0); got != even {
				t.Fatalf("%s: rne(%v) = %d want %d", q.Name(), mid, got, even)
			}
			tz := c
			if mid < 0 {
				tz = c + 1
			}
			if got := q.EncodeInt(mid, rtz, 0); got != tz {
				t.Fatalf("%s: rtz(%v) = %d want %d", q.Name(), mid, got, tz)
			}
		}
		if q.EncodeInt(1e9, round.RNE, 0) != hi || q.EncodeInt(-1e9, round.RNE, 0) != lo || q.EncodeInt(math.NaN(), round.RNE, 0) != 0 {
			t.Fatalf("%s: saturation", q.Name())
		}
	}
	q, _ := New(0, 15)
	if q.Bits() != 16 || q.Decode(0x8000) != -1 || q.Decode(0x7fff) != 1-math.Ldexp(1, -15) {
		t.Fatal("Q0.15")
	}
	if _, err := New(20, 20); err == nil {
		t.Fatal("41-bit accepted")
	}
}

func TestStochasticUnbiased(t *testing.T) {
	q := Q{3, 4}
	const N = 200000
	for _, x := range []float64{0.3, -1.01, 2.77} {
		o := round.Options{Mode: round.Stochastic, Seed: 3}
		sum := 0.0
		for i := 0; i < N; i++ {
			sum += q.DecodeInt(q.EncodeInt(x, o, o.R(i)))
		}
		g := q.Step()
		lo := math.Floor(x/g) * g
		p := (x - lo) / g
		if math.Abs(sum/N-x) > 5*g*math.Sqrt(p*(1-p)/N) {
			t.Errorf("SR mean %v for %v", sum/N, x)
		}
	}
}
