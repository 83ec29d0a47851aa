package onnx

import (
	"errors"
	"fmt"
	"os"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// decoder carries the nesting depth through recursive messages.
type decoder struct{ depth int }

func (d *decoder) push() error {
	d.depth++
	if d.depth > maxDepth {
		return fmt.Errorf("messages nested more than %d levels deep", maxDepth)
	}
	return nil
}

func (d *decoder) pop() { d.depth-- }

// Decode parses a serialized ONNX ModelProto. Sparse initializers become
// dense initializers; fields frugal does not model are skipped. A malformed
// file gives an error naming what is wrong and where, never a panic.
func Decode(b []byte) (*graph.Model, error) {
	var d decoder
	m, err := d.model(b)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return m, nil
}

// Load reads and decodes an .onnx file.
func Load(path string) (*graph.Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	var d decoder
	m, err := d.model(b)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return m, nil
}

func (d *decoder) model(b []byte) (*graph.Model, error) {
	m := &graph.Model{}
	var graphBytes []byte
	var funcs [][]byte
	hasGraph := false
	err := walk(b, "ModelProto", func(f *wfield) error {
		var err error
		switch f.num {
		case modelIRVersion:
			m.IRVersion, err = f.int64("ModelProto.ir_version")
		case modelProducerName:
			m.ProducerName, err = f.str("ModelProto.producer_name")
		case modelProducerVersion:
			m.ProducerVersion, err = f.str("ModelProto.producer_version")
		case modelDomain:
			m.Domain, err = f.str("ModelProto.domain")
		case modelModelVersion:
			m.ModelVersion, err = f.int64("ModelProto.model_version")
		case modelDocString:
			m.Doc, err = f.str("ModelProto.doc_string")
		case modelGraph:
			graphBytes, err = f.msg("ModelProto.graph")
			hasGraph = true
		case modelOpsetImport:
			var o graph.OpsetImport
			if o, err = opsetImport(f, "ModelProto.opset_import"); err == nil {
				m.Opsets = append(m.Opsets, o)
			}
		case modelMetadataProps:
			var k, v string
			if k, v, err = entry(f, "ModelProto.metadata_props"); err == nil {
				if m.Metadata == nil {
					m.Metadata = map[string]string{}
				}
				m.Metadata[k] = v
			}
		case modelFunctions:
			var fb []byte
			if fb, err = f.msg("ModelProto.functions"); err == nil {
				funcs = append(funcs, fb)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !hasGraph {
		return nil, errors.New("model has no graph (ModelProto.graph is missing)")
	}
	if m.Graph, err = d.graph(graphBytes); err != nil {
		return nil, err
	}
	for i, fb := range funcs {
		fn, err := d.function(fb, i)
		if err != nil {
			return nil, err
		}
		if m.Functions == nil {
			m.Functions = map[string]*graph.Function{}
		}
		key := fn.Domain + ":" + fn.Name
		if _, dup := m.Functions[key]; dup {
			return nil, fmt.Errorf("function %q is defined twice", key)
		}
		m.Functions[key] = fn
	}
	return m, nil
}

func opsetImport(f *wfield, name string) (graph.OpsetImport, error) {
	var o graph.OpsetImport
	b, err := f.msg(name)
	if err != nil {
		return o, err
	}
	err = walk(b, "OperatorSetIdProto", func(f *wfield) error {
		var err error
		switch f.num {
		case opsetDomain:
			o.Domain, err = f.str("OperatorSetIdProto.domain")
		case opsetVersion:
			o.Version, err = f.int64("OperatorSetIdProto.version")
		}
		return err
	})
	return o, err
}

func entry(f *wfield, name string) (k, v string, err error) {
	b, err := f.msg(name)
	if err != nil {
		return "", "", err
	}
	err = walk(b, "StringStringEntryProto", func(f *wfield) error {
		var err error
		switch f.num {
		case entryKey:
			k, err = f.str("StringStringEntryProto.key")
		case entryValue:
			v, err = f.str("StringStringEntryProto.value")
		}
		return err
	})
	return k, v, err
}

func (d *decoder) graph(b []byte) (*graph.Graph, error) {
	if err := d.push(); err != nil {
		return nil, err
	}
	defer d.pop()
	g := graph.New("")
	var nodes, inits, sparse, inputs, outputs, infos [][]byte
	err := walk(b, "GraphProto", func(f *wfield) error {
		var err error
		var mb []byte
		switch f.num {
		case graphName:
			g.Name, err = f.str("GraphProto.name")
		case graphDocString:
			g.Doc, err = f.str("GraphProto.doc_string")
		case graphNode:
			mb, err = f.msg("GraphProto.node")
			nodes = append(nodes, mb)
		case graphInitializer:
			mb, err = f.msg("GraphProto.initializer")
			inits = append(inits, mb)
		case graphSparseInitializer:
			mb, err = f.msg("GraphProto.sparse_initializer")
			sparse = append(sparse, mb)
		case graphInput:
			mb, err = f.msg("GraphProto.input")
			inputs = append(inputs, mb)
		case graphOutput:
			mb, err = f.msg("GraphProto.output")
			outputs = append(outputs, mb)
		case graphValueInfo:
			mb, err = f.msg("GraphProto.value_info")
			infos = append(infos, mb)
		}
		return err
	})
	label := fmt.Sprintf("graph %q", g.Name)
	if err != nil {
		return nil, at(label, err)
	}
	for i, nb := range inputs {
		vi, err := d.valueInfo(nb)
		if err != nil {
			return nil, at(label, at(fmt.Sprintf("input #%d", i), err))
		}
		g.Inputs = append(g.Inputs, vi)
	}
	for i, nb := range outputs {
		vi, err := d.valueInfo(nb)
		if err != nil {
			return nil, at(label, at(fmt.Sprintf("output #%d", i), err))
		}
		g.Outputs = append(g.Outputs, vi)
	}
	for i, nb := range infos {
		vi, err := d.valueInfo(nb)
		if err != nil {
			return nil, at(label, at(fmt.Sprintf("value_info #%d", i), err))
		}
		g.ValueInfo[vi.Name] = vi
	}
	addInit := func(name string, t *tensor.Tensor, what string, i int) error {
		if name == "" {
			return at(label, fmt.Errorf("%s #%d has no name", what, i))
		}
		if _, dup := g.Initializers[name]; dup {
			return at(label, fmt.Errorf("initializer %q is defined twice", name))
		}
		g.AddInitializer(name, t)
		return nil
	}
	for i, tb := range inits {
		tp, err := parseTensorProto(tb)
		if err != nil {
			return nil, at(label, at(fmt.Sprintf("initializer #%d", i), err))
		}
		t, err := tp.toTensor()
		if err != nil {
			return nil, at(label, at(tp.label("initializer"), err))
		}
		if err := addInit(tp.name, t, "initializer", i); err != nil {
			return nil, err
		}
	}
	for i, sb := range sparse {
		t, name, err := d.sparseToDense(sb)
		if err != nil {
			if name != "" {
				return nil, at(label, at(fmt.Sprintf("sparse_initializer %q", name), err))
			}
			return nil, at(label, at(fmt.Sprintf("sparse_initializer #%d", i), err))
		}
		if err := addInit(name, t, "sparse_initializer", i); err != nil {
			return nil, err
		}
	}
	for i, nb := range nodes {
		n, err := d.node(nb, i)
		if err != nil {
			return nil, at(label, err)
		}
		g.Nodes = append(g.Nodes, n)
	}
	return g, nil
}

func (d *decoder) valueInfo(b []byte) (graph.ValueInfo, error) {
	var vi graph.ValueInfo
	var tb []byte
	hasType := false
	err := walk(b, "ValueInfoProto", func(f *wfield) error {
		var err error
		switch f.num {
		case valueInfoName:
			vi.Name, err = f.str("ValueInfoProto.name")
		case valueInfoType:
			tb, err = f.msg("ValueInfoProto.type")
			hasType = true
		case valueInfoDocString:
			vi.Doc, err = f.str("ValueInfoProto.doc_string")
		}
		return err
	})
	if err != nil {
		return vi, err
	}
	if hasType {
		if vi.Type, err = d.typeProto(tb); err != nil {
			return vi, at(fmt.Sprintf("value %q", vi.Name), err)
		}
	}
	return vi, nil
}

// elemType converts a TensorProto.DataType number from a type.
func elemType(v int32, name string) (tensor.DType, error) {
	if v < 0 || v > 255 {
		return 0, fmt.Errorf("%s %d is not a data type", name, v)
	}
	return tensor.DType(v), nil
}

func (d *decoder) typeProto(b []byte) (graph.Type, error) {
	var t graph.Type
	if err := d.push(); err != nil {
		return t, err
	}
	defer d.pop()
	err := walk(b, "TypeProto", func(f *wfield) error {
		var err error
		var mb []byte
		switch f.num {
		case typeTensor, typeSparseTensor:
			name := "TypeProto.tensor_type"
			t = graph.Type{Kind: graph.KindTensor}
			if f.num == typeSparseTensor {
				name = "TypeProto.sparse_tensor_type"
				t.Kind = graph.KindSparseTensor
			}
			if mb, err = f.msg(name); err != nil {
				return err
			}
			return walk(mb, name, func(f *wfield) error {
				var err error
				switch f.num {
				case typeTensorElemType:
					var v int32
					if v, err = f.int32(name + ".elem_type"); err == nil {
						t.DType, err = elemType(v, "elem_type")
					}
				case typeTensorShape:
					if mb, err = f.msg(name + ".shape"); err == nil {
						t.Shape, err = shapeProto(mb)
						t.HasShape = true
					}
				}
				return err
			})
		case typeSequence, typeOptional:
			name := "TypeProto.sequence_type"
			t = graph.Type{Kind: graph.KindSequence}
			if f.num == typeOptional {
				name = "TypeProto.optional_type"
				t.Kind = graph.KindOptional
			}
			if mb, err = f.msg(name); err != nil {
				return err
			}
			return walk(mb, name, func(f *wfield) error {
				if f.num != typeElemType {
					return nil
				}
				eb, err := f.msg(name + ".elem_type")
				if err != nil {
					return err
				}
				et, err := d.typeProto(eb)
				if err != nil {
					return err
				}
				t.Elem = &et
				return nil
			})
		case typeMap:
			name := "TypeProto.map_type"
			t = graph.Type{Kind: graph.KindMap}
			if mb, err = f.msg(name); err != nil {
				return err
			}
			return walk(mb, name, func(f *wfield) error {
				switch f.num {
				case typeMapKeyType:
					v, err := f.int32(name + ".key_type")
					if err != nil {
						return err
					}
					t.DType, err = elemType(v, "key_type")
					return err
				case typeMapValueType:
					eb, err := f.msg(name + ".value_type")
					if err != nil {
						return err
					}
					et, err := d.typeProto(eb)
					if err != nil {
						return err
					}
					t.Elem = &et
				}
				return nil
			})
		}
		return err
	})
	return t, err
}

func shapeProto(b []byte) (graph.Shape, error) {
	s := graph.Shape{}
	err := walk(b, "TensorShapeProto", func(f *wfield) error {
		if f.num != shapeDim {
			return nil
		}
		db, err := f.msg("TensorShapeProto.dim")
		if err != nil {
			return err
		}
		dim := graph.Dim{Size: -1}
		err = walk(db, "TensorShapeProto.Dimension", func(f *wfield) error {
			var err error
			switch f.num {
			case dimValue:
				var v int64
				if v, err = f.int64("Dimension.dim_value"); err == nil {
					dim = graph.Dim{Size: max(v, -1)}
				}
			case dimParam:
				var p string
				if p, err = f.str("Dimension.dim_param"); err == nil {
					dim = graph.Dim{Size: -1, Param: p}
				}
			}
			return err
		})
		s = append(s, dim)
		return err
	})
	return s, err
}

// nodeLabel names a node for errors: `node "conv1" (Conv)` or `node #3 (Conv)`.
func nodeLabel(n *graph.Node, i int) string {
	if n.Name != "" {
		return fmt.Sprintf("node %q (%s)", n.Name, n.OpType)
	}
	return fmt.Sprintf("node #%d (%s)", i, n.OpType)
}

func (d *decoder) node(b []byte, i int) (*graph.Node, error) {
	n := &graph.Node{Attrs: map[string]*graph.Attr{}}
	var attrs [][]byte
	err := walk(b, "NodeProto", func(f *wfield) error {
		var err error
		var s string
		switch f.num {
		case nodeInput:
			if s, err = f.str("NodeProto.input"); err == nil {
				n.Inputs = append(n.Inputs, s)
			}
		case nodeOutput:
			if s, err = f.str("NodeProto.output"); err == nil {
				n.Outputs = append(n.Outputs, s)
			}
		case nodeName:
			n.Name, err = f.str("NodeProto.name")
		case nodeOpType:
			n.OpType, err = f.str("NodeProto.op_type")
		case nodeDomain:
			n.Domain, err = f.str("NodeProto.domain")
		case nodeDocString:
			n.Doc, err = f.str("NodeProto.doc_string")
		case nodeAttribute:
			var ab []byte
			if ab, err = f.msg("NodeProto.attribute"); err == nil {
				attrs = append(attrs, ab)
			}
		}
		return err
	})
	if err != nil {
		return nil, at(fmt.Sprintf("node #%d", i), err)
	}
	for _, ab := range attrs {
		a, err := d.attr(ab)
		if err != nil {
			return nil, at(nodeLabel(n, i), err)
		}
		if _, dup := n.Attrs[a.Name]; dup {
			return nil, at(nodeLabel(n, i), fmt.Errorf("attribute %q is given twice", a.Name))
		}
		n.Attrs[a.Name] = a
	}
	return n, nil
}

// attrProto is an AttributeProto after the first pass.
type attrProto struct {
	typ                      int32
	hasType                  bool
	hasF, hasI, hasS         bool
	t, g, sparse, tp         []byte
	hasT, hasG, hasSp, hasTP bool
	floats                   []float32
	ints                     []int64
	strings                  []string
	tensors, graphs          [][]byte
	sparses, tps             [][]byte
}

func (d *decoder) attr(b []byte) (*graph.Attr, error) {
	if err := d.push(); err != nil {
		return nil, err
	}
	defer d.pop()
	a := &graph.Attr{}
	var p attrProto
	err := walk(b, "AttributeProto", func(f *wfield) error {
		var err error
		var mb []byte
		switch f.num {
		case attrName:
			a.Name, err = f.str("AttributeProto.name")
		case attrRefAttrName:
			a.RefAttrName, err = f.str("AttributeProto.ref_attr_name")
		case attrDocString:
			a.Doc, err = f.str("AttributeProto.doc_string")
		case attrType:
			p.typ, err = f.int32("AttributeProto.type")
			p.hasType = true
		case attrF:
			a.F, err = f.float32("AttributeProto.f")
			p.hasF = true
		case attrI:
			a.I, err = f.int64("AttributeProto.i")
			p.hasI = true
		case attrS:
			a.S, err = f.str("AttributeProto.s")
			p.hasS = true
		case attrT:
			p.t, err = f.msg("AttributeProto.t")
			p.hasT = true
		case attrG:
			p.g, err = f.msg("AttributeProto.g")
			p.hasG = true
		case attrSparseTensor:
			p.sparse, err = f.msg("AttributeProto.sparse_tensor")
			p.hasSp = true
		case attrTP:
			p.tp, err = f.msg("AttributeProto.tp")
			p.hasTP = true
		case attrFloats:
			p.floats, err = f.appendFloat32s(p.floats, "AttributeProto.floats")
		case attrInts:
			p.ints, err = f.appendInt64s(p.ints, "AttributeProto.ints")
		case attrStrings:
			var s string
			if s, err = f.str("AttributeProto.strings"); err == nil {
				p.strings = append(p.strings, s)
			}
		case attrTensors:
			mb, err = f.msg("AttributeProto.tensors")
			p.tensors = append(p.tensors, mb)
		case attrGraphs:
			mb, err = f.msg("AttributeProto.graphs")
			p.graphs = append(p.graphs, mb)
		case attrSparseTensors:
			mb, err = f.msg("AttributeProto.sparse_tensors")
			p.sparses = append(p.sparses, mb)
		case attrTypeProtos:
			mb, err = f.msg("AttributeProto.type_protos")
			p.tps = append(p.tps, mb)
		}
		return err
	})
	label := fmt.Sprintf("attribute %q", a.Name)
	if err != nil {
		return nil, at(label, err)
	}
	if p.hasType {
		if p.typ < 0 || p.typ > 255 {
			return nil, at(label, fmt.Errorf("type %d is not an attribute type", p.typ))
		}
		a.Type = graph.AttrType(p.typ)
	} else {
		a.Type = p.inferType()
	}
	keepF, keepI, keepS := a.F, a.I, a.S
	a.F, a.I, a.S = 0, 0, ""
	switch a.Type {
	case graph.AttrFloat:
		a.F = keepF
	case graph.AttrInt:
		a.I = keepI
	case graph.AttrString:
		a.S = keepS
	case graph.AttrFloats:
		a.Floats = p.floats
	case graph.AttrInts:
		a.Ints = p.ints
	case graph.AttrStrings:
		a.Strings = p.strings
	case graph.AttrTensor:
		if p.hasT {
			if a.T, err = d.tensor(p.t, "tensor"); err != nil {
				return nil, at(label, err)
			}
		}
	case graph.AttrSparseTensor:
		if p.hasSp {
			if a.T, _, err = d.sparseToDense(p.sparse); err != nil {
				return nil, at(label, at("sparse_tensor", err))
			}
		}
	case graph.AttrGraph:
		if p.hasG {
			if a.G, err = d.graph(p.g); err != nil {
				return nil, at(label, err)
			}
		}
	case graph.AttrTypeProto:
		if p.hasTP {
			var t graph.Type
			if t, err = d.typeProto(p.tp); err != nil {
				return nil, at(label, err)
			}
			a.TP = &t
		}
	case graph.AttrTensors:
		for i, tb := range p.tensors {
			t, err := d.tensor(tb, fmt.Sprintf("tensor #%d", i))
			if err != nil {
				return nil, at(label, err)
			}
			a.Tensors = append(a.Tensors, t)
		}
	case AttrSparseTensors:
		for i, sb := range p.sparses {
			t, _, err := d.sparseToDense(sb)
			if err != nil {
				return nil, at(label, at(fmt.Sprintf("sparse_tensor #%d", i), err))
			}
			a.Tensors = append(a.Tensors, t)
		}
	case graph.AttrGraphs:
		for _, gb := range p.graphs {
			g, err := d.graph(gb)
			if err != nil {
				return nil, at(label, err)
			}
			a.Graphs = append(a.Graphs, g)
		}
	case graph.AttrTypeProtos:
		for _, tb := range p.tps {
			t, err := d.typeProto(tb)
			if err != nil {
				return nil, at(label, err)
			}
			a.TPs = append(a.TPs, t)
		}
	}
	return a, nil
}

// AttrSparseTensors is ONNX's SPARSE_TENSORS attribute type, which the graph
// package does not name. Its sparse tensors are stored densified in
// Attr.Tensors (as AttrSparseTensor's is in Attr.T).
const AttrSparseTensors graph.AttrType = 12 // AttributeProto.AttributeType.SPARSE_TENSORS = 12

// inferType guesses the type of an attribute written before IR version 2,
// which had no type field, from the value field present.
func (p *attrProto) inferType() graph.AttrType {
	switch {
	case p.hasF:
		return graph.AttrFloat
	case p.hasI:
		return graph.AttrInt
	case p.hasS:
		return graph.AttrString
	case p.hasT:
		return graph.AttrTensor
	case p.hasG:
		return graph.AttrGraph
	case p.hasSp:
		return graph.AttrSparseTensor
	case p.hasTP:
		return graph.AttrTypeProto
	case len(p.floats) > 0:
		return graph.AttrFloats
	case len(p.ints) > 0:
		return graph.AttrInts
	case len(p.strings) > 0:
		return graph.AttrStrings
	case len(p.tensors) > 0:
		return graph.AttrTensors
	case len(p.graphs) > 0:
		return graph.AttrGraphs
	case len(p.sparses) > 0:
		return AttrSparseTensors
	case len(p.tps) > 0:
		return graph.AttrTypeProtos
	}
	return graph.AttrUndefined
}

// tensor decodes a TensorProto labelled kind ("tensor", "tensor #2") for errors.
func (d *decoder) tensor(b []byte, kind string) (*tensor.Tensor, error) {
	tp, err := parseTensorProto(b)
	if err != nil {
		return nil, at(kind, err)
	}
	t, err := tp.toTensor()
	if err != nil {
		return nil, at(tp.label(kind), err)
	}
	return t, nil
}

func (d *decoder) function(b []byte, i int) (*graph.Function, error) {
	fn := &graph.Function{}
	var nodes, attrs [][]byte
	err := walk(b, "FunctionProto", func(f *wfield) error {
		var err error
		var s string
		var mb []byte
		switch f.num {
		case funcName:
			fn.Name, err = f.str("FunctionProto.name")
		case funcDomain:
			fn.Domain, err = f.str("FunctionProto.domain")
		case funcInput:
			if s, err = f.str("FunctionProto.input"); err == nil {
				fn.Inputs = append(fn.Inputs, s)
			}
		case funcOutput:
			if s, err = f.str("FunctionProto.output"); err == nil {
				fn.Outputs = append(fn.Outputs, s)
			}
		case funcAttribute:
			if s, err = f.str("FunctionProto.attribute"); err == nil {
				fn.AttrNames = append(fn.AttrNames, s)
			}
		case funcAttributeProto:
			mb, err = f.msg("FunctionProto.attribute_proto")
			attrs = append(attrs, mb)
		case funcNode:
			mb, err = f.msg("FunctionProto.node")
			nodes = append(nodes, mb)
		case funcOpsetImport:
			var o graph.OpsetImport
			if o, err = opsetImport(f, "FunctionProto.opset_import"); err == nil {
				fn.Opsets = append(fn.Opsets, o)
			}
		}
		return err
	})
	if err != nil {
		return nil, at(fmt.Sprintf("function #%d", i), err)
	}
	label := fmt.Sprintf("function %q", fn.Domain+":"+fn.Name)
	for _, ab := range attrs {
		a, err := d.attr(ab)
		if err != nil {
			return nil, at(label, err)
		}
		if fn.AttrDefaults == nil {
			fn.AttrDefaults = map[string]*graph.Attr{}
		}
		if _, dup := fn.AttrDefaults[a.Name]; dup {
			return nil, at(label, fmt.Errorf("attribute %q is declared twice", a.Name))
		}
		fn.AttrDefaults[a.Name] = a
		fn.AttrNames = append(fn.AttrNames, a.Name)
	}
	for i, nb := range nodes {
		n, err := d.node(nb, i)
		if err != nil {
			return nil, at(label, err)
		}
		fn.Nodes = append(fn.Nodes, n)
	}
	return fn, nil
}
