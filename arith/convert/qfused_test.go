package convert

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// forEachFusedImpl runs f once per available fused kernel set, then
// restores the default.
func forEachFusedImpl(t testing.TB, f func(name string)) {
	def := FusedImpl()
	defer SetFusedImpl(def)
	for _, name := range FusedImpls() {
		if err := SetFusedImpl(name); err != nil {
			t.Fatal(err)
		}
		f(name)
	}
}

// refQAdd is the float QDQ chain of QLinearAdd written out: dequantize
// each code, add, divide, round half to even in float64, add the zero
// point, saturate to the (tightened) type range; NaN gives the zero point.
func refQAdd(a, b uint8, p *QAddParams) int32 {
	ca, cb := int32(a), int32(b)
	if p.ASigned {
		ca = int32(int8(a))
	}
	if p.BSigned {
		cb = int32(int8(b))
	}
	fa := float32(float32(ca-p.ZA) * p.SA)
	fb := float32(float32(cb-p.ZB) * p.SB)
	v := (fa + fb) / p.SY
	lo, hi := max(p.Lo, 0), min(p.Hi, 255)
	if p.YSigned {
		lo, hi = max(p.Lo, -128), min(p.Hi, 127)
	}
	q := float64(p.ZY)
	if !math.IsNaN(float64(v)) {
		q += math.RoundToEven(float64(v))
	}
	return int32(math.Min(math.Max(q, float64(lo)), float64(hi)))
}

func code(b uint8, signed bool) int32 {
	if signed {
		return int32(int8(b))
	}
	return int32(b)
}

func TestQLinearAddAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	// All 65536 code pairs, then the same shifted by 5 (unaligned, with a
	// tail), then short runs.
	const n = 1 << 16
	a, b := make([]uint8, n+64), make([]uint8, n+64)
	for i := range a {
		a[i], b[i] = uint8(i), uint8(i>>8)
	}
	params := []QAddParams{
		{SA: 0.037, SB: 0.021, SY: 0.05, ZA: 120, ZB: 7, ZY: 100, Lo: 0, Hi: 255},
		{SA: 0.5, SB: 0.25, SY: 1, ZA: 3, ZB: 250, ZY: 128, Lo: 0, Hi: 255},      // exact ties
		{SA: 0.5, SB: 0.5, SY: 2, ZA: 0, ZB: 0, ZY: 0, Lo: 0, Hi: 255},           // ties, saturating high
		{SA: 0.1, SB: 0.1, SY: 0.3, ZA: 128, ZB: 128, ZY: 200, Lo: 0, Hi: 255},   // inexact division
		{SA: 1e-3, SB: 2e-3, SY: 1e-6, ZA: 128, ZB: 0, ZY: 128, Lo: 0, Hi: 255},  // saturates both ends
		{SA: 3e30, SB: 3e30, SY: 1e-30, ZA: 0, ZB: 1, ZY: 5, Lo: 0, Hi: 255},     // Inf
		{SA: 0.02, SB: 0.03, SY: 0, ZA: 10, ZB: 20, ZY: 7, Lo: 0, Hi: 255},       // /0: Inf and NaN
		{SA: 0.02, SB: 0.03, SY: 0.04, ZA: 10, ZB: 20, ZY: 90, Lo: 90, Hi: 255},  // fused Relu
		{SA: 0.02, SB: 0.03, SY: 0.04, ZA: 10, ZB: 20, ZY: 90, Lo: 95, Hi: 180},  // fused Clip
		{SA: 0.02, SB: 0.03, SY: 0.04, ZA: 10, ZB: 20, ZY: 90, Lo: 200, Hi: 100}, // empty range: Hi
		{SA: float32(math.NaN()), SB: 0.03, SY: 0.04, ZA: 10, ZB: 20, ZY: 90, Lo: 0, Hi: 255},
		{SA: 0.02, SB: 0.03, SY: 0.04, ZA: 10, ZB: 20, ZY: 90, Lo: -1000, Hi: 1000}, // bounds outside the type
	}
	for i := 0; i < 20; i++ {
		params = append(params, QAddParams{SA: rng.Float32() * 0.1, SB: rng.Float32() * 0.1, SY: rng.Float32()*0.1 + 1e-4,
			ZA: int32(rng.IntN(256)), ZB: int32(rng.IntN(256)), ZY: int32(rng.IntN(256)), Lo: 0, Hi: 255})
	}
	forEachFusedImpl(t, func(name string) {
		for pi, p0 := range params {
			for flags := 0; flags < 8; flags++ {
				p := p0
				p.ASigned, p.BSigned, p.YSigned = flags&1 != 0, flags&2 != 0, flags&4 != 0
				if p.ASigned {
					p.ZA -= 128
				}
				if p.BSigned {
					p.ZB -= 128
				}
				if p.YSigned {
					p.ZY -= 128
					p.Lo -= 128
					p.Hi -= 128
				}
				for _, r := range [][2]int{{0, n}, {5, n + 5 + 37}, {1, 2}, {3, 3 + 31}, {0, 15}, {0, 16}, {7, 7 + 17}} {
					dst := make([]uint8, r[1]-r[0]+3)
					for i := range dst {
						dst[i] = 0xa5
					}
					m := r[1] - r[0]
					QLinearAdd(dst[:m], a[r[0]:r[1]], b[r[0]:r[1]], &p)
					for i := 0; i < m; i++ {
						x, y := a[r[0]+i], b[r[0]+i]
						if got, want := code(dst[i], p.YSigned), refQAdd(x, y, &p); got != want {
							t.Fatalf("%s params %d %+v: QLinearAdd(%d, %d) = %d want %d", name, pi, p, code(x, p.ASigned), code(y, p.BSigned), got, want)
						}
					}
					for i := m; i < len(dst); i++ {
						if dst[i] != 0xa5 {
							t.Fatalf("%s: n=%d: guard %d overwritten", name, m, i)
						}
					}
				}
			}
		}
	})
}

