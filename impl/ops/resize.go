package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Resize (opsets 10-19+) and Upsample: nearest (four rounding modes),
// linear and cubic interpolation, with every coordinate transformation
// mode, exclude_outside, extrapolation for tf_crop_and_resize, antialiased
// downsampling, axes and keep_aspect_ratio_policy. Interpolation is
// separable: one 1-D pass per resized axis, each output coordinate's taps
// and weights computed once, as ONNX's reference does recursively.

func init() {
	Register(Impl{Op: "Resize", DTypes: append(append([]tensor.DType{}, floatTypes...), tensor.Int8, tensor.Uint8), Build: buildResize})
	graph.RegisterShape("", "Resize", dtypeOnly)
	Register(Impl{Op: "Upsample", DTypes: floatTypes, Build: buildUpsample})
	graph.RegisterShape("", "Upsample", dtypeOnly)
}

type resizeOpts struct {
	mode, coord, nearest, policy string
	cubicA, extrap               float64
	exclude, antialias           bool
	axes                         []int64
}

func buildResize(b *BuildInfo) (Kernel, error) {
	n := b.Node
	var o resizeOpts
	var err error
	if o.mode, err = n.String("mode", "nearest"); err != nil {
		return nil, err
	}
	defCoord, defNearest := "half_pixel", "round_prefer_floor"
	if b.Opset > 0 && b.Opset < 11 {
		defCoord, defNearest = "asymmetric", "floor"
	}
	if o.coord, err = n.String("coordinate_transformation_mode", defCoord); err != nil {
		return nil, err
	}
	if o.nearest, err = n.String("nearest_mode", defNearest); err != nil {
		return nil, err
	}
	if o.policy, err = n.String("keep_aspect_ratio_policy", "stretch"); err != nil {
		return nil, err
	}
	a, err := n.Float("cubic_coeff_a", -0.75)
	if err != nil {
		return nil, err
	}
	o.cubicA = float64(a)
	e, err := n.Float("extrapolation_value", 0)
	if err != nil {
		return nil, err
	}
	o.extrap = float64(e)
	ex, err := n.Int("exclude_outside", 0)
	if err != nil {
		return nil, err
	}
	aa, err := n.Int("antialias", 0)
	if err != nil {
		return nil, err
	}
	o.exclude, o.antialias = ex != 0, aa != 0
	if o.axes, err = n.Ints("axes", nil); err != nil {
		return nil, err
	}
	legacy := b.Opset > 0 && b.Opset < 11
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		var roi, scales []float64
		var sizes []int64
		get := func(i int) (*tensor.Tensor, error) {
			t, err := Tensor(in, i)
			if t != nil && t.Len() == 0 {
				return nil, err
			}
			return t, err
		}
		if legacy {
			st, err := get(1)
			if err != nil || st == nil {
				return nil, fmt.Errorf("Resize needs scales")
			}
			if scales, err = ToFloat64(st); err != nil {
				return nil, err
			}
		} else {
			if rt, err := get(1); err != nil {
				return nil, err
			} else if rt != nil {
				if roi, err = ToFloat64(rt); err != nil {
					return nil, err
				}
			}
			if st, err := get(2); err != nil {
				return nil, err
			} else if st != nil {
				if scales, err = ToFloat64(st); err != nil {
					return nil, err
				}
			}
			if zt, err := get(3); err != nil {
				return nil, err
			} else if zt != nil {
				if sizes, err = intsOf(zt, "sizes"); err != nil {
					return nil, err
				}
			}
		}
		out, err := Resize(x, roi, scales, sizes, o)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildUpsample(b *BuildInfo) (Kernel, error) {
	n := b.Node
	mode, err := n.String("mode", "nearest")
	if err != nil {
		return nil, err
	}
	attrScales, err := n.Floats("scales", nil)
	if err != nil {
		return nil, err
	}
	o := resizeOpts{mode: mode, coord: "asymmetric", nearest: "floor", policy: "stretch", cubicA: -0.75}
	if mode == "bilinear" {
		o.mode = "linear"
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		var scales []float64
		if st, err := Tensor(in, 1); err != nil {
			return nil, err
		} else if st != nil {
			if scales, err = ToFloat64(st); err != nil {
				return nil, err
			}
		} else {
			for _, s := range attrScales {
				scales = append(scales, float64(s))
			}
		}
		out, err := Resize(ts[0], nil, scales, nil, o)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

// Resize resizes x; exactly one of scales and sizes is used (per axis in
// o.axes, or all axes).
func Resize(x *tensor.Tensor, roi, scales []float64, sizes []int64, o resizeOpts) (*tensor.Tensor, error) {
	r := x.Rank()
	axes := make([]int, 0, r)
	if o.axes != nil {
		for _, a := range o.axes {
			ax, err := normAxis(a, r)
			if err != nil {
				return nil, err
			}
			axes = append(axes, ax)
		}
	} else {
		for i := 0; i < r; i++ {
			axes = append(axes, i)
		}
	}
	na := len(axes)
	scale := make([]float64, r)
	outSize := append([]int{}, x.Shape...)
	for i := range scale {
		scale[i] = 1
	}
	switch {
	case sizes != nil:
		if len(sizes) != na {
			return nil, fmt.Errorf("sizes %v do not match %d axes", sizes, na)
		}
		for i, ax := range axes {
			if sizes[i] < 0 {
				return nil, fmt.Errorf("sizes %v must not be negative", sizes)
			}
			scale[ax] = float64(sizes[i]) / float64(x.Shape[ax])
			outSize[ax] = int(sizes[i])
		}
		if o.policy != "stretch" {
			s := scale[axes[0]]
			for _, ax := range axes {
				if o.policy == "not_larger" {
					s = math.Min(s, scale[ax])
				} else if o.policy == "not_smaller" {
					s = math.Max(s, scale[ax])
				} else {
					return nil, fmt.Errorf("unknown keep_aspect_ratio_policy %q", o.policy)
				}
			}
			for _, ax := range axes {
				scale[ax] = s
				outSize[ax] = int(s*float64(x.Shape[ax]) + 0.5)
			}
		}
	case scales != nil:
		if len(scales) != na {
			return nil, fmt.Errorf("scales %v do not match %d axes", scales, na)
		}
		for i, ax := range axes {
			if scales[i] <= 0 {
				return nil, fmt.Errorf("scales %v must be positive", scales)
			}
			scale[ax] = scales[i]
			outSize[ax] = int(scales[i] * float64(x.Shape[ax]))
		}
	default:
		return nil, fmt.Errorf("Resize needs scales or sizes")
	}
	// Full-rank roi (starts then ends).
	var fullROI []float64
	if o.coord == "tf_crop_and_resize" {
		fullROI = make([]float64, 2*r)
		for i := 0; i < r; i++ {
			fullROI[r+i] = 1
		}
		if roi != nil {
			if len(roi) != 2*na {
				return nil, fmt.Errorf("roi %v needs %d entries", roi, 2*na)
			}
			for i, ax := range axes {
				fullROI[ax], fullROI[r+ax] = roi[i], roi[na+i]
			}
		}
	}
	v, err := ToFloat64(x)
	if err != nil {
		return nil, err
	}
	shape := append([]int{}, x.Shape...)
	for d := r - 1; d >= 0; d-- {
		if outSize[d] == shape[d] && scale[d] == 1 && o.coord != "tf_crop_and_resize" {
			continue
		}
		var rlo, rhi float64
		if fullROI != nil {
			rlo, rhi = fullROI[d], fullROI[r+d]
		}
		v, err = resizeAxis(v, shape, d, outSize[d], scale[d], rlo, rhi, o)
		if err != nil {
			return nil, err
		}
		shape[d] = outSize[d]
	}
	if isInt(x.DType) {
		iv := make([]int64, len(v))
		for i, f := range v {
			iv[i] = f64ToI64(f)
		}
		return fromInt64(x.DType, iv, shape)
	}
	return FromFloat64(x.DType, v, shape)
}

// resizeTaps computes, for output coordinate xo along an axis of width in,
// the source indices (clamped to the edge) and weights, or ok=false when
// the point is extrapolated.
func resizeTaps(xo int, in, outInt int, scale, rlo, rhi float64, o resizeOpts) (idx []int, w []float64, ok bool) {
	x := float64(xo)
	ow := scale * float64(in)
	var xs float64
	switch o.coord {
	case "align_corners":
		if ow == 1 {
			xs = 0
		} else {
			xs = x * float64(in-1) / (ow - 1)
		}
	case "asymmetric":
		xs = x / scale
	case "tf_crop_and_resize":
		if ow == 1 {
			xs = (rhi - rlo) * float64(in-1) / 2
		} else {
			xs = x * (rhi - rlo) * float64(in-1) / (ow - 1)
		}
		xs += rlo * float64(in-1)
		if xs < 0 || xs > float64(in-1) {
			return nil, nil, false
		}
	case "pytorch_half_pixel":
		if ow == 1 {
			xs = -0.5
		} else {
			xs = (x+0.5)/scale - 0.5
		}
	case "half_pixel":
		xs = (x+0.5)/scale - 0.5
	case "half_pixel_symmetric":
		adj := float64(outInt) / ow
		center := float64(in) / 2
		xs = center*(1-adj) + (x+0.5)/scale - 0.5
	default:
		xs = (x+0.5)/scale - 0.5
	}
	base := math.Ceil(xs) - 1
	ratio := xs - base // in (0, 1]
	var coeffs []float64
	switch o.mode {
	case "nearest":
		var lo bool
		switch {
		case ratio == 1:
			lo = false
		case o.nearest == "round_prefer_ceil":
			lo = ratio < 0.5
		case o.nearest == "floor":
			lo = true
		case o.nearest == "ceil":
			lo = false
		default:
			lo = ratio <= 0.5
		}
		if lo {
			coeffs = []float64{1, 0}
		} else {
			coeffs = []float64{0, 1}
		}
	case "linear":
		if o.antialias {
			s := math.Min(scale, 1)
			start := int(math.Floor(-1/s) + 1)
			fp := 2 - 2*start
			coeffs = make([]float64, fp)
			var sum float64
			for i := range coeffs {
				a := (float64(start+i) - ratio) * s
				coeffs[i] = math.Max(0, math.Min(1, 1-math.Abs(a)))
				sum += coeffs[i]
			}
			for i := range coeffs {
				coeffs[i] /= sum
			}
		} else {
			coeffs = []float64{1 - ratio, ratio}
		}
	case "cubic":
		A := o.cubicA
		if o.antialias {
			s := math.Min(scale, 1)
			st := int(math.Floor(-2/s) + 1)
			end := 2 - st
			var sum float64
			for i := st; i < end; i++ {
				a := math.Abs(s * (float64(i) - ratio))
				var c float64
				switch {
				case a <= 1:
					c = (A+2)*a*a*a - (A+3)*a*a + 1
				case a < 2:
					c = A*a*a*a - 5*A*a*a + 8*A*a - 4*A
				}
				coeffs = append(coeffs, c)
				sum += c
			}
			for i := range coeffs {
				coeffs[i] /= sum
			}
		} else {
			r := ratio
			coeffs = []float64{
				((A*(r+1)-5*A)*(r+1)+8*A)*(r+1) - 4*A,
				((A+2)*r-(A+3))*r*r + 1,
				((A+2)*(1-r)-(A+3))*(1-r)*(1-r) + 1,
				((A*((1-r)+1)-5*A)*((1-r)+1)+8*A)*((1-r)+1) - 4*A,
			}
		}
	}
	nn := len(coeffs)
	first := int(base) - nn/2 + 1
	idx = make([]int, nn)
	for i := range idx {
		p := first + i
		if o.exclude && (p < 0 || p >= in) {
			coeffs[i] = 0
		}
		idx[i] = min(max(p, 0), in-1)
	}
	if o.exclude {
		var sum float64
		for _, c := range coeffs {
			sum += c
		}
		if sum != 0 {
			for i := range coeffs {
				coeffs[i] /= sum
			}
		}
	}
	return idx, coeffs, true
}

// resizeAxis interpolates v (shape) along axis d to size out.
func resizeAxis(v []float64, shape []int, d, out int, scale, rlo, rhi float64, o resizeOpts) ([]float64, error) {
	in := shape[d]
	if in == 0 {
		return nil, fmt.Errorf("cannot resize an empty axis")
	}
	outer := tensor.NumElems(shape[:d])
	inner := tensor.NumElems(shape[d+1:])
	res := make([]float64, outer*out*inner)
	for xo := 0; xo < out; xo++ {
		idx, w, ok := resizeTaps(xo, in, out, scale, rlo, rhi, o)
		for ob := 0; ob < outer; ob++ {
			dst := res[(ob*out+xo)*inner : (ob*out+xo+1)*inner]
			if !ok {
				for i := range dst {
					dst[i] = o.extrap
				}
				continue
			}
			src := v[ob*in*inner:]
			for t, ix := range idx {
				c := w[t]
				if c == 0 {
					continue
				}
				row := src[ix*inner : (ix+1)*inner]
				for i, e := range row {
					dst[i] += c * e
				}
			}
		}
	}
	return res, nil
}
