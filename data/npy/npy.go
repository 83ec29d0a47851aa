// Package npy reads and writes NumPy .npy files as tensors: format versions
// 1.0, 2.0 and 3.0, C order, the numeric and boolean dtypes a tensor holds
// (float16/32/64, int8..int64, uint8..uint64, bool), either byte order.
//
// A .npy file is untrusted input (a user names it on the command line):
// every malformed file yields an error that names the file and the problem
// and unwraps to one of the Err* sentinels, never a panic, and memory grows
// only with the bytes actually read, never with what a header promises.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/frugal-ml/frugal/tensor"
)

// Sentinel errors, for errors.Is; messages always carry the file and detail.
var (
	ErrBadMagic  = errors.New("not an .npy file")
	ErrHeader    = errors.New("bad header")
	ErrDType     = errors.New("unsupported dtype")
	ErrOrder     = errors.New("Fortran order")
	ErrTruncated = errors.New("truncated")
	ErrTrailing  = errors.New("trailing data")
	ErrTooLarge  = errors.New("too large")
)

// MaxBytes bounds the data a header may describe (2 GiB, as data.MaxIDXBytes).
const MaxBytes = 1 << 31

// maxHeader bounds the header length field (numpy itself refuses headers
// over 10000 bytes unless told otherwise).
const maxHeader = 1 << 20

// Error is a problem with one file: "npy: NAME: DETAIL", unwrapping to one
// of the Err* sentinels or an I/O error.
type Error struct {
	Name   string
	Kind   error
	Detail string
}

func (e *Error) Error() string { return "npy: " + e.Name + ": " + e.Detail }
func (e *Error) Unwrap() error { return e.Kind }

func errf(name string, kind error, format string, args ...any) error {
	return &Error{Name: name, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

var magic = []byte("\x93NUMPY")

// ReadFile reads a .npy file.
func ReadFile(path string) (*tensor.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	defer f.Close()
	return Read(bufio.NewReader(f), path)
}

// Read decodes one .npy array from r; name is used in error messages.
func Read(r io.Reader, name string) (*tensor.Tensor, error) {
	pre := make([]byte, 8)
	n, _ := io.ReadFull(r, pre)
	if k := min(n, len(magic)); !bytes.Equal(pre[:k], magic[:k]) {
		return nil, errf(name, ErrBadMagic, "does not start with \\x93NUMPY")
	}
	switch {
	case n == 0:
		return nil, errf(name, ErrTruncated, "empty file (truncated)")
	case n < len(pre):
		return nil, errf(name, ErrTruncated, "truncated preamble (%d bytes)", n)
	}
	major := pre[6]
	var hlen int
	switch major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, errf(name, ErrTruncated, "truncated header length")
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, errf(name, ErrTruncated, "truncated header length")
		}
		v := binary.LittleEndian.Uint32(b[:])
		if v > maxHeader {
			return nil, errf(name, ErrHeader, "header length %d exceeds %d", v, maxHeader)
		}
		hlen = int(v)
	default:
		return nil, errf(name, ErrHeader, "format version %d.%d not supported (want 1.0, 2.0 or 3.0)", major, pre[7])
	}
	hb := make([]byte, hlen)
	if n, err := io.ReadFull(r, hb); err != nil {
		return nil, errf(name, ErrTruncated, "truncated header: %d bytes, only %d present", hlen, n)
	}
	h, err := parseHeader(string(hb))
	if err != nil {
		return nil, errf(name, ErrHeader, "%v (header %q)", err, strings.TrimSpace(string(hb)))
	}
	if h.fortran {
		return nil, errf(name, ErrOrder, "Fortran-order arrays are not supported (save with np.ascontiguousarray)")
	}
	dt, size, order, err := parseDescr(h.descr)
	if err != nil {
		return nil, errf(name, ErrDType, "%v", err)
	}
	var count int64 = 1
	for _, d := range h.shape {
		if d != 0 && count > MaxBytes/int64(d) {
			return nil, errf(name, ErrTooLarge, "shape %v holds more than %d bytes", h.shape, int64(MaxBytes))
		}
		count *= int64(d)
	}
	nb := count * int64(size)
	if nb > MaxBytes {
		return nil, errf(name, ErrTooLarge, "shape %v of %s is %d bytes, more than %d", h.shape, h.descr, nb, int64(MaxBytes))
	}
	// Read what is there (bounded), not what the header promises.
	body, err := io.ReadAll(io.LimitReader(r, nb+1))
	if err != nil {
		return nil, errf(name, err, "reading data: %v", err)
	}
	if int64(len(body)) < nb {
		return nil, errf(name, ErrTruncated, "truncated data: shape %v of %s needs %d bytes, only %d present", h.shape, h.descr, nb, len(body))
	}
	if int64(len(body)) > nb {
		return nil, errf(name, ErrTrailing, "data after the %d bytes of shape %v of %s", nb, h.shape, h.descr)
	}
	t := tensor.New(dt, h.shape...)
	decode(t.Data, body, order)
	return t, nil
}

