package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/frugal-ml/frugal/tensor"
)

// Element types newer than the tensor package's list, numbered as in
// TensorProto.DataType. They are stored like their relatives: one element
// per byte, raw bits for the float format, sign-extended for int2.
const (
	Float8E8M0 tensor.DType = 24 // TensorProto.DataType.FLOAT8E8M0 = 24; []uint8 raw bits
	Uint2      tensor.DType = 25 // TensorProto.DataType.UINT2 = 25; []uint8, one element per byte
	Int2       tensor.DType = 26 // TensorProto.DataType.INT2 = 26; []int8, one element per byte
)

// Limits on what a file may make the decoder allocate beyond its own size.
const (
	// maxElems bounds the element count of any declared shape.
	maxElems = 1 << 48
)

// maxSparseDenseBytes bounds the dense form of a sparse tensor, whose size,
// unlike a dense tensor's, is not bounded by the file size. (A variable so
// the fuzz test can lower it.)
var maxSparseDenseBytes int64 = 1 << 28

// dtInfo says how a dtype is serialized in a TensorProto.
type dtInfo struct {
	bits  int              // bits per element in raw_data (0: strings, not allowed in raw_data)
	field protowire.Number // the typed repeated field that may carry the values
	width int              // wire width of that field: 4 or 8 fixed, 0 varint
	per   int              // typed values per element (2 for complex); 0 for sub-byte types, whose packed bytes take one value each
}

func dtypeInfo(dt tensor.DType) (dtInfo, bool) {
	switch dt {
	case tensor.Float32:
		return dtInfo{32, tensorFloatData, 4, 1}, true
	case tensor.Complex64:
		return dtInfo{64, tensorFloatData, 4, 2}, true
	case tensor.Float64:
		return dtInfo{64, tensorDoubleData, 8, 1}, true
	case tensor.Complex128:
		return dtInfo{128, tensorDoubleData, 8, 2}, true
	case tensor.Int64:
		return dtInfo{64, tensorInt64Data, 0, 1}, true
	case tensor.Uint32:
		return dtInfo{32, tensorUint64Data, 0, 1}, true
	case tensor.Uint64:
		return dtInfo{64, tensorUint64Data, 0, 1}, true
	case tensor.String:
		return dtInfo{0, tensorStringData, 0, 1}, true
	case tensor.Int32:
		return dtInfo{32, tensorInt32Data, 0, 1}, true
	case tensor.Int16, tensor.Uint16, tensor.Float16, tensor.BFloat16:
		return dtInfo{16, tensorInt32Data, 0, 1}, true
	case tensor.Int8, tensor.Uint8, tensor.Bool, tensor.Float8E4M3FN, tensor.Float8E4M3FNUZ,
		tensor.Float8E5M2, tensor.Float8E5M2FNUZ, Float8E8M0:
		return dtInfo{8, tensorInt32Data, 0, 1}, true
	case tensor.Int4, tensor.Uint4, tensor.Float4E2M1:
		return dtInfo{4, tensorInt32Data, 0, 0}, true
	case Int2, Uint2:
		return dtInfo{2, tensorInt32Data, 0, 0}, true
	}
	return dtInfo{}, false
}

func dtypeName(dt tensor.DType) string {
	switch dt {
	case Float8E8M0:
		return "float8e8m0"
	case Uint2:
		return "uint2"
	case Int2:
		return "int2"
	}
	return dt.String()
}

// newData allocates the storage for n elements of dt (see tensor.DType).
func newData(dt tensor.DType, n int) any {
	switch dt {
	case tensor.Float32:
		return make([]float32, n)
	case tensor.Float64:
		return make([]float64, n)
	case tensor.Int8, tensor.Int4, Int2:
		return make([]int8, n)
	case tensor.Int16:
		return make([]int16, n)
	case tensor.Int32:
		return make([]int32, n)
	case tensor.Int64:
		return make([]int64, n)
	case tensor.Uint8, tensor.Float8E4M3FN, tensor.Float8E4M3FNUZ, tensor.Float8E5M2, tensor.Float8E5M2FNUZ,
		tensor.Uint4, tensor.Float4E2M1, Float8E8M0, Uint2:
		return make([]uint8, n)
	case tensor.Uint16, tensor.Float16, tensor.BFloat16:
		return make([]uint16, n)
	case tensor.Uint32:
		return make([]uint32, n)
	case tensor.Uint64:
		return make([]uint64, n)
	case tensor.Bool:
		return make([]bool, n)
	case tensor.String:
		return make([]string, n)
	case tensor.Complex64:
		return make([]complex64, n)
	case tensor.Complex128:
		return make([]complex128, n)
	}
	return nil
}

