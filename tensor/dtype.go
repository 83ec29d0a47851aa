// Package tensor holds frugal's dense N-d tensors: a dtype tag, a shape and a
// typed, contiguous, row-major backing slice. Every level of frugal (model,
// arithmetic, implementation) exchanges data through this one type.
package tensor

import "fmt"

// DType tags the element type of a tensor. The numbering follows ONNX's
// TensorProto.DataType so that import and export need no translation table.
type DType uint8

// Element types. Storage per dtype (the Go type held in Tensor.Data):
//
//	Float32 []float32   Float64 []float64   Bool []bool   String []string
//	Int8 []int8  Int16 []int16  Int32 []int32  Int64 []int64
//	Uint8 []uint8  Uint16 []uint16  Uint32 []uint32  Uint64 []uint64
//	Float16, BFloat16: []uint16 holding the raw bits
//	Float8*, Uint4, Float4E2M1: []uint8, one element per byte (raw bits);
//	Int4: []int8, one element per byte. Packing is an export concern.
const (
	Undefined      DType = 0
	Float32        DType = 1
	Uint8          DType = 2
	Int8           DType = 3
	Uint16         DType = 4
	Int16          DType = 5
	Int32          DType = 6
	Int64          DType = 7
	String         DType = 8
	Bool           DType = 9
	Float16        DType = 10
	Float64        DType = 11
	Uint32         DType = 12
	Uint64         DType = 13
	Complex64      DType = 14
	Complex128     DType = 15
	BFloat16       DType = 16
	Float8E4M3FN   DType = 17
	Float8E4M3FNUZ DType = 18
	Float8E5M2     DType = 19
	Float8E5M2FNUZ DType = 20
	Uint4          DType = 21
	Int4           DType = 22
	Float4E2M1     DType = 23
)

var dtypeNames = map[DType]string{
	Undefined: "undefined", Float32: "float32", Uint8: "uint8", Int8: "int8",
	Uint16: "uint16", Int16: "int16", Int32: "int32", Int64: "int64",
	String: "string", Bool: "bool", Float16: "float16", Float64: "float64",
	Uint32: "uint32", Uint64: "uint64", Complex64: "complex64", Complex128: "complex128",
	BFloat16: "bfloat16", Float8E4M3FN: "float8e4m3fn", Float8E4M3FNUZ: "float8e4m3fnuz",
	Float8E5M2: "float8e5m2", Float8E5M2FNUZ: "float8e5m2fnuz", Uint4: "uint4", Int4: "int4",
	Float4E2M1: "float4e2m1",
}

func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// Size is the number of bytes one element occupies in memory (not on disk:
// 4-bit types take one byte here). Strings report 0.
func (d DType) Size() int {
	switch d {
	case Float32, Int32, Uint32:
		return 4
	case Float64, Int64, Uint64, Complex64:
		return 8
	case Complex128:
		return 16
	case Int16, Uint16, Float16, BFloat16:
		return 2
	case Uint8, Int8, Bool, Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ, Uint4, Int4, Float4E2M1:
		return 1
	}
	return 0
}

// Bits is the number of bits an element occupies when stored packed.
func (d DType) Bits() int {
	switch d {
	case Uint4, Int4, Float4E2M1:
		return 4
	case Bool:
		return 8
	}
	return d.Size() * 8
}

// IsFloat reports whether d is a floating-point type (of any width).
func (d DType) IsFloat() bool {
	switch d {
	case Float32, Float64, Float16, BFloat16, Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ, Float4E2M1:
		return true
	}
	return false
}

// IsInt reports whether d is a signed or unsigned integer type.
func (d DType) IsInt() bool {
	switch d {
	case Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64, Int4, Uint4:
		return true
	}
	return false
}

// IsSigned reports whether d can hold negative values.
func (d DType) IsSigned() bool {
	switch d {
	case Int8, Int16, Int32, Int64, Int4:
		return true
	}
	return d.IsFloat()
}

// makeSlice allocates the backing slice for n elements of d.
func makeSlice(d DType, n int) any {
	switch d {
	case Float32:
		return make([]float32, n)
	case Float64:
		return make([]float64, n)
	case Int8:
		return make([]int8, n)
	case Int16:
		return make([]int16, n)
	case Int32:
		return make([]int32, n)
	case Int64:
		return make([]int64, n)
	case Uint8, Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ, Uint4, Float4E2M1:
		return make([]uint8, n)
	case Int4:
		return make([]int8, n)
	case Uint16, Float16, BFloat16:
		return make([]uint16, n)
	case Uint32:
		return make([]uint32, n)
	case Uint64:
		return make([]uint64, n)
	case Bool:
		return make([]bool, n)
	case String:
		return make([]string, n)
	case Complex64:
		return make([]complex64, n)
	case Complex128:
		return make([]complex128, n)
	}
	return nil
}
