package passes

import (
	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// channelsLastMaxPixels is the largest output map (OH*OW) a convolution
// may have to run channels-last: MobileNetV2's 28x28, 14x14 and 7x7
// stages, where channels (32 to 1280) fill the vector lanes far better
// than 784, 196 or 49 pixels. Measured on MobileNetV2 at 2 threads: with
// 64 (7x7 only) the tail from features.14 on went 544 -> 503-520 us
// (per-node profile, min of 3 alternating runs); with 196 the part from
// features.7 on went a further 1301 -> 1169 us (the 14x14 projections
// 35 -> 23 us each, while the 14x14 depthwise convs lost 2-5 us); with
// 784 the whole model went 1.756 -> 1.736 ms (best of 6 alternating runs
// of 300, 5 of the 6 pairs faster), though features.4's projection, which
// reads its planar 28x28 input transposed, lost 6 us.
var channelsLastMaxPixels = 784

// ChannelsLast runs the small-map tail of a convolutional network in
// channels-last layout (NHWC): float32 1x1 convolutions (Conv or
// FusedConv; group 1, stride 1, no padding, constant weights) and
// depthwise convolutions (group == channels, constant weights) whose
// output maps have at most channelsLastMaxPixels pixels and whose channel
// counts are multiples of 16, and the GlobalAveragePool that ends them.
// Such a node becomes ai.frugal:ConvNHWC (the same inputs and attributes
// plus x_layout, the layout of X: a 1x1 convolution may read an NCHW X,
// transposed as it packs) or ai.frugal:GlobalAveragePoolNHWC, and its
// output is NHWC ([N, OH, OW, C]).
//
// Why: in NCHW each turned-around pointwise convolution transposes its
// output back, the next one packs it transposed again, and the depthwise
// kernels compute 7 outputs per vector. Channels-last, a pointwise
// convolution is one GEMM out[HW, Cout] = x[HW, Cin] x W^T reading x in
// place, and a depthwise one is 16 channels per vector.
//
// A node converts only when everything around it can: each NHWC value
// must be read only by converted nodes (never a graph output), a
// depthwise convolution and the pool need an NHWC input, and a residual
// addend (FusedConv's Z) must be NHWC too. The candidates are pruned to a
// fixed point. Shapes come from value_info or shape inference; unknown
// shapes are left alone.
func ChannelsLast(g *graph.Graph) (int, error) {
	types, err := graph.InferShapes(g, nil, nil)
	if err != nil {
		return 0, nil
	}
	prod := g.Producers()
	cons := g.Consumers()
	isInput := graphInputs(g)
	isOutput := map[string]bool{}
	for _, o := range g.Outputs {
		isOutput[o.Name] = true
	}
	constW := func(name string) *tensor.Tensor {
		if name == "" || isInput[name] {
			return nil
		}
		if t := g.Initializers[name]; t != nil && t.DType == tensor.Float32 && t.Rank() == 4 {
			return t
		}
		return nil
	}
	type role int
	const (
		pointwise role = iota + 1
		depthwise
		pool
	)
	cand := map[*graph.Node]role{}
	for _, n := range g.Nodes {
		if len(n.Outputs) != 1 || len(n.Inputs) < 1 {
			continue
		}
		if n.OpType == "GlobalAveragePool" && defaultDomain(n) {
			if xs, ok := types[n.Inputs[0]].Known(); ok && len(xs) == 4 && xs[0] == 1 && xs[1]%16 == 0 && types[n.Inputs[0]].DType == tensor.Float32 {
				cand[n] = pool
			}
			continue
		}
		fused := n.OpType == "FusedConv" && n.Domain == "ai.frugal"
		if !(n.OpType == "Conv" && defaultDomain(n)) && !fused {
			continue
		}
		w := constW(n.Input(1))
		xs, ok := types[n.Inputs[0]].Known()
		ys, ok2 := types[n.Outputs[0]].Known()
		if w == nil || !ok || !ok2 || len(xs) != 4 || len(ys) != 4 || xs[0] != 1 || types[n.Inputs[0]].DType != tensor.Float32 {
			continue
		}
		if bn := n.Input(2); bn != "" {
			if b := g.Initializers[bn]; b == nil || b.DType != tensor.Float32 || isInput[bn] {
				continue // a bias that is not a float32 constant
			}
		}
		if !validActivation(n) || ys[2]*ys[3] > channelsLastMaxPixels || ys[1]%16 != 0 {
			continue
		}
		p, err := graph.ReadConvParams(n, xs, w.Shape[2:])
		if err != nil || !allEq(p.Dilations, 1) {
			continue
		}
		switch {
		case p.Group == 1 && w.Shape[2] == 1 && w.Shape[3] == 1 && allEq(p.Strides, 1) && allEq(p.Pads, 0) && ys[2]*ys[3] >= 16:
			if fused {
				zs, ok := types[n.Input(3)].Known()
				if !ok || len(zs) != 4 || zs[0] != ys[0] || zs[1] != ys[1] || zs[2] != ys[2] || zs[3] != ys[3] {
					continue // a broadcasting addend
				}
			}
			cand[n] = pointwise
		case !fused && p.Group == xs[1] && w.Shape[0] == xs[1] && w.Shape[1] == 1 && xs[1]%16 == 0:
			cand[n] = depthwise
		}
	}
	// Prune to a fixed point.
	nhwc := func(v string) bool { // is value v produced NHWC?
		p := prod[v]
		if p == nil {
			return false
		}
		r, ok := cand[p]
		return ok && r != pool
	}
	for changed := true; changed; {
		changed = false
		for n, r := range cand {
			ok := true
			if r != pool {
				out := n.Outputs[0]
				if isOutput[out] {
					ok = false
				}
				for _, c := range cons[out] {
					if _, in := cand[c]; !in {
						ok = false
					}
					// An NHWC value may be a consumer's X or residual only.
					for i, v := range c.Inputs {
						if v == out && i != 0 && i != 3 {
							ok = false
						}
					}
				}
			}
			switch r {
			case depthwise, pool:
				ok = ok && nhwc(n.Inputs[0])
			case pointwise:
				if z := n.Input(3); z != "" && !nhwc(z) {
					ok = false
				}
			}
			if !ok {
				delete(cand, n)
				changed = true
			}
		}
	}
	count := 0
	for n, r := range cand {
		layout := "NCHW"
		if nhwc(n.Inputs[0]) {
			layout = "NHWC"
		}
		if r == pool {
			n.OpType, n.Domain = "GlobalAveragePoolNHWC", "ai.frugal"
		} else {
			n.OpType, n.Domain = "ConvNHWC", "ai.frugal"
			n.SetAttr(graph.AttrS("x_layout", layout))
			delete(g.ValueInfo, n.Outputs[0]) // its declared NCHW shape no longer holds
		}
		count++
	}
	return count, nil
}
