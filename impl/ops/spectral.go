package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Signal processing: DFT (opsets 17 and 20), STFT, the Hann/Hamming/
// Blackman windows and MelWeightMatrix. Complex values are real tensors
// whose last dimension holds (real, imaginary); transforms are direct
// O(n^2) sums in float64.

func init() {
	Register(Impl{Op: "DFT", DTypes: floatTypes, Build: buildDFT})
	graph.RegisterShape("", "DFT", dtypeOnly)
	Register(Impl{Op: "STFT", DTypes: floatTypes, Build: buildSTFT})
	graph.RegisterShape("", "STFT", dtypeOnly)
	for _, op := range []string{"HannWindow", "HammingWindow", "BlackmanWindow"} {
		op := op
		Register(Impl{Op: op, DTypes: floatTypes, Build: func(b *BuildInfo) (Kernel, error) { return buildWindow(op, b) }})
		graph.RegisterShape("", op, func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
			dt, _ := n.Int("output_datatype", 1)
			return []graph.Type{{DType: tensor.DType(dt)}}, nil
		})
	}
	Register(Impl{Op: "MelWeightMatrix", DTypes: floatTypes, Build: buildMel})
	graph.RegisterShape("", "MelWeightMatrix", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		dt, _ := n.Int("output_datatype", 1)
		return []graph.Type{{DType: tensor.DType(dt)}}, nil
	})
}

// dft transforms complex vectors (re, im of length n, zero-padded or
// truncated to length) and returns the first `keep` bins.
func dft(re, im []float64, length, keep int, inverse bool) ([]float64, []float64) {
	ore := make([]float64, keep)
	oim := make([]float64, keep)
	sign := -1.0
	if inverse {
		sign = 1
	}
	n := min(len(re), length)
	for k := 0; k < keep; k++ {
		var sr, si float64
		for t := 0; t < n; t++ {
			a := sign * 2 * math.Pi * float64((k*t)%length) / float64(length)
			c, s := math.Cos(a), math.Sin(a)
			sr += re[t]*c - im[t]*s
			si += re[t]*s + im[t]*c
		}
		if inverse {
			sr /= float64(length)
			si /= float64(length)
		}
		ore[k], oim[k] = sr, si
	}
	return ore, oim
}

