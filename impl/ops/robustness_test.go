package ops

import (
	"context"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// leadOwned lists kernels maintained elsewhere (the int8/QDQ family); the
// sweep reports only this package's generic kernels.
var leadOwned = map[string]bool{"QLinearConv": true, "QLinearMatMul": true, "QGemm": true, "QuantizeLinear": true, "DequantizeLinear": true}

// TestNoPanicsOnBadInputs builds every registered op with random attributes
// and runs it on random (mostly ill-fitting) inputs: kernels must return
// errors, never panic.
func TestNoPanicsOnBadInputs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := [][]int{{}, {0}, {1}, {3}, {2, 3}, {1, 2, 3}, {2, 1, 2, 2}, {1, 1, 2, 2, 2}}
	dts := []tensor.DType{tensor.Float32, tensor.Int64, tensor.Bool, tensor.Float16, tensor.Uint8, tensor.String, tensor.Int32}
	mkT := func() *tensor.Tensor {
		s := shapes[r.IntN(len(shapes))]
		dt := dts[r.IntN(len(dts))]
		x := newTensor(dt, s...)
		switch d := x.Data.(type) {
		case []float32:
			for i := range d {
				d[i] = float32(r.NormFloat64() * 3)
			}
		case []int64:
			for i := range d {
				d[i] = int64(r.IntN(7) - 3)
			}
		case []bool:
			for i := range d {
				d[i] = r.IntN(2) == 0
			}
		}
		return x
	}
	seen := map[string]int{}
	for _, im := range Registered() {
		if leadOwned[im.Op] || im.Name == "int8-ref" {
			continue
		}
		for trial := 0; trial < 300; trial++ {
			nin := r.IntN(5)
			n := mk(im.Op, nin, 1+r.IntN(3))
			n.Domain = im.Domain
			if r.IntN(2) == 0 {
				n.SetAttr(graph.AttrI("axis", int64(r.IntN(5)-2)))
			}
			ri := func() int64 { return int64(r.IntN(5) - 1) }
			cands := []*graph.Attr{
				graph.IntsAttr("axes", ri()), graph.IntsAttr("perm", ri(), ri()), graph.IntsAttr("kernel_shape", ri(), ri()),
				graph.IntsAttr("pads", ri(), ri(), ri(), ri()), graph.IntsAttr("strides", ri()), graph.AttrI("keepdims", ri()),
				graph.AttrI("to", int64(r.IntN(27))), graph.AttrI("blocksize", ri()), graph.AttrI("k", ri()),
				graph.IntsAttr("dilations", ri(), ri()), graph.AttrI("group", ri()), graph.AttrI("hidden_size", ri()),
				graph.AttrI("num_outputs", ri()), graph.IntsAttr("split", ri(), ri()), graph.AttrI("batch_dims", ri()),
				graph.AttrS("mode", []string{"linear", "nearest", "cubic", "reflect", "edge", "DCR", "CRD"}[r.IntN(7)]),
				graph.AttrI("q_num_heads", ri()), graph.AttrI("kv_num_heads", ri()), graph.AttrS("equation", []string{"ij,jk->ik", "...i", "i,i", "ii->i"}[r.IntN(4)]),
			}
			for _, a := range cands {
				if r.IntN(4) == 0 {
					n.SetAttr(a)
				}
			}
			in := make([]Value, nin)
			for i := range in {
				in[i] = mkT()
			}
			func() {
				defer func() {
					if p := recover(); p != nil {
						st := string(debug.Stack())
						site := ""
						for _, l := range strings.Split(st, "\n") {
							if strings.Contains(l, "impl/ops/") && !strings.Contains(l, "_test.go") && strings.Contains(l, ".go:") {
								site = strings.TrimSpace(l)
								break
							}
						}
						key := im.Op + " " + site
						if seen[key] == 0 {
							t.Errorf("%s/%s panicked: %v at %s (inputs %v)", im.Domain, im.Op, p, site, in)
						}
						seen[key]++
					}
				}()
				info := &BuildInfo{Node: n, Opset: 21, Const: make([]*tensor.Tensor, nin), InTypes: make([]graph.Type, nin)}
				k, err := im.Build(info)
				if err != nil {
					return
				}
				_, _ = k.Run(&Ctx{Context: context.Background(), Threads: 1}, in)
			}()
		}
	}
}
