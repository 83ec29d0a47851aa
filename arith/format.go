// Package arith is frugal's arithmetic level: every number format the
// field uses, as rows of one table, each able to fake-quantize a float32
// tensor, pack it into real bytes, unpack it, and take part in dot products
// and GEMMs computed with a chosen accumulator.
//
// The formats themselves live in small packages named by technique
// (minifloat, mx, posit, fixed, intq, binary, lns); rounding modes in
// round; fast conversion kernels in convert; error analysis in errstat.
// This package adapts them to one Format interface and a registry by name,
// so that a pass or the CLI can say "mxfp4" or "posit16_1" and get
// everything it needs. A format with no fast kernel is still fully usable:
// emulation is the reference, and Kernels() says which fast paths exist.
package arith

import (
	"fmt"

	"github.com/frugal-ml/frugal/arith/round"
)

// Kind groups formats by how their scale is chosen.
type Kind string

const (
	// Scalar formats encode each element on its own (fp16, posit, fixed...).
	Scalar Kind = "scalar"
	// Block formats share a scale per block of elements (MX, BFP).
	Block Kind = "block"
	// Tensor formats derive a scale from the whole tensor (int<B>, binary, ternary).
	Tensor Kind = "tensor"
)

// Format is one row of the format table.
type Format interface {
	Name() string
	Kind() Kind
	// Bits is the width of one element code (without shared scales).
	Bits() int
	// BlockSize is the number of elements sharing a scale: 1 for scalar
	// formats, 0 for per-tensor formats.
	BlockSize() int
	// PackedSize is the number of bytes Pack produces for n elements.
	PackedSize(n int) int
	// Kernels names the fast (non-emulated) kernels that exist for the format.
	Kernels() []string
	// Describe is a one-line layout description.
	Describe() string
	// Quantize writes decode(encode(src)) into dst ("fake quant").
	Quantize(dst, src []float32, o round.Options) error
	// Encode returns the codes, decoded values and scales of src.
	Encode(src []float32, o round.Options) (*Encoded, error)
	// Pack stores src as bytes; Unpack restores len(dst) values.
	Pack(src []float32, o round.Options) ([]byte, error)
	Unpack(dst []float32, data []byte) error
}

// ScalarFormat is a format whose elements stand alone: a code is a value.
type ScalarFormat interface {
	Format
	EncodeValue(x float64, o round.Options, r uint64) uint32
	DecodeValue(code uint32) float64
}

// Scale describes one shared scale of a block or tensor format.
type Scale struct {
	Code      uint32 // the stored bits (E8M0 for MX; float32 bits otherwise)
	CodeBits  int
	Value     float64 // the multiplier
	ZeroPoint int32   // integer formats only
}

// Encoded is the full encoding of a vector: what the CLI prints.
type Encoded struct {
	Codes     []uint32
	Values    []float32
	Scales    []Scale
	BlockSize int // elements per scale (len(Codes) for tensor formats)
}

// BitsPerElement is the storage cost per element of a vector of n
// elements (for block formats with n a multiple of the block, the
// format's nominal figure, e.g. 4.25 for MXFP4).
func BitsPerElement(f Format, n int) float64 {
	if n <= 0 {
		return 0
	}
	return float64(8*f.PackedSize(n)) / float64(n)
}

func checkLen(dst, src int) error {
	if dst < src {
		return fmt.Errorf("destination has %d elements, source %d", dst, src)
	}
	return nil
}
