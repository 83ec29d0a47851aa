package runtime

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/frugal-ml/frugal/tensor"
)

// MemoryPlan is a static assignment of the intermediate values of a
// session's graph to byte ranges of one arena, from inferred shapes and
// dtypes and the session's execution order, in the manner of TensorFlow
// Lite's arena planner and ONNX Runtime's memory pattern planner:
//
//   - every value lives from the step that produces it to its last reader
//     (a subgraph reading it counts as a reader);
//   - a view (Reshape, Flatten, Squeeze, Unsqueeze, Identity) shares its
//     input's buffer, extending its lifetime; an elementwise op whose input
//     dies at that step writes its output over the input (the kernels do the
//     same at run time through ops.Ctx.Output);
//   - buffers are placed greedily by size, largest first, each at the
//     best-fitting gap among the buffers whose lifetimes overlap its own
//     (64-byte aligned).
//
// Graph inputs, initializers and graph outputs are not in the arena (the
// caller owns inputs and outputs). Subgraph bodies (If/Loop/Scan) are
// planned when they run, not here. Values whose size shape inference could
// not determine are listed in Unsized and left out.
type MemoryPlan struct {
	// ArenaBytes is the planned peak: the arena size holding every
	// intermediate with buffers reused by liveness.
	ArenaBytes int64 `json:"arena_bytes"`
	// NoReuseBytes is the sum of the intermediates' buffers when each has
	// its own (views excluded: they never allocate).
	NoReuseBytes int64 `json:"no_reuse_bytes"`
	// LiveBytes is the largest total of intermediate buffers live at one
	// step: the lower bound for any placement.
	LiveBytes int64 `json:"live_bytes"`
	// InputBytes is the caller-owned graph inputs; OutputBytes the buffers
	// that leave with graph outputs (outside the arena; a buffer an output
	// views counts too).
	InputBytes  int64 `json:"input_bytes"`
	OutputBytes int64 `json:"output_bytes"`
	// Buffers are the planned buffers in order of production.
	Buffers []PlannedBuffer `json:"buffers,omitempty"`
	// Unsized lists intermediates of unknown size.
	Unsized []string `json:"unsized,omitempty"`
}

// PlannedBuffer is one arena buffer: the value that allocates it and the
// views or in-place outputs that share it.
type PlannedBuffer struct {
	Value  string   `json:"value"`
	Shares []string `json:"shares,omitempty"`
	Bytes  int64    `json:"bytes"`
	// First and Last are the steps (node indexes in execution order) over
	// which the buffer is live.
	First  int   `json:"first"`
	Last   int   `json:"last"`
	Offset int64 `json:"offset"`
}

// SavedFraction is 1 - ArenaBytes/NoReuseBytes.
func (p *MemoryPlan) SavedFraction() float64 {
	if p.NoReuseBytes == 0 {
		return 0
	}
	return 1 - float64(p.ArenaBytes)/float64(p.NoReuseBytes)
}

func (p *MemoryPlan) String() string {
	s := fmt.Sprintf("arena %d bytes for %d buffers (no reuse: %d bytes, live peak %d bytes)", p.ArenaBytes, len(p.Buffers), p.NoReuseBytes, p.LiveBytes)
	if len(p.Unsized) > 0 {
		s += fmt.Sprintf("; %d values of unknown size left out", len(p.Unsized))
	}
	return s
}

// MemoryPlan plans the session's intermediates from the types inferred when
// the session was built. Symbolic dimensions (a batch size) leave values
// unsized; MemoryPlanFor sizes them from real inputs.
func (s *Session) MemoryPlan() *MemoryPlan {
	return s.plan(s.types)
}

