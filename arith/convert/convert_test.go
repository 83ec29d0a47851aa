package convert

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/arith/minifloat"
	"github.com/frugal-ml/frugal/arith/round"
)

// forEachImpl runs f once per available kernel set, then restores the default.
func forEachImpl(t testing.TB, f func(name string)) {
	def := Impl()
	defer SetImpl(def)
	for _, name := range Impls() {
		if err := SetImpl(name); err != nil {
			t.Fatal(err)
		}
		f(name)
	}
}

// interesting float32 inputs: every fp16 and bf16 value, its neighbours,
// every midpoint and its neighbours, specials and random bit patterns.
func inputs() []float32 {
	var xs []float32
	add := func(v float64) {
		f := float32(v)
		xs = append(xs, f, -f, math.Nextafter32(f, float32(math.Inf(1))), math.Nextafter32(f, 0))
	}
	for _, s := range []minifloat.Spec{minifloat.FP16, minifloat.BF16} {
		for c := uint32(0); c < 0x7fff; c++ {
			v := s.Decode(c)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			add(v)
			if c < s.MaxCode() {
				add((v + s.Decode(c+1)) / 2)
			}
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 300000; i++ {
		xs = append(xs, math.Float32frombits(rng.Uint32()))
	}
	xs = append(xs, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 65504, 65519.99, 65520, 1e-45, -1e-45)
	return xs
}

func sameBits16(s minifloat.Spec, got, want uint16) bool {
	if s.IsNaN(uint32(want)) {
		return s.IsNaN(uint32(got)) && got&0x8000 == want&0x8000
	}
	return got == want
}

func TestFloat16AndBF16AgainstReference(t *testing.T) {
	xs := inputs()
	forEachImpl(t, func(name string) {
		for _, c := range []struct {
			s   minifloat.Spec
			enc func([]uint16, []float32)
			dec func([]float32, []uint16)
		}{{minifloat.FP16, F32ToF16, F16ToF32}, {minifloat.BF16, F32ToBF16, BF16ToF32}} {
			got := make([]uint16, len(xs))
			c.enc(got, xs)
			for i, x := range xs {
				want := uint16(c.s.Encode(float64(x), round.RNE, 0))
				if !sameBits16(c.s, got[i], want) {
					t.Fatalf("%s %s: encode(%g=%#x) = %#x want %#x", name, c.s.Name, x, math.Float32bits(x), got[i], want)
				}
			}
			codes := make([]uint16, 1<<16)
			for i := range codes {
				codes[i] = uint16(i)
			}
			vals := make([]float32, len(codes))
			c.dec(vals, codes)
			for i, v := range vals {
				want := c.s.Decode(uint32(i))
				if math.IsNaN(want) {
					if !math.IsNaN(float64(v)) {
						t.Fatalf("%s %s: decode(%#x) = %v want NaN", name, c.s.Name, i, v)
					}
					continue
				}
				if float64(v) != want || math.Signbit(float64(v)) != math.Signbit(want) {
					t.Fatalf("%s %s: decode(%#x) = %v want %v", name, c.s.Name, i, v, want)
				}
			}
		}
	})
}

// refQuant is ONNX QuantizeLinear written the other way round (round,
// add, then saturate) in float64.
func refQuant(x, scale float32, zp, lo, hi int32) int32 {
	v := float64(x / scale)
	if math.IsNaN(v) {
		return zp
	}
	r := math.RoundToEven(v) + float64(zp)
	return int32(math.Max(float64(lo), math.Min(float64(hi), r)))
}

func TestInt8AgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	forEachImpl(t, func(name string) {
		for _, p := range []struct {
			scale float32
			zp    int32
		}{{0.1, 0}, {0.0173, 3}, {1, -128}, {0.5, 127}, {2.5e-3, -7}, {1e-30, 0}, {3e30, 1}} {
			xs := make([]float32, 0, 5000)
			for k := -300; k <= 300; k++ { // exact ties k+0.5 and integers
				xs = append(xs, (float32(k)+0.5)*p.scale, float32(k)*p.scale)
			}
			for i := 0; i < 3000; i++ {
				xs = append(xs, float32(rng.NormFloat64())*p.scale*40)
			}
			xs = append(xs, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 3e38, -3e38, 0, float32(math.Copysign(0, -1)))
			i8 := make([]int8, len(xs))
			u8 := make([]uint8, len(xs))
			QuantizeInt8(i8, xs, p.scale, p.zp)
			uzp := min(max(p.zp, 0), 255)
			QuantizeUint8(u8, xs, p.scale, uzp)
			for i, x := range xs {
				if w := refQuant(x, p.scale, p.zp, -128, 127); int32(i8[i]) != w {
					t.Fatalf("%s int8(%g / %g + %d) = %d want %d", name, x, p.scale, p.zp, i8[i], w)
				}
				if w := refQuant(x, p.scale, uzp, 0, 255); int32(u8[i]) != w {
					t.Fatalf("%s uint8(%g / %g + %d) = %d want %d", name, x, p.scale, uzp, u8[i], w)
				}
			}
			back := make([]float32, len(xs))
			DequantizeInt8(back, i8, p.scale, p.zp)
			for i, q := range i8 {
				if w := float32(int32(q)-p.zp) * p.scale; back[i] != w {
					t.Fatalf("%s dequant int8 %d = %v want %v", name, q, back[i], w)
				}
			}
			DequantizeUint8(back, u8, p.scale, uzp)
			for i, q := range u8 {
				if w := float32(int32(q)-uzp) * p.scale; back[i] != w {
					t.Fatalf("%s dequant uint8 %d = %v want %v", name, q, back[i], w)
				}
			}
		}
	})
}

// Lengths 0..70 with guard elements after the destination: no kernel may
// write past len(src), and tails must be handled.
func TestLengthsAndGuards(t *testing.T) {
	forEachImpl(t, func(name string) {
		for n := 0; n <= 70; n++ {
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(i-35) * 0.25
			}
			h := make([]uint16, n+4)
			for i := range h {
				h[i] = 0xdead
			}
			F32ToF16(h[:n], src)
			F32ToBF16(h[:n], src)
			f := make([]float32, n+4)
			for i := range f {
				f[i] = -7
			}
			F16ToF32(f[:n], h[:n])
			BF16ToF32(f[:n], h[:n])
			b := make([]int8, n+4)
			for i := range b {
				b[i] = 99
			}
			QuantizeInt8(b[:n], src, 0.25, 1)
			DequantizeInt8(f[:n], b[:n], 0.25, 1)
			for i := n; i < n+4; i++ {
				if h[i] != 0xdead || f[i] != -7 || b[i] != 99 {
					t.Fatalf("%s n=%d: guard %d overwritten", name, n, i)
				}
			}
			for i := range src {
				if f[i] != src[i] { // x.25 steps are exact at scale 0.25
					t.Fatalf("%s n=%d: int8 round trip %v -> %v", name, n, src[i], f[i])
				}
			}
		}
	})
}

