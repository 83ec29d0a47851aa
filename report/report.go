// Package report measures what a model costs: parameters, stored bytes,
// MACs and bit-operations, peak activation memory, latency and accuracy.
// Shapes come from one real traced run at batch 1 rather than from static
// inference, so every op the runtime can execute is accounted for.
package report

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	goruntime "runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/runtime"
	"github.com/frugal-ml/frugal/tensor"
)

// Layer is one compute node's share of the cost.
type Layer struct {
	Name   string `json:"name"`
	Op     string `json:"op"`
	MACs   int64  `json:"macs"`
	BOPs   int64  `json:"bops"`
	Out    []int  `json:"out_shape"`
	OutDT  string `json:"out_dtype"`
	Kernel string `json:"kernel,omitempty"`
}

// Report is the measured cost of one model. JSON field names are a stable
// contract (external checks read params, bytes, macs,
// peak_activation_bytes, latency_ms).
type Report struct {
	Model               string   `json:"model"`
	Params              int64    `json:"params"`
	Bytes               int64    `json:"bytes"`
	WeightBytes         int64    `json:"weight_bytes"`
	MACs                int64    `json:"macs"`
	BOPs                int64    `json:"bops"`
	PeakActivationBytes int64    `json:"peak_activation_bytes"`
	LatencyMS           float64  `json:"latency_ms"`
	LatencyP90MS        float64  `json:"latency_p90_ms"`
	LatencyRuns         int      `json:"latency_runs"`
	Threads             int      `json:"threads"`
	Accuracy            *float64 `json:"accuracy,omitempty"`
	Samples             int      `json:"samples,omitempty"`
	Layers              []Layer  `json:"layers"`
}

// Options control the measurement.
type Options struct {
	Threads int
	Warmup  int // runs before timing (default 5)
	Runs    int // timed runs (default 30)
	// FileBytes is the size of the serialized model; 0 = sum of initializers.
	FileBytes int64
	Name      string
}

// Analyze traces one batch-1 run, counts costs per layer, and times repeated
// runs.
func Analyze(m *graph.Model, opt Options) (*Report, error) {
	if opt.Warmup <= 0 {
		opt.Warmup = 5
	}
	if opt.Runs <= 0 {
		opt.Runs = 30
	}
	if opt.Threads <= 0 {
		opt.Threads = goruntime.GOMAXPROCS(0)
	}
	r := &Report{Model: opt.Name, Threads: opt.Threads}
	for _, t := range m.Graph.Initializers {
		r.Params += int64(t.Len())
		r.WeightBytes += t.Bytes()
	}
	r.Bytes = opt.FileBytes
	if r.Bytes == 0 {
		r.Bytes = r.WeightBytes
	}
	trace, err := runtime.NewSession(m, runtime.Options{Threads: opt.Threads, KeepAll: true})
	if err != nil {
		return nil, err
	}
	inputs, err := RandomInputs(trace.Inputs(), 1, 1)
	if err != nil {
		return nil, err
	}
	vals, err := trace.Trace(context.Background(), inputs)
	if err != nil {
		return nil, err
	}
	g := trace.Graph
	kern := map[string]string{}
	for _, k := range trace.Kernels() {
		if i := strings.LastIndex(k, ": "); i > 0 {
			kern[k[:i]] = k[i+2:]
		}
	}
	shapeOf := func(name string) (*tensor.Tensor, bool) {
		if t, ok := g.Initializers[name]; ok {
			return t, true
		}
		t, ok := vals[name].(*tensor.Tensor)
		return t, ok
	}
	for _, n := range g.Nodes {
		l := Layer{Name: n.Name, Op: n.OpType, Kernel: kern[n.Describe()]}
		if t, ok := shapeOf(n.Outputs[0]); ok {
			l.Out, l.OutDT = t.Shape, t.DType.String()
		}
		l.MACs, l.BOPs = nodeMACs(n, shapeOf)
		r.MACs += l.MACs
		r.BOPs += l.BOPs
		r.Layers = append(r.Layers, l)
	}
	r.PeakActivationBytes = peakActivations(g, vals)
	// Latency on a session that frees intermediates, as in production.
	s, err := runtime.NewSession(m, runtime.Options{Threads: opt.Threads})
	if err != nil {
		return nil, err
	}
	med, p90, err := Latency(s, inputs, opt.Warmup, opt.Runs)
	if err != nil {
		return nil, err
	}
	r.LatencyMS, r.LatencyP90MS, r.LatencyRuns = med, p90, opt.Runs
	return r, nil
}

