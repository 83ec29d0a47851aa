package x448check

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/arith/convert"
	"github.com/frugal-ml/frugal/arith/minifloat"
	"github.com/frugal-ml/frugal/arith/round"
	"github.com/x448/float16"
)

func same(a, b uint16) bool {
	na := a&0x7c00 == 0x7c00 && a&0x3ff != 0
	nb := b&0x7c00 == 0x7c00 && b&0x3ff != 0
	if na || nb {
		return na && nb // NaN payloads aside
	}
	return a == b
}

func check(t *testing.T, f float32) {
	want := uint16(float16.Fromfloat32(f))
	if got := uint16(minifloat.FP16.Encode(float64(f), round.RNE, 0)); !same(got, want) {
		t.Fatalf("minifloat fp16(%g = %#x) = %#x, x448 %#x", f, math.Float32bits(f), got, want)
	}
	if got := convert.F32ToF16One(f); !same(got, want) {
		t.Fatalf("convert fp16(%g) = %#x, x448 %#x", f, got, want)
	}
}

func TestAllPatternsAndMidpoints(t *testing.T) {
	for c := 0; c < 1<<16; c++ {
		h := float16.Float16(c)
		want := h.Float32()
		got := minifloat.FP16.Decode32(uint32(c))
		if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("decode %#x = %v, x448 %v", c, got, want)
		}
		if want != want || math.IsInf(float64(want), 0) {
			continue
		}
		check(t, want)
		check(t, math.Nextafter32(want, float32(math.Inf(1))))
		check(t, math.Nextafter32(want, float32(math.Inf(-1))))
		if c&0x7fff < 0x7bff {
			mid := float32((float64(want) + float64(float16.Float16(c+1).Float32())) / 2)
			check(t, mid)
			check(t, math.Nextafter32(mid, 0))
			check(t, math.Nextafter32(mid, 2*mid))
		}
	}
}

func TestRandomFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 2000000; i++ {
		check(t, math.Float32frombits(rng.Uint32()))
	}
	xs := make([]float32, 4096)
	for i := range xs {
		xs[i] = math.Float32frombits(rng.Uint32())
	}
	got := make([]uint16, len(xs))
	for _, impl := range convert.Impls() {
		if err := convert.SetImpl(impl); err != nil {
			t.Fatal(err)
		}
		convert.F32ToF16(got, xs)
		for i, x := range xs {
			if w := uint16(float16.Fromfloat32(x)); !same(got[i], w) {
				t.Fatalf("%s: fp16(%g) = %#x, x448 %#x", impl, x, got[i], w)
			}
		}
	}
}
