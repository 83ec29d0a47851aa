// Package data provides the datasets frugal trains and evaluates on (MNIST,
// Fashion-MNIST, any directory of IDX files), a hardened IDX reader, an
// on-disk cache of decoded datasets, and a reproducible, prefetching batch
// loader with augmentation.
//
// Every input is untrusted: malformed files produce errors that name the file
// and the problem, never panics, because a dataset is something a user feeds
// in (see DESIGN.md, "Errors, not panics").
package data

import (
	"fmt"
	"math"
	"slices"
)

// Per-channel statistics of the training splits, of pixels scaled to [0,1].
// They are the conventional constants (torchvision's MNIST example uses
// 0.1307/0.3081); TestMNISTReal and TestFashionMNISTReal check them against
// the real files, so a mistyped digit cannot hide here.
const (
	MNISTMean   = 0.1307
	MNISTStd    = 0.3081
	FashionMean = 0.2860
	FashionStd  = 0.3530
)

// Dataset is an in-memory labelled image set in NCHW layout.
//
// Images are float32 copies of Raw: raw/255, so in [0,1], and, after
// Normalize(mean, std), (raw/255 - mean[c]) / std[c]. Mean and Std record
// the normalisation currently applied (nil when none), which is what lets
// Normalize be called again without compounding and lets augmentation pad
// with the value a black pixel has after normalisation.
//
// A Dataset is not safe for mutation while a Loader reads it.
type Dataset struct {
	Name       string // "mnist", "fashion-mnist", or the directory it came from
	N, C, H, W int
	Images     []float32 // N*C*H*W
	Labels     []uint8   // N
	Classes    int
	ClassNames []string // one per class when known, else nil

	SplitName string    // "train", "test", or "" for derived sets
	Raw       []uint8   // N*C*H*W original pixels; nil for sets built from floats
	Mean      []float32 // normalisation applied to Images (per channel), nil if none
	Std       []float32
	Source    string // where the samples were read from (a file, or the cache file)
}

// FashionClassNames are the Fashion-MNIST labels, in label order.
var FashionClassNames = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// MNISTClassNames are the digit labels, in label order.
var MNISTClassNames = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// FromUint8 builds a Dataset from raw 8-bit pixels (NCHW) and labels. pix and
// labels are retained, not copied. Images are pix/255 with no normalisation.
func FromUint8(name string, n, c, h, w int, pix, labels []uint8, classes int) (*Dataset, error) {
	if n < 0 || c <= 0 || h <= 0 || w <= 0 {
		return nil, fmt.Errorf("data: %s: bad shape %dx%dx%dx%d", name, n, c, h, w)
	}
	sz := c * h * w
	if sz > MaxIDXBytes || n > MaxIDXBytes/sz {
		return nil, fmt.Errorf("data: %s: shape %dx%dx%dx%d too large", name, n, c, h, w)
	}
	if len(pix) != n*sz {
		return nil, fmt.Errorf("data: %s: %d pixels for %dx%dx%dx%d, want %d", name, len(pix), n, c, h, w, n*sz)
	}
	if len(labels) != n {
		return nil, fmt.Errorf("data: %s: %d labels for %d images", name, len(labels), n)
	}
	if classes <= 0 || classes > 256 {
		return nil, fmt.Errorf("data: %s: %d classes, want 1..256", name, classes)
	}
	for i, l := range labels {
		if int(l) >= classes {
			return nil, fmt.Errorf("data: %s: label %d at index %d out of range for %d classes", name, l, i, classes)
		}
	}
	d := &Dataset{Name: name, N: n, C: c, H: h, W: w, Raw: pix, Labels: labels, Classes: classes,
		Images: make([]float32, len(pix))}
	d.fromRaw()
	return d, nil
}

// fromRaw recomputes Images from Raw through a 256-entry table per channel,
// so normalisation is both fast and bit-identical however often it runs.
func (d *Dataset) fromRaw() {
	hw := d.H * d.W
	for c := 0; c < d.C; c++ {
		var lut [256]float32
		for v := range lut {
			lut[v] = d.normValue(c, float32(v)/255)
		}
		for i := 0; i < d.N; i++ {
			off := (i*d.C + c) * hw
			src, dst := d.Raw[off:off+hw], d.Images[off:off+hw]
			for j, p := range src {
				dst[j] = lut[p]
			}
		}
	}
}

// normValue maps a [0,1] value of channel c through the current normalisation.
func (d *Dataset) normValue(c int, x float32) float32 {
	if d.Mean == nil {
		return x
	}
	return (x - d.Mean[c]) / d.Std[c]
}

// ZeroValue is what a raw 0 pixel of channel c is in Images: 0 without
// normalisation, -mean/std with it. Padding uses it so that a padded border
// looks like the black background it stands for, not like a mid-grey.
func (d *Dataset) ZeroValue(c int) float32 { return d.normValue(c, 0) }

