package minifloat

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/arith/round"
)

var small = []Spec{FP16, BF16, TF32, E4M3, E5M2, E3M2, E2M3, E2M1}

var (
	rtz = round.Options{Mode: round.TowardZero}
	sat = round.Options{Saturate: true}
)

// Every code decodes and encodes back to itself (NaNs stay NaN).
func TestRoundTripExhaustive(t *testing.T) {
	for _, s := range small {
		n := uint32(1) << s.Bits()
		for c := uint32(0); c < n; c++ {
			v := s.Decode(c)
			if s.IsNaN(c) != math.IsNaN(v) {
				t.Fatalf("%s: IsNaN(%#x)=%v but decode %v", s.Name, c, s.IsNaN(c), v)
			}
			got := s.Encode(v, round.RNE, 0)
			if math.IsNaN(v) {
				if !s.IsNaN(got) {
					t.Fatalf("%s: NaN %#x encoded to non-NaN %#x", s.Name, c, got)
				}
				continue
			}
			if got != c {
				t.Fatalf("%s: code %#x -> %v -> %#x", s.Name, c, v, got)
			}
			if got := s.Encode(v, rtz, 0); got != c {
				t.Fatalf("%s rtz: code %#x -> %v -> %#x", s.Name, c, v, got)
			}
			if got := s.Encode(v, round.Options{Mode: round.Stochastic}, 0xdeadbeefcafef00d); got != c {
				t.Fatalf("%s sr: exact value %#x -> %v -> %#x", s.Name, c, v, got)
			}
		}
	}
}

// Codes 0..maxCode are strictly increasing; negative codes mirror them.
func TestMonotonicExhaustive(t *testing.T) {
	for _, s := range small {
		prev := math.Inf(-1)
		for c := uint32(0); c <= s.maxCode(); c++ {
			v := s.Decode(c)
			if !(v > prev) && !(c == 0) {
				t.Fatalf("%s: not increasing at %#x: %v after %v", s.Name, c, v, prev)
			}
			if neg := s.Decode(c | s.signBit()); neg != -v || (c == 0 && !math.Signbit(neg)) {
				t.Fatalf("%s: %#x decodes to %v, negative %v", s.Name, c, v, neg)
			}
			prev = v
		}
		if prev != s.MaxFinite() {
			t.Fatalf("%s: max code decodes %v, MaxFinite %v", s.Name, prev, s.MaxFinite())
		}
	}
}

// Every midpoint between neighbours rounds per mode: RNE to the even code,
// RTZ down, and anything strictly off the midpoint to the nearer one.
func TestMidpointsExhaustive(t *testing.T) {
	for _, s := range small {
		for c := uint32(0); c < s.maxCode(); c++ {
			lo, hi := s.Decode(c), s.Decode(c+1)
			mid := (lo + hi) / 2 // exact in float64
			even := c
			if c&1 != 0 {
				even = c + 1
			}
			for _, sg := range []float64{1, -1} {
				sb := uint32(0)
				if sg < 0 {
					sb = s.signBit()
				}
				if got := s.Encode(sg*mid, round.RNE, 0); got != sb|even {
					t.Fatalf("%s: rne(%v) = %#x want %#x", s.Name, sg*mid, got, sb|even)
				}
				if got := s.Encode(sg*mid, rtz, 0); got != sb|c {
					t.Fatalf("%s: rtz(%v) = %#x want %#x", s.Name, sg*mid, got, sb|c)
				}
				below := math.Nextafter(mid, lo)
				above := math.Nextafter(mid, hi)
				if got := s.Encode(sg*below, round.RNE, 0); got != sb|c {
					t.Fatalf("%s: rne(%v) = %#x want %#x", s.Name, sg*below, got, sb|c)
				}
				if got := s.Encode(sg*above, round.RNE, 0); got != sb|(c+1) {
					t.Fatalf("%s: rne(%v) = %#x want %#x", s.Name, sg*above, got, sb|(c+1))
				}
				if got := s.Encode(sg*math.Nextafter(hi, lo), rtz, 0); got != sb|c {
					t.Fatalf("%s: rtz just below %v = %#x want %#x", s.Name, hi, got, sb|c)
				}
			}
		}
	}
}

