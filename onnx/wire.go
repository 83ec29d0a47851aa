package onnx

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// maxDepth bounds message nesting (graph in attribute in node in graph, type
// in type, ...). A file nested deeper is rejected instead of exhausting the
// stack. Real models nest a handful of levels.
const maxDepth = 100

// locError is an error with a location path: each enclosing message adds a
// label in front ("graph \"main\"", "node \"conv1\" (Conv)", "attribute
// \"value\""), and Error joins them: `graph "main" node "n" (If) attribute
// "then_branch": graph "then" initializer "w": raw_data has ...`.
type locError struct {
	path []string
	err  error
}

func (e *locError) Error() string { return strings.Join(e.path, " ") + ": " + e.err.Error() }
func (e *locError) Unwrap() error { return e.err }

// at prefixes err with a location label.
func at(label string, err error) error {
	if err == nil {
		return nil
	}
	if le, ok := err.(*locError); ok {
		return &locError{path: append([]string{label}, le.path...), err: le.err}
	}
	return &locError{path: []string{label}, err: err}
}

// wfield is one decoded field of a message: v holds varint and fixed values,
// b the payload of a length-delimited field (aliasing the input).
type wfield struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
	off int // offset of the tag within the message
}

func wireName(t protowire.Type) string {
	switch t {
	case protowire.VarintType:
		return "varint"
	case protowire.Fixed32Type:
		return "fixed32"
	case protowire.Fixed64Type:
		return "fixed64"
	case protowire.BytesType:
		return "length-delimited"
	case protowire.StartGroupType:
		return "start-group"
	case protowire.EndGroupType:
		return "end-group"
	}
	return fmt.Sprintf("wire type %d", t)
}

// walk calls fn for every field of message b, in order. msg names the message
// type for errors. Unknown fields reach fn too (fn ignores them); groups,
// which ONNX never uses, are skipped whole.
func walk(b []byte, msg string, fn func(f *wfield) error) error {
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return fmt.Errorf("%s: bad field tag at byte %d: %v", msg, off, protowire.ParseError(n))
		}
		f := wfield{num: num, typ: typ, off: off}
		rest := b[off+n:]
		var m int
		switch typ {
		case protowire.VarintType:
			f.v, m = protowire.ConsumeVarint(rest)
		case protowire.Fixed32Type:
			var v uint32
			v, m = protowire.ConsumeFixed32(rest)
			f.v = uint64(v)
		case protowire.Fixed64Type:
			f.v, m = protowire.ConsumeFixed64(rest)
		case protowire.BytesType:
			f.b, m = protowire.ConsumeBytes(rest)
		case protowire.StartGroupType:
			m = protowire.ConsumeFieldValue(num, typ, rest)
		default:
			return fmt.Errorf("%s: field %d at byte %d has invalid %s", msg, num, off, wireName(typ))
		}
		if m < 0 {
			return fmt.Errorf("%s: field %d (%s) at byte %d: %v", msg, num, wireName(typ), off, protowire.ParseError(m))
		}
		off += n + m
		if typ == protowire.StartGroupType {
			continue
		}
		if err := fn(&f); err != nil {
			return err
		}
	}
	return nil
}

func (f *wfield) want(name string, t protowire.Type) error {
	if f.typ != t {
		return fmt.Errorf("%s (field %d) at byte %d: %s, want %s", name, f.num, f.off, wireName(f.typ), wireName(t))
	}
	return nil
}

// str reads a string/bytes field.
func (f *wfield) str(name string) (string, error) {
	if err := f.want(name, protowire.BytesType); err != nil {
		return "", err
	}
	return string(f.b), nil
}

// msg reads an embedded message field and returns its bytes.
func (f *wfield) msg(name string) ([]byte, error) {
	if err := f.want(name, protowire.BytesType); err != nil {
		return nil, err
	}
	return f.b, nil
}

// int64 reads an int64/int32/enum varint field.
func (f *wfield) int64(name string) (int64, error) {
	if err := f.want(name, protowire.VarintType); err != nil {
		return 0, err
	}
	return int64(f.v), nil
}

// int32 reads an int32/enum varint field, rejecting values out of range.
func (f *wfield) int32(name string) (int32, error) {
	v, err := f.int64(name)
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, fmt.Errorf("%s (field %d) at byte %d: %d is out of int32 range", name, f.num, f.off, v)
	}
	return int32(v), nil
}

// float32 reads a float field.
func (f *wfield) float32(name string) (float32, error) {
	if err := f.want(name, protowire.Fixed32Type); err != nil {
		return 0, err
	}
	return math.Float32frombits(uint32(f.v)), nil
}

