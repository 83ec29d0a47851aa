package autograd

import (
	"fmt"

	"github.com/frugal-ml/frugal/tensor"
)

func init() {
	RegisterGrad("Transpose", func(b *BuildInfo) (Kernel, error) {
		perm, err := b.Node.Ints("perm", nil)
		if err != nil {
			return nil, err
		}
		return &transposeK{b: b, perm: perm}, nil
	})
	RegisterGrad("Concat", func(b *BuildInfo) (Kernel, error) {
		ax, err := b.Node.Int("axis", 0)
		if err != nil {
			return nil, err
		}
		if !b.Node.Has("axis") {
			return nil, fmt.Errorf("Concat needs an axis attribute")
		}
		return &concatK{b: b, axis: int(ax)}, nil
	})
	RegisterGrad("Gather", func(b *BuildInfo) (Kernel, error) {
		ax, err := b.Node.Int("axis", 0)
		if err != nil {
			return nil, err
		}
		return &gatherK{b: b, axis: int(ax)}, nil
	})
	for _, op := range []string{"Squeeze", "Unsqueeze"} {
		op := op
		RegisterGrad(op, func(b *BuildInfo) (Kernel, error) {
			attrAxes, err := b.Node.Ints("axes", nil)
			if err != nil {
				return nil, err
			}
			return &viewK{b: b, op: op, shape: func(x *tensor.Tensor, in []*tensor.Tensor) ([]int, error) {
				axes := attrAxes
				if len(in) > 1 && in[1] != nil {
					if in[1].DType != tensor.Int64 {
						return nil, fmt.Errorf("axes input has dtype %s, want int64", in[1].DType)
					}
					axes = in[1].I64()
				}
				if op == "Squeeze" {
					return squeezeShape(x.Shape, axes)
				}
				return unsqueezeShape(x.Shape, axes)
			}}, nil
		})
	}
	for _, op := range []string{"ReduceMean", "ReduceSum"} {
		op := op
		RegisterGrad(op, func(b *BuildInfo) (Kernel, error) {
			kd, err := b.Node.Int("keepdims", 1)
			if err != nil {
				return nil, err
			}
			noop, err := b.Node.Int("noop_with_empty_axes", 0)
			if err != nil {
				return nil, err
			}
			axes, err := b.Node.Ints("axes", nil)
			if err != nil {
				return nil, err
			}
			return &reduceK{b: b, mean: op == "ReduceMean", keep: kd != 0, noop: noop != 0, attrAxes: axes}, nil
		})
	}
}

func normAxis(a int64, rank int) (int, error) {
	if a < 0 {
		a += int64(rank)
	}
	if a < 0 || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, rank)
	}
	return int(a), nil
}

