package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// CheckOptions tune CheckGrads.
type CheckOptions struct {
	// Eps is the finite-difference step (default 1e-2).
	Eps float64
	// ATol and RTol bound |analytic - numeric| <= ATol + RTol*max(|a|,|n|)
	// (defaults 1e-3 and 1e-2, suited to float32 kernels).
	ATol, RTol float64
	// MaxPerTensor caps the elements checked per tensor (default 64; a
	// seeded random subset beyond that).
	MaxPerTensor int
	// Training runs the forward in training mode.
	Training bool
	// Seed picks the loss weights and the subset of elements.
	Seed uint64
}

// CheckGrads compares the gradients Backward computes for the loss
// L = sum over graph outputs of sum(r * y), with fixed random weights r,
// against central finite differences of the forward, for every trainable
// parameter of m and every graph input in wrt. It returns an error naming
// the worst offending element when one is out of tolerance. The inputs are
// perturbed in place and restored.
func CheckGrads(m *graph.Model, inputs map[string]*tensor.Tensor, wrt []string, o CheckOptions) error {
	if o.Eps == 0 {
		o.Eps = 1e-2
	}
	if o.ATol == 0 {
		o.ATol = 1e-3
	}
	if o.RTol == 0 {
		o.RTol = 1e-2
	}
	if o.MaxPerTensor == 0 {
		o.MaxPerTensor = 64
	}
	p, err := Compile(m, Options{InputGrads: wrt})
	if err != nil {
		return err
	}
	ctx := &Ctx{Training: o.Training, Rand: rand.New(rand.NewPCG(o.Seed, 99))}
	rng := rand.New(rand.NewPCG(o.Seed, 77))
	if err := p.Forward(ctx, inputs); err != nil {
		return err
	}
	weights := map[string][]float64{}
	seeds := map[string]*tensor.Tensor{}
	outs := p.Graph.Outputs
	for _, vi := range outs {
		y := p.Value(vi.Name)
		if y == nil || y.DType != tensor.Float32 {
			continue
		}
		r := make([]float64, y.Len())
		s := tensor.New(tensor.Float32, y.Shape...)
		for i := range r {
			r[i] = rng.Float64()*2 - 1
			s.F32()[i] = float32(r[i])
			r[i] = float64(s.F32()[i])
		}
		weights[vi.Name] = r
		seeds[vi.Name] = s
	}
	loss := func() (float64, error) {
		ctx.Rand = rand.New(rand.NewPCG(o.Seed, 99))
		if err := p.Forward(ctx, inputs); err != nil {
			return 0, err
		}
		var l float64
		for name, r := range weights {
			for i, v := range p.Value(name).F32() {
				l += r[i] * float64(v)
			}
		}
		return l, nil
	}
	if err := p.Backward(ctx, seeds); err != nil {
		return err
	}
	analytic := map[string][]float32{}
	targets := map[string]*tensor.Tensor{}
	for _, name := range p.Params() {
		targets[name] = m.Graph.Initializers[name]
	}
	for _, name := range wrt {
		targets[name] = inputs[name]
	}
	var names []string
	for name := range targets {
		g := p.Grad(name)
		if g == nil {
			return fmt.Errorf("no gradient computed for %q", name)
		}
		analytic[name] = append([]float32(nil), g.F32()...)
		names = append(names, name)
	}
	sort.Strings(names)
	worst, worstMsg := 0.0, ""
	for _, name := range names {
		t := targets[name]
		d := t.F32()
		idx := make([]int, len(d))
		for i := range idx {
			idx[i] = i
		}
		if len(idx) > o.MaxPerTensor {
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			idx = idx[:o.MaxPerTensor]
		}
		for _, i := range idx {
			orig := d[i]
			d[i] = orig + float32(o.Eps)
			lp, err := loss()
			if err != nil {
				return err
			}
			hi := float64(d[i])
			d[i] = orig - float32(o.Eps)
			lm, err := loss()
			if err != nil {
				return err
			}
			lo := float64(d[i])
			d[i] = orig
			num := (lp - lm) / (hi - lo)
			a := float64(analytic[name][i])
			diff := math.Abs(a - num)
			tol := o.ATol + o.RTol*math.Max(math.Abs(a), math.Abs(num))
			if excess := diff / tol; excess > 1 && excess > worst {
				worst = excess
				worstMsg = fmt.Sprintf("d/d %s[%d]: analytic %.6g, numeric %.6g", name, i, a, num)
			}
		}
	}
	if worst > 1 {
		return fmt.Errorf("gradient check failed (%.1fx tolerance): %s", worst, worstMsg)
	}
	return nil
}
