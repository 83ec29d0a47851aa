package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// RequantizeRows equals the scalar Requantize on every dispatch level, for
// both output types, odd sizes, row bias, Relu and a clamp.
func TestRequantizeRows(t *testing.T) {
	forEachQLevel(t, func(t *testing.T, kn *qkern) {
		r := rand.New(rand.NewPCG(6, 6))
		for _, sz := range [][2]int{{1, 1}, {3, 17}, {5, 64}, {7, 33}, {2, 200}} {
			rows, cols := sz[0], sz[1]
			acc := make([]int32, rows*cols)
			for i := range acc {
				acc[i] = int32(r.IntN(200000) - 100000)
			}
			bias := make([]int32, rows)
			scale := make([]float32, rows)
			for i := range bias {
				bias[i] = int32(r.IntN(20000) - 10000)
				scale[i] = 0.0001 + 0.002*r.Float32()
			}
			for _, ep := range []QEpilogue{{ZeroPoint: 3}, {ZeroPoint: 10, Relu: true}, {ZeroPoint: 0, Clamp: true, Lo: -20, Hi: 90}} {
				u := make([]uint8, rows*cols+1)
				s := make([]int8, rows*cols+1)
				u[rows*cols], s[rows*cols] = 77, 77
				RequantizeRows(acc, rows, cols, bias, scale, ep, u[:rows*cols])
				RequantizeRows(acc, rows, cols, bias, scale, ep, s[:rows*cols])
				if u[rows*cols] != 77 || s[rows*cols] != 77 {
					t.Fatal("wrote past the output")
				}
				for i := 0; i < rows; i++ {
					for j := 0; j < cols; j++ {
						v := acc[i*cols+j] + bias[i]
						_, ulo, uhi := outRange[uint8](&ep)
						_, slo, shi := outRange[int8](&ep)
						if want := Requantize(v, scale[i], ep.ZeroPoint, ulo, uhi); int32(u[i*cols+j]) != want {
							t.Fatalf("%dx%d %+v uint8 [%d,%d] = %d, want %d", rows, cols, ep, i, j, u[i*cols+j], want)
						}
						if want := Requantize(v, scale[i], ep.ZeroPoint, slo, shi); int32(s[i*cols+j]) != want {
							t.Fatalf("%dx%d %+v int8 [%d,%d] = %d, want %d", rows, cols, ep, i, j, s[i*cols+j], want)
						}
					}
				}
			}
		}
	})
}

// TestRequantizeFloat32 pins the float32 arithmetic: the product rounds to
// float32 before rounding to an integer (these cases differ from a float64
// product), and acc itself converts to float32 with rounding.
func TestRequantizeFloat32(t *testing.T) {
	cases := []struct {
		acc       int32
		bits      uint32 // scale
		want, f64 int32
	}{
		{55111, 1003006943, 338, 337},
		{-49897, 1002229264, -288, -287},
		{-30422, 1007438677, -260, -261},
		{1<<24 + 1, 0x3f800000, 1 << 24, 1<<24 + 1}, // float32(acc) rounds
	}
	for _, c := range cases {
		s := math.Float32frombits(c.bits)
		if got := Requantize(c.acc, s, 0, -1<<30, 1<<30); got != c.want {
			t.Errorf("Requantize(%d, %v) = %d, want %d (float64 math: %d)", c.acc, s, got, c.want, c.f64)
		}
	}
}

