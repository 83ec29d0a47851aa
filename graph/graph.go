// Package graph is frugal's one intermediate representation: the same graph
// is imported from ONNX, built by the model zoo, trained by autograd,
// rewritten by compression passes, executed by the runtime and exported.
//
// It mirrors ONNX's structure (named values, nodes with attributes,
// initializers) so that import and export are lossless, and so that every
// pass can be stated in terms users already know from ONNX.
package graph

import (
	"fmt"
	"sort"

	"github.com/frugal-ml/frugal/tensor"
)

// Dim is one dimension of a value's shape: a known size (Size >= 0) or a
// symbolic one (Size < 0, Param names it, e.g. "batch").
type Dim struct {
	Size  int64
	Param string
}

// Known reports whether the dimension has a concrete size.
func (d Dim) Known() bool { return d.Size >= 0 }

func (d Dim) String() string {
	if d.Known() {
		return fmt.Sprint(d.Size)
	}
	if d.Param != "" {
		return d.Param
	}
	return "?"
}

// Shape is a possibly partly symbolic shape. A nil Shape with HasShape false
// in ValueInfo means the rank is unknown.
type Shape []Dim

// ConcreteShape builds a Shape from known sizes.
func ConcreteShape(dims ...int) Shape {
	s := make(Shape, len(dims))
	for i, d := range dims {
		s[i] = Dim{Size: int64(d)}
	}
	return s
}

// Ints returns the sizes and whether all are known.
func (s Shape) Ints() ([]int, bool) {
	out := make([]int, len(s))
	for i, d := range s {
		if !d.Known() {
			return nil, false
		}
		out[i] = int(d.Size)
	}
	return out, true
}

func (s Shape) String() string {
	str := "["
	for i, d := range s {
		if i > 0 {
			str += ","
		}
		str += d.String()
	}
	return str + "]"
}

// TypeKind says what kind of value a ValueInfo describes.
type TypeKind uint8

// Value kinds. Tensor is the zero value; sequences and optionals wrap an
// element type (ONNX seq(T) and opt(T)).
const (
	KindTensor TypeKind = iota
	KindSequence
	KindOptional
	KindMap
	KindSparseTensor
)

// Type is a value's type: a tensor dtype and shape, or a sequence/optional
// of an element type.
type Type struct {
	Kind     TypeKind
	DType    tensor.DType // for tensors
	Shape    Shape        // for tensors, meaningful when HasShape
	HasShape bool
	Elem     *Type // for sequences and optionals
}

// ValueInfo names a value and its (possibly partial) type.
type ValueInfo struct {
	Name string
	Type Type
	Doc  string
}

// TensorInfo builds a ValueInfo for a tensor with known dtype and shape.
func TensorInfo(name string, dt tensor.DType, dims ...int) ValueInfo {
	return ValueInfo{Name: name, Type: Type{DType: dt, Shape: ConcreteShape(dims...), HasShape: true}}
}

// AttrType mirrors ONNX's AttributeProto.AttributeType.
type AttrType uint8

// Attribute types, numbered as in ONNX.
const (
	AttrUndefined    AttrType = 0
	AttrFloat        AttrType = 1
	AttrInt          AttrType = 2
	AttrString       AttrType = 3
	AttrTensor       AttrType = 4
	AttrGraph        AttrType = 5
	AttrFloats       AttrType = 6
	AttrInts         AttrType = 7
	AttrStrings      AttrType = 8
	AttrTensors      AttrType = 9
	AttrGraphs       AttrType = 10
	AttrSparseTensor AttrType = 11
	AttrTypeProto    AttrType = 13
	AttrTypeProtos   AttrType = 14
)

// Attr is one node attribute. Only the field matching Type is meaningful.
// RefAttrName is set for attributes that refer to an enclosing function's
// attribute (ONNX ref_attr_name).
type Attr struct {
	Name        string
	Type        AttrType
	F           float32
	I           int64
	S           string
	T           *tensor.Tensor
	G           *Graph
	Floats      []float32
	Ints        []int64
	Strings     []string
	Tensors     []*tensor.Tensor
	Graphs      []*Graph
	TP          *Type
	TPs         []Type
	RefAttrName string
	Doc         string
}

// Node is one operator application. Inputs and Outputs name values; an empty
// name marks an omitted optional input or output.
type Node struct {
	Name    string
	OpType  string
	Domain  string // "" or "ai.onnx" for the default domain
	Inputs  []string
	Outputs []string
	Attrs   map[string]*Attr
	Doc     string
}

// Graph is a computation: nodes over named values, with declared inputs and
// outputs, constant initializers and optional value annotations.
type Graph struct {
	Name         string
	Doc          string
	Nodes        []*Node
	Inputs       []ValueInfo
	Outputs      []ValueInfo
	Initializers map[string]*tensor.Tensor
	// InitOrder keeps initializer order stable for export and reports.
	InitOrder []string
	ValueInfo map[string]ValueInfo
}

// New returns an empty graph.
func New(name string) *Graph {
	return &Graph{Name: name, Initializers: map[string]*tensor.Tensor{}, ValueInfo: map[string]ValueInfo{}}
}

