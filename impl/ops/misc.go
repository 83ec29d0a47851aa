package ops

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Assorted ops: TopK, Unique, Einsum, BitCast, Det, SwiGLU, TensorScatter,
// DynamicQuantizeLinear.

func init() {
	Register(Impl{Op: "TopK", DTypes: numericTypes, Build: buildTopK})
	graph.RegisterShape("", "TopK", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{DType: in[0].DType}, {DType: tensor.Int64}}, nil
	})
	Register(Impl{Op: "Unique", DTypes: allTypes, Build: buildUnique})
	graph.RegisterShape("", "Unique", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{DType: in[0].DType}, {DType: tensor.Int64}, {DType: tensor.Int64}, {DType: tensor.Int64}}, nil
	})
	Register(Impl{Op: "Einsum", DTypes: numericTypes, Build: buildEinsum})
	graph.RegisterShape("", "Einsum", dtypeOnly)
	Register(Impl{Op: "BitCast", DTypes: numericTypes, Build: buildBitCast})
	graph.RegisterShape("", "BitCast", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		to, _ := n.Int("to", 0)
		t := in[0]
		t.DType = tensor.DType(to)
		return []graph.Type{t}, nil
	})
	Register(Impl{Op: "Det", DTypes: floatTypes, Build: buildDet})
	graph.RegisterShape("", "Det", dtypeOnly)
	Register(Impl{Op: "SwiGLU", DTypes: floatTypes, Build: func(b *BuildInfo) (Kernel, error) {
		a, err := b.Node.Float("alpha", 1)
		if err != nil {
			return nil, err
		}
		al := float64(a)
		return binaryKernel(binaryOp{f: func(x, y float64) float64 { return x * sigmoid(al*x) * y }}), nil
	}})
	graph.RegisterShape("", "SwiGLU", broadcastShape)
	Register(Impl{Op: "TensorScatter", DTypes: allTypes, Build: buildTensorScatter})
	graph.RegisterShape("", "TensorScatter", sameShape)
	Register(Impl{Op: "DynamicQuantizeLinear", DTypes: []tensor.DType{tensor.Float32}, Build: buildDynQuant})
	graph.RegisterShape("", "DynamicQuantizeLinear", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		t := in[0]
		t.DType = tensor.Uint8
		return []graph.Type{t, {DType: tensor.Float32, Shape: graph.Shape{}, HasShape: true}, {DType: tensor.Uint8, Shape: graph.Shape{}, HasShape: true}}, nil
	})
}

func buildTopK(b *BuildInfo) (Kernel, error) {
	n := b.Node
	axis, err := n.Int("axis", -1)
	if err != nil {
		return nil, err
	}
	largest, err := n.Int("largest", 1)
	if err != nil {
		return nil, err
	}
	attrK, err := n.Int("k", -1)
	if err != nil {
		return nil, err
	}
	legacy := b.Opset > 0 && b.Opset < 10
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		k := attrK
		if !legacy {
			kt, err := MustTensors(in, 2)
			if err != nil {
				return nil, err
			}
			kv, err := intsOf(kt[1], "K")
			if err != nil || len(kv) != 1 {
				return nil, fmt.Errorf("K must be one integer")
			}
			k = kv[0]
		}
		ax, err := normAxis(axis, x.Rank())
		if err != nil {
			return nil, err
		}
		dim := x.Shape[ax]
		if k < 0 || k > int64(dim) {
			return nil, fmt.Errorf("k %d out of range for dimension %d", k, dim)
		}
		v, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		outer := tensor.NumElems(x.Shape[:ax])
		inner := tensor.NumElems(x.Shape[ax+1:])
		K := int(k)
		shape := append([]int{}, x.Shape...)
		shape[ax] = K
		src := make([]int, outer*K*inner)
		ind := make([]int64, outer*K*inner)
		order := make([]int, dim)
		for o := 0; o < outer; o++ {
			for in := 0; in < inner; in++ {
				for j := range order {
					order[j] = j
				}
				at := func(j int) float64 { return v[(o*dim+j)*inner+in] }
				sort.SliceStable(order, func(a, c int) bool {
					va, vc := at(order[a]), at(order[c])
					if largest != 0 {
						return va > vc || (va == va && vc != vc)
					}
					return va < vc || (va == va && vc != vc)
				})
				for j := 0; j < K; j++ {
					p := (o*K+j)*inner + in
					src[p] = (o*dim+order[j])*inner + in
					ind[p] = int64(order[j])
				}
			}
		}
		return []Value{takeTensor(x, src, shape), tensor.MustFromSlice(ind, shape...)}, nil
	}), nil
}

