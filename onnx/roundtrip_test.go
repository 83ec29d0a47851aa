package onnx

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// allDTypeTensors returns one tensor per supported dtype, with awkward
// values (NaN, -0, extremes, odd lengths for the packed types).
func allDTypeTensors() map[string]*tensor.Tensor {
	nan32 := float32(math.NaN())
	return map[string]*tensor.Tensor{
		"f32":        tensor.MustFromSlice([]float32{1, -0.0, nan32, float32(math.Inf(-1)), math.MaxFloat32, math.SmallestNonzeroFloat32}, 2, 3),
		"f64":        tensor.MustFromSlice([]float64{math.Pi, -0.0, math.Inf(1), math.NaN()}, 4),
		"i8":         tensor.MustFromSlice([]int8{-128, -1, 0, 127}, 2, 2),
		"i16":        tensor.MustFromSlice([]int16{-32768, -1, 32767}, 3),
		"i32":        tensor.MustFromSlice([]int32{math.MinInt32, -1, 0, math.MaxInt32}, 1, 4),
		"i64":        tensor.MustFromSlice([]int64{math.MinInt64, -1, math.MaxInt64}, 3, 1),
		"u8":         tensor.MustFromSlice([]uint8{0, 1, 255}, 3),
		"u16":        tensor.MustFromSlice([]uint16{0, 65535}, 2),
		"u32":        tensor.MustFromSlice([]uint32{0, math.MaxUint32}, 2),
		"u64":        tensor.MustFromSlice([]uint64{0, math.MaxUint64}, 2),
		"bool":       tensor.MustFromSlice([]bool{true, false, true}, 3),
		"str":        tensor.MustFromSlice([]string{"", "héllo", "a\x00b"}, 3),
		"c64":        tensor.MustFromSlice([]complex64{complex(1, -2), complex(float32(math.Inf(1)), 0)}, 2),
		"c128":       tensor.MustFromSlice([]complex128{complex(1e300, -2e-300)}, 1),
		"f16":        {DType: tensor.Float16, Shape: []int{3}, Data: []uint16{0x3c00, 0x8000, 0x7e00}},
		"bf16":       {DType: tensor.BFloat16, Shape: []int{2}, Data: []uint16{0x3f80, 0xff80}},
		"e4m3fn":     {DType: tensor.Float8E4M3FN, Shape: []int{3}, Data: []uint8{0, 0x7f, 0xff}},
		"e4m3fnuz":   {DType: tensor.Float8E4M3FNUZ, Shape: []int{2}, Data: []uint8{0x80, 1}},
		"e5m2":       {DType: tensor.Float8E5M2, Shape: []int{2}, Data: []uint8{0x7c, 0xfe}},
		"e5m2fnuz":   {DType: tensor.Float8E5M2FNUZ, Shape: []int{1}, Data: []uint8{0x80}},
		"e8m0":       {DType: Float8E8M0, Shape: []int{2}, Data: []uint8{127, 255}},
		"u4":         {DType: tensor.Uint4, Shape: []int{5}, Data: []uint8{0, 1, 7, 8, 15}},
		"i4":         {DType: tensor.Int4, Shape: []int{5}, Data: []int8{-8, -1, 0, 1, 7}},
		"fp4":        {DType: tensor.Float4E2M1, Shape: []int{3}, Data: []uint8{0, 0x7, 0xf}},
		"u2":         {DType: Uint2, Shape: []int{7}, Data: []uint8{0, 1, 2, 3, 3, 2, 1}},
		"i2":         {DType: Int2, Shape: []int{6}, Data: []int8{-2, -1, 0, 1, 1, -2}},
		"scalar":     tensor.Scalar(float32(2.5)),
		"empty":      tensor.New(tensor.Float32, 0, 3),
		"emptyStr":   tensor.New(tensor.String, 2, 0),
		"emptyI4":    {DType: tensor.Int4, Shape: []int{0}, Data: []int8{}},
		"big":        tensor.New(tensor.Float32, 17, 33),
		"scalarBool": tensor.Scalar(true),
	}
}

func TestTensorRoundTripAllDTypes(t *testing.T) {
	for name, x := range allDTypeTensors() {
		b, err := EncodeTensor(x, name)
		if err != nil {
			t.Fatalf("%s: encode: %v", name, err)
		}
		y, gotName, err := DecodeTensor(b)
		if err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if gotName != name {
			t.Errorf("%s: name %q", name, gotName)
		}
		if d := diffTensor(x, y); d != "" {
			t.Errorf("%s: %s", name, d)
		}
	}
}

