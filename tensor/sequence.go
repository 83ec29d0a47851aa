package tensor

// Sequence is an ONNX sequence value: an ordered list of tensors of one
// element type (ONNX seq(T)).
type Sequence struct {
	ElemType DType
	Tensors  []*Tensor
}

// Optional is an ONNX optional value (opt(T)): Value is nil when empty, else a
// *Tensor or *Sequence. ElemIsSeq and ElemType describe the declared element.
type Optional struct {
	Value     any
	ElemType  DType
	ElemIsSeq bool
}
