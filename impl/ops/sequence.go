package ops

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Sequence ops (SequenceEmpty/Construct/Insert/At/Erase/Length,
// SplitToSequence, ConcatFromSequence, SequenceMap) and Optional ops
// (Optional, OptionalHasElement, OptionalGetElement).

func init() {
	reg := func(op string, build func(b *BuildInfo) (Kernel, error)) {
		Register(Impl{Op: op, DTypes: allTypes, Build: build})
	}
	reg("SequenceEmpty", func(b *BuildInfo) (Kernel, error) {
		dt, err := b.Node.Int("dtype", int64(tensor.Float32))
		if err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			return []Value{&tensor.Sequence{ElemType: tensor.DType(dt)}}, nil
		}), nil
	})
	reg("SequenceConstruct", func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, len(in))
			if err != nil {
				return nil, err
			}
			s := &tensor.Sequence{Tensors: ts}
			if len(ts) > 0 {
				s.ElemType = ts[0].DType
			}
			for _, t := range ts {
				if t.DType != s.ElemType {
					return nil, fmt.Errorf("elements have dtypes %s and %s", s.ElemType, t.DType)
				}
			}
			return []Value{s}, nil
		}), nil
	})
	reg("SequenceInsert", func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			s, err := seqArg(in, 0)
			if err != nil {
				return nil, err
			}
			t, err := Tensor(in, 1)
			if err != nil || t == nil {
				return nil, fmt.Errorf("SequenceInsert needs a tensor")
			}
			pos := len(s.Tensors)
			if pt, err := Tensor(in, 2); err != nil {
				return nil, err
			} else if pt != nil {
				v, err := intsOf(pt, "position")
				if err != nil || len(v) != 1 {
					return nil, fmt.Errorf("position must be one integer")
				}
				p := v[0]
				if p < 0 {
					p += int64(len(s.Tensors))
				}
				if p < 0 || p > int64(len(s.Tensors)) {
					return nil, fmt.Errorf("position %d out of range for %d", v[0], len(s.Tensors))
				}
				pos = int(p)
			}
			if len(s.Tensors) > 0 && t.DType != s.ElemType {
				return nil, fmt.Errorf("inserting %s into a sequence of %s", t.DType, s.ElemType)
			}
			out := &tensor.Sequence{ElemType: t.DType}
			out.Tensors = append(append(append([]*tensor.Tensor{}, s.Tensors[:pos]...), t), s.Tensors[pos:]...)
			return []Value{out}, nil
		}), nil
	})
	reg("SequenceAt", func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			s, err := seqArg(in, 0)
			if err != nil {
				return nil, err
			}
			pt, err := Tensor(in, 1)
			if err != nil || pt == nil {
				return nil, fmt.Errorf("SequenceAt needs a position")
			}
			pos, err := seqPos(pt, len(s.Tensors))
			if err != nil {
				return nil, err
			}
			return []Value{s.Tensors[pos]}, nil
		}), nil
	})
	reg("SequenceErase", func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			s, err := seqArg(in, 0)
			if err != nil {
				return nil, err
			}
			if len(s.Tensors) == 0 {
				return nil, fmt.Errorf("erasing from an empty sequence")
			}
			pos := len(s.Tensors) - 1
			if pt, err := Tensor(in, 1); err != nil {
				return nil, err
			} else if pt != nil {
				if pos, err = seqPos(pt, len(s.Tensors)); err != nil {
					return nil, err
				}
			}
			out := &tensor.Sequence{ElemType: s.ElemType}
			out.Tensors = append(append([]*tensor.Tensor{}, s.Tensors[:pos]...), s.Tensors[pos+1:]...)
			return []Value{out}, nil
		}), nil
	})
	reg("SequenceLength", func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			s, err := seqArg(in, 0)
			if err != nil {
				return nil, err
			}
			return []Value{tensor.Scalar(int64(len(s.Tensors)))}, nil
		}), nil
	})
	reg("SplitToSequence", buildSplitToSequence)
	reg("ConcatFromSequence", func(b *BuildInfo) (Kernel, error) {
		axis, err := b.Node.Int("axis", 0)
		if err != nil {
			return nil, err
		}
		newAxis, err := b.Node.Int("new_axis", 0)
		if err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			s, err := seqArg(in, 0)
			if err != nil {
				return nil, err
			}
			if len(s.Tensors) == 0 {
				return nil, fmt.Errorf("ConcatFromSequence of an empty sequence")
			}
			var out *tensor.Tensor
			if newAxis != 0 {
				a := int(axis)
				if a < 0 {
					a += s.Tensors[0].Rank() + 1
				}
				out, err = stack(s.Tensors, a)
			} else {
				out, err = Concat(s.Tensors, axis)
			}
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}), nil
	})
	reg("SequenceMap", buildSequenceMap)
	reg("Optional", func(b *BuildInfo) (Kernel, error) {
		var elem *graph.Type
		if a, ok := b.Node.Attrs["type"]; ok && a.TP != nil {
			elem = a.TP
		}
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			o := &tensor.Optional{}
			if elem != nil {
				o.ElemIsSeq = elem.Kind == graph.KindSequence
				o.ElemType = elem.DType
				if o.ElemIsSeq && elem.Elem != nil {
					o.ElemType = elem.Elem.DType
				}
			}
			if len(in) > 0 && in[0] != nil {
				switch v := in[0].(type) {
				case *tensor.Tensor:
					o.Value, o.ElemType, o.ElemIsSeq = v, v.DType, false
				case *tensor.Sequence:
					o.Value, o.ElemType, o.ElemIsSeq = v, v.ElemType, true
				default:
					return nil, fmt.Errorf("Optional of %T", v)
				}
			}
			return []Value{o}, nil
		}), nil
	})
	reg("OptionalHasElement", func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			has := false
			if len(in) > 0 && in[0] != nil {
				switch v := in[0].(type) {
				case *tensor.Optional:
					has = v.Value != nil
				default:
					has = true
				}
			}
			return []Value{tensor.Scalar(has)}, nil
		}), nil
	})
	reg("OptionalGetElement", func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			if len(in) == 0 || in[0] == nil {
				return nil, fmt.Errorf("OptionalGetElement needs an input")
			}
			if o, ok := in[0].(*tensor.Optional); ok {
				if o.Value == nil {
					return nil, fmt.Errorf("optional is empty")
				}
				return []Value{o.Value}, nil
			}
			return []Value{in[0]}, nil
		}), nil
	})
	graph.RegisterShape("", "SequenceLength", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{DType: tensor.Int64, Shape: graph.Shape{}, HasShape: true}}, nil
	})
	graph.RegisterShape("", "OptionalHasElement", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{DType: tensor.Bool, Shape: graph.Shape{}, HasShape: true}}, nil
	})
}

