package autograd

import (
	"context"
	"fmt"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/tensor"
)

// Options tune Compile.
type Options struct {
	// Params selects the trainable initializers by name. nil selects every
	// float32 initializer that feeds a differentiable input (so not
	// BatchNormalization running statistics; see RegisterNonDiff).
	Params func(name string) bool
	// InputGrads lists graph inputs whose gradient Backward should also
	// compute (e.g. for gradient checks or saliency).
	InputGrads []string
	// NoFuse keeps Conv/Gemm -> Relu pairs apart. By default they are fused
	// (the ReLU runs in the GEMM epilogue), and the pre-activation value is
	// then not observable through Value or Grad.
	NoFuse bool
	// Keep lists values that must stay observable (not fused away).
	Keep []string
	// Hooks change the numbers a step computes with (precision emulation).
	Hooks *Hooks
	// BF16GEMM runs the GEMMs of Conv, Gemm and MatMul (forward and
	// backward) on operands rounded to bfloat16 with float32 accumulation:
	// impl/gemm's VDPBF16PS kernel where the CPU has AVX512_BF16, else the
	// same products widened to float32. GEMMs with alpha != 1 stay fp32.
	BF16GEMM bool
}

// Hooks let a precision policy round the tensors of a step. Each hook gets
// the value's name; nil hooks are skipped. Gradients pass the rounding
// unchanged (straight-through estimator).
type Hooks struct {
	// Weight writes the tensor the forward uses for parameter name into
	// dst, computed from the (master) weights; e.g. fake quantization.
	Weight func(name string, master, dst []float32)
	// Activation rounds a node output in place, right after the node runs
	// (outputs that are views of an input are skipped).
	Activation func(name string, x []float32)
	// Gradient rounds a value's gradient in place once it is complete,
	// before it propagates further, and each parameter's gradient at the
	// end of Backward.
	Gradient func(name string, g []float32)
}

type pstep struct {
	node     *graph.Node
	k        Kernel
	in, out  []int // slots, -1 when absent
	needBack bool  // some input needs a gradient
	inT      []*tensor.Tensor
	outT     []*tensor.Tensor
	gout     []*tensor.Tensor
	gin      []*tensor.Tensor
}

// Program is a graph compiled for training. It is not safe for concurrent
// use; compile one per goroutine.
type Program struct {
	Model *graph.Model
	// Graph is the program's own (topologically sorted) copy of the model's
	// graph structure; initializers are read from the model's graph at
	// every Forward, so replacing or updating them takes effect.
	Graph *graph.Graph

	steps    []pstep
	slots    map[string]int
	names    []string
	vals     []*tensor.Tensor
	grads    []buf
	hasGrad  []bool
	needGrad []bool
	inits    []int // slots of initializers
	inputs   []int // slots of fed graph inputs
	params   []int // slots of trainable parameters
	state    map[string]*tensor.Tensor
	hooks    *Hooks
	wq       []buf // per slot: rounded weights the forward uses
}

