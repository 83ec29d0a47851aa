// Package runtime executes a graph: it validates and orders the nodes, builds
// one kernel per node from the ops registry (parsing attributes and
// prepacking constant weights once), and runs the plan many times, from any
// number of goroutines at once. It is where frugal's levels meet: graphs
// come from the model level, kernels from the implementation level.
//
// Memory: each value dies after its last reader. Every Run takes an
// ops.Arena of its own from a per-session pool, so the buffers kernels
// allocate through their Ctx are recycled within the Run and across Runs
// (never shared by concurrent Runs; graph outputs, inputs and constants are
// never recycled; see impl/ops/alloc.go). MemoryPlan and MemoryPlanFor
// compute the static counterpart: buffer lifetimes and a best-fit arena
// placement with the planned peak, against one buffer per value.
// Cancelling the Run's context stops it before the next node (and between
// Loop and Scan iterations) with an error wrapping ctx.Err() that names the
// node.
package runtime

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/impl/passes"
	"github.com/frugal-ml/frugal/tensor"
)

// Options tune a session.
type Options struct {
	// Threads for intra-op parallelism; 0 means GOMAXPROCS.
	Threads int
	// KeepAll keeps every intermediate value of a run (for autograd,
	// calibration and debugging) instead of freeing values after last use.
	KeepAll bool
	// NoOptimize skips the graph passes (QDQ fusion, dead-node removal...),
	// running the graph exactly as given.
	NoOptimize bool
	// DisablePasses names graph passes to skip (as does the environment
	// variable FRUGAL_DISABLE_PASS, comma-separated): to compare a
	// rewrite's effect, or to step around one.
	DisablePasses []string
	// NoReuse turns off buffer recycling: every kernel output is a fresh
	// allocation left to the garbage collector (for comparison and
	// debugging; FRUGAL_NOREUSE=1 sets it too).
	NoReuse bool
	// Profile times every step of every Run (two clock reads per node);
	// OpProfile reports the totals.
	Profile bool
}

type step struct {
	node   *graph.Node
	impl   *ops.Impl
	kernel ops.Kernel
	in     []int // slot per input, -1 for absent
	out    []int // slot per output, -1 for absent
	free   []int // slots whose last reader is this step
	donate []int // input slots that die here, offered to the kernel for in-place outputs
	// leaving: the step makes a graph output or a value a graph output is
	// a view of, so its buffer leaves the arena at the end of the Run.
	leaving bool
}

// Session is a prepared graph. It is safe for concurrent use.
type Session struct {
	Model   *graph.Model
	Graph   *graph.Graph
	opts    Options
	steps   []step
	slots   map[string]int
	names   []string
	consts  []ops.Value // slot -> constant value (initializers), else nil
	inputs  []graph.ValueInfo
	inSlot  []int
	outSlot []int
	outer   map[string]int // names captured from an enclosing scope -> slot
	parent  *Session
	types   map[string]graph.Type
	// lastUse[slot] is the last step reading the slot (len(steps) for graph
	// outputs, -1 when nothing reads it); producer[slot] the step writing it
	// (-1 for inputs, constants and captured values).
	lastUse  []int
	producer []int

	arenas sync.Pool // *ops.Arena, one per Run in flight
	mem    memCounters
	prof   []stepTime // per step, with Options.Profile

	// PassLog says which graph passes changed what.
	PassLog []string

	subMu sync.Mutex
	subs  map[*graph.Graph]*Session
}