// RandomInputs makes inputs of the declared shapes with symbolic dims set to
// batch (uniform [0,1) floats, zeros for integers).
func RandomInputs(ins []graph.ValueInfo, batch int, seed uint64) (map[string]any, error) {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := map[string]any{}
	for _, in := range ins {
		if in.Type.Kind != graph.KindTensor || !in.Type.HasShape {
			return nil, fmt.Errorf("input %q has no declared tensor shape; cannot make a sample input", in.Name)
		}
		shape := make([]int, len(in.Type.Shape))
		for i, d := range in.Type.Shape {
			if d.Known() {
				shape[i] = int(d.Size)
			} else {
				shape[i] = batch
			}
		}
		dt := in.Type.DType
		if dt == tensor.Undefined {
			dt = tensor.Float32
		}
		t := tensor.New(dt, shape...)
		switch dt {
		case tensor.Float32:
			for i := range t.F32() {
				t.F32()[i] = rng.Float32()
			}
		case tensor.Float64:
			for i := range t.F64() {
				t.F64()[i] = rng.Float64()
			}
		}
		out[in.Name] = t
	}
	return out, nil
}

// Latency returns the median and 90th percentile wall time in ms of runs
// after warmup runs.
func Latency(s *runtime.Session, inputs map[string]any, warmup, runs int) (float64, float64, error) {
	ctx := context.Background()
	for i := 0; i < warmup; i++ {
		if _, err := s.Run(ctx, inputs); err != nil {
			return 0, 0, err
		}
	}
	times := make([]float64, runs)
	for i := range times {
		t0 := time.Now()
		if _, err := s.Run(ctx, inputs); err != nil {
			return 0, 0, err
		}
		times[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
	}
	sort.Float64s(times)
	return times[len(times)/2], times[(len(times)*9)/10], nil
}

// nodeMACs counts multiply-accumulates of compute nodes and the
// bit-operations they imply (MACs x weight bits x activation bits).
func nodeMACs(n *graph.Node, shapeOf func(string) (*tensor.Tensor, bool)) (int64, int64) {
	out, ok := shapeOf(n.Outputs[0])
	if !ok {
		return 0, 0
	}
	wIdx := 1
	switch n.OpType {
	case "QLinearConv", "QGemm", "QLinearMatMul":
		wIdx = 3
	}
	w, okw := shapeOf(n.Input(wIdx))
	x, okx := shapeOf(n.Input(0))
	if !okw || !okx {
		return 0, 0
	}
	var macs int64
	switch n.OpType {
	case "Conv", "QLinearConv", "ConvInteger":
		// each output element sums Cin/group * prod(kernel)
		macs = int64(out.Len()) * int64(tensor.NumElems(w.Shape[1:]))
	case "Gemm", "QGemm":
		k := x.Shape[len(x.Shape)-1]
		if ta, _ := n.Int("transA", 0); ta != 0 {
			k = x.Shape[0]
		}
		macs = int64(out.Len()) * int64(k)
	case "MatMul", "QLinearMatMul", "MatMulInteger":
		macs = int64(out.Len()) * int64(x.Shape[len(x.Shape)-1])
	default:
		return 0, 0
	}
	bits := func(t *tensor.Tensor) int64 { return int64(t.DType.Bits()) }
	return macs, macs * bits(w) * bits(x)
}

// peakActivations walks the execution order, keeping each value alive from
// its producer to its last reader, and returns the largest total of live
// non-constant bytes.
func peakActivations(g *graph.Graph, vals map[string]any) int64 {
	last := map[string]int{}
	for i, n := range g.Nodes {
		for _, in := range n.Inputs {
			last[in] = i
		}
	}
	for _, o := range g.Outputs {
		last[o.Name] = len(g.Nodes)
	}
	size := func(name string) int64 {
		if _, c := g.Initializers[name]; c {
			return 0
		}
		if t, ok := vals[name].(*tensor.Tensor); ok {
			return t.Bytes()
		}
		return 0
	}
	var live, peak int64
	for _, in := range g.Inputs {
		live += size(in.Name)
	}
	peak = live
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				live += size(o)
			}
		}
		if live > peak {
			peak = live
		}
		for _, v := range append(append([]string{}, n.Inputs...), n.Outputs...) {
			if v != "" && last[v] == i {
				live -= size(v)
				last[v] = -1
			}
		}
	}
	return peak
}

