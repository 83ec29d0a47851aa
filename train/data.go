package train

import (
	"fmt"

	"github.com/frugal-ml/frugal/data"
)

// Samples is a labelled set Fit trains and evaluates on.
type Samples interface {
	// Len is the number of samples.
	Len() int
	// SampleShape is the shape of one sample, e.g. [1 28 28].
	SampleShape() []int
	// Fill copies samples idx into x (len(idx) * prod(SampleShape) values,
	// sample after sample) and their labels into y.
	Fill(idx []int, x []float32, y []int) error
}

// Arrays is an in-memory Samples over a flat image array (NCHW) and its
// labels; it retains the slices without copying.
type Arrays struct {
	X      []float32
	Y      []uint8
	Shape  []int // per sample
	sample int
}

// NewArrays wraps x (n samples of the given per-sample shape) and labels.
func NewArrays(x []float32, y []uint8, shape ...int) (*Arrays, error) {
	s := 1
	for _, d := range shape {
		if d <= 0 {
			return nil, fmt.Errorf("train: sample shape %v", shape)
		}
		s *= d
	}
	if len(shape) == 0 || len(x) != len(y)*s {
		return nil, fmt.Errorf("train: %d values for %d samples of shape %v", len(x), len(y), shape)
	}
	return &Arrays{X: x, Y: y, Shape: append([]int(nil), shape...), sample: s}, nil
}

// Len implements Samples.
func (a *Arrays) Len() int { return len(a.Y) }

// SampleShape implements Samples.
func (a *Arrays) SampleShape() []int { return a.Shape }

// Fill implements Samples.
func (a *Arrays) Fill(idx []int, x []float32, y []int) error {
	s := a.sample
	if len(x) < len(idx)*s || len(y) < len(idx) {
		return fmt.Errorf("train: buffers too small for %d samples", len(idx))
	}
	for k, i := range idx {
		if i < 0 || i >= len(a.Y) {
			return fmt.Errorf("train: sample index %d out of range [0,%d)", i, len(a.Y))
		}
		copy(x[k*s:(k+1)*s], a.X[i*s:(i+1)*s])
		y[k] = int(a.Y[i])
	}
	return nil
}

// FromDataset wraps a loaded data.Dataset (its current, possibly
// normalised, Images) without copying.
func FromDataset(d *data.Dataset) (*Arrays, error) {
	if d == nil {
		return nil, fmt.Errorf("train: nil dataset")
	}
	return NewArrays(d.Images, d.Labels, d.C, d.H, d.W)
}
