package ops

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Cast and CastLike between every numeric, bool and string type, including
// the narrow floats (float16, bfloat16, the four float8 formats, float4
// E2M1, E8M0) and the 4/2-bit integers. Floats round to nearest even;
// saturate (opset 19+) clamps out-of-range values of the float8 formats to
// their largest finite value; integers wrap to their width as numpy's
// astype does.

var castTypes = []tensor.DType{tensor.Float32, tensor.Float64, tensor.Float16, tensor.BFloat16,
	tensor.Float8E4M3FN, tensor.Float8E4M3FNUZ, tensor.Float8E5M2, tensor.Float8E5M2FNUZ, tensor.Float4E2M1, Float8E8M0,
	tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64, tensor.Uint8, tensor.Uint16, tensor.Uint32, tensor.Uint64,
	tensor.Int4, tensor.Uint4, Int2, Uint2, tensor.Bool, tensor.String}

// CastOptions are the Cast attributes beyond the target type.
type CastOptions struct {
	Saturate  bool   // float8 targets: clamp instead of Inf/NaN
	RoundMode string // float8e8m0 targets: "up" (default), "down", "nearest"
}

func init() {
	Register(Impl{Op: "Cast", DTypes: castTypes, Build: func(b *BuildInfo) (Kernel, error) {
		to, err := castTarget(b.Node)
		if err != nil {
			return nil, err
		}
		if to < 0 {
			return nil, fmt.Errorf("Cast needs the attribute to")
		}
		opt, err := castOptions(b.Node)
		if err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 1)
			if err != nil {
				return nil, err
			}
			out, err := Cast(ts[0], tensor.DType(to), opt)
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}), nil
	}})
	graph.RegisterShape("", "Cast", func(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		to, err := n.Int("to", 0)
		if err != nil || len(in) == 0 {
			return nil, err
		}
		t := in[0]
		t.DType = tensor.DType(to)
		return []graph.Type{t}, nil
	})
	Register(Impl{Op: "CastLike", DTypes: castTypes, Build: func(b *BuildInfo) (Kernel, error) {
		opt, err := castOptions(b.Node)
		if err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 2)
			if err != nil {
				return nil, err
			}
			out, err := Cast(ts[0], ts[1].DType, opt)
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}), nil
	}})
	graph.RegisterShape("", "CastLike", func(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		if len(in) < 2 {
			return nil, nil
		}
		t := in[0]
		t.DType = in[1].DType
		return []graph.Type{t}, nil
	})
}

func castOptions(n *graph.Node) (CastOptions, error) {
	sat, err := n.Int("saturate", 1)
	if err != nil {
		return CastOptions{}, err
	}
	rm, err := n.String("round_mode", "up")
	if err != nil {
		return CastOptions{}, err
	}
	switch rm {
	case "up", "down", "nearest":
	default:
		return CastOptions{}, fmt.Errorf("round_mode %q must be up, down or nearest", rm)
	}
	return CastOptions{Saturate: sat != 0, RoundMode: rm}, nil
}

// Cast converts x to dtype `to`.
func Cast(x *tensor.Tensor, to tensor.DType, opt CastOptions) (*tensor.Tensor, error) {
	if opt.RoundMode == "" {
		opt.RoundMode = "up"
	}
	if x.DType == to {
		return x, nil
	}
	shape := x.Shape
	n := x.Len()
	if to == tensor.String {
		return castToString(x)
	}
	if x.DType == tensor.String {
		return castFromString(x, to, opt)
	}
	// Fast common paths.
	switch {
	case x.DType == tensor.Float32 && to == tensor.Float16:
		out := tensor.New(to, shape...)
		o := out.U16()
		for i, v := range x.F32() {
			o[i] = F32ToF16(v)
		}
		return out, nil
	case x.DType == tensor.Float32 && to == tensor.BFloat16:
		out := tensor.New(to, shape...)
		o := out.U16()
		for i, v := range x.F32() {
			o[i] = F32ToBF16(v)
		}
		return out, nil
	case (x.DType == tensor.Float16 || x.DType == tensor.BFloat16) && to == tensor.Float32:
		f, _, err := toF32(x)
		return f, err
	}
	if isInt(x.DType) || x.DType == tensor.Bool {
		if isInt(to) || to == tensor.Bool {
			v, err := ToInt64(x)
			if err != nil {
				return nil, err
			}
			if x.DType == tensor.Uint64 && to == tensor.Bool {
				out := newTensor(to, shape...)
				for i, u := range x.Data.([]uint64) {
					out.Bools()[i] = u != 0
				}
				return out, nil
			}
			return intsTo(to, v, shape)
		}
	}
	var vals []float64
	if x.DType == tensor.Uint64 {
		vals = make([]float64, n)
		conv(vals, x.Data.([]uint64))
	} else {
		var err error
		if vals, err = ToFloat64(x); err != nil {
			return nil, fmt.Errorf("Cast from %s: %w", x.DType, err)
		}
	}
	return floatsTo(to, vals, shape, opt)
}