// Overflow: at and beyond MaxFinite + ulp/2 each format does what its spec says.
func TestOverflow(t *testing.T) {
	for _, s := range small {
		top := s.Decode(s.maxCode())
		ulp := top - s.Decode(s.maxCode()-1)
		half := top + ulp/2 // a tie: rounds to max only if max's code is even
		beyond := top + ulp
		var want uint32
		switch s.NaN {
		case IEEE:
			want = uint32(1<<s.ExpBits-1) << s.ManBits // +Inf
		case FN:
			want = s.NaNCode()
		case NoNaN:
			want = s.maxCode()
		}
		if got := s.Encode(beyond, round.RNE, 0); got != want {
			t.Errorf("%s: rne(%v) = %#x want %#x", s.Name, beyond, got, want)
		}
		if got := s.Encode(math.Inf(1), round.RNE, 0); got != want {
			t.Errorf("%s: rne(+Inf) = %#x want %#x", s.Name, got, want)
		}
		if got := s.Encode(beyond, sat, 0); got != s.maxCode() {
			t.Errorf("%s: saturating(%v) = %#x want max", s.Name, beyond, got)
		}
		if got := s.Encode(-beyond, sat, 0); got != s.signBit()|s.maxCode() {
			t.Errorf("%s: saturating(%v) = %#x want -max", s.Name, -beyond, got)
		}
		if got := s.Encode(1e300, rtz, 0); got != s.maxCode() {
			t.Errorf("%s: rtz(1e300) = %#x want max", s.Name, got)
		}
		// The tie at max+ulp/2: max code is odd in every format here, so RNE goes up.
		if s.maxCode()&1 == 1 {
			if got := s.Encode(half, round.RNE, 0); got != want {
				t.Errorf("%s: rne(%v) = %#x want overflow %#x", s.Name, half, got, want)
			}
		}
		if got := s.Encode(math.Nextafter(half, 0), round.RNE, 0); got != s.maxCode() {
			t.Errorf("%s: just below overflow threshold %#x", s.Name, got)
		}
	}
}

// Values from the OCP FP8 and MX v1.0 specification tables and IEEE 754.
func TestSpecTables(t *testing.T) {
	type kv struct {
		s        Spec
		max, sub float64
		minNorm  float64
	}
	for _, k := range []kv{
		{E4M3, 448, math.Ldexp(1, -9), math.Ldexp(1, -6)},
		{E5M2, 57344, math.Ldexp(1, -16), math.Ldexp(1, -14)},
		{E3M2, 28, 0.0625, 0.25},
		{E2M3, 7.5, 0.125, 1},
		{E2M1, 6, 0.5, 1},
		{FP16, 65504, math.Ldexp(1, -24), math.Ldexp(1, -14)},
		{BF16, math.Ldexp(0xff, 127-7), math.Ldexp(1, -133), math.Ldexp(1, -126)},
		{FP32, math.MaxFloat32, math.SmallestNonzeroFloat32, math.Ldexp(1, -126)},
	} {
		if k.s.MaxFinite() != k.max || k.s.MinSubnormal() != k.sub || k.s.MinNormal() != k.minNorm {
			t.Errorf("%s: max %v sub %v norm %v; want %v %v %v", k.s.Name, k.s.MaxFinite(), k.s.MinSubnormal(), k.s.MinNormal(), k.max, k.sub, k.minNorm)
		}
	}
	var e2m1 []float64
	for c := uint32(0); c < 8; c++ {
		e2m1 = append(e2m1, E2M1.Decode(c))
	}
	want := []float64{0, 0.5, 1, 1.5, 2, 3, 4, 6}
	for i := range want {
		if e2m1[i] != want[i] {
			t.Fatalf("E2M1 values %v want %v", e2m1, want)
		}
	}
	// E4M3: S.1111.111 is the only NaN; S.1111.110 = 448; no infinities.
	if !math.IsNaN(E4M3.Decode(0x7f)) || !math.IsNaN(E4M3.Decode(0xff)) || E4M3.Decode(0x7e) != 448 || E4M3.Decode(0x78) != 256 {
		t.Fatal("E4M3 top binade wrong")
	}
	nans := 0
	for c := uint32(0); c < 256; c++ {
		if math.IsNaN(E4M3.Decode(c)) {
			nans++
		}
		if math.IsInf(E4M3.Decode(c), 0) {
			t.Fatal("E4M3 has no infinities")
		}
	}
	if nans != 2 {
		t.Fatalf("E4M3 has %d NaN codes, want 2 (±)", nans)
	}
	// E5M2: IEEE-like, 0x7c = +Inf, 0x7b = 57344.
	if !math.IsInf(E5M2.Decode(0x7c), 1) || E5M2.Decode(0x7b) != 57344 || !math.IsNaN(E5M2.Decode(0x7d)) {
		t.Fatal("E5M2 specials wrong")
	}
	// E3M2/E2M3 max codes.
	if E3M2.Decode(0x1f) != 28 || E2M3.Decode(0x1f) != 7.5 || E2M1.Decode(0xf) != -6 {
		t.Fatal("FP6/FP4 max codes wrong")
	}
	// fp16/bf16 known patterns.
	for _, p := range []struct {
		s Spec
		c uint32
		v float64
	}{{FP16, 0x3c00, 1}, {FP16, 0xc000, -2}, {FP16, 0x7bff, 65504}, {FP16, 0x0001, math.Ldexp(1, -24)}, {FP16, 0x3555, 0.333251953125},
		{BF16, 0x3f80, 1}, {BF16, 0x4049, 3.140625}, {BF16, 0x7f7f, math.Ldexp(0xff, 120)}, {TF32, 0x1fc00 >> 0, 1}} {
		if got := p.s.Decode(p.c); got != p.v {
			t.Errorf("%s(%#x) = %v want %v", p.s.Name, p.c, got, p.v)
		}
	}
	// tf32 1.0: sign 0, exp 127, mantissa 0 in a 19-bit code.
	if TF32.Encode(1, round.RNE, 0) != 127<<10 {
		t.Fatal("tf32 1.0")
	}
}

