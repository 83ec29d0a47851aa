package onnx

import (
	"math"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// pb builds protobuf messages by hand for tests, independently of the
// package's encoder.
type pb []byte

func (b pb) varint(num protowire.Number, v uint64) pb {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func (b pb) fixed32(num protowire.Number, v uint32) pb {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}

func (b pb) fixed64(num protowire.Number, v uint64) pb {
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

func (b pb) bytes(num protowire.Number, v []byte) pb {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func (b pb) str(num protowire.Number, s string) pb { return b.bytes(num, []byte(s)) }

func packedVarints(vs ...int64) []byte {
	var b []byte
	for _, v := range vs {
		b = protowire.AppendVarint(b, uint64(v))
	}
	return b
}

func packedFixed32(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = protowire.AppendFixed32(b, math.Float32bits(v))
	}
	return b
}

func packedFixed64(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = protowire.AppendFixed64(b, v)
	}
	return b
}

func dims(b pb, ds ...int64) pb {
	for _, d := range ds {
		b = b.varint(tensorDims, uint64(d))
	}
	return b
}

func TestPackedAndUnpackedTensorData(t *testing.T) {
	cases := []struct {
		name string
		msg  pb
		want *tensor.Tensor
	}{
		{"float packed, dims packed", pb(nil).bytes(tensorDims, packedVarints(2, 2)).varint(tensorDataType, 1).
			bytes(tensorFloatData, packedFixed32(1, 2, 3, 4)),
			tensor.MustFromSlice([]float32{1, 2, 3, 4}, 2, 2)},
		{"float unpacked", dims(nil, 3).varint(tensorDataType, 1).
			fixed32(tensorFloatData, math.Float32bits(1)).fixed32(tensorFloatData, math.Float32bits(-2)).fixed32(tensorFloatData, math.Float32bits(3)),
			tensor.MustFromSlice([]float32{1, -2, 3}, 3)},
		{"float mixed chunks", dims(nil, 3).varint(tensorDataType, 1).
			fixed32(tensorFloatData, math.Float32bits(1)).bytes(tensorFloatData, packedFixed32(2, 3)),
			tensor.MustFromSlice([]float32{1, 2, 3}, 3)},
		{"int8 in int32_data, negative, packed", dims(nil, 3).varint(tensorDataType, 3).bytes(tensorInt32Data, packedVarints(-128, -1, 127)),
			tensor.MustFromSlice([]int8{-128, -1, 127}, 3)},
		{"int8 in int32_data, unpacked", dims(nil, 2).varint(tensorDataType, 3).varint(tensorInt32Data, negU64(-5)).varint(tensorInt32Data, 6),
			tensor.MustFromSlice([]int8{-5, 6}, 2)},
		{"uint16 in int32_data", dims(nil, 2).varint(tensorDataType, 4).bytes(tensorInt32Data, packedVarints(0, 65535)),
			tensor.MustFromSlice([]uint16{0, 65535}, 2)},
		{"int32", dims(nil, 2).varint(tensorDataType, 6).bytes(tensorInt32Data, packedVarints(math.MinInt32, math.MaxInt32)),
			tensor.MustFromSlice([]int32{math.MinInt32, math.MaxInt32}, 2)},
		{"int64 packed", dims(nil, 2).varint(tensorDataType, 7).bytes(tensorInt64Data, packedVarints(math.MinInt64, 42)),
			tensor.MustFromSlice([]int64{math.MinInt64, 42}, 2)},
		{"int64 unpacked", dims(nil, 2).varint(tensorDataType, 7).varint(tensorInt64Data, uint64(1)).varint(tensorInt64Data, math.MaxUint64),
			tensor.MustFromSlice([]int64{1, -1}, 2)},
		{"uint32 in uint64_data", dims(nil, 2).varint(tensorDataType, 12).bytes(tensorUint64Data, packedVarints(0, math.MaxUint32)),
			tensor.MustFromSlice([]uint32{0, math.MaxUint32}, 2)},
		{"uint64 unpacked", dims(nil, 1).varint(tensorDataType, 13).varint(tensorUint64Data, math.MaxUint64),
			tensor.MustFromSlice([]uint64{math.MaxUint64}, 1)},
		{"double packed", dims(nil, 2).varint(tensorDataType, 11).bytes(tensorDoubleData, packedFixed64(math.Float64bits(0.5), math.Float64bits(-1e300))),
			tensor.MustFromSlice([]float64{0.5, -1e300}, 2)},
		{"double unpacked", dims(nil, 1).varint(tensorDataType, 11).fixed64(tensorDoubleData, math.Float64bits(2)),
			tensor.MustFromSlice([]float64{2}, 1)},
		{"complex64 pairs", dims(nil, 2).varint(tensorDataType, 14).bytes(tensorFloatData, packedFixed32(1, 2, 3, 4)),
			tensor.MustFromSlice([]complex64{complex(1, 2), complex(3, 4)}, 2)},
		{"complex128 pairs", dims(nil, 1).varint(tensorDataType, 15).bytes(tensorDoubleData, packedFixed64(math.Float64bits(1), math.Float64bits(-1))),
			tensor.MustFromSlice([]complex128{complex(1, -1)}, 1)},
		{"bool in int32_data", dims(nil, 3).varint(tensorDataType, 9).bytes(tensorInt32Data, packedVarints(1, 0, 1)),
			tensor.MustFromSlice([]bool{true, false, true}, 3)},
		{"float16 bits in int32_data", dims(nil, 2).varint(tensorDataType, 10).bytes(tensorInt32Data, packedVarints(0x3c00, 0xfc00)),
			&tensor.Tensor{DType: tensor.Float16, Shape: []int{2}, Data: []uint16{0x3c00, 0xfc00}}},
		{"bfloat16 bits in int32_data", dims(nil, 1).varint(tensorDataType, 16).varint(tensorInt32Data, 0x3f80),
			&tensor.Tensor{DType: tensor.BFloat16, Shape: []int{1}, Data: []uint16{0x3f80}}},
		{"fp8 in int32_data", dims(nil, 2).varint(tensorDataType, 17).bytes(tensorInt32Data, packedVarints(0x7e, 0xff)),
			&tensor.Tensor{DType: tensor.Float8E4M3FN, Shape: []int{2}, Data: []uint8{0x7e, 0xff}}},
		{"int4 packed bytes in int32_data", dims(nil, 3).varint(tensorDataType, 22).bytes(tensorInt32Data, packedVarints(0xf1, 0x08)),
			&tensor.Tensor{DType: tensor.Int4, Shape: []int{3}, Data: []int8{1, -1, -8}}},
		{"uint4 raw", dims(nil, 2).varint(tensorDataType, 21).bytes(tensorRawData, []byte{0x5a}),
			&tensor.Tensor{DType: tensor.Uint4, Shape: []int{2}, Data: []uint8{0xa, 0x5}}},
		{"int2 in int32_data", dims(nil, 5).varint(tensorDataType, 26).bytes(tensorInt32Data, packedVarints(0b00_10_11_01, 0b11)),
			&tensor.Tensor{DType: Int2, Shape: []int{5}, Data: []int8{1, -1, -2, 0, -1}}},
		{"strings", dims(nil, 2).varint(tensorDataType, 8).str(tensorStringData, "ab").str(tensorStringData, ""),
			tensor.MustFromSlice([]string{"ab", ""}, 2)},
		{"raw int16 little-endian", dims(nil, 2).varint(tensorDataType, 5).bytes(tensorRawData, []byte{0x01, 0x80, 0xff, 0x7f}),
			tensor.MustFromSlice([]int16{-32767, 32767}, 2)},
		{"scalar raw", pb(nil).varint(tensorDataType, 7).bytes(tensorRawData, []byte{5, 0, 0, 0, 0, 0, 0, 0}),
			&tensor.Tensor{DType: tensor.Int64, Data: []int64{5}}},
		{"empty, no data", dims(nil, 0, 4).varint(tensorDataType, 1),
			tensor.New(tensor.Float32, 0, 4)},
		{"empty raw beside typed data", dims(nil, 1).varint(tensorDataType, 7).bytes(tensorRawData, nil).varint(tensorInt64Data, 9),
			tensor.MustFromSlice([]int64{9}, 1)},
		{"unknown fields of every wire type are skipped", dims(nil, 1).varint(99, 1).fixed32(98, 1).fixed64(97, 1).str(96, "x").
			varint(tensorDataType, 1).fixed32(tensorFloatData, math.Float32bits(7)).
			bytes(12, []byte("doc")), // TensorProto.doc_string, not modelled
			tensor.MustFromSlice([]float32{7}, 1)},
	}
	for _, c := range cases {
		got, _, err := DecodeTensor(c.msg)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if d := diffTensor(c.want, got); d != "" {
			t.Errorf("%s: %s", c.name, d)
		}
	}
}

func TestGroupsSkipped(t *testing.T) {
	b := protowire.AppendTag(nil, 50, protowire.StartGroupType)
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 3)
	b = protowire.AppendTag(b, 50, protowire.EndGroupType)
	msg := dims(pb(b), 1).varint(tensorDataType, 7).varint(tensorInt64Data, 4)
	x, _, err := DecodeTensor(msg)
	if err != nil || x.I64()[0] != 4 {
		t.Fatalf("%v %v", x, err)
	}
}

// modelBytes wraps a GraphProto body into a ModelProto.
func modelBytes(g pb) pb {
	return pb(nil).varint(modelIRVersion, 8).bytes(modelGraph, g).
		bytes(modelOpsetImport, pb(nil).varint(opsetVersion, 13))
}

func TestPackedAndUnpackedAttributes(t *testing.T) {
	attr := func(b pb) pb {
		node := pb(nil).str(nodeInput, "x").str(nodeOutput, "y").str(nodeOpType, "Op").bytes(nodeAttribute, b)
		return modelBytes(pb(nil).str(graphName, "g").bytes(graphNode, node))
	}
	cases := []struct {
		name string
		b    pb
		want *graph.Attr
	}{
		{"ints packed", attr(pb(nil).str(attrName, "a").varint(attrType, 7).bytes(attrInts, packedVarints(1, -2, 3))),
			graph.IntsAttr("a", 1, -2, 3)},
		{"ints unpacked", attr(pb(nil).str(attrName, "a").varint(attrType, 7).varint(attrInts, 1).varint(attrInts, uint64(math.MaxUint64))),
			graph.IntsAttr("a", 1, -1)},
		{"floats packed", attr(pb(nil).str(attrName, "a").varint(attrType, 6).bytes(attrFloats, packedFixed32(0.5, 2))),
			graph.FloatsAttr("a", 0.5, 2)},
		{"floats unpacked", attr(pb(nil).str(attrName, "a").varint(attrType, 6).fixed32(attrFloats, math.Float32bits(0.5)).fixed32(attrFloats, math.Float32bits(-1))),
			graph.FloatsAttr("a", 0.5, -1)},
		{"type inferred without type field (IR 1)", attr(pb(nil).str(attrName, "a").varint(attrI, 5)),
			graph.AttrI("a", 5)},
		{"type field wins over stray value fields", attr(pb(nil).str(attrName, "a").varint(attrType, 1).fixed32(attrF, math.Float32bits(2)).varint(attrI, 5)),
			graph.AttrF("a", 2)},
	}
	for _, c := range cases {
		m, err := Decode(c.b)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if d := diffAttr(c.want, m.Graph.Nodes[0].Attrs["a"]); d != "" {
			t.Errorf("%s: %s", c.name, d)
		}
	}
}

func TestSparseInitializer(t *testing.T) {
	values := dims(nil, 2).varint(tensorDataType, 1).str(tensorName, "sp").bytes(tensorFloatData, packedFixed32(5, 6))
	linear := dims(nil, 2).varint(tensorDataType, 7).bytes(tensorInt64Data, packedVarints(1, 5))
	coords := dims(nil, 2, 2).varint(tensorDataType, 7).bytes(tensorInt64Data, packedVarints(0, 1, 1, 2))
	for _, idx := range []pb{linear, coords} {
		sp := pb(nil).bytes(sparseValues, values).bytes(sparseIndices, idx).varint(sparseDims, 2).varint(sparseDims, 3)
		m, err := Decode(modelBytes(pb(nil).str(graphName, "g").bytes(graphSparseInitializer, sp)))
		if err != nil {
			t.Fatal(err)
		}
		want := tensor.MustFromSlice([]float32{0, 5, 0, 0, 0, 6}, 2, 3)
		if d := diffTensor(want, m.Graph.Initializers["sp"]); d != "" {
			t.Error(d)
		}
	}
}

// errCase decodes b as a model and expects an error containing want.
func expectModelError(t *testing.T, name string, b []byte, want string) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, err := Decode(b)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Errorf("%s: decoded without error: %+v", name, m)
		return
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%s: error %q does not contain %q", name, err, want)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("%s: allocated %d bytes before failing", name, grew)
	}
}

