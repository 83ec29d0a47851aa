// Package autograd is frugal's reverse-mode automatic differentiation over
// the graph IR. A Program compiles a graph.Model once: one Kernel per node
// (forward plus vector-Jacobian product, looked up by op type in a
// registry), slots for every value and its gradient, and the set of values
// a gradient must reach. Forward runs the nodes in order keeping what each
// backward needs (im2col columns, max-pool argmax, batch statistics);
// Backward walks them in reverse, accumulating gradients per value.
//
// Kernels own their output and scratch buffers and reuse them from step to
// step, so a training step allocates nothing once shapes are stable. A
// Program is not safe for concurrent use; data-parallel training compiles
// one Program per goroutine over the same (read-only during the step)
// weights and sums the gradients in a fixed order.
package autograd

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/tensor"
)

// Sgemm is the FP32 GEMM every training kernel calls: C = alpha*op(A)*op(B)
// + beta*C, row-major, the signature of ref.Sgemm. It is the blocked SIMD
// GEMM of impl/gemm; a variable so tests and experiments can swap it.
var Sgemm = gemm.Sgemm

// Ctx is the per-step context handed to kernels.
type Ctx struct {
	// Training selects training behaviour: batch statistics in
	// BatchNormalization, active Dropout.
	Training bool
	// Rand drives stochastic ops (Dropout); nil means a fixed seed.
	Rand *rand.Rand
}

// Kernel is the compiled forward and backward of one node. A kernel is built
// once per Program and may keep state between Forward and Backward (saved
// activations, argmax indices) and buffers between steps.
type Kernel interface {
	// Forward computes the node's outputs. Absent optional inputs are nil.
	// Returned tensors may be buffers the kernel reuses on the next call,
	// or views of inputs.
	Forward(c *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error)
	// Backward accumulates input gradients: for every i with gin[i] != nil,
	// gin[i] += dL/d in[i]. in and out are the tensors of the last Forward;
	// gout[j] is dL/d out[j], nil when no gradient reaches output j.
	Backward(c *Ctx, in, out, gout, gin []*tensor.Tensor) error
}

// StateUpdater is implemented by kernels that update non-trainable state in
// training mode (BatchNormalization's running statistics). After a
// training Forward, NewState maps input indices to their new values.
type StateUpdater interface {
	NewState() map[int]*tensor.Tensor
}

// BuildInfo is what a kernel builder sees.
type BuildInfo struct {
	Node  *graph.Node
	Opset int64
	// Const[i] is input i's value when it is an initializer (weights are
	// initializers too: they change between steps, so kernels must not
	// prepack them).
	Const []*tensor.Tensor
	// BF16 asks for GEMMs on bfloat16 operands (Options.BF16GEMM); see mm.
	BF16 bool
}

// Builder builds the Kernel of one node.
type Builder func(b *BuildInfo) (Kernel, error)

// VJP is the backward of an op whose forward runs on the inference kernel
// of impl/ops: it accumulates gin[i] += dL/d in[i] for each non-nil gin[i].
type VJP func(n *graph.Node, in, out, gout, gin []*tensor.Tensor) error

var (
	regMu    sync.RWMutex
	builders = map[string]Builder{}
	vjps     = map[string]VJP{}
	nondiff  = map[string]map[int]bool{}
)

// RegisterNonDiff declares inputs of op that take no gradient (e.g. a
// dropout ratio, batch-norm running statistics): float initializers feeding
// only such inputs are not trainable parameters.
func RegisterNonDiff(op string, inputs ...int) {
	regMu.Lock()
	defer regMu.Unlock()
	if nondiff[op] == nil {
		nondiff[op] = map[int]bool{}
	}
	for _, i := range inputs {
		nondiff[op][i] = true
	}
}

func isNonDiff(op string, i int) bool {
	regMu.RLock()
	defer regMu.RUnlock()
	return nondiff[op][i]
}

// RegisterGrad registers the training kernel (forward and backward) of an
// op in the default ONNX domain. A later registration replaces an earlier one.
func RegisterGrad(op string, b Builder) {
	regMu.Lock()
	builders[op] = b
	regMu.Unlock()
}

// RegisterVJP registers only the backward of an op; its forward runs on the
// op's inference kernel from impl/ops. Ops registered with RegisterGrad take
// precedence.
func RegisterVJP(op string, f VJP) {
	regMu.Lock()
	vjps[op] = f
	regMu.Unlock()
}

// Differentiable lists the ops with a gradient, sorted.
func Differentiable() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	var out []string
	for k := range builders {
		out = append(out, k)
	}
	for k := range vjps {
		if _, ok := builders[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func lookup(op string) (Builder, VJP) {
	regMu.RLock()
	defer regMu.RUnlock()
	return builders[op], vjps[op]
}

// buf is a reusable float32 tensor: get returns a tensor of the requested
// shape, reusing the backing array when it is large enough. Contents are
// not cleared.
type buf struct{ t *tensor.Tensor }

func (b *buf) get(shape ...int) *tensor.Tensor {
	if b.t != nil && tensor.SameShape(b.t.Shape, shape) {
		return b.t
	}
	n := tensor.NumElems(shape)
	if b.t != nil && cap(b.t.F32()) >= n {
		b.t = &tensor.Tensor{DType: tensor.Float32, Shape: append([]int(nil), shape...), Data: b.t.F32()[:n]}
		return b.t
	}
	b.t = tensor.New(tensor.Float32, shape...)
	return b.t
}

// f32s returns a float32 scratch slice of length n, reusing *s.
func f32s(s *[]float32, n int) []float32 {
	if cap(*s) < n {
		*s = make([]float32, n)
	}
	*s = (*s)[:n]
	return *s
}

func zero(x []float32) {
	for i := range x {
		x[i] = 0
	}
}

// checkF32 errors unless every non-nil tensor is float32.
func checkF32(n *graph.Node, in []*tensor.Tensor, idx ...int) error {
	for _, i := range idx {
		if i < len(in) && in[i] != nil && in[i].DType != tensor.Float32 {
			return fmt.Errorf("%s: input %d has dtype %s; training kernels take float32", n.Describe(), i, in[i].DType)
		}
	}
	return nil
}

func need(in []*tensor.Tensor, n int, node *graph.Node) error {
	for i := 0; i < n; i++ {
		if i >= len(in) || in[i] == nil {
			return fmt.Errorf("%s: required input %d is missing", node.Describe(), i)
		}
	}
	return nil
}
