package arith

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/arith/fixed"
	"github.com/frugal-ml/frugal/arith/intq"
	"github.com/frugal-ml/frugal/arith/minifloat"
	"github.com/frugal-ml/frugal/arith/posit"
	"github.com/frugal-ml/frugal/arith/round"
)

// Accumulators accepted by GEMM and Dot:
//
//	fp64, fp32, tf32, bf16, fp16 (any minifloat name): each product is
//	    rounded to the accumulator format and every addition is rounded
//	    too, as a MAC unit with that register would do;
//	quire: the posit quire (posit formats only): exact, one rounding;
//	int32: integer MACs on the codes with a wrapping 32-bit register
//	    (int<B>/uint<B>, fixed<M>_<N>), then one rescale;
//	format: the running sum is rounded to the element format itself after
//	    each multiply and each add (scalar formats only).
var Accumulators = []string{"fp64", "fp32", "tf32", "bf16", "fp16", "quire", "int32", "format"}

// GEMM computes C = A * B (A is m x k, B is k x n, both row-major) with
// A and B first quantized to format f (block formats along k), then
// accumulated with acc. The returned C is float32 (the accumulator's final
// value, exactly where it fits).
func GEMM(f Format, acc string, a, b []float32, m, k, n int, o round.Options) ([]float32, error) {
	if m < 0 || k < 0 || n < 0 || len(a) != m*k || len(b) != k*n {
		return nil, fmt.Errorf("gemm: shapes %dx%d * %dx%d do not match %d and %d elements", m, k, k, n, len(a), len(b))
	}
	bt := make([]float32, n*k) // B transposed: rows are the columns of B
	for i := 0; i < k; i++ {
		for j := 0; j < n; j++ {
			bt[j*k+i] = b[i*n+j]
		}
	}
	c := make([]float32, m*n)
	switch acc {
	case "int32":
		return c, gemmInt(f, a, bt, c, m, k, n, o)
	case "quire":
		return c, gemmQuire(f, a, bt, c, m, k, n, o)
	}
	qa, qb, err := quantizeRows(f, a, bt, m, k, n, o)
	if err != nil {
		return nil, err
	}
	var add func(acc, x, y float64) float64
	switch acc {
	case "fp64":
		add = func(s, x, y float64) float64 { return s + x*y }
	case "fp32":
		add = func(s, x, y float64) float64 {
			return float64(float32(s) + float32(x*y)) // x*y exact in float64 for <=26-bit significands
		}
	case "format":
		sf, ok := f.(ScalarFormat)
		if !ok {
			return nil, fmt.Errorf("gemm: accumulating in the format needs a scalar format, %s is %s", f.Name(), f.Kind())
		}
		rd := func(v float64) float64 {
			return sf.DecodeValue(sf.EncodeValue(v, round.Options{Mode: round.NearestEven}, 0))
		}
		add = func(s, x, y float64) float64 { return rd(s + rd(x*y)) }
	default:
		spec, ok := specByName(acc)
		if !ok {
			return nil, fmt.Errorf("gemm: unknown accumulator %q (want one of %v)", acc, Accumulators)
		}
		rd := func(v float64) float64 { return spec.Round(v, round.RNE, 0) }
		add = func(s, x, y float64) float64 { return rd(s + rd(x*y)) }
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			ra, rb := qa[i*k:(i+1)*k], qb[j*k:(j+1)*k]
			for p := range ra {
				s = add(s, float64(ra[p]), float64(rb[p]))
			}
			c[i*n+j] = float32(s)
		}
	}
	return c, nil
}

func specByName(name string) (minifloat.Spec, bool) {
	if name == "fp64" {
		return minifloat.FP64acc, true
	}
	for _, s := range minifloat.All {
		if s.Name == name {
			return s, true
		}
	}
	return minifloat.Spec{}, false
}