func squeezeShape(s []int, axes []int64) ([]int, error) {
	drop := map[int]bool{}
	for _, a := range axes {
		ax, err := normAxis(a, len(s))
		if err != nil {
			return nil, err
		}
		if s[ax] != 1 {
			return nil, fmt.Errorf("cannot squeeze dimension %d of %v", ax, s)
		}
		drop[ax] = true
	}
	var out []int
	for i, d := range s {
		if (axes == nil && d == 1) || drop[i] {
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

func unsqueezeShape(s []int, axes []int64) ([]int, error) {
	r := len(s) + len(axes)
	ins := map[int]bool{}
	for _, a := range axes {
		ax, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		if ins[ax] {
			return nil, fmt.Errorf("axis %d repeated", ax)
		}
		ins[ax] = true
	}
	out := make([]int, 0, r)
	j := 0
	for i := 0; i < r; i++ {
		if ins[i] {
			out = append(out, 1)
		} else {
			out = append(out, s[j])
			j++
		}
	}
	return out, nil
}

// permute writes (or, with acc, adds) src of shape `shape` transposed by
// perm into dst: dst[i0..] = src at index with dims permuted.
func permute(dst, src []float32, shape []int, perm []int, acc bool) {
	r := len(shape)
	if r == 0 {
		if acc {
			dst[0] += src[0]
		} else {
			dst[0] = src[0]
		}
		return
	}
	inSt := tensor.Strides(shape)
	oshape := make([]int, r)
	st := make([]int, r)
	for i, p := range perm {
		oshape[i] = shape[p]
		st[i] = inSt[p]
	}
	n := tensor.NumElems(oshape)
	if n == 0 {
		return
	}
	ctr := make([]int, r)
	last := oshape[r-1]
	ls := st[r-1]
	off := 0
	for o := 0; o < n; o += last {
		d := dst[o : o+last]
		if acc {
			for j := range d {
				d[j] += src[off+j*ls]
			}
		} else {
			for j := range d {
				d[j] = src[off+j*ls]
			}
		}
		for k := r - 2; k >= 0; k-- {
			ctr[k]++
			off += st[k]
			if ctr[k] < oshape[k] {
				break
			}
			off -= st[k] * ctr[k]
			ctr[k] = 0
		}
	}
}

type transposeK struct {
	b    *BuildInfo
	perm []int64
	p    []int
	out  buf
}

func (k *transposeK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.b.Node
	if err := need(in, 1, n); err != nil {
		return nil, err
	}
	if err := checkF32(n, in, 0); err != nil {
		return nil, err
	}
	x := in[0]
	r := x.Rank()
	k.p = k.p[:0]
	if k.perm == nil {
		for i := r - 1; i >= 0; i-- {
			k.p = append(k.p, i)
		}
	} else {
		if len(k.perm) != r {
			return nil, fmt.Errorf("%s: perm %v for rank %d", n.Describe(), k.perm, r)
		}
		seen := make([]bool, r)
		for _, v := range k.perm {
			if v < 0 || int(v) >= r || seen[v] {
				return nil, fmt.Errorf("%s: perm %v is not a permutation", n.Describe(), k.perm)
			}
			seen[v] = true
			k.p = append(k.p, int(v))
		}
	}
	os := make([]int, r)
	for i, p := range k.p {
		os[i] = x.Shape[p]
	}
	out := k.out.get(os...)
	permute(out.F32(), x.F32(), x.Shape, k.p, false)
	return []*tensor.Tensor{out}, nil
}

func (k *transposeK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	if gin[0] == nil {
		return nil
	}
	inv := make([]int, len(k.p))
	for i, p := range k.p {
		inv[p] = i
	}
	permute(gin[0].F32(), gout[0].F32(), out[0].Shape, inv, true)
	return nil
}

type concatK struct {
	b     *BuildInfo
	axis  int
	ax    int
	outer int
	inner int
	out   buf
}

func (k *concatK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.b.Node
	if len(in) == 0 {
		return nil, fmt.Errorf("%s: no inputs", n.Describe())
	}
	if err := need(in, len(in), n); err != nil {
		return nil, err
	}
	idx := make([]int, len(in))
	for i := range idx {
		idx[i] = i
	}
	if err := checkF32(n, in, idx...); err != nil {
		return nil, err
	}
	s0 := in[0].Shape
	ax, err := normAxis(int64(k.axis), len(s0))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.Describe(), err)
	}
	os := append([]int(nil), s0...)
	os[ax] = 0
	for _, t := range in {
		if len(t.Shape) != len(s0) {
			return nil, fmt.Errorf("%s: ranks differ: %v vs %v", n.Describe(), s0, t.Shape)
		}
		for d := range s0 {
			if d != ax && t.Shape[d] != s0[d] {
				return nil, fmt.Errorf("%s: shapes %v and %v differ outside axis %d", n.Describe(), s0, t.Shape, ax)
			}
		}
		os[ax] += t.Shape[ax]
	}
	k.ax = ax
	k.outer = tensor.NumElems(s0[:ax])
	k.inner = tensor.NumElems(s0[ax+1:])
	out := k.out.get(os...)
	od := out.F32()
	row := os[ax] * k.inner
	off := 0
	for _, t := range in {
		w := t.Shape[ax] * k.inner
		td := t.F32()
		for o := 0; o < k.outer; o++ {
			copy(od[o*row+off:o*row+off+w], td[o*w:(o+1)*w])
		}
		off += w
	}
	return []*tensor.Tensor{out}, nil
}

func (k *concatK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	dy := gout[0].F32()
	row := out[0].Shape[k.ax] * k.inner
	off := 0
	for i, t := range in {
		w := t.Shape[k.ax] * k.inner
		if gin[i] != nil {
			dx := gin[i].F32()
			for o := 0; o < k.outer; o++ {
				src := dy[o*row+off : o*row+off+w]
				dst := dx[o*w : (o+1)*w]
				for j, v := range src {
					dst[j] += v
				}
			}
		}
		off += w
	}
	return nil
}

// gatherK is Gather (embedding lookup along axis); the gradient of the data
// is scattered back (repeated indices add up). Indices get no gradient.
type gatherK struct {
	b                *BuildInfo
	axis             int
	ax, outer, inner int
	axDim            int
	idx              []int
	out              buf
}

func (k *gatherK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.b.Node
	if err := need(in, 2, n); err != nil {
		return nil, err
	}
	x, it := in[0], in[1]
	if x.DType != tensor.Float32 {
		return nil, fmt.Errorf("%s: data has dtype %s; training Gather takes float32", n.Describe(), x.DType)
	}
	ax, err := normAxis(int64(k.axis), x.Rank())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.Describe(), err)
	}
	k.ax, k.axDim = ax, x.Shape[ax]
	k.outer, k.inner = tensor.NumElems(x.Shape[:ax]), tensor.NumElems(x.Shape[ax+1:])
	ni := it.Len()
	if cap(k.idx) < ni {
		k.idx = make([]int, ni)
	}
	k.idx = k.idx[:ni]
	for i := 0; i < ni; i++ {
		var v int64
		switch it.DType {
		case tensor.Int64:
			v = it.I64()[i]
		case tensor.Int32:
			v = int64(it.I32()[i])
		default:
			return nil, fmt.Errorf("%s: indices have dtype %s, want int64 or int32", n.Describe(), it.DType)
		}
		if v < 0 {
			v += int64(k.axDim)
		}
		if v < 0 || v >= int64(k.axDim) {
			return nil, fmt.Errorf("%s: index %d out of range [%d, %d)", n.Describe(), v, -k.axDim, k.axDim)
		}
		k.idx[i] = int(v)
	}
	os := append(append(append([]int(nil), x.Shape[:ax]...), it.Shape...), x.Shape[ax+1:]...)
	out := k.out.get(os...)
	od, xd := out.F32(), x.F32()
	inner := k.inner
	for o := 0; o < k.outer; o++ {
		for i, v := range k.idx {
			copy(od[(o*ni+i)*inner:(o*ni+i+1)*inner], xd[(o*k.axDim+v)*inner:(o*k.axDim+v+1)*inner])
		}
	}
	return []*tensor.Tensor{out}, nil
}

