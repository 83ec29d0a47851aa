package ops

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Indexing ops over every element type: Gather, GatherElements, GatherND,
// ScatterElements (and the deprecated Scatter), ScatterND, Compress,
// NonZero, OneHot.

func init() {
	reg := func(op string, build func(b *BuildInfo) (Kernel, error)) {
		Register(Impl{Op: op, DTypes: allTypes, Build: build})
	}
	reg("Gather", buildGather)
	reg("GatherElements", buildGatherElements)
	reg("GatherND", buildGatherND)
	reg("ScatterElements", buildScatterElements)
	reg("Scatter", buildScatterElements)
	reg("ScatterND", buildScatterND)
	reg("Compress", buildCompress)
	Register(Impl{Op: "NonZero", DTypes: append(append([]tensor.DType{}, numericTypes...), tensor.Bool), Build: buildNonZero})
	Register(Impl{Op: "OneHot", DTypes: allTypes, Build: buildOneHot})
	for _, op := range []string{"Gather", "GatherElements", "GatherND", "ScatterElements", "Scatter", "ScatterND", "Compress"} {
		graph.RegisterShape("", op, dtypeOnly)
	}
	graph.RegisterShape("", "NonZero", func(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		return []graph.Type{{DType: tensor.Int64}}, nil
	})
}

// indexArg reads an index tensor, resolving negative entries against dim.
func indexArg(t *tensor.Tensor, dim int, what string) ([]int, error) {
	v, err := intsOf(t, what)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(v))
	for i, x := range v {
		if x < 0 {
			x += int64(dim)
		}
		if x < 0 || x >= int64(dim) {
			return nil, fmt.Errorf("%s index %d out of range [-%d, %d)", what, v[i], dim, dim)
		}
		out[i] = int(x)
	}
	return out, nil
}

// Gather takes slices of x along axis at the given indices.
func Gather(x, indices *tensor.Tensor, axis int64) (*tensor.Tensor, error) {
	ax, err := normAxis(axis, x.Rank())
	if err != nil {
		return nil, err
	}
	dim := x.Shape[ax]
	ind, err := indexArg(indices, dim, "indices")
	if err != nil {
		return nil, err
	}
	outer := tensor.NumElems(x.Shape[:ax])
	inner := tensor.NumElems(x.Shape[ax+1:])
	shape := append(append(append([]int{}, x.Shape[:ax]...), indices.Shape...), x.Shape[ax+1:]...)
	idx := make([]int, 0, outer*len(ind)*inner)
	for o := 0; o < outer; o++ {
		for _, j := range ind {
			base := (o*dim + j) * inner
			for k := 0; k < inner; k++ {
				idx = append(idx, base+k)
			}
		}
	}
	return takeTensor(x, idx, shape), nil
}

func buildGather(b *BuildInfo) (Kernel, error) {
	axis, err := b.Node.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		out, err := Gather(ts[0], ts[1], axis)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

// elementsIndex maps each position of an index tensor (shape ishape) to the
// flat index of data it addresses along axis.
func elementsIndex(dshape, ishape []int, ax int, ind []int) ([]int, error) {
	if len(dshape) != len(ishape) {
		return nil, fmt.Errorf("indices shape %v and data shape %v differ in rank", ishape, dshape)
	}
	st := tensor.Strides(dshape)
	out := make([]int, len(ind))
	var bad error
	forEachIndex(ishape, func(p int, ix []int) {
		k := 0
		for d, v := range ix {
			if d == ax {
				v = ind[p]
			} else if v >= dshape[d] {
				bad = fmt.Errorf("indices shape %v exceeds data shape %v", ishape, dshape)
			}
			k += v * st[d]
		}
		out[p] = k
	})
	return out, bad
}

func buildGatherElements(b *BuildInfo) (Kernel, error) {
	axis, err := b.Node.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x, it := ts[0], ts[1]
		ax, err := normAxis(axis, x.Rank())
		if err != nil {
			return nil, err
		}
		ind, err := indexArg(it, x.Shape[ax], "indices")
		if err != nil {
			return nil, err
		}
		idx, err := elementsIndex(x.Shape, it.Shape, ax, ind)
		if err != nil {
			return nil, err
		}
		return []Value{takeTensor(x, idx, it.Shape)}, nil
	}), nil
}

