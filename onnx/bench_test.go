package onnx

import (
	"fmt"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// largeModel is a 24-layer MLP-like graph with ~32 MB of float32 weights.
func largeModel() *graph.Model {
	g := graph.New("large")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("x0", tensor.Float32, 1, 576)}
	for i := 0; i < 24; i++ {
		w := tensor.New(tensor.Float32, 576, 576)
		for j, d := 0, w.F32(); j < len(d); j++ {
			d[j] = float32(j%97) * 0.01
		}
		wn, bn := fmt.Sprintf("w%d", i), fmt.Sprintf("b%d", i)
		g.AddInitializer(wn, w)
		g.AddInitializer(bn, tensor.New(tensor.Float32, 576))
		x, y := fmt.Sprintf("x%d", i), fmt.Sprintf("x%d", i+1)
		g.AddNode("Gemm", []string{x, wn, bn}, []string{y}, graph.AttrI("transB", 1), graph.AttrF("alpha", 1))
	}
	g.Outputs = []graph.ValueInfo{graph.TensorInfo("x24", tensor.Float32, 1, 576)}
	return &graph.Model{Graph: g, Opsets: []graph.OpsetImport{{Version: 17}}}
}

func BenchmarkDecodeLarge(b *testing.B) {
	data, err := Encode(largeModel())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeLarge(b *testing.B) {
	m := largeModel()
	data, err := Encode(m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(m); err != nil {
			b.Fatal(err)
		}
	}
}
