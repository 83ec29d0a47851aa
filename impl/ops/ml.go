package ops

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// ai.onnx.ml ops: LabelEncoder, Binarizer, ArrayFeatureExtractor.

const mlDomain = "ai.onnx.ml"

func init() {
	Register(Impl{Op: "LabelEncoder", Domain: mlDomain, DTypes: allTypes, Build: buildLabelEncoder})
	graph.RegisterShape(mlDomain, "LabelEncoder", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		return []graph.Type{{}}, nil
	})
	Register(Impl{Op: "Binarizer", Domain: mlDomain, DTypes: numericTypes, Build: func(b *BuildInfo) (Kernel, error) {
		th, err := b.Node.Float("threshold", 0)
		if err != nil {
			return nil, err
		}
		t := float64(th)
		return unaryKernel(unaryOp{
			f: func(v float64) float64 {
				if v > t {
					return 1
				}
				return 0
			},
			i: func(v int64) int64 {
				if float64(v) > t {
					return 1
				}
				return 0
			},
			u: func(v uint64) uint64 {
				if float64(v) > t {
					return 1
				}
				return 0
			},
		}), nil
	}})
	graph.RegisterShape(mlDomain, "Binarizer", sameShape)
	Register(Impl{Op: "ArrayFeatureExtractor", Domain: mlDomain, DTypes: allTypes, Build: func(b *BuildInfo) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
			ts, err := MustTensors(in, 2)
			if err != nil {
				return nil, err
			}
			x := ts[0]
			if x.Rank() == 0 {
				return nil, fmt.Errorf("input must have rank >= 1")
			}
			ind, err := indexArg(ts[1], x.Shape[x.Rank()-1], "Y")
			if err != nil {
				return nil, err
			}
			last := x.Shape[x.Rank()-1]
			outer := x.Len() / max(last, 1)
			idx := make([]int, 0, outer*len(ind))
			for o := 0; o < outer; o++ {
				for _, j := range ind {
					idx = append(idx, o*last+j)
				}
			}
			shape := append(append([]int{}, x.Shape[:x.Rank()-1]...), len(ind))
			if x.Rank() == 1 {
				shape = []int{1, len(ind)}
			}
			return []Value{takeTensor(x, idx, shape)}, nil
		}), nil
	}})
	graph.RegisterShape(mlDomain, "ArrayFeatureExtractor", dtypeOnly)
}

// labelTable holds LabelEncoder's keys and values as tensors.
func labelAttrTensor(n *graph.Node, kind string) (*tensor.Tensor, error) {
	if t, err := n.Tensor(kind + "_tensor"); err != nil || t != nil {
		return t, err
	}
	if a, ok := n.Attrs[kind+"_strings"]; ok {
		return tensor.MustFromSlice(append([]string{}, a.Strings...), len(a.Strings)), nil
	}
	if a, ok := n.Attrs[kind+"_int64s"]; ok {
		return tensor.MustFromSlice(append([]int64{}, a.Ints...), len(a.Ints)), nil
	}
	if a, ok := n.Attrs[kind+"_floats"]; ok {
		return tensor.MustFromSlice(append([]float32{}, a.Floats...), len(a.Floats)), nil
	}
	return nil, fmt.Errorf("LabelEncoder has no %s", kind)
}

func labelKey(t *tensor.Tensor, i int) string {
	switch d := t.Data.(type) {
	case []string:
		return "s" + d[i]
	}
	if isInt(t.DType) {
		v, _ := ToInt64(takeTensor(t, []int{i}, nil))
		return fmt.Sprint("i", v[0])
	}
	v, _ := ToFloat64(takeTensor(t, []int{i}, nil))
	if v[0] != v[0] {
		return "fNaN"
	}
	return fmt.Sprint("f", v[0])
}

func buildLabelEncoder(b *BuildInfo) (Kernel, error) {
	n := b.Node
	keys, err := labelAttrTensor(n, "keys")
	if err != nil {
		return nil, err
	}
	vals, err := labelAttrTensor(n, "values")
	if err != nil {
		return nil, err
	}
	if keys.Len() != vals.Len() {
		return nil, fmt.Errorf("LabelEncoder has %d keys and %d values", keys.Len(), vals.Len())
	}
	def, err := n.Tensor("default_tensor")
	if err != nil {
		return nil, err
	}
	if def == nil {
		switch vals.DType {
		case tensor.String:
			s, _ := n.String("default_string", "_Unused")
			def = tensor.MustFromSlice([]string{s}, 1)
		case tensor.Int64:
			i, _ := n.Int("default_int64", -1)
			def = tensor.MustFromSlice([]int64{i}, 1)
		default:
			f, _ := n.Float("default_float", 0)
			def, err = floatsTo(vals.DType, []float64{float64(f)}, []int{1}, CastOptions{Saturate: true})
			if err != nil {
				return nil, err
			}
		}
	}
	if def.DType != vals.DType {
		return nil, fmt.Errorf("default has dtype %s, values %s", def.DType, vals.DType)
	}
	table := map[string]int{}
	for i := 0; i < keys.Len(); i++ {
		table[labelKey(keys, i)] = i
	}
	both := concatData([]any{vals.Data, def.Data})
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if (x.DType == tensor.String) != (keys.DType == tensor.String) {
			return nil, fmt.Errorf("input dtype %s does not match keys %s", x.DType, keys.DType)
		}
		idx := make([]int, x.Len())
		for i := range idx {
			j, ok := table[labelKey(x, i)]
			if !ok {
				j = vals.Len()
			}
			idx[i] = j
		}
		return []Value{&tensor.Tensor{DType: vals.DType, Shape: append([]int{}, x.Shape...), Data: takeData(both, idx)}}, nil
	}), nil
}
