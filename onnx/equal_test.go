package onnx

import (
	"fmt"
	"math"
	"reflect"
	"sort"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// The diff* helpers compare decoded structures and describe the first
// difference ("" when equal). nil and empty slices and maps compare equal;
// floats compare by bits so NaNs round-trip.

func diffModel(a, b *graph.Model) string {
	if (a == nil) != (b == nil) {
		return "model nil vs non-nil"
	}
	if a == nil {
		return ""
	}
	switch {
	case a.IRVersion != b.IRVersion:
		return fmt.Sprintf("ir_version %d vs %d", a.IRVersion, b.IRVersion)
	case a.ProducerName != b.ProducerName, a.ProducerVersion != b.ProducerVersion:
		return "producer differs"
	case a.Domain != b.Domain, a.ModelVersion != b.ModelVersion, a.Doc != b.Doc:
		return "model domain/version/doc differs"
	case !reflect.DeepEqual(nz(a.Opsets), nz(b.Opsets)):
		return fmt.Sprintf("opsets %v vs %v", a.Opsets, b.Opsets)
	case len(a.Metadata) != len(b.Metadata):
		return "metadata length differs"
	}
	for k, v := range a.Metadata {
		if b.Metadata[k] != v {
			return fmt.Sprintf("metadata %q differs", k)
		}
	}
	if d := diffGraph(a.Graph, b.Graph); d != "" {
		return d
	}
	if len(a.Functions) != len(b.Functions) {
		return fmt.Sprintf("%d vs %d functions", len(a.Functions), len(b.Functions))
	}
	for k, fa := range a.Functions {
		fb, ok := b.Functions[k]
		if !ok {
			return fmt.Sprintf("function %q missing", k)
		}
		if d := diffFunction(fa, fb); d != "" {
			return fmt.Sprintf("function %q: %s", k, d)
		}
	}
	return ""
}

func nz[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func diffFunction(a, b *graph.Function) string {
	switch {
	case a.Name != b.Name, a.Domain != b.Domain:
		return "name/domain differs"
	case !reflect.DeepEqual(nz(a.Inputs), nz(b.Inputs)):
		return "inputs differ"
	case !reflect.DeepEqual(nz(a.Outputs), nz(b.Outputs)):
		return "outputs differ"
	case !reflect.DeepEqual(nz(a.AttrNames), nz(b.AttrNames)):
		return fmt.Sprintf("attribute names %q vs %q", a.AttrNames, b.AttrNames)
	case !reflect.DeepEqual(nz(a.Opsets), nz(b.Opsets)):
		return "opsets differ"
	}
	if d := diffAttrs(a.AttrDefaults, b.AttrDefaults); d != "" {
		return "defaults: " + d
	}
	return diffNodes(a.Nodes, b.Nodes)
}

func diffNodes(a, b []*graph.Node) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d vs %d nodes", len(a), len(b))
	}
	for i := range a {
		na, nb := a[i], b[i]
		label := nodeLabel(na, i)
		switch {
		case na.Name != nb.Name, na.OpType != nb.OpType, na.Domain != nb.Domain, na.Doc != nb.Doc:
			return fmt.Sprintf("%s: name/op/domain/doc differ: %+v vs %+v", label, *na, *nb)
		case !reflect.DeepEqual(nz(na.Inputs), nz(nb.Inputs)):
			return fmt.Sprintf("%s: inputs %q vs %q", label, na.Inputs, nb.Inputs)
		case !reflect.DeepEqual(nz(na.Outputs), nz(nb.Outputs)):
			return fmt.Sprintf("%s: outputs %q vs %q", label, na.Outputs, nb.Outputs)
		}
		if d := diffAttrs(na.Attrs, nb.Attrs); d != "" {
			return label + ": " + d
		}
	}
	return ""
}

