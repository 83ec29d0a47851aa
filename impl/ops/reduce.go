package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Reductions: ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare
// with axes as attribute (old opsets) or input (ReduceSum 13+, the others
// 18+), keepdims and noop_with_empty_axes; ArgMax/ArgMin; CumSum/CumProd.
// Floats accumulate in float64; integer Sum/Prod/Max/Min/SumSquare/L1 are
// exact in int64.

// reduceAxesInputSince is the opset where axes moved to an input.
var reduceAxesInputSince = map[string]int64{
	"ReduceSum": 13, "ReduceMean": 18, "ReduceMax": 18, "ReduceMin": 18, "ReduceProd": 18,
	"ReduceL1": 18, "ReduceL2": 18, "ReduceLogSum": 18, "ReduceLogSumExp": 18, "ReduceSumSquare": 18,
}

func init() {
	for op := range reduceAxesInputSince {
		op := op
		dts := numericTypes
		if op == "ReduceMax" || op == "ReduceMin" {
			dts = append(append([]tensor.DType{}, numericTypes...), tensor.Bool)
		}
		Register(Impl{Op: op, DTypes: dts, Build: func(b *BuildInfo) (Kernel, error) { return buildReduce(op, b) }})
		graph.RegisterShape("", op, dtypeOnly)
	}
	for _, op := range []string{"ArgMax", "ArgMin"} {
		op := op
		Register(Impl{Op: op, DTypes: numericTypes, Build: func(b *BuildInfo) (Kernel, error) { return buildArg(op, b) }})
		graph.RegisterShape("", op, func(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
			return []graph.Type{{DType: tensor.Int64}}, nil
		})
	}
	for _, op := range []string{"CumSum", "CumProd"} {
		op := op
		Register(Impl{Op: op, DTypes: numericTypes, Build: func(b *BuildInfo) (Kernel, error) { return buildCum(op, b) }})
		graph.RegisterShape("", op, sameShape)
	}
}

// reducePlan maps every input position to its output position.
type reducePlan struct {
	outShape  []int // with keepdims applied
	keepShape []int // reduced axes kept as 1
	outIdx    []int // per input element
	count     int   // elements per output
}

func planReduce(shape []int, axes []int64, keep bool) (*reducePlan, error) {
	r := len(shape)
	red := make([]bool, r)
	if len(axes) == 0 {
		for i := range red {
			red[i] = true
		}
	}
	for _, a := range axes {
		ax, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		red[ax] = true
	}
	p := &reducePlan{count: 1}
	for i, d := range shape {
		if red[i] {
			p.keepShape = append(p.keepShape, 1)
			p.count *= d
			if keep {
				p.outShape = append(p.outShape, 1)
			}
		} else {
			p.keepShape = append(p.keepShape, d)
			p.outShape = append(p.outShape, d)
		}
	}
	if p.outShape == nil {
		p.outShape = []int{}
	}
	p.outIdx = make([]int, tensor.NumElems(shape))
	tensor.BroadcastIndex(shape, tensor.BroadcastStrides(p.keepShape, shape), p.outIdx)
	return p, nil
}

