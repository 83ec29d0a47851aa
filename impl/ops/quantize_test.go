package ops

import (
	"math"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// rawT builds a tensor of dtype dt over data (which must be dt's storage).
func rawT(dt tensor.DType, shape []int, data any) *tensor.Tensor {
	return &tensor.Tensor{DType: dt, Shape: shape, Data: data}
}

func wantU8(t *testing.T, what string, got *tensor.Tensor, dt tensor.DType, want ...uint8) {
	t.Helper()
	if got.DType != dt {
		t.Fatalf("%s: dtype %s, want %s", what, dtypeName(got.DType), dtypeName(dt))
	}
	d := got.Data.([]uint8)
	for i := range want {
		if d[i] != want[i] {
			t.Fatalf("%s: codes %v, want %v", what, d, want)
		}
	}
}

func wantI8(t *testing.T, what string, got *tensor.Tensor, dt tensor.DType, want ...int8) {
	t.Helper()
	if got.DType != dt {
		t.Fatalf("%s: dtype %s, want %s", what, dtypeName(got.DType), dtypeName(dt))
	}
	d := got.Data.([]int8)
	for i := range want {
		if d[i] != want[i] {
			t.Fatalf("%s: values %v, want %v", what, d, want)
		}
	}
}

// The float8 cases of the ONNX operator documentation (0, 1, 2, 100000,
// 200 over scale 2) plus 1e6, out of every float8 range, with and without
// saturate.
func TestQuantizeLinearFloat8(t *testing.T) {
	x := f32s(sh(6), 0, 1, 2, 100000, 200, 1e6)
	s := tensor.Scalar(float32(2))
	q := func(dt tensor.DType, attrs ...*graph.Attr) *tensor.Tensor {
		zp := rawT(dt, sh(1), []uint8{0})
		return run1(t, mk("QuantizeLinear", 3, 1, attrs...), 25, x, s, zp)
	}
	noSat := graph.AttrI("saturate", 0)
	// 0, 0.5, 1, 448 (saturated), 96, 448
	wantU8(t, "e4m3fn", q(tensor.Float8E4M3FN), tensor.Float8E4M3FN, 0x00, 0x30, 0x38, 0x7e, 0x6c, 0x7e)
	// 0, 0.5, 1, 49152 (50000 rounded, in range), 96, 57344 (saturated)
	wantU8(t, "e5m2", q(tensor.Float8E5M2), tensor.Float8E5M2, 0x00, 0x38, 0x3c, 0x7a, 0x56, 0x7b)
	// saturate=0: E4M3FN overflows to NaN, E5M2 to Inf, the FNUZ formats to their NaN (0x80).
	wantU8(t, "e4m3fn no-sat", q(tensor.Float8E4M3FN, noSat), tensor.Float8E4M3FN, 0, 0x30, 0x38, 0x7f, 0x6c, 0x7f)
	wantU8(t, "e5m2 no-sat", q(tensor.Float8E5M2, noSat), tensor.Float8E5M2, 0, 0x38, 0x3c, 0x7a, 0x56, 0x7c)
	wantU8(t, "e4m3fnuz no-sat", q(tensor.Float8E4M3FNUZ, noSat), tensor.Float8E4M3FNUZ, 0, 0x38, 0x40, 0x80, 0x74, 0x80)
	wantU8(t, "e4m3fnuz", q(tensor.Float8E4M3FNUZ), tensor.Float8E4M3FNUZ, 0, 0x38, 0x40, 0x7f, 0x74, 0x7f)
	wantU8(t, "e5m2fnuz", q(tensor.Float8E5M2FNUZ), tensor.Float8E5M2FNUZ, 0, 0x3c, 0x40, 0x7e, 0x5a, 0x7f)
	wantU8(t, "e5m2fnuz no-sat", q(tensor.Float8E5M2FNUZ, noSat), tensor.Float8E5M2FNUZ, 0, 0x3c, 0x40, 0x7e, 0x5a, 0x80)

	// -0 keeps its sign where the format has one (a zero zero point adds nothing).
	neg := f32s(sh(2), float32(math.Copysign(0, -1)), -3)
	got := run1(t, mk("QuantizeLinear", 3, 1), 25, neg, tensor.Scalar(float32(1)), rawT(tensor.Float8E4M3FN, nil, []uint8{0}))
	wantU8(t, "-0 e4m3fn", got, tensor.Float8E4M3FN, 0x80, 0xc4)
	got = run1(t, mk("QuantizeLinear", 3, 1), 25, neg, tensor.Scalar(float32(1)), rawT(tensor.Float8E4M3FNUZ, nil, []uint8{0}))
	wantU8(t, "-0 e4m3fnuz", got, tensor.Float8E4M3FNUZ, 0x00, 0xcc)
	// A nonzero zero point is added as a value: 2/1 + 1 = 3.
	got = run1(t, mk("QuantizeLinear", 3, 1), 25, f32s(sh(1), 2), tensor.Scalar(float32(1)), rawT(tensor.Float8E4M3FN, nil, []uint8{0x38}))
	wantU8(t, "zero point 1", got, tensor.Float8E4M3FN, 0x44)
	// NaN input -> the format's NaN; +-Inf saturate.
	spec := f32s(sh(3), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)))
	got = run1(t, mk("QuantizeLinear", 3, 1), 25, spec, tensor.Scalar(float32(1)), rawT(tensor.Float8E4M3FN, nil, []uint8{0}))
	wantU8(t, "specials e4m3fn", got, tensor.Float8E4M3FN, 0x7f, 0x7e, 0xfe)
}