func TestDecodeErrors(t *testing.T) {
	init := func(tp pb) pb { return modelBytes(pb(nil).str(graphName, "main").bytes(graphInitializer, tp)) }
	conv := dims(nil, 6, 1, 5, 5).varint(tensorDataType, 1).str(tensorName, "conv1.weight").bytes(tensorRawData, make([]byte, 100))
	deep := pb(nil).bytes(typeTensor, pb(nil).varint(typeTensorElemType, 1))
	for i := 0; i < 200; i++ {
		deep = pb(nil).bytes(typeSequence, pb(nil).bytes(typeElemType, deep))
	}
	deepGraph := pb(nil).str(graphName, "leaf")
	for i := 0; i < 100; i++ {
		a := pb(nil).str(attrName, "body").varint(attrType, 5).bytes(attrG, deepGraph)
		deepGraph = pb(nil).str(graphName, "g").bytes(graphNode, pb(nil).str(nodeOpType, "Loop").bytes(nodeAttribute, a))
	}
	hugeLen := protowire.AppendTag(nil, modelGraph, protowire.BytesType)
	hugeLen = protowire.AppendVarint(hugeLen, 1<<60)
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"raw_data length", init(conv), `onnx: graph "main" initializer "conv1.weight": raw_data has 100 bytes, dims [6 1 5 5] need 600`},
		{"negative dim", init(dims(nil, 2, -3).varint(tensorDataType, 1).str(tensorName, "w")), `initializer "w": dims [2 -3]: dimension 1 is negative`},
		{"huge dims", init(dims(nil, 1<<40, 1<<40).varint(tensorDataType, 1).str(tensorName, "w").bytes(tensorRawData, make([]byte, 4))), "more than"},
		{"huge dims fitting the limit", init(dims(nil, 1<<20, 1<<20).varint(tensorDataType, 1).str(tensorName, "w").bytes(tensorRawData, make([]byte, 4))),
			"raw_data has 4 bytes, dims [1048576 1048576] need 4398046511104"},
		{"huge dims, typed data", init(dims(nil, 1<<30).varint(tensorDataType, 7).str(tensorName, "w").bytes(tensorInt64Data, packedVarints(1, 2))),
			"int64_data has 2 values, dims [1073741824] need 1073741824"},
		{"huge dim, no data", init(dims(nil, 1<<45).varint(tensorDataType, 1).str(tensorName, "w")), "no data for dims"},
		{"dim beyond limit", init(dims(nil, math.MaxInt64).varint(tensorDataType, 1)), "dimension 0 is too large"},
		{"typed count", init(dims(nil, 3).varint(tensorDataType, 1).bytes(tensorFloatData, packedFixed32(1, 2))), "float_data has 2 values, dims [3] need 3"},
		{"wrong field for dtype", init(dims(nil, 1).varint(tensorDataType, 7).fixed32(tensorFloatData, 0)), "float_data cannot hold int64 elements"},
		{"two data fields", init(dims(nil, 1).varint(tensorDataType, 1).fixed32(tensorFloatData, 0).bytes(tensorRawData, make([]byte, 4))), "data in both raw_data and float_data"},
		{"string raw", init(dims(nil, 1).varint(tensorDataType, 8).bytes(tensorRawData, []byte("a"))), "raw_data cannot hold string"},
		{"unknown dtype", init(dims(nil, 1).varint(tensorDataType, 99).bytes(tensorRawData, []byte{1})), "unsupported data_type 99"},
		{"undefined dtype", init(dims(nil, 1).bytes(tensorRawData, []byte{1})), "unsupported data_type 0"},
		{"external data", init(dims(nil, 4).varint(tensorDataType, 1).str(tensorName, "big").
			bytes(tensorExternalData, pb(nil).str(entryKey, "location").str(entryValue, "w.bin")).varint(tensorDataLocation, 1)),
			`initializer "big": external data not supported`},
		{"external location only", init(dims(nil, 4).varint(tensorDataType, 1).str(tensorName, "big").varint(tensorDataLocation, 1)),
			`initializer "big": external data not supported`},
		{"segment", init(dims(nil, 1).varint(tensorDataType, 1).bytes(tensorSegment, nil).fixed32(tensorFloatData, 0)), "segment"},
		{"unnamed initializer", init(dims(nil, 1).varint(tensorDataType, 1).fixed32(tensorFloatData, 0)), "initializer #0 has no name"},
		{"truncated", modelBytes(pb(nil).str(graphName, "main").bytes(graphInitializer, conv))[:40], "unexpected EOF"},
		{"huge length prefix", hugeLen, "ModelProto: field 7 (length-delimited) at byte 0: unexpected EOF"},
		{"bad wire type for string", modelBytes(pb(nil).varint(graphName, 3)), "GraphProto.name (field 2) at byte 0: varint, want length-delimited"},
		{"invalid wire type", modelBytes(append(pb(nil).str(graphName, "main"), 0x0f)), `graph "main": GraphProto: field 1 at byte 6 has invalid wire type 7`},
		{"field number 0", []byte{0x00, 0x01}, "bad field tag"},
		{"overlong varint", append(protowire.AppendTag(nil, modelIRVersion, protowire.VarintType), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), "ModelProto: field 1 (varint) at byte 0"},
		{"truncated packed varints", init(pb(nil).bytes(tensorDims, []byte{0x80}).varint(tensorDataType, 1)), "TensorProto.dims (field 1, packed)"},
		{"packed fixed32 not multiple of 4", init(dims(nil, 1).varint(tensorDataType, 1).bytes(tensorFloatData, []byte{1, 2, 3})), "not a multiple of 4"},
		{"no graph", pb(nil).varint(modelIRVersion, 8), "model has no graph"},
		{"deep type nesting", modelBytes(pb(nil).str(graphName, "main").bytes(graphInput, pb(nil).str(valueInfoName, "x").bytes(valueInfoType, deep))), "nested more than 100 levels"},
		{"deep graph nesting", modelBytes(deepGraph), "nested more than 100 levels"},
		{"duplicate initializer", modelBytes(pb(nil).str(graphName, "main").
			bytes(graphInitializer, dims(nil, 1).varint(tensorDataType, 1).str(tensorName, "w").fixed32(tensorFloatData, 0)).
			bytes(graphInitializer, dims(nil, 1).varint(tensorDataType, 1).str(tensorName, "w").fixed32(tensorFloatData, 0))), `initializer "w" is defined twice`},
		{"duplicate attribute", modelBytes(pb(nil).str(graphName, "main").bytes(graphNode, pb(nil).str(nodeName, "n").str(nodeOpType, "Op").
			bytes(nodeAttribute, pb(nil).str(attrName, "a").varint(attrType, 2).varint(attrI, 1)).
			bytes(nodeAttribute, pb(nil).str(attrName, "a").varint(attrType, 2).varint(attrI, 1)))), `graph "main" node "n" (Op): attribute "a" is given twice`},
		{"attribute tensor error path", modelBytes(pb(nil).str(graphName, "main").bytes(graphNode, pb(nil).str(nodeName, "c").str(nodeOpType, "Constant").
			bytes(nodeAttribute, pb(nil).str(attrName, "value").varint(attrType, 4).bytes(attrT, dims(nil, 2).varint(tensorDataType, 1).bytes(tensorRawData, []byte{1}))))),
			`graph "main" node "c" (Constant) attribute "value" tensor: raw_data has 1 bytes, dims [2] need 8`},
		{"sparse index out of range", modelBytes(pb(nil).str(graphName, "main").bytes(graphSparseInitializer, pb(nil).
			bytes(sparseValues, dims(nil, 1).varint(tensorDataType, 1).str(tensorName, "s").fixed32(tensorFloatData, 0)).
			bytes(sparseIndices, dims(nil, 1).varint(tensorDataType, 7).varint(tensorInt64Data, 9)).varint(sparseDims, 3))),
			`sparse_initializer "s": sparse index 0 is 9, outside [0, 3)`},
		{"sparse too large when dense", modelBytes(pb(nil).str(graphName, "main").bytes(graphSparseInitializer, pb(nil).
			bytes(sparseValues, dims(nil, 0).varint(tensorDataType, 1).str(tensorName, "s")).varint(sparseDims, 1<<40))),
			"would take"},
		{"elem_type out of range", modelBytes(pb(nil).str(graphName, "main").bytes(graphInput, pb(nil).str(valueInfoName, "x").
			bytes(valueInfoType, pb(nil).bytes(typeTensor, pb(nil).varint(typeTensorElemType, 300))))), `value "x": elem_type 300 is not a data type`},
		{"int32 out of range", init(dims(nil, 1).varint(tensorDataType, 1<<40)), "out of int32 range"},
	}
	for _, c := range cases {
		expectModelError(t, c.name, c.b, c.want)
	}
}