func buildReduce(op string, b *BuildInfo) (Kernel, error) {
	n := b.Node
	keep, err := n.Int("keepdims", 1)
	if err != nil {
		return nil, err
	}
	noop, err := n.Int("noop_with_empty_axes", 0)
	if err != nil {
		return nil, err
	}
	attrAxes, err := n.Ints("axes", nil)
	if err != nil {
		return nil, err
	}
	fromInput := b.Opset == 0 || b.Opset >= reduceAxesInputSince[op]
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		axes := attrAxes
		if fromInput {
			at, err := Tensor(in, 1)
			if err != nil {
				return nil, err
			}
			if axes, err = intsOf(at, "axes"); err != nil {
				return nil, err
			}
		}
		if len(axes) == 0 && noop != 0 {
			return []Value{x}, nil
		}
		if out, ok := reduceSuffixF32(ctx, op, x, axes, keep != 0); ok {
			return []Value{out}, nil
		}
		out, err := Reduce(op, x, axes, keep != 0)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

// reduceSuffixF32 is ReduceSum/ReduceMean of float32 over trailing axes
// (each output sums a contiguous run, as in layer norms), summing in float64
// in input order exactly as Reduce does, without its index plan. ok is
// false for other cases.
func reduceSuffixF32(ctx *Ctx, op string, x *tensor.Tensor, axes []int64, keep bool) (*tensor.Tensor, bool) {
	if x.DType != tensor.Float32 || (op != "ReduceSum" && op != "ReduceMean") {
		return nil, false
	}
	r := x.Rank()
	red := make([]bool, r)
	for _, a := range axes {
		ax, err := normAxis(a, r)
		if err != nil {
			return nil, false
		}
		red[ax] = true
	}
	if len(axes) == 0 {
		for i := range red {
			red[i] = true
		}
	}
	first := r
	for first > 0 && red[first-1] {
		first--
	}
	for i := 0; i < first; i++ {
		if red[i] {
			return nil, false // not a suffix
		}
	}
	outShape := []int{}
	for i, d := range x.Shape {
		switch {
		case !red[i]:
			outShape = append(outShape, d)
		case keep:
			outShape = append(outShape, 1)
		}
	}
	count := tensor.NumElems(x.Shape[first:])
	out := ctx.Empty(tensor.Float32, outShape...)
	od, xd := out.F32(), x.F32()
	for i := range od {
		var acc float64
		for _, v := range xd[i*count : (i+1)*count] {
			acc += float64(v)
		}
		if op == "ReduceMean" {
			acc /= float64(count)
		}
		od[i] = float32(acc)
	}
	return out, true
}

// Reduce applies a Reduce* op over axes (empty: all axes).
func Reduce(op string, x *tensor.Tensor, axes []int64, keep bool) (*tensor.Tensor, error) {
	p, err := planReduce(x.Shape, axes, keep)
	if err != nil {
		return nil, err
	}
	nout := tensor.NumElems(p.outShape)
	if x.DType == tensor.Bool && (op == "ReduceMax" || op == "ReduceMin") {
		v, _ := ToInt64(x)
		acc := make([]int64, nout)
		for i := range acc {
			if op == "ReduceMin" {
				acc[i] = 1
			}
		}
		for i, o := range p.outIdx {
			if op == "ReduceMax" {
				acc[o] = max(acc[o], v[i])
			} else {
				acc[o] = min(acc[o], v[i])
			}
		}
		return fromInt64(tensor.Bool, acc, p.outShape)
	}
	if isInt(x.DType) {
		switch op {
		case "ReduceSum", "ReduceProd", "ReduceMax", "ReduceMin", "ReduceSumSquare", "ReduceL1":
			return reduceInt(op, x, p, nout)
		}
	}
	v, err := ToFloat64(x)
	if err != nil {
		return nil, err
	}
	acc := make([]float64, nout)
	init := 0.0
	switch op {
	case "ReduceProd":
		init = 1
	case "ReduceMax", "ReduceLogSumExp":
		init = math.Inf(-1)
	case "ReduceMin":
		init = math.Inf(1)
	}
	for i := range acc {
		acc[i] = init
	}
	switch op {
	case "ReduceSum", "ReduceMean", "ReduceLogSum":
		for i, o := range p.outIdx {
			acc[o] += v[i]
		}
	case "ReduceProd":
		for i, o := range p.outIdx {
			acc[o] *= v[i]
		}
	case "ReduceMax":
		for i, o := range p.outIdx {
			acc[o] = maxNaN(acc[o], v[i])
		}
	case "ReduceMin":
		for i, o := range p.outIdx {
			acc[o] = minNaN(acc[o], v[i])
		}
	case "ReduceL1":
		for i, o := range p.outIdx {
			acc[o] += math.Abs(v[i])
		}
	case "ReduceL2", "ReduceSumSquare":
		for i, o := range p.outIdx {
			acc[o] += v[i] * v[i]
		}
	case "ReduceLogSumExp":
		for i, o := range p.outIdx {
			acc[o] = math.Max(acc[o], v[i])
		}
		mx := append([]float64{}, acc...)
		for i := range acc {
			acc[i] = 0
		}
		for i, o := range p.outIdx {
			if !math.IsInf(mx[o], -1) {
				acc[o] += math.Exp(v[i] - mx[o])
			}
		}
		for i := range acc {
			if math.IsInf(mx[i], 0) {
				acc[i] = mx[i]
			} else {
				acc[i] = mx[i] + math.Log(acc[i])
			}
		}
	default:
		return nil, fmt.Errorf("unknown reduction %s", op)
	}
	switch op {
	case "ReduceMean":
		for i := range acc {
			acc[i] /= float64(p.count)
		}
	case "ReduceL2":
		for i := range acc {
			acc[i] = math.Sqrt(acc[i])
		}
	case "ReduceLogSum":
		for i := range acc {
			acc[i] = math.Log(acc[i])
		}
	}
	if isInt(x.DType) {
		iv := make([]int64, len(acc))
		for i, a := range acc {
			iv[i] = f64ToI64(a)
		}
		return fromInt64(x.DType, iv, p.outShape)
	}
	return FromFloat64(x.DType, acc, p.outShape)
}

func maxNaN(a, b float64) float64 {
	if a != a || b != b {
		return math.NaN()
	}
	return math.Max(a, b)
}

func minNaN(a, b float64) float64 {
	if a != a || b != b {
		return math.NaN()
	}
	return math.Min(a, b)
}

func reduceInt(op string, x *tensor.Tensor, p *reducePlan, nout int) (*tensor.Tensor, error) {
	if d, ok := x.Data.([]uint64); ok && (op == "ReduceMax" || op == "ReduceMin") {
		acc := make([]uint64, nout)
		for i := range acc {
			if op == "ReduceMin" {
				acc[i] = math.MaxUint64
			}
		}
		for i, o := range p.outIdx {
			if op == "ReduceMax" {
				acc[o] = max(acc[o], d[i])
			} else {
				acc[o] = min(acc[o], d[i])
			}
		}
		return &tensor.Tensor{DType: x.DType, Shape: p.outShape, Data: acc}, nil
	}
	v, err := ToInt64(x)
	if err != nil {
		return nil, err
	}
	acc := make([]int64, nout)
	var init int64
	switch op {
	case "ReduceProd":
		init = 1
	case "ReduceMax":
		lo, _, _ := IntRange(x.DType)
		init = lo
	case "ReduceMin":
		_, hi, _ := IntRange(x.DType)
		init = hi
	}
	for i := range acc {
		acc[i] = init
	}
	for i, o := range p.outIdx {
		e := v[i]
		switch op {
		case "ReduceSum":
			acc[o] += e
		case "ReduceProd":
			acc[o] *= e
		case "ReduceMax":
			acc[o] = max(acc[o], e)
		case "ReduceMin":
			acc[o] = min(acc[o], e)
		case "ReduceSumSquare":
			acc[o] += e * e
		case "ReduceL1":
			acc[o] += absI(e)
		}
	}
	return fromInt64(x.DType, acc, p.outShape)
}

func buildArg(op string, b *BuildInfo) (Kernel, error) {
	n := b.Node
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	keep, err := n.Int("keepdims", 1)
	if err != nil {
		return nil, err
	}
	last, err := n.Int("select_last_index", 0)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		ax, err := normAxis(axis, x.Rank())
		if err != nil {
			return nil, err
		}
		v, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		dim := x.Shape[ax]
		if dim == 0 {
			return nil, fmt.Errorf("%s over an empty axis", op)
		}
		outer := tensor.NumElems(x.Shape[:ax])
		inner := tensor.NumElems(x.Shape[ax+1:])
		res := make([]int64, outer*inner)
		for o := 0; o < outer; o++ {
			for k := 0; k < inner; k++ {
				best := v[o*dim*inner+k]
				bi := 0
				for j := 1; j < dim; j++ {
					e := v[(o*dim+j)*inner+k]
					better := e > best
					if op == "ArgMin" {
						better = e < best
					}
					if better || (last != 0 && e == best) {
						best, bi = e, j
					}
				}
				res[o*inner+k] = int64(bi)
			}
		}
		shape := append([]int{}, x.Shape[:ax]...)
		if keep != 0 {
			shape = append(shape, 1)
		}
		shape = append(shape, x.Shape[ax+1:]...)
		return []Value{tensor.MustFromSlice(res, shape...)}, nil
	}), nil
}

