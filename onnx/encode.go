package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Encode serializes a model as an ONNX ModelProto. Tensors are written as
// little-endian raw_data (4-bit types packed two per byte, 2-bit types four
// per byte; strings in string_data). Attributes, value_info, metadata and
// functions, which frugal keeps in maps, are written sorted by name;
// initializers follow graph.InitializerNames. An IRVersion of 0 becomes 8
// for default-domain opsets up to 18 and 10 for newer ones.
func Encode(m *graph.Model) ([]byte, error) {
	if m == nil {
		return nil, errors.New("onnx: nil model")
	}
	if m.Graph == nil {
		return nil, errors.New("onnx: model has no graph")
	}
	b, err := encodeMessage(func(e *encoder) { e.model(m) })
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return b, nil
}

// Save writes the model to path atomically: it encodes into a temporary file
// in the same directory, syncs it and renames it over path, so a crash never
// leaves a half-written model behind.
func Save(path string, m *graph.Model) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

func writeFileAtomic(path string, b []byte) (err error) {
	dir := filepath.Dir(path)
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("onnx: saving %s: %w", path, err)
		}
	}()
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename durable; not every platform can sync a directory.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// defaultIRVersion picks the IR version to write when the model has none.
func defaultIRVersion(m *graph.Model) int64 {
	if m.Opset("") <= 18 {
		return 8
	}
	return 10
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (e *encoder) model(m *graph.Model) {
	ir := m.IRVersion
	if ir == 0 {
		ir = defaultIRVersion(m)
	}
	e.int64(modelIRVersion, ir)
	e.optStr(modelProducerName, m.ProducerName)
	e.optStr(modelProducerVersion, m.ProducerVersion)
	e.optStr(modelDomain, m.Domain)
	e.optInt64(modelModelVersion, m.ModelVersion)
	e.optStr(modelDocString, m.Doc)
	e.message(modelGraph, func(e *encoder) { e.graph(m.Graph) })
	for _, o := range m.Opsets {
		e.message(modelOpsetImport, func(e *encoder) { e.opset(o) })
	}
	for _, k := range sortedKeys(m.Metadata) {
		v := m.Metadata[k]
		e.message(modelMetadataProps, func(e *encoder) {
			e.str(entryKey, k)
			e.str(entryValue, v)
		})
	}
	for _, k := range sortedKeys(m.Functions) {
		fn := m.Functions[k]
		if fn == nil {
			e.fail(fmt.Errorf("function %q is nil", k))
			return
		}
		e.message(modelFunctions, func(e *encoder) { e.function(fn) })
	}
}

func (e *encoder) opset(o graph.OpsetImport) {
	e.str(opsetDomain, o.Domain)
	e.int64(opsetVersion, o.Version)
}

func (e *encoder) graph(g *graph.Graph) {
	if g == nil {
		e.fail(errors.New("nil graph"))
		return
	}
	label := fmt.Sprintf("graph %q", g.Name)
	if e.depth >= maxDepth {
		e.fail(at(label, fmt.Errorf("subgraphs nested more than %d levels deep (does a graph contain itself?)", maxDepth)))
		return
	}
	e.depth++
	defer func() { e.depth-- }()
	for i, n := range g.Nodes {
		if n == nil {
			e.fail(at(label, fmt.Errorf("node #%d is nil", i)))
			return
		}
		e.message(graphNode, func(e *encoder) { e.node(n) })
		if e.err != nil {
			e.err = at(label, at(nodeLabel(n, i), e.err))
			return
		}
	}
	e.optStr(graphName, g.Name)
	for _, name := range g.InitializerNames() {
		t := g.Initializers[name]
		e.message(graphInitializer, func(e *encoder) { e.tensorBody(t, name) })
		if e.err != nil {
			e.err = at(label, at(fmt.Sprintf("initializer %q", name), e.err))
			return
		}
	}
	e.optStr(graphDocString, g.Doc)
	for _, vi := range g.Inputs {
		e.message(graphInput, func(e *encoder) { e.valueInfo(vi) })
	}
	for _, vi := range g.Outputs {
		e.message(graphOutput, func(e *encoder) { e.valueInfo(vi) })
	}
	for _, k := range sortedKeys(g.ValueInfo) {
		vi := g.ValueInfo[k]
		vi.Name = k
		e.message(graphValueInfo, func(e *encoder) { e.valueInfo(vi) })
	}
	if e.err != nil {
		e.err = at(label, e.err)
	}
}

func (e *encoder) valueInfo(vi graph.ValueInfo) {
	e.str(valueInfoName, vi.Name)
	if !isZeroType(vi.Type) {
		e.message(valueInfoType, func(e *encoder) { e.typeProto(vi.Type) })
	}
	e.optStr(valueInfoDocString, vi.Doc)
	if e.err != nil {
		e.err = at(fmt.Sprintf("value %q", vi.Name), e.err)
	}
}

func isZeroType(t graph.Type) bool {
	return t.Kind == graph.KindTensor && t.DType == 0 && !t.HasShape && t.Elem == nil
}

func (e *encoder) typeProto(t graph.Type) {
	switch t.Kind {
	case graph.KindTensor, graph.KindSparseTensor:
		num := typeTensor
		if t.Kind == graph.KindSparseTensor {
			num = typeSparseTensor
		}
		e.message(num, func(e *encoder) {
			e.optInt64(typeTensorElemType, int64(t.DType))
			if t.HasShape {
				e.message(typeTensorShape, func(e *encoder) { e.shape(t.Shape) })
			}
		})
	case graph.KindSequence, graph.KindOptional:
		num := typeSequence
		if t.Kind == graph.KindOptional {
			num = typeOptional
		}
		e.message(num, func(e *encoder) {
			if t.Elem != nil {
				e.message(typeElemType, func(e *encoder) { e.typeProto(*t.Elem) })
			}
		})
	case graph.KindMap:
		e.message(typeMap, func(e *encoder) {
			e.int64(typeMapKeyType, int64(t.DType))
			if t.Elem != nil {
				e.message(typeMapValueType, func(e *encoder) { e.typeProto(*t.Elem) })
			}
		})
	default:
		e.fail(fmt.Errorf("unknown type kind %d", t.Kind))
	}
}

func (e *encoder) shape(s graph.Shape) {
	for _, d := range s {
		e.message(shapeDim, func(e *encoder) {
			switch {
			case d.Known():
				e.int64(dimValue, d.Size)
			case d.Param != "":
				e.str(dimParam, d.Param)
			}
		})
	}
}

func (e *encoder) node(n *graph.Node) {
	for _, s := range n.Inputs {
		e.str(nodeInput, s)
	}
	for _, s := range n.Outputs {
		e.str(nodeOutput, s)
	}
	e.optStr(nodeName, n.Name)
	e.str(nodeOpType, n.OpType)
	for _, k := range sortedKeys(n.Attrs) {
		a := n.Attrs[k]
		if a == nil {
			e.fail(fmt.Errorf("attribute %q is nil", k))
			return
		}
		e.message(nodeAttribute, func(e *encoder) { e.attr(a, k) })
		if e.err != nil {
			return
		}
	}
	e.optStr(nodeDocString, n.Doc)
	e.optStr(nodeDomain, n.Domain)
}

// attr writes an AttributeProto; key is the name it is stored under.
func (e *encoder) attr(a *graph.Attr, key string) {
	name := a.Name
	if name == "" {
		name = key
	}
	label := fmt.Sprintf("attribute %q", name)
	e.str(attrName, name)
	if a.RefAttrName == "" {
		switch a.Type {
		case graph.AttrFloat:
			e.float32(attrF, a.F)
		case graph.AttrInt:
			e.int64(attrI, a.I)
		case graph.AttrString:
			e.str(attrS, a.S)
		case graph.AttrTensor:
			if a.T != nil {
				e.message(attrT, func(e *encoder) { e.tensorBody(a.T, "") })
			}
		case graph.AttrGraph:
			if a.G != nil {
				e.message(attrG, func(e *encoder) { e.graph(a.G) })
			}
		case graph.AttrFloats:
			for _, v := range a.Floats {
				e.float32(attrFloats, v)
			}
		case graph.AttrInts:
			for _, v := range a.Ints {
				e.int64(attrInts, v)
			}
		case graph.AttrStrings:
			for _, v := range a.Strings {
				e.str(attrStrings, v)
			}
		case graph.AttrTensors:
			for _, t := range a.Tensors {
				e.message(attrTensors, func(e *encoder) { e.tensorBody(t, "") })
			}
		case graph.AttrGraphs:
			for _, g := range a.Graphs {
				e.message(attrGraphs, func(e *encoder) { e.graph(g) })
			}
		case graph.AttrTypeProto:
			if a.TP != nil {
				e.message(attrTP, func(e *encoder) { e.typeProto(*a.TP) })
			}
		case graph.AttrTypeProtos:
			for _, t := range a.TPs {
				e.message(attrTypeProtos, func(e *encoder) { e.typeProto(t) })
			}
		case graph.AttrSparseTensor:
			if a.T != nil {
				e.message(attrSparseTensor, func(e *encoder) { e.sparseBody(a.T, "") })
			}
		case AttrSparseTensors:
			for _, t := range a.Tensors {
				e.message(attrSparseTensors, func(e *encoder) { e.sparseBody(t, "") })
			}
		}
	}
	e.optStr(attrDocString, a.Doc)
	e.optInt64(attrType, int64(a.Type))
	e.optStr(attrRefAttrName, a.RefAttrName)
	if e.err != nil {
		e.err = at(label, e.err)
	}
}

func (e *encoder) function(fn *graph.Function) {
	label := fmt.Sprintf("function %q", fn.Domain+":"+fn.Name)
	e.str(funcName, fn.Name)
	for _, s := range fn.Inputs {
		e.str(funcInput, s)
	}
	for _, s := range fn.Outputs {
		e.str(funcOutput, s)
	}
	for _, s := range fn.AttrNames {
		if _, hasDefault := fn.AttrDefaults[s]; !hasDefault {
			e.str(funcAttribute, s)
		}
	}
	for i, n := range fn.Nodes {
		if n == nil {
			e.fail(at(label, fmt.Errorf("node #%d is nil", i)))
			return
		}
		e.message(funcNode, func(e *encoder) { e.node(n) })
		if e.err != nil {
			e.err = at(label, at(nodeLabel(n, i), e.err))
			return
		}
	}
	for _, o := range fn.Opsets {
		e.message(funcOpsetImport, func(e *encoder) { e.opset(o) })
	}
	e.optStr(funcDomain, fn.Domain)
	// Defaults in declaration order (AttrNames), then any not listed there.
	seen := map[string]bool{}
	var order []string
	for _, s := range fn.AttrNames {
		if _, ok := fn.AttrDefaults[s]; ok && !seen[s] {
			seen[s] = true
			order = append(order, s)
		}
	}
	for _, s := range sortedKeys(fn.AttrDefaults) {
		if !seen[s] {
			order = append(order, s)
		}
	}
	for _, s := range order {
		a := fn.AttrDefaults[s]
		if a == nil {
			e.fail(at(label, fmt.Errorf("attribute default %q is nil", s)))
			return
		}
		e.message(funcAttributeProto, func(e *encoder) { e.attr(a, s) })
	}
	if e.err != nil {
		e.err = at(label, e.err)
	}
}

// EncodeTensor serializes t as a TensorProto named name (raw_data, or
// string_data for strings).
func EncodeTensor(t *tensor.Tensor, name string) ([]byte, error) {
	b, err := encodeMessage(func(e *encoder) { e.tensorBody(t, name) })
	if err != nil {
		if name != "" {
			return nil, fmt.Errorf("onnx: tensor %q: %w", name, err)
		}
		return nil, fmt.Errorf("onnx: tensor: %w", err)
	}
	return b, nil
}
