package onnx

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// encoder writes protobuf fields. Messages are written in one pass into one
// buffer: each embedded message is first run in sizing mode to learn its
// length prefix, then written. Large payloads (raw_data) are sized in O(1)
// and generated straight into the output, so the output is allocated once at
// its exact size and tensors are never copied through intermediate buffers.
type encoder struct {
	buf    []byte
	sizing bool
	n      int // bytes counted in sizing mode
	err    error
	depth  int // graph nesting, to stop on a graph that contains itself
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// run encodes a top-level message body.
func encodeMessage(fn func(e *encoder)) ([]byte, error) {
	s := &encoder{sizing: true}
	fn(s)
	if s.err != nil {
		return nil, s.err
	}
	w := &encoder{buf: make([]byte, 0, s.n)}
	fn(w)
	if w.err != nil {
		return nil, w.err
	}
	if len(w.buf) != s.n {
		return nil, fmt.Errorf("internal error: message sized %d bytes, wrote %d", s.n, len(w.buf))
	}
	return w.buf, nil
}

func (e *encoder) int64(num protowire.Number, v int64) {
	if e.sizing {
		e.n += protowire.SizeTag(num) + protowire.SizeVarint(uint64(v))
		return
	}
	e.buf = protowire.AppendTag(e.buf, num, protowire.VarintType)
	e.buf = protowire.AppendVarint(e.buf, uint64(v))
}

// optInt64 writes v unless it is zero.
func (e *encoder) optInt64(num protowire.Number, v int64) {
	if v != 0 {
		e.int64(num, v)
	}
}

func (e *encoder) float32(num protowire.Number, v float32) {
	if e.sizing {
		e.n += protowire.SizeTag(num) + 4
		return
	}
	e.buf = protowire.AppendTag(e.buf, num, protowire.Fixed32Type)
	e.buf = protowire.AppendFixed32(e.buf, math.Float32bits(v))
}

func (e *encoder) str(num protowire.Number, s string) {
	if e.sizing {
		e.n += protowire.SizeTag(num) + protowire.SizeBytes(len(s))
		return
	}
	e.buf = protowire.AppendTag(e.buf, num, protowire.BytesType)
	e.buf = protowire.AppendString(e.buf, s)
}

// optStr writes s unless it is empty.
func (e *encoder) optStr(num protowire.Number, s string) {
	if s != "" {
		e.str(num, s)
	}
}

// raw writes a bytes field of n bytes produced by fill, which must append
// exactly n bytes.
func (e *encoder) raw(num protowire.Number, n int, fill func([]byte) []byte) {
	if e.sizing {
		e.n += protowire.SizeTag(num) + protowire.SizeBytes(n)
		return
	}
	e.buf = protowire.AppendTag(e.buf, num, protowire.BytesType)
	e.buf = protowire.AppendVarint(e.buf, uint64(n))
	start := len(e.buf)
	e.buf = fill(e.buf)
	if len(e.buf)-start != n {
		e.fail(fmt.Errorf("internal error: field %d sized %d bytes, wrote %d", num, n, len(e.buf)-start))
	}
}

// message writes an embedded message whose body fn writes.
func (e *encoder) message(num protowire.Number, fn func(e *encoder)) {
	if e.err != nil {
		return
	}
	s := &encoder{sizing: true, depth: e.depth}
	fn(s)
	if s.err != nil {
		e.fail(s.err)
		return
	}
	if e.sizing {
		e.n += protowire.SizeTag(num) + protowire.SizeBytes(s.n)
		return
	}
	e.buf = protowire.AppendTag(e.buf, num, protowire.BytesType)
	e.buf = protowire.AppendVarint(e.buf, uint64(s.n))
	start := len(e.buf)
	fn(e)
	if e.err == nil && len(e.buf)-start != s.n {
		e.fail(fmt.Errorf("internal error: message field %d sized %d bytes, wrote %d", num, s.n, len(e.buf)-start))
	}
}
