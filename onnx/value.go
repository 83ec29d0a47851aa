package onnx

import (
	"errors"
	"fmt"
	"os"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// DecodeTensor parses a serialized TensorProto (an ONNX test-data .pb file)
// and returns the tensor and its name.
func DecodeTensor(b []byte) (*tensor.Tensor, string, error) {
	t, name, err := decodeTensor(b)
	if err != nil {
		return nil, name, fmt.Errorf("onnx: %w", err)
	}
	return t, name, nil
}

func decodeTensor(b []byte) (*tensor.Tensor, string, error) {
	tp, err := parseTensorProto(b)
	if err != nil {
		return nil, "", at("tensor", err)
	}
	t, err := tp.toTensor()
	if err != nil {
		return nil, tp.name, at(tp.label("tensor"), err)
	}
	return t, tp.name, nil
}

// LoadTensor reads and decodes a TensorProto file.
func LoadTensor(path string) (*tensor.Tensor, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("onnx: %w", err)
	}
	t, name, err := decodeTensor(b)
	if err != nil {
		return nil, name, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return t, name, nil
}

// DecodeSequence parses a serialized SequenceProto of tensors. ElemType is
// the element type of the tensors (Undefined for an empty sequence; use
// DecodeValue to take it from a declared type). Sequences of sequences,
// maps, optionals or sparse tensors are not supported.
func DecodeSequence(b []byte) (*tensor.Sequence, error) {
	var d decoder
	s, err := d.sequence(b)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return s, nil
}

func (d *decoder) sequence(b []byte) (*tensor.Sequence, error) {
	if err := d.push(); err != nil {
		return nil, err
	}
	defer d.pop()
	var name string
	var elem int32
	var tensors [][]byte
	var other string
	err := walk(b, "SequenceProto", func(f *wfield) error {
		var err error
		var mb []byte
		switch f.num {
		case seqName:
			name, err = f.str("SequenceProto.name")
		case seqElemType:
			elem, err = f.int32("SequenceProto.elem_type")
		case seqTensorValues:
			mb, err = f.msg("SequenceProto.tensor_values")
			tensors = append(tensors, mb)
		case seqSparseValues:
			other = "sparse tensors"
		case seqSequenceValues:
			other = "sequences"
		case seqMapValues:
			other = "maps"
		case seqOptionalValues:
			other = "optionals"
		}
		return err
	})
	label := "sequence"
	if name != "" {
		label = fmt.Sprintf("sequence %q", name)
	}
	if err != nil {
		return nil, at(label, err)
	}
	if other != "" {
		return nil, at(label, fmt.Errorf("sequences of %s are not supported", other))
	}
	if elem != elemUndefined && elem != elemTensor {
		return nil, at(label, fmt.Errorf("sequences of %s are not supported", elemKindName(elem)))
	}
	s := &tensor.Sequence{}
	for i, tb := range tensors {
		t, err := d.tensor(tb, fmt.Sprintf("tensor #%d", i))
		if err != nil {
			return nil, at(label, err)
		}
		if i == 0 {
			s.ElemType = t.DType
		} else if t.DType != s.ElemType {
			return nil, at(label, fmt.Errorf("tensor #%d is %s, the first is %s", i, dtypeName(t.DType), dtypeName(s.ElemType)))
		}
		s.Tensors = append(s.Tensors, t)
	}
	return s, nil
}

func elemKindName(k int32) string {
	switch k {
	case elemUndefined:
		return "undefined"
	case elemTensor:
		return "tensors"
	case elemSparseTensor:
		return "sparse tensors"
	case elemSequence:
		return "sequences"
	case elemMap:
		return "maps"
	case elemOptional:
		return "optionals"
	}
	return fmt.Sprintf("elem_type %d", k)
}

// DecodeOptional parses a serialized OptionalProto holding nothing, a tensor
// or a sequence of tensors.
func DecodeOptional(b []byte) (*tensor.Optional, error) {
	var d decoder
	o, err := d.optional(b)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return o, nil
}

func (d *decoder) optional(b []byte) (*tensor.Optional, error) {
	if err := d.push(); err != nil {
		return nil, err
	}
	defer d.pop()
	var name string
	var elem int32
	var tv, sv []byte
	var hasT, hasS bool
	var other string
	err := walk(b, "OptionalProto", func(f *wfield) error {
		var err error
		switch f.num {
		case optName:
			name, err = f.str("OptionalProto.name")
		case optElemType:
			elem, err = f.int32("OptionalProto.elem_type")
		case optTensorValue:
			tv, err = f.msg("OptionalProto.tensor_value")
			hasT = true
		case optSequenceValue:
			sv, err = f.msg("OptionalProto.sequence_value")
			hasS = true
		case optSparseValue:
			other = "sparse tensor"
		case optMapValue:
			other = "map"
		case optOptionalValue:
			other = "optional"
		}
		return err
	})
	label := "optional"
	if name != "" {
		label = fmt.Sprintf("optional %q", name)
	}
	if err != nil {
		return nil, at(label, err)
	}
	if other != "" {
		return nil, at(label, fmt.Errorf("optional %s values are not supported", other))
	}
	o := &tensor.Optional{}
	switch {
	case elem == elemTensor || elem == elemUndefined && hasT:
		if hasT {
			t, err := d.tensor(tv, "tensor_value")
			if err != nil {
				return nil, at(label, err)
			}
			o.Value, o.ElemType = t, t.DType
		}
	case elem == elemSequence || elem == elemUndefined && hasS:
		o.ElemIsSeq = true
		if hasS {
			s, err := d.sequence(sv)
			if err != nil {
				return nil, at(label, err)
			}
			o.Value, o.ElemType = s, s.ElemType
		}
	case elem == elemUndefined:
	default:
		return nil, at(label, fmt.Errorf("optional %s are not supported", elemKindName(elem)))
	}
	return o, nil
}

// DecodeValue parses a test-data value according to the declared type of
// the graph input or output it belongs to: a TensorProto for a tensor type
// (returns *tensor.Tensor), a SequenceProto for a sequence type
// (*tensor.Sequence) and an OptionalProto for an optional type
// (*tensor.Optional). Element types left open by the file (an empty
// sequence or optional) are taken from the declared type, and a declared
// tensor element type must match the file's.
func DecodeValue(b []byte, t graph.Type) (any, error) {
	v, err := decodeValue(b, t)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return v, nil
}

func decodeValue(b []byte, t graph.Type) (any, error) {
	var d decoder
	switch t.Kind {
	case graph.KindTensor:
		x, name, err := decodeTensor(b)
		if err != nil {
			return nil, err
		}
		if t.DType != tensor.Undefined && x.DType != t.DType {
			return nil, at(fmt.Sprintf("tensor %q", name), fmt.Errorf("is %s, declared %s", dtypeName(x.DType), dtypeName(t.DType)))
		}
		return x, nil
	case graph.KindSequence:
		s, err := d.sequence(b)
		if err != nil {
			return nil, err
		}
		if err := fillSeq(s, t.Elem); err != nil {
			return nil, at("sequence", err)
		}
		return s, nil
	case graph.KindOptional:
		o, err := d.optional(b)
		if err != nil {
			return nil, err
		}
		if t.Elem == nil {
			return o, nil
		}
		switch t.Elem.Kind {
		case graph.KindTensor:
			if o.ElemIsSeq {
				return nil, at("optional", errors.New("holds a sequence, declared a tensor"))
			}
			if o.Value == nil {
				o.ElemType = t.Elem.DType
			} else if t.Elem.DType != tensor.Undefined && o.ElemType != t.Elem.DType {
				return nil, at("optional", fmt.Errorf("holds %s, declared %s", dtypeName(o.ElemType), dtypeName(t.Elem.DType)))
			}
		case graph.KindSequence:
			if o.Value != nil && !o.ElemIsSeq {
				return nil, at("optional", errors.New("holds a tensor, declared a sequence"))
			}
			o.ElemIsSeq = true
			if s, ok := o.Value.(*tensor.Sequence); ok {
				if err := fillSeq(s, t.Elem.Elem); err != nil {
					return nil, at("optional", err)
				}
				o.ElemType = s.ElemType
			} else if t.Elem.Elem != nil {
				o.ElemType = t.Elem.Elem.DType
			}
		default:
			return nil, at("optional", errors.New("only optional tensors and sequences are supported"))
		}
		return o, nil
	}
	return nil, fmt.Errorf("values of type kind %d are not supported (only tensors, sequences and optionals)", t.Kind)
}

// fillSeq takes a sequence's element type from its declared element type
// when the file leaves it open, and checks it otherwise.
func fillSeq(s *tensor.Sequence, elem *graph.Type) error {
	if elem == nil {
		return nil
	}
	if elem.Kind != graph.KindTensor {
		return errors.New("only sequences of tensors are supported")
	}
	if len(s.Tensors) == 0 {
		s.ElemType = elem.DType
	} else if elem.DType != tensor.Undefined && s.ElemType != elem.DType {
		return fmt.Errorf("holds %s, declared %s", dtypeName(s.ElemType), dtypeName(elem.DType))
	}
	return nil
}

// EncodeSequence serializes a sequence of tensors as a SequenceProto.
func EncodeSequence(s *tensor.Sequence, name string) ([]byte, error) {
	if s == nil {
		return nil, errors.New("onnx: nil sequence")
	}
	b, err := encodeMessage(func(e *encoder) { e.sequence(s, name) })
	if err != nil {
		return nil, fmt.Errorf("onnx: sequence %q: %w", name, err)
	}
	return b, nil
}

func (e *encoder) sequence(s *tensor.Sequence, name string) {
	e.optStr(seqName, name)
	e.int64(seqElemType, elemTensor)
	for i, t := range s.Tensors {
		e.message(seqTensorValues, func(e *encoder) { e.tensorBody(t, "") })
		if e.err != nil {
			e.err = at(fmt.Sprintf("tensor #%d", i), e.err)
			return
		}
	}
}

// EncodeOptional serializes an optional tensor or sequence as an
// OptionalProto.
func EncodeOptional(o *tensor.Optional, name string) ([]byte, error) {
	if o == nil {
		return nil, errors.New("onnx: nil optional")
	}
	b, err := encodeMessage(func(e *encoder) {
		e.optStr(optName, name)
		switch v := o.Value.(type) {
		case nil:
			if o.ElemIsSeq {
				e.int64(optElemType, elemSequence)
			} else {
				e.int64(optElemType, elemTensor)
			}
		case *tensor.Tensor:
			e.int64(optElemType, elemTensor)
			e.message(optTensorValue, func(e *encoder) { e.tensorBody(v, name) })
		case *tensor.Sequence:
			e.int64(optElemType, elemSequence)
			e.message(optSequenceValue, func(e *encoder) { e.sequence(v, name) })
		default:
			e.fail(fmt.Errorf("unsupported optional value %T", o.Value))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("onnx: optional %q: %w", name, err)
	}
	return b, nil
}
