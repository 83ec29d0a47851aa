package ops

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Data movement over every element type: Shape, Size, Transpose, Squeeze,
// Unsqueeze, Concat, Split, Slice, Expand, Tile, Pad, DepthToSpace,
// SpaceToDepth, Trilu, ReverseSequence, CenterCropPad. Each computes a flat
// source index per output element and gathers (takeData), so one code path
// serves every dtype.

func init() {
	reg := func(op string, build func(b *BuildInfo) (Kernel, error)) {
		Register(Impl{Op: op, DTypes: allTypes, Build: build})
	}
	reg("Shape", buildShape)
	reg("Size", func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 1)
			if err != nil {
				return nil, err
			}
			return []Value{tensor.Scalar(int64(ts[0].Len()))}, nil
		}), nil
	})
	reg("Transpose", buildTranspose)
	reg("Unsqueeze", buildUnsqueeze)
	reg("Squeeze", buildSqueeze)
	reg("Concat", buildConcat)
	reg("Split", buildSplit)
	reg("Slice", buildSlice)
	reg("Expand", buildExpand)
	reg("Tile", buildTile)
	reg("Pad", buildPad)
	reg("DepthToSpace", buildDepthToSpace)
	reg("SpaceToDepth", buildSpaceToDepth)
	reg("Trilu", buildTrilu)
	reg("ReverseSequence", buildReverseSequence)
	reg("CenterCropPad", buildCenterCropPad)

	graph.RegisterShape("", "Shape", func(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		out := graph.Type{DType: tensor.Int64}
		if len(in) > 0 && in[0].HasShape && in[0].Kind == graph.KindTensor {
			s, e, err := shapeRange(n, len(in[0].Shape))
			if err != nil {
				return nil, err
			}
			out.Shape, out.HasShape = graph.ConcreteShape(e-s), true
		}
		return []graph.Type{out}, nil
	})
	graph.RegisterShape("", "Size", func(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		return []graph.Type{{DType: tensor.Int64, Shape: graph.Shape{}, HasShape: true}}, nil
	})
	for _, op := range []string{"Transpose", "Unsqueeze", "Squeeze", "Concat", "Slice", "Expand", "Tile", "Pad", "DepthToSpace", "SpaceToDepth", "ReverseSequence", "CenterCropPad"} {
		graph.RegisterShape("", op, dtypeOnly)
	}
	graph.RegisterShape("", "Trilu", sameShape)
}

// dtypeOnly says the output has the first input's dtype, shape unknown.
func dtypeOnly(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]graph.Type, len(n.Outputs))
	for i := range out {
		out[i] = graph.Type{DType: in[0].DType}
	}
	return out, nil
}

func shapeRange(n *graph.Node, r int) (int, int, error) {
	s, err := n.Int("start", 0)
	if err != nil {
		return 0, 0, err
	}
	e, err := n.Int("end", int64(r))
	if err != nil {
		return 0, 0, err
	}
	clamp := func(v int64) int {
		if v < 0 {
			v += int64(r)
		}
		return int(min(max(v, 0), int64(r)))
	}
	a, b := clamp(s), clamp(e)
	if b < a {
		b = a
	}
	return a, b, nil
}

func buildShape(b *BuildInfo) (Kernel, error) {
	n := b.Node
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		s, e, err := shapeRange(n, x.Rank())
		if err != nil {
			return nil, err
		}
		v := make([]int64, e-s)
		for i := range v {
			v[i] = int64(x.Shape[s+i])
		}
		return []Value{tensor.MustFromSlice(v, len(v))}, nil
	}), nil
}

// TransposeIndex returns, for each output position of x transposed by perm,
// the flat input index.
func transposeIndex(shape []int, perm []int) ([]int, []int) {
	r := len(shape)
	os := make([]int, r)
	st := tensor.Strides(shape)
	pst := make([]int, r)
	for i, p := range perm {
		os[i] = shape[p]
		pst[i] = st[p]
	}
	idx := make([]int, tensor.NumElems(os))
	tensor.BroadcastIndex(os, pst, idx)
	return idx, os
}