// quantizeRows fake-quantizes A's rows and Bᵀ's rows (tensor formats per
// operand, block formats per row so blocks run along k).
func quantizeRows(f Format, a, bt []float32, m, k, n int, o round.Options) ([]float32, []float32, error) {
	qa := make([]float32, len(a))
	qb := make([]float32, len(bt))
	if f.Kind() == Tensor {
		if err := f.Quantize(qa, a, o); err != nil {
			return nil, nil, err
		}
		ob := o
		ob.Offset += uint64(len(a))
		return qa, qb, f.Quantize(qb, bt, ob)
	}
	for i := 0; i < m; i++ {
		ro := o
		ro.Offset = o.Offset + uint64(i*k)
		if err := f.Quantize(qa[i*k:(i+1)*k], a[i*k:(i+1)*k], ro); err != nil {
			return nil, nil, err
		}
	}
	for j := 0; j < n; j++ {
		ro := o
		ro.Offset = o.Offset + uint64(m*k+j*k)
		if err := f.Quantize(qb[j*k:(j+1)*k], bt[j*k:(j+1)*k], ro); err != nil {
			return nil, nil, err
		}
	}
	return qa, qb, nil
}

func gemmQuire(f Format, a, bt, c []float32, m, k, n int, o round.Options) error {
	var cfg posit.Config
	if _, err := fmt.Sscanf(f.Name(), "posit%d_%d", &cfg.N, &cfg.ES); err != nil || f.Kind() != Scalar {
		return fmt.Errorf("gemm: the quire accumulates posit formats, not %s", f.Name())
	}
	enc := func(src []float32, off uint64) []uint32 {
		out := make([]uint32, len(src))
		for i, x := range src {
			ro := o
			ro.Offset = off
			out[i] = cfg.Encode(float64(x), o, ro.R(i))
		}
		return out
	}
	pa, pb := enc(a, o.Offset), enc(bt, o.Offset+uint64(len(a)))
	q := posit.NewQuire(cfg)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			q.Reset()
			for p := 0; p < k; p++ {
				q.AddProduct(pa[i*k+p], pb[j*k+p])
			}
			c[i*n+j] = float32(cfg.Decode(q.Posit()))
		}
	}
	return nil
}

func gemmInt(f Format, a, bt, c []float32, m, k, n int, o round.Options) error {
	var codesA, codesB []int32
	var za, zb int32
	var scale float64
	switch ff := f.(type) {
	case *integer:
		cfg := intq.Config{Bits: ff.bits, Symmetric: ff.sym, Round: o}
		ta, err := intq.QuantizeTensor(a, nil, cfg)
		if err != nil {
			return err
		}
		cfg.Round.Offset += uint64(len(a))
		tb, err := intq.QuantizeTensor(bt, nil, cfg)
		if err != nil {
			return err
		}
		codesA, codesB = ta.Codes, tb.Codes
		za, zb = ta.ZeroPoints[0], tb.ZeroPoints[0]
		scale = float64(ta.Scales[0]) * float64(tb.Scales[0])
	default:
		var q fixed.Q
		if _, err := fmt.Sscanf(f.Name(), "fixed%d_%d", &q.M, &q.N); err != nil || f.Kind() != Scalar {
			return fmt.Errorf("gemm: int32 accumulation needs an integer or fixed-point format, not %s", f.Name())
		}
		enc := func(src []float32, off uint64) []int32 {
			out := make([]int32, len(src))
			for i, x := range src {
				ro := o
				ro.Offset = off
				out[i] = int32(q.EncodeInt(float64(x), o, ro.R(i)))
			}
			return out
		}
		codesA, codesB = enc(a, o.Offset), enc(bt, o.Offset+uint64(len(a)))
		scale = math.Ldexp(1, -2*q.N)
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int32 // wraps on overflow, as a 32-bit MAC register does
			for p := 0; p < k; p++ {
				s += (codesA[i*k+p] - za) * (codesB[j*k+p] - zb)
			}
			c[i*n+j] = float32(float64(s) * scale)
		}
	}
	return nil
}

// Dot is the 1 x k by k x 1 GEMM.
func Dot(f Format, acc string, a, b []float32, o round.Options) (float32, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("dot: lengths %d and %d", len(a), len(b))
	}
	c, err := GEMM(f, acc, a, b, 1, len(a), 1, o)
	if err != nil {
		return 0, err
	}
	return c[0], nil
}