// Compile prepares m for training. Every node whose inputs need a gradient
// must have a registered gradient; other nodes may run on inference
// kernels.
func Compile(m *graph.Model, opts Options) (*Program, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("autograd: model has no graph")
	}
	g := m.Graph.Clone()
	if err := g.Validate(nil); err != nil {
		return nil, fmt.Errorf("autograd: %w", err)
	}
	if !opts.NoFuse {
		keep := map[string]bool{}
		for _, s := range opts.Keep {
			keep[s] = true
		}
		fuseActivations(g, keep)
	}
	p := &Program{Model: m, Graph: g, slots: map[string]int{}, state: map[string]*tensor.Tensor{}}
	slot := func(name string) int {
		if i, ok := p.slots[name]; ok {
			return i
		}
		i := len(p.names)
		p.slots[name] = i
		p.names = append(p.names, name)
		return i
	}
	// Initializers read only through non-differentiable inputs (batch-norm
	// running statistics, a dropout ratio) are not parameters.
	diffUse := map[string]bool{}
	for _, n := range g.Nodes {
		for i, s := range n.Inputs {
			if s != "" && !(n.Domain == "" && isNonDiff(n.OpType, i)) {
				diffUse[s] = true
			}
		}
	}
	isParam := map[string]bool{}
	for _, name := range g.InitializerNames() {
		i := slot(name)
		p.inits = append(p.inits, i)
		t := g.Initializers[name]
		if t.DType != tensor.Float32 || !diffUse[name] {
			continue
		}
		if opts.Params != nil && !opts.Params(name) {
			continue
		}
		isParam[name] = true
		p.params = append(p.params, i)
	}
	wantIn := map[string]bool{}
	for _, s := range opts.InputGrads {
		wantIn[s] = true
	}
	for _, in := range g.Inputs {
		if _, ok := g.Initializers[in.Name]; ok {
			continue
		}
		p.inputs = append(p.inputs, slot(in.Name))
		delete(wantIn, in.Name)
	}
	for s := range wantIn {
		return nil, fmt.Errorf("autograd: InputGrads names %q, which is not a graph input", s)
	}
	for _, o := range g.Outputs {
		slot(o.Name)
	}
	for _, n := range g.Nodes {
		for _, s := range append(append([]string(nil), n.Inputs...), n.Outputs...) {
			if s != "" {
				slot(s)
			}
		}
	}
	p.hooks = opts.Hooks
	p.wq = make([]buf, len(p.names))
	p.vals = make([]*tensor.Tensor, len(p.names))
	p.grads = make([]buf, len(p.names))
	p.hasGrad = make([]bool, len(p.names))
	p.needGrad = make([]bool, len(p.names))
	for _, i := range p.params {
		p.needGrad[i] = true
	}
	for _, s := range opts.InputGrads {
		p.needGrad[p.slots[s]] = true
	}
	types, err := graph.InferShapes(g, func(d string) int64 { return opsetFor(m, d) }, nil)
	if err != nil {
		return nil, fmt.Errorf("autograd: %w", err)
	}
	for _, n := range g.Nodes {
		st := pstep{node: n}
		bi := &BuildInfo{Node: n, Opset: opsetFor(m, n.Domain), BF16: opts.BF16GEMM}
		for _, in := range n.Inputs {
			if in == "" {
				st.in = append(st.in, -1)
				bi.Const = append(bi.Const, nil)
				continue
			}
			i := p.slots[in]
			st.in = append(st.in, i)
			if p.needGrad[i] {
				st.needBack = true
			}
			var c *tensor.Tensor
			if t, ok := g.Initializers[in]; ok && !isParam[in] {
				c = t
			}
			bi.Const = append(bi.Const, c)
		}
		for _, o := range n.Outputs {
			if o == "" {
				st.out = append(st.out, -1)
				continue
			}
			i := p.slots[o]
			st.out = append(st.out, i)
			if st.needBack && types[o].DType != tensor.Int64 && types[o].DType != tensor.Bool {
				p.needGrad[i] = true
			}
		}
		b, vjp := lookup(n.OpType)
		if n.Domain != "" && n.Domain != "ai.onnx" {
			b, vjp = nil, nil
		}
		switch {
		case b != nil:
			k, err := b(bi)
			if err != nil {
				return nil, fmt.Errorf("autograd: %s: %w", n.Describe(), err)
			}
			st.k = k
		default:
			if st.needBack && vjp == nil {
				return nil, fmt.Errorf("autograd: %s: no gradient is registered for %s, and its inputs need one", n.Describe(), n.OpType)
			}
			k, err := runtimeKernel(n, bi, types, vjp)
			if err != nil {
				return nil, fmt.Errorf("autograd: %w", err)
			}
			st.k = k
		}
		st.inT = make([]*tensor.Tensor, len(st.in))
		st.gin = make([]*tensor.Tensor, len(st.in))
		st.outT = make([]*tensor.Tensor, len(st.out))
		st.gout = make([]*tensor.Tensor, len(st.out))
		p.steps = append(p.steps, st)
	}
	return p, nil
}

func opsetFor(m *graph.Model, domain string) int64 {
	v := m.Opset(domain)
	if v == 0 && (domain == "" || domain == "ai.onnx") {
		return 21
	}
	return v
}