func buildUnique(b *BuildInfo) (Kernel, error) {
	n := b.Node
	sorted, err := n.Int("sorted", 1)
	if err != nil {
		return nil, err
	}
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	hasAxis := n.Has("axis")
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if !hasAxis {
			x, _ = x.Reshaped(x.Len())
			axis = 0
		}
		ax, err := normAxis(axis, x.Rank())
		if err != nil {
			return nil, err
		}
		dim := x.Shape[ax]
		slices := splitAxis(x, ax, ones(dim))
		keys := make([]string, dim)
		var fv [][]float64
		for i, s := range slices {
			keys[i] = fmt.Sprint(s.Data)
			if x.DType != tensor.String {
				f, err := ToFloat64(s)
				if err != nil {
					return nil, err
				}
				fv = append(fv, f)
			}
		}
		first := map[string]int{}
		var uniq []int
		for i, k := range keys {
			if _, ok := first[k]; !ok {
				first[k] = len(uniq)
				uniq = append(uniq, i)
			}
		}
		if sorted != 0 {
			less := func(a, c int) bool {
				if fv == nil {
					return keys[a] < keys[c]
				}
				for j := range fv[a] {
					if fv[a][j] != fv[c][j] {
						return fv[a][j] < fv[c][j]
					}
				}
				return false
			}
			sort.SliceStable(uniq, func(a, c int) bool { return less(uniq[a], uniq[c]) })
			for j, i := range uniq {
				first[keys[i]] = j
			}
		}
		idx := make([]int64, len(uniq))
		cnt := make([]int64, len(uniq))
		inv := make([]int64, dim)
		for j, i := range uniq {
			idx[j] = int64(i)
		}
		for i, k := range keys {
			inv[i] = int64(first[k])
			cnt[first[k]]++
		}
		var parts []*tensor.Tensor
		for _, i := range uniq {
			parts = append(parts, slices[i])
		}
		var y *tensor.Tensor
		if len(parts) == 0 {
			shape := append([]int{}, x.Shape...)
			shape[ax] = 0
			y = newTensor(x.DType, shape...)
		} else if y, err = Concat(parts, int64(ax)); err != nil {
			return nil, err
		}
		return []Value{y, tensor.MustFromSlice(idx, len(idx)), tensor.MustFromSlice(inv, len(inv)), tensor.MustFromSlice(cnt, len(cnt))}, nil
	}), nil
}

// einsumPlan parses an equation into per-operand label lists and output
// labels, expanding "..." into fresh labels.
func einsumPlan(eq string, ranks []int) ([][]rune, []rune, error) {
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, rhs, hasOut := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	if len(terms) != len(ranks) {
		return nil, nil, fmt.Errorf("equation %q has %d operands, %d given", eq, len(terms), len(ranks))
	}
	ell := 0
	for i, t := range terms {
		if strings.Contains(t, "...") {
			ell = max(ell, ranks[i]-(len(t)-3))
		}
	}
	ellLabels := make([]rune, ell)
	for i := range ellLabels {
		ellLabels[i] = rune(0x1000 + i)
	}
	expand := func(t string, rank int) ([]rune, error) {
		var out []rune
		if pre, post, ok := strings.Cut(t, "..."); ok {
			n := rank - len(pre) - len(post)
			if n < 0 {
				return nil, fmt.Errorf("term %q does not fit rank %d", t, rank)
			}
			out = append(out, []rune(pre)...)
			out = append(out, ellLabels[ell-n:]...)
			out = append(out, []rune(post)...)
		} else {
			out = []rune(t)
		}
		if rank >= 0 && len(out) != rank {
			return nil, fmt.Errorf("term %q does not fit rank %d", t, rank)
		}
		return out, nil
	}
	ops := make([][]rune, len(terms))
	count := map[rune]int{}
	for i, t := range terms {
		l, err := expand(t, ranks[i])
		if err != nil {
			return nil, nil, err
		}
		ops[i] = l
		for _, c := range l {
			count[c]++
		}
	}
	var out []rune
	if hasOut {
		if strings.Contains(rhs, "...") {
			pre, post, _ := strings.Cut(rhs, "...")
			out = append(append(append(out, []rune(pre)...), ellLabels...), []rune(post)...)
		} else {
			out = []rune(rhs)
		}
	} else {
		out = append(out, ellLabels...)
		var singles []rune
		for c, n := range count {
			if n == 1 && c < 0x1000 {
				singles = append(singles, c)
			}
		}
		sort.Slice(singles, func(a, b int) bool { return singles[a] < singles[b] })
		out = append(out, singles...)
	}
	return ops, out, nil
}

