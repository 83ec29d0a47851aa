package depthwise

import (
	"fmt"
	"math"
	"sync"
)

// 8-bit depthwise convolution (QLinearConv with group == Cin == Cout), on
// the raw uint8/int8 codes, finished with ONNX Runtime's requantization.
//
// Why a separate kernel: the float route (convert the codes to float32,
// run Conv, requantize) moves every plane through memory three times as
// 4-byte values. Here one pass reads the bytes and writes the bytes:
//
//   - each input plane is copied once into a small per-call byte buffer,
//     padded with the input zero point (int8 codes are flipped to
//     x+128, an unsigned byte, on the way);
//   - with AVX512-VBMI + VNNI (q8_amd64.s), for each output row and block
//     of 16 output columns and each of the 3 kernel rows: one 64-byte
//     load, one VPERMB gathering, for output j, the bytes
//     x[s*j .. s*j+3] into dword j (s the column stride), and one VPDPBUSD
//     multiplying them by that kernel row's weights [w0, w1, w2, 0] (KW <= 4
//     taps in one dword) into 16 int32 accumulators;
//   - the accumulators start at corr = bias - zx' * sum(w'), which turns
//     sum w'*x' (padding included, padding being zx') into
//     bias + sum w'*(x - zx) over the real taps, exactly (int32 wraps
//     alike on both sides);
//   - 16 outputs are then requantized as arith/convert.Requantize* does:
//     y = clamp(RNE(float32(acc) * mult[c]) + zy, lo, hi).
//
// w' = w - zw must fit int8 (PackQ8 reports it); the caller keeps the float
// route for the rest, and for float outputs. Other geometries (KH != 3,
// KW > 4, column stride > 2, column dilation, pads > 32) and builds
// without the assembly run the Go version (q8Go), which computes the same
// integers directly.

// Q8Weights are a depthwise filter bank prepared for ConvQ8: per channel
// KH dwords, dword ky holding the bytes w'[ky][0..KW-1] (zero above KW), and
// the per-channel sums of w'.
type Q8Weights struct {
	KH, KW int
	rows   []int32 // c*KH dwords
	sums   []int32 // c
	w      []int8  // c*KH*KW, w' in the natural order (Go kernel)
}

// PackQ8 prepares c filters of kh x kw weights w' = w - zw (given as int32,
// c*kh*kw values). It returns nil, false when some w' does not fit int8 or
// kw > 4.
func PackQ8(w []int32, c, kh, kw int) (*Q8Weights, bool) {
	if kw > 4 || kh <= 0 || kw <= 0 || len(w) < c*kh*kw {
		return nil, false
	}
	q := &Q8Weights{KH: kh, KW: kw, rows: make([]int32, c*kh), sums: make([]int32, c), w: make([]int8, c*kh*kw)}
	for ch := 0; ch < c; ch++ {
		for ky := 0; ky < kh; ky++ {
			var d uint32
			for kx := 0; kx < kw; kx++ {
				v := w[(ch*kh+ky)*kw+kx]
				if v < math.MinInt8 || v > math.MaxInt8 {
					return nil, false
				}
				d |= uint32(uint8(int8(v))) << (8 * kx)
				q.sums[ch] += v
				q.w[(ch*kh+ky)*kw+kx] = int8(v)
			}
			q.rows[ch*kh+ky] = int32(d)
		}
	}
	return q, true
}

// Q8 is one 8-bit depthwise convolution: geometry, input codes and the
// requantization of its outputs. Channel c uses weights c of W, Bias[c]
// (nil: zero) and Mult[c].
type Q8 struct {
	P      Params
	H, W   int
	Signed bool  // int8 input codes (else uint8)
	ZX     int32 // input zero point, a code of the input type
	Wts    *Q8Weights
	Bias   []int32
	Mult   []float32
	// Output: y = min(max(RNE(float32(acc)*Mult[c]) + ZY, Lo), Hi) stored
	// as a byte; Lo and Hi must lie within the output type's range
	// (arith/convert's Requantize* clip them so).
	ZY, Lo, Hi int32
}

// Native reports whether q runs on the assembly kernel at the current
// dispatch level.
func (q *Q8) Native() bool { return q8Native(q) }

// Run computes channels [c0, c1) of one image: x holds their (c1-c0)*H*W
// input codes (int8 as bytes), out their (c1-c0)*OH*OW output codes. It
// runs on the calling goroutine and allocates only its pooled scratch.
func (q *Q8) Run(x []byte, c0, c1 int, out []byte) {
	p := norm(q.P)
	oh, ow := Out(p, q.H, q.W)
	nc := c1 - c0
	if nc <= 0 || oh == 0 || ow == 0 {
		return
	}
	if len(x) < nc*q.H*q.W || len(out) < nc*oh*ow || len(q.Wts.sums) < c1 || len(q.Mult) < c1 || (q.Bias != nil && len(q.Bias) < c1) || q.Wts.KH != p.KH || q.Wts.KW != p.KW {
		panic(fmt.Sprintf("depthwise: Q8.Run channels [%d,%d): x %d, out %d, weights %d, mult %d, bias %d", c0, c1, len(x), len(out), len(q.Wts.sums), len(q.Mult), len(q.Bias)))
	}
	if q8Native(q) {
		q8Asm(q, p, oh, ow, x, c0, c1, out)
		return
	}
	q8Go(q, p, oh, ow, x, c0, c1, out)
}

// zx8 is the byte the kernels pad with and the value it stands for: the
// zero point itself for uint8, flipped (zx+128) for int8.
func (q *Q8) zx8() int32 {
	if q.Signed {
		return q.ZX + 128
	}
	return q.ZX
}

// q8Go is the portable kernel: the same integers (bias + sum of
// w' * (x - zx) over the taps inside the plane, int32) and the same
// requantization as the assembly.
func q8Go(q *Q8, p Params, oh, ow int, x []byte, c0, c1 int, out []byte) {
	kh, kw := p.KH, p.KW
	plane, oplane := q.H*q.W, oh*ow
	lo, hi := float32(q.Lo-q.ZY), float32(q.Hi-q.ZY)
	zx := q.ZX
	for c := c0; c < c1; c++ {
		xs := x[(c-c0)*plane : (c-c0+1)*plane]
		os := out[(c-c0)*oplane : (c-c0+1)*oplane]
		ws := q.Wts.w[c*kh*kw : (c+1)*kh*kw]
		var b int32
		if q.Bias != nil {
			b = q.Bias[c]
		}
		m := q.Mult[c]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				acc := b
				for ky := 0; ky < kh; ky++ {
					iy := oy*p.SH - p.PT + ky*p.DH
					if iy < 0 || iy >= q.H {
						continue
					}
					row := xs[iy*q.W : (iy+1)*q.W]
					for kx := 0; kx < kw; kx++ {
						ix := ox*p.SW - p.PL + kx*p.DW
						if ix < 0 || ix >= q.W {
							continue
						}
						xv := int32(row[ix])
						if q.Signed {
							xv = int32(int8(row[ix]))
						}
						acc += int32(ws[ky*kw+kx]) * (xv - zx)
					}
				}
				v := max(float32(acc)*m, lo) // NaN -> lo, as the vector kernels
				if v != v {
					v = lo
				}
				v = min(v, hi)
				os[oy*ow+ox] = uint8(int32(math.RoundToEven(float64(v))) + q.ZY)
			}
		}
	}
}

// q8Pool recycles the padded plane buffers and per-call int32 scratch.
var q8Pool sync.Pool

func q8Scratch(n int) *[]byte {
	if b, ok := q8Pool.Get().(*[]byte); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n)
	return &b
}