// Transpose permutes the axes of x (perm nil reverses them).
func Transpose(x *tensor.Tensor, perm []int) (*tensor.Tensor, error) {
	return transposeCtx(nil, x, perm)
}

func transposeCtx(ctx *Ctx, x *tensor.Tensor, perm []int) (*tensor.Tensor, error) {
	r := x.Rank()
	if perm == nil {
		perm = make([]int, r)
		for i := range perm {
			perm[i] = r - 1 - i
		}
	}
	if len(perm) != r {
		return nil, fmt.Errorf("perm %v does not match rank %d", perm, r)
	}
	seen := make([]bool, r)
	for i, p := range perm {
		if p < 0 {
			p += r
			perm[i] = p
		}
		if p < 0 || p >= r || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation of %d axes", perm, r)
		}
		seen[p] = true
	}
	os := make([]int, r)
	for i, p := range perm {
		os[i] = x.Shape[p]
	}
	if x.DType != tensor.String {
		out := ctx.Empty(x.DType, os...)
		if permuteData(out.Data, x.Data, x.Shape, perm) {
			return out, nil
		}
		ctx.Release(out)
	}
	idx, os := transposeIndex(x.Shape, perm)
	return takeTensor(x, idx, os), nil
}

// permuteData writes src (of shape) with its axes permuted into dst, for
// the common storage types; false for others.
func permuteData(dst, src any, shape, perm []int) bool {
	st := tensor.Strides(shape)
	os := make([]int, len(shape))
	pst := make([]int, len(shape))
	for i, p := range perm {
		os[i], pst[i] = shape[p], st[p]
	}
	return gatherStrided(dst, src, os, pst, 0)
}

// gatherStrided fills dst (of shape counts, row-major) with
// src[base + sum(i_k * strides[k])], for the common storage types; false
// for others. Strides may be negative or zero.
func gatherStrided(dst, src any, counts, strides []int, base int) bool {
	switch d := dst.(type) {
	case []float32:
		gatherStridedT(d, src.([]float32), counts, strides, base)
	case []float64:
		gatherStridedT(d, src.([]float64), counts, strides, base)
	case []int64:
		gatherStridedT(d, src.([]int64), counts, strides, base)
	case []int32:
		gatherStridedT(d, src.([]int32), counts, strides, base)
	case []uint8:
		gatherStridedT(d, src.([]uint8), counts, strides, base)
	case []int8:
		gatherStridedT(d, src.([]int8), counts, strides, base)
	case []uint16:
		gatherStridedT(d, src.([]uint16), counts, strides, base)
	case []bool:
		gatherStridedT(d, src.([]bool), counts, strides, base)
	default:
		return false
	}
	return true
}

// gatherStridedT walks the output in order, one innermost row at a time,
// advancing the source offset by the strides (no index arrays).
func gatherStridedT[T any](out, x []T, counts, strides []int, base int) {
	r := len(counts)
	if len(out) == 0 {
		return
	}
	if r == 0 {
		out[0] = x[base]
		return
	}
	last, ls := counts[r-1], strides[r-1]
	ctr := make([]int, r)
	src := base
	for o := 0; o < len(out); o += last {
		row := out[o : o+last]
		if ls == 1 {
			copy(row, x[src:src+last])
		} else {
			k := src
			for j := range row {
				row[j] = x[k]
				k += ls
			}
		}
		for d := r - 2; d >= 0; d-- {
			ctr[d]++
			src += strides[d]
			if ctr[d] < counts[d] {
				break
			}
			src -= strides[d] * counts[d]
			ctr[d] = 0
		}
	}
}