// refRequant is ONNX Runtime's float32 requantization in float64 steps
// (MLAS: a NaN product clamps to lo).
func refRequant(x float32, bias int32, m float32, zp, lo, hi int32) int32 {
	acc := int32(int64(x)) + bias
	f := float32(acc) * m
	if math.IsNaN(float64(f)) {
		return lo
	}
	q := math.RoundToEven(float64(f)) + float64(zp)
	return int32(math.Min(math.Max(q, float64(lo)), float64(hi)))
}

func TestRequantizeAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	type cfg struct {
		signed     bool
		zp, lo, hi int32
	}
	cfgs := []cfg{{false, 0, 0, 255}, {false, 128, 0, 255}, {false, 90, 90, 255}, {false, 7, 20, 200},
		{true, 0, -128, 127}, {true, -5, -5, 127}, {true, 100, -128, 127}, {true, 3, -60, 70}, {true, 0, -1000, 1000}}
	src := make([]float32, 0, 1<<16)
	for k := -600; k <= 600; k++ {
		src = append(src, float32(k))
	}
	for len(src) < cap(src)-16 {
		switch rng.IntN(3) {
		case 0:
			src = append(src, float32(rng.IntN(1<<25)-1<<24))
		case 1:
			src = append(src, float32(rng.IntN(1<<14)-1<<13))
		default:
			src = append(src, float32(rng.Int32N(1<<30)-1<<29)) // large, still exact enough: integer-valued
		}
	}
	src = append(src, 0, float32(math.Copysign(0, -1)), 1<<24, -1<<24, 1<<30, -1<<30)
	for len(src)%64 != 0 {
		src = append(src, 1)
	}
	mults := []float32{0.5, 0.25, 1, 1e-3, 0.0173, 3.7e-5, 1e-9, 1e9, float32(math.Inf(1)), float32(math.NaN()), -0.02}
	forEachFusedImpl(t, func(name string) {
		for _, c := range cfgs {
			for _, cols := range []int{1, 7, 8, 15, 16, 17, 31, 33, 49, 64, 196, 1 << 10} {
				rows := len(src) / cols
				if rows > 40 {
					rows = 40
				}
				if cols == 1<<10 {
					rows = len(src) / cols
				}
				s := src[:rows*cols]
				mult := make([]float32, rows)
				bias := make([]int32, rows)
				for r := range mult {
					mult[r] = mults[r%len(mults)] * (1 + float32(r)/64)
					bias[r] = int32(rng.IntN(1<<20) - 1<<19)
				}
				if rows > 3 {
					bias[3] = math.MaxInt32 // int32 wrap-around, as the integer finisher
				}
				for _, bb := range [][]int32{nil, bias} {
					dst := make([]uint8, len(s)+5)
					for i := range dst {
						dst[i] = 0x5a
					}
					if c.signed {
						RequantizeInt8(unsafeInt8(dst[:len(s)]), s, cols, bb, mult, c.zp, c.lo, c.hi)
					} else {
						RequantizeUint8(dst[:len(s)], s, cols, bb, mult, c.zp, c.lo, c.hi)
					}
					lo, hi := max(c.lo, 0), min(c.hi, 255)
					if c.signed {
						lo, hi = max(c.lo, -128), min(c.hi, 127)
					}
					for i, x := range s {
						r := i / cols
						var bv int32
						if bb != nil {
							bv = bb[r]
						}
						if got, want := code(dst[i], c.signed), refRequant(x, bv, mult[r], c.zp, lo, hi); got != want {
							t.Fatalf("%s %+v cols %d: requant(%g + %d, * %g) = %d want %d", name, c, cols, x, bv, mult[r], got, want)
						}
					}
					for i := len(s); i < len(dst); i++ {
						if dst[i] != 0x5a {
							t.Fatalf("%s cols %d: guard %d overwritten", name, cols, i)
						}
					}
				}
			}
		}
	})
}