// TestPackedSubByteLayout pins the on-disk layout of 4-bit and 2-bit data:
// first element in the low bits.
func TestPackedSubByteLayout(t *testing.T) {
	cases := []struct {
		t   *tensor.Tensor
		raw []byte
	}{
		{&tensor.Tensor{DType: tensor.Int4, Shape: []int{3}, Data: []int8{1, -1, -8}}, []byte{0xf1, 0x08}},
		{&tensor.Tensor{DType: tensor.Uint4, Shape: []int{2}, Data: []uint8{0xa, 0x5}}, []byte{0x5a}},
		{&tensor.Tensor{DType: Int2, Shape: []int{5}, Data: []int8{1, -1, -2, 0, -1}}, []byte{0b00_10_11_01, 0b11}},
		{&tensor.Tensor{DType: Uint2, Shape: []int{4}, Data: []uint8{3, 0, 1, 2}}, []byte{0b10_01_00_11}},
		{tensor.MustFromSlice([]bool{true, false}, 2), []byte{1, 0}},
		{tensor.MustFromSlice([]float32{1}, 1), []byte{0, 0, 0x80, 0x3f}},
		{tensor.MustFromSlice([]complex64{complex(1, 2)}, 1), []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}},
	}
	for _, c := range cases {
		b, err := EncodeTensor(c.t, "")
		if err != nil {
			t.Fatal(err)
		}
		tp, err := parseTensorProto(b)
		if err != nil {
			t.Fatal(err)
		}
		if string(tp.raw) != string(c.raw) {
			t.Errorf("%s: raw_data % x, want % x", c.t.DType, tp.raw, c.raw)
		}
	}
}