// dataLen returns the length of a storage slice and whether its Go type is
// the one dt is stored in.
func dataLen(dt tensor.DType, data any) (int, bool) {
	want := newData(dt, 0)
	if want == nil || data == nil || reflect.TypeOf(want) != reflect.TypeOf(data) {
		return 0, false
	}
	return reflect.ValueOf(data).Len(), true
}

// shapeOf validates dims from a file and returns them as a shape plus the
// element count.
func shapeOf(dims []int64) ([]int, int, error) {
	var shape []int
	if len(dims) > 0 {
		shape = make([]int, len(dims))
	}
	n, zero := int64(1), false
	for i, d := range dims {
		if d < 0 {
			return nil, 0, fmt.Errorf("dims %v: dimension %d is negative", dims, i)
		}
		if d > maxElems {
			return nil, 0, fmt.Errorf("dims %v: dimension %d is too large", dims, i)
		}
		shape[i] = int(d)
		if d == 0 {
			zero = true
		}
		if !zero && n > 0 {
			if n > maxElems/d {
				n = -1 // too many, unless a later dimension is 0
			} else {
				n *= d
			}
		}
	}
	if zero {
		return shape, 0, nil
	}
	if n < 0 {
		return nil, 0, fmt.Errorf("dims %v: more than %d elements", dims, int64(maxElems))
	}
	return shape, int(n), nil
}

// tensorProto is a TensorProto after the first pass: scalars decoded, data
// fields counted but not yet converted.
type tensorProto struct {
	b        []byte
	name     string
	dims     []int64
	dataType int32
	segment  bool
	raw      []byte
	hasRaw   bool
	counts   map[protowire.Number]int // values per typed repeated field
	strings  [][]byte
	external bool
}

var typedFields = []struct {
	num   protowire.Number
	name  string
	width int
}{
	{tensorFloatData, "float_data", 4},
	{tensorInt32Data, "int32_data", 0},
	{tensorInt64Data, "int64_data", 0},
	{tensorDoubleData, "double_data", 8},
	{tensorUint64Data, "uint64_data", 0},
}

func fieldName(num protowire.Number) string {
	for _, f := range typedFields {
		if f.num == num {
			return f.name
		}
	}
	if num == tensorStringData {
		return "string_data"
	}
	return fmt.Sprintf("field %d", num)
}

