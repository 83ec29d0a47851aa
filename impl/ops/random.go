package ops

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Dropout (inference and training_mode) and its random source. With a
// seed attribute, training-mode masks reproduce numpy's legacy generator
// (np.random.seed(seed); np.random.uniform(0, 1, shape) >= ratio), which is
// what ONNX's reference implementation and test data use.

// mt19937 is the Mersenne Twister as numpy's legacy RandomState runs it.
type mt19937 struct {
	mt  [624]uint32
	idx int
}

func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{}
	m.mt[0] = seed
	for i := 1; i < 624; i++ {
		m.mt[i] = 1812433253*(m.mt[i-1]^(m.mt[i-1]>>30)) + uint32(i)
	}
	m.idx = 624
	return m
}

func (m *mt19937) uint32() uint32 {
	if m.idx >= 624 {
		for i := 0; i < 624; i++ {
			y := m.mt[i]&0x80000000 | m.mt[(i+1)%624]&0x7fffffff
			v := m.mt[(i+397)%624] ^ y>>1
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			m.mt[i] = v
		}
		m.idx = 0
	}
	y := m.mt[m.idx]
	m.idx++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// float64 is numpy's random_sample: 53 random bits in [0, 1).
func (m *mt19937) float64() float64 {
	a := m.uint32() >> 5
	b := m.uint32() >> 6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}

func seedFor(n *graph.Node) (uint32, error) {
	if !n.Has("seed") {
		return uint32(time.Now().UnixNano()), nil
	}
	a := n.Attrs["seed"]
	switch a.Type {
	case graph.AttrInt:
		return uint32(a.I), nil
	case graph.AttrFloat:
		return uint32(int64(a.F)), nil
	}
	return 0, fmt.Errorf("%s: attribute seed has type %d", n.Describe(), a.Type)
}

func init() {
	Register(Impl{Op: "Dropout", DTypes: floatTypes, Build: buildDropout})
	graph.RegisterShape("", "Dropout", func(n *graph.Node, in []graph.Type, _ []*tensor.Tensor, _ int64) ([]graph.Type, error) {
		if len(in) == 0 {
			return nil, nil
		}
		m := in[0]
		m.DType = tensor.Bool
		return []graph.Type{in[0], m}, nil
	})
}

func buildDropout(b *BuildInfo) (Kernel, error) {
	n := b.Node
	seed, err := seedFor(n)
	if err != nil {
		return nil, err
	}
	attrRatio, err := n.Float("ratio", 0.5)
	if err != nil {
		return nil, err
	}
	legacy := b.Opset > 0 && b.Opset < 12
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		ratio := float64(attrRatio)
		training := false
		if !legacy {
			rt, err := Tensor(in, 1)
			if err != nil {
				return nil, err
			}
			if rt != nil {
				if ratio, err = scalarF64(rt, "ratio"); err != nil {
					return nil, err
				}
			}
			tt, err := Tensor(in, 2)
			if err != nil {
				return nil, err
			}
			if tt != nil {
				tv, err := ToInt64(tt)
				if err != nil || len(tv) != 1 {
					return nil, fmt.Errorf("training_mode must be one bool")
				}
				training = tv[0] != 0
			}
		}
		mask := tensor.New(tensor.Bool, x.Shape...)
		mb := mask.Bools()
		if !training || ratio == 0 {
			for i := range mb {
				mb[i] = true
			}
			return []Value{x, mask}, nil
		}
		if ratio < 0 || ratio >= 1 {
			return nil, fmt.Errorf("ratio %v must be in [0, 1)", ratio)
		}
		rng := newMT19937(seed)
		v, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		scale := 1 / (1 - ratio)
		for i := range v {
			mb[i] = rng.float64() >= ratio
			if mb[i] {
				v[i] *= scale
			} else {
				v[i] = 0
			}
		}
		out, err := FromFloat64(x.DType, v, x.Shape)
		if err != nil {
			return nil, err
		}
		return []Value{out, mask}, nil
	}), nil
}

// gauss is numpy's legacy polar Box-Muller (with its cached second value).
type gaussSource struct {
	mt   *mt19937
	has  bool
	next float64
}

func (g *gaussSource) gauss() float64 {
	if g.has {
		g.has = false
		return g.next
	}
	for {
		x1 := 2*g.mt.float64() - 1
		x2 := 2*g.mt.float64() - 1
		r2 := x1*x1 + x2*x2
		if r2 < 1 && r2 != 0 {
			f := math.Sqrt(-2 * math.Log(r2) / r2)
			g.next, g.has = f*x1, true
			return f * x2
		}
	}
}

