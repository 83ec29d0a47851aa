package ops

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Gemm with constant B packs it once at build; the result must equal the
// unpacked path for every C shape, beta, transB and fused activation.
func TestGemmPackedConstB(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const m, k, n = 7, 37, 45
	for _, tb := range []int64{0, 1} {
		for _, cshape := range [][]int{nil, {n}, {1, n}, {m, n}, {m, 1}, {}} {
			for _, beta := range []float32{1, 0.5, 0} {
				for _, act := range []string{"", "Relu"} {
					a := randT(r, m, k)
					bm := randT(r, k, n)
					if tb == 1 {
						bm = randT(r, n, k)
					}
					nd := node("Gemm", 2, graph.AttrI("transB", tb), graph.AttrF("beta", beta))
					in := []Value{a, bm}
					if cshape != nil {
						nd.Inputs = append(nd.Inputs, "c")
						in = append(in, randT(r, cshape...))
					}
					if act != "" {
						nd.SetAttr(graph.AttrS("activation", act))
					}
					var outs [2]*tensor.Tensor
					for i, constant := range []bool{false, true} {
						info := &BuildInfo{Node: nd, Opset: 13, Const: make([]*tensor.Tensor, len(in)), InTypes: make([]graph.Type, len(in))}
						if constant {
							info.Const[1] = bm
						}
						kern, _, err := Build(info)
						if err != nil {
							t.Fatal(err)
						}
						o, err := kern.Run(&Ctx{Context: context.Background(), Threads: 2}, in)
						if err != nil {
							t.Fatal(err)
						}
						outs[i] = o[0].(*tensor.Tensor)
					}
					closeF32(t, "packed Gemm", outs[1].F32(), outs[0].F32(), 1e-5)
				}
			}
		}
	}
}