func parseTensorProto(b []byte) (*tensorProto, error) {
	tp := &tensorProto{b: b, counts: map[protowire.Number]int{}}
	err := walk(b, "TensorProto", func(f *wfield) error {
		var err error
		switch f.num {
		case tensorDims:
			tp.dims, err = f.appendInt64s(tp.dims, "TensorProto.dims")
		case tensorDataType:
			tp.dataType, err = f.int32("TensorProto.data_type")
		case tensorSegment:
			if err = f.want("TensorProto.segment", protowire.BytesType); err == nil {
				tp.segment = true
			}
		case tensorName:
			tp.name, err = f.str("TensorProto.name")
		case tensorRawData:
			if err = f.want("TensorProto.raw_data", protowire.BytesType); err == nil {
				tp.raw, tp.hasRaw = f.b, true
			}
		case tensorStringData:
			if err = f.want("TensorProto.string_data", protowire.BytesType); err == nil {
				tp.strings = append(tp.strings, f.b)
			}
		case tensorExternalData:
			tp.external = true
		case tensorDataLocation:
			var loc int64
			if loc, err = f.int64("TensorProto.data_location"); err == nil && loc == dataLocationExternal {
				tp.external = true
			}
		default:
			for _, tf := range typedFields {
				if tf.num == f.num {
					var c int
					c, err = f.repCount("TensorProto."+tf.name, tf.width)
					tp.counts[f.num] += c
				}
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return tp, nil
}

// label names the tensor for errors: kind ("initializer", "tensor", ...)
// plus its name when it has one.
func (tp *tensorProto) label(kind string) string {
	if tp.name == "" {
		return kind
	}
	return fmt.Sprintf("%s %q", kind, tp.name)
}

// toTensor converts the parsed proto into a frugal tensor, checking every
// count against the dims before allocating.
func (tp *tensorProto) toTensor() (*tensor.Tensor, error) {
	if tp.external {
		return nil, errors.New("external data not supported (the tensor's data lives in a separate file; load the model with its data embedded)")
	}
	if tp.segment {
		return nil, errors.New("segmented tensors (TensorProto.segment) are not supported")
	}
	dt := tensor.DType(0)
	if tp.dataType > 0 && tp.dataType < 256 {
		dt = tensor.DType(tp.dataType)
	}
	info, ok := dtypeInfo(dt)
	if !ok {
		return nil, fmt.Errorf("unsupported data_type %d", tp.dataType)
	}
	shape, n, err := shapeOf(tp.dims)
	if err != nil {
		return nil, err
	}
	// Which data fields carry values?
	// An empty raw_data next to a typed field is ignored.
	var present []string
	for _, f := range typedFields {
		if tp.counts[f.num] > 0 {
			present = append(present, f.name)
		}
	}
	if len(tp.strings) > 0 {
		present = append(present, "string_data")
	}
	if tp.hasRaw && (len(tp.raw) > 0 || len(present) == 0) {
		present = append([]string{"raw_data"}, present...)
	}
	if len(present) > 1 {
		return nil, fmt.Errorf("data in both %s and %s (a tensor uses exactly one data field)", present[0], present[1])
	}
	t := &tensor.Tensor{DType: dt, Shape: shape}
	switch {
	case len(present) == 0:
		if n != 0 {
			return nil, fmt.Errorf("no data for dims %v (%d elements of %s)", tp.dims, n, dtypeName(dt))
		}
		t.Data = newData(dt, 0)
	case present[0] == "raw_data":
		if dt == tensor.String {
			return nil, errors.New("raw_data cannot hold string elements (they belong in string_data)")
		}
		need := (int64(n)*int64(info.bits) + 7) / 8
		if int64(len(tp.raw)) != need {
			return nil, fmt.Errorf("raw_data has %d bytes, dims %v need %d", len(tp.raw), tp.dims, need)
		}
		t.Data = fromRaw(dt, n, tp.raw)
	case present[0] == "string_data":
		if dt != tensor.String {
			return nil, fmt.Errorf("string_data cannot hold %s elements", dtypeName(dt))
		}
		if len(tp.strings) != n {
			return nil, fmt.Errorf("string_data has %d values, dims %v need %d", len(tp.strings), tp.dims, n)
		}
		s := make([]string, n)
		for i, b := range tp.strings {
			s[i] = string(b)
		}
		t.Data = s
	default:
		got := tp.counts[info.field]
		if got == 0 {
			return nil, fmt.Errorf("%s cannot hold %s elements (they belong in %s or raw_data)", present[0], dtypeName(dt), fieldName(info.field))
		}
		need := n * info.per
		if info.per == 0 {
			need = (n*info.bits + 7) / 8
		}
		if got != need {
			return nil, fmt.Errorf("%s has %d values, dims %v need %d", fieldName(info.field), got, tp.dims, need)
		}
		vals := make([]uint64, 0, got)
		err := walk(tp.b, "TensorProto", func(f *wfield) error {
			if f.num != info.field {
				return nil
			}
			return f.repValues(info.width, func(v uint64) { vals = append(vals, v) })
		})
		if err != nil {
			return nil, err
		}
		t.Data = fromTyped(dt, n, vals)
	}
	return t, nil
}

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// asBytes views a fixed-size element slice as its bytes.
func asBytes[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(z)))
}

// swapBytes reverses each size-byte word of b (for big-endian hosts).
func swapBytes(b []byte, size int) {
	for i := 0; i+size <= len(b); i += size {
		w := b[i : i+size]
		for j, k := 0, size-1; j < k; j, k = j+1, k-1 {
			w[j], w[k] = w[k], w[j]
		}
	}
}

// copyLE fills dst from little-endian bytes; word is the byte width of one
// scalar (complex parts count separately).
func copyLE[T any](dst []T, raw []byte, word int) {
	b := asBytes(dst)
	copy(b, raw)
	if !littleEndian && word > 1 {
		swapBytes(b, word)
	}
}

// appendLE appends the little-endian bytes of src.
func appendLE[T any](buf []byte, src []T, word int) []byte {
	start := len(buf)
	buf = append(buf, asBytes(src)...)
	if !littleEndian && word > 1 {
		swapBytes(buf[start:], word)
	}
	return buf
}

// fromRaw decodes n elements of dt from raw_data whose length is checked.
func fromRaw(dt tensor.DType, n int, raw []byte) any {
	data := newData(dt, n)
	switch d := data.(type) {
	case []float32:
		copyLE(d, raw, 4)
	case []float64:
		copyLE(d, raw, 8)
	case []int16:
		copyLE(d, raw, 2)
	case []int32:
		copyLE(d, raw, 4)
	case []int64:
		copyLE(d, raw, 8)
	case []uint16:
		copyLE(d, raw, 2)
	case []uint32:
		copyLE(d, raw, 4)
	case []uint64:
		copyLE(d, raw, 8)
	case []complex64:
		copyLE(d, raw, 4)
	case []complex128:
		copyLE(d, raw, 8)
	case []bool:
		for i := range d {
			d[i] = raw[i] != 0
		}
	case []int8:
		switch dt {
		case tensor.Int4:
			for i := range d {
				d[i] = int8((raw[i>>1]>>(4*(i&1)))<<4) >> 4
			}
		case Int2:
			for i := range d {
				d[i] = int8((raw[i>>2]>>(2*(i&3)))<<6) >> 6
			}
		default:
			copy(asBytes(d), raw)
		}
	case []uint8:
		switch dt {
		case tensor.Uint4, tensor.Float4E2M1:
			for i := range d {
				d[i] = (raw[i>>1] >> (4 * (i & 1))) & 0xf
			}
		case Uint2:
			for i := range d {
				d[i] = (raw[i>>2] >> (2 * (i & 3))) & 3
			}
		default:
			copy(d, raw)
		}
	}
	return data
}

// fromTyped converts the values of the typed field (already counted) into n
// elements of dt.
func fromTyped(dt tensor.DType, n int, v []uint64) any {
	data := newData(dt, n)
	switch d := data.(type) {
	case []float32:
		for i := range d {
			d[i] = math.Float32frombits(uint32(v[i]))
		}
	case []complex64:
		for i := range d {
			d[i] = complex(math.Float32frombits(uint32(v[2*i])), math.Float32frombits(uint32(v[2*i+1])))
		}
	case []float64:
		for i := range d {
			d[i] = math.Float64frombits(v[i])
		}
	case []complex128:
		for i := range d {
			d[i] = complex(math.Float64frombits(v[2*i]), math.Float64frombits(v[2*i+1]))
		}
	case []int64:
		for i := range d {
			d[i] = int64(v[i])
		}
	case []uint64:
		copy(d, v)
	case []uint32:
		for i := range d {
			d[i] = uint32(v[i])
		}
	case []int32:
		for i := range d {
			d[i] = int32(v[i])
		}
	case []int16:
		for i := range d {
			d[i] = int16(v[i])
		}
	case []uint16:
		for i := range d {
			d[i] = uint16(v[i])
		}
	case []bool:
		for i := range d {
			d[i] = uint32(v[i]) != 0
		}
	case []int8, []uint8:
		info, _ := dtypeInfo(dt)
		if info.per == 0 {
			// Sub-byte types: each value is one packed byte.
			packed := make([]byte, len(v))
			for i := range v {
				packed[i] = byte(v[i])
			}
			return fromRaw(dt, n, packed)
		}
		if d8, ok := d.([]int8); ok {
			for i := range d8 {
				d8[i] = int8(v[i])
			}
		} else {
			d8 := d.([]uint8)
			for i := range d8 {
				d8[i] = uint8(v[i])
			}
		}
	}
	return data
}

// checkTensor validates an in-memory tensor for export and returns its
// element count.
func checkTensor(t *tensor.Tensor) (int, error) {
	if t == nil {
		return 0, errors.New("nil tensor")
	}
	if _, ok := dtypeInfo(t.DType); !ok {
		return 0, fmt.Errorf("cannot export dtype %s", dtypeName(t.DType))
	}
	n := 1
	for _, d := range t.Shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", t.Shape)
		}
		n *= d
	}
	got, ok := dataLen(t.DType, t.Data)
	if !ok {
		return 0, fmt.Errorf("%s tensor holds %T, want %T", dtypeName(t.DType), t.Data, newData(t.DType, 0))
	}
	if got != n {
		return 0, fmt.Errorf("%s tensor of shape %v holds %d elements, want %d", dtypeName(t.DType), t.Shape, got, n)
	}
	return n, nil
}