func buildDFT(b *BuildInfo) (Kernel, error) {
	n := b.Node
	inverse, err := n.Int("inverse", 0)
	if err != nil {
		return nil, err
	}
	onesided, err := n.Int("onesided", 0)
	if err != nil {
		return nil, err
	}
	legacy := b.Opset > 0 && b.Opset < 20
	attrAxis, err := n.Int("axis", 1)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		r := x.Rank()
		if r < 2 || (x.Shape[r-1] != 1 && x.Shape[r-1] != 2) {
			return nil, fmt.Errorf("input %v must end in a dimension of 1 or 2", x.Shape)
		}
		axis := attrAxis
		if !legacy {
			axis = -2
			if at, err := Tensor(in, 2); err != nil {
				return nil, err
			} else if at != nil {
				av, err := intsOf(at, "axis")
				if err != nil || len(av) != 1 {
					return nil, fmt.Errorf("axis must be one integer")
				}
				axis = av[0]
			}
		}
		ax, err := normAxis(axis, r)
		if err != nil {
			return nil, err
		}
		if ax == r-1 {
			return nil, fmt.Errorf("axis %d is the complex dimension", axis)
		}
		length := x.Shape[ax]
		if lt, err := Tensor(in, 1); err != nil {
			return nil, err
		} else if lt != nil && lt.Len() > 0 {
			lv, err := intsOf(lt, "dft_length")
			if err != nil || len(lv) != 1 || lv[0] <= 0 {
				return nil, fmt.Errorf("dft_length must be one positive integer")
			}
			length = int(lv[0])
		}
		if inverse != 0 && onesided != 0 {
			if lt, _ := Tensor(in, 1); lt == nil || lt.Len() == 0 {
				length = 2 * (x.Shape[ax] - 1)
			}
			out, err := irfftAxis(x, ax, length)
			if err != nil {
				return nil, err
			}
			return []Value{out}, nil
		}
		keep := length
		if onesided != 0 {
			keep = length/2 + 1
		}
		out, err := dftAxis(x, ax, length, keep, inverse != 0, nil)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

// dftAxis transforms x ([..., C] with C = 1 or 2) along ax, optionally
// weighting the signal by window first.
func dftAxis(x *tensor.Tensor, ax, length, keep int, inverse bool, window []float64) (*tensor.Tensor, error) {
	r := x.Rank()
	v, err := ToFloat64(x)
	if err != nil {
		return nil, err
	}
	C := x.Shape[r-1]
	dim := x.Shape[ax]
	outer := tensor.NumElems(x.Shape[:ax])
	inner := tensor.NumElems(x.Shape[ax+1 : r-1])
	oshape := append([]int{}, x.Shape...)
	oshape[ax] = keep
	oshape[r-1] = 2
	res := make([]float64, outer*keep*inner*2)
	re := make([]float64, dim)
	im := make([]float64, dim)
	for o := 0; o < outer; o++ {
		for k := 0; k < inner; k++ {
			for j := 0; j < dim; j++ {
				p := ((o*dim+j)*inner + k) * C
				re[j] = v[p]
				im[j] = 0
				if C == 2 {
					im[j] = v[p+1]
				}
				if window != nil {
					re[j] *= window[j]
					im[j] *= window[j]
				}
			}
			fr, fi := dft(re, im, length, keep, inverse)
			for j := 0; j < keep; j++ {
				p := ((o*keep+j)*inner + k) * 2
				res[p], res[p+1] = fr[j], fi[j]
			}
		}
	}
	return FromFloat64(x.DType, res, oshape)
}

func buildSTFT(b *BuildInfo) (Kernel, error) {
	onesided, err := b.Node.Int("onesided", 1)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if x.Rank() != 3 {
			return nil, fmt.Errorf("signal %v must be [batch, length, 1|2]", x.Shape)
		}
		sv, err := intsOf(ts[1], "frame_step")
		if err != nil || len(sv) != 1 || sv[0] <= 0 {
			return nil, fmt.Errorf("frame_step must be one positive integer")
		}
		step := int(sv[0])
		wt, err := Tensor(in, 2)
		if err != nil {
			return nil, err
		}
		lt, err := Tensor(in, 3)
		if err != nil {
			return nil, err
		}
		L := x.Shape[1]
		fl := L
		var window []float64
		if wt != nil {
			if window, err = ToFloat64(wt); err != nil {
				return nil, err
			}
			fl = len(window)
		}
		if lt != nil {
			lv, err := intsOf(lt, "frame_length")
			if err != nil || len(lv) != 1 {
				return nil, fmt.Errorf("frame_length must be one integer")
			}
			fl = int(lv[0])
		}
		if window == nil {
			window = make([]float64, fl)
			for i := range window {
				window[i] = 1
			}
		}
		if fl <= 0 || fl > L || len(window) != fl {
			return nil, fmt.Errorf("frame length %d does not fit signal %d / window %d", fl, L, len(window))
		}
		nf := 1 + (L-fl)/step
		B, C := x.Shape[0], x.Shape[2]
		// Frames [B, nf, fl, C], then DFT along axis 2.
		idx := make([]int, 0, B*nf*fl*C)
		for bb := 0; bb < B; bb++ {
			for f := 0; f < nf; f++ {
				for j := 0; j < fl; j++ {
					for c := 0; c < C; c++ {
						idx = append(idx, (bb*L+f*step+j)*C+c)
					}
				}
			}
		}
		frames := takeTensor(x, idx, []int{B, nf, fl, C})
		keep := fl
		if onesided != 0 {
			keep = fl/2 + 1
		}
		out, err := dftAxis(frames, 2, fl, keep, false, window)
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildWindow(op string, b *BuildInfo) (Kernel, error) {
	periodic, err := b.Node.Int("periodic", 1)
	if err != nil {
		return nil, err
	}
	odt, err := b.Node.Int("output_datatype", 1)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		sv, err := intsOf(ts[0], "size")
		if err != nil || len(sv) != 1 || sv[0] < 0 {
			return nil, fmt.Errorf("size must be one non-negative integer")
		}
		size := int(sv[0])
		den := float64(size)
		if periodic == 0 {
			den = float64(size - 1)
		}
		v := make([]float64, size)
		for i := range v {
			x := 2 * math.Pi * float64(i) / den
			switch op {
			case "HannWindow":
				v[i] = 0.5 - 0.5*math.Cos(x)
			case "HammingWindow":
				v[i] = 25.0/46 - 21.0/46*math.Cos(x)
			case "BlackmanWindow":
				v[i] = 0.42 - 0.5*math.Cos(x) + 0.08*math.Cos(2*x)
			}
		}
		out, err := floatsTo(tensor.DType(odt), v, []int{size}, CastOptions{Saturate: true})
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildMel(b *BuildInfo) (Kernel, error) {
	odt, err := b.Node.Int("output_datatype", 1)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 5)
		if err != nil {
			return nil, err
		}
		var sc [5]float64
		for i, t := range ts {
			if sc[i], err = scalarF64(t, "input"); err != nil {
				return nil, err
			}
		}
		bins, dftLen, rate := int(sc[0]), int(sc[1]), sc[2]
		lo, hi := sc[3], sc[4]
		if bins <= 0 || dftLen <= 0 || rate <= 0 {
			return nil, fmt.Errorf("num_mel_bins, dft_length and sample_rate must be positive")
		}
		nspec := dftLen/2 + 1
		lowMel := 2595 * math.Log10(1+lo/700)
		highMel := 2595 * math.Log10(1+hi/700)
		step := (highMel - lowMel) / float64(bins+2)
		fb := make([]int, bins+2)
		for i := range fb {
			f := float64(i)*step + lowMel
			f = 700 * (math.Pow(10, f/2595) - 1)
			fb[i] = int(math.Floor(float64(dftLen+1) * f / rate))
		}
		out := make([]float64, nspec*bins)
		set := func(j, i int, v float64) {
			if j >= 0 && j < nspec {
				out[j*bins+i] = v
			}
		}
		for i := 0; i < bins; i++ {
			l, c, h := fb[i], fb[i+1], fb[i+2]
			if c-l == 0 {
				set(c, i, 1)
			} else {
				for j := l; j <= c; j++ {
					set(j, i, float64(j-l)/float64(c-l))
				}
			}
			if h-c > 0 {
				for j := c; j < h; j++ {
					set(j, i, float64(h-j)/float64(h-c))
				}
			}
		}
		t, err := floatsTo(tensor.DType(odt), out, []int{nspec, bins}, CastOptions{Saturate: true})
		if err != nil {
			return nil, err
		}
		return []Value{t}, nil
	}), nil
}