// appendInt64s appends the values of a repeated int64 field occurrence,
// packed (length-delimited) or not (varint).
func (f *wfield) appendInt64s(dst []int64, name string) ([]int64, error) {
	switch f.typ {
	case protowire.VarintType:
		return append(dst, int64(f.v)), nil
	case protowire.BytesType:
		n, err := countVarints(f.b)
		if err != nil {
			return dst, fmt.Errorf("%s (field %d, packed) at byte %d: %v", name, f.num, f.off, err)
		}
		dst = grow(dst, n)
		for b := f.b; len(b) > 0; {
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return dst, fmt.Errorf("%s (field %d, packed) at byte %d: %v", name, f.num, f.off, protowire.ParseError(m))
			}
			dst = append(dst, int64(v))
			b = b[m:]
		}
		return dst, nil
	}
	return dst, fmt.Errorf("%s (field %d) at byte %d: %s, want varint or packed", name, f.num, f.off, wireName(f.typ))
}

// appendFloat32s appends the values of a repeated float field occurrence,
// packed or not.
func (f *wfield) appendFloat32s(dst []float32, name string) ([]float32, error) {
	switch f.typ {
	case protowire.Fixed32Type:
		return append(dst, math.Float32frombits(uint32(f.v))), nil
	case protowire.BytesType:
		if len(f.b)%4 != 0 {
			return dst, fmt.Errorf("%s (field %d, packed) at byte %d: %d bytes is not a multiple of 4", name, f.num, f.off, len(f.b))
		}
		dst = grow(dst, len(f.b)/4)
		for i := 0; i < len(f.b); i += 4 {
			v, _ := protowire.ConsumeFixed32(f.b[i:])
			dst = append(dst, math.Float32frombits(v))
		}
		return dst, nil
	}
	return dst, fmt.Errorf("%s (field %d) at byte %d: %s, want fixed32 or packed", name, f.num, f.off, wireName(f.typ))
}

func grow[T any](s []T, n int) []T {
	if cap(s)-len(s) < n {
		ns := make([]T, len(s), len(s)+n)
		copy(ns, s)
		return ns
	}
	return s
}

// countVarints counts the varints in a packed payload without decoding
// them, so a count can be checked before anything is allocated.
func countVarints(b []byte) (int, error) {
	if len(b) > 0 && b[len(b)-1]&0x80 != 0 {
		return 0, errors.New("truncated varint at the end of the packed data")
	}
	n := 0
	for _, c := range b {
		if c&0x80 == 0 {
			n++
		}
	}
	return n, nil
}

// repCount returns how many values one occurrence of a repeated scalar field
// contributes: 1 when unpacked, the packed count otherwise. width is 4 or 8
// for fixed-width fields, 0 for varints.
func (f *wfield) repCount(name string, width int) (int, error) {
	scalar := protowire.VarintType
	switch width {
	case 4:
		scalar = protowire.Fixed32Type
	case 8:
		scalar = protowire.Fixed64Type
	}
	switch f.typ {
	case scalar:
		return 1, nil
	case protowire.BytesType:
		if width == 0 {
			n, err := countVarints(f.b)
			if err != nil {
				return 0, fmt.Errorf("%s (field %d, packed) at byte %d: %v", name, f.num, f.off, err)
			}
			return n, nil
		}
		if len(f.b)%width != 0 {
			return 0, fmt.Errorf("%s (field %d, packed) at byte %d: %d bytes is not a multiple of %d", name, f.num, f.off, len(f.b), width)
		}
		return len(f.b) / width, nil
	}
	return 0, fmt.Errorf("%s (field %d) at byte %d: %s, want %s or packed", name, f.num, f.off, wireName(f.typ), wireName(scalar))
}

// repValues calls fn with each raw value (varint value or fixed bits) of one
// occurrence of a repeated scalar field already validated by repCount.
func (f *wfield) repValues(width int, fn func(v uint64)) error {
	if f.typ != protowire.BytesType {
		fn(f.v)
		return nil
	}
	b := f.b
	switch width {
	case 4:
		for i := 0; i+4 <= len(b); i += 4 {
			v, _ := protowire.ConsumeFixed32(b[i:])
			fn(uint64(v))
		}
	case 8:
		for i := 0; i+8 <= len(b); i += 8 {
			v, _ := protowire.ConsumeFixed64(b[i:])
			fn(v)
		}
	default:
		for len(b) > 0 {
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return fmt.Errorf("packed field %d at byte %d: %v", f.num, f.off, protowire.ParseError(m))
			}
			fn(v)
			b = b[m:]
		}
	}
	return nil
}
