package graph

import (
	"fmt"

	"github.com/frugal-ml/frugal/tensor"
)

// Shape functions of the core ops (the spine). Other op families register
// theirs beside their kernels' definitions.

func init() {
	same := func(n *Node, in []Type, _ []*tensor.Tensor, _ int64) ([]Type, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return []Type{in[0]}, nil
	}
	for _, op := range []string{"Relu", "Softmax", "LogSoftmax", "Identity", "Sigmoid", "Tanh", "LeakyRelu", "Clip", "Neg", "Abs", "Exp", "Log", "Sqrt", "Dropout", "BatchNormalization", "Elu", "Selu", "HardSigmoid", "HardSwish", "Gelu", "Softplus", "Softsign", "Erf", "Ceil", "Floor", "Round", "Reciprocal", "LayerNormalization", "InstanceNormalization", "GroupNormalization"} {
		RegisterShape("", op, same)
	}
	binary := func(n *Node, in []Type, _ []*tensor.Tensor, _ int64) ([]Type, error) {
		if len(in) < 2 {
			return nil, fmt.Errorf("needs 2 inputs, has %d", len(in))
		}
		out := Type{DType: in[0].DType}
		if in[0].HasShape && in[1].HasShape {
			s, err := broadcastSym(in[0].Shape, in[1].Shape)
			if err != nil {
				return nil, err
			}
			out.Shape, out.HasShape = s, true
		}
		return []Type{out}, nil
	}
	for _, op := range []string{"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"} {
		RegisterShape("", op, binary)
	}
	RegisterShape("", "Conv", convShape)
	RegisterShape("ai.frugal", "FusedConv", fusedConvShape)
	RegisterShape("ai.frugal", "FusedPwDw", fusedPwDwShape)
	RegisterShape("ai.frugal", "ConvNHWC", convNHWCShape)
	RegisterShape("ai.frugal", "GlobalAveragePoolNHWC", globalPoolNHWCShape)
	RegisterShape("", "MaxPool", poolShape)
	RegisterShape("", "AveragePool", poolShape)
	RegisterShape("", "GlobalAveragePool", globalPoolShape)
	RegisterShape("", "GlobalMaxPool", globalPoolShape)
	RegisterShape("", "Gemm", gemmShape)
	RegisterShape("", "MatMul", matmulShape)
	RegisterShape("ai.frugal", "MatMulBias", matmulShape) // MatMul + bias [N]
	RegisterShape("", "Flatten", flattenShape)
	RegisterShape("", "Reshape", reshapeShape)
	RegisterShape("", "QuantizeLinear", func(n *Node, in []Type, c []*tensor.Tensor, _ int64) ([]Type, error) {
		out := in[0]
		out.DType = tensor.Uint8
		if len(in) > 2 && in[2].DType != tensor.Undefined {
			out.DType = in[2].DType
		}
		if dt, _ := n.Int("output_dtype", 0); dt != 0 {
			out.DType = tensor.DType(dt)
		}
		return []Type{out}, nil
	})
	RegisterShape("", "DequantizeLinear", func(n *Node, in []Type, c []*tensor.Tensor, _ int64) ([]Type, error) {
		out := in[0]
		out.DType = tensor.Float32
		if len(in) > 1 && in[1].DType != tensor.Undefined {
			out.DType = in[1].DType
		}
		return []Type{out}, nil
	})
}

// broadcastSym broadcasts partly symbolic shapes.
func broadcastSym(a, b Shape) (Shape, error) {
	r := len(a)
	if len(b) > r {
		r = len(b)
	}
	out := make(Shape, r)
	for i := 0; i < r; i++ {
		da, db := Dim{Size: 1}, Dim{Size: 1}
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da.Known() && db.Known():
			if da.Size != db.Size && da.Size != 1 && db.Size != 1 {
				return nil, fmt.Errorf("shapes %s and %s do not broadcast", a, b)
			}
			if da.Size == 1 {
				out[i] = db
			} else {
				out[i] = da
			}
		case da.Known() && da.Size == 1:
			out[i] = db
		case db.Known() && db.Size == 1:
			out[i] = da
		case !da.Known():
			out[i] = da
		default:
			out[i] = db
		}
	}
	return out, nil
}

