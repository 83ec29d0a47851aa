package ops

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// GridSample (N-d; nearest, linear/bilinear, cubic/bicubic; zeros, border
// and reflection padding; align_corners) and AffineGrid.

func init() {
	Register(Impl{Op: "GridSample", DTypes: floatTypes, Build: buildGridSample})
	graph.RegisterShape("", "GridSample", dtypeOnly)
	Register(Impl{Op: "AffineGrid", DTypes: floatTypes, Build: buildAffineGrid})
	graph.RegisterShape("", "AffineGrid", dtypeOnly)
}

func gsReflect(x, lo, hi float64) float64 {
	rng := hi - lo
	if rng <= 0 {
		return lo
	}
	if x < lo {
		dx := lo - x
		n := int(dx / rng)
		r := dx - float64(n)*rng
		if n%2 == 0 {
			return lo + r
		}
		return hi - r
	}
	if x > hi {
		dx := x - hi
		n := int(dx / rng)
		r := dx - float64(n)*rng
		if n%2 == 0 {
			return hi - r
		}
		return lo + r
	}
	return x
}

func cubicCoeffs(x float64) [4]float64 {
	const a = -0.75
	x = math.Abs(x)
	return [4]float64{
		((a*(x+1)-5*a)*(x+1)+8*a)*(x+1) - 4*a,
		((a+2)*x-(a+3))*x*x + 1,
		((a+2)*(1-x)-(a+3))*(1-x)*(1-x) + 1,
		((a*(2-x)-5*a)*(2-x)+8*a)*(2-x) - 4*a,
	}
}