// richModel builds a model that uses every attribute type, every dtype as an
// initializer, subgraphs, functions, metadata and every kind of type.
func richModel() *graph.Model {
	g := graph.New("main")
	g.Doc = "the main graph"
	for name, x := range allDTypeTensors() {
		g.AddInitializer("init_"+name, x)
	}
	sym := graph.Shape{{Size: -1, Param: "batch"}, {Size: 3}, {Size: -1}}
	g.Inputs = []graph.ValueInfo{
		{Name: "x", Type: graph.Type{DType: tensor.Float32, Shape: sym, HasShape: true}, Doc: "input x"},
		{Name: "scalar_in", Type: graph.Type{DType: tensor.Int64, Shape: graph.Shape{}, HasShape: true}},
		{Name: "rank_unknown", Type: graph.Type{DType: tensor.Float16}},
		{Name: "seq", Type: graph.Type{Kind: graph.KindSequence, Elem: &graph.Type{DType: tensor.Float32, Shape: graph.ConcreteShape(2), HasShape: true}}},
		{Name: "opt", Type: graph.Type{Kind: graph.KindOptional, Elem: &graph.Type{Kind: graph.KindSequence, Elem: &graph.Type{DType: tensor.Int32}}}},
		{Name: "map", Type: graph.Type{Kind: graph.KindMap, DType: tensor.String, Elem: &graph.Type{DType: tensor.Float32}}},
		{Name: "sparse", Type: graph.Type{Kind: graph.KindSparseTensor, DType: tensor.Float32, Shape: graph.ConcreteShape(4, 4), HasShape: true}},
		{Name: "untyped"},
	}
	g.Outputs = []graph.ValueInfo{graph.TensorInfo("y", tensor.Float32, 1, 3, 5)}
	g.ValueInfo["mid"] = graph.ValueInfo{Name: "mid", Type: graph.Type{DType: tensor.Float32, Shape: graph.Shape{{Size: 0}, {Size: -1, Param: "n"}}, HasShape: true}}

	body := graph.New("body")
	body.AddInitializer("w", tensor.MustFromSlice([]float32{1, 2}, 2))
	body.Inputs = []graph.ValueInfo{graph.TensorInfo("bx", tensor.Float32, 2)}
	body.Outputs = []graph.ValueInfo{graph.TensorInfo("by", tensor.Float32, 2)}
	body.AddNode("Mul", []string{"bx", "w"}, []string{"by"})
	inner := graph.New("inner")
	inner.Outputs = []graph.ValueInfo{{Name: "x"}}
	inner.AddNode("Identity", []string{"x"}, []string{"ix"})
	body.AddNode("If", []string{"cond"}, []string{"bz"}, graph.AttrG("then_branch", inner), graph.AttrG("else_branch", inner.Clone()))

	sparse := tensor.New(tensor.Float32, 3, 4)
	sparse.F32()[1] = 5
	sparse.F32()[11] = float32(math.Copysign(0, -1))
	sparseI := tensor.MustFromSlice([]int64{0, 0, 7, 0}, 2, 2)
	tp := graph.Type{DType: tensor.Float32, Shape: sym, HasShape: true}

	n := g.AddNode("Custom", []string{"x", "", "scalar_in"}, []string{"mid", ""},
		graph.AttrF("f", -1.5),
		graph.AttrF("fnan", float32(math.NaN())),
		graph.AttrI("i", -7),
		graph.AttrI("izero", 0),
		graph.AttrS("s", "héllo"),
		graph.AttrS("sempty", ""),
		graph.AttrT("t", tensor.MustFromSlice([]int64{3, 4}, 2)),
		graph.AttrT("tstr", tensor.MustFromSlice([]string{"a", "b"}, 2)),
		graph.AttrG("g", body),
		graph.FloatsAttr("floats", 1, 2.5, float32(math.Inf(-1))),
		graph.IntsAttr("ints", -1, 0, math.MaxInt64),
		&graph.Attr{Name: "strings", Type: graph.AttrStrings, Strings: []string{"a", "", "c"}},
		&graph.Attr{Name: "tensors", Type: graph.AttrTensors, Tensors: []*tensor.Tensor{tensor.Scalar(int32(1)), tensor.MustFromSlice([]bool{true}, 1)}},
		&graph.Attr{Name: "graphs", Type: graph.AttrGraphs, Graphs: []*graph.Graph{body.Clone(), graph.New("empty")}},
		&graph.Attr{Name: "sparse_tensor", Type: graph.AttrSparseTensor, T: sparse},
		&graph.Attr{Name: "sparse_tensors", Type: AttrSparseTensors, Tensors: []*tensor.Tensor{sparseI, tensor.New(tensor.Int32, 0)}},
		&graph.Attr{Name: "tp", Type: graph.AttrTypeProto, TP: &tp},
		&graph.Attr{Name: "tps", Type: graph.AttrTypeProtos, TPs: []graph.Type{tp, {Kind: graph.KindSequence, Elem: &graph.Type{DType: tensor.Int8}}}},
		&graph.Attr{Name: "floats_empty", Type: graph.AttrFloats},
		&graph.Attr{Name: "with_doc", Type: graph.AttrInt, I: 1, Doc: "documented"},
	)
	n.Name = "custom_node"
	n.Domain = "com.example"
	n.Doc = "a node"
	g.AddNode("Relu", []string{"mid"}, []string{"y"}).Name = ""

	fn := &graph.Function{
		Name: "MyFunc", Domain: "com.example",
		Inputs: []string{"a", "b"}, Outputs: []string{"c"},
		AttrNames:    []string{"alpha", "beta"},
		AttrDefaults: map[string]*graph.Attr{"beta": graph.AttrF("beta", 0.5)},
		Opsets:       []graph.OpsetImport{{Version: 21}},
	}
	fn.Nodes = []*graph.Node{{OpType: "Add", Inputs: []string{"a", "b"}, Outputs: []string{"t"}, Attrs: map[string]*graph.Attr{}},
		{OpType: "LeakyRelu", Inputs: []string{"t"}, Outputs: []string{"c"}, Attrs: map[string]*graph.Attr{
			"alpha": {Name: "alpha", Type: graph.AttrFloat, RefAttrName: "alpha"}}}}

	return &graph.Model{
		Graph:           g,
		Opsets:          []graph.OpsetImport{{Domain: "", Version: 21}, {Domain: "com.example", Version: 1}},
		IRVersion:       10,
		ProducerName:    "frugal",
		ProducerVersion: "0.1",
		Domain:          "org.frugal",
		ModelVersion:    3,
		Doc:             "a model",
		Metadata:        map[string]string{"k": "v", "empty": ""},
		Functions:       map[string]*graph.Function{"com.example:MyFunc": fn},
	}
}