// NewSession prepares model for execution.
func NewSession(m *graph.Model, opts Options) (*Session, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("runtime: model has no graph")
	}
	if opts.Threads <= 0 {
		opts.Threads = runtime.GOMAXPROCS(0)
	}
	if os.Getenv("FRUGAL_NOREUSE") == "1" {
		opts.NoReuse = true
	}
	if v := os.Getenv("FRUGAL_DISABLE_IMPL"); v != "" {
		for _, name := range strings.Split(v, ",") {
			ops.Disabled[strings.TrimSpace(name)] = true
		}
	}
	g := m.Graph
	if hasFunctionCalls(m, g) || hasGradients(g) {
		// Expand model-local functions and Gradient nodes on a copy.
		g = g.Clone()
		if err := ExpandFunctions(m, g); err != nil {
			return nil, err
		}
		if err := ExpandGradients(g); err != nil {
			return nil, err
		}
	}
	if err := g.Validate(nil); err != nil {
		return nil, err
	}
	var passLog []string
	if !opts.NoOptimize {
		g = g.Clone()
		var err error
		list := passes.Default
		if opts.KeepAll {
			// Every intermediate value must stay observable.
			list = passes.Preserving(list)
		}
		skip := map[string]bool{}
		for _, name := range opts.DisablePasses {
			skip[name] = true
		}
		if v := os.Getenv("FRUGAL_DISABLE_PASS"); v != "" {
			for _, name := range strings.Split(v, ",") {
				skip[strings.TrimSpace(name)] = true
			}
		}
		if len(skip) > 0 {
			var kept []passes.Pass
			for _, p := range list {
				if !skip[p.Name] {
					kept = append(kept, p)
				}
			}
			list = kept
		}
		if passLog, err = passes.Apply(g, list); err != nil {
			return nil, err
		}
		if err := g.Validate(nil); err != nil {
			return nil, fmt.Errorf("after graph passes: %w", err)
		}
	}
	types, err := InferTypes(m, g, nil)
	if err != nil {
		return nil, err
	}
	s, err := newSession(m, g, opts, nil, types)
	if err != nil {
		return nil, err
	}
	s.PassLog = passLog
	return s, nil
}

func newSession(m *graph.Model, g *graph.Graph, opts Options, parent *Session, types map[string]graph.Type) (*Session, error) {
	s := &Session{Model: m, Graph: g, opts: opts, slots: map[string]int{}, parent: parent, outer: map[string]int{}, subs: map[*graph.Graph]*Session{}, types: types}
	slot := func(name string) int {
		if i, ok := s.slots[name]; ok {
			return i
		}
		i := len(s.names)
		s.slots[name] = i
		s.names = append(s.names, name)
		s.consts = append(s.consts, nil)
		return i
	}
	declared := map[string]bool{}
	for _, in := range g.Inputs {
		declared[in.Name] = true
	}
	for _, name := range g.InitializerNames() {
		i := slot(name)
		s.consts[i] = g.Initializers[name]
	}
	for _, in := range g.Inputs {
		// An input that is also an initializer is an overridable default:
		// it is fed only when the caller provides it.
		if _, isInit := g.Initializers[in.Name]; isInit {
			continue
		}
		s.inputs = append(s.inputs, in)
		s.inSlot = append(s.inSlot, slot(in.Name))
	}
	// Names captured from the enclosing scope.
	for _, name := range g.FreeInputs() {
		s.outer[name] = slot(name)
	}
	lastUse := map[int]int{}
	for si, n := range g.Nodes {
		st := step{node: n}
		info := &ops.BuildInfo{Node: n, Opset: opsetFor(m, n.Domain)}
		for _, in := range n.Inputs {
			if in == "" {
				st.in = append(st.in, -1)
				info.Const = append(info.Const, nil)
				info.InTypes = append(info.InTypes, graph.Type{})
				continue
			}
			i := slot(in)
			st.in = append(st.in, i)
			var c *tensor.Tensor
			if t, ok := s.consts[i].(*tensor.Tensor); ok && !declared[in] {
				c = t
			}
			info.Const = append(info.Const, c)
			info.InTypes = append(info.InTypes, types[in])
			lastUse[i] = si
		}
		// Values read by subgraphs count as used here.
		for _, a := range n.Attrs {
			gs := a.Graphs
			if a.G != nil {
				gs = append(gs, a.G)
			}
			for _, sg := range gs {
				for _, name := range sg.FreeInputs() {
					lastUse[slot(name)] = si
				}
			}
		}
		for _, o := range n.Outputs {
			if o == "" {
				st.out = append(st.out, -1)
				info.OutTypes = append(info.OutTypes, graph.Type{})
				continue
			}
			st.out = append(st.out, slot(o))
			info.OutTypes = append(info.OutTypes, types[o])
		}
		k, im, err := ops.Build(info)
		if err != nil {
			return nil, err
		}
		st.kernel, st.impl = k, im
		s.steps = append(s.steps, st)
	}
	if opts.Profile {
		s.prof = make([]stepTime, len(s.steps))
	}
	for _, o := range g.Outputs {
		i := slot(o.Name)
		s.outSlot = append(s.outSlot, i)
		lastUse[i] = len(g.Nodes) // never free outputs
	}
	s.lastUse = make([]int, len(s.names))
	s.producer = make([]int, len(s.names))
	for sl := range s.lastUse {
		s.lastUse[sl], s.producer[sl] = -1, -1
	}
	for sl, si := range lastUse {
		s.lastUse[sl] = si
	}
	for si := range s.steps {
		for _, sl := range s.steps[si].out {
			if sl >= 0 {
				s.producer[sl] = si
			}
		}
	}
	if !opts.KeepAll {
		for sl, si := range s.lastUse {
			if s.consts[sl] != nil {
				continue
			}
			if si < 0 && s.producer[sl] >= 0 {
				// Produced but never read: dies as soon as it is made.
				si = s.producer[sl]
			}
			if si >= 0 && si < len(s.steps) {
				s.steps[si].free = append(s.steps[si].free, sl)
			}
		}
		// Steps whose buffers leave with graph outputs: the producers of the
		// outputs and, through views, of what they view.
		for _, sl := range s.outSlot {
			for p := s.producer[sl]; p >= 0; {
				st := &s.steps[p]
				st.leaving = true
				view, _ := ops.StorageReuse(st.node.Domain, st.node.OpType)
				if !view || len(st.in) == 0 || st.in[0] < 0 || s.steps[p].out[0] != sl {
					break
				}
				sl = st.in[0]
				p = s.producer[sl]
			}
		}
		for si := range s.steps {
			st := &s.steps[si]
			if hasSubgraphs(st.node) {
				continue
			}
			for _, sl := range st.free {
				if slices.Contains(st.in, sl) {
					st.donate = append(st.donate, sl)
				}
			}
		}
	}
	return s, nil
}