func buildGridSample(b *BuildInfo) (Kernel, error) {
	n := b.Node
	mode, err := n.String("mode", "linear")
	if err != nil {
		return nil, err
	}
	if b.Opset > 0 && b.Opset < 20 && !n.Has("mode") {
		mode = "bilinear"
	}
	switch mode {
	case "bilinear":
		mode = "linear"
	case "bicubic":
		mode = "cubic"
	}
	pad, err := n.String("padding_mode", "zeros")
	if err != nil {
		return nil, err
	}
	ac, err := n.Int("align_corners", 0)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x, grid := ts[0], ts[1]
		sp := x.Rank() - 2
		if sp < 1 || grid.Rank() != x.Rank() || grid.Shape[grid.Rank()-1] != sp || grid.Shape[0] != x.Shape[0] {
			return nil, fmt.Errorf("input %v and grid %v do not fit", x.Shape, grid.Shape)
		}
		xv, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		gv, err := ToFloat64(grid)
		if err != nil {
			return nil, err
		}
		N, C := x.Shape[0], x.Shape[1]
		dims := x.Shape[2:]
		ost := grid.Shape[1 : grid.Rank()-1]
		on := tensor.NumElems(ost)
		inN := tensor.NumElems(dims)
		st := tensor.Strides(dims)
		lo := make([]float64, sp)
		hi := make([]float64, sp)
		for i, d := range dims {
			if ac != 0 {
				lo[i], hi[i] = 0, float64(d-1)
			} else {
				lo[i], hi[i] = -0.5, float64(d)-0.5
			}
		}
		// fetch returns the pixel at integer coordinates with padding.
		fetch := func(plane []float64, idx []int) float64 {
			off := 0
			for d, i := range idx {
				switch pad {
				case "zeros":
					if i < 0 || i >= dims[d] {
						return 0
					}
				case "border":
					i = min(max(i, 0), dims[d]-1)
				default:
					i = int(gsReflect(float64(i), lo[d], hi[d]))
					i = min(max(i, 0), dims[d]-1)
				}
				off += i * st[d]
			}
			return plane[off]
		}
		res := make([]float64, N*C*on)
		xs := make([]float64, sp)
		idx := make([]int, sp)
		taps := 2
		if mode == "cubic" {
			taps = 4
		}
		wts := make([][]float64, sp)
		base := make([]int, sp)
		for nb := 0; nb < N; nb++ {
			for o := 0; o < on; o++ {
				g := gv[(nb*on+o)*sp : (nb*on+o+1)*sp]
				for d := 0; d < sp; d++ {
					nv := g[sp-1-d]
					L := float64(dims[d])
					if ac != 0 {
						xs[d] = (nv + 1) / 2 * (L - 1)
					} else {
						xs[d] = ((nv+1)*L - 1) / 2
					}
					if mode == "nearest" {
						xs[d] = math.RoundToEven(xs[d])
					}
					if xs[d] < lo[d] || xs[d] > hi[d] {
						if pad == "border" {
							xs[d] = math.Max(0, math.Min(xs[d], L-1))
						} else if pad == "reflection" {
							xs[d] = gsReflect(xs[d], lo[d], hi[d])
						}
					}
				}
				for c := 0; c < C; c++ {
					plane := xv[(nb*C+c)*inN : (nb*C+c+1)*inN]
					var val float64
					if mode == "nearest" {
						for d := range idx {
							idx[d] = int(xs[d])
						}
						val = fetch(plane, idx)
					} else {
						for d := 0; d < sp; d++ {
							f := math.Floor(xs[d])
							fr := xs[d] - f
							if mode == "cubic" {
								base[d] = int(f) - 1
								cc := cubicCoeffs(fr)
								wts[d] = cc[:]
							} else {
								base[d] = int(f)
								wts[d] = []float64{1 - fr, fr}
							}
						}
						total := 1
						for d := 0; d < sp; d++ {
							total *= taps
						}
						for t := 0; t < total; t++ {
							w := 1.0
							r := t
							for d := sp - 1; d >= 0; d-- {
								k := r % taps
								r /= taps
								w *= wts[d][k]
								idx[d] = base[d] + k
							}
							if w != 0 {
								val += w * fetch(plane, idx)
							}
						}
					}
					res[(nb*C+c)*on+o] = val
				}
			}
		}
		out, err := FromFloat64(x.DType, res, append([]int{N, C}, ost...))
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildAffineGrid(b *BuildInfo) (Kernel, error) {
	ac, err := b.Node.Int("align_corners", 0)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		theta := ts[0]
		size, err := intsOf(ts[1], "size")
		if err != nil {
			return nil, err
		}
		sp := len(size) - 2
		if sp != 2 && sp != 3 {
			return nil, fmt.Errorf("size %v must have 4 or 5 entries", size)
		}
		N := int(size[0])
		if !tensor.SameShape(theta.Shape, []int{N, sp, sp + 1}) {
			return nil, fmt.Errorf("theta %v, want [%d %d %d]", theta.Shape, N, sp, sp+1)
		}
		tv, err := ToFloat64(theta)
		if err != nil {
			return nil, err
		}
		dims := toInts(size[2:])
		coord := func(i, n int) float64 {
			if n <= 1 {
				return 0
			}
			if ac != 0 {
				return -1 + 2*float64(i)/float64(n-1)
			}
			return (2*float64(i)+1)/float64(n) - 1
		}
		on := tensor.NumElems(dims)
		res := make([]float64, N*on*sp)
		pos := make([]float64, sp+1)
		for nb := 0; nb < N; nb++ {
			th := tv[nb*sp*(sp+1):]
			forEachIndex(dims, func(p int, ix []int) {
				// Base grid in (x, y[, z]) order: the last spatial dim first.
				for d := 0; d < sp; d++ {
					pos[d] = coord(ix[sp-1-d], dims[sp-1-d])
				}
				pos[sp] = 1
				for r := 0; r < sp; r++ {
					var s float64
					for c := 0; c <= sp; c++ {
						s += th[r*(sp+1)+c] * pos[c]
					}
					res[(nb*on+p)*sp+r] = s
				}
			})
		}
		out, err := FromFloat64(theta.DType, res, append(append([]int{N}, dims...), sp))
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}
