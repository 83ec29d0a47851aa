package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/data/npy"
	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/runtime"
	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/tensor"
)

// Rows of int64 token ids run one by one through an embedding model; row i
// of the output file is the flattened output of row i, and rows of the
// wrong dtype or size are refused naming the file.
func TestSamplesInt64Rows(t *testing.T) {
	dir := t.TempDir()
	g := graph.New("emb")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("ids", tensor.Int64, 1, 3)}
	emb := tensor.New(tensor.Float32, 5, 2)
	for i := range emb.F32() {
		emb.F32()[i] = float32(i)
	}
	g.AddInitializer("emb", emb)
	g.AddNode("Gather", []string{"emb", "ids"}, []string{"e"})
	g.Outputs = []graph.ValueInfo{graph.TensorInfo("e", tensor.Float32, 1, 3, 2)}
	model := filepath.Join(dir, "emb.onnx")
	if err := onnx.Save(model, &graph.Model{Graph: g, Opsets: []graph.OpsetImport{{Version: 14}}}); err != nil {
		t.Fatal(err)
	}
	x := filepath.Join(dir, "ids.npy")
	if err := npy.WriteFile(x, tensor.MustFromSlice([]int64{0, 1, 2, 4, 4, 3}, 2, 3)); err != nil {
		t.Fatal(err)
	}
	y := filepath.Join(dir, "y.npy")
	if err := run(model, x, y, runtime.Options{Threads: 1}, "", 1); err != nil {
		t.Fatal(err)
	}
	got, err := npy.ReadFile(y)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 1, 2, 3, 4, 5, 8, 9, 8, 9, 6, 7}
	if !tensor.SameShape(got.Shape, []int{2, 6}) || got.DType != tensor.Float32 {
		t.Fatalf("output %v, want float32 [2 6]", got)
	}
	for i, v := range want {
		if got.F32()[i] != v {
			t.Fatalf("output %v, want %v", got.F32(), want)
		}
	}
	for name, bad := range map[string]*tensor.Tensor{
		"floats.npy": tensor.New(tensor.Float32, 2, 3),
		"wide.npy":   tensor.New(tensor.Int64, 2, 4),
	} {
		p := filepath.Join(dir, name)
		if err := npy.WriteFile(p, bad); err != nil {
			t.Fatal(err)
		}
		if err := run(model, p, y, runtime.Options{Threads: 1}, "", 1); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: got %v, want an error naming the file", name, err)
		}
	}
}