type header struct {
	descr   string
	fortran bool
	shape   []int
}

var (
	reDescr = regexp.MustCompile(`['"]descr['"]\s*:\s*['"]([^'"]*)['"]`)
	reOrder = regexp.MustCompile(`['"]fortran_order['"]\s*:\s*(True|False)`)
	reShape = regexp.MustCompile(`['"]shape['"]\s*:\s*\(([^)]*)\)`)
)

// parseHeader reads the three keys of the header's Python dict literal.
func parseHeader(h string) (header, error) {
	h = strings.TrimSpace(h)
	if !strings.HasPrefix(h, "{") || !strings.HasSuffix(h, "}") {
		return header{}, errors.New("not a dict literal")
	}
	d, o, s := reDescr.FindStringSubmatch(h), reOrder.FindStringSubmatch(h), reShape.FindStringSubmatch(h)
	switch {
	case d == nil:
		return header{}, errors.New("no 'descr' string (structured dtypes are not supported)")
	case o == nil:
		return header{}, errors.New("no 'fortran_order'")
	case s == nil:
		return header{}, errors.New("no 'shape' tuple")
	}
	out := header{descr: d[1], fortran: o[1] == "True", shape: []int{}}
	fields := strings.Split(s[1], ",")
	for i, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			if i == len(fields)-1 && i > 0 || len(fields) == 1 {
				continue // "(3,)" and "()"
			}
			return header{}, fmt.Errorf("bad shape (%s)", s[1])
		}
		f = strings.TrimSuffix(f, "L") // Python 2 longs
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 {
			return header{}, fmt.Errorf("bad shape (%s)", s[1])
		}
		out.shape = append(out.shape, v)
	}
	return out, nil
}

// parseDescr maps a numpy type string ("<f4", "|u1", ">i8", ...) to a dtype,
// its byte size and byte order.
func parseDescr(s string) (tensor.DType, int, binary.ByteOrder, error) {
	if len(s) < 3 {
		return 0, 0, nil, fmt.Errorf("dtype %q not supported", s)
	}
	var order binary.ByteOrder
	switch s[0] {
	case '<', '|':
		order = binary.LittleEndian
	case '>':
		order = binary.BigEndian
	case '=':
		order = binary.NativeEndian
	default:
		return 0, 0, nil, fmt.Errorf("dtype %q: unknown byte order %q", s, s[0])
	}
	types := map[string]tensor.DType{
		"f2": tensor.Float16, "f4": tensor.Float32, "f8": tensor.Float64,
		"i1": tensor.Int8, "i2": tensor.Int16, "i4": tensor.Int32, "i8": tensor.Int64,
		"u1": tensor.Uint8, "u2": tensor.Uint16, "u4": tensor.Uint32, "u8": tensor.Uint64,
		"b1": tensor.Bool,
	}
	dt, ok := types[s[1:]]
	if !ok {
		return 0, 0, nil, fmt.Errorf("dtype %q not supported (want float16/32/64, int8-64, uint8-64 or bool)", s)
	}
	return dt, dt.Size(), order, nil
}

// decode fills dst (a tensor's storage) from raw bytes in the given order.
func decode(dst any, b []byte, o binary.ByteOrder) {
	switch d := dst.(type) {
	case []float32:
		for i := range d {
			d[i] = math.Float32frombits(o.Uint32(b[4*i:]))
		}
	case []float64:
		for i := range d {
			d[i] = math.Float64frombits(o.Uint64(b[8*i:]))
		}
	case []int8:
		for i := range d {
			d[i] = int8(b[i])
		}
	case []uint8:
		copy(d, b)
	case []int16:
		for i := range d {
			d[i] = int16(o.Uint16(b[2*i:]))
		}
	case []uint16:
		for i := range d {
			d[i] = o.Uint16(b[2*i:])
		}
	case []int32:
		for i := range d {
			d[i] = int32(o.Uint32(b[4*i:]))
		}
	case []uint32:
		for i := range d {
			d[i] = o.Uint32(b[4*i:])
		}
	case []int64:
		for i := range d {
			d[i] = int64(o.Uint64(b[8*i:]))
		}
	case []uint64:
		for i := range d {
			d[i] = o.Uint64(b[8*i:])
		}
	case []bool:
		for i := range d {
			d[i] = b[i] != 0
		}
	}
}

