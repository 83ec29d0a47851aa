// Package vmath holds float32 elementwise math for the kernels of
// transformer-style models: exp, erf, GELU and row softmax, over slices.
//
// Each function has a scalar Go form (the specification, used under the
// purego tag, FRUGAL_NOASM=1 or below AVX-512, and for testing) and an
// AVX-512 form that evaluates the same approximations sixteen lanes at a
// time with fused multiply-adds. The approximations are minimax polynomials
// fitted for float32 (the coefficients were fitted by Lawson's iteratively
// reweighted least squares on Chebyshev nodes, rounded to float32 from the
// highest degree down with the rest refitted):
//
//   - exp(x) = 2^n (1 + r + r^2 q(r)), n = round(x / ln 2), r = x - n ln 2
//     (Cody-Waite split), q of degree 4 (relative error of the polynomial
//     5.4e-9 on |r| <= ln2/2). Overflow gives +Inf, underflow gradual
//     denormals then 0, NaN stays NaN.
//   - erf(x) = x + x g(x^2) for |x| < 0.9375 (g of degree 5, relative error
//     2.7e-8) and sign(x) (1 - exp(Q(|x|))) up to 3.925, Q of degree 6 fitted
//     to log erfc (error in erf 1.8e-9 relative); +-1 beyond, where erf
//     rounds to +-1 in float32.
//   - GELU(x) = x/2 (1 + erf(x/sqrt 2)), as PyTorch and ONNX define it.
//
// Measured against math.Exp and math.Erf (TestAccuracy samples 2^22 values
// of every binade plus the special classes: +-0, +-Inf, NaN, denormals, the
// overflow and underflow edges, erf's branch points; TestExhaustive with
// FRUGAL_VMATH_EXHAUSTIVE=61 takes every 61st float32 bit pattern, 70M
// values): AVX-512 exp within 1.03 ulp and erf within 1.12 ulp; the Go
// forms, without fused multiply-adds, exp 1.0 and erf 1.28 ulp. The worst
// erf values sit just around the 0.9375 branch point.
package vmath

import "math"

// Exp coefficients: e^r = 1 + r + r^2 (expQ0 + expQ1 r + ... + expQ4 r^4).
const (
	log2e   = 1.44269504088896341
	ln2Hi   = 0.693359375 // 11 significant bits: n*ln2Hi is exact for |n| <= 2^13
	ln2Lo   = -2.12194440e-4
	expQ0   = 0.4999999   // 0x3efffffd
	expQ1   = 0.16666503  // 0x3e2aaa3d
	expQ2   = 0.041668594 // 0x3d2aacb0
	expQ3   = 0.008370775 // 0x3c092593
	expQ4   = 0.0013810338
	expMax  = 88.8   // exp overflows float32 above 88.7228
	expMin  = -104.0 // exp rounds to 0 below -103.9721
	sqrt12  = 0.70710678118654752
	signBit = 0x80000000
)

// Erf coefficients.
const (
	erfSplit = 0.9375
	erfTop   = 3.925 // erfc(3.8325) < 2^-25: erf rounds to 1 from there on
	erfS0    = 0.12837914
	erfS1    = -0.37612468
	erfS2    = 0.11281553
	erfS3    = -0.026757035
	erfS4    = 0.0049791303
	erfS5    = -0.0005919419
	erfB0    = -0.00022345416
	erfB1    = -1.1275613
	erfB2    = -0.6373738
	erfB3    = -0.10376429
	erfB4    = 0.022146637
	erfB5    = -0.0030231613
	erfB6    = 0.00019390049
)

// Exp32 is e^x in float32.
func Exp32(x float32) float32 {
	if !(x <= expMax) { // NaN, large
		if x != x {
			return x
		}
		return float32(math.Inf(1))
	}
	if x < expMin {
		return 0
	}
	n := float32(math.RoundToEven(float64(x * log2e)))
	return ldexp32(expPoly(x-n*ln2Hi-n*ln2Lo), int32(n))
}

// expPoly is e^r for |r| <= ln2/2 (slightly beyond is fine).
func expPoly(r float32) float32 {
	q := float32(expQ4)
	q = q*r + expQ3
	q = q*r + expQ2
	q = q*r + expQ1
	q = q*r + expQ0
	return 1 + (r + r*r*q)
}

// ldexp32 is p * 2^n for p in [0.7, 1.5] and n in [-151, 129], rounding
// once into the denormal range.
func ldexp32(p float32, n int32) float32 {
	if n >= -126 {
		if n > 127 {
			return p * 0x1p127 * math.Float32frombits(uint32(n-127+127)<<23)
		}
		return p * math.Float32frombits(uint32(n+127)<<23)
	}
	return p * math.Float32frombits(uint32(n+64+127)<<23) * (1.0 / (1 << 64))
}

// Erf32 is erf(x) in float32.
func Erf32(x float32) float32 {
	t := math.Float32frombits(math.Float32bits(x) &^ signBit)
	if t < erfSplit {
		s := x * x
		g := float32(erfS5)
		g = g*s + erfS4
		g = g*s + erfS3
		g = g*s + erfS2
		g = g*s + erfS1
		g = g*s + erfS0
		return x + x*g
	}
	if !(t < erfTop) {
		if x != x {
			return x
		}
		return math.Float32frombits(0x3f800000 | math.Float32bits(x)&signBit)
	}
	r := 1 - expPolyFull(erfBig(t))
	return math.Float32frombits(math.Float32bits(r) | math.Float32bits(x)&signBit)
}

