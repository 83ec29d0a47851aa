package train

import (
	"fmt"
	"math/rand/v2"

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
	X     []float32
	Y     []uint8
	Shape []int // per sample
	// PadValue is the per-channel value of a black pixel, used to pad
	// images for random-crop augmentation (default 0).
	PadValue []float32
	sample   int
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
	a, err := NewArrays(d.Images, d.Labels, d.C, d.H, d.W)
	if err != nil {
		return nil, err
	}
	a.PadValue = make([]float32, d.C)
	for c := range a.PadValue {
		a.PadValue[c] = d.ZeroValue(c)
	}
	return a, nil
}

// augment applies random crops (shift by up to pad pixels, padding with
// fill) and horizontal flips to a batch of [c h w] images in place, drawing
// from a stream keyed by (seed, epoch, step) so runs replay exactly.
func augment(x, tmp []float32, n int, shape []int, pad int, flip bool, fill []float32, seed uint64, epoch, step int) {
	c, h, w := shape[0], shape[1], shape[2]
	sz := c * h * w
	r := rand.New(rand.NewPCG(seed^0xa5a5, uint64(epoch)<<32|uint64(step)))
	for i := 0; i < n; i++ {
		img := x[i*sz : (i+1)*sz]
		dy, dx := pad, pad
		if pad > 0 {
			dy, dx = r.IntN(2*pad+1), r.IntN(2*pad+1)
		}
		f := flip && r.IntN(2) == 1
		copy(tmp, img)
		data.CropFlip(img, tmp[:sz], c, h, w, pad, dy, dx, f, fill)
	}
}