func diffAttrs(a, b map[string]*graph.Attr) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d vs %d attributes (%v vs %v)", len(a), len(b), keys(a), keys(b))
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok {
			return fmt.Sprintf("attribute %q missing", k)
		}
		if d := diffAttr(x, y); d != "" {
			return fmt.Sprintf("attribute %q: %s", k, d)
		}
	}
	return ""
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func diffAttr(a, b *graph.Attr) string {
	switch {
	case a.Name != b.Name, a.Type != b.Type, a.RefAttrName != b.RefAttrName, a.Doc != b.Doc:
		return fmt.Sprintf("name/type/ref/doc differ: %q %d %q vs %q %d %q", a.Name, a.Type, a.RefAttrName, b.Name, b.Type, b.RefAttrName)
	case math.Float32bits(a.F) != math.Float32bits(b.F), a.I != b.I, a.S != b.S:
		return fmt.Sprintf("scalar differs: %v %d %q vs %v %d %q", a.F, a.I, a.S, b.F, b.I, b.S)
	case len(a.Floats) != len(b.Floats):
		return "floats length differs"
	case !reflect.DeepEqual(nz(a.Ints), nz(b.Ints)):
		return fmt.Sprintf("ints %v vs %v", a.Ints, b.Ints)
	case !reflect.DeepEqual(nz(a.Strings), nz(b.Strings)):
		return fmt.Sprintf("strings %q vs %q", a.Strings, b.Strings)
	case len(a.Tensors) != len(b.Tensors), len(a.Graphs) != len(b.Graphs), len(a.TPs) != len(b.TPs):
		return "list lengths differ"
	}
	for i := range a.Floats {
		if math.Float32bits(a.Floats[i]) != math.Float32bits(b.Floats[i]) {
			return fmt.Sprintf("floats[%d] %v vs %v", i, a.Floats[i], b.Floats[i])
		}
	}
	if d := diffTensor(a.T, b.T); d != "" {
		return "t: " + d
	}
	for i := range a.Tensors {
		if d := diffTensor(a.Tensors[i], b.Tensors[i]); d != "" {
			return fmt.Sprintf("tensors[%d]: %s", i, d)
		}
	}
	if (a.G == nil) != (b.G == nil) {
		return "g nil vs non-nil"
	}
	if a.G != nil {
		if d := diffGraph(a.G, b.G); d != "" {
			return d
		}
	}
	for i := range a.Graphs {
		if d := diffGraph(a.Graphs[i], b.Graphs[i]); d != "" {
			return fmt.Sprintf("graphs[%d]: %s", i, d)
		}
	}
	if (a.TP == nil) != (b.TP == nil) {
		return "tp nil vs non-nil"
	}
	if a.TP != nil {
		if d := diffType(*a.TP, *b.TP); d != "" {
			return "tp: " + d
		}
	}
	for i := range a.TPs {
		if d := diffType(a.TPs[i], b.TPs[i]); d != "" {
			return fmt.Sprintf("tps[%d]: %s", i, d)
		}
	}
	return ""
}

func diffGraph(a, b *graph.Graph) string {
	if (a == nil) != (b == nil) {
		return "graph nil vs non-nil"
	}
	if a == nil {
		return ""
	}
	label := fmt.Sprintf("graph %q: ", a.Name)
	if a.Name != b.Name || a.Doc != b.Doc {
		return label + fmt.Sprintf("name/doc differ (%q)", b.Name)
	}
	if d := diffValueInfos(a.Inputs, b.Inputs); d != "" {
		return label + "inputs: " + d
	}
	if d := diffValueInfos(a.Outputs, b.Outputs); d != "" {
		return label + "outputs: " + d
	}
	if len(a.ValueInfo) != len(b.ValueInfo) {
		return label + "value_info count differs"
	}
	for k, va := range a.ValueInfo {
		vb, ok := b.ValueInfo[k]
		if !ok {
			return label + fmt.Sprintf("value_info %q missing", k)
		}
		if d := diffValueInfos([]graph.ValueInfo{va}, []graph.ValueInfo{vb}); d != "" {
			return label + "value_info: " + d
		}
	}
	na, nb := a.InitializerNames(), b.InitializerNames()
	if !reflect.DeepEqual(nz(na), nz(nb)) {
		return label + fmt.Sprintf("initializers %q vs %q", na, nb)
	}
	for _, n := range na {
		if d := diffTensor(a.Initializers[n], b.Initializers[n]); d != "" {
			return label + fmt.Sprintf("initializer %q: %s", n, d)
		}
	}
	if d := diffNodes(a.Nodes, b.Nodes); d != "" {
		return label + d
	}
	return ""
}

