// Package checkpoint reads and writes tensors in the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header mapping each tensor name to its dtype, shape
// and byte range, optional string metadata under "__metadata__", then the
// raw little-endian data. Files are written atomically: to a temporary file
// in the same directory, fsynced, renamed over the target, and the directory
// fsynced, so a crash mid-save leaves the previous checkpoint intact.
//
// Files are untrusted input: Read validates the header (size bound, dtypes,
// shapes, offsets inside the data, lengths matching shapes) and returns
// errors, never panics.
package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/frugal-ml/frugal/tensor"
)

// MaxHeader bounds the JSON header a file may declare (100 MB, as the
// reference implementation).
const MaxHeader = 100 << 20

var dtypeNames = map[tensor.DType]string{
	tensor.Float32: "F32", tensor.Float64: "F64", tensor.Float16: "F16", tensor.BFloat16: "BF16",
	tensor.Int64: "I64", tensor.Int32: "I32", tensor.Int16: "I16", tensor.Int8: "I8",
	tensor.Uint64: "U64", tensor.Uint32: "U32", tensor.Uint16: "U16", tensor.Uint8: "U8", tensor.Bool: "BOOL",
	tensor.Float8E4M3FN: "F8_E4M3", tensor.Float8E5M2: "F8_E5M2",
}

var dtypeByName = func() map[string]tensor.DType {
	m := map[string]tensor.DType{}
	for k, v := range dtypeNames {
		m[v] = k
	}
	return m
}()

