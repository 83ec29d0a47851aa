// Package onnx reads and writes ONNX models (ModelProto), tensors
// (TensorProto) and the SequenceProto / OptionalProto values of the ONNX
// test data, converting them to and from frugal's graph and tensor types.
//
// The protobuf wire format is decoded and encoded by hand with
// google.golang.org/protobuf/encoding/protowire: there is no generated code
// and no .proto file. Field numbers are named constants in fields.go, each
// citing its onnx.proto message and field.
//
// # Decoding
//
// Every length and count in a file is checked against the remaining input
// and against the declared dims before anything is allocated, so a corrupt
// or malicious file yields an error, never a panic or an allocation out of
// proportion to its size. Errors say what is wrong and where:
//
//	onnx: graph "main" initializer "conv1.weight": raw_data has 100 bytes, dims [6 1 5 5] need 600
//
// Packed and unpacked encodings of repeated scalars both decode; unknown
// fields are skipped. Tensor data may come from raw_data (little-endian;
// 4-bit types two per byte and 2-bit types four per byte, first element in
// the low bits) or from the typed fields: int32_data for the 8/16-bit,
// bool, float16/bfloat16 (as bits), float8 and packed 4/2-bit types,
// int64_data, uint64_data for uint32/uint64, float_data and double_data
// (complex as real, imaginary pairs), string_data. Sparse initializers and
// sparse attributes are densified. External data is rejected with an error
// naming the tensor.
//
// # What is kept
//
// The graph types keep nearly all of ONNX's structure. Dropped on import:
// doc strings of tensors, dimension and type denotations, metadata_props
// other than the model's, NodeProto.overload, FunctionProto doc_string /
// value_info / overload, GraphProto.quantization_annotation and
// ModelProto.training_info. Model-local functions are keyed by
// domain + ":" + name; a function's AttrNames lists its attributes without
// defaults first, then those with defaults (AttrDefaults).
//
// Types without a counterpart in graph.Type are mapped as follows: a map
// type has Kind KindMap, the key type in DType and the value type in Elem;
// a sparse tensor type has Kind KindSparseTensor with DType and Shape. A
// dimension with neither dim_value nor dim_param has Size -1 and no Param.
//
// # Encoding
//
// Encode writes what Decode reads, so Decode(Encode(m)) reproduces m (up to
// nil versus empty slices and maps). Maps (attributes, value_info,
// metadata, functions) are written in sorted key order, so the output is
// deterministic.
package onnx