func TestModelRoundTrip(t *testing.T) {
	m := richModel()
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffModel(m, m2); d != "" {
		t.Fatal(d)
	}
	// Encoding is deterministic, and a second round trip is byte-identical.
	b2, err := Encode(m2)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(b2) {
		t.Error("re-encoding the decoded model changed the bytes")
	}
	// Spot checks that the comparison is not vacuous.
	a := m2.Graph.Nodes[0].Attrs
	if a["g"].G.Nodes[1].Attrs["then_branch"].G.Name != "inner" || a["ints"].Ints[2] != math.MaxInt64 {
		t.Error("nested attributes lost")
	}
	if got := a["sparse_tensor"].T.F32(); got[1] != 5 || math.Signbit(float64(got[11])) != true {
		t.Errorf("sparse attribute densified wrong: %v", got)
	}
	if m2.Graph.Inputs[0].Type.Shape[0].Param != "batch" || m2.Graph.Inputs[0].Type.Shape[2].Known() {
		t.Error("symbolic dims lost")
	}
}

func TestDefaultIRVersion(t *testing.T) {
	for _, c := range []struct{ opset, want int64 }{{0, 8}, {13, 8}, {18, 8}, {19, 10}, {23, 10}} {
		m := &graph.Model{Graph: graph.New("g")}
		if c.opset > 0 {
			m.Opsets = []graph.OpsetImport{{Domain: "ai.onnx", Version: c.opset}}
		}
		b, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if m2.IRVersion != c.want {
			t.Errorf("opset %d: ir_version %d, want %d", c.opset, m2.IRVersion, c.want)
		}
	}
	m := &graph.Model{Graph: graph.New("g"), IRVersion: 7, Opsets: []graph.OpsetImport{{Version: 22}}}
	b, _ := Encode(m)
	if m2, _ := Decode(b); m2.IRVersion != 7 {
		t.Errorf("ir_version %d, want the model's 7", m2.IRVersion)
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.onnx")
	m := richModel()
	if err := Save(p, m); err != nil {
		t.Fatal(err)
	}
	m.ProducerName = "second"
	if err := Save(p, m); err != nil { // over an existing file
		t.Fatal(err)
	}
	m2, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffModel(m, m2); d != "" {
		t.Fatal(d)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}
	// Errors name the file.
	if _, err := Load(filepath.Join(dir, "missing.onnx")); err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.onnx")
	os.WriteFile(bad, []byte{0x3a, 0x05, 0x0a}, 0o644)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "bad.onnx") {
		t.Errorf("corrupt file: %v", err)
	}
	// A failed encode leaves the old file alone.
	broken := &graph.Model{Graph: graph.New("g")}
	broken.Graph.AddInitializer("w", &tensor.Tensor{DType: tensor.Float32, Shape: []int{2}, Data: []float32{1}})
	if err := Save(p, broken); err == nil {
		t.Error("saving a model with a broken tensor succeeded")
	}
	if _, err := Load(p); err != nil {
		t.Errorf("old file damaged: %v", err)
	}
	// Tensors.
	tp := filepath.Join(dir, "t.pb")
	b, _ := EncodeTensor(tensor.MustFromSlice([]int64{1, 2}, 2), "t")
	os.WriteFile(tp, b, 0o644)
	x, name, err := LoadTensor(tp)
	if err != nil || name != "t" || x.I64()[1] != 2 {
		t.Errorf("LoadTensor: %v %q %v", x, name, err)
	}
	if _, _, err := LoadTensor(bad); err == nil || !strings.Contains(err.Error(), "bad.onnx") {
		t.Errorf("LoadTensor corrupt: %v", err)
	}
}