func buildTranspose(b *BuildInfo) (Kernel, error) {
	p, err := b.Node.Ints("perm", nil)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		var perm []int
		if p != nil {
			perm = toInts(p)
		}
		out, err := transposeCtx(ctx, ts[0], perm)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func toInts(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// axesArg returns the axes from the attribute (old opsets) or input i (new).
func axesArg(b *BuildInfo, in []Value, i int, attrUntil int64) ([]int64, bool, error) {
	if b.Opset > 0 && b.Opset <= attrUntil || len(b.Node.Inputs) <= i {
		a, err := b.Node.Ints("axes", nil)
		return a, a != nil, err
	}
	t, err := Tensor(in, i)
	if err != nil || t == nil {
		return nil, false, err
	}
	v, err := intsOf(t, "axes")
	return v, true, err
}

func buildUnsqueeze(b *BuildInfo) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		axes, _, err := axesArg(b, in, 1, 12)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		r := x.Rank() + len(axes)
		ins := make([]bool, r)
		for _, a := range axes {
			ax, err := normAxis(a, r)
			if err != nil {
				return nil, err
			}
			if ins[ax] {
				return nil, fmt.Errorf("axes %v repeat an axis", axes)
			}
			ins[ax] = true
		}
		shape := make([]int, 0, r)
		j := 0
		for i := 0; i < r; i++ {
			if ins[i] {
				shape = append(shape, 1)
			} else {
				shape = append(shape, x.Shape[j])
				j++
			}
		}
		out, err := x.Reshaped(shape...)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildSqueeze(b *BuildInfo) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		axes, has, err := axesArg(b, in, 1, 12)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		drop := make([]bool, x.Rank())
		if !has {
			for i, d := range x.Shape {
				drop[i] = d == 1
			}
		}
		for _, a := range axes {
			ax, err := normAxis(a, x.Rank())
			if err != nil {
				return nil, err
			}
			if x.Shape[ax] != 1 {
				return nil, fmt.Errorf("cannot squeeze axis %d of shape %v", a, x.Shape)
			}
			drop[ax] = true
		}
		var shape []int
		for i, d := range x.Shape {
			if !drop[i] {
				shape = append(shape, d)
			}
		}
		out, err := x.Reshaped(shape...)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

// Concat joins tensors along axis.
func Concat(ts []*tensor.Tensor, axis int64) (*tensor.Tensor, error) {
	return concatCtx(nil, ts, axis)
}

func concatCtx(ctx *Ctx, ts []*tensor.Tensor, axis int64) (*tensor.Tensor, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("Concat needs inputs")
	}
	r := ts[0].Rank()
	ax, err := normAxis(axis, r)
	if err != nil {
		return nil, err
	}
	shape := append([]int{}, ts[0].Shape...)
	shape[ax] = 0
	for _, t := range ts {
		if t.DType != ts[0].DType {
			return nil, fmt.Errorf("inputs have dtypes %s and %s", ts[0].DType, t.DType)
		}
		if t.Rank() != r {
			return nil, fmt.Errorf("inputs have shapes %v and %v", ts[0].Shape, t.Shape)
		}
		for d := range shape {
			if d != ax && t.Shape[d] != ts[0].Shape[d] {
				return nil, fmt.Errorf("inputs have shapes %v and %v", ts[0].Shape, t.Shape)
			}
		}
		shape[ax] += t.Shape[ax]
	}
	outer := tensor.NumElems(shape[:ax])
	inner := tensor.NumElems(shape[ax+1:])
	if ts[0].DType != tensor.String {
		out := ctx.Empty(ts[0].DType, shape...)
		if concatInto(out.Data, ts, ax, outer, inner) {
			return out, nil
		}
		ctx.Release(out)
	}
	var parts []any
	for o := 0; o < outer; o++ {
		for _, t := range ts {
			blk := t.Shape[ax] * inner
			if blk > 0 {
				parts = append(parts, sliceData(t.Data, o*blk, (o+1)*blk))
			}
		}
	}
	out := newTensor(ts[0].DType, shape...)
	if len(parts) > 0 {
		out.Data = concatData(parts)
	}
	return out, nil
}

func buildConcat(b *BuildInfo) (Kernel, error) {
	def := int64(0)
	if b.Opset > 0 && b.Opset < 4 {
		def = 1 // Concat-1 defaulted to axis 1
	}
	axis, err := b.Node.Int("axis", def)
	if err != nil {
		return nil, err
	}
	if !b.Node.Has("axis") && b.Opset >= 4 {
		return nil, fmt.Errorf("Concat needs the attribute axis")
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, len(in))
		if err != nil {
			return nil, err
		}
		out, err := concatCtx(ctx, ts, axis)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

// splitAxis cuts x along axis into pieces of the given sizes.
func splitAxis(x *tensor.Tensor, ax int, sizes []int) []*tensor.Tensor {
	outer := tensor.NumElems(x.Shape[:ax])
	inner := tensor.NumElems(x.Shape[ax+1:])
	dim := x.Shape[ax]
	var outs []*tensor.Tensor
	off := 0
	for _, s := range sizes {
		shape := append([]int{}, x.Shape...)
		shape[ax] = s
		idx := make([]int, 0, outer*s*inner)
		for o := 0; o < outer; o++ {
			base := (o*dim + off) * inner
			for k := 0; k < s*inner; k++ {
				idx = append(idx, base+k)
			}
		}
		outs = append(outs, takeTensor(x, idx, shape))
		off += s
	}
	return outs
}

func buildSplit(b *BuildInfo) (Kernel, error) {
	n := b.Node
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	attrSplit, err := n.Ints("split", nil)
	if err != nil {
		return nil, err
	}
	numOut, err := n.Int("num_outputs", 0)
	if err != nil {
		return nil, err
	}
	nout := len(n.Outputs)
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
		dim := x.Shape[ax]
		split := attrSplit
		if st, err := Tensor(in, 1); err != nil {
			return nil, err
		} else if st != nil {
			if split, err = intsOf(st, "split"); err != nil {
				return nil, err
			}
		}
		var sizes []int
		switch {
		case split != nil:
			sizes = toInts(split)
			sum := 0
			for _, s := range sizes {
				if s < 0 {
					return nil, fmt.Errorf("split %v has a negative size", split)
				}
				sum += s
			}
			if sum != dim {
				return nil, fmt.Errorf("split %v does not add up to dimension %d", split, dim)
			}
		case numOut > 0:
			k := int(numOut)
			chunk := (dim + k - 1) / k
			for i := 0; i < k; i++ {
				s := min(chunk, dim-i*chunk)
				sizes = append(sizes, max(s, 0))
			}
		default:
			if nout == 0 || dim%nout != 0 {
				return nil, fmt.Errorf("dimension %d does not split evenly into %d outputs", dim, nout)
			}
			for i := 0; i < nout; i++ {
				sizes = append(sizes, dim/nout)
			}
		}
		outs := splitAxis(x, ax, sizes)
		vals := make([]Value, len(outs))
		for i, o := range outs {
			vals[i] = o
		}
		return vals, nil
	}), nil
}