func hasSubgraphs(n *graph.Node) bool {
	for _, a := range n.Attrs {
		if a.G != nil || len(a.Graphs) > 0 {
			return true
		}
	}
	return false
}

func opsetFor(m *graph.Model, domain string) int64 {
	if m == nil {
		return 0
	}
	v := m.Opset(domain)
	if v == 0 && (domain == "" || domain == "ai.onnx") {
		return 21
	}
	return v
}

// Inputs lists the inputs a caller must feed, in order.
func (s *Session) Inputs() []graph.ValueInfo { return s.inputs }

// Outputs lists the graph outputs in order.
func (s *Session) Outputs() []graph.ValueInfo { return s.Graph.Outputs }

// Kernels reports which implementation each node runs on (node -> impl).
func (s *Session) Kernels() []string {
	var out []string
	for _, st := range s.steps {
		out = append(out, fmt.Sprintf("%s: %s", st.node.Describe(), st.impl.Name))
	}
	return out
}

// Run feeds inputs by name and returns the outputs by name.
func (s *Session) Run(ctx context.Context, inputs map[string]ops.Value) (map[string]ops.Value, error) {
	vals, err := s.run(ctx, inputs, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]ops.Value, len(s.outSlot))
	for j, o := range s.Graph.Outputs {
		out[o.Name] = vals[s.outSlot[j]]
	}
	return out, nil
}

// RunOrdered feeds inputs in the order of Inputs() and returns outputs in
// the order of Outputs().
func (s *Session) RunOrdered(ctx context.Context, inputs ...ops.Value) ([]ops.Value, error) {
	if len(inputs) > len(s.inputs) {
		return nil, fmt.Errorf("runtime: %d inputs given, graph %q takes %d", len(inputs), s.Graph.Name, len(s.inputs))
	}
	m := make(map[string]ops.Value, len(inputs))
	for i, v := range inputs {
		m[s.inputs[i].Name] = v
	}
	vals, err := s.run(ctx, m, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	out := make([]ops.Value, len(s.outSlot))
	for j := range s.outSlot {
		out[j] = vals[s.outSlot[j]]
	}
	return out, nil
}

// Trace runs the graph keeping every value, returned by name. The session
// must have been built with KeepAll for intermediates to survive.
func (s *Session) Trace(ctx context.Context, inputs map[string]ops.Value) (map[string]ops.Value, error) {
	vals, err := s.run(ctx, inputs, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]ops.Value, len(vals))
	for i, v := range vals {
		if v != nil {
			out[s.names[i]] = v
		}
	}
	return out, nil
}

