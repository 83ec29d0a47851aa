package runtime

import (
	"sort"
	"sync/atomic"
	"time"
)

// Per-node timing (Options.Profile): where a model's latency goes, node by
// node, so a slow operator or an unexpected fallback kernel shows up by
// name. Steps run one after another, so the times add up to the Run's
// (minus the input binding and the arena bookkeeping between steps).

// stepTime accumulates one step's wall time over Runs (atomics: Runs may
// be concurrent).
type stepTime struct {
	nanos atomic.Int64
	calls atomic.Int64
}

func (t *stepTime) add(d time.Duration) {
	t.nanos.Add(int64(d))
	t.calls.Add(1)
}

// NodeTime is one node's share of the profiled Runs.
type NodeTime struct {
	Node   string        // node name, or its first output when unnamed
	Op     string        // domain:op_type ("" domain for ONNX)
	Kernel string        // the implementation that ran it
	Total  time.Duration // wall time summed over calls
	Calls  int64
}

// OpProfile returns the time spent in each node since the session was made
// (or since ResetProfile), slowest first; nil unless Options.Profile.
func (s *Session) OpProfile() []NodeTime {
	if s.prof == nil {
		return nil
	}
	out := make([]NodeTime, len(s.steps))
	for i := range s.steps {
		st := &s.steps[i]
		op := st.node.OpType
		if st.node.Domain != "" {
			op = st.node.Domain + ":" + op
		}
		name := st.node.Name
		if name == "" && len(st.node.Outputs) > 0 {
			name = st.node.Outputs[0]
		}
		out[i] = NodeTime{Node: name, Op: op, Kernel: st.impl.Name,
			Total: time.Duration(s.prof[i].nanos.Load()), Calls: s.prof[i].calls.Load()}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Total > out[b].Total })
	return out
}

// ResetProfile zeroes the profile (after warm-up runs, say).
func (s *Session) ResetProfile() {
	for i := range s.prof {
		s.prof[i].nanos.Store(0)
		s.prof[i].calls.Store(0)
	}
}
