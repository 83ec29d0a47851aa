package mx

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/arith/round"
)

func TestEmaxAndBits(t *testing.T) {
	want := map[string][2]float64{ // emax_elem, bits per element
		"mxfp8_e4m3": {8, 8.25}, "mxfp8_e5m2": {15, 8.25}, "mxfp6_e3m2": {4, 6.25},
		"mxfp6_e2m3": {2, 6.25}, "mxfp4": {2, 4.25}, "mxint8": {0, 8.25},
	}
	for _, f := range All {
		w := want[f.Name()]
		if float64(f.EmaxElem()) != w[0] || BitsPerElement(f) != w[1] {
			t.Errorf("%s: emax %d bits/elem %v, want %v", f.Name(), f.EmaxElem(), BitsPerElement(f), w)
		}
	}
	if PackedSize(MXFP4, 64) != 34 || PackedSize(MXFP4, 33) != 17+2 {
		t.Errorf("mxfp4 sizes %d %d", PackedSize(MXFP4, 64), PackedSize(MXFP4, 33))
	}
}

func randBlock(rng *rand.Rand, n int) []float32 {
	xs := make([]float32, n)
	sc := math.Ldexp(1, rng.IntN(40)-20)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64() * sc)
	}
	return xs
}

// The shared exponent follows the spec rule and elements are the element
// format's rounding (with saturation) of V_i / X.
func TestScaleRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	codes := make([]uint32, BlockK)
	for _, f := range All {
		for trial := 0; trial < 300; trial++ {
			xs := randBlock(rng, BlockK)
			amax := 0.0
			for _, x := range xs {
				amax = max(amax, math.Abs(float64(x)))
			}
			sc := f.EncodeBlock(codes, xs, round.RNE)
			want := int(math.Floor(math.Log2(amax))) - f.EmaxElem()
			if int(sc)-127 != want {
				t.Fatalf("%s: shared exp %d want %d (amax %v)", f.Name(), int(sc)-127, want, amax)
			}
			X := E8M0(sc)
			for i, x := range xs {
				v := float64(x) / X
				var ref float64
				if f.Int8 {
					ref = min(max(math.RoundToEven(v*64), -128), 127) / 64
				} else {
					ref = f.Elem.Round(v, round.Options{Saturate: true}, 0)
				}
				if got := f.ElemValue(codes[i]); got != ref {
					t.Fatalf("%s: element %v/X = %v, decoded %v want %v", f.Name(), x, v, got, ref)
				}
			}
		}
	}
}

func TestKnownBlocks(t *testing.T) {
	// E2M1 values with amax 6 -> X = 1, every value exact.
	xs := []float32{0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.5, -6}
	dst := make([]float32, len(xs))
	Quantize(MXFP4, dst, xs, round.RNE)
	for i := range xs {
		if dst[i] != xs[i] {
			t.Fatalf("mxfp4 exact block: %v -> %v", xs, dst)
		}
	}
	// E4M3: amax 511 -> X = 2^(8-8) = 1, 511 saturates to 448 (no NaN).
	xs = []float32{511, 1, -300}
	dst = make([]float32, 3)
	Quantize(MXFP8E4M3, dst, xs, round.RNE)
	if dst[0] != 448 || dst[1] != 1 || dst[2] != -288 {
		t.Fatalf("mxfp8_e4m3 saturation: %v", dst)
	}
	// MXINT8: amax 1.5 -> X = 1, elements k/64.
	xs = []float32{1.5, 0.015625, -1.984375, 0.0078125}
	dst = make([]float32, 4)
	Quantize(MXINT8, dst, xs, round.RNE)
	if dst[0] != 1.5 || dst[1] != 0.015625 || dst[2] != -1.984375 || dst[3] != 0 {
		t.Fatalf("mxint8: %v", dst) // 0.5/64 ties to even 0
	}
	// Inf or NaN in a block makes its scale NaN; zeros give scale 2^-127.
	codes := make([]uint32, 3)
	if sc := MXFP4.EncodeBlock(codes, []float32{1, float32(math.Inf(1)), 2}, round.RNE); sc != ScaleNaN {
		t.Fatal("inf block scale")
	}
	if sc := MXFP4.EncodeBlock(codes, []float32{0, 0, 0}, round.RNE); sc != 0 {
		t.Fatal("zero block scale")
	}
}

func TestPackUnpackEqualsQuantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	bfp, _ := NewBFP(16, 7)
	codecs := []Codec{bfp, BFP{8, 3}}
	for _, f := range All {
		codecs = append(codecs, f)
	}
	for _, c := range codecs {
		for _, n := range []int{0, 1, 31, 32, 33, 100} {
			xs := randBlock(rng, n)
			for _, o := range []round.Options{round.RNE, {Mode: round.Stochastic, Seed: 5}, {Mode: round.TowardZero}} {
				fq := make([]float32, n)
				Quantize(c, fq, xs, o)
				data := Pack(c, xs, o)
				if len(data) != PackedSize(c, n) {
					t.Fatalf("%s: %d bytes, want %d", c.Name(), len(data), PackedSize(c, n))
				}
				back := make([]float32, n)
				if err := Unpack(c, back, data); err != nil {
					t.Fatal(err)
				}
				again := make([]float32, n)
				Quantize(c, again, fq, round.RNE)
				for i := range xs {
					if back[i] != fq[i] {
						t.Fatalf("%s %v: unpack %v != fake-quant %v", c.Name(), o.Mode, back[i], fq[i])
					}
					if o.Mode == round.NearestEven && again[i] != fq[i] {
						t.Fatalf("%s: quantization not idempotent: %v -> %v", c.Name(), fq[i], again[i])
					}
				}
			}
		}
		if err := Unpack(c, make([]float32, 40), make([]byte, 3)); err == nil {
			t.Fatalf("%s: short data accepted", c.Name())
		}
	}
}

func TestBFP(t *testing.T) {
	b := BFP{4, 3} // magnitudes 0..7 in units of 2^(e-2)
	xs := []float32{1, 0.25, -0.375, 1.9}
	dst := make([]float32, 4)
	Quantize(b, dst, xs, round.RNE)
	// e = 0, unit 0.25: 1 -> 4, 0.25 -> 1, -0.375 -> -1.5 -> -2 (even), 1.9 -> 7.6 -> clip 7
	want := []float32{1, 0.25, -0.5, 1.75}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("bfp: %v want %v", dst, want)
		}
	}
	if _, err := NewBFP(0, 3); err == nil {
		t.Fatal("block 0 accepted")
	}
	if BitsPerElement(BFP{16, 7}) != 8.5 {
		t.Fatal("bfp bits per element")
	}
}

// Stochastic rounding of MX elements is unbiased: blocks of [amax, x, x,
// ...] averaged over many blocks land within 5 binomial sigma of x.
func TestStochasticUnbiased(t *testing.T) {
	const blocks = 4000
	for _, f := range []Format{MXFP4, MXFP6E2M3, MXINT8} {
		for _, x := range []float32{0.7, -1.3, 2.2} {
			src := make([]float32, blocks*BlockK)
			for i := range src {
				src[i] = x
				if i%BlockK == 0 {
					src[i] = 5.5 // fixes the scale: floor(log2 5.5) = 2
				}
			}
			dst := make([]float32, len(src))
			Quantize(f, dst, src, round.Options{Mode: round.Stochastic, Seed: 77})
			var sum float64
			var lo, hi float64 = math.Inf(1), math.Inf(-1)
			cnt := 0
			for i, v := range dst {
				if i%BlockK == 0 {
					continue
				}
				sum += float64(v)
				lo, hi = min(lo, float64(v)), max(hi, float64(v))
				cnt++
			}
			mean := sum / float64(cnt)
			g := hi - lo
			p := (float64(x) - lo) / g
			if sigma := g * math.Sqrt(p*(1-p)/float64(cnt)); math.Abs(mean-float64(x)) > 5*sigma {
				t.Errorf("%s: SR mean %v for %v (5 sigma %v)", f.Name(), mean, x, 5*sigma)
			}
		}
	}
}
