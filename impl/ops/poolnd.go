package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// N-d pooling over any numeric dtype: MaxPool (with Indices, storage_order,
// dilations, ceil_mode), AveragePool (count_include_pad), LpPool, the global
// pools, MaxUnpool and MaxRoiPool. The 1-D/2-D float32 fast paths are in
// pool.go.

func init() {
	Register(Impl{Op: "MaxPool", Name: "ref-nd", Priority: -10, DTypes: numericTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return buildPoolND("MaxPool", b)
	}})
	Register(Impl{Op: "AveragePool", Name: "ref-nd", Priority: -10, DTypes: floatTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return buildPoolND("AveragePool", b)
	}})
	Register(Impl{Op: "LpPool", DTypes: floatTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return buildPoolND("LpPool", b)
	}})
	graph.RegisterShape("", "LpPool", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{DType: in[0].DType}}, nil
	})
	for _, op := range []string{"GlobalMaxPool", "GlobalAveragePool", "GlobalLpPool"} {
		op := op
		Register(Impl{Op: op, Name: "ref-nd", Priority: -10, DTypes: floatTypes, Build: func(b *BuildInfo) (Kernel, error) {
			p, err := b.Node.Int("p", 2)
			if err != nil {
				return nil, err
			}
			return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
				ts, err := MustTensors(in, 1)
				if err != nil {
					return nil, err
				}
				out, err := globalPool(op, ts[0], float64(p))
				if err != nil {
					return nil, err
				}
				return []Value{out}, nil
			}), nil
		}})
	}
	graph.RegisterShape("", "GlobalLpPool", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{DType: in[0].DType}}, nil
	})
	Register(Impl{Op: "MaxUnpool", DTypes: floatTypes, Build: buildMaxUnpool})
	graph.RegisterShape("", "MaxUnpool", dtypeOnly)
	Register(Impl{Op: "MaxRoiPool", DTypes: floatTypes, Build: buildMaxRoiPool})
	graph.RegisterShape("", "MaxRoiPool", dtypeOnly)
}

// poolWindow is a resolved N-d pooling window.
type poolWindow struct {
	in, out []int
	p       graph.ConvParams
}

func resolvePool(n *graph.Node, xs []int) (poolWindow, error) {
	if len(xs) < 3 {
		return poolWindow{}, fmt.Errorf("input %v: want rank >= 3", xs)
	}
	p, err := graph.ReadConvParams(n, xs, nil)
	if err != nil {
		return poolWindow{}, err
	}
	w := poolWindow{in: xs[2:], p: p}
	for i := range p.Kernel {
		o := p.OutSize(i, xs[2+i])
		if o <= 0 {
			return w, fmt.Errorf("input %v with kernel %v gives an empty output", xs, p.Kernel)
		}
		w.out = append(w.out, o)
	}
	return w, nil
}

func buildPoolND(op string, b *BuildInfo) (Kernel, error) {
	n := b.Node
	cip, err := n.Int("count_include_pad", 0)
	if err != nil {
		return nil, err
	}
	so, err := n.Int("storage_order", 0)
	if err != nil {
		return nil, err
	}
	pv, err := n.Int("p", 2)
	if err != nil {
		return nil, err
	}
	if op == "LpPool" && b.Opset > 0 && b.Opset < 2 {
		f, _ := n.Float("p", 2)
		pv = int64(f)
	}
	wantIdx := op == "MaxPool" && len(n.Outputs) > 1 && n.Outputs[1] != ""
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		w, err := resolvePool(n, x.Shape)
		if err != nil {
			return nil, err
		}
		xv, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		res, idx := poolND(op, xv, x.Shape[0]*x.Shape[1], w, cip != 0, so != 0, float64(pv), wantIdx)
		shape := append([]int{x.Shape[0], x.Shape[1]}, w.out...)
		var out *tensor.Tensor
		if isInt(x.DType) {
			iv := make([]int64, len(res))
			for i, v := range res {
				iv[i] = int64(v)
			}
			out, err = fromInt64(x.DType, iv, shape)
		} else {
			out, err = FromFloat64(x.DType, res, shape)
		}
		if err != nil {
			return nil, err
		}
		if wantIdx {
			return []Value{out, tensor.MustFromSlice(idx, shape...)}, nil
		}
		return []Value{out}, nil
	}), nil
}

