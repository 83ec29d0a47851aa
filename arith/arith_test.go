package arith

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/arith/minifloat"
	"github.com/frugal-ml/frugal/arith/round"
)

func TestTable(t *testing.T) {
	rows := Table()
	if len(rows) != len(TableNames) {
		t.Fatal("rows")
	}
	want := map[string]float64{"mxfp4": 4.25, "mxfp8_e4m3": 8.25, "mxfp6_e2m3": 6.25, "fp16": 16, "fp4_e2m1": 4, "tf32": 19, "posit8_2": 8, "bfp_m7_b16": 8.5}
	for _, r := range rows {
		if w, ok := want[r.Name]; ok && r.BitsPerElement != w {
			t.Errorf("%s: %v bits/element, want %v", r.Name, r.BitsPerElement, w)
		}
		if r.Describe == "" {
			t.Errorf("%s: no description", r.Name)
		}
	}
}

func TestLookupErrors(t *testing.T) {
	for _, bad := range []string{"", "fp7", "posit33_2", "posit8_5", "posit99999999999999999999_1", "fixed20_20", "int9", "int1", "int0", "lns1", "lns8_7", "bfp_m0_b4", "bfp_m4_b0"} {
		if _, err := Lookup(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"POSIT16_1", "posit2_0", "posit32_4", "fixed0_15", "int8", "uint1", "int2", "lns8", "lns16_10", "bfp_m3_b8", "ternary"} {
		if _, err := Lookup(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
}

// Every format: Pack then Unpack equals Quantize, sizes are as declared,
// quantizing twice changes nothing (RNE), and Encode's values agree.
func TestAllFormatsPackQuantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := append([]string{"lns8_2", "posit12_3", "uint4", "bfp_m3_b8"}, TableNames...)
	for _, name := range names {
		f, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 31, 32, 33, 200} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			for _, o := range []round.Options{round.RNE, {Mode: round.Stochastic, Seed: 3}} {
				q := make([]float32, n)
				if err := f.Quantize(q, x, o); err != nil {
					t.Fatal(err)
				}
				data, err := f.Pack(x, o)
				if err != nil {
					t.Fatal(err)
				}
				if len(data) != f.PackedSize(n) {
					t.Fatalf("%s: packed %d bytes, PackedSize %d", name, len(data), f.PackedSize(n))
				}
				u := make([]float32, n)
				if err := f.Unpack(u, data); err != nil {
					t.Fatal(err)
				}
				e, err := f.Encode(x, o)
				if err != nil {
					t.Fatal(err)
				}
				for i := range x {
					same := func(a, b float32) bool { return a == b || a != a && b != b }
					if !same(u[i], q[i]) || !same(e.Values[i], q[i]) {
						t.Fatalf("%s %v n=%d: quantize %v, unpack %v, encode %v", name, o.Mode, n, q[i], u[i], e.Values[i])
					}
				}
				if o.Mode == round.NearestEven && f.Kind() != Tensor {
					q2 := make([]float32, n)
					f.Quantize(q2, q, o)
					for i := range q {
						if q2[i] != q[i] && q[i] == q[i] {
							t.Fatalf("%s: not idempotent %v -> %v", name, q[i], q2[i])
						}
					}
				}
			}
			if err := f.Unpack(make([]float32, n), make([]byte, 1)); err == nil && f.PackedSize(n) != 1 {
				t.Fatalf("%s: wrong-size data accepted", name)
			}
		}
	}
}

// fp16/bf16 fast fake-quant equals the reference path.
func TestFastQuantizeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	x := make([]float32, 5000)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * math.Ldexp(1, rng.IntN(60)-30))
	}
	for _, s := range []minifloat.Spec{minifloat.FP16, minifloat.BF16} {
		f := Minifloat(s)
		got := make([]float32, len(x))
		f.Quantize(got, x, round.RNE)
		for i := range x {
			if w := float32(s.Round(float64(x[i]), round.RNE, 0)); got[i] != w {
				t.Fatalf("%s fast %v vs ref %v", s.Name, got[i], w)
			}
		}
	}
}

// Accumulation error is real: an fp16 register stops growing at 2048 when
// adding ones (2048 + 1 is a tie that rounds to even 2048), bf16 at 256,
// while fp32 counts to the end.
func TestAccumulatorStagnation(t *testing.T) {
	f, _ := Lookup("fp16")
	ones := make([]float32, 4096)
	for i := range ones {
		ones[i] = 1
	}
	for acc, want := range map[string]float32{"fp16": 2048, "bf16": 256, "fp32": 4096, "fp64": 4096, "format": 2048} {
		got, err := Dot(f, acc, ones, ones, round.RNE)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("sum of 4096 ones with %s accumulator = %v want %v", acc, got, want)
		}
	}
	if _, err := Dot(f, "fp12", ones, ones, round.RNE); err == nil {
		t.Fatal("unknown accumulator accepted")
	}
	if _, err := Dot(f, "quire", ones, ones, round.RNE); err == nil {
		t.Fatal("quire for fp16 accepted")
	}
}