// MemoryPlanFor plans with the sizes the values take for these inputs:
// types are inferred from the inputs' shapes, and the graph is run once to
// size whatever shape inference cannot (ops without a shape function,
// data-dependent shapes).
func (s *Session) MemoryPlanFor(ctx context.Context, inputs map[string]ops.Value) (*MemoryPlan, error) {
	g := *s.Graph
	g.Inputs = append([]graph.ValueInfo(nil), s.Graph.Inputs...)
	for i, in := range g.Inputs {
		if t, ok := inputs[in.Name].(*tensor.Tensor); ok {
			g.Inputs[i].Type = graph.Type{Kind: graph.KindTensor, DType: t.DType, Shape: graph.ConcreteShape(t.Shape...), HasShape: true}
		}
	}
	types, err := InferTypes(s.Model, &g, nil)
	if err != nil {
		return nil, err
	}
	complete := true
	for _, st := range s.steps {
		for _, o := range st.out {
			if o < 0 {
				continue
			}
			if _, ok := staticBytes(types[s.names[o]]); !ok {
				complete = false
			}
		}
	}
	if !complete {
		var mu sync.Mutex
		seen := map[string]graph.Type{}
		observe := func(slot int, v ops.Value) {
			if t, ok := v.(*tensor.Tensor); ok {
				mu.Lock()
				seen[s.names[slot]] = graph.Type{Kind: graph.KindTensor, DType: t.DType, Shape: graph.ConcreteShape(t.Shape...), HasShape: true}
				mu.Unlock()
			}
		}
		if _, err := s.run(ctx, inputs, nil, nil, observe); err != nil {
			return nil, err
		}
		for k, v := range seen {
			types[k] = v
		}
	}
	return s.plan(types), nil
}

// staticBytes is the size of a tensor value of type t, if known.
func staticBytes(t graph.Type) (int64, bool) {
	if t.Kind != graph.KindTensor || t.DType == tensor.Undefined || t.DType == tensor.String {
		return 0, false
	}
	sh, ok := t.Known()
	if !ok {
		return 0, false
	}
	return int64(tensor.NumElems(sh)) * int64(t.DType.Size()), true
}