// Params returns the names of the trainable parameters in initializer order.
func (p *Program) Params() []string {
	out := make([]string, len(p.params))
	for i, s := range p.params {
		out[i] = p.names[s]
	}
	return out
}

// Inputs returns the names of the graph inputs Forward must be fed.
func (p *Program) Inputs() []string {
	out := make([]string, len(p.inputs))
	for i, s := range p.inputs {
		out[i] = p.names[s]
	}
	return out
}

// Forward runs the graph on the given inputs. Values stay available through
// Value until the next Forward.
func (p *Program) Forward(c *Ctx, inputs map[string]*tensor.Tensor) error {
	if c == nil {
		c = &Ctx{}
	}
	for i := range p.vals {
		p.vals[i] = nil
	}
	for _, s := range p.inits {
		p.vals[s] = p.Model.Graph.Initializers[p.names[s]]
		if p.vals[s] == nil {
			return fmt.Errorf("autograd: initializer %q disappeared from the model", p.names[s])
		}
	}
	if p.hooks != nil && p.hooks.Weight != nil {
		for _, s := range p.params {
			w := p.vals[s]
			q := p.wq[s].get(w.Shape...)
			p.hooks.Weight(p.names[s], w.F32(), q.F32())
			p.vals[s] = q
		}
	}
	for _, s := range p.inputs {
		t, ok := inputs[p.names[s]]
		if !ok || t == nil {
			return fmt.Errorf("autograd: graph input %q was not provided", p.names[s])
		}
		p.vals[s] = t
	}
	for k := range p.state {
		delete(p.state, k)
	}
	for si := range p.steps {
		st := &p.steps[si]
		for i, s := range st.in {
			if s < 0 {
				st.inT[i] = nil
			} else {
				st.inT[i] = p.vals[s]
			}
		}
		out, err := st.k.Forward(c, st.inT)
		if err != nil {
			return err
		}
		for j, s := range st.out {
			if s < 0 {
				continue
			}
			if j >= len(out) || out[j] == nil {
				return fmt.Errorf("autograd: %s produced no output %d", st.node.Describe(), j)
			}
			p.vals[s] = out[j]
			if p.hooks != nil && p.hooks.Activation != nil && out[j].DType == tensor.Float32 && !isView(out[j], st.inT) {
				p.hooks.Activation(p.names[s], out[j].F32())
			}
		}
		if c.Training {
			if su, ok := st.k.(StateUpdater); ok {
				for i, t := range su.NewState() {
					if i < len(st.in) && st.in[i] >= 0 && t != nil {
						p.state[p.names[st.in[i]]] = t
					}
				}
			}
		}
	}
	return nil
}

// Value returns a value of the last Forward (nil when unknown or absent).
func (p *Program) Value(name string) *tensor.Tensor {
	if s, ok := p.slots[name]; ok {
		return p.vals[s]
	}
	return nil
}

// State returns the non-trainable state computed by the last training
// Forward (new BatchNormalization running statistics), by initializer name.
// The map and tensors are reused by the next Forward.
func (p *Program) State() map[string]*tensor.Tensor { return p.state }

