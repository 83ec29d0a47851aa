package ops

import (
	"math"

	"github.com/frugal-ml/frugal/impl/vmath"
	"github.com/frugal-ml/frugal/tensor"
)

// LayerNormalization for float32 over contiguous rows (everything from
// axis on), the form transformers use and fuse-layernorm writes: per row
// one pass for the mean, one for the variance of the deviations and one
// that writes (x - mean) * invstd * scale + bias, all in float32 (rows of
// 128: 9 graph nodes become one kernel). With a scale and a bias of one
// value per element the rows go to vmath.LayerNormRows (AVX-512, sixteen
// lanes of partial sums), otherwise to a Go loop with eight. Scale and bias hold one value per row element or a single
// value. Other dtypes, other shapes of scale or bias, and nodes that also
// ask for the Mean and InvStdDev outputs run the float64 reference kernel.

func init() {
	Register(Impl{Op: "LayerNormalization", Name: "f32", Priority: vmathPriority, DTypes: []tensor.DType{tensor.Float32},
		Match: func(b *BuildInfo) bool {
			dt := b.InDType(0)
			return dt == tensor.Float32 || dt == tensor.Undefined
		},
		Build: buildLayerNormF32})
}

func buildLayerNormF32(b *BuildInfo) (Kernel, error) {
	ref, err := buildLayerNorm(b, false)
	if err != nil {
		return nil, err
	}
	n := b.Node
	axis, _ := n.Int("axis", -1)
	eps, _ := n.Float("epsilon", 1e-5)
	stats := false
	for _, o := range n.Outputs[min(1, len(n.Outputs)):] {
		stats = stats || o != ""
	}
	if stats {
		return ref, nil
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 2)
		if err != nil {
			return nil, err
		}
		x, sc := ts[0], ts[1]
		bias, err := Tensor(in, 2)
		if err != nil {
			return nil, err
		}
		ax, err := normAxis(axis, x.Rank())
		if err != nil || x.DType != tensor.Float32 {
			return ref.Run(ctx, in)
		}
		inner := x.Shape[ax:]
		m := tensor.NumElems(inner)
		fits := func(t *tensor.Tensor) bool {
			if t == nil {
				return true
			}
			if t.DType != tensor.Float32 || (t.Len() != m && t.Len() != 1) {
				return false
			}
			s, err := tensor.BroadcastShapes(t.Shape, inner)
			return err == nil && tensor.SameShape(s, inner)
		}
		if m == 0 || !fits(sc) || !fits(bias) {
			return ref.Run(ctx, in)
		}
		out := ctx.Output(tensor.Float32, x.Shape, x)
		xv, yv := x.F32(), out.F32()
		rows := len(xv) / m
		g := sc.F32()
		var bv []float32
		if bias != nil {
			bv = bias.F32()
		}
		run := func(lo, hi int) {
			if len(g) == m && len(bv) == m {
				vmath.LayerNormRows(yv[lo*m:hi*m], xv[lo*m:hi*m], g, bv, m, eps)
				return
			}
			for r := lo; r < hi; r++ {
				layerNormRow(yv[r*m:(r+1)*m], xv[r*m:(r+1)*m], g, bv, eps)
			}
		}
		if len(xv) < vmathParallelMin || ctx.Threads <= 1 || rows < 2 {
			run(0, rows)
		} else {
			Parallel(ctx.Threads, rows, run)
		}
		return []Value{out}, nil
	}), nil
}

// layerNormRow normalises one row; g and b hold len(x) values or one (b
// may be nil). y may be x.
func layerNormRow(y, x, g, b []float32, eps float32) {
	n := len(x)
	y = y[:n]
	mu := sum8(x) / float32(n)
	v := sqdev8(x, mu) / float32(n)
	is := float32(1 / math.Sqrt(float64(v+eps)))
	switch {
	case len(g) == n && len(b) == n:
		for i, xi := range x {
			y[i] = (xi-mu)*is*g[i] + b[i]
		}
	default:
		for i, xi := range x {
			gi, bi := g[0], float32(0)
			if len(g) == n {
				gi = g[i]
			}
			if len(b) == n {
				bi = b[i]
			} else if len(b) == 1 {
				bi = b[0]
			}
			y[i] = (xi-mu)*is*gi + bi
		}
	}
}

// sum8 is the sum of x over eight partial sums.
func sum8(x []float32) float32 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := x[i : i+8 : i+8]
		s[0] += v[0]
		s[1] += v[1]
		s[2] += v[2]
		s[3] += v[3]
		s[4] += v[4]
		s[5] += v[5]
		s[6] += v[6]
		s[7] += v[7]
	}
	for ; i < len(x); i++ {
		s[0] += x[i]
	}
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
}

// sqdev8 is the sum of (x - mu)^2 over eight partial sums.
func sqdev8(x []float32, mu float32) float32 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := x[i : i+8 : i+8]
		d0, d1, d2, d3 := v[0]-mu, v[1]-mu, v[2]-mu, v[3]-mu
		d4, d5, d6, d7 := v[4]-mu, v[5]-mu, v[6]-mu, v[7]-mu
		s[0] += d0 * d0
		s[1] += d1 * d1
		s[2] += d2 * d2
		s[3] += d3 * d3
		s[4] += d4 * d4
		s[5] += d5 * d5
		s[6] += d6 * d6
		s[7] += d7 * d7
	}
	for ; i < len(x); i++ {
		d := x[i] - mu
		s[0] += d * d
	}
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
}