func buildCum(op string, b *BuildInfo) (Kernel, error) {
	n := b.Node
	excl, err := n.Int("exclusive", 0)
	if err != nil {
		return nil, err
	}
	rev, err := n.Int("reverse", 0)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		av, err := intsOf(ts[1], "axis")
		if err != nil || len(av) != 1 {
			return nil, fmt.Errorf("axis must be one integer")
		}
		ax, err := normAxis(av[0], x.Rank())
		if err != nil {
			return nil, err
		}
		dim := x.Shape[ax]
		outer := tensor.NumElems(x.Shape[:ax])
		inner := tensor.NumElems(x.Shape[ax+1:])
		walk := func(f func(pos int, first bool, prev int)) {
			for o := 0; o < outer; o++ {
				for k := 0; k < inner; k++ {
					prev := -1
					for jj := 0; jj < dim; jj++ {
						j := jj
						if rev != 0 {
							j = dim - 1 - jj
						}
						pos := (o*dim+j)*inner + k
						f(pos, jj == 0, prev)
						prev = pos
					}
				}
			}
		}
		if isInt(x.DType) {
			v, err := ToInt64(x)
			if err != nil {
				return nil, err
			}
			out := make([]int64, len(v))
			walk(func(pos int, first bool, prev int) {
				cumStep(out, v, pos, first, prev, excl != 0, op == "CumProd")
			})
			t, err := fromInt64(x.DType, out, x.Shape)
			if err != nil {
				return nil, err
			}
			return []Value{t}, nil
		}
		v, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(v))
		walk(func(pos int, first bool, prev int) {
			cumStep(out, v, pos, first, prev, excl != 0, op == "CumProd")
		})
		t, err := FromFloat64(x.DType, out, x.Shape)
		if err != nil {
			return nil, err
		}
		return []Value{t}, nil
	}), nil
}

func cumStep[T int64 | float64](out, v []T, pos int, first bool, prev int, excl, prod bool) {
	var id T
	if prod {
		id = 1
	}
	switch {
	case first && excl:
		out[pos] = id
	case first:
		out[pos] = v[pos]
	case excl && prod:
		out[pos] = out[prev] * v[prev]
	case excl:
		out[pos] = out[prev] + v[prev]
	case prod:
		out[pos] = out[prev] * v[pos]
	default:
		out[pos] = out[prev] + v[pos]
	}
}
