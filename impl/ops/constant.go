package ops

import (
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func init() {
	Register(Impl{Op: "Constant", Name: "ref", Build: func(b *BuildInfo) (Kernel, error) {
		t, err := ConstantValue(b.Node)
		if err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) { return []Value{t}, nil }), nil
	}})
	graph.RegisterShape("", "Constant", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		t, err := ConstantValue(n)
		if err != nil {
			return nil, err
		}
		return []graph.Type{{DType: t.DType, Shape: graph.ConcreteShape(t.Shape...), HasShape: true}}, nil
	})
}

// ConstantValue decodes the value of a Constant node from whichever of its
// attributes is set.
func ConstantValue(n *graph.Node) (*tensor.Tensor, error) {
	for name, a := range n.Attrs {
		switch name {
		case "value":
			if a.T == nil {
				return nil, fmt.Errorf("attribute value holds no tensor")
			}
			return a.T, nil
		case "value_float":
			return tensor.Scalar(a.F), nil
		case "value_int":
			return tensor.Scalar(a.I), nil
		case "value_floats":
			return tensor.MustFromSlice(append([]float32(nil), a.Floats...), len(a.Floats)), nil
		case "value_ints":
			return tensor.MustFromSlice(append([]int64(nil), a.Ints...), len(a.Ints)), nil
		case "value_string":
			return &tensor.Tensor{DType: tensor.String, Data: []string{a.S}}, nil
		case "value_strings":
			return tensor.MustFromSlice(append([]string(nil), a.Strings...), len(a.Strings)), nil
		case "sparse_value":
			if a.T != nil {
				return a.T, nil
			}
		}
	}
	return nil, fmt.Errorf("Constant has no value attribute")
}