func TestRequantizeEmpty(t *testing.T) {
	forEachFusedImpl(t, func(string) {
		RequantizeUint8(nil, nil, 4, nil, nil, 0, 0, 255)
		RequantizeInt8(nil, nil, 0, nil, nil, 0, -128, 127)
		QLinearAdd(nil, nil, nil, &QAddParams{SA: 1, SB: 1, SY: 1, Hi: 255})
	})
}

func TestSetFusedImplUnknown(t *testing.T) {
	if err := SetFusedImpl("no-such"); err == nil {
		t.Fatal("expected error")
	}
}

func unsafeInt8(b []uint8) []int8 {
	return unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(b))), len(b))
}

// BenchmarkQLinearAdd: a ResNet-18 residual join (64x56x56 uint8) per
// kernel set; MB/s counts output bytes.
func BenchmarkQLinearAdd(b *testing.B) {
	const n = 64 * 56 * 56
	rng := rand.New(rand.NewPCG(1, 2))
	x, y, o := make([]uint8, n), make([]uint8, n), make([]uint8, n)
	for i := range x {
		x[i], y[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
	}
	p := &QAddParams{SA: 0.037, SB: 0.021, SY: 0.05, ZA: 120, ZB: 7, ZY: 100, Lo: 100, Hi: 255}
	forEachFusedImpl(b, func(name string) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(n)
			for b.Loop() {
				QLinearAdd(o, x, y, p)
			}
		})
	})
}

// BenchmarkRequantize: a MobileNetV2 depthwise output (144 channels of
// 28x28, uint8) per kernel set; MB/s counts output bytes.
func BenchmarkRequantize(b *testing.B) {
	for _, sh := range [][2]int{{144, 28 * 28}, {960, 7 * 7}} {
		rows, cols := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(3, 4))
		src, o := make([]float32, rows*cols), make([]uint8, rows*cols)
		mult, bias := make([]float32, rows), make([]int32, rows)
		for i := range src {
			src[i] = float32(rng.IntN(20000) - 10000)
		}
		for r := range mult {
			mult[r], bias[r] = 0.001+0.01*rng.Float32(), int32(rng.IntN(2000)-1000)
		}
		forEachFusedImpl(b, func(name string) {
			b.Run(fmt.Sprintf("%dx%d/%s", rows, cols, name), func(b *testing.B) {
				b.SetBytes(int64(rows * cols))
				for b.Loop() {
					RequantizeUint8(o, src, cols, bias, mult, 3, 3, 255)
				}
			})
		})
	}
}