func buildEinsum(b *BuildInfo) (Kernel, error) {
	eq, err := b.Node.String("equation", "")
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, len(in))
		if err != nil {
			return nil, err
		}
		ranks := make([]int, len(ts))
		for i, t := range ts {
			ranks[i] = t.Rank()
		}
		ops, out, err := einsumPlan(eq, ranks)
		if err != nil {
			return nil, err
		}
		size := map[rune]int{}
		for i, l := range ops {
			for j, c := range l {
				d := ts[i].Shape[j]
				if s, ok := size[c]; ok && s != d {
					if s == 1 {
						size[c] = d
					} else if d != 1 {
						return nil, fmt.Errorf("label %q has sizes %d and %d", c, s, d)
					}
				} else if !ok {
					size[c] = d
				}
			}
		}
		// All labels: output first, then summed.
		labels := append([]rune{}, out...)
		seen := map[rune]bool{}
		for _, c := range out {
			seen[c] = true
		}
		for _, l := range ops {
			for _, c := range l {
				if !seen[c] {
					seen[c] = true
					labels = append(labels, c)
				}
			}
		}
		pos := map[rune]int{}
		dims := make([]int, len(labels))
		for i, c := range labels {
			pos[c] = i
			dims[i] = size[c]
		}
		oshape := dims[:len(out)]
		vals := make([][]float64, len(ts))
		strides := make([][]int, len(ts))
		for i, t := range ts {
			if vals[i], err = ToFloat64(t); err != nil {
				return nil, err
			}
			st := t.Strides()
			s := make([]int, len(labels))
			for j, c := range ops[i] {
				if t.Shape[j] != 1 || dims[pos[c]] == 1 {
					s[pos[c]] += st[j]
				}
			}
			strides[i] = s
		}
		res := make([]float64, tensor.NumElems(oshape))
		inner := tensor.NumElems(dims[len(out):])
		forEachIndex(dims, func(p int, ix []int) {
			prod := 1.0
			for i := range ts {
				off := 0
				for d, v := range ix {
					off += v * strides[i][d]
				}
				prod *= vals[i][off]
			}
			res[p/max(inner, 1)] += prod
		})
		if isInt(ts[0].DType) {
			iv := make([]int64, len(res))
			for i, v := range res {
				iv[i] = int64(math.Round(v))
			}
			o, err := fromInt64(ts[0].DType, iv, oshape)
			if err != nil {
				return nil, err
			}
			return []Value{o}, nil
		}
		o, err := FromFloat64(ts[0].DType, res, append([]int{}, oshape...))
		if err != nil {
			return nil, err
		}
		return []Value{o}, nil
	}), nil
}

