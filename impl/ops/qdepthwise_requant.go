package ops

import (
	"github.com/frugal-ml/frugal/arith/convert"
	"github.com/frugal-ml/frugal/tensor"
)

// qdwRequant finishes qdepthwise's 8-bit outputs: channels c0..c0+nc of
// ohw exact integer sums each (float32, bias not included) go to out at
// off, in one SIMD pass per chunk (arith/convert.Requantize*) computing
// ONNX Runtime's float32 requantization, like impl/gemm's finisher:
//
//	acc = sum + bias[c]                   int32, exact
//	y   = sat(RNE(float32(acc) * mult[c]) + zy) within [rq.lo, rq.hi]
//
// The bias is added in int32 inside the finisher rather than as a float32
// start value in the depthwise kernel: the float route is exact only
// while |bias| plus the sum of the tap products stays below 2^24 (every
// partial sum then being an integer float32 holds exactly), and beyond
// that it could round more than once; the int32 add followed by one
// float32 conversion is float32(acc) for any bias, for the price of two
// conversions per vector in a pass that is memory-bound anyway.
//
// mult[c] is requant's mult32, ONNX Runtime's float32 multiplier
// float32(sx*sw[c])/sy computed in float32 (the GEMM finisher uses it too).
//
// It reports false, doing nothing, for float32 output.
func qdwRequant(acc []float32, nc, ohw int, bias []int32, rq *requant, c0 int, out *tensor.Tensor, off int) bool {
	var bb []int32
	if bias != nil {
		bb = bias[c0 : c0+nc]
	}
	mult := rq.mult32[c0 : c0+nc]
	n := nc * ohw
	switch o := out.Data.(type) {
	case []uint8:
		convert.RequantizeUint8(o[off:off+n], acc[:n], ohw, bb, mult, rq.zy, rq.lo, rq.hi)
	case []int8:
		convert.RequantizeInt8(o[off:off+n], acc[:n], ohw, bb, mult, rq.zy, rq.lo, rq.hi)
	default:
		return false
	}
	return true
}
