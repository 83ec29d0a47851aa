package intq

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/arith/round"
)

func TestChooseParams(t *testing.T) {
	s, z := ChooseParams(-1, 3, 8, false) // uint8 over [-1, 3]
	if s != 4.0/255 || z != 64 {          // -(-1)/(4/255) = 63.75 -> 64
		t.Fatalf("asym: %v %v", s, z)
	}
	s, z = ChooseParams(-2, 1, 8, true)
	if s != 2.0/127 || z != 0 {
		t.Fatalf("sym: %v %v", s, z)
	}
	s, z = ChooseParams(0.5, 2, 4, false) // range widened to include 0
	if s != 2.0/15 || z != 0 {
		t.Fatalf("asym 4-bit: %v %v", s, z)
	}
	if s, z := ChooseParams(0, 0, 8, true); s != 1 || z != 0 {
		t.Fatal("degenerate")
	}
	// zero is exactly representable in every asymmetric choice
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 1000; i++ {
		lo, hi := float32(-rng.Float64()*10), float32(rng.Float64()*10)
		for b := 1; b <= 8; b++ {
			s, z := ChooseParams(lo, hi, b, false)
			qmin, qmax := Range(b, false)
			if q := Quantize(0, s, z, qmin, qmax, round.NearestEven, 0); Dequantize(q, s, z) != 0 {
				t.Fatalf("0 not exact for [%v,%v] %d bits", lo, hi, b)
			}
		}
	}
	if lo, hi := Range(4, true); lo != -7 || hi != 7 {
		t.Fatal("range")
	}
}

// ONNX QuantizeLinear: half to even, saturation.
func TestQuantizeLinearSemantics(t *testing.T) {
	cases := []struct {
		x, s   float32
		zp     int32
		lo, hi int32
		want   int32
	}{{2.5, 1, 0, -128, 127, 2}, {3.5, 1, 0, -128, 127, 4}, {-2.5, 1, 0, -128, 127, -2}, {1000, 1, 0, -128, 127, 127},
		{-1000, 1, 3, 0, 255, 0}, {0.5, 1, 128, 0, 255, 128}, {1.5, 1, 128, 0, 255, 130}, {float32(math.NaN()), 1, 5, 0, 255, 5}}
	for _, c := range cases {
		if got := Quantize(c.x, c.s, c.zp, c.lo, c.hi, round.NearestEven, 0); got != c.want {
			t.Errorf("q(%v,%v,%v) = %d want %d", c.x, c.s, c.zp, got, c.want)
		}
	}
}

func TestGranularities(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	shape := []int{4, 6, 3} // axis 1 channels
	x := make([]float32, 72)
	for i := range x {
		ch := (i / 3) % 6
		x[i] = float32(rng.NormFloat64() * float64(ch+1) * 0.3)
	}
	for _, c := range []Config{
		{Bits: 8, Symmetric: true},
		{Bits: 8, Symmetric: false},
		{Bits: 4, Symmetric: true, Gran: PerChannel, Axis: 1},
		{Bits: 3, Symmetric: false, Gran: PerGroup, Axis: 1, GroupSize: 4},
		{Bits: 8, Symmetric: true, Gran: PerChannel, Axis: -2, Round: round.Options{Mode: round.Stochastic, Seed: 1}},
	} {
		q, err := QuantizeTensor(x, shape, c)
		if err != nil {
			t.Fatal(err)
		}
		back := q.Dequantize()
		_, dim, inner, groups, _ := c.layout(shape, len(x))
		qmin, qmax := Range(c.Bits, c.Symmetric)
		for i := range x {
			p := c.paramIndex(i, dim, inner, groups)
			if q.Codes[i] < qmin || q.Codes[i] > qmax {
				t.Fatalf("%+v: code %d out of range", c, q.Codes[i])
			}
			// within one step (no clipping: params come from the data's range)
			if e := math.Abs(float64(back[i] - x[i])); e > float64(q.Scales[p])*1.0001 {
				t.Fatalf("%+v: element %d error %v > scale %v", c, i, e, q.Scales[p])
			}
			if c.Round.Mode == round.NearestEven {
				if e := math.Abs(float64(back[i] - x[i])); e > float64(q.Scales[p])*0.5001 {
					t.Fatalf("%+v: element %d error %v > scale/2 %v", c, i, e, q.Scales[p])
				}
			}
		}
		want := map[Granularity]int{PerTensor: 1, PerChannel: 6, PerGroup: 4 * 2 * 3}[c.Gran]
		if len(q.Scales) != want {
			t.Fatalf("%+v: %d parameter sets want %d", c, len(q.Scales), want)
		}
	}
	// the int8 fast path and the scalar path agree
	c := Config{Bits: 8, Symmetric: true}
	fast, _ := QuantizeTensor(x, nil, c)
	qmin, qmax := Range(8, true)
	for i, v := range x {
		if w := Quantize(v, fast.Scales[0], 0, qmin, qmax, round.NearestEven, 0); fast.Codes[i] != w {
			t.Fatalf("fast path %d vs %d", fast.Codes[i], w)
		}
	}
	for _, bad := range []Config{{Bits: 9}, {Bits: 4, Gran: PerChannel, Axis: 3}, {Bits: 4, Gran: PerGroup, Axis: 0}} {
		if _, err := QuantizeTensor(x, shape, bad); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
}

func TestStochasticUnbiased(t *testing.T) {
	const N = 200000
	for _, x := range []float32{0.3, -1.7, 12.45} {
		o := round.Options{Mode: round.Stochastic, Seed: 5}
		var sum float64
		for i := 0; i < N; i++ {
			sum += float64(Dequantize(Quantize(x, 1, 0, -128, 127, o.Mode, o.R(i)), 1, 0))
		}
		p := float64(x) - math.Floor(float64(x))
		if math.Abs(sum/N-float64(x)) > 5*math.Sqrt(p*(1-p)/N) {
			t.Errorf("SR mean %v for %v", sum/N, x)
		}
	}
}

func TestQuantizeBias(t *testing.T) {
	q, s := QuantizeBias([]float32{1, -0.5, 3e30, 0.25}, 0.5, []float32{0.5, 1, 0.25, 1})
	want := []int32{4, -1, math.MaxInt32, 0}
	for i := range want {
		if q[i] != want[i] {
			t.Fatalf("code %d = %d, want %d", i, q[i], want[i])
		}
	}
	if s[0] != 0.25 || s[2] != 0.125 {
		t.Fatalf("scales %v", s)
	}
	// One weight scale serves every channel.
	if q, _ := QuantizeBias([]float32{1, 2}, 1, []float32{0.5}); q[0] != 2 || q[1] != 4 {
		t.Fatalf("per-tensor codes %v", q)
	}
}
