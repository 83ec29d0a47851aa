package ops

import (
	"math"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func TestF16RoundTripExhaustive(t *testing.T) {
	for c := 0; c < 1<<16; c++ {
		f := tensor.HalfToFloat32(uint16(c))
		if f != f {
			if g := F32ToF16(f); g&0x7c00 != 0x7c00 || g&0x3ff == 0 {
				t.Fatalf("NaN %#04x re-encoded as %#04x", c, g)
			}
			continue
		}
		if g := F32ToF16(f); g != uint16(c) {
			t.Fatalf("half %#04x -> %v -> %#04x", c, f, g)
		}
		if g := fmtF16.encode(float64(f), false); g != uint32(c) {
			t.Fatalf("generic encoder: half %#04x -> %v -> %#04x", c, f, g)
		}
		if d := fmtF16.decode(uint32(c)); d != float64(f) {
			t.Fatalf("generic decoder: half %#04x -> %v, want %v", c, d, f)
		}
	}
}

// Midpoints between adjacent finite halves round to the even code, and
// values a hair above or below round to the nearer one.
func TestF16MidpointsTiesToEven(t *testing.T) {
	for c := uint16(0); c < 0x7bff; c++ {
		lo, hi := float64(tensor.HalfToFloat32(c)), float64(tensor.HalfToFloat32(c+1))
		mid := (lo + hi) / 2
		even := c
		if c&1 != 0 {
			even = c + 1
		}
		if g := F32ToF16(float32(mid)); g != even {
			t.Fatalf("midpoint of %#04x/%#04x (%v) -> %#04x, want %#04x", c, c+1, mid, g, even)
		}
		if g := uint16(fmtF16.encode(mid, false)); g != even {
			t.Fatalf("generic: midpoint of %#04x -> %#04x, want %#04x", c, g, even)
		}
		above := math.Nextafter(mid, math.Inf(1))
		if g := uint16(fmtF16.encode(above, false)); g != c+1 {
			t.Fatalf("just above midpoint of %#04x -> %#04x", c, g)
		}
	}
	if g := F32ToF16(70000); g != 0x7c00 {
		t.Fatalf("overflow -> %#04x, want +Inf", g)
	}
	if g := F32ToF16(65519.99); g != 0x7bff {
		t.Fatalf("65519.99 -> %#04x, want max finite", g)
	}
	if g := F32ToF16(65520); g != 0x7c00 {
		t.Fatalf("65520 (tie with 2^16) -> %#04x, want +Inf", g)
	}
}

func TestBF16RoundTripAndTies(t *testing.T) {
	for c := 0; c < 1<<16; c++ {
		f := BF16ToF32(uint16(c))
		if f != f {
			continue
		}
		if g := F32ToBF16(f); g != uint16(c) {
			t.Fatalf("bf16 %#04x -> %v -> %#04x", c, f, g)
		}
	}
	// 1 + 2^-8 is halfway between 1 and 1+2^-7: ties to even (1).
	if g := F32ToBF16(1 + 1.0/256); g != 0x3f80 {
		t.Fatalf("tie -> %#04x", g)
	}
	if g := F32ToBF16(1 + 3.0/256); g != 0x3f82 {
		t.Fatalf("tie -> %#04x, want 0x3f82 (even)", g)
	}
	if g := F32ToBF16(float32(math.NaN())); g&0x7f80 != 0x7f80 || g&0x7f == 0 {
		t.Fatalf("NaN -> %#04x", g)
	}
}

// Every code of the 8-bit and 4-bit formats decodes and re-encodes to
// itself (NaNs to a NaN), and decoding is monotonic over positive codes.
func TestNarrowFloatsExhaustive(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    floatFormat
		bits int
		max  float64
	}{
		{"e4m3fn", fmtE4M3FN, 8, 448},
		{"e4m3fnuz", fmtE4M3FNUZ, 8, 240},
		{"e5m2", fmtE5M2, 8, 57344},
		{"e5m2fnuz", fmtE5M2FNUZ, 8, 57344},
		{"e2m1", fmtE2M1, 4, 6},
		{"e8m0", fmtE8M0, 8, math.Ldexp(1, 127)},
	} {
		if got := tc.f.maxFinite(); got != tc.max {
			t.Errorf("%s: max %v, want %v", tc.name, got, tc.max)
		}
		prev := math.Inf(-1)
		for c := uint32(0); c < 1<<tc.bits; c++ {
			v := tc.f.decode(c)
			if v != v {
				if g := tc.f.encode(v, false); tc.f.decode(g) == tc.f.decode(g) {
					t.Fatalf("%s: NaN code %#x re-encoded to non-NaN %#x", tc.name, c, g)
				}
				continue
			}
			g := tc.f.encode(v, false)
			if g != c {
				// -0 of the UZ formats is the NaN code; zero re-encodes as +0.
				if !(v == 0 && tc.f.decode(g) == 0) {
					t.Fatalf("%s: code %#x -> %v -> %#x", tc.name, c, v, g)
				}
			}
			if tc.f.signBit() != 0 && c < tc.f.signBit() || tc.f.signBit() == 0 {
				if v < prev {
					t.Fatalf("%s: code %#x (%v) below previous %v", tc.name, c, v, prev)
				}
				prev = v
			}
		}
	}
}