// floatsTo converts float64 values to any non-string dtype.
func floatsTo(to tensor.DType, vals []float64, shape []int, opt CastOptions) (*tensor.Tensor, error) {
	out := newTensor(to, shape...)
	switch d := out.Data.(type) {
	case []float32:
		for i, v := range vals {
			d[i] = float32(v)
		}
	case []float64:
		copy(d, vals)
	case []bool:
		for i, v := range vals {
			d[i] = v != 0
		}
	case []uint16:
		switch to {
		case tensor.Float16:
			for i, v := range vals {
				d[i] = uint16(fmtF16.encode(v, false))
			}
		case tensor.BFloat16:
			bf := floatFormat{8, 7, 127, styleIEEE}
			for i, v := range vals {
				d[i] = uint16(bf.encode(v, false))
			}
		default:
			for i, v := range vals {
				d[i] = uint16(f64ToI64(v))
			}
		}
	case []uint8:
		if to == Float8E8M0 {
			for i, v := range vals {
				d[i] = e8m0FromFloat32(float32(v), opt.Saturate, opt.RoundMode)
			}
			break
		}
		if f, ok := formatOf(to); ok {
			sat := opt.Saturate
			if to == tensor.Float4E2M1 {
				sat = true
			}
			for i, v := range vals {
				d[i] = uint8(f.encode(v, sat))
			}
			break
		}
		iv := make([]int64, len(vals))
		for i, v := range vals {
			iv[i] = f64ToI64(v)
		}
		return intsTo(to, iv, shape)
	case []uint64:
		for i, v := range vals {
			if v >= 9.223372036854775807e18 && v < 1.8446744073709551615e19 {
				d[i] = uint64(v)
			} else {
				d[i] = uint64(f64ToI64(v))
			}
		}
	case []string:
		for i, v := range vals {
			d[i] = formatFloatNumpy(v, 64)
		}
	default:
		if !isInt(to) {
			return nil, fmt.Errorf("cannot convert numbers to %s", to)
		}
		iv := make([]int64, len(vals))
		for i, v := range vals {
			iv[i] = f64ToI64(v)
		}
		return intsTo(to, iv, shape)
	}
	return out, nil
}

// intsTo narrows int64 values to an integer, bool or float dtype (wrapping
// the sub-byte integers to their width).
func intsTo(to tensor.DType, v []int64, shape []int) (*tensor.Tensor, error) {
	switch to {
	case tensor.Int4:
		out := newTensor(to, shape...)
		for i, x := range v {
			out.I8()[i] = int8(x << 60 >> 60)
		}
		return out, nil
	case tensor.Uint4:
		out := newTensor(to, shape...)
		for i, x := range v {
			out.U8()[i] = uint8(x & 0xf)
		}
		return out, nil
	case Int2:
		out := newTensor(to, shape...)
		for i, x := range v {
			out.Data.([]int8)[i] = int8(x << 62 >> 62)
		}
		return out, nil
	case Uint2:
		out := newTensor(to, shape...)
		for i, x := range v {
			out.Data.([]uint8)[i] = uint8(x & 3)
		}
		return out, nil
	}
	if isInt(to) || to == tensor.Bool {
		return fromInt64(to, v, shape)
	}
	if !isFloat(to) && to != tensor.String {
		return nil, fmt.Errorf("cannot convert integers to %s", to)
	}
	f := make([]float64, len(v))
	conv(f, v)
	return floatsTo(to, f, shape, CastOptions{Saturate: true, RoundMode: "up"})
}

// e8m0FromFloat32 rounds |x| to a power of two on the float32 bit pattern.
func e8m0FromFloat32(x float32, saturate bool, mode string) uint8 {
	b := math.Float32bits(x) & 0x7fffffff
	if b > 0x7f800000 {
		return 0xff
	}
	if b == 0x7f800000 {
		if saturate {
			return 0xfe
		}
		return 0xff
	}
	e := b >> 23
	m := b & 0x7fffff
	switch mode {
	case "up":
		if m != 0 {
			e++
		}
	case "nearest":
		if m >= 0x400000 {
			e++
		}
	}
	if e >= 0xff {
		if saturate {
			return 0xfe
		}
		return 0xff
	}
	return uint8(e)
}