// ONNX's float4e2m1 case: per-axis scales, saturation at +-6.
func TestQuantizeLinearFloat4(t *testing.T) {
	x := f32s(sh(3, 4), 0, 2.5, 4.8, 8.6, -30, -20, 6, 9, float32(math.Copysign(0, -1)), -2.5, -4.8, -8.6)
	s := f32s(sh(3), 2, 3, 4)
	zp := rawT(tensor.Float4E2M1, sh(3), []uint8{0, 0, 0})
	got := run1(t, mk("QuantizeLinear", 3, 1, graph.AttrI("axis", 0)), 25, x, s, zp)
	// 0, 1.25->1, 2.4->2, 4.3->4 | -10->-6, -6.67->-6, 2, 3 | -0, -0.625->-0.5, -1.2->-1, -2.15->-2
	// (-0 stays -0, code 8: a zero zero point is not added.)
	wantU8(t, "float4e2m1", got, tensor.Float4E2M1, 0, 2, 4, 6, 15, 15, 4, 5, 8, 9, 10, 12)
	// saturate=0 changes nothing: E2M1 has no Inf or NaN.
	got = run1(t, mk("QuantizeLinear", 3, 1, graph.AttrI("axis", 0), graph.AttrI("saturate", 0)), 25, x, s, zp)
	wantU8(t, "float4e2m1 no-sat", got, tensor.Float4E2M1, 0, 2, 4, 6, 15, 15)
}

func TestQuantizeLinear2Bit(t *testing.T) {
	x := f32s(sh(3, 4), 0, 2.5, 4.8, 8.6, -4, -3, 1, 2, 0, -2.5, -4.8, -8.6)
	s := f32s(sh(3), 2, 3, 4)
	got := run1(t, mk("QuantizeLinear", 3, 1, graph.AttrI("axis", 0)), 25, x, s, rawT(Int2, sh(3), []int8{0, 0, 0}))
	// int2 is [-2, 1]: 1.25 -> 1, 2.4 -> 1 (clamped), -1.33 -> -1, -1.2 -> -1, -2.15 -> -2
	wantI8(t, "int2", got, Int2, 0, 1, 1, 1, -1, -1, 0, 1, 0, -1, -1, -2)
	xu := f32s(sh(3, 4), 0, 2.5, 4.8, 8.6, -2, -1, 1, 3, 4, 5, 6, 7)
	got = run1(t, mk("QuantizeLinear", 3, 1, graph.AttrI("axis", 0)), 25, xu, s, rawT(Uint2, sh(3), []uint8{0, 0, 1}))
	// uint2 is [0, 3]: 4.3 -> 4 clamps to 3, negatives to 0; the last row
	// adds zero point 1 to 1, 1.25->1, 1.5->2, 1.75->2.
	wantU8(t, "uint2", got, Uint2, 0, 1, 2, 3, 0, 0, 0, 1, 2, 2, 3, 3)
}

