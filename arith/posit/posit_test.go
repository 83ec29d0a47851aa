package posit

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/arith/round"
)

var rtz = round.Options{Mode: round.TowardZero}

// Known values from the 2022 posit standard: 1.0 = 0b01 followed by zeros,
// maxpos = useed^(n-2), minpos = its reciprocal, NaR = 0b1 followed by zeros.
func TestStandardValues(t *testing.T) {
	for _, k := range []struct {
		c              Config
		one, max, min  uint32
		maxpos, minpos float64
	}{
		{Posit8, 0x40, 0x7f, 0x01, math.Ldexp(1, 24), math.Ldexp(1, -24)},
		{Posit16, 0x4000, 0x7fff, 0x0001, math.Ldexp(1, 56), math.Ldexp(1, -56)},
		{Posit32, 0x40000000, 0x7fffffff, 0x00000001, math.Ldexp(1, 120), math.Ldexp(1, -120)},
		{Config{8, 0}, 0x40, 0x7f, 0x01, 64, 1.0 / 64},
		{Config{16, 1}, 0x4000, 0x7fff, 0x0001, math.Ldexp(1, 28), math.Ldexp(1, -28)},
		{Config{32, 4}, 0x40000000, 0x7fffffff, 1, math.Ldexp(1, 480), math.Ldexp(1, -480)},
	} {
		c := k.c
		if c.Decode(k.one) != 1 || c.Encode(1, round.RNE, 0) != k.one {
			t.Errorf("%s: 1.0", c.Name())
		}
		if c.Decode(k.max) != k.maxpos || c.Decode(k.min) != k.minpos {
			t.Errorf("%s: maxpos %v minpos %v", c.Name(), c.Decode(k.max), c.Decode(k.min))
		}
		if !math.IsNaN(c.Decode(c.NaR())) || c.Encode(math.NaN(), round.RNE, 0) != c.NaR() || c.Encode(math.Inf(-1), round.RNE, 0) != c.NaR() {
			t.Errorf("%s: NaR", c.Name())
		}
		if c.Encode(1e300, round.RNE, 0) != k.max || c.Encode(1e-300, round.RNE, 0) != k.min {
			t.Errorf("%s: saturation to maxpos/minpos", c.Name())
		}
		if c.Encode(-1, round.RNE, 0) != (-k.one)&c.Mask() {
			t.Errorf("%s: -1 is the two's complement of 1", c.Name())
		}
	}
	// posit8 es=2 worked examples.
	for _, kv := range []struct {
		p uint32
		v float64
	}{{0x48, 2}, {0x50, 4}, {0x60, 16}, {0x38, 0.5}, {0x44, 1.5}, {0x70, 256}, {0xc0, -1}, {0x10, 1.0 / 256}, {0x01, 1.0 / (1 << 24)}} {
		if got := Posit8.Decode(kv.p); got != kv.v {
			t.Errorf("posit8_2(%#x) = %v want %v", kv.p, got, kv.v)
		}
	}
	// posit16_1 and posit32_2 fractions: 1 + 2^-fracbits just above 1.
	if Posit32.Decode(0x40000001) != 1+math.Ldexp(1, -27) || (Config{16, 1}).Decode(0x4001) != 1+math.Ldexp(1, -12) {
		t.Error("ulp at 1")
	}
	if _, err := New(33, 2); err == nil {
		t.Error("n=33 accepted")
	}
	if _, err := New(8, 5); err == nil {
		t.Error("es=5 accepted")
	}
}

func signed(c Config, p uint32) int64 {
	v := int64(p)
	if p>>(c.N-1) != 0 {
		v -= 1 << c.N
	}
	return v
}