// TestQFinishSpecial runs every finisher on adversarial values, per-row and
// per-column scales, full and partial vectors, with and without a column
// addend (the assembly's general path; without it, its fast path), and
// checks each code against Requantize bit for bit: ties, int32 extremes,
// products far out of range, infinite and NaN multipliers, subnormal
// products, extreme zero points, Relu and clamps, empty ranges.
func TestQFinishSpecial(t *testing.T) {
	accs := []int32{0, 1, -1, 2, -2, 3, -3, 5, -5, 7, 127, 128, -128, 255, 256, -129, 1000, -1000,
		1<<24 + 1, -(1<<24 + 1), math.MaxInt32, math.MinInt32, math.MaxInt32 - 64, 123456789, -987654321}
	scales := []float32{0.5, 0.25, 1, -1, 3, -0.5, 1e-4, 0.0078125, 1e9, -1e9, 3e38,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0, float32(math.Copysign(0, -1)), 1e-40, 1.5e-45,
		math.Float32frombits(1003006943), math.Float32frombits(1002229264)}
	eps := []QEpilogue{{}, {ZeroPoint: 3}, {ZeroPoint: 128}, {ZeroPoint: -128}, {ZeroPoint: 255}, {ZeroPoint: -5, Relu: true},
		{ZeroPoint: 100, Relu: true}, {ZeroPoint: 1 << 23}, {ZeroPoint: -(1 << 23)}, {ZeroPoint: 1 << 23, Relu: true},
		{ZeroPoint: 7, Clamp: true, Lo: 10, Hi: 90}, {ZeroPoint: 7, Clamp: true, Lo: 90, Hi: 10}, {ZeroPoint: 0, Clamp: true, Lo: -1000, Hi: -500},
		{ZeroPoint: 0, Clamp: true, Lo: 500, Hi: 1000}}
	forEachQLevel(t, func(t *testing.T, kn *qkern) {
		r := rand.New(rand.NewPCG(9, 9))
		for _, cols := range []int{1, 7, 8, 16, 21, 32, 40} {
			rows := len(scales)
			acc := make([]int32, rows*cols)
			for i := range acc {
				acc[i] = accs[r.IntN(len(accs))]
				if r.IntN(3) == 0 {
					acc[i] = int32(r.Uint32())
				}
			}
			colScale := make([]float32, cols)
			colAdd := make([]int32, cols)
			for j := range colScale {
				colScale[j] = scales[r.IntN(len(scales))]
				colAdd[j] = int32(r.IntN(2001) - 1000)
				if j%5 == 0 {
					colAdd[j] = math.MaxInt32 // wraps
				}
			}
			for _, ep := range eps {
				for variant := 0; variant < 4; variant++ {
					perRow, withCol := variant&1 == 0, variant&2 != 0
					for _, signed := range []bool{false, true} {
						var lo, hi int32
						if signed {
							_, lo, hi = outRange[int8](&ep)
						} else {
							_, lo, hi = outRange[uint8](&ep)
						}
						out := make([]byte, rows*cols+1)
						out[rows*cols] = 0x5a
						f := qfin{flags: qRequant, out: unsafe.Pointer(&out[0]), ldo: uintptr(cols), rows: rows, cols: cols,
							tile: &acc[0], tstride: uintptr(cols)}
						f.setBounds(ep.ZeroPoint, lo, hi)
						if perRow {
							f.flags |= qScaleRow
							f.scale = &scales[0]
						} else {
							f.scale = &colScale[0]
						}
						if signed {
							f.flags |= qSigned
						}
						if withCol {
							f.flags |= qColAdd
							f.colAdd = &colAdd[0]
						}
						kn.finish(&f)
						if out[rows*cols] != 0x5a {
							t.Fatal("wrote past the output")
						}
						for i := 0; i < rows; i++ {
							for j := 0; j < cols; j++ {
								s := colScale[j]
								if perRow {
									s = scales[i]
								}
								v := acc[i*cols+j]
								if withCol {
									v += colAdd[j]
								}
								want := Requantize(v, s, ep.ZeroPoint, lo, hi)
								if want < lo && lo <= hi || want > hi {
									t.Fatalf("Requantize(%d, %v, %d, %d, %d) = %d out of range", v, s, ep.ZeroPoint, lo, hi, want)
								}
								got := int32(out[i*cols+j])
								if signed {
									got = int32(int8(out[i*cols+j]))
								}
								if got != want {
									t.Fatalf("cols %d %+v perRow %v colAdd %v signed %v: acc %d scale %v (%#x) = %d, want %d",
										cols, ep, perRow, withCol, signed, v, s, math.Float32bits(s), got, want)
								}
							}
						}
					}
				}
			}
		}
	})
}

// An output zero point whose bounds would not be exact in float32 panics.
func TestQZeroPointRange(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	out := make([]uint8, 1)
	RequantizeRows([]int32{1}, 1, 1, nil, []float32{1}, QEpilogue{ZeroPoint: 1<<23 + 1}, out)
}