func init() {
	for _, op := range []string{"RandomUniform", "RandomUniformLike", "RandomNormal", "RandomNormalLike", "Bernoulli"} {
		op := op
		Register(Impl{Op: op, DTypes: floatTypes, Build: func(b *BuildInfo) (Kernel, error) { return buildRandom(op, b) }})
		graph.RegisterShape("", op, func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
			t := graph.Type{DType: tensor.Float32}
			if len(in) > 0 {
				t = in[0]
			}
			if dt, _ := n.Int("dtype", 0); dt != 0 {
				t.DType = tensor.DType(dt)
			}
			return []graph.Type{t}, nil
		})
	}
	Register(Impl{Op: "Multinomial", DTypes: floatTypes, Build: buildMultinomial})
	graph.RegisterShape("", "Multinomial", func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
		dt, _ := n.Int("dtype", int64(tensor.Int32))
		return []graph.Type{{DType: tensor.DType(dt)}}, nil
	})
}

// buildRandom implements the random generators with numpy's legacy
// RandomState semantics for a given seed (a fresh state per run, so a
// seeded node is deterministic).
func buildRandom(op string, b *BuildInfo) (Kernel, error) {
	n := b.Node
	f := func(name string, def float32) float64 { v, _ := n.Float(name, def); return float64(v) }
	low, high := f("low", 0), f("high", 1)
	mean, scale := f("mean", 0), f("scale", 1)
	dtA, err := n.Int("dtype", 0)
	if err != nil {
		return nil, err
	}
	shapeA, err := n.Ints("shape", nil)
	if err != nil {
		return nil, err
	}
	seeded := n.Has("seed")
	seed, err := seedFor(n)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		var shape []int
		dt := tensor.Float32
		var x *tensor.Tensor
		if strings.HasSuffix(op, "Like") || op == "Bernoulli" {
			ts, err := MustTensors(in, 1)
			if err != nil {
				return nil, err
			}
			x = ts[0]
			shape, dt = x.Shape, x.DType
		} else {
			shape = toInts(shapeA)
		}
		if dtA != 0 {
			dt = tensor.DType(dtA)
		}
		s := seed
		if !seeded {
			s = uint32(time.Now().UnixNano())
		}
		rng := newMT19937(s)
		cnt := tensor.NumElems(shape)
		vals := make([]float64, cnt)
		switch op {
		case "RandomUniform", "RandomUniformLike":
			for i := range vals {
				vals[i] = low + (high-low)*rng.float64()
			}
		case "RandomNormal", "RandomNormalLike":
			g := &gaussSource{mt: rng}
			for i := range vals {
				vals[i] = mean + scale*g.gauss()
			}
		case "Bernoulli":
			p, err := ToFloat64(x)
			if err != nil {
				return nil, err
			}
			for i := range vals {
				u := rng.float64()
				if p[i] <= 0.5 {
					if u > 1-p[i] {
						vals[i] = 1
					}
				} else if u <= p[i] {
					vals[i] = 1
				}
			}
		}
		out, err := floatsTo(dt, vals, shape, CastOptions{Saturate: true})
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}

func buildMultinomial(b *BuildInfo) (Kernel, error) {
	n := b.Node
	ss, err := n.Int("sample_size", 1)
	if err != nil {
		return nil, err
	}
	dt, err := n.Int("dtype", int64(tensor.Int32))
	if err != nil {
		return nil, err
	}
	seeded := n.Has("seed")
	seed, err := seedFor(n)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 1)
		if err != nil {
			return nil, err
		}
		x := ts[0]
		if x.Rank() != 2 {
			return nil, fmt.Errorf("input %v must be [batch, classes]", x.Shape)
		}
		lv, err := ToFloat64(x)
		if err != nil {
			return nil, err
		}
		s := seed
		if !seeded {
			s = uint32(time.Now().UnixNano())
		}
		rng := newMT19937(s)
		B, C := x.Shape[0], x.Shape[1]
		res := make([]int64, B*int(ss))
		for bb := 0; bb < B; bb++ {
			row := lv[bb*C : (bb+1)*C]
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, v)
			}
			cum := make([]float64, C)
			var sum float64
			for i, v := range row {
				sum += math.Exp(v - mx)
				cum[i] = sum
			}
			for k := 0; k < int(ss); k++ {
				u := rng.float64() * sum
				c := sort.SearchFloat64s(cum, u)
				res[bb*int(ss)+k] = int64(min(c, C-1))
			}
		}
		out, err := fromInt64(tensor.DType(dt), res, []int{B, int(ss)})
		if err != nil {
			return nil, err
		}
		return []Value{out}, nil
	}), nil
}