// ndIndex resolves GatherND/ScatterND indices: for each index tuple, the
// flat offset of the addressed slice in data, plus the slice size.
func ndIndex(dshape []int, it *tensor.Tensor, batchDims int) (offs []int, slice int, outShape []int, err error) {
	iv, err := intsOf(it, "indices")
	if err != nil {
		return nil, 0, nil, err
	}
	ir := it.Rank()
	if ir < 1 {
		return nil, 0, nil, fmt.Errorf("indices must have rank >= 1")
	}
	k := it.Shape[ir-1]
	if batchDims < 0 || batchDims >= ir || batchDims+k > len(dshape) {
		return nil, 0, nil, fmt.Errorf("index depth %d with batch_dims %d exceeds data rank %d", k, batchDims, len(dshape))
	}
	for i := 0; i < batchDims; i++ {
		if it.Shape[i] != dshape[i] {
			return nil, 0, nil, fmt.Errorf("batch dims of indices %v and data %v differ", it.Shape, dshape)
		}
	}
	st := tensor.Strides(dshape)
	slice = tensor.NumElems(dshape[batchDims+k:])
	nb := tensor.NumElems(dshape[:batchDims])
	batchSize := tensor.NumElems(dshape[batchDims:])
	ntup := len(iv) / max(k, 1)
	if k == 0 {
		ntup = tensor.NumElems(it.Shape[:ir-1])
	}
	perBatch := ntup / max(nb, 1)
	offs = make([]int, ntup)
	for t := 0; t < ntup; t++ {
		off := (t / max(perBatch, 1)) * batchSize
		for j := 0; j < k; j++ {
			d := dshape[batchDims+j]
			v := iv[t*k+j]
			if v < 0 {
				v += int64(d)
			}
			if v < 0 || v >= int64(d) {
				return nil, 0, nil, fmt.Errorf("index %d out of range for dimension %d", iv[t*k+j], d)
			}
			off += int(v) * st[batchDims+j]
		}
		offs[t] = off
	}
	outShape = append(append([]int{}, it.Shape[:ir-1]...), dshape[batchDims+k:]...)
	return offs, slice, outShape, nil
}

func buildGatherND(b *BuildInfo) (Kernel, error) {
	bd, err := b.Node.Int("batch_dims", 0)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		offs, slice, os, err := ndIndex(x.Shape, ts[1], int(bd))
		if err != nil {
			return nil, err
		}
		idx := make([]int, 0, len(offs)*slice)
		for _, o := range offs {
			for k := 0; k < slice; k++ {
				idx = append(idx, o+k)
			}
		}
		return []Value{takeTensor(x, idx, os)}, nil
	}), nil
}

// scatterInto writes upd[i] into a copy of data at flat positions pos[i],
// combining with reduction ("none", "add", "mul", "max", "min").
func scatterInto(data, upd *tensor.Tensor, pos []int, reduction string) (*tensor.Tensor, error) {
	if data.DType != upd.DType {
		return nil, fmt.Errorf("updates dtype %s differs from data %s", upd.DType, data.DType)
	}
	out := copyTensor(data)
	if reduction == "none" || reduction == "" {
		switch d := out.Data.(type) {
		case []float32:
			scatterSet(d, upd.Data.([]float32), pos)
		case []float64:
			scatterSet(d, upd.Data.([]float64), pos)
		case []int8:
			scatterSet(d, upd.Data.([]int8), pos)
		case []int16:
			scatterSet(d, upd.Data.([]int16), pos)
		case []int32:
			scatterSet(d, upd.Data.([]int32), pos)
		case []int64:
			scatterSet(d, upd.Data.([]int64), pos)
		case []uint8:
			scatterSet(d, upd.Data.([]uint8), pos)
		case []uint16:
			scatterSet(d, upd.Data.([]uint16), pos)
		case []uint32:
			scatterSet(d, upd.Data.([]uint32), pos)
		case []uint64:
			scatterSet(d, upd.Data.([]uint64), pos)
		case []bool:
			scatterSet(d, upd.Data.([]bool), pos)
		case []string:
			scatterSet(d, upd.Data.([]string), pos)
		default:
			return nil, fmt.Errorf("dtype %s is not supported", data.DType)
		}
		return out, nil
	}
	var op binaryOp
	switch reduction {
	case "add":
		op = arithOps["Add"]
	case "mul":
		op = arithOps["Mul"]
	case "max":
		op = foldOps["Max"]
	case "min":
		op = foldOps["Min"]
	default:
		return nil, fmt.Errorf("unknown reduction %q", reduction)
	}
	if data.DType == tensor.Bool {
		return nil, fmt.Errorf("reduction %q on bool", reduction)
	}
	// Sequential so repeated indices accumulate in order.
	for i, p := range pos {
		cur := takeTensor(out, []int{p}, nil)
		u := takeTensor(upd, []int{i}, nil)
		r, err := op.apply(cur, u)
		if err != nil {
			return nil, err
		}
		switch d := out.Data.(type) {
		case []float32:
			d[p] = r.Data.([]float32)[0]
		case []float64:
			d[p] = r.Data.([]float64)[0]
		case []int8:
			d[p] = r.Data.([]int8)[0]
		case []int16:
			d[p] = r.Data.([]int16)[0]
		case []int32:
			d[p] = r.Data.([]int32)[0]
		case []int64:
			d[p] = r.Data.([]int64)[0]
		case []uint8:
			d[p] = r.Data.([]uint8)[0]
		case []uint16:
			d[p] = r.Data.([]uint16)[0]
		case []uint32:
			d[p] = r.Data.([]uint32)[0]
		case []uint64:
			d[p] = r.Data.([]uint64)[0]
		}
	}
	return out, nil
}