func seqArg(in []Value, i int) (*tensor.Sequence, error) {
	if i >= len(in) || in[i] == nil {
		return nil, fmt.Errorf("input %d: missing sequence", i)
	}
	switch v := in[i].(type) {
	case *tensor.Sequence:
		return v, nil
	case *tensor.Optional:
		if s, ok := v.Value.(*tensor.Sequence); ok {
			return s, nil
		}
	}
	return nil, fmt.Errorf("input %d is %T, want a sequence", i, in[i])
}

// seqPos resolves a (possibly negative) position against n.
func seqPos(t *tensor.Tensor, n int) (int, error) {
	v, err := intsOf(t, "position")
	if err != nil || len(v) != 1 {
		return 0, fmt.Errorf("position must be one integer")
	}
	p := v[0]
	if p < 0 {
		p += int64(n)
	}
	if p < 0 || p >= int64(n) {
		return 0, fmt.Errorf("position %d out of range for %d", v[0], n)
	}
	return int(p), nil
}

func buildSplitToSequence(b *BuildInfo) (Kernel, error) {
	axis, err := b.Node.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	keep, err := b.Node.Int("keepdims", 1)
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
		dim := x.Shape[ax]
		st, err := Tensor(in, 1)
		if err != nil {
			return nil, err
		}
		var sizes []int
		squeeze := false
		switch {
		case st == nil:
			sizes = ones(dim)
			squeeze = keep == 0
		case st.Rank() == 0:
			v, err := intsOf(st, "split")
			if err != nil {
				return nil, err
			}
			c := int(v[0])
			if c <= 0 {
				return nil, fmt.Errorf("split %d must be positive", c)
			}
			for off := 0; off < dim; off += c {
				sizes = append(sizes, min(c, dim-off))
			}
		default:
			v, err := intsOf(st, "split")
			if err != nil {
				return nil, err
			}
			sum := 0
			for _, s := range v {
				if s < 0 {
					return nil, fmt.Errorf("split %v has a negative size", v)
				}
				sizes = append(sizes, int(s))
				sum += int(s)
			}
			if sum != dim {
				return nil, fmt.Errorf("split %v does not add up to %d", v, dim)
			}
		}
		parts := splitAxis(x, ax, sizes)
		if squeeze {
			shape := append(append([]int{}, x.Shape[:ax]...), x.Shape[ax+1:]...)
			for i := range parts {
				parts[i], _ = parts[i].Reshaped(shape...)
			}
		}
		return []Value{&tensor.Sequence{ElemType: x.DType, Tensors: parts}}, nil
	}), nil
}

func buildSequenceMap(b *BuildInfo) (Kernel, error) {
	body, err := graphAttr(b.Node, "body")
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		s, err := seqArg(in, 0)
		if err != nil {
			return nil, err
		}
		n := len(s.Tensors)
		outs := make([]*tensor.Sequence, len(body.Outputs))
		for j := range outs {
			outs[j] = &tensor.Sequence{ElemType: body.Outputs[j].Type.DType}
			if e := body.Outputs[j].Type.Elem; e != nil {
				outs[j].ElemType = e.DType
			}
		}
		for i := 0; i < n; i++ {
			args := []Value{s.Tensors[i]}
			for k := 1; k < len(in); k++ {
				switch v := in[k].(type) {
				case *tensor.Sequence:
					if len(v.Tensors) != n {
						return nil, fmt.Errorf("input sequences have lengths %d and %d", n, len(v.Tensors))
					}
					args = append(args, v.Tensors[i])
				default:
					args = append(args, v)
				}
			}
			out, err := runBody(ctx, body, args)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			for j, v := range out {
				t, ok := v.(*tensor.Tensor)
				if !ok {
					return nil, fmt.Errorf("body output %d is %T, want a tensor", j, v)
				}
				outs[j].Tensors = append(outs[j].Tensors, t)
				outs[j].ElemType = t.DType
			}
		}
		res := make([]Value, len(outs))
		for j, o := range outs {
			res[j] = o
		}
		return res, nil
	}), nil
}