// output_dtype sets the type without a zero point; with one it must agree.
func TestQuantizeLinearOutputDType(t *testing.T) {
	x := f32s(sh(4), -20, -1, 1, 20)
	s := tensor.Scalar(float32(1))
	got := run1(t, mk("QuantizeLinear", 2, 1, graph.AttrI("output_dtype", int64(tensor.Int4))), 25, x, s)
	wantI8(t, "int4", got, tensor.Int4, -8, -1, 1, 7)
	got = run1(t, mk("QuantizeLinear", 2, 1, graph.AttrI("output_dtype", int64(tensor.Float8E5M2))), 25, x, s)
	wantU8(t, "e5m2", got, tensor.Float8E5M2, 0xcd, 0xbc, 0x3c, 0x4d)
	got = run1(t, mk("QuantizeLinear", 2, 1), 25, x, s)
	wantU8(t, "default uint8", got, tensor.Uint8, 0, 0, 1, 20)
	_, err := exec(mk("QuantizeLinear", 3, 1, graph.AttrI("output_dtype", int64(tensor.Int8))), 25, x, s, tensor.Scalar(uint8(0)))
	if err == nil || !strings.Contains(err.Error(), "output_dtype") {
		t.Fatalf("mismatched output_dtype: err %v", err)
	}
	_, err = exec(mk("QuantizeLinear", 2, 1, graph.AttrI("output_dtype", int64(tensor.Float32))), 25, x, s)
	if err == nil || !strings.Contains(err.Error(), "not a quantized type") {
		t.Fatalf("float32 output: err %v", err)
	}
}

// Blocked quantization with a ragged last block (block_size 3 over 4).
func TestQuantizeLinearBlocked(t *testing.T) {
	x := f32s(sh(2, 4), 1, 2, 3, 4, -8, -16, 24, 100)
	s := f32s(sh(2, 2), 1, 2, 8, 4)
	got := run1(t, mk("QuantizeLinear", 2, 1, graph.AttrI("axis", 1), graph.AttrI("block_size", 3), graph.AttrI("output_dtype", int64(tensor.Int16))), 25, x, s)
	want := []int16{1, 2, 3, 2, -1, -2, 3, 25}
	for i, v := range got.Data.([]int16) {
		if v != want[i] {
			t.Fatalf("blocked %v, want %v", got.Data, want)
		}
	}
	if _, err := exec(mk("QuantizeLinear", 2, 1, graph.AttrI("block_size", 1)), 25, x, s); err == nil {
		t.Fatal("block_size 1 needs a [2,4] scale: want an error for [2,2]")
	}
}