func TestFloat8Saturation(t *testing.T) {
	inf := math.Inf(1)
	cases := []struct {
		f        floatFormat
		x        float64
		sat      bool
		wantCode uint32
	}{
		{fmtE4M3FN, 1000, true, 0x7e},
		{fmtE4M3FN, 1000, false, 0x7f},
		{fmtE4M3FN, -inf, true, 0xfe},
		{fmtE4M3FN, inf, false, 0x7f},
		{fmtE4M3FN, 464, false, 0x7e}, // tie between 448 and 480 (NaN slot): even 448
		{fmtE4M3FN, 465, false, 0x7f},
		{fmtE5M2, 1e6, true, 0x7b},
		{fmtE5M2, 1e6, false, 0x7c},
		{fmtE5M2, -inf, false, 0xfc},
		{fmtE4M3FNUZ, math.Copysign(0, -1), false, 0},
		{fmtE4M3FNUZ, -1e-9, false, 0},
		{fmtE4M3FNUZ, 1000, false, 0x80},
		{fmtE4M3FNUZ, 1000, true, 0x7f},
		{fmtE5M2FNUZ, inf, false, 0x80},
		{fmtE2M1, 100, false, 0x7},
		{fmtE2M1, 0.25, false, 0},   // tie 0 / 0.5 -> even 0
		{fmtE2M1, 0.75, false, 0x2}, // tie 0.5 / 1 -> even 1
		{fmtE2M1, math.NaN(), false, 0x8},
	}
	for _, c := range cases {
		if g := c.f.encode(c.x, c.sat); g != c.wantCode {
			t.Errorf("%+v encode(%v, sat=%v) = %#x, want %#x", c.f, c.x, c.sat, g, c.wantCode)
		}
	}
}

func TestE8M0RoundModes(t *testing.T) {
	for _, c := range []struct {
		x    float32
		mode string
		want uint8
	}{
		{1.1, "up", 128}, {1.1, "down", 127}, {1.1, "nearest", 127},
		{1.6, "nearest", 128}, {0.124, "up", 124}, {4, "up", 129}, {0, "up", 0},
		{float32(math.Inf(1)), "up", 0xfe},
	} {
		if g := e8m0FromFloat32(c.x, true, c.mode); g != c.want {
			t.Errorf("e8m0(%v, %s) = %d, want %d", c.x, c.mode, g, c.want)
		}
	}
}

func TestCastKernel(t *testing.T) {
	x := f32s(sh(6), -9, -1.5, 0.5, 7, 8, 300)
	cast := func(to tensor.DType, attrs ...*graph.Attr) *tensor.Tensor {
		return run1(t, mk("Cast", 1, 1, append(attrs, graph.AttrI("to", int64(to)))...), 21, x)
	}
	if got := cast(tensor.Int4).I8(); got[0] != 7 || got[4] != -8 || got[1] != -1 {
		t.Errorf("int4 wrap: %v", got)
	}
	if got := cast(tensor.Uint8).U8(); got[5] != 44 || got[3] != 7 {
		t.Errorf("uint8 wrap: %v", got)
	}
	if got := cast(tensor.Bool).Bools(); !got[0] || !got[2] {
		t.Errorf("bool: %v", got)
	}
	h := cast(tensor.Float16)
	expect(t, "float16", h, sh(6), []float64{-9, -1.5, 0.5, 7, 8, 300}, 0)
	back := run1(t, mk("Cast", 1, 1, graph.AttrI("to", int64(tensor.Float32))), 21, h)
	expect(t, "float16->float32", back, sh(6), []float64{-9, -1.5, 0.5, 7, 8, 300}, 0)
	e4 := cast(tensor.Float8E4M3FN, graph.AttrI("saturate", 0))
	expect(t, "e4m3fn", e4, sh(6), []float64{-9, -1.5, 0.5, 7, 8, 288}, 0)
	s := cast(tensor.String)
	if got := s.Strings(); got[1] != "-1.5" || got[0] != "-9.0" {
		t.Errorf("string: %q", got)
	}
	f := run1(t, mk("Cast", 1, 1, graph.AttrI("to", int64(tensor.Float64))), 21, s)
	expect(t, "string->double", f, sh(6), []float64{-9, -1.5, 0.5, 7, 8, 300}, 0)
	like := run1(t, mk("CastLike", 2, 1), 21, x, i64s(sh(1), 0))
	if like.DType != tensor.Int64 || like.I64()[1] != -1 {
		t.Errorf("CastLike: %v", like)
	}
}

func TestFormatFloatNumpy(t *testing.T) {
	for v, want := range map[float64]string{1: "1.0", 0.1: "0.1", 1e-5: "1e-05", 1e20: "1e+20", -2.5: "-2.5", math.Inf(-1): "-inf"} {
		if got := formatFloatNumpy(v, 64); got != want {
			t.Errorf("formatFloatNumpy(%v) = %q, want %q", v, got, want)
		}
	}
}