// OpsetImport pins an operator set version for a domain.
type OpsetImport struct {
	Domain  string
	Version int64
}

// Model wraps a graph with the metadata ONNX keeps around it.
type Model struct {
	Graph           *Graph
	Opsets          []OpsetImport
	IRVersion       int64
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	Doc             string
	Metadata        map[string]string
	// Functions holds model-local functions (ONNX FunctionProto), keyed by
	// domain + ":" + name.
	Functions map[string]*Function
}

// Function is a model-local ONNX function: a named sub-graph with formal
// inputs, outputs and attribute names, expanded at load time.
type Function struct {
	Name, Domain string
	Inputs       []string
	Outputs      []string
	AttrNames    []string
	AttrDefaults map[string]*Attr
	Nodes        []*Node
	Opsets       []OpsetImport
}

// Opset returns the imported version for domain ("" and "ai.onnx" are the
// default domain), or 0 when it is not imported.
func (m *Model) Opset(domain string) int64 {
	if domain == "ai.onnx" {
		domain = ""
	}
	for _, o := range m.Opsets {
		d := o.Domain
		if d == "ai.onnx" {
			d = ""
		}
		if d == domain {
			return o.Version
		}
	}
	return 0
}

// AddInitializer stores a constant tensor under name.
func (g *Graph) AddInitializer(name string, t *tensor.Tensor) {
	if g.Initializers == nil {
		g.Initializers = map[string]*tensor.Tensor{}
	}
	if _, ok := g.Initializers[name]; !ok {
		g.InitOrder = append(g.InitOrder, name)
	}
	g.Initializers[name] = t
}

// RemoveInitializer deletes a constant.
func (g *Graph) RemoveInitializer(name string) {
	if _, ok := g.Initializers[name]; !ok {
		return
	}
	delete(g.Initializers, name)
	for i, n := range g.InitOrder {
		if n == name {
			g.InitOrder = append(g.InitOrder[:i], g.InitOrder[i+1:]...)
			break
		}
	}
}

// InitializerNames returns initializer names in insertion order (sorted
// names of any that were added to the map directly are appended).
func (g *Graph) InitializerNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range g.InitOrder {
		if _, ok := g.Initializers[n]; ok && !seen[n] {
			out = append(out, n)
			seen[n] = true
		}
	}
	var extra []string
	for n := range g.Initializers {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

// AddNode appends a node and returns it.
func (g *Graph) AddNode(op string, inputs, outputs []string, attrs ...*Attr) *Node {
	n := &Node{OpType: op, Inputs: inputs, Outputs: outputs, Attrs: map[string]*Attr{}}
	for _, a := range attrs {
		n.Attrs[a.Name] = a
	}
	if len(outputs) > 0 {
		n.Name = outputs[0]
	}
	g.Nodes = append(g.Nodes, n)
	return n
}

// Producers maps each value name to the node producing it.
func (g *Graph) Producers() map[string]*Node {
	m := map[string]*Node{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				m[o] = n
			}
		}
	}
	return m
}

// Consumers maps each value name to the nodes reading it (graph outputs are
// not included).
func (g *Graph) Consumers() map[string][]*Node {
	m := map[string][]*Node{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != "" {
				m[in] = append(m[in], n)
			}
		}
	}
	return m
}

// IsGraphOutput reports whether name is one of the graph's outputs.
func (g *Graph) IsGraphOutput(name string) bool {
	for _, o := range g.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

// Clone deep-copies the graph structure; initializer tensors are shared
// (passes replace, never mutate, initializers).
func (g *Graph) Clone() *Graph {
	c := &Graph{Name: g.Name, Doc: g.Doc,
		Inputs: append([]ValueInfo(nil), g.Inputs...), Outputs: append([]ValueInfo(nil), g.Outputs...),
		Initializers: map[string]*tensor.Tensor{}, InitOrder: append([]string(nil), g.InitOrder...),
		ValueInfo: map[string]ValueInfo{}}
	for k, v := range g.Initializers {
		c.Initializers[k] = v
	}
	for k, v := range g.ValueInfo {
		c.ValueInfo[k] = v
	}
	for _, n := range g.Nodes {
		c.Nodes = append(c.Nodes, n.Clone())
	}
	return c
}

// Clone copies a node (attributes are copied shallowly, subgraphs deeply).
func (n *Node) Clone() *Node {
	c := *n
	c.Inputs = append([]string(nil), n.Inputs...)
	c.Outputs = append([]string(nil), n.Outputs...)
	c.Attrs = make(map[string]*Attr, len(n.Attrs))
	for k, a := range n.Attrs {
		ac := *a
		if a.G != nil {
			ac.G = a.G.Clone()
		}
		if a.Graphs != nil {
			ac.Graphs = make([]*Graph, len(a.Graphs))
			for i, sg := range a.Graphs {
				ac.Graphs[i] = sg.Clone()
			}
		}
		c.Attrs[k] = &ac
	}
	return &c
}

// Describe names a node for error messages: `node "conv1" (Conv)`.
func (n *Node) Describe() string {
	name := n.Name
	if name == "" && len(n.Outputs) > 0 {
		name = n.Outputs[0]
	}
	return fmt.Sprintf("node %q (%s)", name, n.OpType)
}