// sliceParams resolves one axis of ONNX Slice: returns start, step, count.
func sliceParams(dim int, start, end, step int64) (int, int, int) {
	d := int64(dim)
	if start < 0 {
		start += d
	}
	if end < 0 {
		end += d
	}
	var cnt int64
	if step > 0 {
		start = min(max(start, 0), d)
		end = min(max(end, 0), d)
		if end > start {
			cnt = (end - start + step - 1) / step
		}
	} else {
		start = min(max(start, 0), d-1)
		end = min(max(end, -1), d-1)
		if start > end {
			cnt = (start - end - step - 1) / -step
		}
	}
	return int(start), int(step), int(cnt)
}

// stridedView gathers a strided box: along each axis, count elements from
// start by step.
func stridedView(ctx *Ctx, x *tensor.Tensor, starts, steps, counts []int) *tensor.Tensor {
	st := x.Strides()
	base := 0
	vst := make([]int, len(starts))
	for i := range starts {
		if counts[i] > 0 {
			base += starts[i] * st[i]
		}
		vst[i] = steps[i] * st[i]
	}
	if x.DType != tensor.String {
		out := ctx.Empty(x.DType, counts...)
		if gatherStrided(out.Data, x.Data, counts, vst, base) {
			return out
		}
		ctx.Release(out)
	}
	idx := make([]int, tensor.NumElems(counts))
	tensor.BroadcastIndex(counts, vst, idx)
	for i := range idx {
		idx[i] += base
	}
	return takeTensor(x, idx, counts)
}