// The division happens in the type of y_scale unless `precision` names another.
func TestQuantizeLinearPrecision(t *testing.T) {
	x := f32s(sh(2), 2049, -2051)
	s16 := rawT(tensor.Float16, nil, []uint16{0x3c00}) // 1.0
	i16 := tensor.DType(tensor.Int16)
	// float16 holds 2048 and 2052 but not 2049 or 2051 (ties to even).
	got := run1(t, mk("QuantizeLinear", 2, 1, graph.AttrI("output_dtype", int64(i16))), 25, x, s16)
	if d := got.Data.([]int16); d[0] != 2048 || d[1] != -2052 {
		t.Fatalf("float16 division: %v, want [2048 -2052]", d)
	}
	got = run1(t, mk("QuantizeLinear", 2, 1, graph.AttrI("output_dtype", int64(i16)), graph.AttrI("precision", int64(tensor.Float32))), 25, x, s16)
	if d := got.Data.([]int16); d[0] != 2049 || d[1] != -2051 {
		t.Fatalf("float32 precision: %v, want [2049 -2051]", d)
	}
	// bfloat16 keeps 8 significant bits: 2049 -> 2048, 257/1 -> 256.
	sb := rawT(tensor.BFloat16, nil, []uint16{0x3f80})
	got = run1(t, mk("QuantizeLinear", 2, 1, graph.AttrI("output_dtype", int64(i16))), 25, f32s(sh(2), 2049, 257), sb)
	if d := got.Data.([]int16); d[0] != 2048 || d[1] != 256 {
		t.Fatalf("bfloat16 division: %v", d)
	}
	// float16 and int32 inputs; an e8m0 scale (2^-2) divides in float32.
	xh := rawT(tensor.Float16, sh(2), []uint16{0x4200, 0xc500}) // 3, -5
	got = run1(t, mk("QuantizeLinear", 2, 1, graph.AttrI("output_dtype", int64(tensor.Int8))), 25, xh, rawT(Float8E8M0, nil, []uint8{125}))
	wantI8(t, "float16 x / e8m0", got, tensor.Int8, 12, -20)
	xi := tensor.MustFromSlice([]int32{7, -9, 1000}, 3)
	got = run1(t, mk("QuantizeLinear", 2, 1, graph.AttrI("output_dtype", int64(tensor.Int8))), 25, xi, tensor.Scalar(float32(2)))
	wantI8(t, "int32 x", got, tensor.Int8, 4, -4, 127) // 3.5 -> 4, -4.5 -> -4 (ties to even)
	if _, err := exec(mk("QuantizeLinear", 2, 1, graph.AttrI("precision", int64(tensor.Int8))), 25, x, s16); err == nil {
		t.Fatal("precision int8: want an error")
	}
}

func TestDequantizeLinearFloat8(t *testing.T) {
	x := rawT(tensor.Float8E4M3FN, sh(5), []uint8{0, 48, 56, 126, 237})
	got := run1(t, mk("DequantizeLinear", 2, 1), 25, x, tensor.Scalar(float32(2)))
	expect(t, "e4m3fn", got, sh(5), []float64{0, 1, 2, 896, -208}, 0)
	// float16 scale -> float16 output.
	got = run1(t, mk("DequantizeLinear", 2, 1), 25, x, rawT(tensor.Float16, nil, []uint16{0x4000}))
	if got.DType != tensor.Float16 {
		t.Fatalf("float16 scale: output %s", got.DType)
	}
	expect(t, "e4m3fn*f16", got, sh(5), []float64{0, 1, 2, 896, -208}, 0)
	// output_dtype overrides; an e8m0 scale needs it.
	e8 := rawT(Float8E8M0, nil, []uint8{128}) // 2
	got = run1(t, mk("DequantizeLinear", 2, 1, graph.AttrI("output_dtype", int64(tensor.BFloat16))), 25, x, e8)
	if got.DType != tensor.BFloat16 {
		t.Fatalf("output_dtype bfloat16: output %s", got.DType)
	}
	expect(t, "e4m3fn*e8m0", got, sh(5), []float64{0, 1, 2, 896, -208}, 0)
	if _, err := exec(mk("DequantizeLinear", 2, 1), 25, x, e8); err == nil || !strings.Contains(err.Error(), "output_dtype") {
		t.Fatalf("e8m0 scale without output_dtype: err %v", err)
	}
	// The zero point is subtracted as a value; NaN stays NaN.
	x5 := rawT(tensor.Float8E5M2, sh(3), []uint8{0x3c, 0x7e, 0xd6})
	got = run1(t, mk("DequantizeLinear", 3, 1), 25, x5, tensor.Scalar(float32(2)), rawT(tensor.Float8E5M2, nil, []uint8{0x3c}))
	expect(t, "e5m2 zp", got, sh(3), []float64{0, math.NaN(), -194}, 0)
	x4 := rawT(tensor.Float4E2M1, sh(5), []uint8{0, 2, 10, 3, 14})
	got = run1(t, mk("DequantizeLinear", 3, 1), 25, x4, tensor.Scalar(float32(2)), rawT(tensor.Float4E2M1, sh(1), []uint8{0}))
	expect(t, "float4e2m1", got, sh(5), []float64{0, 2, -2, 3, -8}, 0)
}