func castToString(x *tensor.Tensor) (*tensor.Tensor, error) {
	out := tensor.New(tensor.String, x.Shape...)
	s := out.Strings()
	switch d := x.Data.(type) {
	case []bool:
		for i, v := range d {
			if v {
				s[i] = "True"
			} else {
				s[i] = "False"
			}
		}
		return out, nil
	}
	if isInt(x.DType) {
		if d, ok := x.Data.([]uint64); ok {
			for i, v := range d {
				s[i] = strconv.FormatUint(v, 10)
			}
			return out, nil
		}
		v, err := ToInt64(x)
		if err != nil {
			return nil, err
		}
		for i, e := range v {
			s[i] = strconv.FormatInt(e, 10)
		}
		return out, nil
	}
	v, err := ToFloat64(x)
	if err != nil {
		return nil, err
	}
	bits := 64
	if x.DType != tensor.Float64 {
		bits = 32
	}
	for i, e := range v {
		s[i] = formatFloatNumpy(e, bits)
	}
	return out, nil
}

// formatFloatNumpy prints the shortest round-trip repr as numpy's str does:
// "1.0", "0.1", "1e-05", "inf", "nan".
func formatFloatNumpy(v float64, bits int) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	a := math.Abs(v)
	if a != 0 && (a < 1e-4 || a >= 1e16) {
		s := strconv.FormatFloat(v, 'e', -1, bits)
		mant, exp, _ := strings.Cut(s, "e")
		sign := exp[0]
		exp = strings.TrimLeft(exp[1:], "0")
		if len(exp) < 2 {
			exp = strings.Repeat("0", 2-len(exp)) + exp
		}
		return mant + "e" + string(sign) + exp
	}
	s := strconv.FormatFloat(v, 'f', -1, bits)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func castFromString(x *tensor.Tensor, to tensor.DType, opt CastOptions) (*tensor.Tensor, error) {
	s := x.Strings()
	if to == tensor.Bool {
		out := tensor.New(to, x.Shape...)
		for i, e := range s {
			switch strings.ToLower(strings.TrimSpace(e)) {
			case "true":
				out.Bools()[i] = true
			case "false", "":
			default:
				f, err := strconv.ParseFloat(strings.TrimSpace(e), 64)
				if err != nil {
					return nil, fmt.Errorf("Cast: cannot parse %q as bool", e)
				}
				out.Bools()[i] = f != 0
			}
		}
		return out, nil
	}
	if isInt(to) {
		v := make([]int64, len(s))
		for i, e := range s {
			iv, err := strconv.ParseInt(strings.TrimSpace(e), 10, 64)
			if err != nil {
				f, ferr := strconv.ParseFloat(strings.TrimSpace(e), 64)
				if ferr != nil {
					return nil, fmt.Errorf("Cast: cannot parse %q as %s", e, to)
				}
				iv = f64ToI64(f)
			}
			v[i] = iv
		}
		return intsTo(to, v, x.Shape)
	}
	v := make([]float64, len(s))
	for i, e := range s {
		t := strings.TrimSpace(e)
		switch strings.ToLower(t) {
		case "inf", "+inf", "infinity", "+infinity":
			v[i] = math.Inf(1)
			continue
		case "-inf", "-infinity":
			v[i] = math.Inf(-1)
			continue
		case "nan", "+nan", "-nan":
			v[i] = math.NaN()
			continue
		}
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return nil, fmt.Errorf("Cast: cannot parse %q as %s", e, to)
		}
		v[i] = f
	}
	return floatsTo(to, v, x.Shape, opt)
}

// castTarget reads Cast's `to`, an int (opset 6+) or, in Cast-1, the
// TensorProto.DataType name as a string ("FLOAT", "INT64", ...).
func castTarget(n *graph.Node) (int64, error) {
	if a, ok := n.Attrs["to"]; ok && a.Type == graph.AttrString {
		for dt := tensor.DType(1); dt <= Int2; dt++ {
			if onnxTypeName(dt) == strings.ToUpper(a.S) {
				return int64(dt), nil
			}
		}
		return 0, fmt.Errorf("Cast: unknown type name %q", a.S)
	}
	return n.Int("to", -1)
}

// onnxTypeName is the TensorProto.DataType enum name of dt.
func onnxTypeName(dt tensor.DType) string {
	switch dt {
	case tensor.Float32:
		return "FLOAT"
	case tensor.Float64:
		return "DOUBLE"
	case tensor.Float16:
		return "FLOAT16"
	}
	return strings.ToUpper(dtypeName(dt))
}
