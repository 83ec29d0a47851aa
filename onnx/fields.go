package onnx

import "google.golang.org/protobuf/encoding/protowire"

// Field numbers of the subset of onnx.proto (and onnx-data.proto for
// SequenceProto, MapProto and OptionalProto) that frugal reads and writes.
// Fields not listed here are skipped on decode and never written.

// ModelProto.
const (
	modelIRVersion       protowire.Number = 1  // ModelProto.ir_version = 1
	modelProducerName    protowire.Number = 2  // ModelProto.producer_name = 2
	modelProducerVersion protowire.Number = 3  // ModelProto.producer_version = 3
	modelDomain          protowire.Number = 4  // ModelProto.domain = 4
	modelModelVersion    protowire.Number = 5  // ModelProto.model_version = 5
	modelDocString       protowire.Number = 6  // ModelProto.doc_string = 6
	modelGraph           protowire.Number = 7  // ModelProto.graph = 7
	modelOpsetImport     protowire.Number = 8  // ModelProto.opset_import = 8
	modelMetadataProps   protowire.Number = 14 // ModelProto.metadata_props = 14
	modelFunctions       protowire.Number = 25 // ModelProto.functions = 25
)

// OperatorSetIdProto.
const (
	opsetDomain  protowire.Number = 1 // OperatorSetIdProto.domain = 1
	opsetVersion protowire.Number = 2 // OperatorSetIdProto.version = 2
)

// StringStringEntryProto.
const (
	entryKey   protowire.Number = 1 // StringStringEntryProto.key = 1
	entryValue protowire.Number = 2 // StringStringEntryProto.value = 2
)

// GraphProto.
const (
	graphNode              protowire.Number = 1  // GraphProto.node = 1
	graphName              protowire.Number = 2  // GraphProto.name = 2
	graphInitializer       protowire.Number = 5  // GraphProto.initializer = 5
	graphDocString         protowire.Number = 10 // GraphProto.doc_string = 10
	graphInput             protowire.Number = 11 // GraphProto.input = 11
	graphOutput            protowire.Number = 12 // GraphProto.output = 12
	graphValueInfo         protowire.Number = 13 // GraphProto.value_info = 13
	graphSparseInitializer protowire.Number = 15 // GraphProto.sparse_initializer = 15
)

// NodeProto.
const (
	nodeInput     protowire.Number = 1 // NodeProto.input = 1
	nodeOutput    protowire.Number = 2 // NodeProto.output = 2
	nodeName      protowire.Number = 3 // NodeProto.name = 3
	nodeOpType    protowire.Number = 4 // NodeProto.op_type = 4
	nodeAttribute protowire.Number = 5 // NodeProto.attribute = 5
	nodeDocString protowire.Number = 6 // NodeProto.doc_string = 6
	nodeDomain    protowire.Number = 7 // NodeProto.domain = 7
)

// AttributeProto.
const (
	attrName          protowire.Number = 1  // AttributeProto.name = 1
	attrF             protowire.Number = 2  // AttributeProto.f = 2
	attrI             protowire.Number = 3  // AttributeProto.i = 3
	attrS             protowire.Number = 4  // AttributeProto.s = 4
	attrT             protowire.Number = 5  // AttributeProto.t = 5
	attrG             protowire.Number = 6  // AttributeProto.g = 6
	attrFloats        protowire.Number = 7  // AttributeProto.floats = 7
	attrInts          protowire.Number = 8  // AttributeProto.ints = 8
	attrStrings       protowire.Number = 9  // AttributeProto.strings = 9
	attrTensors       protowire.Number = 10 // AttributeProto.tensors = 10
	attrGraphs        protowire.Number = 11 // AttributeProto.graphs = 11
	attrDocString     protowire.Number = 13 // AttributeProto.doc_string = 13
	attrTP            protowire.Number = 14 // AttributeProto.tp = 14
	attrTypeProtos    protowire.Number = 15 // AttributeProto.type_protos = 15
	attrType          protowire.Number = 20 // AttributeProto.type = 20
	attrRefAttrName   protowire.Number = 21 // AttributeProto.ref_attr_name = 21
	attrSparseTensor  protowire.Number = 22 // AttributeProto.sparse_tensor = 22
	attrSparseTensors protowire.Number = 23 // AttributeProto.sparse_tensors = 23
)

// TensorProto.
const (
	tensorDims         protowire.Number = 1  // TensorProto.dims = 1
	tensorDataType     protowire.Number = 2  // TensorProto.data_type = 2
	tensorSegment      protowire.Number = 3  // TensorProto.segment = 3
	tensorFloatData    protowire.Number = 4  // TensorProto.float_data = 4
	tensorInt32Data    protowire.Number = 5  // TensorProto.int32_data = 5
	tensorStringData   protowire.Number = 6  // TensorProto.string_data = 6
	tensorInt64Data    protowire.Number = 7  // TensorProto.int64_data = 7
	tensorName         protowire.Number = 8  // TensorProto.name = 8
	tensorRawData      protowire.Number = 9  // TensorProto.raw_data = 9
	tensorDoubleData   protowire.Number = 10 // TensorProto.double_data = 10
	tensorUint64Data   protowire.Number = 11 // TensorProto.uint64_data = 11
	tensorExternalData protowire.Number = 13 // TensorProto.external_data = 13
	tensorDataLocation protowire.Number = 14 // TensorProto.data_location = 14

	segmentBegin protowire.Number = 1 // TensorProto.Segment.begin = 1
	segmentEnd   protowire.Number = 2 // TensorProto.Segment.end = 2

	dataLocationExternal = 1 // TensorProto.DataLocation.EXTERNAL = 1
)

