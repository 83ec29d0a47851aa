// Package nn builds trainable models as graph IR, layer by layer, with
// initialised weights: the Go-builder entry into frugal's one IR. Every
// layer is a handful of standard ONNX nodes (Conv, Gemm, LayerNormalization,
// MatMul, Softmax, ...), so a built model trains with package train, runs
// on the inference runtime and exports to ONNX like any imported model.
//
//	b := nn.New("mlp", seed, 1, 28, 28)
//	x := b.Flatten(b.Input())
//	x = b.ReLU(b.Linear(x, 128))
//	m := b.Model(b.Linear(x, 10))
package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// V is a value in the graph being built, with its shape (batch dimension
// first, -1 when symbolic).
type V struct {
	Name  string
	Shape []int
}

// Builder accumulates layers. Its methods panic on shape mistakes, which
// are programming errors in the code building the model; Err reports
// them instead when Safe is set.
type Builder struct {
	g     *graph.Graph
	rng   *rand.Rand
	n     int
	in    V
	err   error
	opset int64
}

// New starts a model whose input has shape [batch, dims...].
func New(name string, seed uint64, dims ...int) *Builder {
	g := graph.New(name)
	shape := graph.Shape{{Size: -1, Param: "batch"}}
	for _, d := range dims {
		shape = append(shape, graph.Dim{Size: int64(d)})
	}
	g.Inputs = []graph.ValueInfo{{Name: "input", Type: graph.Type{DType: tensor.Float32, Shape: shape, HasShape: true}}}
	return &Builder{g: g, rng: rand.New(rand.NewPCG(seed, 0x6e6e)), in: V{"input", append([]int{-1}, dims...)}, opset: 20}
}

// NewTokens starts a model whose input is int64 token ids [batch, seq].
func NewTokens(name string, seed uint64, seq int) *Builder {
	g := graph.New(name)
	g.Inputs = []graph.ValueInfo{{Name: "input", Type: graph.Type{DType: tensor.Int64, HasShape: true,
		Shape: graph.Shape{{Size: -1, Param: "batch"}, {Size: int64(seq)}}}}}
	return &Builder{g: g, rng: rand.New(rand.NewPCG(seed, 0x6e6e)), in: V{"input", []int{-1, seq}}, opset: 20}
}

// Input is the model input.
func (b *Builder) Input() V { return b.in }

// Graph exposes the graph under construction.
func (b *Builder) Graph() *graph.Graph { return b.g }

func (b *Builder) name(kind string) string {
	b.n++
	return fmt.Sprintf("%s%d", kind, b.n)
}

func (b *Builder) fail(format string, args ...any) {
	panic(fmt.Sprintf("nn: "+format, args...))
}

func (b *Builder) uniform(bound float64, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = float32((b.rng.Float64()*2 - 1) * bound)
	}
	return t
}

func fill(v float32, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = v
	}
	return t
}

func (b *Builder) param(name string, t *tensor.Tensor) string {
	b.g.AddInitializer(name, t)
	return name
}

func (b *Builder) node(op string, in []string, shape []int, attrs ...*graph.Attr) V {
	out := b.name(lower(op))
	b.g.AddNode(op, in, []string{out}, attrs...)
	return V{out, shape}
}

func lower(s string) string {
	r := []byte(s)
	if len(r) > 0 && r[0] >= 'A' && r[0] <= 'Z' {
		r[0] += 'a' - 'A'
	}
	return string(r)
}

