package onnx

import (
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// smallModel is a compact model for fuzz seeds: a conv-relu graph with an
// initializer, symbolic input dims, an If with subgraphs and a few
// attribute types.
func smallModel() *graph.Model {
	g := graph.New("main")
	g.AddInitializer("w", tensor.MustFromSlice([]float32{1, 2, 3, 4}, 1, 1, 2, 2))
	g.AddInitializer("shape", tensor.MustFromSlice([]int64{1, -1}, 2))
	g.Inputs = []graph.ValueInfo{{Name: "x", Type: graph.Type{DType: tensor.Float32, HasShape: true,
		Shape: graph.Shape{{Size: -1, Param: "N"}, {Size: 1}, {Size: 4}, {Size: 4}}}}}
	g.Outputs = []graph.ValueInfo{{Name: "z", Type: graph.Type{DType: tensor.Float32}}}
	g.AddNode("Conv", []string{"x", "w"}, []string{"c"}, graph.IntsAttr("kernel_shape", 2, 2), graph.AttrS("auto_pad", "VALID"))
	g.AddNode("Relu", []string{"c"}, []string{"r"})
	then := graph.New("then")
	then.Outputs = []graph.ValueInfo{{Name: "r"}}
	els := graph.New("else")
	els.AddNode("Neg", []string{"r"}, []string{"n"})
	els.Outputs = []graph.ValueInfo{{Name: "n"}}
	g.AddNode("If", []string{"cond"}, []string{"z"}, graph.AttrG("then_branch", then), graph.AttrG("else_branch", els),
		graph.AttrF("alpha", 0.5), graph.AttrT("t", tensor.Scalar(int64(3))))
	return &graph.Model{Graph: g, Opsets: []graph.OpsetImport{{Version: 17}}, ProducerName: "fuzz"}
}

// FuzzDecode feeds arbitrary bytes to every decoder. None may panic, and a
// model that decodes must re-encode and decode again to an equal structure.
func FuzzDecode(f *testing.F) {
	old := maxSparseDenseBytes
	maxSparseDenseBytes = 1 << 20 // keep fuzz iterations cheap
	defer func() { maxSparseDenseBytes = old }()

	for _, m := range []*graph.Model{smallModel(), richModel()} {
		b, err := Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, x := range []*tensor.Tensor{tensor.MustFromSlice([]float32{1, 2}, 2), {DType: tensor.Int4, Shape: []int{3}, Data: []int8{1, -1, 7}}} {
		b, _ := EncodeTensor(x, "t")
		f.Add(b)
	}
	sb, _ := EncodeSequence(&tensor.Sequence{Tensors: []*tensor.Tensor{tensor.Scalar(int64(1))}}, "s")
	f.Add(sb)
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := Decode(b); err == nil {
			b2, err := Encode(m)
			if err != nil {
				t.Fatalf("decoded model does not re-encode: %v", err)
			}
			m2, err := Decode(b2)
			if err != nil {
				t.Fatalf("re-encoded model does not decode: %v", err)
			}
			if m.IRVersion == 0 { // Encode fills in a default
				m.IRVersion = defaultIRVersion(m)
			}
			if d := diffModel(m, m2); d != "" {
				t.Fatalf("round trip changed the model: %s", d)
			}
		}
		if x, _, err := DecodeTensor(b); err == nil {
			if _, err := EncodeTensor(x, ""); err != nil {
				t.Fatalf("decoded tensor does not re-encode: %v", err)
			}
		}
		DecodeSequence(b)
		DecodeOptional(b)
	})
}
