package ops

import (
	dwconv "github.com/frugal-ml/frugal/impl/depthwise"
	"github.com/frugal-ml/frugal/tensor"
)

// qdwNative describes an 8-bit depthwise convolution for impl/depthwise's
// native byte kernel (dwconv.Q8: padded byte planes, VPERMB + VPDPBUSD,
// requantized in registers), or returns nil when qdepthwise's float route
// must run instead: float output, weights w - zw outside int8 (w8 nil), or
// a geometry or CPU without the assembly kernel (the kernel's Go version
// is its specification, not faster than the float route).
//
// Both routes compute the same int32 sums and requantize them the same
// way (arith/convert.Requantize*: ONNX Runtime's float32 multiplier, RNE,
// zero point, clamp), so their outputs are identical byte for byte
// (TestQDepthwise8).
func qdwNative(x *tensor.Tensor, zx int32, w8 *dwconv.Q8Weights, bias []int32, g ConvGeom, rq *requant) *dwconv.Q8 {
	if w8 == nil || (rq.dt != tensor.Uint8 && rq.dt != tensor.Int8) || (x.DType != tensor.Uint8 && x.DType != tensor.Int8) {
		return nil
	}
	// Output bounds clipped to the code type, as convert.Requantize* does.
	lo, hi := max(rq.lo, 0), min(rq.hi, 255)
	if rq.dt == tensor.Int8 {
		lo, hi = max(rq.lo, -128), min(rq.hi, 127)
	}
	q := &dwconv.Q8{P: g.P, H: g.H, W: g.W, Signed: x.DType == tensor.Int8, ZX: zx, Wts: w8,
		Bias: bias, Mult: rq.mult32, ZY: rq.zy, Lo: lo, Hi: hi}
	if !q.Native() {
		return nil
	}
	return q
}

// qdepthwise8 runs q over every image of x into out, the N*C planes split
// in contiguous ranges over the threads (each range runs as one kernel
// call per image it touches).
func qdepthwise8(threads int, q *dwconv.Q8, x *tensor.Tensor, g ConvGeom, out *tensor.Tensor) {
	plane, ohw := g.H*g.W, g.OH*g.OW
	xb, ob := anyBytes8(x), anyBytes8(out)
	np := g.N * g.Cout
	if np*ohw*g.P.KH*g.P.KW < 1<<14 { // not worth waking a helper
		threads = 1
	}
	Parallel(threads, np, func(q0, q1 int) {
		for p := q0; p < q1; {
			c := p % g.Cout
			cnt := min(q1-p, g.Cout-c)
			q.Run(xb[p*plane:(p+cnt)*plane], c, c+cnt, ob[p*ohw:(p+cnt)*ohw])
			p += cnt
		}
	})
}

func anyBytes8(t *tensor.Tensor) []byte {
	if t.DType == tensor.Int8 {
		return anyBytes(t.I8())
	}
	return t.U8()
}