// ConvParams are the spatial parameters shared by Conv and the pools.
type ConvParams struct {
	Kernel, Strides, Pads, Dilations []int // Pads: begins then ends
	Group                            int
	CeilMode                         bool
}

// ReadConvParams reads kernel_shape, strides, pads (resolving auto_pad),
// dilations and group for `spatial` spatial dims of input shape in (N,C,...)
// and kernel spatial shape ks (from the weight, or kernel_shape).
func ReadConvParams(n *Node, in []int, ks []int) (ConvParams, error) {
	sp := len(in) - 2
	p := ConvParams{Group: 1}
	if k, err := n.Ints("kernel_shape", nil); err != nil {
		return p, err
	} else if k != nil {
		ks = toInts(k)
	}
	if len(ks) != sp {
		return p, fmt.Errorf("kernel has %d spatial dims, input %v has %d", len(ks), in, sp)
	}
	p.Kernel = ks
	ones := make([]int64, sp)
	for i := range ones {
		ones[i] = 1
	}
	s, err := n.Ints("strides", ones)
	if err != nil {
		return p, err
	}
	d, err := n.Ints("dilations", ones)
	if err != nil {
		return p, err
	}
	p.Strides, p.Dilations = toInts(s), toInts(d)
	if len(p.Strides) != sp || len(p.Dilations) != sp {
		return p, fmt.Errorf("strides %v / dilations %v do not have %d entries", s, d, sp)
	}
	g, err := n.Int("group", 1)
	if err != nil {
		return p, err
	}
	p.Group = int(g)
	if cm, _ := n.Int("ceil_mode", 0); cm != 0 {
		p.CeilMode = true
	}
	pads, err := n.Ints("pads", make([]int64, 2*sp))
	if err != nil {
		return p, err
	}
	if len(pads) != 2*sp {
		return p, fmt.Errorf("pads %v must have %d entries", pads, 2*sp)
	}
	p.Pads = toInts(pads)
	ap, err := n.String("auto_pad", "NOTSET")
	if err != nil {
		return p, err
	}
	switch ap {
	case "NOTSET", "":
	case "VALID":
		for i := range p.Pads {
			p.Pads[i] = 0
		}
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < sp; i++ {
			x := in[2+i]
			outd := (x + p.Strides[i] - 1) / p.Strides[i]
			ek := (p.Kernel[i]-1)*p.Dilations[i] + 1
			total := (outd-1)*p.Strides[i] + ek - x
			if total < 0 {
				total = 0
			}
			if ap == "SAME_UPPER" {
				p.Pads[i], p.Pads[i+sp] = total/2, total-total/2
			} else {
				p.Pads[i], p.Pads[i+sp] = total-total/2, total/2
			}
		}
	default:
		return p, fmt.Errorf("unknown auto_pad %q", ap)
	}
	for i := 0; i < sp; i++ {
		if p.Strides[i] <= 0 || p.Dilations[i] <= 0 || p.Kernel[i] <= 0 {
			return p, fmt.Errorf("kernel %v, strides %v and dilations %v must be positive", p.Kernel, p.Strides, p.Dilations)
		}
	}
	return p, nil
}

// OutSize is the output extent along spatial dim i for input extent x.
func (p ConvParams) OutSize(i, x int) int {
	sp := len(p.Kernel)
	ek := (p.Kernel[i]-1)*p.Dilations[i] + 1
	num := x + p.Pads[i] + p.Pads[i+sp] - ek
	if p.CeilMode {
		o := (num+p.Strides[i]-1)/p.Strides[i] + 1
		// The last window must start inside the input or left padding.
		if (o-1)*p.Strides[i] >= x+p.Pads[i] {
			o--
		}
		return o
	}
	return num/p.Strides[i] + 1
}