func scatterSet[E any](d, u []E, pos []int) {
	for i, p := range pos {
		d[p] = u[i]
	}
}

func buildScatterElements(b *BuildInfo) (Kernel, error) {
	axis, err := b.Node.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	red, err := b.Node.String("reduction", "none")
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 3)
		if err != nil {
			return nil, err
		}
		x, it, upd := ts[0], ts[1], ts[2]
		if !tensor.SameShape(it.Shape, upd.Shape) {
			return nil, fmt.Errorf("indices %v and updates %v differ in shape", it.Shape, upd.Shape)
		}
		ax, err := normAxis(axis, x.Rank())
		if err != nil {
			return nil, err
		}
		ind, err := indexArg(it, x.Shape[ax], "indices")
		if err != nil {
			return nil, err
		}
		pos, err := elementsIndex(x.Shape, it.Shape, ax, ind)
		if err != nil {
			return nil, err
		}
		out, err := scatterInto(x, upd, pos, red)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildScatterND(b *BuildInfo) (Kernel, error) {
	red, err := b.Node.String("reduction", "none")
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 3)
		if err != nil {
			return nil, err
		}
		x, it, upd := ts[0], ts[1], ts[2]
		offs, slice, os, err := ndIndex(x.Shape, it, 0)
		if err != nil {
			return nil, err
		}
		if !tensor.SameShape(os, upd.Shape) {
			return nil, fmt.Errorf("updates shape %v, want %v", upd.Shape, os)
		}
		pos := make([]int, 0, len(offs)*slice)
		for _, o := range offs {
			for k := 0; k < slice; k++ {
				pos = append(pos, o+k)
			}
		}
		out, err := scatterInto(x, upd, pos, red)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildCompress(b *BuildInfo) (Kernel, error) {
	axis, err := b.Node.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	hasAxis := b.Node.Has("axis")
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x, c := ts[0], ts[1]
		cond, err := ToInt64(c)
		if err != nil {
			return nil, err
		}
		if !hasAxis {
			x, _ = x.Reshaped(x.Len())
			axis = 0
		}
		ax, err := normAxis(axis, x.Rank())
		if err != nil {
			return nil, err
		}
		var sel []int64
		for i, v := range cond {
			if i >= x.Shape[ax] {
				break
			}
			if v != 0 {
				sel = append(sel, int64(i))
			}
		}
		it := tensor.MustFromSlice(sel, len(sel))
		if sel == nil {
			it = tensor.New(tensor.Int64, 0)
		}
		out, err := Gather(x, it, int64(ax))
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildNonZero(b *BuildInfo) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		v, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		r := x.Rank()
		var pos [][]int
		forEachIndex(x.Shape, func(p int, ix []int) {
			if v[p] != 0 {
				pos = append(pos, append([]int{}, ix...))
			}
		})
		if r == 0 {
			out := tensor.New(tensor.Int64, 0, len(pos))
			return []Value{out}, nil
		}
		out := tensor.New(tensor.Int64, r, len(pos))
		o := out.I64()
		for j, ix := range pos {
			for d := 0; d < r; d++ {
				o[d*len(pos)+j] = int64(ix[d])
			}
		}
		return []Value{out}, nil
	}), nil
}

func buildOneHot(b *BuildInfo) (Kernel, error) {
	axis, err := b.Node.Int("axis", -1)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 3)
		if err != nil {
			return nil, err
		}
		ind, depthT, vals := ts[0], ts[1], ts[2]
		dv, err := scalarF64(depthT, "depth")
		if err != nil {
			return nil, err
		}
		depth := int(dv)
		if depth <= 0 {
			return nil, fmt.Errorf("depth %v must be positive", dv)
		}
		if vals.Len() != 2 {
			return nil, fmt.Errorf("values must have 2 elements, has %d", vals.Len())
		}
		iv, err := ToFloat64(ind)
		if err != nil {
			return nil, err
		}
		r := ind.Rank() + 1
		ax, err := normAxis(axis, r)
		if err != nil {
			return nil, err
		}
		shape := append(append(append([]int{}, ind.Shape[:ax]...), depth), ind.Shape[ax:]...)
		idx := make([]int, tensor.NumElems(shape))
		forEachIndex(shape, func(p int, ix []int) {
			// position in indices: drop axis ax
			src := 0
			for d := 0; d < r; d++ {
				if d == ax {
					continue
				}
				src = src*shape[d] + ix[d]
			}
			k := int64(iv[src])
			if k < 0 {
				k += int64(depth)
			}
			if int64(ix[ax]) == k {
				idx[p] = 1
			} else {
				idx[p] = 0
			}
		})
		return []Value{takeTensor(vals, idx, shape)}, nil
	}), nil
}