// appendRaw appends the raw_data bytes of a checked tensor.
func appendRaw(buf []byte, t *tensor.Tensor) []byte {
	switch d := t.Data.(type) {
	case []float32:
		return appendLE(buf, d, 4)
	case []float64:
		return appendLE(buf, d, 8)
	case []int16:
		return appendLE(buf, d, 2)
	case []int32:
		return appendLE(buf, d, 4)
	case []int64:
		return appendLE(buf, d, 8)
	case []uint16:
		return appendLE(buf, d, 2)
	case []uint32:
		return appendLE(buf, d, 4)
	case []uint64:
		return appendLE(buf, d, 8)
	case []complex64:
		return appendLE(buf, d, 4)
	case []complex128:
		return appendLE(buf, d, 8)
	case []bool:
		for _, v := range d {
			if v {
				buf = append(buf, 1)
			} else {
				buf = append(buf, 0)
			}
		}
		return buf
	case []int8:
		return packBits(buf, asBytes(d), t.DType)
	case []uint8:
		return packBits(buf, d, t.DType)
	}
	return buf
}

// packBits appends one-byte-per-element data, packing 4-bit types two per
// byte and 2-bit types four per byte, first element in the low bits.
func packBits(buf, d []byte, dt tensor.DType) []byte {
	info, _ := dtypeInfo(dt)
	switch info.bits {
	case 4:
		for i := 0; i < len(d); i += 2 {
			b := d[i] & 0xf
			if i+1 < len(d) {
				b |= d[i+1] << 4
			}
			buf = append(buf, b)
		}
		return buf
	case 2:
		for i := 0; i < len(d); i += 4 {
			var b byte
			for j := 0; j < 4 && i+j < len(d); j++ {
				b |= (d[i+j] & 3) << (2 * j)
			}
			buf = append(buf, b)
		}
		return buf
	}
	return append(buf, d...)
}

