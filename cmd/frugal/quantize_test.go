package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/data/npy"
	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/tensor"
)

// tokenModel is a two-layer toy language model: int64 ids [1, 5] ->
// embedding (Gather) -> MatMul -> MatMul -> logits [1, 5, 7].
func tokenModel(t *testing.T, dir string) string {
	r := rand.New(rand.NewPCG(1, 1))
	rt := func(shape ...int) *tensor.Tensor {
		x := tensor.New(tensor.Float32, shape...)
		for i := range x.F32() {
			x.F32()[i] = float32(r.NormFloat64())
		}
		return x
	}
	g := graph.New("tok")
	g.Inputs = []graph.ValueInfo{graph.TensorInfo("ids", tensor.Int64, 1, 5)}
	g.AddInitializer("emb", rt(7, 4))
	g.AddInitializer("w1", rt(4, 6))
	g.AddInitializer("w2", rt(6, 7))
	g.AddNode("Gather", []string{"emb", "ids"}, []string{"e"})
	g.AddNode("MatMul", []string{"e", "w1"}, []string{"h"})
	g.AddNode("MatMul", []string{"h", "w2"}, []string{"logits"})
	g.Outputs = []graph.ValueInfo{graph.TensorInfo("logits", tensor.Float32, 1, 5, 7)}
	p := filepath.Join(dir, "tok.onnx")
	if err := onnx.Save(p, &graph.Model{Graph: g, Opsets: []graph.OpsetImport{{Version: 14}}}); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeNpy(t *testing.T, dir, name string, x *tensor.Tensor) string {
	p := filepath.Join(dir, name)
	if err := npy.WriteFile(p, x); err != nil {
		t.Fatal(err)
	}
	return p
}

// quantize --data FILE.npy calibrates on the rows of the file (int64 token
// ids here), and a file that does not fit the model is refused with an
// error naming it.
func TestQuantizeNpyCalibration(t *testing.T) {
	dir := t.TempDir()
	model := tokenModel(t, dir)
	ids := make([]int64, 8*5)
	for i := range ids {
		ids[i] = int64(i*3) % 7
	}
	good := writeNpy(t, dir, "ids.npy", tensor.MustFromSlice(ids, 8, 5))
	out := filepath.Join(dir, "q.onnx")
	msg, err := frugal(t, "quantize", model, "--data", good, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "quantized 2 layers") {
		t.Errorf("output %q, want 2 layers quantized", msg)
	}
	q, err := onnx.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	dqs := 0
	for _, n := range q.Graph.Nodes {
		if n.OpType == "DequantizeLinear" {
			dqs++
		}
	}
	if dqs == 0 {
		t.Error("no DequantizeLinear in the quantized model")
	}

	short := writeNpy(t, dir, "short.npy", tensor.MustFromSlice(make([]int64, 8*4), 8, 4))
	floats := writeNpy(t, dir, "floats.npy", tensor.New(tensor.Float32, 8, 5))
	trunc := filepath.Join(dir, "trunc.npy")
	b, _ := os.ReadFile(good)
	os.WriteFile(trunc, b[:len(b)-5], 0o644)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--data", short}, []string{"short.npy", "[4]", "[1,5]"}},
		{[]string{"--data", floats}, []string{"floats.npy", "float32", "int64"}},
		{[]string{"--data", trunc}, []string{"trunc.npy", "truncated"}},
		{[]string{"--data", filepath.Join(dir, "missing.npy")}, []string{"missing.npy"}},
		{[]string{"--data", good, "--mean", "0.5", "--std", "0.2"}, []string{"--mean", "ids.npy"}},
	} {
		_, err := frugal(t, append([]string{"quantize", model, "--out", filepath.Join(dir, "x.onnx")}, c.args...)...)
		if err == nil {
			t.Errorf("%v: accepted", c.args)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not mention %q", c.args, err, w)
			}
		}
	}
}