// run executes the steps; observe, when not nil, sees every value a step
// produces.
func (s *Session) run(ctx context.Context, inputs map[string]ops.Value, positional []ops.Value, outer func(string) (ops.Value, bool), observe func(slot int, v ops.Value)) ([]ops.Value, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	vals := make([]ops.Value, len(s.names))
	copy(vals, s.consts)
	if positional != nil {
		for i, v := range positional {
			if i < len(s.Graph.Inputs) {
				if sl, ok := s.slots[s.Graph.Inputs[i].Name]; ok {
					vals[sl] = v
				}
			}
		}
	} else {
		for i, in := range s.inputs {
			v, ok := inputs[in.Name]
			if !ok || v == nil {
				return nil, fmt.Errorf("runtime: graph %q input %q was not provided", s.Graph.Name, in.Name)
			}
			if err := checkInput(in, v); err != nil {
				return nil, err
			}
			vals[s.inSlot[i]] = v
		}
		// Overridable initializers fed by name.
		for name, v := range inputs {
			if sl, ok := s.slots[name]; ok && s.consts[sl] != nil {
				vals[sl] = v
			}
		}
	}
	for name, sl := range s.outer {
		if vals[sl] != nil {
			continue
		}
		if outer != nil {
			if v, ok := outer(name); ok {
				vals[sl] = v
			}
		}
	}
	kctx := &ops.Ctx{Context: ctx, Threads: s.opts.Threads}
	kctx.RunGraph = func(g *graph.Graph, in []ops.Value, outerFn func(string) (ops.Value, bool)) ([]ops.Value, error) {
		sub, err := s.sub(g)
		if err != nil {
			return nil, err
		}
		return sub.runSub(ctx, in, outerFn)
	}
	lookup := func(name string) (ops.Value, bool) {
		if sl, ok := s.slots[name]; ok && vals[sl] != nil {
			return vals[sl], true
		}
		if outer != nil {
			return outer(name)
		}
		return nil, false
	}
	kctx.Outer = lookup
	// Buffers are recycled through an arena of this Run's own; on an error
	// it is dropped rather than reused, whatever state the kernels left.
	var arena *ops.Arena
	if !s.opts.KeepAll && !s.opts.NoReuse {
		arena = s.getArena()
		arena.Begin(len(s.names))
		kctx.Arena = arena
	}
	in := make([]ops.Value, 0, 8)
	for i := range s.steps {
		st := &s.steps[i]
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("runtime: cancelled before %s: %w", st.node.Describe(), err)
		}
		in = in[:0]
		for _, sl := range st.in {
			if sl < 0 {
				in = append(in, nil)
			} else {
				in = append(in, vals[sl])
			}
		}
		if arena != nil {
			arena.StartStep(st.leaving)
			for _, sl := range st.donate {
				if t, ok := vals[sl].(*tensor.Tensor); ok {
					arena.Donate(sl, t)
				}
			}
		}
		var t0 time.Time
		if s.prof != nil {
			t0 = time.Now()
		}
		out, err := runKernel(st, kctx, in)
		if s.prof != nil {
			s.prof[i].add(time.Since(t0))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", st.node.Describe(), err)
		}
		for j, sl := range st.out {
			if sl < 0 {
				continue
			}
			if j >= len(out) {
				if j < len(st.node.Outputs) && st.node.Outputs[j] != "" {
					return nil, fmt.Errorf("%s: kernel returned %d outputs, node declares %d", st.node.Describe(), len(out), len(st.node.Outputs))
				}
				continue
			}
			vals[sl] = out[j]
			if observe != nil {
				observe(sl, out[j])
			}
			if arena != nil {
				arena.Bind(sl, out[j])
			}
		}
		if arena != nil {
			arena.EndStep()
		}
		for _, sl := range st.free {
			vals[sl] = nil
			if arena != nil {
				arena.Unbind(sl)
			}
		}
	}
	if arena != nil {
		s.mem.add(arena.Finish())
		s.arenas.Put(arena)
	}
	return vals, nil
}

func (s *Session) getArena() *ops.Arena {
	if a, ok := s.arenas.Get().(*ops.Arena); ok {
		return a
	}
	return ops.NewArena()
}

// memCounters accumulate arena statistics over the Runs of a session.
type memCounters struct {
	runs, allocs, reused, inPlace, disowned atomic.Int64
	inUsePeak, held                         atomic.Int64
}