func (s *Session) plan(types map[string]graph.Type) *MemoryPlan {
	p := &MemoryPlan{}
	n := len(s.names)
	isOut := make([]bool, n)
	for _, sl := range s.outSlot {
		isOut[sl] = true
	}
	// Buffers as a union-find over slots: views and in-place outputs join
	// the buffer of the input they reuse.
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var root func(int) int
	root = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	size := make([]int64, n)
	sized := make([]bool, n)
	for sl, name := range s.names {
		size[sl], sized[sl] = staticBytes(types[name])
	}
	external := make([]bool, n) // caller-owned storage: inputs, constants, captured values
	for sl := range s.names {
		external[sl] = s.producer[sl] < 0
		if external[sl] && s.consts[sl] == nil && sized[sl] {
			p.InputBytes += size[sl]
		}
	}
	first := make([]int, n)
	last := make([]int, n)
	for sl := range s.names {
		first[sl] = s.producer[sl]
		last[sl] = max(s.lastUse[sl], first[sl]) // graph outputs: len(steps)
	}
	isView := make([]bool, n)
	members := map[int][]int{}
	for si := range s.steps {
		st := &s.steps[si]
		view, inplace := ops.StorageReuse(st.node.Domain, st.node.OpType)
		for j, o := range st.out {
			if o < 0 {
				continue
			}
			if j == 0 && view && len(st.in) > 0 && st.in[0] >= 0 {
				isView[o] = true
				parent[o] = root(st.in[0])
				continue
			}
			if j != 0 || !inplace || !sized[o] || isOut[o] {
				continue
			}
			for k, in := range st.in {
				if in < 0 || !sized[in] || size[in] != size[o] || types[s.names[in]].DType != types[s.names[o]].DType ||
					!ops.MayReuseInput(st.node.Domain, st.node.OpType, k) || readElsewhere(st, k, in) {
					continue
				}
				// The input's whole buffer must die here.
				if r := root(in); !external[r] && groupLast(members, r, last) == si {
					parent[o] = r
					break
				}
			}
		}
		for _, o := range st.out {
			if o >= 0 {
				r := root(o)
				members[r] = append(members[r], o)
			}
		}
	}
	type buf struct {
		value       string
		bytes       int64
		first, last int
		names       []string
		offset      int64
	}
	bufs := map[int]*buf{}
	var planned []*buf
	for si := range s.steps {
		for _, o := range s.steps[si].out {
			if o < 0 {
				continue
			}
			r := root(o)
			if external[r] {
				continue // a view of caller-owned storage
			}
			if !sized[r] || (!isView[o] && !sized[o]) {
				p.Unsized = append(p.Unsized, s.names[o])
				continue
			}
			toCaller := false // the buffer leaves with a graph output
			for _, m := range members[r] {
				toCaller = toCaller || isOut[m]
			}
			if toCaller {
				if o == r {
					p.OutputBytes += size[r] // once per buffer
				}
				continue
			}
			if !isView[o] {
				p.NoReuseBytes += size[o]
			}
			b := bufs[r]
			if b == nil {
				b = &buf{value: s.names[r], bytes: size[r], first: first[r], last: last[r]}
				bufs[r] = b
				planned = append(planned, b)
			}
			if o != r {
				b.names = append(b.names, s.names[o])
			}
			b.first, b.last = min(b.first, first[o]), max(b.last, last[o])
		}
	}
	// Greedy by size: largest first, best-fitting gap among overlapping
	// buffers already placed.
	bySize := append([]*buf(nil), planned...)
	sort.SliceStable(bySize, func(i, j int) bool {
		if bySize[i].bytes != bySize[j].bytes {
			return bySize[i].bytes > bySize[j].bytes
		}
		return bySize[i].first < bySize[j].first
	})
	var placed []*buf
	for _, b := range bySize {
		var over []*buf
		for _, q := range placed {
			if q.first <= b.last && b.first <= q.last {
				over = append(over, q)
			}
		}
		sort.Slice(over, func(i, j int) bool { return over[i].offset < over[j].offset })
		need := align64(b.bytes)
		best, bestGap := int64(-1), int64(-1)
		var at int64
		for _, q := range over {
			if gap := q.offset - at; gap >= need && (bestGap < 0 || gap < bestGap) {
				best, bestGap = at, gap
			}
			at = max(at, q.offset+align64(q.bytes))
		}
		if best < 0 {
			best = at
		}
		b.offset = best
		placed = append(placed, b)
		p.ArenaBytes = max(p.ArenaBytes, best+need)
	}
	// Live lower bound.
	if len(s.steps) > 0 {
		delta := make([]int64, len(s.steps)+2)
		for _, b := range planned {
			delta[b.first] += b.bytes
			delta[b.last+1] -= b.bytes
		}
		var live int64
		for _, d := range delta {
			live += d
			p.LiveBytes = max(p.LiveBytes, live)
		}
	}
	for _, b := range planned {
		p.Buffers = append(p.Buffers, PlannedBuffer{Value: b.value, Shares: b.names, Bytes: b.bytes, First: b.first, Last: b.last, Offset: b.offset})
	}
	return p
}

func align64(n int64) int64 { return (n + 63) &^ 63 }

// groupLast is the last step any member of the buffer rooted at r is read.
func groupLast(members map[int][]int, r int, last []int) int {
	l := last[r]
	for _, o := range members[r] {
		l = max(l, last[o])
	}
	return l
}

// readElsewhere reports whether value slot in, offered to step st's output
// as input k, is also st's input at an index the op may not write over
// (FusedConv(x, W, B, x): the convolution reads x while the output would
// overwrite it).
func readElsewhere(st *step, k, in int) bool {
	for j, other := range st.in {
		if j != k && other == in && !ops.MayReuseInput(st.node.Domain, st.node.OpType, j) {
			return true
		}
	}
	return false
}