// Conv2D is a k x k convolution with He-uniform weights and a bias.
// groups = channels gives a depthwise convolution.
func (b *Builder) Conv2D(x V, out, k, stride, pad, groups int) V {
	if len(x.Shape) != 4 {
		b.fail("Conv2D on %v (want [N C H W])", x.Shape)
	}
	c := x.Shape[1]
	if groups <= 0 || c%groups != 0 || out%groups != 0 {
		b.fail("Conv2D groups %d do not divide %d -> %d channels", groups, c, out)
	}
	name := b.name("conv")
	fanIn := c / groups * k * k
	w := b.param(name+".weight", b.uniform(math.Sqrt(6/float64(fanIn)), out, c/groups, k, k))
	bias := b.param(name+".bias", b.uniform(1/math.Sqrt(float64(fanIn)), out))
	h := (x.Shape[2]+2*pad-k)/stride + 1
	wd := (x.Shape[3]+2*pad-k)/stride + 1
	p, s := int64(pad), int64(stride)
	b.g.AddNode("Conv", []string{x.Name, w, bias}, []string{name},
		graph.IntsAttr("kernel_shape", int64(k), int64(k)), graph.IntsAttr("pads", p, p, p, p),
		graph.IntsAttr("strides", s, s), graph.AttrI("group", int64(groups)))
	return V{name, []int{x.Shape[0], out, h, wd}}
}

// Linear is x W^T + b over the last dimension: Gemm for 2-D inputs,
// MatMul + Add otherwise.
func (b *Builder) Linear(x V, out int) V {
	in := x.Shape[len(x.Shape)-1]
	name := b.name("fc")
	bound := math.Sqrt(6 / float64(in))
	bias := b.param(name+".bias", b.uniform(1/math.Sqrt(float64(in)), out))
	shape := append(append([]int(nil), x.Shape[:len(x.Shape)-1]...), out)
	if len(x.Shape) == 2 {
		w := b.param(name+".weight", b.uniform(bound, out, in))
		b.g.AddNode("Gemm", []string{x.Name, w, bias}, []string{name}, graph.AttrI("transB", 1))
		return V{name, shape}
	}
	w := b.param(name+".weight", b.uniform(bound, in, out))
	b.g.AddNode("MatMul", []string{x.Name, w}, []string{name + ".mm"})
	b.g.AddNode("Add", []string{name + ".mm", bias}, []string{name})
	return V{name, shape}
}

// BatchNorm normalises channels (dim 1) with batch statistics in training.
func (b *Builder) BatchNorm(x V) V {
	c := x.Shape[1]
	name := b.name("bn")
	in := []string{x.Name, b.param(name+".scale", fill(1, c)), b.param(name+".bias", fill(0, c)),
		b.param(name+".mean", fill(0, c)), b.param(name+".var", fill(1, c))}
	b.g.AddNode("BatchNormalization", in, []string{name}, graph.AttrF("epsilon", 1e-5), graph.AttrF("momentum", 0.9))
	return V{name, x.Shape}
}

// LayerNorm normalises the last dimension.
func (b *Builder) LayerNorm(x V) V {
	d := x.Shape[len(x.Shape)-1]
	name := b.name("ln")
	b.g.AddNode("LayerNormalization", []string{x.Name, b.param(name+".scale", fill(1, d)), b.param(name+".bias", fill(0, d))},
		[]string{name}, graph.AttrI("axis", -1), graph.AttrF("epsilon", 1e-5))
	return V{name, x.Shape}
}

// ReLU, ReLU6, GELU, SiLU, HardSwish, Sigmoid and Tanh are activations.
func (b *Builder) ReLU(x V) V { return b.node("Relu", []string{x.Name}, x.Shape) }

// ReLU6 is Clip(x, 0, 6).
func (b *Builder) ReLU6(x V) V {
	name := b.name("relu6")
	lo := b.param(name+".min", tensor.Scalar(float32(0)))
	hi := b.param(name+".max", tensor.Scalar(float32(6)))
	b.g.AddNode("Clip", []string{x.Name, lo, hi}, []string{name})
	return V{name, x.Shape}
}

// GELU is the exact (erf) GELU.
func (b *Builder) GELU(x V) V { return b.node("Gelu", []string{x.Name}, x.Shape) }