func TestTruncationNeverPanics(t *testing.T) {
	b, err := Encode(richModel())
	if err != nil {
		t.Fatal(err)
	}
	failures := 0
	for i := 0; i < len(b); i++ {
		if _, err := Decode(b[:i]); err != nil {
			failures++
		}
	}
	// Most prefixes cut a length-delimited field and must fail.
	if failures < len(b)/2 {
		t.Errorf("only %d of %d prefixes failed to decode", failures, len(b))
	}
}

func TestValueDecodeErrors(t *testing.T) {
	seqOfSeq := pb(nil).varint(seqElemType, elemSequence).bytes(seqSequenceValues, nil)
	if _, err := DecodeSequence(seqOfSeq); err == nil || !strings.Contains(err.Error(), "sequences of sequences are not supported") {
		t.Errorf("sequence of sequences: %v", err)
	}
	mixed := pb(nil).str(seqName, "s").varint(seqElemType, elemTensor).
		bytes(seqTensorValues, dims(nil, 1).varint(tensorDataType, 7).varint(tensorInt64Data, 1)).
		bytes(seqTensorValues, dims(nil, 1).varint(tensorDataType, 1).fixed32(tensorFloatData, 0))
	if _, err := DecodeSequence(mixed); err == nil || !strings.Contains(err.Error(), `sequence "s": tensor #1 is float32, the first is int64`) {
		t.Errorf("mixed sequence: %v", err)
	}
	badElem := pb(nil).str(seqName, "s").bytes(seqTensorValues, dims(nil, 2).varint(tensorDataType, 7).varint(tensorInt64Data, 1))
	if _, err := DecodeSequence(badElem); err == nil || !strings.Contains(err.Error(), `onnx: sequence "s" tensor #0: int64_data has 1 values, dims [2] need 2`) {
		t.Errorf("bad element: %v", err)
	}
	optMap := pb(nil).varint(optElemType, elemMap).bytes(optMapValue, nil)
	if _, err := DecodeOptional(optMap); err == nil {
		t.Error("optional map accepted")
	}
	if _, err := DecodeValue(nil, graph.Type{Kind: graph.KindMap}); err == nil {
		t.Error("map value accepted")
	}
	if _, _, err := DecodeTensor([]byte{0x0a}); err == nil {
		t.Error("truncated tensor accepted")
	}
}

