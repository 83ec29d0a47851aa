// Package ops is frugal's kernel registry: ONNX operators mapped to
// implementations, each with a priority, an opset range and a CPU-feature
// predicate. The runtime asks Select for the best implementation that fits a
// node and this machine, builds a Kernel once per node (parsing attributes
// and prepacking constant weights), and calls Run many times.
//
// Every op has a pure-Go implementation that is the specification; faster
// implementations register with a higher priority and are tested against it.
package ops

import (
	"context"
	"fmt"
	"github.com/frugal-ml/frugal/impl/gemm"
	"sort"
	"strings"
	"sync"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Value is what flows along graph edges: *tensor.Tensor, *tensor.Sequence or
// *tensor.Optional. A missing optional input is nil.
type Value = any

// Ctx is the per-run context handed to kernels.
type Ctx struct {
	Context context.Context
	// Threads is the number of goroutines a kernel may use (>= 1).
	Threads int
	// RunGraph executes a subgraph (If/Loop/Scan bodies) with the given
	// inputs, capturing outer-scope values by name through outer.
	RunGraph func(g *graph.Graph, inputs []Value, outer func(name string) (Value, bool)) ([]Value, error)
	// Outer resolves names captured from an enclosing scope (for subgraphs).
	Outer func(name string) (Value, bool)
	// Arena recycles buffers within and across Runs (see alloc.go); nil
	// means plain allocation. Kernels do not use it directly: they call
	// Empty, NewTensor, Output, Float32s and Release.
	Arena *Arena
}

// Kernel runs one node.
type Kernel interface {
	Run(ctx *Ctx, in []Value) ([]Value, error)
}

// KernelFunc adapts a function to Kernel.
type KernelFunc func(ctx *Ctx, in []Value) ([]Value, error)

// Run calls f.
func (f KernelFunc) Run(ctx *Ctx, in []Value) ([]Value, error) { return f(ctx, in) }

// BuildInfo is what an implementation sees when the runtime builds a kernel
// for a node.
type BuildInfo struct {
	Node  *graph.Node
	Opset int64 // the node's domain opset version
	// Const[i] is the value of input i when it is a constant initializer,
	// else nil. Kernels may prepack constants (e.g. GEMM weights).
	Const []*tensor.Tensor
	// InTypes[i] is what shape inference knows of input i (may be partial).
	InTypes []graph.Type
	// OutTypes[j] is what shape inference knows of output j.
	OutTypes []graph.Type
}

// Impl is one registered implementation of an op.
type Impl struct {
	Domain   string // "" for the default ONNX domain
	Op       string
	Name     string // implementation name: "ref", "gemm-avx512", "int8-vnni", ...
	Priority int    // higher wins
	// SinceVersion/UntilVersion bound the opset range this implementation
	// follows (0 = unbounded).
	SinceVersion, UntilVersion int64
	// Available reports whether this machine can run it (nil = always).
	Available func() bool
	// Match reports whether it handles this node (dtypes, layout,
	// attributes); nil = any.
	Match func(*BuildInfo) bool
	// DTypes documents the element types handled (for the support table).
	DTypes []tensor.DType
	Build  func(*BuildInfo) (Kernel, error)
}

var (
	mu       sync.RWMutex
	registry = map[string][]*Impl{}
)

func key(domain, op string) string {
	if domain == "ai.onnx" {
		domain = ""
	}
	return domain + ":" + op
}

// Register adds an implementation. It is called from init functions.
func Register(i Impl) {
	if i.Build == nil || i.Op == "" {
		panic("ops.Register: Op and Build are required")
	}
	if i.Name == "" {
		i.Name = "ref"
	}
	mu.Lock()
	defer mu.Unlock()
	k := key(i.Domain, i.Op)
	registry[k] = append(registry[k], &i)
	sort.SliceStable(registry[k], func(a, b int) bool { return registry[k][a].Priority > registry[k][b].Priority })
}

// Disabled lists implementation names to skip (tests force dispatch paths
// with it; FRUGAL_DISABLE_IMPL sets it from the environment).
var Disabled = map[string]bool{}

// Select returns the highest-priority implementation that is available,
// covers the opset and matches the node.
func Select(info *BuildInfo) (*Impl, error) {
	n := info.Node
	mu.RLock()
	impls := registry[key(n.Domain, n.OpType)]
	mu.RUnlock()
	if len(impls) == 0 {
		d := n.Domain
		if d == "" {
			d = "ai.onnx"
		}
		return nil, fmt.Errorf("%s: operator %s (domain %s) is not implemented", n.Describe(), n.OpType, d)
	}
	for _, im := range impls {
		if Disabled[im.Name] {
			continue
		}
		if im.SinceVersion > 0 && info.Opset > 0 && info.Opset < im.SinceVersion {
			continue
		}
		if im.UntilVersion > 0 && info.Opset > im.UntilVersion {
			continue
		}
		if im.Available != nil && !im.Available() {
			continue
		}
		if im.Match != nil && !im.Match(info) {
			continue
		}
		return im, nil
	}
	return nil, fmt.Errorf("%s: no implementation of %s fits (opset %d, input types %s)", n.Describe(), n.OpType, info.Opset, typesString(info.InTypes))
}

// Build selects and builds a kernel for the node.
func Build(info *BuildInfo) (Kernel, *Impl, error) {
	im, err := Select(info)
	if err != nil {
		return nil, nil, err
	}
	k, err := im.Build(info)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", info.Node.Describe(), err)
	}
	return k, im, nil
}

