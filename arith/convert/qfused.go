package convert

import (
	"fmt"
	"math"
	"os"
	"sort"
	"unsafe"
)

// Fused 8-bit kernels of quantized inference, with their own kernel sets
// chosen as the package's conversions are: "go" always, "avx2" and "avx512" on
// amd64 when the CPU has them; the `purego` build tag or FRUGAL_NOASM=1
// force "go", SetFusedImpl forces any available set (tests run them all).
// All sets give bit-identical results.
//
//   - QLinearAdd: the residual join of a quantized network,
//     sat(RNE((float32(a-za)*sa + float32(b-zb)*sb) / sy) + zy), every step
//     a float32 operation in that order (the division is a division, not a
//     multiplication by 1/sy), exactly the DequantizeLinear, Add,
//     QuantizeLinear chain.
//   - Requantize: the finisher of an int8 layer whose int32 accumulators
//     are held as exact float32 integers (a float kernel summing small
//     integers), ONNX Runtime's float32 requantization
//     sat(RNE(float32(acc+bias) * mult) + zy), per row of accumulators.
//
// QLinearAdd maps a NaN sum (a zero or NaN scale) to the zero point, then
// clamped, as QuantizeLinear does; Requantize maps a NaN product (a NaN or
// infinite multiplier) to lo, as MLAS and impl/gemm's finisher do.

// QAddParams describes one QLinearAdd: per input a float32 scale, a zero
// point and whether its bytes are int8 (else uint8) codes; the output's
// scale, zero point and code bounds [Lo, Hi] (the type's range, or tighter
// to fuse a Relu or Clip; they are clipped to [-128, 127] for a signed
// output, [0, 255] otherwise).
type QAddParams struct {
	SA, SB, SY       float32
	ZA, ZB, ZY       int32
	ASigned, BSigned bool
	YSigned          bool
	Lo, Hi           int32
}

type fusedKernels struct {
	// qadd: n = len(a) elements; xa/xb are 0x80 for int8 inputs (their
	// zero points pre-biased by 128), lo/hi are Lo-ZY, Hi-ZY.
	qadd func(dst, a, b []uint8, p *qaddArgs)
	// requant: rows x cols accumulators; lo/hi are lo-zp, hi-zp.
	requant func(dst []uint8, src []float32, rows, cols int, bias []int32, mult []float32, zp int32, lo, hi float32)
}

// qaddArgs is QAddParams folded for the kernels (layout shared with the
// assembly: keep the field order).
type qaddArgs struct {
	xa, xb     int32 // byte xor: 0x80 turns int8 codes into uint8 ones
	za, zb     int32 // zero points of the xored codes
	sa, sb, sy float32
	lo, hi     float32 // code bounds minus the zero point
	zy         int32
}

var (
	fusedRegistry = map[string]fusedKernels{"go": {qaddGo, requantGo}}
	fusedCur      fusedKernels
	fusedName     string
)

func init() {
	best := "go"
	if os.Getenv("FRUGAL_NOASM") != "1" {
		best = registerFusedAsm(fusedRegistry)
	}
	fusedCur, fusedName = fusedRegistry[best], best
}