func negU64(v int64) uint64 { return uint64(v) }

// TestSwapBytes covers the big-endian path of raw_data conversion, which
// little-endian test machines never take.
func TestSwapBytes(t *testing.T) {
	b := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	swapBytes(b, 4)
	if string(b) != string([]byte{4, 3, 2, 1, 8, 7, 6, 5}) {
		t.Errorf("swap 4: % x", b)
	}
	swapBytes(b, 8)
	if string(b) != string([]byte{5, 6, 7, 8, 1, 2, 3, 4}) {
		t.Errorf("swap 8: % x", b)
	}
}

func TestInferAttrType(t *testing.T) {
	cases := []struct {
		p    attrProto
		want graph.AttrType
	}{
		{attrProto{hasF: true}, graph.AttrFloat},
		{attrProto{hasS: true}, graph.AttrString},
		{attrProto{hasT: true}, graph.AttrTensor},
		{attrProto{hasG: true}, graph.AttrGraph},
		{attrProto{hasSp: true}, graph.AttrSparseTensor},
		{attrProto{hasTP: true}, graph.AttrTypeProto},
		{attrProto{floats: []float32{1}}, graph.AttrFloats},
		{attrProto{ints: []int64{1}}, graph.AttrInts},
		{attrProto{strings: []string{""}}, graph.AttrStrings},
		{attrProto{tensors: [][]byte{nil}}, graph.AttrTensors},
		{attrProto{graphs: [][]byte{nil}}, graph.AttrGraphs},
		{attrProto{sparses: [][]byte{nil}}, AttrSparseTensors},
		{attrProto{tps: [][]byte{nil}}, graph.AttrTypeProtos},
		{attrProto{}, graph.AttrUndefined},
	}
	for i, c := range cases {
		if got := c.p.inferType(); got != c.want {
			t.Errorf("%d: %d, want %d", i, got, c.want)
		}
	}
}
