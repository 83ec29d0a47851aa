package ops

import (
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

func mlNode(op string, nin, nout int, attrs ...*graph.Attr) *graph.Node {
	n := mk(op, nin, nout, attrs...)
	n.Domain = "ai.onnx.ml"
	return n
}

func TestLabelEncoderBinarizerAFE(t *testing.T) {
	le := run1(t, mlNode("LabelEncoder", 1, 1,
		&graph.Attr{Name: "keys_strings", Type: graph.AttrStrings, Strings: []string{"a", "b"}},
		graph.IntsAttr("values_int64s", 1, 2), graph.AttrI("default_int64", -7)), 2, strs(sh(3), "b", "z", "a"))
	expect(t, "LabelEncoder", le, sh(3), []float64{2, -7, 1}, 0)
	lt := run1(t, mlNode("LabelEncoder", 1, 1, graph.AttrT("keys_tensor", i64s(sh(2), 5, 6)),
		graph.AttrT("values_tensor", strs(sh(2), "five", "six")), graph.AttrT("default_tensor", strs(sh(1), "?"))), 4, i64s(sh(2), 6, 7))
	if s := lt.Strings(); s[0] != "six" || s[1] != "?" {
		t.Errorf("LabelEncoder tensors: %q", s)
	}
	bz := run1(t, mlNode("Binarizer", 1, 1, graph.AttrF("threshold", 1)), 1, f32s(sh(3), 0, 1, 2))
	expect(t, "Binarizer", bz, sh(3), []float64{0, 0, 1}, 0)
	afe := run1(t, mlNode("ArrayFeatureExtractor", 2, 1), 1, iota32(2, 3), i64s(sh(2), 2, 0))
	expect(t, "ArrayFeatureExtractor", afe, sh(2, 2), []float64{2, 0, 5, 3}, 0)
}

func TestTreeEnsemble(t *testing.T) {
	// One stump: x0 <= 0.5 ? leaf0 (weight 1, target 0) : leaf1 (weight 2, target 1).
	u8 := &tensor.Tensor{DType: tensor.Uint8, Shape: []int{1}, Data: []uint8{0}}
	n := mlNode("TreeEnsemble", 1, 1,
		graph.AttrT("nodes_splits", f32s(sh(1), 0.5)), graph.AttrT("nodes_modes", u8),
		graph.IntsAttr("nodes_featureids", 0), graph.IntsAttr("nodes_truenodeids", 0), graph.IntsAttr("nodes_falsenodeids", 1),
		graph.IntsAttr("nodes_trueleafs", 1), graph.IntsAttr("nodes_falseleafs", 1),
		graph.IntsAttr("leaf_targetids", 0, 1), graph.AttrT("leaf_weights", f32s(sh(2), 1, 2)),
		graph.IntsAttr("tree_roots", 0), graph.AttrI("n_targets", 2))
	y := run1(t, n, 5, f32s(sh(2, 1), 0, 1))
	expect(t, "TreeEnsemble", y, sh(2, 2), []float64{1, 0, 0, 2}, 0)
}