func buildSlice(b *BuildInfo) (Kernel, error) {
	n := b.Node
	legacy := b.Opset > 0 && b.Opset < 10
	aStarts, _ := n.Ints("starts", nil)
	aEnds, _ := n.Ints("ends", nil)
	aAxes, _ := n.Ints("axes", nil)
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		var starts, ends, axes, steps []int64
		if legacy {
			starts, ends, axes = aStarts, aEnds, aAxes
		} else {
			tt, err := MustTensors(in, 3)
			if err != nil {
				return nil, err
			}
			if starts, err = intsOf(tt[1], "starts"); err != nil {
				return nil, err
			}
			if ends, err = intsOf(tt[2], "ends"); err != nil {
				return nil, err
			}
			at, err := Tensor(in, 3)
			if err != nil {
				return nil, err
			}
			if axes, err = intsOf(at, "axes"); err != nil {
				return nil, err
			}
			stt, err := Tensor(in, 4)
			if err != nil {
				return nil, err
			}
			if steps, err = intsOf(stt, "steps"); err != nil {
				return nil, err
			}
		}
		if len(starts) != len(ends) {
			return nil, fmt.Errorf("starts %v and ends %v differ in length", starts, ends)
		}
		if axes == nil {
			axes = make([]int64, len(starts))
			for i := range axes {
				axes[i] = int64(i)
			}
		}
		if steps == nil {
			steps = make([]int64, len(starts))
			for i := range steps {
				steps[i] = 1
			}
		}
		if len(axes) != len(starts) || len(steps) != len(starts) {
			return nil, fmt.Errorf("starts, ends, axes and steps differ in length")
		}
		r := x.Rank()
		st := make([]int, r)
		sp := make([]int, r)
		ct := append([]int{}, x.Shape...)
		for i := range sp {
			sp[i] = 1
		}
		seen := make([]bool, r)
		for i, a := range axes {
			ax, err := normAxis(a, r)
			if err != nil {
				return nil, err
			}
			if seen[ax] {
				return nil, fmt.Errorf("axes %v repeat an axis", axes)
			}
			seen[ax] = true
			if steps[i] == 0 {
				return nil, fmt.Errorf("slice step is 0")
			}
			st[ax], sp[ax], ct[ax] = sliceParams(x.Shape[ax], starts[i], ends[i], steps[i])
		}
		return []Value{stridedView(ctx, x, st, sp, ct)}, nil
	}), nil
}

// Expand broadcasts x to shape (bidirectionally).
func Expand(x *tensor.Tensor, shape []int64) (*tensor.Tensor, error) {
	s := make([]int, len(shape))
	for i, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		s[i] = int(d)
	}
	os, err := tensor.BroadcastShapes(x.Shape, s)
	if err != nil {
		return nil, err
	}
	idx := make([]int, tensor.NumElems(os))
	tensor.BroadcastIndex(os, tensor.BroadcastStrides(x.Shape, os), idx)
	return takeTensor(x, idx, os), nil
}

func buildExpand(b *BuildInfo) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		s, err := intsOf(ts[1], "shape")
		if err != nil {
			return nil, err
		}
		out, err := Expand(ts[0], s)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildTile(b *BuildInfo) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		rep, err := intsOf(ts[1], "repeats")
		if err != nil {
			return nil, err
		}
		if len(rep) != x.Rank() {
			return nil, fmt.Errorf("repeats %v do not match rank %d", rep, x.Rank())
		}
		os := make([]int, x.Rank())
		for i, r := range rep {
			if r < 0 {
				return nil, fmt.Errorf("repeats %v has a negative entry", rep)
			}
			os[i] = x.Shape[i] * int(r)
		}
		st := x.Strides()
		idx := make([]int, tensor.NumElems(os))
		forEachIndex(os, func(p int, ix []int) {
			k := 0
			for d, v := range ix {
				k += (v % x.Shape[d]) * st[d]
			}
			idx[p] = k
		})
		return []Value{takeTensor(x, idx, os)}, nil
	}), nil
}