// Backward propagates the seed gradients (dL/d value, by value name; each of
// the value's shape) back through the last Forward. Afterwards Grad returns
// dL/d parameter for every trainable parameter (zero when unreached).
func (p *Program) Backward(c *Ctx, seeds map[string]*tensor.Tensor) error {
	if c == nil {
		c = &Ctx{}
	}
	for i := range p.hasGrad {
		p.hasGrad[i] = false
	}
	for s, ng := range p.needGrad {
		if !ng || p.vals[s] == nil {
			continue
		}
		g := p.grads[s].get(p.vals[s].Shape...)
		zero(g.F32())
	}
	for name, t := range seeds {
		s, ok := p.slots[name]
		if !ok || p.vals[s] == nil {
			return fmt.Errorf("autograd: seed gradient for unknown value %q", name)
		}
		if !p.needGrad[s] {
			continue // no parameter depends on it
		}
		if t.DType != tensor.Float32 || t.Len() != p.vals[s].Len() {
			return fmt.Errorf("autograd: seed gradient for %q is %s%v, value is %s%v", name, t.DType, t.Shape, p.vals[s].DType, p.vals[s].Shape)
		}
		g := p.grads[s].t.F32()
		for i, v := range t.F32() {
			g[i] += v
		}
		p.hasGrad[s] = true
	}
	for si := len(p.steps) - 1; si >= 0; si-- {
		st := &p.steps[si]
		if !st.needBack {
			continue
		}
		any := false
		for j, s := range st.out {
			st.gout[j] = nil
			st.outT[j] = nil
			if s < 0 {
				continue
			}
			st.outT[j] = p.vals[s]
			if p.hasGrad[s] {
				st.gout[j] = p.grads[s].t
				any = true
				if p.hooks != nil && p.hooks.Gradient != nil {
					p.hooks.Gradient(p.names[s], st.gout[j].F32())
				}
			}
		}
		if !any {
			continue
		}
		for i, s := range st.in {
			st.gin[i], st.inT[i] = nil, nil
			if s < 0 {
				continue
			}
			st.inT[i] = p.vals[s]
			if p.needGrad[s] {
				st.gin[i] = p.grads[s].t
			}
		}
		if err := st.k.Backward(c, st.inT, st.outT, st.gout, st.gin); err != nil {
			return fmt.Errorf("autograd: backward of %s: %w", st.node.Describe(), err)
		}
		for i, s := range st.in {
			if s >= 0 && st.gin[i] != nil {
				p.hasGrad[s] = true
			}
		}
	}
	if p.hooks != nil && p.hooks.Gradient != nil {
		for _, s := range p.params {
			p.hooks.Gradient(p.names[s], p.grads[s].t.F32())
		}
	}
	return nil
}

// isView reports whether t shares its storage with one of the inputs.
func isView(t *tensor.Tensor, in []*tensor.Tensor) bool {
	d := t.F32()
	if len(d) == 0 {
		return false
	}
	for _, x := range in {
		if x != nil && x.DType == tensor.Float32 && x.Len() > 0 && &x.F32()[0] == &d[0] {
			return true
		}
	}
	return false
}

// Grad returns dL/d name after Backward: a parameter, a graph input listed
// in Options.InputGrads, or any intermediate value on a gradient path. It
// returns nil for values no gradient is computed for.
func (p *Program) Grad(name string) *tensor.Tensor {
	s, ok := p.slots[name]
	if !ok || !p.needGrad[s] {
		return nil
	}
	return p.grads[s].t
}

// runtimeKernel runs a node's forward on its impl/ops inference kernel.
type rtKernel struct {
	node *graph.Node
	k    ops.Kernel
	vjp  VJP
	ctx  *ops.Ctx
	vin  []ops.Value
}

func runtimeKernel(n *graph.Node, b *BuildInfo, types map[string]graph.Type, vjp VJP) (Kernel, error) {
	info := &ops.BuildInfo{Node: n, Opset: b.Opset, Const: b.Const}
	for _, in := range n.Inputs {
		info.InTypes = append(info.InTypes, types[in])
	}
	for _, o := range n.Outputs {
		info.OutTypes = append(info.OutTypes, types[o])
	}
	k, _, err := ops.Build(info)
	if err != nil {
		return nil, err
	}
	return &rtKernel{node: n, k: k, vjp: vjp, ctx: &ops.Ctx{Context: context.Background(), Threads: 1}}, nil
}

func (r *rtKernel) Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	r.vin = r.vin[:0]
	for _, t := range in {
		if t == nil {
			r.vin = append(r.vin, nil)
		} else {
			r.vin = append(r.vin, t)
		}
	}
	out, err := r.k.Run(r.ctx, r.vin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.node.Describe(), err)
	}
	ts := make([]*tensor.Tensor, len(out))
	for i, v := range out {
		if v == nil {
			continue
		}
		t, ok := v.(*tensor.Tensor)
		if !ok {
			return nil, fmt.Errorf("%s: output %d is %T; autograd handles tensors only", r.node.Describe(), i, v)
		}
		ts[i] = t
	}
	return ts, nil
}

func (r *rtKernel) Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error {
	if r.vjp == nil {
		return fmt.Errorf("no gradient registered for %s", r.node.OpType)
	}
	return r.vjp(r.node, in, out, gout, gin)
}