func TestDequantizeLinearIntegers(t *testing.T) {
	got := run1(t, mk("DequantizeLinear", 3, 1), 25, rawT(Int2, sh(4), []int8{0, 1, -1, -2}), tensor.Scalar(float32(2)), rawT(Int2, sh(1), []int8{1}))
	expect(t, "int2", got, sh(4), []float64{-2, 0, -4, -6}, 0)
	got = run1(t, mk("DequantizeLinear", 3, 1), 25, rawT(Uint2, sh(4), []uint8{0, 1, 2, 3}), tensor.Scalar(float32(2)), rawT(Uint2, sh(1), []uint8{1}))
	expect(t, "uint2", got, sh(4), []float64{-2, 0, 2, 4}, 0)
	got = run1(t, mk("DequantizeLinear", 2, 1), 25, tensor.MustFromSlice([]int32{-7, 1 << 30}, 2), tensor.Scalar(float32(0.5)))
	expect(t, "int32", got, sh(2), []float64{-3.5, 1 << 29}, 0)
	// The multiplication is in the output type: float16 cannot hold 2049,
	// which becomes 2048 before it is multiplied by 3 (6147 would round to 6148).
	xi := tensor.MustFromSlice([]int16{2049, 3}, 2)
	three := rawT(tensor.Float16, nil, []uint16{0x4200})
	got = run1(t, mk("DequantizeLinear", 2, 1), 25, xi, three)
	expect(t, "int16*f16", got, sh(2), []float64{6144, 9}, 0)
	got = run1(t, mk("DequantizeLinear", 2, 1, graph.AttrI("output_dtype", int64(tensor.Float32))), 25, xi, three)
	expect(t, "int16*f16 -> f32", got, sh(2), []float64{6147, 9}, 0)
	if _, err := exec(mk("DequantizeLinear", 3, 1), 25, tensor.MustFromSlice([]int8{1}, 1), tensor.Scalar(float32(1)), tensor.Scalar(uint8(0))); err == nil {
		t.Fatal("zero point of another type: want an error")
	}
}