// erfBig is Q(t) ~ log(erfc(t)) on [0.9375, 3.925].
func erfBig(t float32) float32 {
	q := float32(erfB6)
	q = q*t + erfB5
	q = q*t + erfB4
	q = q*t + erfB3
	q = q*t + erfB2
	q = q*t + erfB1
	q = q*t + erfB0
	return q
}

// expPolyFull is e^x for x in [-20, 0] (no special cases).
func expPolyFull(x float32) float32 {
	n := float32(math.RoundToEven(float64(x * log2e)))
	return expPoly(x-n*ln2Hi-n*ln2Lo) * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// Gelu32 is x/2 (1 + erf(x/sqrt 2)).
func Gelu32(x float32) float32 {
	h := 0.5 * x
	return h + h*Erf32(x*sqrt12)
}

// Exp sets dst[i] = e^src[i]; dst and src have the same length and may be
// the same slice.
func Exp(dst, src []float32) {
	dst = dst[:len(src)]
	n := expVec(dst, src)
	for i := n; i < len(src); i++ {
		dst[i] = Exp32(src[i])
	}
}

// Erf sets dst[i] = erf(src[i]).
func Erf(dst, src []float32) {
	dst = dst[:len(src)]
	n := erfVec(dst, src)
	for i := n; i < len(src); i++ {
		dst[i] = Erf32(src[i])
	}
}

// Gelu sets dst[i] = GELU(src[i]) (the exact, erf form).
func Gelu(dst, src []float32) {
	dst = dst[:len(src)]
	n := geluVec(dst, src)
	for i := n; i < len(src); i++ {
		dst[i] = Gelu32(src[i])
	}
}

// SoftmaxRows normalises each of the len(src)/n contiguous rows of n
// values: dst = exp(x - max) / sum exp(x - max), in one pass for the max,
// one for exp and the sum (stored), and one scaling pass. A row holding
// +Inf or NaN gives NaNs, as the definition does; a row of all -Inf too.
func SoftmaxRows(dst, src []float32, n int) {
	if n <= 0 {
		return
	}
	rows := len(src) / n
	dst = dst[:rows*n]
	done := softmaxVec(dst, src[:rows*n], n)
	for r := done; r < rows; r++ {
		softmaxRow(dst[r*n:(r+1)*n], src[r*n:(r+1)*n])
	}
}

func softmaxRow(o, x []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		if v > mx || v != v {
			mx = v
		}
	}
	var sum float64
	for i, v := range x {
		e := Exp32(v - mx)
		o[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range o {
		o[i] *= inv
	}
}

// LogSoftmaxRows is SoftmaxRows' logarithm: x - max - log(sum exp(x - max)).
func LogSoftmaxRows(dst, src []float32, n int) {
	if n <= 0 {
		return
	}
	rows := len(src) / n
	for r := 0; r < rows; r++ {
		x, o := src[r*n:(r+1)*n], dst[r*n:(r+1)*n]
		mx := float32(math.Inf(-1))
		for _, v := range x {
			if v > mx || v != v {
				mx = v
			}
		}
		var sum float64
		for _, v := range x {
			sum += float64(Exp32(v - mx))
		}
		ls := float32(math.Log(sum))
		for i, v := range x {
			o[i] = v - mx - ls
		}
	}
}

// ScaleInt32 sets dst[i] = float32(acc[i]) * mult[i] (+ bias[i] when bias
// is not nil): an int32 GEMM row to float, one multiplier (and bias) per
// column. The product and the sum round separately (no fused multiply-add),
// so the vector and Go forms agree bit for bit, and with
// float32(float64(acc) * float64(mult)) while |acc| < 2^24.
func ScaleInt32(dst []float32, acc []int32, mult, bias []float32) {
	n := len(acc)
	dst, mult = dst[:n], mult[:n]
	if bias != nil {
		bias = bias[:n]
	}
	done := scaleInt32Vec(dst, acc, mult, bias)
	for i := done; i < n; i++ {
		v := float32(acc[i]) * mult[i]
		if bias != nil {
			v += bias[i]
		}
		dst[i] = v
	}
}

// LayerNormRows normalises each of the len(x)/n contiguous rows of n
// values: y = (x - mean) / sqrt(var + eps) * g + b, with g and b holding n
// values each, the statistics in float32 (one pass for the mean, one for
// the variance of the deviations). y may be x.
func LayerNormRows(y, x, g, b []float32, n int, eps float32) {
	if n <= 0 {
		return
	}
	rows := len(x) / n
	y, x, g, b = y[:rows*n], x[:rows*n], g[:n], b[:n]
	for r := layerNormVec(y, x, g, b, n, eps); r < rows; r++ {
		layerNormRow(y[r*n:(r+1)*n], x[r*n:(r+1)*n], g, b, eps)
	}
}

// layerNormRow is the Go form: its sums run in float64 (the vector form's
// sixteen float32 lanes round about as little on rows of a few hundred).
func layerNormRow(y, x, g, b []float32, eps float32) {
	n := len(x)
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mu := float32(s / float64(n))
	var ss float64
	for _, v := range x {
		d := float64(v - mu)
		ss += d * d
	}
	is := float32(1 / math.Sqrt(ss/float64(n)+float64(eps)))
	for i, v := range x {
		y[i] = (v-mu)*is*g[i] + b[i]
	}
}
