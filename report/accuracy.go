package report

import (
	"context"
	"fmt"

	"github.com/frugal-ml/frugal/impl/runtime"
	"github.com/frugal-ml/frugal/tensor"
)

// Accuracy runs a classifier over images (N x sample floats, row-major) in
// batches and returns the fraction whose arg-max logit equals the label.
// sampleShape is the per-sample shape (e.g. [1, 28, 28]).
func Accuracy(ctx context.Context, s *runtime.Session, images []float32, labels []uint8, sampleShape []int, batch int, progress func(done int)) (float64, error) {
	if len(s.Inputs()) != 1 || len(s.Outputs()) < 1 {
		return 0, fmt.Errorf("accuracy needs a model with one input and a logits output; this one has %d inputs", len(s.Inputs()))
	}
	per := tensor.NumElems(sampleShape)
	n := len(labels)
	if len(images) != n*per {
		return 0, fmt.Errorf("accuracy: %d image values for %d labels of shape %v", len(images), n, sampleShape)
	}
	if batch <= 0 {
		batch = 256
	}
	correct := 0
	name := s.Inputs()[0].Name
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		x, err := tensor.FromSlice(images[lo*per:hi*per], append([]int{hi - lo}, sampleShape...)...)
		if err != nil {
			return 0, err
		}
		out, err := s.Run(ctx, map[string]any{name: x})
		if err != nil {
			return 0, err
		}
		y, ok := out[s.Outputs()[0].Name].(*tensor.Tensor)
		if !ok || y.DType != tensor.Float32 || y.Rank() != 2 || y.Shape[0] != hi-lo {
			return 0, fmt.Errorf("accuracy: output %q is not float32 logits [batch, classes]", s.Outputs()[0].Name)
		}
		c := y.Shape[1]
		yd := y.F32()
		for i := 0; i < hi-lo; i++ {
			row := yd[i*c : (i+1)*c]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			if best == int(labels[lo+i]) {
				correct++
			}
		}
		if progress != nil {
			progress(hi)
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("accuracy: empty dataset")
	}
	return float64(correct) / float64(n), nil
}
