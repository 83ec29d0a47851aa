package passes

import (
	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// pwdwMinBytes is the size of the expanded intermediate (one image, C x H
// x W float32 values) above which fuse-pw-dw fuses. Measured in
// MobileNetV2 at batch 1, 2 threads (per-node profile, ms): 16->96 at
// 112x112 (4.8 MB) 0.215 -> 0.195; but 24->144 at 56x56 (1.8 MB) stride 1
// 0.109 -> 0.135 and stride 2 0.087 -> 0.089, and 32->192 at 28x28 (0.6
// MB) no better: only the largest intermediates pay for the strips' halo
// and smaller GEMMs.
var pwdwMinBytes = 2 << 20

// FusePwDw turns a float32 1x1 Conv A (group 1, stride 1, no padding,
// constant weights, optional constant bias and fused activation) whose
// output feeds only a depthwise 3x3 Conv B (group == channels == A's
// output channels, constant weights [C,1,3,3], stride 1 or 2 in both
// directions, dilation 1, padding 1 on every side, optional constant bias
// and fused activation) into one ai.frugal:FusedPwDw(x, wA, bA, wB, bB)
// node: the expand and depthwise halves of a MobileNetV2 inverted-residual
// block. The kernel (impl/ops conv_pwdw.go) computes the output in
// horizontal strips, so that the expanded intermediate never goes to
// memory. It fuses only when that intermediate is known to be larger than
// pwdwMinBytes per image (shapes from value_info or shape inference;
// unknown shapes are left alone).
//
// Attributes: A's activation as pw_activation, pw_activation_min,
// pw_activation_max; B's as activation, activation_min, activation_max;
// B's window as dw_strides [sh, sw] and dw_pads [top, left, bottom, right].
func FusePwDw(g *graph.Graph) (int, error) {
	types, err := graph.InferShapes(g, nil, nil)
	if err != nil {
		return 0, nil // shapes unknown: leave the graph as it is
	}
	prod := g.Producers()
	cons := g.Consumers()
	isInput := graphInputs(g)
	constF32 := func(name string) *tensor.Tensor {
		if name == "" || isInput[name] {
			return nil
		}
		if t := g.Initializers[name]; t != nil && t.DType == tensor.Float32 {
			return t
		}
		return nil
	}
	// optBias is a constant bias of c values, or ok with none.
	optBias := func(name string, c int) bool {
		if name == "" {
			return true
		}
		b := constF32(name)
		return b != nil && b.Len() == c
	}
	n := 0
	for _, b := range append([]*graph.Node{}, g.Nodes...) {
		if b.OpType != "Conv" || !defaultDomain(b) || len(b.Inputs) < 2 || len(b.Outputs) != 1 {
			continue
		}
		mid := b.Inputs[0]
		a := prod[mid]
		if a == nil || a.OpType != "Conv" || !defaultDomain(a) || len(a.Inputs) < 2 || len(a.Outputs) != 1 {
			continue
		}
		if len(cons[mid]) != 1 || g.IsGraphOutput(mid) {
			continue
		}
		wa, wb := constF32(a.Input(1)), constF32(b.Input(1))
		if wa == nil || wb == nil || wa.Rank() != 4 || wb.Rank() != 4 {
			continue
		}
		c := wa.Shape[0]
		if wa.Shape[2] != 1 || wa.Shape[3] != 1 || wb.Shape[0] != c || wb.Shape[1] != 1 || wb.Shape[2] != 3 || wb.Shape[3] != 3 {
			continue
		}
		if !optBias(a.Input(2), c) || !optBias(b.Input(2), c) {
			continue
		}
		xs, ok := types[a.Inputs[0]].Known()
		if !ok || len(xs) != 4 || types[a.Inputs[0]].DType != tensor.Float32 || xs[1] != wa.Shape[1] {
			continue
		}
		if c*xs[2]*xs[3]*4 <= pwdwMinBytes {
			continue
		}
		pa, err := graph.ReadConvParams(a, xs, []int{1, 1})
		if err != nil || pa.Group != 1 || !allEq(pa.Strides, 1) || !allEq(pa.Pads, 0) {
			continue
		}
		ms := []int{xs[0], c, xs[2], xs[3]}
		pb, err := graph.ReadConvParams(b, ms, []int{3, 3})
		if err != nil || pb.Group != c || !allEq(pb.Dilations, 1) || !allEq(pb.Pads, 1) ||
			pb.Strides[0] != pb.Strides[1] || (pb.Strides[0] != 1 && pb.Strides[0] != 2) {
			continue
		}
		if !validActivation(a) || !validActivation(b) {
			continue
		}
		fused := &graph.Node{
			Name: a.Name + "+" + b.Name, OpType: "FusedPwDw", Domain: "ai.frugal",
			Inputs:  []string{a.Inputs[0], a.Input(1), a.Input(2), b.Input(1), b.Input(2)},
			Outputs: []string{b.Outputs[0]},
			Attrs:   map[string]*graph.Attr{},
		}
		for _, k := range []string{"activation", "activation_min", "activation_max"} {
			if at := a.Attrs[k]; at != nil {
				cp := *at
				cp.Name = "pw_" + k
				fused.SetAttr(&cp)
			}
			if at := b.Attrs[k]; at != nil {
				cp := *at
				fused.SetAttr(&cp)
			}
		}
		fused.SetAttr(graph.IntsAttr("dw_strides", int64(pb.Strides[0]), int64(pb.Strides[1])))
		fused.SetAttr(graph.IntsAttr("dw_pads", int64(pb.Pads[0]), int64(pb.Pads[1]), int64(pb.Pads[2]), int64(pb.Pads[3])))
		for i, m := range g.Nodes {
			if m == b {
				g.Nodes[i] = fused
			}
		}
		removeNode(g, a)
		n++
		prod = g.Producers()
		cons = g.Consumers()
	}
	return n, nil
}

// validActivation accepts a Conv with no fused activation or one
// fuse-activation wrote (Relu, Clip).
func validActivation(n *graph.Node) bool {
	k, err := n.String("activation", "")
	return err == nil && (k == "" || k == "Relu" || k == "Clip")
}

func allEq(v []int, x int) bool {
	for _, e := range v {
		if e != x {
			return false
		}
	}
	return true
}