// Dequantizing every code with scale 1 and quantizing back returns the code
// (NaN codes come back as the format's NaN).
func TestQuantizeRoundTripAllCodes(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.Float8E4M3FN, tensor.Float8E4M3FNUZ, tensor.Float8E5M2, tensor.Float8E5M2FNUZ, tensor.Float4E2M1} {
		f, _ := formatOf(dt)
		n := 256
		if dt == tensor.Float4E2M1 {
			n = 16
		}
		codes := make([]uint8, n)
		for i := range codes {
			codes[i] = uint8(i)
		}
		x := rawT(dt, sh(n), codes)
		for _, sdt := range []tensor.DType{tensor.Float32, tensor.Float16, tensor.BFloat16} {
			one := scalarOf(t, sdt, 1)
			deq := run1(t, mk("DequantizeLinear", 2, 1), 25, x, one)
			zp := rawT(dt, nil, []uint8{0})
			back := run1(t, mk("QuantizeLinear", 3, 1, graph.AttrI("saturate", 0)), 25, deq, one, zp)
			for i, c := range back.Data.([]uint8) {
				want := codes[i]
				if math.IsNaN(f.decode(uint32(want))) {
					want = uint8(f.nanCode())
				}
				if c != want && !(math.IsNaN(f.decode(uint32(c))) && math.IsNaN(f.decode(uint32(want)))) {
					t.Fatalf("%s via %s: code %#x came back as %#x", dtypeName(dt), sdt, codes[i], c)
				}
			}
		}
	}
	for _, dt := range []tensor.DType{tensor.Int8, tensor.Uint8, tensor.Int4, tensor.Uint4, Int2, Uint2, tensor.Int16, tensor.Uint16} {
		lo, hi, _ := IntRange(dt)
		x := newTensor(dt, int(hi-lo+1))
		for i := range int(hi - lo + 1) {
			setInt(x, i, lo+int64(i))
		}
		zp := newTensor(dt)
		setInt(zp, 0, (lo+hi)/2)
		s := tensor.Scalar(float32(0.25))
		deq := run1(t, mk("DequantizeLinear", 3, 1), 25, x, s, zp)
		back := run1(t, mk("QuantizeLinear", 3, 1), 25, deq, s, zp)
		a, _ := ToInt64(x)
		b, _ := ToInt64(back)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s: %d came back as %d", dtypeName(dt), a[i], b[i])
			}
		}
	}
}

// scalarOf makes a scalar of a float dtype.
func scalarOf(t *testing.T, dt tensor.DType, v float64) *tensor.Tensor {
	t.Helper()
	s, err := FromFloat64(dt, []float64{v}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDequantizeLinearShapeOutputDType(t *testing.T) {
	g := graph.New("g")
	g.Inputs = []graph.ValueInfo{{Name: "a", Type: graph.Type{DType: tensor.Float8E4M3FN}}, {Name: "b", Type: graph.Type{DType: Float8E8M0}}}
	g.Nodes = []*graph.Node{mk("DequantizeLinear", 2, 1, graph.AttrI("output_dtype", int64(tensor.Float16)))}
	types, err := graph.InferShapes(g, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := types["y"].DType; got != tensor.Float16 {
		t.Fatalf("output_dtype float16: inferred %s", got)
	}
	g.Nodes = []*graph.Node{mk("DequantizeLinear", 2, 1)}
	g.Inputs[1].Type.DType = tensor.BFloat16
	if types, _ = graph.InferShapes(g, nil, nil); types["y"].DType != tensor.BFloat16 {
		t.Fatalf("bfloat16 scale: inferred %s", types["y"].DType)
	}
}

// Random, mostly ill-fitting inputs and attributes return errors, never
// panic (the generic sweep in robustness_test.go skips this family).
func TestQuantizeNoPanics(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	dts := []tensor.DType{tensor.Float32, tensor.Float16, tensor.BFloat16, tensor.Int32, tensor.Int8, tensor.Uint8, tensor.Int4,
		Int2, Uint2, tensor.Float8E4M3FN, tensor.Float4E2M1, Float8E8M0, tensor.Int64, tensor.Bool, tensor.String}
	shapes := [][]int{{}, {0}, {1}, {3}, {2, 3}, {3, 2}, {2, 2, 2}}
	mkT := func() *tensor.Tensor { return newTensor(dts[r.IntN(len(dts))], shapes[r.IntN(len(shapes))]...) }
	for trial := range 3000 {
		op := []string{"QuantizeLinear", "DequantizeLinear"}[r.IntN(2)]
		nin := 2 + r.IntN(2)
		n := mk(op, nin, 1)
		for _, a := range []string{"axis", "block_size", "output_dtype", "saturate", "precision"} {
			if r.IntN(3) == 0 {
				n.SetAttr(graph.AttrI(a, int64(r.IntN(28)-2)))
			}
		}
		in := make([]Value, nin)
		for i := range in {
			in[i] = mkT()
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("trial %d %s: panic %v\n%s", trial, op, p, debug.Stack())
				}
			}()
			_, _ = exec(n, 25, in...)
		}()
	}
}

// The per-tensor table path for one-byte codes equals the element-wise path
// (a per-axis scale holding the same value everywhere).
func TestDequantizeLinearTableMatchesElementwise(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, dt := range []tensor.DType{tensor.Int8, tensor.Uint8, tensor.Int4, tensor.Uint4, Int2, Uint2,
		tensor.Float8E4M3FN, tensor.Float8E4M3FNUZ, tensor.Float8E5M2, tensor.Float8E5M2FNUZ, tensor.Float4E2M1} {
		for _, sdt := range []tensor.DType{tensor.Float32, tensor.Float16, tensor.BFloat16} {
			x := newTensor(dt, 4, 64)
			zp := newTensor(dt)
			zpAxis := newTensor(dt, 4)
			bits := dt.Bits()
			if dt == Int2 || dt == Uint2 {
				bits = 2
			}
			fill := func(t *tensor.Tensor) {
				switch d := t.Data.(type) {
				case []uint8:
					for i := range d {
						d[i] = uint8(r.IntN(1 << bits))
					}
				case []int8:
					for i := range d {
						d[i] = int8(r.IntN(1<<bits) - 1<<(bits-1))
					}
				}
			}
			fill(x)
			if !isFloat(dt) {
				fill(zp)
				for i := range 4 {
					setInt(zpAxis, i, mustInt(t, zp))
				}
			}
			s := scalarOf(t, sdt, 0.1)
			sAxis := newTensor(sdt, 4)
			for i := range 4 {
				switch d := sAxis.Data.(type) {
				case []float32:
					d[i] = s.F32()[0]
				case []uint16:
					d[i] = s.U16()[0]
				}
			}
			var tab, elem *tensor.Tensor
			var err error
			if isFloat(dt) {
				tab, err = DequantizeLinear(x, s, nil, 0, 0)
				if err == nil {
					elem, err = DequantizeLinear(x, sAxis, nil, 0, 0)
				}
			} else {
				tab, err = DequantizeLinear(x, s, zp, 0, 0)
				if err == nil {
					elem, err = DequantizeLinear(x, sAxis, zpAxis, 0, 0)
				}
			}
			if err != nil {
				t.Fatalf("%s/%s: %v", dtypeName(dt), sdt, err)
			}
			a, _ := ToFloat64(tab)
			b, _ := ToFloat64(elem)
			for i := range a {
				if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
					t.Fatalf("%s/%s element %d: table %v, element-wise %v", dtypeName(dt), sdt, i, a[i], b[i])
				}
			}
		}
	}
}