func TestSetImplUnknown(t *testing.T) {
	if err := SetImpl("no-such"); err == nil {
		t.Fatal("expected error")
	}
}

func benchData(n int) []float32 {
	rng := rand.New(rand.NewPCG(1, 1))
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	return xs
}

// Benchmarks report MB/s of fp32 data (input for fp32->X, output for X->fp32),
// on a ladder of sizes: 4K (L1), 64K (L2) and 4M elements (memory bound).
func BenchmarkConvert(b *testing.B) {
	for _, n := range []int{1 << 12, 1 << 16, 1 << 22} {
		src := benchData(n)
		h := make([]uint16, n)
		q := make([]int8, n)
		f := make([]float32, n)
		forEachImpl(b, func(name string) {
			run := func(op string, fn func()) {
				b.Run(fmt.Sprintf("%s/n=%d/%s", op, n, name), func(b *testing.B) {
					b.SetBytes(int64(4 * n))
					for b.Loop() {
						fn()
					}
				})
			}
			run("F32ToF16", func() { F32ToF16(h, src) })
			run("F16ToF32", func() { F16ToF32(f, h) })
			run("F32ToBF16", func() { F32ToBF16(h, src) })
			run("BF16ToF32", func() { BF16ToF32(f, h) })
			run("QuantizeInt8", func() { QuantizeInt8(q, src, 0.02, 3) })
			run("DequantizeInt8", func() { DequantizeInt8(f, q, 0.02, 3) })
		})
	}
}