func toInts(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

func convShape(n *Node, in []Type, c []*tensor.Tensor, _ int64) ([]Type, error) {
	if len(in) < 2 {
		return nil, fmt.Errorf("Conv needs X and W inputs")
	}
	out := Type{DType: in[0].DType}
	xs, okx := in[0].Known()
	ws, okw := in[1].Known()
	if !okx || !okw {
		return []Type{out}, nil
	}
	if len(xs) < 3 || len(ws) != len(xs) {
		return nil, fmt.Errorf("input shape %v and weight shape %v: want matching ranks >= 3", xs, ws)
	}
	p, err := ReadConvParams(n, xs, ws[2:])
	if err != nil {
		return nil, err
	}
	if p.Group <= 0 || xs[1] != ws[1]*p.Group {
		return nil, fmt.Errorf("input has %d channels, weight %v with group %d expects %d", xs[1], ws, p.Group, ws[1]*p.Group)
	}
	shape := []int{xs[0], ws[0]}
	for i := range p.Kernel {
		o := p.OutSize(i, xs[2+i])
		if o <= 0 {
			return nil, fmt.Errorf("output spatial size %d <= 0 (input %v, kernel %v)", o, xs, p.Kernel)
		}
		shape = append(shape, o)
	}
	out.Shape, out.HasShape = ConcreteShape(shape...), true
	return []Type{out}, nil
}

// convNHWCShape types frugal's ConvNHWC (X, W, B[, Z]): a 2-D Conv whose
// output is channels-last [N, OH, OW, C], its X NCHW or NHWC as the
// x_layout attribute says (impl/passes channels-last).
func convNHWCShape(n *Node, in []Type, c []*tensor.Tensor, opset int64) ([]Type, error) {
	if len(in) < 2 {
		return nil, fmt.Errorf("ConvNHWC needs X and W inputs")
	}
	layout, err := n.String("x_layout", "NCHW")
	if err != nil {
		return nil, err
	}
	x := in[0]
	if xs, ok := x.Known(); ok && layout == "NHWC" {
		if len(xs) != 4 {
			return nil, fmt.Errorf("ConvNHWC: NHWC input %v, want rank 4", xs)
		}
		x.Shape = ConcreteShape(xs[0], xs[3], xs[1], xs[2])
	} else if layout != "NCHW" && layout != "NHWC" {
		return nil, fmt.Errorf("ConvNHWC: x_layout %q, want NCHW or NHWC", layout)
	}
	out, err := convShape(n, []Type{x, in[1]}, c, opset)
	if err != nil || !out[0].HasShape {
		return out, err
	}
	os, _ := out[0].Known()
	if len(os) != 4 {
		return nil, fmt.Errorf("ConvNHWC: output %v, want rank 4", os)
	}
	out[0].Shape = ConcreteShape(os[0], os[2], os[3], os[1])
	return out, nil
}

// globalPoolNHWCShape types frugal's GlobalAveragePoolNHWC: an NHWC input
// [N, H, W, C] to the NCHW-shaped [N, C, 1, 1] GlobalAveragePool gives.
func globalPoolNHWCShape(n *Node, in []Type, c []*tensor.Tensor, _ int64) ([]Type, error) {
	out := Type{DType: in[0].DType}
	if xs, ok := in[0].Known(); ok {
		if len(xs) != 4 {
			return nil, fmt.Errorf("GlobalAveragePoolNHWC: input %v, want rank 4", xs)
		}
		out.Shape, out.HasShape = ConcreteShape(xs[0], xs[3], 1, 1), true
	}
	return []Type{out}, nil
}

// fusedConvShape types frugal's FusedConv (X, W, B, Z): Conv of the first
// three inputs plus Z, broadcast like Add (impl/passes fuse-conv-add).
func fusedConvShape(n *Node, in []Type, c []*tensor.Tensor, opset int64) ([]Type, error) {
	if len(in) < 4 {
		return nil, fmt.Errorf("FusedConv needs X, W, B and Z inputs")
	}
	out, err := convShape(n, in[:3], c, opset)
	if err != nil || !out[0].HasShape {
		return out, err
	}
	if !in[3].HasShape {
		return []Type{{DType: out[0].DType}}, nil
	}
	sh, err := broadcastSym(out[0].Shape, in[3].Shape)
	if err != nil {
		return nil, err
	}
	out[0].Shape = sh
	return out, nil
}

// fusedPwDwShape types frugal's FusedPwDw (X, WA, BA, WB, BB): a 1x1
// Conv with WA then a depthwise Conv with WB, window attributes dw_strides
// and dw_pads (impl/passes fuse-pw-dw).
func fusedPwDwShape(n *Node, in []Type, c []*tensor.Tensor, _ int64) ([]Type, error) {
	if len(in) < 4 {
		return nil, fmt.Errorf("FusedPwDw needs X, WA, BA and WB inputs")
	}
	out := Type{DType: in[0].DType}
	xs, ok1 := in[0].Known()
	wb, ok2 := in[3].Known()
	if !ok1 || !ok2 {
		return []Type{out}, nil
	}
	st, err := n.Ints("dw_strides", []int64{1, 1})
	if err != nil {
		return nil, err
	}
	pd, err := n.Ints("dw_pads", []int64{0, 0, 0, 0})
	if err != nil {
		return nil, err
	}
	if len(xs) != 4 || len(wb) != 4 || len(st) != 2 || len(pd) != 4 || st[0] < 1 || st[1] < 1 {
		return nil, fmt.Errorf("FusedPwDw: input %v, depthwise weight %v, dw_strides %v, dw_pads %v", xs, wb, st, pd)
	}
	oh := (xs[2]+int(pd[0]+pd[2])-wb[2])/int(st[0]) + 1
	ow := (xs[3]+int(pd[1]+pd[3])-wb[3])/int(st[1]) + 1
	if oh <= 0 || ow <= 0 {
		return nil, fmt.Errorf("FusedPwDw: input %v with depthwise weight %v gives an empty output", xs, wb)
	}
	out.Shape, out.HasShape = ConcreteShape(xs[0], wb[0], oh, ow), true
	return []Type{out}, nil
}

func poolShape(n *Node, in []Type, c []*tensor.Tensor, _ int64) ([]Type, error) {
	out := Type{DType: in[0].DType}
	xs, ok := in[0].Known()
	if !ok {
		return []Type{out, {DType: tensor.Int64}}, nil
	}
	if len(xs) < 3 {
		return nil, fmt.Errorf("input shape %v: want rank >= 3", xs)
	}
	p, err := ReadConvParams(n, xs, nil)
	if err != nil {
		return nil, err
	}
	shape := []int{xs[0], xs[1]}
	for i := range p.Kernel {
		shape = append(shape, p.OutSize(i, xs[2+i]))
	}
	out.Shape, out.HasShape = ConcreteShape(shape...), true
	idx := out
	idx.DType = tensor.Int64
	return []Type{out, idx}, nil
}

func globalPoolShape(n *Node, in []Type, c []*tensor.Tensor, _ int64) ([]Type, error) {
	out := Type{DType: in[0].DType}
	if in[0].HasShape && len(in[0].Shape) >= 2 {
		s := Shape{in[0].Shape[0], in[0].Shape[1]}
		for range in[0].Shape[2:] {
			s = append(s, Dim{Size: 1})
		}
		out.Shape, out.HasShape = s, true
	}
	return []Type{out}, nil
}

func gemmShape(n *Node, in []Type, c []*tensor.Tensor, _ int64) ([]Type, error) {
	out := Type{DType: in[0].DType}
	if !in[0].HasShape || !in[1].HasShape {
		return []Type{out}, nil
	}
	if len(in[0].Shape) != 2 || len(in[1].Shape) != 2 {
		return nil, fmt.Errorf("Gemm wants rank-2 A and B, got %s and %s", in[0].Shape, in[1].Shape)
	}
	ta, _ := n.Int("transA", 0)
	tb, _ := n.Int("transB", 0)
	m, ka := in[0].Shape[0], in[0].Shape[1]
	if ta != 0 {
		m, ka = ka, m
	}
	kb, nn := in[1].Shape[0], in[1].Shape[1]
	if tb != 0 {
		kb, nn = nn, kb
	}
	if ka.Known() && kb.Known() && ka.Size != kb.Size {
		return nil, fmt.Errorf("Gemm inner dimensions differ: A %s (transA=%d), B %s (transB=%d)", in[0].Shape, ta, in[1].Shape, tb)
	}
	out.Shape, out.HasShape = Shape{m, nn}, true
	return []Type{out}, nil
}

func matmulShape(n *Node, in []Type, c []*tensor.Tensor, _ int64) ([]Type, error) {
	out := Type{DType: in[0].DType}
	if !in[0].HasShape || !in[1].HasShape {
		return []Type{out}, nil
	}
	a, b := in[0].Shape, in[1].Shape
	if len(a) == 0 || len(b) == 0 {
		return nil, fmt.Errorf("MatMul inputs must not be scalars")
	}
	a1, b1 := len(a) == 1, len(b) == 1
	if a1 {
		a = Shape{{Size: 1}, a[0]}
	}
	if b1 {
		b = Shape{b[0], {Size: 1}}
	}
	ka, kb := a[len(a)-1], b[len(b)-2]
	if ka.Known() && kb.Known() && ka.Size != kb.Size {
		return nil, fmt.Errorf("MatMul inner dimensions differ: %s x %s", in[0].Shape, in[1].Shape)
	}
	batch, err := broadcastSym(a[:len(a)-2], b[:len(b)-2])
	if err != nil {
		return nil, err
	}
	s := append(Shape{}, batch...)
	if !a1 {
		s = append(s, a[len(a)-2])
	}
	if !b1 {
		s = append(s, b[len(b)-1])
	}
	out.Shape, out.HasShape = s, true
	return []Type{out}, nil
}

func flattenShape(n *Node, in []Type, c []*tensor.Tensor, _ int64) ([]Type, error) {
	out := Type{DType: in[0].DType}
	xs, ok := in[0].Known()
	if !ok {
		return []Type{out}, nil
	}
	ax, err := n.Int("axis", 1)
	if err != nil {
		return nil, err
	}
	if ax < 0 {
		ax += int64(len(xs))
	}
	if ax < 0 || ax > int64(len(xs)) {
		return nil, fmt.Errorf("axis %d out of range for rank %d", ax, len(xs))
	}
	out.Shape, out.HasShape = ConcreteShape(tensor.NumElems(xs[:ax]), tensor.NumElems(xs[ax:])), true
	return []Type{out}, nil
}

func reshapeShape(n *Node, in []Type, c []*tensor.Tensor, _ int64) ([]Type, error) {
	out := Type{DType: in[0].DType}
	if len(c) < 2 || c[1] == nil {
		return []Type{out}, nil
	}
	xs, ok := in[0].Known()
	if !ok {
		return []Type{out}, nil
	}
	az, _ := n.Int("allowzero", 0)
	s, err := ResolveReshape(xs, c[1].I64(), az != 0)
	if err != nil {
		return nil, err
	}
	out.Shape, out.HasShape = ConcreteShape(s...), true
	return []Type{out}, nil
}

// ResolveReshape applies ONNX Reshape semantics (0 copies, -1 infers).
func ResolveReshape(in []int, shape []int64, allowZero bool) ([]int, error) {
	out := make([]int, len(shape))
	infer := -1
	prod := 1
	for i, d := range shape {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("reshape target %v has more than one -1", shape)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("reshape target %v copies dim %d of %v, which does not exist", shape, i, in)
			}
			out[i] = in[i]
		case d < 0:
			return nil, fmt.Errorf("reshape target %v has negative dim", shape)
		default:
			out[i] = int(d)
		}
		prod *= out[i]
	}
	total := tensor.NumElems(in)
	if infer >= 0 {
		if prod == 0 || total%prod != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", in, shape)
		}
		out[infer] = total / prod
	} else if prod != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v (%d elements)", in, total, shape, prod)
	}
	return out, nil
}