// The quire matches exact arithmetic where rounding every step fails.
func TestQuireAccumulator(t *testing.T) {
	f, _ := Lookup("posit16_2")
	a := []float32{1 << 20, 1, -(1 << 20)}
	b := []float32{1 << 20, 1, 1 << 20}
	got, _ := Dot(f, "quire", a, b, round.RNE)
	naive, _ := Dot(f, "format", a, b, round.RNE)
	if got != 1 || naive == 1 {
		t.Fatalf("quire %v (want 1), per-step rounding %v (should lose the 1)", got, naive)
	}
}

// int32 accumulation equals the exact product of the dequantized values,
// and GEMM matches a naive triple loop for odd shapes.
func TestGEMM(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, sh := range [][3]int{{0, 3, 2}, {1, 1, 1}, {3, 5, 7}, {4, 33, 2}} {
		m, k, n := sh[0], sh[1], sh[2]
		a := make([]float32, m*k)
		b := make([]float32, k*n)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		for _, c := range []struct{ f, acc string }{{"int8", "int32"}, {"uint8", "int32"}, {"int4", "int32"}, {"fixed3_12", "int32"}, {"fp32", "fp64"}, {"mxfp4", "fp64"}, {"posit16_2", "quire"}, {"int8", "fp64"}} {
			f, _ := Lookup(c.f)
			got, err := GEMM(f, c.acc, a, b, m, k, n, round.RNE)
			if err != nil {
				t.Fatal(err)
			}
			// reference: fp64 sums of the fake-quantized operands
			bt := make([]float32, n*k)
			for i := 0; i < k; i++ {
				for j := 0; j < n; j++ {
					bt[j*k+i] = b[i*n+j]
				}
			}
			qa, qb, _ := quantizeRows(f, a, bt, m, k, n, round.RNE)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					s := 0.0
					for p := 0; p < k; p++ {
						s += float64(qa[i*k+p]) * float64(qb[j*k+p])
					}
					tol := 1e-6 * (math.Abs(s) + 1)
					if c.acc == "quire" {
						tol = math.Abs(s) * math.Ldexp(1, -10) // one posit16 rounding
					}
					if math.Abs(float64(got[i*n+j])-s) > tol {
						t.Fatalf("%s/%s %v: C[%d,%d] = %v want %v", c.f, c.acc, sh, i, j, got[i*n+j], s)
					}
				}
			}
		}
	}
	if _, err := GEMM(nil, "fp32", make([]float32, 3), make([]float32, 3), 2, 2, 2, round.RNE); err == nil {
		t.Fatal("bad shape accepted")
	}
}

func TestDecodeCodes(t *testing.T) {
	f, _ := Lookup("fp8_e4m3")
	v, err := DecodeCodes(f, []uint32{0x7e, 0x01, 0x38}, DecodeParams{})
	if err != nil || v[0] != 448 || v[1] != math.Ldexp(1, -9) || v[2] != 1 {
		t.Fatal(v, err)
	}
	if _, err := DecodeCodes(f, []uint32{0x100}, DecodeParams{}); err == nil {
		t.Fatal("9-bit code accepted")
	}
	m, _ := Lookup("mxfp4")
	v, _ = DecodeCodes(m, []uint32{0x7, 0xf}, DecodeParams{ScaleCode: 128})
	if v[0] != 12 || v[1] != -12 {
		t.Fatal(v)
	}
	i4, _ := Lookup("int4")
	v, _ = DecodeCodes(i4, []uint32{0xf, 0x7}, DecodeParams{Scale: 0.5})
	if v[0] != -0.5 || v[1] != 3.5 {
		t.Fatal(v)
	}
	tr, _ := Lookup("ternary")
	if _, err := DecodeCodes(tr, []uint32{3}, DecodeParams{Scale: 1}); err == nil {
		t.Fatal("ternary code 3 accepted")
	}
}

// Stochastic rounding gives the same tensor for 1, 2, 3 and 7 workers.
func TestQuantizeParallelReproducible(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	x := make([]float32, 20000)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for _, name := range []string{"fp8_e4m3", "mxfp4", "posit8_2", "bfp_m3_b8"} {
		f, _ := Lookup(name)
		o := round.Options{Mode: round.Stochastic, Seed: 1234}
		ref := make([]float32, len(x))
		if err := f.Quantize(ref, x, o); err != nil {
			t.Fatal(err)
		}
		for _, w := range []int{1, 2, 3, 7} {
			got := make([]float32, len(x))
			if err := QuantizeParallel(f, got, x, o, w); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != ref[i] {
					t.Fatalf("%s with %d workers: element %d %v vs %v", name, w, i, got[i], ref[i])
				}
			}
		}
	}
}
