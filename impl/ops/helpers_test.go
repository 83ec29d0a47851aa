package ops

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Test helpers shared by the op-family tests.

// mk builds a node with nin inputs named a, b, c, ... and nout outputs.
func mk(op string, nin, nout int, attrs ...*graph.Attr) *graph.Node {
	n := &graph.Node{OpType: op, Name: op, Attrs: map[string]*graph.Attr{}}
	for i := 0; i < nin; i++ {
		n.Inputs = append(n.Inputs, string(rune('a'+i)))
	}
	for i := 0; i < nout; i++ {
		n.Outputs = append(n.Outputs, string(rune('y'-i)))
	}
	for _, a := range attrs {
		n.SetAttr(a)
	}
	return n
}

// exec builds and runs one node, returning its outputs or the error.
func exec(n *graph.Node, opset int64, in ...Value) ([]Value, error) {
	info := &BuildInfo{Node: n, Opset: opset, Const: make([]*tensor.Tensor, len(in)), InTypes: make([]graph.Type, len(in))}
	for i, v := range in {
		if t, ok := v.(*tensor.Tensor); ok && t != nil {
			info.InTypes[i] = graph.Type{DType: t.DType}
		}
	}
	k, _, err := Build(info)
	if err != nil {
		return nil, err
	}
	return k.Run(&Ctx{Context: context.Background(), Threads: 2}, in)
}

// run1 runs a node and returns output 0 as a tensor, failing the test on error.
func run1(t *testing.T, n *graph.Node, opset int64, in ...Value) *tensor.Tensor {
	t.Helper()
	out, err := exec(n, opset, in...)
	if err != nil {
		t.Fatalf("%s: %v", n.OpType, err)
	}
	o, ok := out[0].(*tensor.Tensor)
	if !ok {
		t.Fatalf("%s: output is %T", n.OpType, out[0])
	}
	return o
}

func f32s(shape []int, v ...float32) *tensor.Tensor { return tensor.MustFromSlice(v, shape...) }
func f64s(shape []int, v ...float64) *tensor.Tensor { return tensor.MustFromSlice(v, shape...) }
func i64s(shape []int, v ...int64) *tensor.Tensor   { return tensor.MustFromSlice(v, shape...) }
func sh(d ...int) []int                             { return d }

// expect compares a tensor's shape and values (within tol relative+absolute).
func expect(t *testing.T, what string, got *tensor.Tensor, shape []int, want []float64, tol float64) {
	t.Helper()
	if !tensor.SameShape(got.Shape, shape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, shape)
	}
	v, err := ToFloat64(got)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(v) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(v), len(want))
	}
	for i := range v {
		if math.IsNaN(want[i]) && math.IsNaN(v[i]) {
			continue
		}
		if math.Abs(v[i]-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Fatalf("%s: element %d = %v, want %v (all %v)", what, i, v[i], want[i], v)
		}
	}
}

// expectErr checks that running the node fails with a message containing sub.
func expectErr(t *testing.T, n *graph.Node, opset int64, sub string, in ...Value) {
	t.Helper()
	_, err := exec(n, opset, in...)
	if err == nil || !strings.Contains(err.Error(), sub) {
		t.Fatalf("%s: error %v, want one containing %q", n.OpType, err, sub)
	}
}
