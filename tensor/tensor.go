package tensor

import (
	"fmt"
	"math"
	"strings"
)

// Tensor is a dense, contiguous, row-major N-d array. Shape nil or empty
// means a scalar (one element). Data holds the typed slice listed in the
// DType documentation; len(Data) == NumElems(Shape) always.
type Tensor struct {
	DType DType
	Shape []int
	Data  any
}

// NumElems is the product of the dimensions (1 for a scalar).
func NumElems(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// New allocates a zero-filled tensor of the given dtype and shape.
func New(dt DType, shape ...int) *Tensor {
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor.New: negative dimension in %v", shape))
		}
	}
	s := append([]int(nil), shape...)
	return &Tensor{DType: dt, Shape: s, Data: makeSlice(dt, NumElems(s))}
}

// FromSlice wraps data (one of the slice types listed for DType) as a tensor
// of the given shape without copying. It returns an error when the length
// does not match the shape or the slice type is not a tensor storage type.
func FromSlice(data any, shape ...int) (*Tensor, error) {
	dt, n := sliceInfo(data)
	if dt == Undefined {
		return nil, fmt.Errorf("tensor: unsupported storage type %T", data)
	}
	if n != NumElems(shape) {
		return nil, fmt.Errorf("tensor: %d elements do not fill shape %v (%d)", n, shape, NumElems(shape))
	}
	return &Tensor{DType: dt, Shape: append([]int(nil), shape...), Data: data}, nil
}

// MustFromSlice is FromSlice for data built in code, where a mismatch is a bug.
func MustFromSlice(data any, shape ...int) *Tensor {
	t, err := FromSlice(data, shape...)
	if err != nil {
		panic(err)
	}
	return t
}

// Scalar makes a rank-0 tensor holding v (float32, float64, int64, int32, bool...).
func Scalar(v any) *Tensor {
	switch x := v.(type) {
	case float32:
		return &Tensor{DType: Float32, Data: []float32{x}}
	case float64:
		return &Tensor{DType: Float64, Data: []float64{x}}
	case int64:
		return &Tensor{DType: Int64, Data: []int64{x}}
	case int32:
		return &Tensor{DType: Int32, Data: []int32{x}}
	case int:
		return &Tensor{DType: Int64, Data: []int64{int64(x)}}
	case bool:
		return &Tensor{DType: Bool, Data: []bool{x}}
	case int8:
		return &Tensor{DType: Int8, Data: []int8{x}}
	case uint8:
		return &Tensor{DType: Uint8, Data: []uint8{x}}
	}
	panic(fmt.Sprintf("tensor.Scalar: unsupported %T", v))
}

func sliceInfo(data any) (DType, int) {
	switch x := data.(type) {
	case []float32:
		return Float32, len(x)
	case []float64:
		return Float64, len(x)
	case []int8:
		return Int8, len(x)
	case []int16:
		return Int16, len(x)
	case []int32:
		return Int32, len(x)
	case []int64:
		return Int64, len(x)
	case []uint8:
		return Uint8, len(x)
	case []uint16:
		return Uint16, len(x)
	case []uint32:
		return Uint32, len(x)
	case []uint64:
		return Uint64, len(x)
	case []bool:
		return Bool, len(x)
	case []string:
		return String, len(x)
	case []complex64:
		return Complex64, len(x)
	case []complex128:
		return Complex128, len(x)
	}
	return Undefined, 0
}

// Len is the number of elements.
func (t *Tensor) Len() int { return NumElems(t.Shape) }

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return len(t.Shape) }

// Bytes is the in-memory size of the data in bytes.
func (t *Tensor) Bytes() int64 { return int64(t.Len()) * int64(t.DType.Size()) }

// Strides returns the row-major element strides of shape.
func Strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// Strides returns the row-major element strides of t.
func (t *Tensor) Strides() []int { return Strides(t.Shape) }

// F32 returns the float32 storage. It panics when the dtype is not Float32:
// kernels check dtypes before reaching for storage.
func (t *Tensor) F32() []float32 { return t.Data.([]float32) }

// F64 returns the float64 storage.
func (t *Tensor) F64() []float64 { return t.Data.([]float64) }

// I64 returns the int64 storage.
func (t *Tensor) I64() []int64 { return t.Data.([]int64) }

// I32 returns the int32 storage.
func (t *Tensor) I32() []int32 { return t.Data.([]int32) }

// I8 returns the int8 storage.
func (t *Tensor) I8() []int8 { return t.Data.([]int8) }

// U8 returns the uint8 storage.
func (t *Tensor) U8() []uint8 { return t.Data.([]uint8) }

// U16 returns the uint16 storage (also float16/bfloat16 bits).
func (t *Tensor) U16() []uint16 { return t.Data.([]uint16) }

// Bools returns the bool storage.
func (t *Tensor) Bools() []bool { return t.Data.([]bool) }

// Strings returns the string storage.
func (t *Tensor) Strings() []string { return t.Data.([]string) }

