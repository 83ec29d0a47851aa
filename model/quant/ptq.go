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
			if !g.IsGraphOutput(out) {
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

// CalibrationTargets lists the values whose ranges Quantize needs.
func CalibrationTargets(m *graph.Model) []string {
	return makePlan(m.Graph).needs
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
	// Weights and biases.
	var extra []*graph.Node
	dqOf := map[string]string{}
	for _, n := range g.Nodes {
		if !p.quantOps[n] {
			continue
		}
		axis, _ := weightAxis(n)
		wName := n.Inputs[1]
		w := g.Initializers[wName]
		sum.WeightsBytes[0] += w.Bytes()
		wq, ws := quantizeWeight(w, axis, cfg.PerChannel)
		sum.WeightsBytes[1] += wq.Bytes() + ws.Bytes()
		qn := wName + "_quantized"
		g.AddInitializer(qn, wq)
		g.AddInitializer(wName+"_scale", ws)
		wdq := wName + "_dequantized"
		dn := &graph.Node{Name: wdq, OpType: "DequantizeLinear", Inputs: []string{qn, wName + "_scale"}, Outputs: []string{wdq}, Attrs: map[string]*graph.Attr{}}
		if ws.Len() > 1 {
			dn.SetAttr(graph.AttrI("axis", int64(axis)))
		}
		extra = append(extra, dn)
		n.Inputs[1] = wdq
		g.RemoveInitializer(wName)
		if b := n.Input(2); b != "" && axis == 0 {
			bt := g.Initializers[b]
			sx := g.Initializers[params[n.Inputs[0]].scale].F32()[0]
			bq, bs := quantizeBias(bt, sx, ws.F32())
			sum.WeightsBytes[0] += bt.Bytes()
			sum.WeightsBytes[1] += bq.Bytes() + bs.Bytes()
			g.AddInitializer(b+"_quantized", bq)
			g.AddInitializer(b+"_scale", bs)
			bdq := b + "_dequantized"
			bn := &graph.Node{Name: bdq, OpType: "DequantizeLinear", Inputs: []string{b + "_quantized", b + "_scale"}, Outputs: []string{bdq}, Attrs: map[string]*graph.Attr{}}
			if bs.Len() > 1 {
				bn.SetAttr(graph.AttrI("axis", 0))
			}
			extra = append(extra, bn)
			n.Inputs[2] = bdq
			g.RemoveInitializer(b)
		}
		sum.Layers++
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