func mustInt(t *testing.T, x *tensor.Tensor) int64 {
	t.Helper()
	v, err := ToInt64(x)
	if err != nil {
		t.Fatal(err)
	}
	return v[0]
}

// Per-axis and blocked dequantization index their scales and zero points
// like quantization does.
func TestDequantizeLinearAxisAndBlocked(t *testing.T) {
	x := tensor.MustFromSlice([]uint8{10, 20, 30, 40, 50, 60}, 2, 3)
	got := run1(t, mk("DequantizeLinear", 3, 1, graph.AttrI("axis", 0)), 25, x, f32s(sh(2), 1, 0.5), tensor.MustFromSlice([]uint8{10, 20}, 2))
	expect(t, "axis 0", got, sh(2, 3), []float64{0, 10, 20, 10, 15, 20}, 0)
	got = run1(t, mk("DequantizeLinear", 3, 1, graph.AttrI("axis", 1), graph.AttrI("block_size", 2)), 25, x,
		f32s(sh(2, 2), 1, 2, 3, 4), tensor.MustFromSlice([]uint8{0, 30, 40, 0}, 2, 2))
	expect(t, "blocked", got, sh(2, 3), []float64{10, 20, 0, 0, 30, 240}, 0)
}

// The per-tensor float32 fast path (arith/convert's SIMD loop) follows the
// spec formula on random values, halves, infinities and NaN.
func TestQuantizeLinearFastPathMatchesSpec(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	xs := make([]float32, 4099)
	for i := range xs {
		xs[i] = float32(r.NormFloat64() * 40)
	}
	xs[0], xs[1], xs[2], xs[3], xs[4] = float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0.5*0.37, 2.5*0.37
	x := tensor.MustFromSlice(xs, len(xs))
	for _, zp := range []*tensor.Tensor{tensor.Scalar(uint8(128)), tensor.Scalar(int8(-3)), nil} {
		out, err := QuantizeLinearOpts(x, tensor.Scalar(float32(0.37)), zp, QuantizeOptions{Saturate: true})
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := 0.0, 255.0
		z := 0.0
		if zp != nil {
			z = zp.Float64At(0)
			if zp.DType == tensor.Int8 {
				lo, hi = -128, 127
			}
		}
		for i, v := range xs {
			q := math.RoundToEven(float64(v/0.37)) + z
			if math.IsNaN(q) {
				q = z
			}
			q = math.Max(lo, math.Min(hi, q))
			if got := out.Float64At(i); got != q {
				t.Fatalf("zp %v: x=%v gives %v, spec %v", zp, v, got, q)
			}
		}
	}
}