// descrOf is the little-endian numpy type string of a dtype.
func descrOf(dt tensor.DType) (string, bool) {
	s, ok := map[tensor.DType]string{
		tensor.Float16: "<f2", tensor.Float32: "<f4", tensor.Float64: "<f8",
		tensor.Int8: "|i1", tensor.Int16: "<i2", tensor.Int32: "<i4", tensor.Int64: "<i8",
		tensor.Uint8: "|u1", tensor.Uint16: "<u2", tensor.Uint32: "<u4", tensor.Uint64: "<u8",
		tensor.Bool: "|b1",
	}[dt]
	return s, ok
}

// WriteFile writes t as a .npy file (format 1.0, or 2.0 for a header that
// does not fit 1.0).
func WriteFile(path string, t *tensor.Tensor) error {
	var b bytes.Buffer
	if err := Write(&b, t); err != nil {
		return fmt.Errorf("npy: %s: %w", path, err)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// Write encodes t as .npy, little-endian, C order, the header padded so the
// data starts at a multiple of 64 bytes as numpy writes it.
func Write(w io.Writer, t *tensor.Tensor) error {
	descr, ok := descrOf(t.DType)
	if !ok {
		return fmt.Errorf("%w: %s has no .npy encoding here", ErrDType, t.DType)
	}
	if t.Len() != dataLen(t.Data) {
		return fmt.Errorf("npy: tensor of shape %v holds %d elements", t.Shape, dataLen(t.Data))
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = strconv.Itoa(d)
	}
	shape := strings.Join(dims, ", ")
	if len(t.Shape) == 1 {
		shape += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape)
	pre := 10
	if len(h)+1+pre > math.MaxUint16 {
		pre = 12
	}
	h += strings.Repeat(" ", (64-(pre+len(h)+1)%64)%64) + "\n"
	out := make([]byte, 0, pre+len(h)+t.Len()*t.DType.Size())
	out = append(out, magic...)
	if pre == 10 {
		out = append(out, 1, 0)
		out = binary.LittleEndian.AppendUint16(out, uint16(len(h)))
	} else {
		out = append(out, 2, 0)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(h)))
	}
	out = append(out, h...)
	out = encode(out, t.Data)
	_, err := w.Write(out)
	return err
}

func dataLen(d any) int {
	switch x := d.(type) {
	case []float32:
		return len(x)
	case []float64:
		return len(x)
	case []int8:
		return len(x)
	case []uint8:
		return len(x)
	case []int16:
		return len(x)
	case []uint16:
		return len(x)
	case []int32:
		return len(x)
	case []uint32:
		return len(x)
	case []int64:
		return len(x)
	case []uint64:
		return len(x)
	case []bool:
		return len(x)
	}
	return -1
}

func encode(b []byte, src any) []byte {
	le := binary.LittleEndian
	switch d := src.(type) {
	case []float32:
		for _, v := range d {
			b = le.AppendUint32(b, math.Float32bits(v))
		}
	case []float64:
		for _, v := range d {
			b = le.AppendUint64(b, math.Float64bits(v))
		}
	case []int8:
		for _, v := range d {
			b = append(b, byte(v))
		}
	case []uint8:
		b = append(b, d...)
	case []int16:
		for _, v := range d {
			b = le.AppendUint16(b, uint16(v))
		}
	case []uint16:
		for _, v := range d {
			b = le.AppendUint16(b, v)
		}
	case []int32:
		for _, v := range d {
			b = le.AppendUint32(b, uint32(v))
		}
	case []uint32:
		for _, v := range d {
			b = le.AppendUint32(b, v)
		}
	case []int64:
		for _, v := range d {
			b = le.AppendUint64(b, uint64(v))
		}
	case []uint64:
		for _, v := range d {
			b = le.AppendUint64(b, v)
		}
	case []bool:
		for _, v := range d {
			if v {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
	}
	return b
}