// SiLU is x * sigmoid(x).
func (b *Builder) SiLU(x V) V {
	s := b.node("Sigmoid", []string{x.Name}, x.Shape)
	return b.node("Mul", []string{x.Name, s.Name}, x.Shape)
}

// HardSwish is x * relu6(x+3)/6.
func (b *Builder) HardSwish(x V) V { return b.node("HardSwish", []string{x.Name}, x.Shape) }

// Dropout zeroes elements with probability ratio in training.
func (b *Builder) Dropout(x V, ratio float32) V {
	name := b.name("dropout")
	r := b.param(name+".ratio", tensor.Scalar(ratio))
	b.g.AddNode("Dropout", []string{x.Name, r}, []string{name})
	return V{name, x.Shape}
}

// MaxPool and AvgPool are k x k pools with stride k.
func (b *Builder) MaxPool(x V, k int) V { return b.pool("MaxPool", x, k) }

// AvgPool is a k x k average pool with stride k.
func (b *Builder) AvgPool(x V, k int) V { return b.pool("AveragePool", x, k) }

func (b *Builder) pool(op string, x V, k int) V {
	kk := int64(k)
	return b.node(op, []string{x.Name}, []int{x.Shape[0], x.Shape[1], x.Shape[2] / k, x.Shape[3] / k},
		graph.IntsAttr("kernel_shape", kk, kk), graph.IntsAttr("strides", kk, kk))
}

// GlobalAvgPool averages each channel to 1x1 and flattens to [N, C].
func (b *Builder) GlobalAvgPool(x V) V {
	g := b.node("GlobalAveragePool", []string{x.Name}, []int{x.Shape[0], x.Shape[1], 1, 1})
	return b.Flatten(g)
}

// Flatten reshapes to [N, rest].
func (b *Builder) Flatten(x V) V {
	n := 1
	for _, d := range x.Shape[1:] {
		n *= d
	}
	return b.node("Flatten", []string{x.Name}, []int{x.Shape[0], n}, graph.AttrI("axis", 1))
}

// Add is a residual connection (shapes must match).
func (b *Builder) Add(x, y V) V { return b.node("Add", []string{x.Name, y.Name}, x.Shape) }

// Concat joins values along axis.
func (b *Builder) Concat(axis int, xs ...V) V {
	shape := append([]int(nil), xs[0].Shape...)
	names := []string{}
	ax := axis
	if ax < 0 {
		ax += len(shape)
	}
	shape[ax] = 0
	for _, x := range xs {
		names = append(names, x.Name)
		shape[ax] += x.Shape[ax]
	}
	return b.node("Concat", names, shape, graph.AttrI("axis", int64(axis)))
}

// Embedding maps int64 token ids [N, T] to vectors [N, T, dim] (Gather).
func (b *Builder) Embedding(ids V, vocab, dim int) V {
	name := b.name("emb")
	w := b.param(name+".weight", b.uniform(math.Sqrt(3), vocab, dim))
	b.g.AddNode("Gather", []string{w, ids.Name}, []string{name}, graph.AttrI("axis", 0))
	return V{name, append(append([]int(nil), ids.Shape...), dim)}
}

// PositionalEmbedding adds a learned [T, D] table to x [N, T, D].
func (b *Builder) PositionalEmbedding(x V) V {
	t, d := x.Shape[1], x.Shape[2]
	name := b.name("pos")
	p := b.param(name+".weight", b.uniform(0.1, t, d))
	b.g.AddNode("Add", []string{x.Name, p}, []string{name})
	return V{name, x.Shape}
}

func (b *Builder) reshape(x V, shape ...int) V {
	name := b.name("reshape")
	s := make([]int64, len(shape))
	for i, d := range shape {
		s[i] = int64(d)
	}
	c := b.param(name+".shape", tensor.MustFromSlice(s, len(s)))
	b.g.AddNode("Reshape", []string{x.Name, c}, []string{name})
	out := append([]int(nil), shape...)
	out[0] = x.Shape[0]
	return V{name, out}
}