func diffValueInfos(a, b []graph.ValueInfo) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d vs %d values", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Doc != b[i].Doc {
			return fmt.Sprintf("value %d: name/doc %q vs %q", i, a[i].Name, b[i].Name)
		}
		if d := diffType(a[i].Type, b[i].Type); d != "" {
			return fmt.Sprintf("value %q: %s", a[i].Name, d)
		}
	}
	return ""
}

func diffType(a, b graph.Type) string {
	if a.Kind != b.Kind || a.DType != b.DType || a.HasShape != b.HasShape {
		return fmt.Sprintf("type %+v vs %+v", a, b)
	}
	if a.HasShape && !reflect.DeepEqual(nz(a.Shape), nz(b.Shape)) {
		return fmt.Sprintf("shape %v vs %v", a.Shape, b.Shape)
	}
	if (a.Elem == nil) != (b.Elem == nil) {
		return "elem nil vs non-nil"
	}
	if a.Elem != nil {
		return diffType(*a.Elem, *b.Elem)
	}
	return ""
}

func diffTensor(a, b *tensor.Tensor) string {
	if (a == nil) != (b == nil) {
		return "tensor nil vs non-nil"
	}
	if a == nil {
		return ""
	}
	if a.DType != b.DType || !tensor.SameShape(a.Shape, b.Shape) {
		return fmt.Sprintf("%s%v vs %s%v", dtypeName(a.DType), a.Shape, dtypeName(b.DType), b.Shape)
	}
	if reflect.TypeOf(a.Data) != reflect.TypeOf(b.Data) {
		return fmt.Sprintf("storage %T vs %T", a.Data, b.Data)
	}
	va, vb := reflect.ValueOf(a.Data), reflect.ValueOf(b.Data)
	if va.Len() != vb.Len() {
		return fmt.Sprintf("%d vs %d elements", va.Len(), vb.Len())
	}
	for i := 0; i < va.Len(); i++ {
		x, y := va.Index(i), vb.Index(i)
		eq := false
		switch x.Kind() {
		case reflect.Float32:
			eq = math.Float32bits(float32(x.Float())) == math.Float32bits(float32(y.Float()))
		case reflect.Float64:
			eq = math.Float64bits(x.Float()) == math.Float64bits(y.Float())
		case reflect.Complex64, reflect.Complex128:
			cx, cy := x.Complex(), y.Complex()
			eq = math.Float64bits(real(cx)) == math.Float64bits(real(cy)) && math.Float64bits(imag(cx)) == math.Float64bits(imag(cy))
		default:
			eq = x.Interface() == y.Interface()
		}
		if !eq {
			return fmt.Sprintf("element %d: %v vs %v", i, x.Interface(), y.Interface())
		}
	}
	return ""
}

func diffValue(a, b any) string {
	switch x := a.(type) {
	case *tensor.Tensor:
		y, ok := b.(*tensor.Tensor)
		if !ok {
			return fmt.Sprintf("%T vs %T", a, b)
		}
		return diffTensor(x, y)
	case *tensor.Sequence:
		y, ok := b.(*tensor.Sequence)
		if !ok {
			return fmt.Sprintf("%T vs %T", a, b)
		}
		if x.ElemType != y.ElemType || len(x.Tensors) != len(y.Tensors) {
			return fmt.Sprintf("sequence %s[%d] vs %s[%d]", x.ElemType, len(x.Tensors), y.ElemType, len(y.Tensors))
		}
		for i := range x.Tensors {
			if d := diffTensor(x.Tensors[i], y.Tensors[i]); d != "" {
				return fmt.Sprintf("sequence element %d: %s", i, d)
			}
		}
		return ""
	case *tensor.Optional:
		y, ok := b.(*tensor.Optional)
		if !ok {
			return fmt.Sprintf("%T vs %T", a, b)
		}
		if x.ElemIsSeq != y.ElemIsSeq || (x.Value == nil) != (y.Value == nil) {
			return "optional kind/emptiness differs"
		}
		if x.Value == nil {
			return ""
		}
		return diffValue(x.Value, y.Value)
	}
	return fmt.Sprintf("unexpected %T", a)
}