// fp32 through the generic spec equals Go's own float64->float32 conversion.
func TestFP32MatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		x := math.Float64frombits(rng.Uint64())
		if i%3 == 0 {
			x = rng.NormFloat64() * math.Ldexp(1, rng.IntN(300)-150)
		}
		got := FP32.Encode(x, round.RNE, 0)
		want := math.Float32bits(float32(x))
		if math.IsNaN(x) {
			if !FP32.IsNaN(got) {
				t.Fatal("NaN")
			}
			continue
		}
		if got != want {
			t.Fatalf("fp32(%v) = %#x want %#x", x, got, want)
		}
	}
}

// oracle16 rounds a float32 to fp16 with math/big and explicit subnormal
// handling: an independent computation of the same IEEE rule.
func oracle16(f float32) float64 {
	a := math.Abs(float64(f))
	s := 1.0
	if math.Signbit(float64(f)) {
		s = -1
	}
	if a >= 65520 {
		return s * math.Inf(1)
	}
	if a < math.Ldexp(1, -14) {
		return s * math.Ldexp(math.RoundToEven(math.Ldexp(a, 24)), -24)
	}
	b := new(big.Float).SetPrec(11).SetMode(big.ToNearestEven).SetFloat64(a)
	v, _ := b.Float64()
	return s * v
}

// fp16 against the big.Float oracle on all 2^16 patterns, their midpoints and
// neighbours, and a large random sample of float32 inputs.
func TestFP16Oracle(t *testing.T) {
	check := func(f float32) {
		got := FP16.Decode(FP16.Encode(float64(f), round.RNE, 0))
		want := oracle16(f)
		if got != want || math.Signbit(got) != math.Signbit(want) {
			t.Fatalf("fp16(%v = %#x) = %v want %v", f, math.Float32bits(f), got, want)
		}
	}
	for c := uint32(0); c < 1<<16; c++ {
		v := FP16.Decode(c)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		f := float32(v)
		check(f)
		check(math.Nextafter32(f, 1e30))
		check(math.Nextafter32(f, -1e30))
		if c&0x7fff < 0x7bff {
			mid := float32((v + FP16.Decode(c+1)) / 2)
			check(mid)
			check(math.Nextafter32(mid, 0))
			check(math.Nextafter32(mid, 1e30*float32(v)))
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 1000000; i++ {
		f := math.Float32frombits(rng.Uint32())
		if f != f {
			continue
		}
		check(f)
	}
}

// Stochastic rounding is unbiased: the mean of N roundings of x lies within
// 5 binomial standard deviations of x. With p the probability of rounding
// up and gap g, the mean has standard deviation g*sqrt(p(1-p)/N).
func TestStochasticUnbiased(t *testing.T) {
	const N = 200000
	for _, s := range []Spec{FP16, BF16, E4M3, E5M2, E2M1} {
		for _, x := range []float64{1.3, -0.7, 0.1, 2.9, 5.1, 0.26, 0.011} {
			if math.Abs(x) > s.MaxFinite() {
				continue
			}
			lo := s.Encode(x, rtz, 0)
			a, b := s.Decode(lo), s.Decode(lo+1)
			g := math.Abs(b - a)
			p := math.Abs(x-a) / g
			o := round.Options{Mode: round.Stochastic, Seed: 42}
			sum := 0.0
			for i := 0; i < N; i++ {
				v := s.Decode(s.Encode(x, o, o.R(i)))
				if v != a && v != b {
					t.Fatalf("%s: sr(%v) = %v not a neighbour of (%v, %v)", s.Name, x, v, a, b)
				}
				sum += v
			}
			mean := sum / N
			sigma := g * math.Sqrt(p*(1-p)/N)
			if math.Abs(mean-x) > 5*sigma+1e-300 {
				t.Errorf("%s: SR mean of %v = %v, off by %.3g (5 sigma = %.3g)", s.Name, x, mean, mean-x, 5*sigma)
			}
		}
	}
}

// The same seed gives the same codes however the work is split.
func TestStochasticReproducible(t *testing.T) {
	src := make([]float32, 1000)
	for i := range src {
		src[i] = float32(i) * 0.0123
	}
	o := round.Options{Mode: round.Stochastic, Seed: 7}
	whole := make([]float32, len(src))
	FP16.Quantize(whole, src, o)
	parts := make([]float32, len(src))
	for start := 0; start < len(src); start += 37 {
		end := min(start+37, len(src))
		po := o
		po.Offset = uint64(start)
		FP16.Quantize(parts[start:end], src[start:end], po)
	}
	for i := range whole {
		if whole[i] != parts[i] {
			t.Fatalf("element %d: %v vs %v", i, whole[i], parts[i])
		}
	}
	o.Seed = 8
	other := make([]float32, len(src))
	FP16.Quantize(other, src, o)
	diff := 0
	for i := range whole {
		if whole[i] != other[i] {
			diff++
		}
	}
	if diff == 0 {
		t.Fatal("a different seed changed nothing")
	}
}