func (k *gatherK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	if gin[0] == nil {
		return nil
	}
	dx, dy := gin[0].F32(), gout[0].F32()
	ni, inner := len(k.idx), k.inner
	for o := 0; o < k.outer; o++ {
		for i, v := range k.idx {
			src := dy[(o*ni+i)*inner : (o*ni+i+1)*inner]
			dst := dx[(o*k.axDim+v)*inner : (o*k.axDim+v+1)*inner]
			for j, g := range src {
				dst[j] += g
			}
		}
	}
	return nil
}

// reduceK is ReduceMean / ReduceSum over a set of axes.
type reduceK struct {
	b          *BuildInfo
	mean, keep bool
	noop       bool
	attrAxes   []int64
	lastShape  []int
	lastAxes   []int64
	oidx       []int
	scale      float32
	identity   bool
	out        buf
}

func (k *reduceK) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.b.Node
	if err := need(in, 1, n); err != nil {
		return nil, err
	}
	if err := checkF32(n, in, 0); err != nil {
		return nil, err
	}
	x := in[0]
	axes := k.attrAxes
	if len(in) > 1 && in[1] != nil {
		if in[1].DType != tensor.Int64 {
			return nil, fmt.Errorf("%s: axes input has dtype %s, want int64", n.Describe(), in[1].DType)
		}
		axes = in[1].I64()
	}
	if !tensor.SameShape(x.Shape, k.lastShape) || !sameI64(axes, k.lastAxes) || k.oidx == nil {
		if err := k.plan(x.Shape, axes); err != nil {
			return nil, fmt.Errorf("%s: %w", n.Describe(), err)
		}
	}
	if k.identity {
		return []*tensor.Tensor{x}, nil
	}
	out := k.out.t
	od := out.F32()
	zero(od)
	for i, v := range x.F32() {
		od[k.oidx[i]] += v
	}
	if k.mean {
		for i := range od {
			od[i] *= k.scale
		}
	}
	return []*tensor.Tensor{out}, nil
}

func sameI64(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (k *reduceK) plan(s []int, axes []int64) error {
	k.lastShape, k.lastAxes = append([]int(nil), s...), append([]int64(nil), axes...)
	red := make([]bool, len(s))
	k.identity = false
	if len(axes) == 0 {
		if k.noop {
			k.identity = true
			k.oidx = []int{}
			return nil
		}
		for i := range red {
			red[i] = true
		}
	}
	for _, a := range axes {
		ax, err := normAxis(a, len(s))
		if err != nil {
			return err
		}
		red[ax] = true
	}
	var os []int
	cnt := 1
	for i, d := range s {
		if red[i] {
			cnt *= d
			if k.keep {
				os = append(os, 1)
			}
			continue
		}
		os = append(os, d)
	}
	k.out.get(os...)
	// output index of every input element: strides of the kept dims.
	full := make([]int, len(s))
	for i := range full {
		full[i] = 1
		if !red[i] {
			full[i] = s[i]
		}
	}
	k.oidx = make([]int, tensor.NumElems(s))
	tensor.BroadcastIndex(s, tensor.BroadcastStrides(full, s), k.oidx)
	if cnt > 0 {
		k.scale = 1 / float32(cnt)
	}
	return nil
}

func (k *reduceK) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	if gin[0] == nil {
		return nil
	}
	dx, dy := gin[0].F32(), gout[0].F32()
	if k.identity {
		for i, g := range dy {
			dx[i] += g
		}
		return nil
	}
	s := float32(1)
	if k.mean {
		s = k.scale
	}
	for i, o := range k.oidx {
		dx[i] += dy[o] * s
	}
	return nil
}