// encodeTensorBody writes the fields of a TensorProto for t.
func (e *encoder) tensorBody(t *tensor.Tensor, name string) {
	n, err := checkTensor(t)
	if err != nil {
		e.fail(err)
		return
	}
	for _, d := range t.Shape {
		e.int64(tensorDims, int64(d))
	}
	e.int64(tensorDataType, int64(t.DType))
	if t.DType == tensor.String {
		for _, s := range t.Data.([]string) {
			e.str(tensorStringData, s)
		}
	}
	e.optStr(tensorName, name)
	if t.DType != tensor.String {
		info, _ := dtypeInfo(t.DType)
		e.raw(tensorRawData, (n*info.bits+7)/8, func(buf []byte) []byte { return appendRaw(buf, t) })
	}
}

// sparseProto is a parsed SparseTensorProto.
type sparseProto struct {
	values, indices []byte
	hasValues       bool
	hasIndices      bool
	dims            []int64
}

// sparseToDense decodes a SparseTensorProto into a dense tensor and returns
// the name of its values tensor.
func (d *decoder) sparseToDense(b []byte) (*tensor.Tensor, string, error) {
	var sp sparseProto
	err := walk(b, "SparseTensorProto", func(f *wfield) error {
		var err error
		switch f.num {
		case sparseValues:
			sp.values, err = f.msg("SparseTensorProto.values")
			sp.hasValues = true
		case sparseIndices:
			sp.indices, err = f.msg("SparseTensorProto.indices")
			sp.hasIndices = true
		case sparseDims:
			sp.dims, err = f.appendInt64s(sp.dims, "SparseTensorProto.dims")
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if !sp.hasValues {
		return nil, "", errors.New("sparse tensor has no values")
	}
	vp, err := parseTensorProto(sp.values)
	if err != nil {
		return nil, "", at("values", err)
	}
	vals, err := vp.toTensor()
	if err != nil {
		return nil, vp.name, at(vp.label("values"), err)
	}
	shape, n, err := shapeOf(sp.dims)
	if err != nil {
		return nil, vp.name, err
	}
	size := int64(vals.DType.Size())
	if size == 0 {
		size = 16
	}
	if int64(n)*size > maxSparseDenseBytes {
		return nil, vp.name, fmt.Errorf("sparse tensor of dims %v would take %d bytes when dense (limit %d)", sp.dims, int64(n)*size, maxSparseDenseBytes)
	}
	nnz := vals.Len()
	idx := make([]int, nnz)
	if nnz > 0 {
		if !sp.hasIndices {
			return nil, vp.name, fmt.Errorf("sparse tensor has %d values but no indices", nnz)
		}
		ip, err := parseTensorProto(sp.indices)
		if err != nil {
			return nil, vp.name, at("indices", err)
		}
		it, err := ip.toTensor()
		if err != nil {
			return nil, vp.name, at("indices", err)
		}
		if it.DType != tensor.Int64 {
			return nil, vp.name, fmt.Errorf("sparse indices are %s, want int64", dtypeName(it.DType))
		}
		iv := it.I64()
		strides := tensor.Strides(shape)
		switch {
		case len(it.Shape) == 1 && it.Shape[0] == nnz:
			for k, v := range iv {
				if v < 0 || v >= int64(n) {
					return nil, vp.name, fmt.Errorf("sparse index %d is %d, outside [0, %d)", k, v, n)
				}
				idx[k] = int(v)
			}
		case len(it.Shape) == 2 && it.Shape[0] == nnz && it.Shape[1] == len(shape):
			r := len(shape)
			for k := 0; k < nnz; k++ {
				lin := 0
				for j := 0; j < r; j++ {
					v := iv[k*r+j]
					if v < 0 || v >= int64(shape[j]) {
						return nil, vp.name, fmt.Errorf("sparse index [%d, %d] is %d, outside [0, %d)", k, j, v, shape[j])
					}
					lin += int(v) * strides[j]
				}
				idx[k] = lin
			}
		default:
			return nil, vp.name, fmt.Errorf("sparse indices have shape %v, want [%d] or [%d %d]", it.Shape, nnz, nnz, len(shape))
		}
	}
	dense := newData(vals.DType, n)
	dv, sv := reflect.ValueOf(dense), reflect.ValueOf(vals.Data)
	for k, i := range idx {
		dv.Index(i).Set(sv.Index(k))
	}
	return &tensor.Tensor{DType: vals.DType, Shape: shape, Data: dense}, vp.name, nil
}

// sparseBody writes a SparseTensorProto holding the non-zero elements of t
// (linearized indices).
func (e *encoder) sparseBody(t *tensor.Tensor, name string) {
	n, err := checkTensor(t)
	if err != nil {
		e.fail(err)
		return
	}
	dv := reflect.ValueOf(t.Data)
	var idx []int64
	for i := 0; i < n; i++ {
		if !isZeroBits(dv.Index(i)) {
			idx = append(idx, int64(i))
		}
	}
	vals := newData(t.DType, len(idx))
	vv := reflect.ValueOf(vals)
	for k, i := range idx {
		vv.Index(k).Set(dv.Index(int(i)))
	}
	if idx == nil {
		idx = []int64{}
	}
	e.message(sparseValues, func(e *encoder) {
		e.tensorBody(&tensor.Tensor{DType: t.DType, Shape: []int{len(idx)}, Data: vals}, name)
	})
	e.message(sparseIndices, func(e *encoder) {
		e.tensorBody(&tensor.Tensor{DType: tensor.Int64, Shape: []int{len(idx)}, Data: idx}, "")
	})
	for _, d := range t.Shape {
		e.int64(sparseDims, int64(d))
	}
}

// isZeroBits reports whether v is the default (all-zero-bits) value, so a
// negative zero counts as a value to keep in a sparse tensor.
func isZeroBits(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.Float64bits(v.Float()) == 0
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		return math.Float64bits(real(c)) == 0 && math.Float64bits(imag(c)) == 0
	}
	return v.IsZero()
}