// WriteTable prints the report as an aligned terminal table.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "model\t%s\n", r.Model)
	fmt.Fprintf(tw, "parameters\t%d\n", r.Params)
	fmt.Fprintf(tw, "stored bytes\t%s\n", HumanBytes(r.Bytes))
	fmt.Fprintf(tw, "MACs (batch 1)\t%s\n", HumanCount(r.MACs))
	fmt.Fprintf(tw, "BOPs (batch 1)\t%s\n", HumanCount(r.BOPs))
	fmt.Fprintf(tw, "peak activations\t%s\n", HumanBytes(r.PeakActivationBytes))
	fmt.Fprintf(tw, "latency (batch 1)\t%.3f ms median, %.3f ms p90 over %d runs, %d threads\n", r.LatencyMS, r.LatencyP90MS, r.LatencyRuns, r.Threads)
	if r.Accuracy != nil {
		fmt.Fprintf(tw, "accuracy\t%.2f%% on %d samples\n", *r.Accuracy*100, r.Samples)
	}
	tw.Flush()
}

// WriteComparison prints several reports side by side with ratios to the
// first.
func WriteComparison(w io.Writer, rs ...*Report) {
	if len(rs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "\t"
	for _, r := range rs {
		head += r.Model + "\t"
	}
	if len(rs) > 1 {
		head += "ratio\t"
	}
	fmt.Fprintln(tw, head)
	row := func(name string, f func(*Report) float64, format func(float64) string) {
		line := name + "\t"
		for _, r := range rs {
			line += format(f(r)) + "\t"
		}
		if len(rs) > 1 && f(rs[0]) != 0 {
			line += fmt.Sprintf("%.2fx\t", f(rs[len(rs)-1])/f(rs[0]))
		} else if len(rs) > 1 {
			line += "\t"
		}
		fmt.Fprintln(tw, line)
	}
	row("parameters", func(r *Report) float64 { return float64(r.Params) }, func(v float64) string { return fmt.Sprintf("%.0f", v) })
	row("stored bytes", func(r *Report) float64 { return float64(r.Bytes) }, func(v float64) string { return HumanBytes(int64(v)) })
	row("MACs", func(r *Report) float64 { return float64(r.MACs) }, func(v float64) string { return HumanCount(int64(v)) })
	row("BOPs", func(r *Report) float64 { return float64(r.BOPs) }, func(v float64) string { return HumanCount(int64(v)) })
	row("peak activations", func(r *Report) float64 { return float64(r.PeakActivationBytes) }, func(v float64) string { return HumanBytes(int64(v)) })
	row("latency ms (b=1)", func(r *Report) float64 { return r.LatencyMS }, func(v float64) string { return fmt.Sprintf("%.3f", v) })
	if rs[0].Accuracy != nil {
		row("accuracy %", func(r *Report) float64 {
			if r.Accuracy == nil {
				return 0
			}
			return *r.Accuracy * 100
		}, func(v float64) string { return fmt.Sprintf("%.2f", v) })
	}
	tw.Flush()
}

// HumanBytes formats a byte count.
func HumanBytes(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

// HumanCount formats a large count with an SI suffix.
func HumanCount(n int64) string {
	switch {
	case n >= 1e12:
		return fmt.Sprintf("%.2fT", float64(n)/1e12)
	case n >= 1e9:
		return fmt.Sprintf("%.2fG", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprintf("%d", n)
}