func TestSequenceOptionalRoundTrip(t *testing.T) {
	seq := &tensor.Sequence{ElemType: tensor.Int32, Tensors: []*tensor.Tensor{
		tensor.MustFromSlice([]int32{1, 2}, 2), tensor.MustFromSlice([]int32{3}, 1, 1)}}
	seqT := graph.Type{Kind: graph.KindSequence, Elem: &graph.Type{DType: tensor.Int32}}
	values := []struct {
		v any
		t graph.Type
	}{
		{seq, seqT},
		{&tensor.Sequence{ElemType: tensor.Float32}, graph.Type{Kind: graph.KindSequence, Elem: &graph.Type{DType: tensor.Float32}}},
		{&tensor.Optional{Value: tensor.Scalar(float32(1)), ElemType: tensor.Float32}, graph.Type{Kind: graph.KindOptional, Elem: &graph.Type{DType: tensor.Float32}}},
		{&tensor.Optional{ElemType: tensor.Float32}, graph.Type{Kind: graph.KindOptional, Elem: &graph.Type{DType: tensor.Float32}}},
		{&tensor.Optional{Value: seq, ElemType: tensor.Int32, ElemIsSeq: true}, graph.Type{Kind: graph.KindOptional, Elem: &seqT}},
		{&tensor.Optional{ElemType: tensor.Int32, ElemIsSeq: true}, graph.Type{Kind: graph.KindOptional, Elem: &seqT}},
		{tensor.MustFromSlice([]string{"x"}, 1), graph.Type{DType: tensor.String}},
	}
	for i, c := range values {
		var b []byte
		var err error
		switch x := c.v.(type) {
		case *tensor.Sequence:
			b, err = EncodeSequence(x, "s")
		case *tensor.Optional:
			b, err = EncodeOptional(x, "o")
		case *tensor.Tensor:
			b, err = EncodeTensor(x, "t")
		}
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		v, err := DecodeValue(b, c.t)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if d := diffValue(c.v, v); d != "" {
			t.Errorf("%d: %s", i, d)
		}
		switch x := v.(type) {
		case *tensor.Sequence:
			if x.ElemType != c.v.(*tensor.Sequence).ElemType {
				t.Errorf("%d: elem type %s", i, x.ElemType)
			}
		case *tensor.Optional:
			if x.ElemType != c.v.(*tensor.Optional).ElemType {
				t.Errorf("%d: elem type %s", i, x.ElemType)
			}
		}
	}
	// Declared types are checked.
	b, _ := EncodeTensor(tensor.Scalar(int64(1)), "t")
	if _, err := DecodeValue(b, graph.Type{DType: tensor.Float32}); err == nil || !strings.Contains(err.Error(), "declared float32") {
		t.Errorf("dtype mismatch: %v", err)
	}
	b, _ = EncodeSequence(seq, "s")
	if _, err := DecodeValue(b, graph.Type{Kind: graph.KindSequence, Elem: &graph.Type{DType: tensor.Float32}}); err == nil {
		t.Error("sequence dtype mismatch accepted")
	}
	if s, err := DecodeSequence(b); err != nil || len(s.Tensors) != 2 {
		t.Errorf("DecodeSequence: %v %v", s, err)
	}
	b, _ = EncodeOptional(&tensor.Optional{Value: seq, ElemIsSeq: true}, "o")
	if o, err := DecodeOptional(b); err != nil || !o.ElemIsSeq || o.ElemType != tensor.Int32 {
		t.Errorf("DecodeOptional: %+v %v", o, err)
	}
}

func TestEncodeErrors(t *testing.T) {
	bad := func(mut func(m *graph.Model)) error {
		m := &graph.Model{Graph: graph.New("main")}
		mut(m)
		_, err := Encode(m)
		return err
	}
	cases := []struct {
		name string
		mut  func(m *graph.Model)
		want string
	}{
		{"nil graph", func(m *graph.Model) { m.Graph = nil }, "no graph"},
		{"short data", func(m *graph.Model) {
			m.Graph.AddInitializer("w", &tensor.Tensor{DType: tensor.Float32, Shape: []int{2, 2}, Data: []float32{1}})
		}, `graph "main" initializer "w": float32 tensor of shape [2 2] holds 1 elements, want 4`},
		{"wrong storage", func(m *graph.Model) {
			m.Graph.AddInitializer("w", &tensor.Tensor{DType: tensor.Float32, Shape: []int{1}, Data: []float64{1}})
		}, "holds []float64, want []float32"},
		{"bad dtype", func(m *graph.Model) {
			m.Graph.AddInitializer("w", &tensor.Tensor{DType: 99, Shape: []int{1}, Data: []float32{1}})
		}, "cannot export dtype"},
		{"attr tensor", func(m *graph.Model) {
			m.Graph.AddNode("Constant", nil, []string{"c"}, graph.AttrT("value", &tensor.Tensor{DType: tensor.Int64, Shape: []int{-1}}))
		}, `graph "main" node "c" (Constant) attribute "value": shape [-1] has a negative dimension`},
		{"self-containing graph", func(m *graph.Model) {
			m.Graph.AddNode("If", nil, []string{"c"}, graph.AttrG("then_branch", m.Graph))
		}, "nested more than"},
		{"bad kind", func(m *graph.Model) {
			m.Graph.Inputs = []graph.ValueInfo{{Name: "x", Type: graph.Type{Kind: 42}}}
		}, `value "x": unknown type kind 42`},
	}
	for _, c := range cases {
		err := bad(c.mut)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want error containing %q", c.name, err, c.want)
		}
	}
	if _, err := EncodeTensor(nil, "x"); err == nil {
		t.Error("nil tensor encoded")
	}
	if _, err := Encode(nil); err == nil {
		t.Error("nil model encoded")
	}
}
