// Package quant holds model-level quantization passes. ptq.go is static
// post-training quantization to int8 in the QDQ format: weights symmetric
// per output channel, activations asymmetric uint8 per tensor with ranges
// calibrated by min-max on sample data. The result is standard ONNX that
// other runtimes load; frugal's runtime fuses the QDQ patterns into int8 x
// int8 -> int32 kernels (impl/passes.FuseQDQ).
package quant

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/arith/intq"
	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Range is an observed value range.
type Range struct{ Min, Max float32 }

// Observer accumulates min-max ranges of named values over calibration
// batches.
type Observer struct {
	Ranges map[string]Range
	want   map[string]bool
}

// NewObserver watches the given value names.
func NewObserver(names []string) *Observer {
	o := &Observer{Ranges: map[string]Range{}, want: map[string]bool{}}
	for _, n := range names {
		o.want[n] = true
	}
	return o
}

// Observe folds one batch's values (name -> tensor) into the ranges.
func (o *Observer) Observe(vals map[string]any) {
	for name := range o.want {
		t, ok := vals[name].(*tensor.Tensor)
		if !ok || t.DType != tensor.Float32 || t.Len() == 0 {
			continue
		}
		r, seen := o.Ranges[name]
		if !seen {
			r = Range{Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
		}
		for _, v := range t.F32() {
			if v < r.Min {
				r.Min = v
			}
			if v > r.Max {
				r.Max = v
			}
		}
		o.Ranges[name] = r
	}
}

// Config selects the quantization scheme.
type Config struct {
	// PerChannel quantizes weights with one scale per output channel
	// (default true through DefaultConfig); otherwise one per tensor.
	PerChannel bool
}

// DefaultConfig is int8 per-channel symmetric weights, uint8 activations.
func DefaultConfig() Config { return Config{PerChannel: true} }

type plan struct {
	quantOps map[*graph.Node]bool // Conv/Gemm/MatMul with constant weights
	qdq      []string             // values that get a Q/DQ pair, in order
	shareOf  map[string]string    // pass-through output -> input whose params it shares
	needs    []string             // values whose ranges must be calibrated
}

func weightAxis(n *graph.Node) (int, bool) {
	switch n.OpType {
	case "Conv":
		return 0, true
	case "Gemm":
		if ta, _ := n.Int("transA", 0); ta != 0 {
			return 0, false
		}
		if tb, _ := n.Int("transB", 0); tb != 0 {
			return 0, true
		}
		return 1, true
	case "MatMul":
		return 1, true
	}
	return 0, false
}

func makePlan(g *graph.Graph) *plan {
	p := &plan{quantOps: map[*graph.Node]bool{}, shareOf: map[string]string{}}
	cons := g.Consumers()
	has := map[string]bool{}
	add := func(v string, needRange bool) {
		if has[v] || v == "" {
			return
		}
		has[v] = true
		p.qdq = append(p.qdq, v)
		if needRange {
			p.needs = append(p.needs, v)
		}
	}
	for _, n := range g.Nodes {
		if n.Domain != "" {
			continue
		}
		if _, ok := weightAxis(n); ok && len(n.Inputs) >= 2 {
			w := g.Initializers[n.Inputs[1]]
			if w == nil || w.DType != tensor.Float32 || (n.OpType == "MatMul" && w.Rank() != 2) {
				continue
			}
			if b := n.Input(2); b != "" {
				if bt := g.Initializers[b]; bt == nil || bt.DType != tensor.Float32 {
					continue
				}
			}
			p.quantOps[n] = true
			add(n.Inputs[0], p.shareOf[n.Inputs[0]] == "")
			out := n.Outputs[0]
			// A following Relu or Clip (ReLU6) is quantized at its output
			// only, so that the runtime fuses Conv+activation+Q into one
			// int8 kernel (a Q/DQ pair between them would block that).
			if r := cons[out]; len(r) == 1 && (r[0].OpType == "Relu" || r[0].OpType == "Clip") && r[0].Domain == "" && !g.IsGraphOutput(out) {
				out = r[0].Outputs[0]
			}
			if !endsInOutput(g, cons, out) {
				add(out, true)
			}
			continue
		}
		switch n.OpType {
		case "MaxPool", "Flatten", "Reshape":
			in := n.Input(0)
			if has[in] && (len(n.Outputs) == 1 || n.Outputs[1] == "") && !g.IsGraphOutput(n.Outputs[0]) {
				src := in
				if s := p.shareOf[in]; s != "" {
					src = s
				}
				p.shareOf[n.Outputs[0]] = src
				add(n.Outputs[0], false)
			}
		}
	}
	// Values whose range is shared are calibrated through their source.
	return p
}

// endsInOutput reports a layer output that is a graph output, or reaches
// one only through an Add of a constant (a MatMul's bias, as PyTorch exports
// nn.Linear on 3-D inputs): such an output stays float, as the int8 kernels
// can produce (logits keep their precision instead of 256 levels).
func endsInOutput(g *graph.Graph, cons map[string][]*graph.Node, v string) bool {
	if g.IsGraphOutput(v) {
		return true
	}
	c := cons[v]
	if len(c) != 1 || c[0].OpType != "Add" || c[0].Domain != "" || len(c[0].Inputs) != 2 || !g.IsGraphOutput(c[0].Outputs[0]) {
		return false
	}
	other := c[0].Inputs[0]
	if other == v {
		other = c[0].Inputs[1]
	}
	t := g.Initializers[other]
	return t != nil && t.DType == tensor.Float32
}

// inlineConstantIdentities replaces Identity nodes that copy an initializer
// by an initializer of the output's name (sharing the tensor). PyTorch's
// exporter writes equal parameters once and the others as Identity of it
// (two zero biases, two LayerNorm weights of ones): without this, a layer
// whose weight or bias arrives through an Identity would not count as
// having constant weights and would stay float.
func inlineConstantIdentities(g *graph.Graph) {
	isInput := map[string]bool{}
	for _, in := range g.Inputs {
		isInput[in.Name] = true
	}
	keep := g.Nodes[:0:0]
	for _, n := range g.Nodes {
		if n.OpType == "Identity" && n.Domain == "" && len(n.Inputs) == 1 && len(n.Outputs) == 1 && !isInput[n.Inputs[0]] && !g.IsGraphOutput(n.Outputs[0]) {
			if t := g.Initializers[n.Inputs[0]]; t != nil {
				if _, taken := g.Initializers[n.Outputs[0]]; !taken {
					g.AddInitializer(n.Outputs[0], t)
					continue
				}
			}
		}
		keep = append(keep, n)
	}
	g.Nodes = keep
}

// CalibrationTargets lists the values whose ranges Quantize needs.
func CalibrationTargets(m *graph.Model) []string {
	g := m.Graph.Clone()
	inlineConstantIdentities(g)
	return makePlan(g).needs
}

// Summary describes what Quantize did.
type Summary struct {
	Layers       int // Conv/Gemm/MatMul layers quantized
	Activations  int // Q/DQ pairs inserted
	WeightsBytes [2]int64
}

// Quantize returns an int8 QDQ copy of m. ranges must cover
// CalibrationTargets(m).
func Quantize(m *graph.Model, ranges map[string]Range, cfg Config) (*graph.Model, *Summary, error) {
	g := m.Graph.Clone()
	if err := g.Validate(nil); err != nil {
		return nil, nil, err
	}
	inlineConstantIdentities(g)
	p := makePlan(g)
	for _, v := range p.needs {
		if _, ok := ranges[v]; !ok {
			return nil, nil, fmt.Errorf("quant: no calibration range for %q (run calibration over CalibrationTargets)", v)
		}
	}
	sum := &Summary{}
	// Activation quantization parameters.
	type qp struct{ scale, zp string }
	params := map[string]qp{}
	for _, v := range p.qdq {
		src := v
		if s := p.shareOf[v]; s != "" {
			src = s
		}
		if q, ok := params[src]; ok {
			params[v] = q
			continue
		}
		r := ranges[src]
		scale, zp := asymmetricU8(r.Min, r.Max)
		q := qp{scale: src + "_scale", zp: src + "_zero_point"}
		g.AddInitializer(q.scale, &tensor.Tensor{DType: tensor.Float32, Shape: []int{}, Data: []float32{scale}})
		g.AddInitializer(q.zp, &tensor.Tensor{DType: tensor.Uint8, Shape: []int{}, Data: []uint8{zp}})
		params[v] = q
		params[src] = q
	}
	// Weights and biases. A weight several layers share (tied embeddings,
	// shared parameters) is quantized once per axis; a shared bias once per
	// layer (its int32 codes depend on the layer's input scale). The float
	// originals go once nothing reads them any more.
	var extra []*graph.Node
	dqOf := map[string]string{}
	used := g.Consumers()
	replaced := map[string]bool{}
	weightDQ := map[string]string{} // weight name and axis -> its DequantizeLinear output
	for _, n := range g.Nodes {
		if !p.quantOps[n] {
			continue
		}
		axis, _ := weightAxis(n)
		wName := n.Inputs[1]
		w := g.Initializers[wName]
		key := fmt.Sprintf("%s\x00%d", wName, axis)
		wdq, done := weightDQ[key]
		wq, ws := quantizeWeight(w, axis, cfg.PerChannel)
		if !done {
			sum.WeightsBytes[0] += w.Bytes()
			sum.WeightsBytes[1] += wq.Bytes() + ws.Bytes()
			base := uniqueName(g, wName, "_quantized")
			qn := base + "_quantized"
			g.AddInitializer(qn, wq)
			g.AddInitializer(base+"_scale", ws)
			wdq = base + "_dequantized"
			dn := &graph.Node{Name: wdq, OpType: "DequantizeLinear", Inputs: []string{qn, base + "_scale"}, Outputs: []string{wdq}, Attrs: map[string]*graph.Attr{}}
			if ws.Len() > 1 {
				dn.SetAttr(graph.AttrI("axis", int64(axis)))
			}
			extra = append(extra, dn)
			weightDQ[key] = wdq
		}
		n.Inputs[1] = wdq
		replaced[wName] = true
		if b := n.Input(2); b != "" && axis == 0 {
			bt := g.Initializers[b]
			sx := g.Initializers[params[n.Inputs[0]].scale].F32()[0]
			bq, bs := quantizeBias(bt, sx, ws.F32())
			sum.WeightsBytes[0] += bt.Bytes()
			sum.WeightsBytes[1] += bq.Bytes() + bs.Bytes()
			base := b
			if len(used[b]) > 1 {
				base = b + "_" + n.Outputs[0]
			}
			base = uniqueName(g, base, "_quantized")
			g.AddInitializer(base+"_quantized", bq)
			g.AddInitializer(base+"_scale", bs)
			bdq := base + "_dequantized"
			bn := &graph.Node{Name: bdq, OpType: "DequantizeLinear", Inputs: []string{base + "_quantized", base + "_scale"}, Outputs: []string{bdq}, Attrs: map[string]*graph.Attr{}}
			if bs.Len() > 1 {
				bn.SetAttr(graph.AttrI("axis", 0))
			}
			extra = append(extra, bn)
			n.Inputs[2] = bdq
			replaced[b] = true
		}
		sum.Layers++
	}
	still := g.Consumers()
	for name := range replaced {
		if len(still[name]) == 0 && !g.IsGraphOutput(name) {
			g.RemoveInitializer(name)
		}
	}
	// Activation Q/DQ pairs, rewiring consumers to the DQ output.
	cons := g.Consumers()
	for _, v := range p.qdq {
		q := params[v]
		qv, dv := v+"_quantized", v+"_dequantized"
		extra = append(extra,
			&graph.Node{Name: qv, OpType: "QuantizeLinear", Inputs: []string{v, q.scale, q.zp}, Outputs: []string{qv}, Attrs: map[string]*graph.Attr{}},
			&graph.Node{Name: dv, OpType: "DequantizeLinear", Inputs: []string{qv, q.scale, q.zp}, Outputs: []string{dv}, Attrs: map[string]*graph.Attr{}})
		dqOf[v] = dv
		for _, c := range cons[v] {
			for i, in := range c.Inputs {
				if in == v {
					c.Inputs[i] = dv
				}
			}
		}
		sum.Activations++
	}
	g.Nodes = append(g.Nodes, extra...)
	if err := g.TopoSort(nil); err != nil {
		return nil, nil, fmt.Errorf("quant: %w", err)
	}
	out := *m
	out.Graph = g
	out.Opsets = withOpset(m.Opsets, 13)
	return &out, sum, nil
}

// uniqueName returns base, or base with a numeric suffix, such that
// base+suffix names no initializer yet.
func uniqueName(g *graph.Graph, base, suffix string) string {
	name := base
	for i := 2; ; i++ {
		if _, ok := g.Initializers[name+suffix]; !ok {
			return name
		}
		name = fmt.Sprintf("%s_%d", base, i)
	}
}

// withOpset raises the default-domain opset to at least v (per-axis
// QuantizeLinear/DequantizeLinear need 13).
func withOpset(in []graph.OpsetImport, v int64) []graph.OpsetImport {
	out := append([]graph.OpsetImport(nil), in...)
	for i, o := range out {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			if o.Version < v {
				out[i].Version = v
			}
			return out
		}
	}
	return append(out, graph.OpsetImport{Version: v})
}