// Exhaustive for every n <= 16 and es <= 4: round trip, monotonic order
// (posits sort like two's complement integers), and every (n+1)-bit
// midpoint rounds to the even neighbour (RNE) or down (RTZ).
func TestExhaustive(t *testing.T) {
	for n := 2; n <= 16; n++ {
		for es := 0; es <= 4; es++ {
			c := Config{n, es}
			prev := math.Inf(-1)
			// walk codes in signed order: NaR+1 (most negative) ... maxpos
			for s := -(int64(1) << (n - 1)) + 1; s < int64(1)<<(n-1); s++ {
				p := uint32(s) & c.Mask()
				v := c.Decode(p)
				if !(v > prev) {
					t.Fatalf("%s: %#x = %v not above %v", c.Name(), p, v, prev)
				}
				prev = v
				if got := c.Encode(v, round.RNE, 0); got != p {
					t.Fatalf("%s: %#x -> %v -> %#x", c.Name(), p, v, got)
				}
				if got := c.Encode(v, rtz, 0); got != p {
					t.Fatalf("%s rtz: %#x -> %v -> %#x", c.Name(), p, v, got)
				}
				if s <= 0 || p == c.MaxPos() {
					continue
				}
				mid := decode(n+1, es, uint64(p)<<1|1)
				even := p
				if p&1 != 0 {
					even = p + 1
				}
				for _, sg := range []float64{1, -1} {
					fix := func(q uint32) uint32 {
						if sg < 0 {
							return -q & c.Mask()
						}
						return q
					}
					if got := c.Encode(sg*mid, round.RNE, 0); got != fix(even) {
						t.Fatalf("%s: rne(mid %v) = %#x want %#x", c.Name(), sg*mid, got, fix(even))
					}
					if got := c.Encode(sg*mid, rtz, 0); got != fix(p) {
						t.Fatalf("%s: rtz(mid %v) = %#x want %#x", c.Name(), sg*mid, got, fix(p))
					}
					if got := c.Encode(sg*math.Nextafter(mid, 0), round.RNE, 0); got != fix(p) {
						t.Fatalf("%s: below mid %v -> %#x want %#x", c.Name(), mid, got, fix(p))
					}
					if got := c.Encode(sg*math.Nextafter(mid, math.Inf(1)), round.RNE, 0); got != fix(p+1) {
						t.Fatalf("%s: above mid %v -> %#x want %#x", c.Name(), mid, got, fix(p+1))
					}
				}
			}
		}
	}
}

// posit32: a sample of codes round-trips and their midpoints round to even.
func TestPosit32Sample(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	for _, es := range []int{0, 2, 4} {
		c := Config{32, es}
		for i := 0; i < 200000; i++ {
			p := rng.Uint32()
			if c.IsNaR(p) {
				continue
			}
			if got := c.Encode(c.Decode(p), round.RNE, 0); got != p {
				t.Fatalf("%s: %#x -> %#x", c.Name(), p, got)
			}
			if p > 0 && p < c.MaxPos() {
				mid := decode(33, es, uint64(p)<<1|1)
				want := p + p&1
				if got := c.Encode(mid, round.RNE, 0); got != want {
					t.Fatalf("%s: mid above %#x -> %#x want %#x", c.Name(), p, got, want)
				}
			}
		}
	}
}

// correctlyRounded checks that q is the RNE posit of the exact value x,
// using the (n+1)-bit midpoints as the standard defines them.
func correctlyRounded(c Config, x *big.Float, q uint32) bool {
	if x.Sign() == 0 {
		return q == 0
	}
	if q == 0 || c.IsNaR(q) {
		return false
	}
	neg := x.Sign() < 0
	if neg != (q>>(c.N-1) != 0) {
		return false
	}
	body := q
	if neg {
		body = -q & c.Mask()
	}
	ax := new(big.Float).Abs(x)
	if body > 1 {
		lo := big.NewFloat(decode(c.N+1, c.ES, uint64(body)<<1-1))
		if cmp := ax.Cmp(lo); cmp < 0 || cmp == 0 && body&1 != 0 {
			return false
		}
	}
	if body < c.MaxPos() {
		hi := big.NewFloat(decode(c.N+1, c.ES, uint64(body)<<1+1))
		if cmp := ax.Cmp(hi); cmp > 0 || cmp == 0 && body&1 != 0 {
			return false
		}
	}
	return true
}