type entry struct {
	DType   string   `json:"dtype"`
	Shape   []int64  `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// Encode serialises tensors (sorted by name) and metadata.
func Encode(tensors map[string]*tensor.Tensor, meta map[string]string) ([]byte, error) {
	names := make([]string, 0, len(tensors))
	for k := range tensors {
		if k == "__metadata__" || k == "" {
			return nil, fmt.Errorf("checkpoint: invalid tensor name %q", k)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var data bytes.Buffer
	for _, k := range names {
		t := tensors[k]
		dn, ok := dtypeNames[t.DType]
		if !ok {
			return nil, fmt.Errorf("checkpoint: tensor %q: dtype %s has no safetensors encoding", k, t.DType)
		}
		start := int64(data.Len())
		if err := writeData(&data, t); err != nil {
			return nil, fmt.Errorf("checkpoint: tensor %q: %w", k, err)
		}
		shape := make([]int64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = int64(d)
		}
		header[k] = entry{DType: dn, Shape: shape, Offsets: [2]int64{start, int64(data.Len())}}
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	// Pad the header with spaces so the data starts 8-byte aligned.
	for (8+len(hj))%8 != 0 {
		hj = append(hj, ' ')
	}
	out := make([]byte, 8, 8+len(hj)+data.Len())
	binary.LittleEndian.PutUint64(out, uint64(len(hj)))
	out = append(out, hj...)
	return append(out, data.Bytes()...), nil
}

func writeData(w *bytes.Buffer, t *tensor.Tensor) error {
	var b [8]byte
	switch d := t.Data.(type) {
	case []float32:
		for _, v := range d {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			w.Write(b[:4])
		}
	case []float64:
		for _, v := range d {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			w.Write(b[:8])
		}
	case []int64:
		for _, v := range d {
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			w.Write(b[:8])
		}
	case []uint64:
		for _, v := range d {
			binary.LittleEndian.PutUint64(b[:], v)
			w.Write(b[:8])
		}
	case []int32:
		for _, v := range d {
			binary.LittleEndian.PutUint32(b[:], uint32(v))
			w.Write(b[:4])
		}
	case []uint32:
		for _, v := range d {
			binary.LittleEndian.PutUint32(b[:], v)
			w.Write(b[:4])
		}
	case []int16:
		for _, v := range d {
			binary.LittleEndian.PutUint16(b[:], uint16(v))
			w.Write(b[:2])
		}
	case []uint16:
		for _, v := range d {
			binary.LittleEndian.PutUint16(b[:], v)
			w.Write(b[:2])
		}
	case []int8:
		for _, v := range d {
			w.WriteByte(byte(v))
		}
	case []uint8:
		w.Write(d)
	case []bool:
		for _, v := range d {
			if v {
				w.WriteByte(1)
			} else {
				w.WriteByte(0)
			}
		}
	default:
		return fmt.Errorf("unsupported storage %T", t.Data)
	}
	return nil
}

// Decode parses a safetensors file's bytes.
func Decode(b []byte) (map[string]*tensor.Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("checkpoint: %d bytes, too short for a safetensors file", len(b))
	}
	hl := binary.LittleEndian.Uint64(b)
	if hl > MaxHeader || hl > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("checkpoint: header length %d exceeds the file (%d bytes) or the %d-byte limit", hl, len(b), MaxHeader)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hl], &raw); err != nil {
		return nil, nil, fmt.Errorf("checkpoint: header: %w", err)
	}
	data := b[8+hl:]
	var meta map[string]string
	tensors := map[string]*tensor.Tensor{}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("checkpoint: metadata: %w", err)
			}
			continue
		}
		var e entry
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, nil, fmt.Errorf("checkpoint: tensor %q: %w", name, err)
		}
		dt, ok := dtypeByName[e.DType]
		if !ok {
			return nil, nil, fmt.Errorf("checkpoint: tensor %q: unsupported dtype %q", name, e.DType)
		}
		n := int64(1)
		shape := make([]int, len(e.Shape))
		for i, d := range e.Shape {
			if d < 0 || (d > 0 && n > math.MaxInt32*int64(64)/d) {
				return nil, nil, fmt.Errorf("checkpoint: tensor %q: bad shape %v", name, e.Shape)
			}
			n *= d
			shape[i] = int(d)
		}
		lo, hi := e.Offsets[0], e.Offsets[1]
		if lo < 0 || hi < lo || hi > int64(len(data)) {
			return nil, nil, fmt.Errorf("checkpoint: tensor %q: offsets [%d, %d) outside the %d data bytes", name, lo, hi, len(data))
		}
		if want := n * int64(dt.Size()); hi-lo != want {
			return nil, nil, fmt.Errorf("checkpoint: tensor %q: %d bytes for %s%v, want %d", name, hi-lo, e.DType, e.Shape, want)
		}
		t := tensor.New(dt, shape...)
		readData(t, data[lo:hi])
		tensors[name] = t
	}
	return tensors, meta, nil
}

func readData(t *tensor.Tensor, b []byte) {
	le := binary.LittleEndian
	switch d := t.Data.(type) {
	case []float32:
		for i := range d {
			d[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case []float64:
		for i := range d {
			d[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
	case []int64:
		for i := range d {
			d[i] = int64(le.Uint64(b[8*i:]))
		}
	case []uint64:
		for i := range d {
			d[i] = le.Uint64(b[8*i:])
		}
	case []int32:
		for i := range d {
			d[i] = int32(le.Uint32(b[4*i:]))
		}
	case []uint32:
		for i := range d {
			d[i] = le.Uint32(b[4*i:])
		}
	case []int16:
		for i := range d {
			d[i] = int16(le.Uint16(b[2*i:]))
		}
	case []uint16:
		for i := range d {
			d[i] = le.Uint16(b[2*i:])
		}
	case []int8:
		for i := range d {
			d[i] = int8(b[i])
		}
	case []uint8:
		copy(d, b)
	case []bool:
		for i := range d {
			d[i] = b[i] != 0
		}
	}
}

// Write saves tensors and metadata to path atomically.
func Write(path string, tensors map[string]*tensor.Tensor, meta map[string]string) error {
	b, err := Encode(tensors, meta)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, b)
}

// Read loads a safetensors file.
func Read(path string) (map[string]*tensor.Tensor, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	t, m, err := Decode(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, m, nil
}

// WriteFileAtomic writes b to path through a temporary file in the same
// directory: write, fsync, close, rename, fsync the directory.
func WriteFileAtomic(path string, b []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: not every file system syncs directories
		d.Close()
	}
	return nil
}