// padIndex maps a padded coordinate to a source coordinate for the mode, or
// -1 for the constant fill.
func padIndex(i, dim int, mode string) int {
	if i >= 0 && i < dim {
		return i
	}
	if dim == 0 {
		return -1
	}
	switch mode {
	case "edge":
		return min(max(i, 0), dim-1)
	case "reflect":
		if dim == 1 {
			return 0
		}
		p := 2 * (dim - 1)
		i %= p
		if i < 0 {
			i += p
		}
		if i >= dim {
			i = p - i
		}
		return i
	case "wrap":
		i %= dim
		if i < 0 {
			i += dim
		}
		return i
	}
	return -1
}

// Pad pads (or, with negative pads, crops) x. pads holds begins then ends
// per axis; fill is a one-element tensor of x's dtype (nil: zero).
func Pad(x *tensor.Tensor, pads []int, mode string, fill *tensor.Tensor) (*tensor.Tensor, error) {
	r := x.Rank()
	if len(pads) != 2*r {
		return nil, fmt.Errorf("pads %v need %d entries for rank %d", pads, 2*r, r)
	}
	os := make([]int, r)
	for i := range os {
		os[i] = x.Shape[i] + pads[i] + pads[i+r]
		if os[i] < 0 {
			return nil, fmt.Errorf("pads %v make dimension %d negative", pads, i)
		}
	}
	switch mode {
	case "constant", "reflect", "edge", "wrap":
	default:
		return nil, fmt.Errorf("unknown pad mode %q", mode)
	}
	st := x.Strides()
	idx := make([]int, tensor.NumElems(os))
	needFill := false
	forEachIndex(os, func(p int, ix []int) {
		k := 0
		for d, v := range ix {
			s := padIndex(v-pads[d], x.Shape[d], mode)
			if s < 0 {
				k = -1
				break
			}
			k += s * st[d]
		}
		idx[p] = k
		if k < 0 {
			needFill = true
		}
	})
	out := takeTensor(x, idx, os)
	if needFill && fill != nil {
		if fill.DType != x.DType {
			return nil, fmt.Errorf("constant_value has dtype %s, input %s", fill.DType, x.DType)
		}
		fillData(out.Data, idx, fill.Data)
	}
	return out, nil
}