// The threaded per-tensor paths must equal QuantizeLinear / DequantizeLinear.
func TestParallelQuantizeDequantizeMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	n := 3*parallelChunk + 77
	x := tensor.New(tensor.Float32, 1, n)
	for i := range x.F32() {
		x.F32()[i] = float32(rng.NormFloat64() * 40)
		switch i % 97 {
		case 0:
			x.F32()[i] = float32(math.NaN())
		case 1:
			x.F32()[i] = float32(math.Inf(1 - 2*(i%2)))
		case 2:
			x.F32()[i] = 2.5 * 0.1 // a tie at scale 0.1
		}
	}
	ctx := &Ctx{Threads: 2}
	for _, zp := range []*tensor.Tensor{nil, tensor.Scalar(uint8(130)), tensor.Scalar(int8(-7))} {
		scale := tensor.Scalar(float32(0.1))
		got := parallelQuantize(ctx, x, scale, zp, QuantizeOptions{Axis: 1, Saturate: true})
		if got == nil {
			t.Fatalf("zp %v: parallel path not taken", zp)
		}
		want, err := QuantizeLinearOpts(x, scale, zp, QuantizeOptions{Axis: 1, Saturate: true})
		if err != nil {
			t.Fatal(err)
		}
		if got.DType != want.DType {
			t.Fatalf("dtype %s, want %s", got.DType, want.DType)
		}
		for i := 0; i < want.Len(); i++ {
			if got.Float64At(i) != want.Float64At(i) {
				t.Fatalf("zp %v: quantized[%d] of %v = %v, want %v", zp, i, x.F32()[i], got.Float64At(i), want.Float64At(i))
			}
		}
		dzp := zp
		if dzp == nil {
			dzp = tensor.Scalar(uint8(0))
		}
		dgot := parallelDequantize(ctx, want, scale, dzp)
		if dgot == nil {
			t.Fatal("parallel dequantize not taken")
		}
		dwant, err := DequantizeLinear(want, scale, dzp, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range dwant.F32() {
			if math.Float32bits(dgot.F32()[i]) != math.Float32bits(dwant.F32()[i]) {
				t.Fatalf("dequantized[%d] = %v, want %v", i, dgot.F32()[i], dwant.F32()[i])
			}
		}
	}
	// Cases the fast paths leave to the general code.
	if parallelQuantize(ctx, x, tensor.Scalar(float32(0.1)), tensor.Scalar(uint8(1)), QuantizeOptions{OutDType: tensor.Int8}) != nil {
		t.Error("mismatched output_dtype and zero point not left to QuantizeLinearOpts")
	}
}