// poolND pools `planes` planes of x (each of spatial shape w.in).
func poolND(op string, x []float64, planes int, w poolWindow, countPad, colMajor bool, p float64, wantIdx bool) ([]float64, []int64) {
	sp := len(w.in)
	inN := tensor.NumElems(w.in)
	outN := tensor.NumElems(w.out)
	kn := tensor.NumElems(w.p.Kernel)
	ist := tensor.Strides(w.in)
	if colMajor {
		acc := 1
		for d := 0; d < sp; d++ {
			ist[d] = acc
			acc *= w.in[d]
		}
	}
	rst := tensor.Strides(w.in)
	res := make([]float64, planes*outN)
	var idx []int64
	if wantIdx {
		idx = make([]int64, planes*outN)
	}
	// Per (output position, kernel offset): input offset (row-major, -1
	// outside the input, -2 inside the padding) and storage-order index.
	type tap struct{ off, sidx int }
	taps := make([]tap, outN*kn)
	oidx := make([]int, sp)
	kidx := make([]int, sp)
	for o := 0; o < outN; o++ {
		r := o
		for d := sp - 1; d >= 0; d-- {
			oidx[d] = r % w.out[d]
			r /= w.out[d]
		}
		for k := 0; k < kn; k++ {
			r := k
			for d := sp - 1; d >= 0; d-- {
				kidx[d] = r % w.p.Kernel[d]
				r /= w.p.Kernel[d]
			}
			off, sidx := 0, 0
			inside, inPad := true, true
			for d := 0; d < sp; d++ {
				ix := oidx[d]*w.p.Strides[d] - w.p.Pads[d] + kidx[d]*w.p.Dilations[d]
				if ix < 0 || ix >= w.in[d] {
					inside = false
					if ix < -w.p.Pads[d] || ix >= w.in[d]+w.p.Pads[d+sp] {
						inPad = false
					}
				}
				off += ix * rst[d]
				sidx += ix * ist[d]
			}
			switch {
			case inside:
				taps[o*kn+k] = tap{off, sidx}
			case inPad:
				taps[o*kn+k] = tap{-2, 0}
			default:
				taps[o*kn+k] = tap{-1, 0}
			}
		}
	}
	for pl := 0; pl < planes; pl++ {
		xp := x[pl*inN : (pl+1)*inN]
		for o := 0; o < outN; o++ {
			t := taps[o*kn : (o+1)*kn]
			var v float64
			switch op {
			case "MaxPool":
				best, bi := math.Inf(-1), -1
				for _, tp := range t {
					if tp.off < 0 {
						continue
					}
					e := xp[tp.off]
					if bi < 0 || e > best || e != e {
						best, bi = e, tp.sidx
						if e != e {
							break
						}
					}
				}
				v = best
				if wantIdx {
					if bi < 0 {
						bi = 0
					}
					idx[pl*outN+o] = int64(pl*inN + bi)
				}
			case "AveragePool":
				var s float64
				cnt := 0
				for _, tp := range t {
					if tp.off >= 0 {
						s += xp[tp.off]
						cnt++
					} else if countPad && tp.off == -2 {
						cnt++
					}
				}
				if cnt > 0 {
					v = s / float64(cnt)
				}
			case "LpPool":
				var s float64
				for _, tp := range t {
					if tp.off >= 0 {
						s += math.Pow(math.Abs(xp[tp.off]), p)
					}
				}
				v = math.Pow(s, 1/p)
			}
			res[pl*outN+o] = v
		}
	}
	return res, idx
}

func globalPool(op string, x *tensor.Tensor, p float64) (*tensor.Tensor, error) {
	if x.Rank() < 2 {
		return nil, fmt.Errorf("input %v: want rank >= 2", x.Shape)
	}
	xv, err := ToFloat64(x)
	if err != nil {
		return nil, err
	}
	shape := []int{x.Shape[0], x.Shape[1]}
	for range x.Shape[2:] {
		shape = append(shape, 1)
	}
	plane := tensor.NumElems(x.Shape[2:])
	res := make([]float64, x.Shape[0]*x.Shape[1])
	for i := range res {
		row := xv[i*plane : (i+1)*plane]
		switch op {
		case "GlobalMaxPool":
			m := math.Inf(-1)
			for _, v := range row {
				m = maxNaN(m, v)
			}
			res[i] = m
		case "GlobalAveragePool":
			var s float64
			for _, v := range row {
				s += v
			}
			res[i] = s / float64(plane)
		case "GlobalLpPool":
			var s float64
			for _, v := range row {
				s += math.Pow(math.Abs(v), p)
			}
			res[i] = math.Pow(s, 1/p)
		}
	}
	return FromFloat64(x.DType, res, shape)
}