func buildPad(b *BuildInfo) (Kernel, error) {
	n := b.Node
	mode, err := n.String("mode", "constant")
	if err != nil {
		return nil, err
	}
	legacy := b.Opset > 0 && b.Opset < 11
	aPads, _ := n.Ints("pads", nil)
	if aPads == nil {
		aPads, _ = n.Ints("paddings", nil)
	}
	aValue, _ := n.Float("value", 0)
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		var pads []int64
		var fill *tensor.Tensor
		if legacy {
			pads = aPads
			if aValue != 0 {
				if fill, err = floatsTo(x.DType, []float64{float64(aValue)}, nil, CastOptions{Saturate: true}); err != nil {
					return nil, err
				}
			}
		} else {
			pt, err := MustTensors(in, 2)
			if err != nil {
				return nil, err
			}
			if pads, err = intsOf(pt[1], "pads"); err != nil {
				return nil, err
			}
			if fill, err = Tensor(in, 2); err != nil {
				return nil, err
			}
			at, err := Tensor(in, 3)
			if err != nil {
				return nil, err
			}
			if at != nil {
				axes, err := intsOf(at, "axes")
				if err != nil {
					return nil, err
				}
				if len(pads) != 2*len(axes) {
					return nil, fmt.Errorf("pads %v need %d entries for axes %v", pads, 2*len(axes), axes)
				}
				r := x.Rank()
				full := make([]int64, 2*r)
				for i, a := range axes {
					ax, err := normAxis(a, r)
					if err != nil {
						return nil, err
					}
					full[ax], full[ax+r] = pads[i], pads[i+len(axes)]
				}
				pads = full
			}
		}
		out, err := Pad(x, toInts(pads), mode, fill)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildDepthToSpace(b *BuildInfo) (Kernel, error) {
	bs, err := b.Node.Int("blocksize", 0)
	if err != nil {
		return nil, err
	}
	mode, err := b.Node.String("mode", "DCR")
	if err != nil {
		return nil, err
	}
	if bs <= 0 {
		return nil, fmt.Errorf("blocksize %d must be positive", bs)
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if x.Rank() != 4 {
			return nil, fmt.Errorf("input %v must be rank 4", x.Shape)
		}
		B := int(bs)
		N, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		if C%(B*B) != 0 {
			return nil, fmt.Errorf("channels %d not divisible by blocksize^2 %d", C, B*B)
		}
		c := C / (B * B)
		var t *tensor.Tensor
		if mode == "DCR" {
			t, _ = x.Reshaped(N, B, B, c, H, W)
			t, err = Transpose(t, []int{0, 3, 4, 1, 5, 2})
		} else if mode == "CRD" {
			t, _ = x.Reshaped(N, c, B, B, H, W)
			t, err = Transpose(t, []int{0, 1, 4, 2, 5, 3})
		} else {
			return nil, fmt.Errorf("unknown mode %q", mode)
		}
		if err != nil {
			return nil, err
		}
		out, err := t.Reshaped(N, c, H*B, W*B)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildSpaceToDepth(b *BuildInfo) (Kernel, error) {
	bs, err := b.Node.Int("blocksize", 0)
	if err != nil {
		return nil, err
	}
	if bs <= 0 {
		return nil, fmt.Errorf("blocksize %d must be positive", bs)
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if x.Rank() != 4 {
			return nil, fmt.Errorf("input %v must be rank 4", x.Shape)
		}
		B := int(bs)
		N, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		if H%B != 0 || W%B != 0 {
			return nil, fmt.Errorf("spatial dims %dx%d not divisible by blocksize %d", H, W, B)
		}
		t, _ := x.Reshaped(N, C, H/B, B, W/B, B)
		t, err = Transpose(t, []int{0, 3, 5, 1, 2, 4})
		if err != nil {
			return nil, err
		}
		out, err := t.Reshaped(N, C*B*B, H/B, W/B)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildTrilu(b *BuildInfo) (Kernel, error) {
	up, err := b.Node.Int("upper", 1)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if x.Rank() < 2 {
			return nil, fmt.Errorf("input %v must have rank >= 2", x.Shape)
		}
		k := int64(0)
		if kt, err := Tensor(in, 1); err != nil {
			return nil, err
		} else if kt != nil {
			kv, err := intsOf(kt, "k")
			if err != nil || len(kv) != 1 {
				return nil, fmt.Errorf("k must be one integer")
			}
			k = kv[0]
		}
		R, C := x.Shape[x.Rank()-2], x.Shape[x.Rank()-1]
		idx := make([]int, x.Len())
		for p := range idx {
			i := int64((p / C) % max(R, 1))
			j := int64(p % C)
			keep := j-i >= k
			if up == 0 {
				keep = j-i <= k
			}
			if keep {
				idx[p] = p
			} else {
				idx[p] = -1
			}
		}
		return []Value{takeTensor(x, idx, x.Shape)}, nil
	}), nil
}

func buildReverseSequence(b *BuildInfo) (Kernel, error) {
	ba, err := b.Node.Int("batch_axis", 1)
	if err != nil {
		return nil, err
	}
	ta, err := b.Node.Int("time_axis", 0)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		lens, err := intsOf(ts[1], "sequence_lens")
		if err != nil {
			return nil, err
		}
		bax, err := normAxis(ba, x.Rank())
		if err != nil {
			return nil, err
		}
		tax, err := normAxis(ta, x.Rank())
		if err != nil {
			return nil, err
		}
		if len(lens) != x.Shape[bax] {
			return nil, fmt.Errorf("sequence_lens has %d entries for batch %d", len(lens), x.Shape[bax])
		}
		st := x.Strides()
		if bax == tax {
			return nil, fmt.Errorf("batch_axis and time_axis are both %d", bax)
		}
		for _, l := range lens {
			if l < 0 || l > int64(x.Shape[tax]) {
				return nil, fmt.Errorf("sequence length %d out of range [0, %d]", l, x.Shape[tax])
			}
		}
		idx := make([]int, x.Len())
		forEachIndex(x.Shape, func(p int, ix []int) {
			t := ix[tax]
			l := int(lens[ix[bax]])
			if t < l {
				idx[p] = p + (l-1-2*t)*st[tax]
			} else {
				idx[p] = p
			}
		})
		return []Value{takeTensor(x, idx, x.Shape)}, nil
	}), nil
}

func buildCenterCropPad(b *BuildInfo) (Kernel, error) {
	aAxes, err := b.Node.Ints("axes", nil)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		shape, err := intsOf(ts[1], "shape")
		if err != nil {
			return nil, err
		}
		r := x.Rank()
		axes := aAxes
		if axes == nil {
			for i := 0; i < r; i++ {
				axes = append(axes, int64(i))
			}
		}
		if len(axes) != len(shape) {
			return nil, fmt.Errorf("shape %v does not match axes %v", shape, axes)
		}
		target := append([]int{}, x.Shape...)
		for i, a := range axes {
			if shape[i] < 0 {
				return nil, fmt.Errorf("shape %v has a negative dimension", shape)
			}
			ax, err := normAxis(a, r)
			if err != nil {
				return nil, err
			}
			target[ax] = int(shape[i])
		}
		// Source offset per axis: crop takes the center (extra to the
		// end), pad puts the input in the center (extra to the end).
		off := make([]int, r)
		for d := range off {
			diff := x.Shape[d] - target[d]
			if diff >= 0 {
				off[d] = diff / 2
			} else {
				off[d] = -((-diff) / 2)
			}
		}
		st := x.Strides()
		idx := make([]int, tensor.NumElems(target))
		forEachIndex(target, func(p int, ix []int) {
			k := 0
			for d, v := range ix {
				s := v + off[d]
				if s < 0 || s >= x.Shape[d] {
					k = -1
					break
				}
				k += s * st[d]
			}
			idx[p] = k
		})
		return []Value{takeTensor(x, idx, target)}, nil
	}), nil
}

// concatInto copies the blocks of ts (joined along ax) into dst for the
// common storage types; false for others.
func concatInto(dst any, ts []*tensor.Tensor, ax, outer, inner int) bool {
	switch d := dst.(type) {
	case []float32:
		concatBlocks(d, ts, ax, outer, inner)
	case []float64:
		concatBlocks(d, ts, ax, outer, inner)
	case []int64:
		concatBlocks(d, ts, ax, outer, inner)
	case []int32:
		concatBlocks(d, ts, ax, outer, inner)
	case []uint8:
		concatBlocks(d, ts, ax, outer, inner)
	case []int8:
		concatBlocks(d, ts, ax, outer, inner)
	case []uint16:
		concatBlocks(d, ts, ax, outer, inner)
	case []bool:
		concatBlocks(d, ts, ax, outer, inner)
	default:
		return false
	}
	return true
}

func concatBlocks[T any](out []T, ts []*tensor.Tensor, ax, outer, inner int) {
	at := 0
	for o := 0; o < outer; o++ {
		for _, t := range ts {
			blk := t.Shape[ax] * inner
			at += copy(out[at:at+blk], t.Data.([]T)[o*blk:(o+1)*blk])
		}
	}
}