// Normalize sets Images to (x - mean[c]) / std[c] where x is the [0,1]
// pixel value. mean and std hold one value per channel, or one value for all.
// It replaces any earlier normalisation rather than compounding it.
func (d *Dataset) Normalize(mean, std []float32) error {
	m, err := perChannel("mean", mean, d.C)
	if err != nil {
		return err
	}
	s, err := perChannel("std", std, d.C)
	if err != nil {
		return err
	}
	for c, v := range s {
		if !(v > 0) || math.IsInf(float64(v), 0) || math.IsNaN(float64(m[c])) || math.IsInf(float64(m[c]), 0) {
			return fmt.Errorf("data: Normalize: channel %d: need finite mean and std > 0, got mean %v std %v", c, m[c], v)
		}
	}
	if d.Raw != nil {
		d.Mean, d.Std = m, s
		d.fromRaw()
		return nil
	}
	hw := d.H * d.W
	for i := 0; i < d.N; i++ {
		for c := 0; c < d.C; c++ {
			px := d.Images[(i*d.C+c)*hw : (i*d.C+c+1)*hw]
			for j, v := range px {
				if d.Mean != nil {
					v = v*d.Std[c] + d.Mean[c]
				}
				px[j] = (v - m[c]) / s[c]
			}
		}
	}
	d.Mean, d.Std = m, s
	return nil
}

func perChannel(what string, v []float32, c int) ([]float32, error) {
	switch len(v) {
	case c:
		return slices.Clone(v), nil
	case 1:
		out := make([]float32, c)
		for i := range out {
			out[i] = v[0]
		}
		return out, nil
	}
	return nil, fmt.Errorf("data: Normalize: %d %s values for %d channels, want %d or 1", len(v), what, c, c)
}

// Stats returns the per-channel mean and standard deviation of the [0,1]
// pixel values (before any normalisation), accumulated in float64. Use the
// training split's Stats to normalise both splits.
func (d *Dataset) Stats() (mean, std []float64) {
	mean, std = make([]float64, d.C), make([]float64, d.C)
	hw := d.H * d.W
	if d.N == 0 {
		return
	}
	for c := 0; c < d.C; c++ {
		var s, s2 float64
		if d.Raw != nil {
			var hist [256]int64
			for i := 0; i < d.N; i++ {
				for _, p := range d.Raw[(i*d.C+c)*hw : (i*d.C+c+1)*hw] {
					hist[p]++
				}
			}
			for v, k := range hist {
				x := float64(v) / 255
				s += float64(k) * x
				s2 += float64(k) * x * x
			}
		} else {
			for i := 0; i < d.N; i++ {
				for _, v := range d.Images[(i*d.C+c)*hw : (i*d.C+c+1)*hw] {
					x := float64(v)
					if d.Mean != nil {
						x = x*float64(d.Std[c]) + float64(d.Mean[c])
					}
					s += x
					s2 += x * x
				}
			}
		}
		cnt := float64(d.N * hw)
		mean[c] = s / cnt
		std[c] = math.Sqrt(max(0, s2/cnt-mean[c]*mean[c]))
	}
	return mean, std
}

// SampleSize is C*H*W, the number of values in one image.
func (d *Dataset) SampleSize() int { return d.C * d.H * d.W }

// Image returns sample i's values (a view into Images, not a copy).
func (d *Dataset) Image(i int) []float32 {
	sz := d.SampleSize()
	return d.Images[i*sz : (i+1)*sz]
}

// Subset returns a new Dataset holding samples idx in that order (copies;
// indices may repeat, e.g. for bootstrap samples). The result keeps the
// normalisation of d.
func (d *Dataset) Subset(idx []int) (*Dataset, error) {
	for k, i := range idx {
		if i < 0 || i >= d.N {
			return nil, fmt.Errorf("data: %s: Subset index %d (position %d) out of range [0,%d)", d.Name, i, k, d.N)
		}
	}
	sz := d.SampleSize()
	out := &Dataset{Name: d.Name, N: len(idx), C: d.C, H: d.H, W: d.W, Classes: d.Classes,
		ClassNames: d.ClassNames, Mean: slices.Clone(d.Mean), Std: slices.Clone(d.Std), Source: d.Source,
		Images: make([]float32, len(idx)*sz), Labels: make([]uint8, len(idx))}
	if d.Raw != nil {
		out.Raw = make([]uint8, len(idx)*sz)
	}
	for k, i := range idx {
		copy(out.Images[k*sz:(k+1)*sz], d.Images[i*sz:(i+1)*sz])
		if d.Raw != nil {
			copy(out.Raw[k*sz:(k+1)*sz], d.Raw[i*sz:(i+1)*sz])
		}
		out.Labels[k] = d.Labels[i]
	}
	return out, nil
}

// Split partitions d into a set of n samples chosen by a seeded shuffle and
// a set of the remaining N-n, e.g. a validation set held out of training.
// Both keep the original sample order, so the result depends only on the
// seed. The same seed always gives the same partition (see rng.go).
func (d *Dataset) Split(n int, seed uint64) (picked, rest *Dataset, err error) {
	if n < 0 || n > d.N {
		return nil, nil, fmt.Errorf("data: %s: Split %d of %d samples", d.Name, n, d.N)
	}
	perm := permutation(d.N, newRNG(seed, 0x5917))
	a, b := perm[:n], perm[n:]
	slices.Sort(a)
	slices.Sort(b)
	if picked, err = d.Subset(a); err != nil {
		return nil, nil, err
	}
	if rest, err = d.Subset(b); err != nil {
		return nil, nil, err
	}
	return picked, rest, nil
}