// The quire gives the exactly rounded dot product, checked against an exact
// math/big sum, for small and large formats and for cancelling inputs.
func TestQuireExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []Config{{8, 0}, {8, 2}, {16, 1}, {16, 2}, {32, 2}, {32, 4}, {12, 3}} {
		for trial := 0; trial < 400; trial++ {
			n := 1 + rng.IntN(64)
			a := make([]uint32, n)
			b := make([]uint32, n)
			for i := range a {
				// mix random codes (wide dynamic range) with values near 1
				if rng.IntN(2) == 0 {
					a[i] = rng.Uint32() & c.Mask()
					b[i] = rng.Uint32() & c.Mask()
				} else {
					a[i] = c.Encode(rng.NormFloat64(), round.RNE, 0)
					b[i] = c.Encode(rng.NormFloat64(), round.RNE, 0)
				}
				if c.IsNaR(a[i]) {
					a[i] = 0
				}
				if c.IsNaR(b[i]) {
					b[i] = 0
				}
			}
			if trial%4 == 0 && n > 2 { // exact cancellation of a big term
				a[n-1] = -a[0] & c.Mask()
				b[n-1] = b[0]
			}
			exact := new(big.Float).SetPrec(0).SetMode(big.ToNearestEven)
			exact.SetPrec(4096)
			for i := range a {
				p := new(big.Float).SetPrec(4096).SetFloat64(c.Decode(a[i]))
				p.Mul(p, new(big.Float).SetFloat64(c.Decode(b[i])))
				exact.Add(exact, p)
			}
			q := c.Dot(a, b)
			if !correctlyRounded(c, exact, q) {
				t.Fatalf("%s: dot = %v (%#x), exact %s", c.Name(), c.Decode(q), q, exact.Text('g', 20))
			}
		}
	}
}

func TestQuireBeatsNaive(t *testing.T) {
	c := Posit16
	one := c.Encode(1, round.RNE, 0)
	big := c.MaxPos()
	a := []uint32{big, one, -big & c.Mask()}
	b := []uint32{one, one, one}
	if got := c.Dot(a, b); got != one {
		t.Fatalf("quire: %v want 1", c.Decode(got))
	}
	if got := c.DotNaive(a, b); got == one {
		t.Fatalf("naive accumulation should lose the 1, got %v", c.Decode(got))
	}
	q := NewQuire(c)
	q.AddProduct(big, big)
	q.SubProduct(big, big)
	q.Add(one)
	if q.Posit() != one {
		t.Fatal("qMulSub")
	}
	q.AddProduct(c.NaR(), one)
	if !c.IsNaR(q.Posit()) {
		t.Fatal("NaR is sticky")
	}
	if NewQuire(Posit32).Bits() != 512 || NewQuire(Posit16).Bits() != 256 {
		t.Fatalf("quire sizes %d %d, standard says 16n", NewQuire(Posit32).Bits(), NewQuire(Posit16).Bits())
	}
}

func TestStochasticUnbiased(t *testing.T) {
	const N = 200000
	for _, c := range []Config{Posit8, Posit16, {8, 0}} {
		for _, x := range []float64{1.3, -0.7, 3.3, 0.03, 20.5} {
			lo := c.Decode(c.Encode(x, rtz, 0))
			p := c.Encode(x, rtz, 0)
			var hi float64
			if x > 0 {
				hi = c.Decode(p + 1)
			} else {
				hi = c.Decode(p - 1)
			}
			g := math.Abs(hi - lo)
			pr := math.Abs(x-lo) / g
			o := round.Options{Mode: round.Stochastic, Seed: 99}
			sum := 0.0
			for i := 0; i < N; i++ {
				sum += c.Decode(c.Encode(x, o, o.R(i)))
			}
			mean := sum / N
			if sigma := g * math.Sqrt(pr*(1-pr)/N); math.Abs(mean-x) > 5*sigma {
				t.Errorf("%s: SR mean %v for %v (5 sigma %v)", c.Name(), mean, x, 5*sigma)
			}
		}
	}
}

// A tie at the guard bit broken only by a term far below the 64 bits after
// the leading one: the quire must keep it as a sticky bit.
func TestQuireSticky(t *testing.T) {
	for _, c := range []Config{Posit16, Posit32, {8, 0}} {
		one := c.Encode(1, round.RNE, 0)
		next := c.Decode(one + 1)
		half := c.Encode((next-1)/2, round.RNE, 0)
		if c.Decode(half) != (next-1)/2 {
			t.Fatalf("%s: half ulp not representable", c.Name())
		}
		for _, sg := range []uint32{1, 0} {
			q := NewQuire(c)
			q.Add(one)
			q.Add(half)
			if sg == 1 {
				q.AddProduct(1, 1) // + minpos^2
			} else {
				q.SubProduct(1, 1)
			}
			want := one + sg // tie broken up by +tiny; down (to even 1.0) by -tiny
			if got := q.Posit(); got != want {
				t.Errorf("%s: 1 + ulp/2 %+d*minpos^2 = %v want %v", c.Name(), 2*int(sg)-1, c.Decode(got), c.Decode(want))
			}
		}
	}
}