func buildMaxUnpool(b *BuildInfo) (Kernel, error) {
	n := b.Node
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x, it := ts[0], ts[1]
		if x.Rank() < 3 {
			return nil, fmt.Errorf("input %v: want rank >= 3", x.Shape)
		}
		p, err := graph.ReadConvParams(n, x.Shape, nil)
		if err != nil {
			return nil, err
		}
		sp := x.Rank() - 2
		shape := []int{x.Shape[0], x.Shape[1]}
		for i := 0; i < sp; i++ {
			shape = append(shape, (x.Shape[2+i]-1)*p.Strides[i]+p.Kernel[i]-p.Pads[i]-p.Pads[i+sp])
		}
		inferred := shape
		if st, err := Tensor(in, 2); err != nil {
			return nil, err
		} else if st != nil {
			s, err := intsOf(st, "output_shape")
			if err != nil {
				return nil, err
			}
			shape = toInts(s)
			if len(shape) != len(inferred) {
				return nil, fmt.Errorf("output_shape %v does not match rank %d", s, len(inferred))
			}
		}
		iv, err := intsOf(it, "I")
		if err != nil {
			return nil, err
		}
		if len(iv) != x.Len() {
			return nil, fmt.Errorf("indices have %d elements, input %d", len(iv), x.Len())
		}
		xv, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		res := make([]float64, tensor.NumElems(shape))
		// Indices address the unpooled tensor of the inferred shape; place
		// each at the same coordinates in the requested output shape.
		ist, ost := tensor.Strides(inferred), tensor.Strides(shape)
		for i, k := range iv {
			if k < 0 || int(k) >= tensor.NumElems(inferred) {
				return nil, fmt.Errorf("index %d out of range", k)
			}
			r, o := int(k), 0
			for d := range inferred {
				c := r / ist[d]
				r %= ist[d]
				if c >= shape[d] {
					o = -1
					break
				}
				o += c * ost[d]
			}
			if o >= 0 {
				res[o] = xv[i]
			}
		}
		out, err := FromFloat64(x.DType, res, shape)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildMaxRoiPool(b *BuildInfo) (Kernel, error) {
	n := b.Node
	ps, err := n.Ints("pooled_shape", nil)
	if err != nil {
		return nil, err
	}
	if len(ps) != 2 {
		return nil, fmt.Errorf("pooled_shape %v must have 2 entries", ps)
	}
	scale, err := n.Float("spatial_scale", 1)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x, rois := ts[0], ts[1]
		if x.Rank() != 4 || rois.Rank() != 2 || rois.Shape[1] != 5 {
			return nil, fmt.Errorf("input %v and rois %v: want [N,C,H,W] and [R,5]", x.Shape, rois.Shape)
		}
		xv, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		rv, err := ToFloat64(rois)
		if err != nil {
			return nil, err
		}
		C, H, W := x.Shape[1], x.Shape[2], x.Shape[3]
		PH, PW := int(ps[0]), int(ps[1])
		R := rois.Shape[0]
		res := make([]float64, R*C*PH*PW)
		for r := 0; r < R; r++ {
			bi := int(rv[r*5])
			x1 := int(math.Round(rv[r*5+1] * float64(scale)))
			y1 := int(math.Round(rv[r*5+2] * float64(scale)))
			x2 := int(math.Round(rv[r*5+3] * float64(scale)))
			y2 := int(math.Round(rv[r*5+4] * float64(scale)))
			rw := max(x2-x1+1, 1)
			rh := max(y2-y1+1, 1)
			bh := float64(rh) / float64(PH)
			bw := float64(rw) / float64(PW)
			for c := 0; c < C; c++ {
				for ph := 0; ph < PH; ph++ {
					for pw := 0; pw < PW; pw++ {
						hs := min(max(int(math.Floor(float64(ph)*bh))+y1, 0), H)
						he := min(max(int(math.Ceil(float64(ph+1)*bh))+y1, 0), H)
						ws := min(max(int(math.Floor(float64(pw)*bw))+x1, 0), W)
						we := min(max(int(math.Ceil(float64(pw+1)*bw))+x1, 0), W)
						m := 0.0
						if he > hs && we > ws {
							m = math.Inf(-1)
							for h := hs; h < he; h++ {
								for w := ws; w < we; w++ {
									m = math.Max(m, xv[((bi*C+c)*H+h)*W+w])
								}
							}
						}
						res[((r*C+c)*PH+ph)*PW+pw] = m
					}
				}
			}
		}
		out, err := FromFloat64(x.DType, res, []int{R, C, PH, PW})
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}
