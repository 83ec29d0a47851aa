// Package zoo builds the reference architectures frugal compares against
// other frameworks, as graph IR with freshly initialised weights. The
// architectures are fixed by specification (see each builder) so that
// results line up with published numbers and with PyTorch runs.
package zoo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Builder makes a model for inputs of shape [batch, c, h, w] and a number of
// classes. A batch of -1 declares a symbolic batch dimension.
type Builder func(seed uint64) *graph.Model

var builders = map[string]Builder{
	"lenet5":        LeNet5,
	"lenet-300-100": LeNet300100,
	"small-cnn":     SmallCNN,
}

// Names lists the zoo's models.
func Names() []string {
	var out []string
	for k := range builders {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Build makes the named model with weights initialised from seed.
func Build(name string, seed uint64) (*graph.Model, error) {
	b, ok := builders[name]
	if !ok {
		return nil, fmt.Errorf("zoo: unknown model %q (have %v)", name, Names())
	}
	return b(seed), nil
}

// net accumulates layers into a graph.
type net struct {
	g    *graph.Graph
	rng  *rand.Rand
	cur  string
	c    int // channels (or features) of cur
	h, w int
	n    int
}

func newNet(name string, seed uint64, c, h, w int) *net {
	g := graph.New(name)
	in := graph.ValueInfo{Name: "input", Type: graph.Type{DType: tensor.Float32, HasShape: true,
		Shape: graph.Shape{{Size: -1, Param: "batch"}, {Size: int64(c)}, {Size: int64(h)}, {Size: int64(w)}}}}
	g.Inputs = []graph.ValueInfo{in}
	return &net{g: g, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), cur: "input", c: c, h: h, w: w}
}

func (t *net) name(kind string) string {
	t.n++
	return fmt.Sprintf("%s%d", kind, t.n)
}

// kaiming fills a weight with He-uniform init (PyTorch's default for conv
// and linear layers is kaiming_uniform with a=sqrt(5); He init trains these
// small ReLU nets reliably).
func (t *net) kaiming(fanIn int, shape ...int) *tensor.Tensor {
	w := tensor.New(tensor.Float32, shape...)
	bound := math.Sqrt(6.0 / float64(fanIn))
	for i := range w.F32() {
		w.F32()[i] = float32((t.rng.Float64()*2 - 1) * bound)
	}
	return w
}

func (t *net) bias(fanIn, n int) *tensor.Tensor {
	b := tensor.New(tensor.Float32, n)
	bound := 1 / math.Sqrt(float64(fanIn))
	for i := range b.F32() {
		b.F32()[i] = float32((t.rng.Float64()*2 - 1) * bound)
	}
	return b
}

func (t *net) conv(cout, k, pad int) {
	name := t.name("conv")
	fanIn := t.c * k * k
	t.g.AddInitializer(name+".weight", t.kaiming(fanIn, cout, t.c, k, k))
	t.g.AddInitializer(name+".bias", t.bias(fanIn, cout))
	p := int64(pad)
	t.g.AddNode("Conv", []string{t.cur, name + ".weight", name + ".bias"}, []string{name},
		graph.IntsAttr("kernel_shape", int64(k), int64(k)), graph.IntsAttr("pads", p, p, p, p), graph.IntsAttr("strides", 1, 1))
	t.cur, t.c = name, cout
	t.h, t.w = t.h+2*pad-k+1, t.w+2*pad-k+1
}

func (t *net) relu() {
	name := t.name("relu")
	t.g.AddNode("Relu", []string{t.cur}, []string{name})
	t.cur = name
}

func (t *net) maxpool(k int) {
	name := t.name("pool")
	t.g.AddNode("MaxPool", []string{t.cur}, []string{name},
		graph.IntsAttr("kernel_shape", int64(k), int64(k)), graph.IntsAttr("strides", int64(k), int64(k)))
	t.cur = name
	t.h, t.w = t.h/k, t.w/k
}

func (t *net) flatten() {
	name := t.name("flatten")
	t.g.AddNode("Flatten", []string{t.cur}, []string{name}, graph.AttrI("axis", 1))
	t.cur = name
	t.c, t.h, t.w = t.c*t.h*t.w, 1, 1
}

func (t *net) fc(out int) {
	name := t.name("fc")
	t.g.AddInitializer(name+".weight", t.kaiming(t.c, out, t.c))
	t.g.AddInitializer(name+".bias", t.bias(t.c, out))
	t.g.AddNode("Gemm", []string{t.cur, name + ".weight", name + ".bias"}, []string{name}, graph.AttrI("transB", 1))
	t.cur, t.c = name, out
}

func (t *net) model(classes int) *graph.Model {
	// Name the final logits "logits" for readability.
	last := t.g.Nodes[len(t.g.Nodes)-1]
	last.Outputs[0] = "logits"
	last.Name = "logits"
	t.g.Outputs = []graph.ValueInfo{{Name: "logits", Type: graph.Type{DType: tensor.Float32, HasShape: true,
		Shape: graph.Shape{{Size: -1, Param: "batch"}, {Size: int64(classes)}}}}}
	return &graph.Model{Graph: t.g, Opsets: []graph.OpsetImport{{Domain: "", Version: 17}}, IRVersion: 8,
		ProducerName: "frugal", ProducerVersion: "0.1"}
}

// LeNet5 is LeNet-5 as in the Deep Compression paper (Han et al. 2016):
// conv 5x5 1->6 pad 2, ReLU, max-pool 2, conv 5x5 6->16, ReLU, max-pool 2,
// fc 400->120->84->10 with ReLU between. 61,706 parameters.
func LeNet5(seed uint64) *graph.Model {
	t := newNet("lenet5", seed, 1, 28, 28)
	t.conv(6, 5, 2)
	t.relu()
	t.maxpool(2)
	t.conv(16, 5, 0)
	t.relu()
	t.maxpool(2)
	t.flatten()
	t.fc(120)
	t.relu()
	t.fc(84)
	t.relu()
	t.fc(10)
	return t.model(10)
}

// LeNet300100 is the fully connected LeNet-300-100: 784->300->100->10.
func LeNet300100(seed uint64) *graph.Model {
	t := newNet("lenet-300-100", seed, 1, 28, 28)
	t.flatten()
	t.fc(300)
	t.relu()
	t.fc(100)
	t.relu()
	t.fc(10)
	return t.model(10)
}

// SmallCNN is conv 3x3 1->32 pad 1, ReLU, max-pool 2, conv 3x3 32->64 pad 1,
// ReLU, max-pool 2, fc 3136->128, ReLU, fc 128->10.
func SmallCNN(seed uint64) *graph.Model {
	t := newNet("small-cnn", seed, 1, 28, 28)
	t.conv(32, 3, 1)
	t.relu()
	t.maxpool(2)
	t.conv(64, 3, 1)
	t.relu()
	t.maxpool(2)
	t.flatten()
	t.fc(128)
	t.relu()
	t.fc(10)
	return t.model(10)
}

// Params counts the float parameters (initializer elements) of a model.
func Params(m *graph.Model) int {
	n := 0
	for _, t := range m.Graph.Initializers {
		n += t.Len()
	}
	return n
}