// rawBytes returns the little-endian bytes of a fixed-width tensor.
func rawBytes(t *tensor.Tensor) ([]byte, int, error) {
	var out []byte
	switch d := t.Data.(type) {
	case []float32:
		for _, v := range d {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
		return out, 4, nil
	case []float64:
		for _, v := range d {
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
		}
		return out, 8, nil
	case []int8:
		for _, v := range d {
			out = append(out, byte(v))
		}
		return out, 1, nil
	case []uint8:
		return append(out, d...), 1, nil
	case []bool:
		for _, v := range d {
			if v {
				out = append(out, 1)
			} else {
				out = append(out, 0)
			}
		}
		return out, 1, nil
	case []int16:
		for _, v := range d {
			out = binary.LittleEndian.AppendUint16(out, uint16(v))
		}
		return out, 2, nil
	case []uint16:
		for _, v := range d {
			out = binary.LittleEndian.AppendUint16(out, v)
		}
		return out, 2, nil
	case []int32:
		for _, v := range d {
			out = binary.LittleEndian.AppendUint32(out, uint32(v))
		}
		return out, 4, nil
	case []uint32:
		for _, v := range d {
			out = binary.LittleEndian.AppendUint32(out, v)
		}
		return out, 4, nil
	case []int64:
		for _, v := range d {
			out = binary.LittleEndian.AppendUint64(out, uint64(v))
		}
		return out, 8, nil
	case []uint64:
		for _, v := range d {
			out = binary.LittleEndian.AppendUint64(out, v)
		}
		return out, 8, nil
	}
	return nil, 0, fmt.Errorf("dtype %s has no fixed-width bytes", t.DType)
}

func buildBitCast(b *BuildInfo) (Kernel, error) {
	to, err := b.Node.Int("to", 0)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		raw, w, err := rawBytes(x)
		if err != nil {
			return nil, err
		}
		dt := tensor.DType(to)
		out := newTensor(dt, x.Shape...)
		if dt.Size() != w || dt.Bits() < 8 {
			return nil, fmt.Errorf("BitCast from %s to %s changes the element size", x.DType, dt)
		}
		switch d := out.Data.(type) {
		case []float32:
			for i := range d {
				d[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case []float64:
			for i := range d {
				d[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		case []int8:
			for i := range d {
				d[i] = int8(raw[i])
			}
		case []uint8:
			copy(d, raw)
		case []bool:
			for i := range d {
				d[i] = raw[i] != 0
			}
		case []int16:
			for i := range d {
				d[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
			}
		case []uint16:
			for i := range d {
				d[i] = binary.LittleEndian.Uint16(raw[2*i:])
			}
		case []int32:
			for i := range d {
				d[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case []uint32:
			for i := range d {
				d[i] = binary.LittleEndian.Uint32(raw[4*i:])
			}
		case []int64:
			for i := range d {
				d[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		case []uint64:
			for i := range d {
				d[i] = binary.LittleEndian.Uint64(raw[8*i:])
			}
		default:
			return nil, fmt.Errorf("BitCast to %s is not supported", dt)
		}
		return []Value{out}, nil
	}), nil
}

func buildDet(b *BuildInfo) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		r := x.Rank()
		if r < 2 || x.Shape[r-1] != x.Shape[r-2] {
			return nil, fmt.Errorf("input %v must end in square matrices", x.Shape)
		}
		v, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		m := x.Shape[r-1]
		nb := tensor.NumElems(x.Shape[:r-2])
		res := make([]float64, nb)
		a := make([]float64, m*m)
		for bi := 0; bi < nb; bi++ {
			copy(a, v[bi*m*m:(bi+1)*m*m])
			det := 1.0
			for c := 0; c < m; c++ {
				p := c
				for i := c + 1; i < m; i++ {
					if math.Abs(a[i*m+c]) > math.Abs(a[p*m+c]) {
						p = i
					}
				}
				if a[p*m+c] == 0 {
					det = 0
					break
				}
				if p != c {
					for j := 0; j < m; j++ {
						a[p*m+j], a[c*m+j] = a[c*m+j], a[p*m+j]
					}
					det = -det
				}
				det *= a[c*m+c]
				for i := c + 1; i < m; i++ {
					f := a[i*m+c] / a[c*m+c]
					for j := c; j < m; j++ {
						a[i*m+j] -= f * a[c*m+j]
					}
				}
			}
			res[bi] = det
		}
		out, err := FromFloat64(x.DType, res, x.Shape[:r-2])
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildTensorScatter(b *BuildInfo) (Kernel, error) {
	mode, err := b.Node.String("mode", "linear")
	if err != nil {
		return nil, err
	}
	axis, err := b.Node.Int("axis", -2)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		past, upd := ts[0], ts[1]
		wt, err := Tensor(in, 2)
		if err != nil {
			return nil, err
		}
		ax, err := normAxis(axis, past.Rank())
		if err != nil {
			return nil, err
		}
		if upd.Rank() != past.Rank() || upd.DType != past.DType {
			return nil, fmt.Errorf("update %v does not fit cache %v", upd.Shape, past.Shape)
		}
		B := past.Shape[0]
		var wi []int64
		if wt != nil {
			if wi, err = intsOf(wt, "write_indices"); err != nil {
				return nil, err
			}
		} else {
			wi = make([]int64, B)
		}
		if len(wi) != B || upd.Shape[0] != B {
			return nil, fmt.Errorf("write_indices %v and update %v do not match batch %d", wi, upd.Shape, B)
		}
		S := past.Shape[ax]
		pst := past.Strides()
		pos := make([]int, upd.Len())
		var bad error
		forEachIndex(upd.Shape, func(p int, ix []int) {
			t := int(wi[ix[0]]) + ix[ax]
			if mode == "circular" {
				t = ((t % S) + S) % S
			} else if t < 0 || t >= S {
				bad = fmt.Errorf("write position %d out of range %d", t, S)
				return
			}
			off := 0
			for d, v := range ix {
				if d == ax {
					v = t
				}
				off += v * pst[d]
			}
			pos[p] = off
		})
		if bad != nil {
			return nil, bad
		}
		out, err := scatterInto(past, upd, pos, "none")
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildDynQuant(b *BuildInfo) (Kernel, error) {
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
		lo, hi := 0.0, 0.0
		for _, e := range v {
			lo = math.Min(lo, e)
			hi = math.Max(hi, e)
		}
		scale := float32((hi - lo) / 255)
		var zp float64
		if scale != 0 {
			zp = math.Max(0, math.Min(255, math.RoundToEven(-lo/float64(scale))))
		}
		y := tensor.New(tensor.Uint8, x.Shape...)
		for i, e := range v {
			q := zp
			if scale != 0 {
				q = math.RoundToEven(float64(float32(e)/scale)) + zp
			}
			y.U8()[i] = uint8(math.Max(0, math.Min(255, q)))
		}
		return []Value{y, tensor.Scalar(scale), &tensor.Tensor{DType: tensor.Uint8, Data: []uint8{uint8(zp)}}}, nil
	}), nil
}