// irfftAxis inverts a one-sided spectrum (bins 0..n/2 along ax) into a real
// signal of length n (last dimension 1).
func irfftAxis(x *tensor.Tensor, ax, n int) (*tensor.Tensor, error) {
	r := x.Rank()
	v, err := ToFloat64(x)
	if err != nil {
		return nil, err
	}
	C := x.Shape[r-1]
	m := x.Shape[ax]
	outer := tensor.NumElems(x.Shape[:ax])
	inner := tensor.NumElems(x.Shape[ax+1 : r-1])
	oshape := append([]int{}, x.Shape...)
	oshape[ax] = n
	oshape[r-1] = 1
	res := make([]float64, outer*n*inner)
	re := make([]float64, n)
	im := make([]float64, n)
	for o := 0; o < outer; o++ {
		for k := 0; k < inner; k++ {
			for j := 0; j < n; j++ {
				src, conj := j, false
				if j >= m || j > n/2 {
					src, conj = n-j, true
				}
				re[j], im[j] = 0, 0
				if src < m {
					p := ((o*m+src)*inner + k) * C
					re[j] = v[p]
					if C == 2 {
						im[j] = v[p+1]
						if conj {
							im[j] = -im[j]
						}
					}
				}
			}
			fr, _ := dft(re, im, n, n, true)
			for j := 0; j < n; j++ {
				res[(o*n+j)*inner+k] = fr[j]
			}
		}
	}
	return FromFloat64(x.DType, res, oshape)
}