// SparseTensorProto.
const (
	sparseValues  protowire.Number = 1 // SparseTensorProto.values = 1
	sparseIndices protowire.Number = 2 // SparseTensorProto.indices = 2
	sparseDims    protowire.Number = 3 // SparseTensorProto.dims = 3
)

// ValueInfoProto.
const (
	valueInfoName      protowire.Number = 1 // ValueInfoProto.name = 1
	valueInfoType      protowire.Number = 2 // ValueInfoProto.type = 2
	valueInfoDocString protowire.Number = 3 // ValueInfoProto.doc_string = 3
)

// TypeProto and its nested messages.
const (
	typeTensor       protowire.Number = 1 // TypeProto.tensor_type = 1
	typeSequence     protowire.Number = 4 // TypeProto.sequence_type = 4
	typeMap          protowire.Number = 5 // TypeProto.map_type = 5
	typeSparseTensor protowire.Number = 8 // TypeProto.sparse_tensor_type = 8
	typeOptional     protowire.Number = 9 // TypeProto.optional_type = 9

	typeTensorElemType protowire.Number = 1 // TypeProto.Tensor.elem_type = 1 (also SparseTensor.elem_type = 1)
	typeTensorShape    protowire.Number = 2 // TypeProto.Tensor.shape = 2 (also SparseTensor.shape = 2)
	typeElemType       protowire.Number = 1 // TypeProto.Sequence.elem_type = 1, TypeProto.Optional.elem_type = 1
	typeMapKeyType     protowire.Number = 1 // TypeProto.Map.key_type = 1
	typeMapValueType   protowire.Number = 2 // TypeProto.Map.value_type = 2
)

// TensorShapeProto.
const (
	shapeDim      protowire.Number = 1 // TensorShapeProto.dim = 1
	dimValue      protowire.Number = 1 // TensorShapeProto.Dimension.dim_value = 1
	dimParam      protowire.Number = 2 // TensorShapeProto.Dimension.dim_param = 2
	dimDenotation protowire.Number = 3 // TensorShapeProto.Dimension.denotation = 3 (skipped)
)

// FunctionProto.
const (
	funcName           protowire.Number = 1  // FunctionProto.name = 1
	funcInput          protowire.Number = 4  // FunctionProto.input = 4
	funcOutput         protowire.Number = 5  // FunctionProto.output = 5
	funcAttribute      protowire.Number = 6  // FunctionProto.attribute = 6
	funcNode           protowire.Number = 7  // FunctionProto.node = 7
	funcDocString      protowire.Number = 8  // FunctionProto.doc_string = 8
	funcOpsetImport    protowire.Number = 9  // FunctionProto.opset_import = 9
	funcDomain         protowire.Number = 10 // FunctionProto.domain = 10
	funcAttributeProto protowire.Number = 11 // FunctionProto.attribute_proto = 11
	funcOverload       protowire.Number = 13 // FunctionProto.overload = 13
)

// SequenceProto (onnx-data.proto).
const (
	seqName           protowire.Number = 1 // SequenceProto.name = 1
	seqElemType       protowire.Number = 2 // SequenceProto.elem_type = 2
	seqTensorValues   protowire.Number = 3 // SequenceProto.tensor_values = 3
	seqSparseValues   protowire.Number = 4 // SequenceProto.sparse_tensor_values = 4
	seqSequenceValues protowire.Number = 5 // SequenceProto.sequence_values = 5
	seqMapValues      protowire.Number = 6 // SequenceProto.map_values = 6
	seqOptionalValues protowire.Number = 7 // SequenceProto.optional_values = 7
)

// OptionalProto (onnx-data.proto).
const (
	optName          protowire.Number = 1 // OptionalProto.name = 1
	optElemType      protowire.Number = 2 // OptionalProto.elem_type = 2
	optTensorValue   protowire.Number = 3 // OptionalProto.tensor_value = 3
	optSparseValue   protowire.Number = 4 // OptionalProto.sparse_tensor_value = 4
	optSequenceValue protowire.Number = 5 // OptionalProto.sequence_value = 5
	optMapValue      protowire.Number = 6 // OptionalProto.map_value = 6
	optOptionalValue protowire.Number = 7 // OptionalProto.optional_value = 7
)

// SequenceProto.DataType and OptionalProto.DataType (same numbering).
const (
	elemUndefined    = 0 // SequenceProto.DataType.UNDEFINED = 0
	elemTensor       = 1 // SequenceProto.DataType.TENSOR = 1
	elemSparseTensor = 2 // SequenceProto.DataType.SPARSE_TENSOR = 2
	elemSequence     = 3 // SequenceProto.DataType.SEQUENCE = 3
	elemMap          = 4 // SequenceProto.DataType.MAP = 4
	elemOptional     = 5 // SequenceProto.DataType.OPTIONAL = 5
)