// Registered lists all implementations (for the generated support table).
func Registered() []Impl {
	mu.RLock()
	defer mu.RUnlock()
	var out []Impl
	for _, l := range registry {
		for _, i := range l {
			out = append(out, *i)
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Domain != out[b].Domain {
			return out[a].Domain < out[b].Domain
		}
		if out[a].Op != out[b].Op {
			return out[a].Op < out[b].Op
		}
		return out[a].Priority > out[b].Priority
	})
	return out
}

// Has reports whether any implementation exists for the op.
func Has(domain, op string) bool {
	mu.RLock()
	defer mu.RUnlock()
	return len(registry[key(domain, op)]) > 0
}

func typesString(ts []graph.Type) string {
	var parts []string
	for _, t := range ts {
		if t.Kind != graph.KindTensor {
			parts = append(parts, "non-tensor")
			continue
		}
		parts = append(parts, t.DType.String())
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// InDType returns the dtype of input i if known, else Undefined.
func (b *BuildInfo) InDType(i int) tensor.DType {
	if i < len(b.Const) && b.Const[i] != nil {
		return b.Const[i].DType
	}
	if i < len(b.InTypes) && b.InTypes[i].Kind == graph.KindTensor {
		return b.InTypes[i].DType
	}
	return tensor.Undefined
}

// Tensor returns input i as a tensor, or nil when it is absent; an error when
// the value is not a tensor.
func Tensor(in []Value, i int) (*tensor.Tensor, error) {
	if i >= len(in) || in[i] == nil {
		return nil, nil
	}
	t, ok := in[i].(*tensor.Tensor)
	if !ok {
		return nil, fmt.Errorf("input %d is %T, want a tensor", i, in[i])
	}
	return t, nil
}

// MustTensors returns the first n inputs as tensors, erroring when one is
// missing or not a tensor.
func MustTensors(in []Value, n int) ([]*tensor.Tensor, error) {
	out := make([]*tensor.Tensor, n)
	for i := 0; i < n; i++ {
		t, err := Tensor(in, i)
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, fmt.Errorf("required input %d is missing", i)
		}
		out[i] = t
	}
	return out, nil
}

// CheckDType errors unless t has one of the dtypes.
func CheckDType(t *tensor.Tensor, what string, dts ...tensor.DType) error {
	for _, d := range dts {
		if t.DType == d {
			return nil
		}
	}
	return fmt.Errorf("%s has dtype %s; supported: %v", what, t.DType, dts)
}

// Parallel runs f over [0,n) split into at most threads contiguous chunks,
// on the caller and impl/gemm's pool of warm helpers (waking a parked
// thread costs tens of microseconds, as much as a small op; a network runs
// hundreds of these per inference).
func Parallel(threads, n int, f func(lo, hi int)) {
	if threads <= 1 || n <= 1 {
		f(0, n)
		return
	}
	t := min(threads, n)
	chunk := (n + t - 1) / t
	t = (n + chunk - 1) / chunk
	gemm.Parallel(t, func(i int) {
		lo := i * chunk
		f(lo, min(n, lo+chunk))
	})
}