func (m *memCounters) add(st ops.ArenaStats) {
	m.runs.Add(1)
	m.allocs.Add(st.Allocs)
	m.reused.Add(st.Reused)
	m.inPlace.Add(st.InPlace)
	m.disowned.Add(st.Disowned)
	for {
		old := m.inUsePeak.Load()
		if st.InUsePeak <= old || m.inUsePeak.CompareAndSwap(old, st.InUsePeak) {
			break
		}
	}
	for {
		old := m.held.Load()
		if st.Held <= old || m.held.CompareAndSwap(old, st.Held) {
			break
		}
	}
}

// ReuseStats describe buffer recycling over the Runs of a session so far
// (subgraph bodies not included).
type ReuseStats struct {
	Runs int64 `json:"runs"`
	// Allocs counts buffers kernels asked for (outputs and scratch of at
	// least 1 KiB); Reused how many came from a free list, InPlace how many
	// outputs were written over a dying input.
	Allocs  int64 `json:"allocs"`
	Reused  int64 `json:"reused"`
	InPlace int64 `json:"in_place"`
	// Disowned counts buffers that left with a graph output.
	Disowned int64 `json:"disowned"`
	// InUsePeakBytes is the largest total of arena blocks in use at once in
	// one Run (graph outputs included while they are made; a block may be
	// larger than the tensor it holds).
	InUsePeakBytes int64 `json:"in_use_peak_bytes"`
	// HeldBytes is the most an arena kept between Runs: the measured
	// counterpart of MemoryPlan.ArenaBytes.
	HeldBytes int64 `json:"held_bytes"`
}

// ReuseStats reports buffer recycling so far.
func (s *Session) ReuseStats() ReuseStats {
	m := &s.mem
	return ReuseStats{Runs: m.runs.Load(), Allocs: m.allocs.Load(), Reused: m.reused.Load(), InPlace: m.inPlace.Load(),
		Disowned: m.disowned.Load(), InUsePeakBytes: m.inUsePeak.Load(), HeldBytes: m.held.Load()}
}

// sub returns (building once) the session for a subgraph.
func (s *Session) sub(g *graph.Graph) (*Session, error) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if sub, ok := s.subs[g]; ok {
		return sub, nil
	}
	types, err := InferTypes(s.Model, g, nil)
	if err != nil {
		return nil, err
	}
	sub, err := newSession(s.Model, g, s.opts, s, types)
	if err != nil {
		return nil, fmt.Errorf("subgraph %q: %w", g.Name, err)
	}
	s.subs[g] = sub
	return sub, nil
}

func (s *Session) runSub(ctx context.Context, in []ops.Value, outer func(string) (ops.Value, bool)) ([]ops.Value, error) {
	pos := make([]ops.Value, len(s.Graph.Inputs))
	copy(pos, in)
	vals, err := s.run(ctx, nil, pos, outer, nil)
	if err != nil {
		return nil, err
	}
	out := make([]ops.Value, len(s.outSlot))
	for j, sl := range s.outSlot {
		out[j] = vals[sl]
		if out[j] == nil && outer != nil {
			if v, ok := outer(s.Graph.Outputs[j].Name); ok {
				out[j] = v
			}
		}
	}
	return out, nil
}

// checkInput verifies a fed value against the declared graph input type.
func checkInput(vi graph.ValueInfo, v ops.Value) error {
	t, ok := v.(*tensor.Tensor)
	if vi.Type.Kind != graph.KindTensor {
		return nil
	}
	if !ok {
		return fmt.Errorf("runtime: input %q: got %T, want a tensor", vi.Name, v)
	}
	if vi.Type.DType != tensor.Undefined && t.DType != vi.Type.DType {
		return fmt.Errorf("runtime: input %q: got dtype %s, graph declares %s", vi.Name, t.DType, vi.Type.DType)
	}
	if vi.Type.HasShape {
		if len(vi.Type.Shape) != len(t.Shape) {
			return fmt.Errorf("runtime: input %q: got shape %v, graph declares %s", vi.Name, t.Shape, vi.Type.Shape)
		}
		for i, d := range vi.Type.Shape {
			if d.Known() && int(d.Size) != t.Shape[i] {
				return fmt.Errorf("runtime: input %q: got shape %v, graph declares %s", vi.Name, t.Shape, vi.Type.Shape)
			}
		}
	}
	return nil
}

// runKernel runs one step, turning a kernel panic into an error naming the
// node, so a bad model or input never takes the process down.
func runKernel(st *step, ctx *ops.Ctx, in []ops.Value) (out []ops.Value, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("kernel %s panicked: %v", st.impl.Name, p)
		}
	}()
	return st.kernel.Run(ctx, in)
}