// Clone deep-copies t.
func (t *Tensor) Clone() *Tensor {
	c := New(t.DType, t.Shape...)
	copyData(c.Data, t.Data)
	return c
}

func copyData(dst, src any) {
	switch d := dst.(type) {
	case []float32:
		copy(d, src.([]float32))
	case []float64:
		copy(d, src.([]float64))
	case []int8:
		copy(d, src.([]int8))
	case []int16:
		copy(d, src.([]int16))
	case []int32:
		copy(d, src.([]int32))
	case []int64:
		copy(d, src.([]int64))
	case []uint8:
		copy(d, src.([]uint8))
	case []uint16:
		copy(d, src.([]uint16))
	case []uint32:
		copy(d, src.([]uint32))
	case []uint64:
		copy(d, src.([]uint64))
	case []bool:
		copy(d, src.([]bool))
	case []string:
		copy(d, src.([]string))
	case []complex64:
		copy(d, src.([]complex64))
	case []complex128:
		copy(d, src.([]complex128))
	}
}

// Reshaped returns a tensor sharing t's data with a new shape. The element
// count must match.
func (t *Tensor) Reshaped(shape ...int) (*Tensor, error) {
	if NumElems(shape) != t.Len() {
		return nil, fmt.Errorf("tensor: cannot reshape %v (%d elements) to %v", t.Shape, t.Len(), shape)
	}
	return &Tensor{DType: t.DType, Shape: append([]int(nil), shape...), Data: t.Data}, nil
}

// Rows returns rows lo..hi-1 of t along its first axis (a tensor of shape
// [hi-lo, t.Shape[1:]...]) sharing t's storage, e.g. one sample or one batch
// of a data set held as one tensor.
func (t *Tensor) Rows(lo, hi int) (*Tensor, error) {
	if t.Rank() == 0 || lo < 0 || hi < lo || hi > t.Shape[0] {
		return nil, fmt.Errorf("tensor: rows %d..%d of shape %v", lo, hi, t.Shape)
	}
	per := NumElems(t.Shape[1:])
	shape := append([]int{hi - lo}, t.Shape[1:]...)
	a, b := lo*per, hi*per
	var d any
	switch x := t.Data.(type) {
	case []float32:
		d = x[a:b:b]
	case []float64:
		d = x[a:b:b]
	case []int8:
		d = x[a:b:b]
	case []int16:
		d = x[a:b:b]
	case []int32:
		d = x[a:b:b]
	case []int64:
		d = x[a:b:b]
	case []uint8:
		d = x[a:b:b]
	case []uint16:
		d = x[a:b:b]
	case []uint32:
		d = x[a:b:b]
	case []uint64:
		d = x[a:b:b]
	case []bool:
		d = x[a:b:b]
	case []string:
		d = x[a:b:b]
	case []complex64:
		d = x[a:b:b]
	case []complex128:
		d = x[a:b:b]
	default:
		return nil, fmt.Errorf("tensor: unsupported storage type %T", t.Data)
	}
	return &Tensor{DType: t.DType, Shape: shape, Data: d}, nil
}

// SameShape reports whether two shapes are identical.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Float64At returns element i converted to float64 (for tests, reports and
// generic slow paths; never in a hot loop).
func (t *Tensor) Float64At(i int) float64 {
	switch d := t.Data.(type) {
	case []float32:
		return float64(d[i])
	case []float64:
		return d[i]
	case []int8:
		return float64(d[i])
	case []int16:
		return float64(d[i])
	case []int32:
		return float64(d[i])
	case []int64:
		return float64(d[i])
	case []uint8:
		return float64(d[i])
	case []uint16:
		switch t.DType {
		case Float16:
			return float64(HalfToFloat32(d[i]))
		case BFloat16:
			return float64(math.Float32frombits(uint32(d[i]) << 16))
		}
		return float64(d[i])
	case []uint32:
		return float64(d[i])
	case []uint64:
		return float64(d[i])
	case []bool:
		if d[i] {
			return 1
		}
		return 0
	}
	return math.NaN()
}

// String prints dtype, shape and up to 8 leading elements.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%v[", t.DType, t.Shape)
	n := t.Len()
	for i := 0; i < n && i < 8; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		if t.DType == String {
			fmt.Fprintf(&b, "%q", t.Strings()[i])
		} else {
			fmt.Fprintf(&b, "%g", t.Float64At(i))
		}
	}
	if n > 8 {
		b.WriteString(" ...")
	}
	b.WriteByte(']')
	return b.String()
}

// HalfToFloat32 decodes IEEE binary16 bits. The arithmetic level (arith/)
// holds the full format library; this small decoder lets tensor print and
// convert fp16 data without depending on it.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		// subnormal: normalise
		e := uint32(127 - 15 + 1)
		for man&0x400 == 0 {
			man <<= 1
			e--
		}
		man &= 0x3ff
		return math.Float32frombits(sign | e<<23 | man<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}