func (b *Builder) transpose(x V, perm ...int64) V {
	shape := make([]int, len(perm))
	for i, p := range perm {
		shape[i] = x.Shape[p]
	}
	return b.node("Transpose", []string{x.Name}, shape, graph.IntsAttr("perm", perm...))
}

// MultiHeadAttention is scaled dot-product self-attention over x [N, T, D]
// with `heads` heads: Q, K, V projections, softmax(Q K^T / sqrt(d)) V, and
// an output projection.
func (b *Builder) MultiHeadAttention(x V, heads int) V {
	t, d := x.Shape[1], x.Shape[2]
	if heads <= 0 || d%heads != 0 {
		b.fail("MultiHeadAttention: %d heads do not divide width %d", heads, d)
	}
	dh := d / heads
	split := func(p V, k bool) V {
		r := b.reshape(p, 0, t, heads, dh)
		if k {
			return b.transpose(r, 0, 2, 3, 1) // [N, H, dh, T]
		}
		return b.transpose(r, 0, 2, 1, 3) // [N, H, T, dh]
	}
	q := split(b.Linear(x, d), false)
	k := split(b.Linear(x, d), true)
	v := split(b.Linear(x, d), false)
	s := b.node("MatMul", []string{q.Name, k.Name}, []int{x.Shape[0], heads, t, t})
	name := b.name("scale")
	sc := b.param(name, tensor.Scalar(float32(1/math.Sqrt(float64(dh)))))
	s = b.node("Mul", []string{s.Name, sc}, s.Shape)
	a := b.node("Softmax", []string{s.Name}, s.Shape, graph.AttrI("axis", -1))
	o := b.node("MatMul", []string{a.Name, v.Name}, []int{x.Shape[0], heads, t, dh})
	o = b.transpose(o, 0, 2, 1, 3)
	o = b.reshape(o, 0, t, d)
	return b.Linear(o, d)
}

// TransformerBlock is a pre-norm encoder layer: x + MHA(LN(x)), then
// + MLP(LN(.)) with a GELU hidden layer of width mlp.
func (b *Builder) TransformerBlock(x V, heads, mlp int) V {
	h := b.Add(x, b.MultiHeadAttention(b.LayerNorm(x), heads))
	m := b.Linear(b.GELU(b.Linear(b.LayerNorm(h), mlp)), x.Shape[2])
	return b.Add(h, m)
}

// MeanPool averages over the sequence dimension: [N, T, D] -> [N, D].
func (b *Builder) MeanPool(x V) V {
	name := b.name("meanpool")
	ax := b.param(name+".axes", tensor.MustFromSlice([]int64{1}, 1))
	b.g.AddNode("ReduceMean", []string{x.Name, ax}, []string{name}, graph.AttrI("keepdims", 0))
	return V{name, []int{x.Shape[0], x.Shape[2]}}
}

// Model names y "logits", declares it the output and returns the model.
func (b *Builder) Model(y V) *graph.Model {
	for _, n := range b.g.Nodes {
		for i, o := range n.Outputs {
			if o == y.Name {
				n.Outputs[i] = "logits"
			}
		}
		for i, in := range n.Inputs {
			if in == y.Name {
				n.Inputs[i] = "logits"
			}
		}
	}
	shape := graph.Shape{{Size: -1, Param: "batch"}}
	for _, d := range y.Shape[1:] {
		shape = append(shape, graph.Dim{Size: int64(d)})
	}
	b.g.Outputs = []graph.ValueInfo{{Name: "logits", Type: graph.Type{DType: tensor.Float32, Shape: shape, HasShape: true}}}
	return &graph.Model{Graph: b.g, Opsets: []graph.OpsetImport{{Domain: "", Version: b.opset}}, IRVersion: 9,
		ProducerName: "frugal", ProducerVersion: "0.1"}
}