// asymmetricU8 picks scale and zero point so [min(lo,0), max(hi,0)] maps onto
// 0..255 and real zero is exactly representable (arith/intq's rule).
func asymmetricU8(lo, hi float32) (float32, uint8) {
	scale, zp := intq.ChooseParams(lo, hi, 8, false)
	return scale, uint8(zp)
}

// quantizeWeight quantizes symmetric int8 ([-127, 127]) per channel along
// axis (or per tensor), returning the int8 tensor and its scales.
func quantizeWeight(w *tensor.Tensor, axis int, perChannel bool) (*tensor.Tensor, *tensor.Tensor) {
	outer := tensor.NumElems(w.Shape[:axis])
	dim := w.Shape[axis]
	inner := tensor.NumElems(w.Shape[axis+1:])
	nch := dim
	if !perChannel {
		nch = 1
	}
	amax := make([]float64, nch)
	wd := w.F32()
	ch := func(i int) int {
		if !perChannel {
			return 0
		}
		return (i / inner) % dim
	}
	for i, v := range wd {
		c := ch(i)
		amax[c] = math.Max(amax[c], math.Abs(float64(v)))
	}
	_ = outer
	scales := make([]float32, nch)
	for c, a := range amax {
		if a == 0 {
			scales[c] = 1
		} else {
			scales[c] = float32(a / 127)
		}
	}
	q := tensor.New(tensor.Int8, w.Shape...)
	qd := q.I8()
	for i, v := range wd {
		r := math.RoundToEven(float64(v / scales[ch(i)]))
		qd[i] = int8(math.Max(-127, math.Min(127, r)))
	}
	var st *tensor.Tensor
	if perChannel {
		st = tensor.MustFromSlice(scales, nch)
	} else {
		st = &tensor.Tensor{DType: tensor.Float32, Shape: []int{}, Data: scales}
	}
	return q, st
}

// quantizeBias stores a bias as int32 at scale sx*sw[c] (the accumulator's
// scale), so it adds into the int32 accumulator exactly.
func quantizeBias(b *tensor.Tensor, sx float32, sw []float32) (*tensor.Tensor, *tensor.Tensor) {
	codes, scales := intq.QuantizeBias(b.F32(), sx, sw)
	q := tensor.MustFromSlice(codes, len(codes))
	if len(sw) == 1 {
		return q, &tensor.Tensor{DType: tensor.Float32, Shape: []int{}, Data: []float32{scales[0]}}
	}
	return q, tensor.MustFromSlice(scales, len(scales))
}