// FusedImpls lists the fused kernel sets usable here ("go" always).
func FusedImpls() []string {
	var out []string
	for k := range fusedRegistry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// FusedImpl names the fused kernel set in use.
func FusedImpl() string { return fusedName }

// SetFusedImpl switches the fused kernels (QLinearAdd, Requantize) to a
// set by name; for tests and benchmarks, not safe concurrently with them.
func SetFusedImpl(name string) error {
	k, ok := fusedRegistry[name]
	if !ok {
		return fmt.Errorf("convert: fused kernel set %q not available here (have %v)", name, FusedImpls())
	}
	fusedCur, fusedName = k, name
	return nil
}

// QLinearAdd computes, for i < len(a),
//
//	dst[i] = min(max(RNE((float32(a[i]-ZA)*SA + float32(b[i]-ZB)*SB) / SY) + ZY, Lo), Hi)
//
// in float32 arithmetic (see the package comment above). a, b and dst
// hold 8-bit codes as bytes; the flags of p say which are int8.
func QLinearAdd(dst, a, b []uint8, p *QAddParams) {
	check(len(b), len(a))
	check(len(dst), len(a))
	if len(a) == 0 {
		return
	}
	tlo, thi := int32(0), int32(255)
	if p.YSigned {
		tlo, thi = -128, 127
	}
	q := qaddArgs{za: p.ZA, zb: p.ZB, sa: p.SA, sb: p.SB, sy: p.SY, zy: p.ZY,
		lo: float32(max(p.Lo, tlo) - p.ZY), hi: float32(min(p.Hi, thi) - p.ZY)}
	if p.ASigned {
		q.xa, q.za = 0x80, p.ZA+128
	}
	if p.BSigned {
		q.xb, q.zb = 0x80, p.ZB+128
	}
	fusedCur.qadd(dst[:len(a)], a, b[:len(a)], &q)
}

// RequantizeUint8 finishes rows x cols int32 accumulators held as
// integer-valued float32 (|src| < 2^31; a float kernel's exact integer
// sums): for r < rows, i < cols, with acc = int32(src[r*cols+i]) + bias[r]
// (int32 arithmetic; bias nil means zero),
//
//	dst[r*cols+i] = min(max(RNE(float32(acc) * mult[r]) + zp, lo), hi)
//
// the float32 product rounded half to even, as ONNX Runtime requantizes
// (a NaN product gives lo). lo and hi are clipped to [0, 255]; zp is a
// code of the type (|zp| < 2^24 keeps lo-zp and hi-zp exact in float32).
func RequantizeUint8(dst []uint8, src []float32, cols int, bias []int32, mult []float32, zp, lo, hi int32) {
	requant(dst, src, cols, bias, mult, zp, max(lo, 0), min(hi, 255))
}

// RequantizeInt8 is RequantizeUint8 for int8 codes; lo and hi are
// clipped to [-128, 127].
func RequantizeInt8(dst []int8, src []float32, cols int, bias []int32, mult []float32, zp, lo, hi int32) {
	requant(unsafeBytes(dst), src, cols, bias, mult, zp, max(lo, -128), min(hi, 127))
}

func requant(dst []uint8, src []float32, cols int, bias []int32, mult []float32, zp, lo, hi int32) {
	if len(src) == 0 {
		return
	}
	if cols <= 0 {
		panic(fmt.Sprintf("convert: Requantize rows of %d values", cols))
	}
	rows := len(src) / cols
	if rows*cols != len(src) || len(dst) < len(src) || len(mult) < rows || (bias != nil && len(bias) < rows) {
		panic(fmt.Sprintf("convert: Requantize %d values in rows of %d: dst %d, mult %d, bias %d", len(src), cols, len(dst), len(mult), len(bias)))
	}
	fusedCur.requant(dst, src, rows, cols, bias, mult, zp, float32(lo-zp), float32(hi-zp))
}

// qaddGo dequantizes through two 256-entry tables, each entry computed
// as the vector kernels do: float32((code ^ x) - z) * s.
func qaddGo(dst, a, b []uint8, p *qaddArgs) {
	if len(a) < 256 {
		qaddScalar(dst, a, b, p)
		return
	}
	var ta, tb [256]float32
	for i := range ta {
		ta[i] = float32((int32(i)^p.xa)-p.za) * p.sa
		tb[i] = float32((int32(i)^p.xb)-p.zb) * p.sb
	}
	b, dst = b[:len(a)], dst[:len(a)]
	for i, x := range a {
		v := (ta[x] + tb[b[i]]) / p.sy
		dst[i] = uint8(clampRound(v, p.lo, p.hi) + p.zy)
	}
}

// qaddScalar is qaddGo without the tables (for short runs and the vector
// kernels' tails); the conversions to float32 keep the products rounded
// on targets that would fuse them into the add.
func qaddScalar(dst, a, b []uint8, p *qaddArgs) {
	b, dst = b[:len(a)], dst[:len(a)]
	for i, x := range a {
		fa := float32(float32((int32(x)^p.xa)-p.za) * p.sa)
		fb := float32(float32((int32(b[i])^p.xb)-p.zb) * p.sb)
		dst[i] = uint8(clampRound((fa+fb)/p.sy, p.lo, p.hi) + p.zy)
	}
}

// clampRound is the scalar rounding step of the vector kernels: NaN -> 0,
// clamp to the integer bounds [lo, hi], round half to even (clamp then
// round equals round then clamp, the bounds being integers).
func clampRound(v, lo, hi float32) int32 {
	if v != v {
		v = 0
	}
	v = min(max(v, lo), hi)
	return int32(math.RoundToEven(float64(v)))
}

func requantGo(dst []uint8, src []float32, rows, cols int, bias []int32, mult []float32, zp int32, lo, hi float32) {
	for r := 0; r < rows; r++ {
		requantRowGo(dst[r*cols:(r+1)*cols], src[r*cols:(r+1)*cols], biasOf(bias, r), mult[r], zp, lo, hi)
	}
}

func requantRowGo(dst []uint8, src []float32, bias int32, m float32, zp int32, lo, hi float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		v := max(float32(int32(x)+bias)*m, lo)
		if v != v {
			v = lo
		}
		v = min(v, hi)
		dst[i] = uint8(int32(math.RoundToEven(float64(v))) + zp)
	}
}

func biasOf(bias []int32, r int) int32 {
	if bias == nil {
		return 0
	}
	return bias[r]
}

// unsafeBytes views int8 codes as their bytes.
func unsafeBytes(b []int8) []uint8 {
	return unsafe.Slice((*uint8)(unsafe.Pointer(unsafe.SliceData(b))), len(b))
}
