package arith

import (
	"fmt"

	"github.com/frugal-ml/frugal/arith/intq"
)

// DecodeParams carries the shared scale needed to decode codes of block and
// tensor formats: ScaleCode is the stored E8M0/BFP exponent byte of a
// block format; Scale and ZeroPoint are the multiplier and zero point of a
// tensor format. Scalar formats ignore them.
type DecodeParams struct {
	ScaleCode uint8
	Scale     float64
	ZeroPoint int32
}

// DecodeCodes turns codes back into values. It rejects codes wider than
// the format.
func DecodeCodes(f Format, codes []uint32, p DecodeParams) ([]float64, error) {
	w := f.Bits()
	for _, c := range codes {
		if w < 32 && c>>w != 0 {
			return nil, fmt.Errorf("%s: code %#x has more than %d bits", f.Name(), c, w)
		}
	}
	out := make([]float64, len(codes))
	switch ff := f.(type) {
	case ScalarFormat:
		for i, c := range codes {
			out[i] = ff.DecodeValue(c)
		}
	case *block:
		dst := make([]float32, len(codes))
		for s := 0; s < len(codes); s += ff.BlockSize() {
			e := min(s+ff.BlockSize(), len(codes))
			ff.c.DecodeBlock(dst[s:e], p.ScaleCode, codes[s:e])
		}
		for i, v := range dst {
			out[i] = float64(v)
		}
	case *integer:
		qmin, _ := intq.Range(ff.bits, ff.sym)
		for i, c := range codes {
			q := int32(c)
			if qmin < 0 { // two's complement field
				q = int32(c<<(32-w)) >> (32 - w)
			}
			out[i] = float64(intq.Dequantize(q, float32(p.Scale), p.ZeroPoint))
		}
	case *binTer:
		for i, c := range codes {
			switch {
			case !ff.ternary && c == 0, ff.ternary && c == 1:
				out[i] = p.Scale
			case !ff.ternary && c == 1, ff.ternary && c == 2:
				out[i] = -p.Scale
			case ff.ternary && c == 3:
				return nil, fmt.Errorf("ternary: code 3 is unused")
			default:
				out[i] = 0
			}
		}
	default:
		return nil, fmt.Errorf("%s: cannot decode codes", f.Name())
	}
	return out, nil
}
