// Package optim holds frugal's optimizers (SGD with momentum/Nesterov and
// weight decay, AdamW with decoupled weight decay), learning-rate schedules
// (step, cosine, linear warm-up) and global-norm gradient clipping. They
// work on flat float32 parameters and gradients, in place.
package optim

import (
	"fmt"
	"math"
	"strings"
)

// Param is one trainable tensor: its weights and the gradient of the loss.
type Param struct {
	Name string
	W, G []float32
	// Decay applies weight decay to this parameter (frugal's default:
	// weights of rank >= 2, not biases or normalisation parameters).
	Decay bool
}

// Config selects and tunes an optimizer.
type Config struct {
	// Kind is "sgd" or "adamw" (default "adamw").
	Kind string
	// LR is the base learning rate (default 0.1 for SGD, 1e-3 for AdamW).
	LR float32
	// Momentum (SGD) and Nesterov momentum.
	Momentum float32
	Nesterov bool
	// WeightDecay: L2 added to the gradient for SGD (PyTorch's semantics),
	// decoupled decay w -= lr*wd*w for AdamW.
	WeightDecay float32
	// Beta1, Beta2, Eps for AdamW (defaults 0.9, 0.999, 1e-8).
	Beta1, Beta2, Eps float32
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	c.Kind = strings.ToLower(c.Kind)
	if c.Kind == "" {
		c.Kind = "adamw"
	}
	if c.LR == 0 {
		if c.Kind == "sgd" {
			c.LR = 0.1
		} else {
			c.LR = 1e-3
		}
	}
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	return c
}

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update with learning rate lr. params must list the
	// same tensors, in the same order, at every step.
	Step(params []Param, lr float32) error
	// Steps is the number of updates applied.
	Steps() int
	// State exposes the optimizer's buffers by "param/slot" name (for
	// checkpoints); the slices alias the live state.
	State() map[string][]float32
	// SetStep restores the update count (with State, for resuming).
	SetStep(n int)
}

// New makes the optimizer described by cfg for params.
func New(cfg Config, params []Param) (Optimizer, error) {
	cfg = cfg.WithDefaults()
	if cfg.LR < 0 || cfg.WeightDecay < 0 || cfg.Momentum < 0 || cfg.Momentum >= 1 {
		return nil, fmt.Errorf("optim: invalid hyper-parameters lr=%g momentum=%g weight decay=%g", cfg.LR, cfg.Momentum, cfg.WeightDecay)
	}
	switch cfg.Kind {
	case "sgd":
		if cfg.Nesterov && cfg.Momentum == 0 {
			return nil, fmt.Errorf("optim: Nesterov momentum needs momentum > 0")
		}
		o := &SGD{cfg: cfg, names: names(params)}
		if cfg.Momentum != 0 {
			o.v = alloc(params)
		}
		return o, nil
	case "adamw", "adam":
		if cfg.Beta1 < 0 || cfg.Beta1 >= 1 || cfg.Beta2 < 0 || cfg.Beta2 >= 1 {
			return nil, fmt.Errorf("optim: betas (%g, %g) must lie in [0, 1)", cfg.Beta1, cfg.Beta2)
		}
		return &AdamW{cfg: cfg, names: names(params), m: alloc(params), v: alloc(params)}, nil
	}
	return nil, fmt.Errorf("optim: unknown optimizer %q (have sgd, adamw)", cfg.Kind)
}

func names(ps []Param) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func alloc(ps []Param) [][]float32 {
	out := make([][]float32, len(ps))
	for i, p := range ps {
		out[i] = make([]float32, len(p.W))
	}
	return out
}

func checkParams(names []string, ps []Param) error {
	if len(ps) != len(names) {
		return fmt.Errorf("optim: %d parameters, optimizer was made for %d", len(ps), len(names))
	}
	for _, p := range ps {
		if len(p.W) != len(p.G) {
			return fmt.Errorf("optim: parameter %q has %d weights and %d gradients", p.Name, len(p.W), len(p.G))
		}
	}
	return nil
}

// SGD is stochastic gradient descent with optional (Nesterov) momentum and
// L2 weight decay, following PyTorch's torch.optim.SGD (dampening 0).
type SGD struct {
	cfg   Config
	names []string
	v     [][]float32
	steps int
}

// Step implements Optimizer.
func (o *SGD) Step(ps []Param, lr float32) error {
	if err := checkParams(o.names, ps); err != nil {
		return err
	}
	mu, wd := o.cfg.Momentum, o.cfg.WeightDecay
	for i, p := range ps {
		w, g := p.W, p.G
		d := wd
		if !p.Decay {
			d = 0
		}
		if o.v == nil {
			for j := range w {
				w[j] -= lr * (g[j] + d*w[j])
			}
			continue
		}
		v := o.v[i]
		if len(v) != len(w) {
			return fmt.Errorf("optim: parameter %q changed size", p.Name)
		}
		for j := range w {
			gj := g[j] + d*w[j]
			v[j] = mu*v[j] + gj
			if o.cfg.Nesterov {
				gj += mu * v[j]
			} else {
				gj = v[j]
			}
			w[j] -= lr * gj
		}
	}
	o.steps++
	return nil
}

// Steps implements Optimizer.
func (o *SGD) Steps() int { return o.steps }

// SetStep implements Optimizer.
func (o *SGD) SetStep(n int) { o.steps = n }

// State implements Optimizer.
func (o *SGD) State() map[string][]float32 {
	m := map[string][]float32{}
	for i, n := range o.names {
		if o.v != nil {
			m[n+"/momentum"] = o.v[i]
		}
	}
	return m
}

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter 2019), as
// torch.optim.AdamW: w -= lr*wd*w, then the bias-corrected Adam step.
type AdamW struct {
	cfg   Config
	names []string
	m, v  [][]float32
	steps int
}

// Step implements Optimizer.
func (o *AdamW) Step(ps []Param, lr float32) error {
	if err := checkParams(o.names, ps); err != nil {
		return err
	}
	o.steps++
	b1, b2, eps := o.cfg.Beta1, o.cfg.Beta2, o.cfg.Eps
	bc1 := 1 - math.Pow(float64(b1), float64(o.steps))
	bc2 := 1 - math.Pow(float64(b2), float64(o.steps))
	step := lr / float32(bc1)
	isq := float32(1 / math.Sqrt(bc2))
	for i, p := range ps {
		w, g, m, v := p.W, p.G, o.m[i], o.v[i]
		if len(m) != len(w) {
			return fmt.Errorf("optim: parameter %q changed size", p.Name)
		}
		decay := float32(1)
		if p.Decay {
			decay = 1 - lr*o.cfg.WeightDecay
		}
		for j := range w {
			gj := g[j]
			mj := b1*m[j] + (1-b1)*gj
			vj := b2*v[j] + (1-b2)*gj*gj
			m[j], v[j] = mj, vj
			den := sqrt32(vj)*isq + eps
			w[j] = w[j]*decay - step*mj/den
		}
	}
	return nil
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// Steps implements Optimizer.
func (o *AdamW) Steps() int { return o.steps }

// SetStep implements Optimizer.
func (o *AdamW) SetStep(n int) { o.steps = n }

// State implements Optimizer.
func (o *AdamW) State() map[string][]float32 {
	m := map[string][]float32{}
	for i, n := range o.names {
		m[n+"/exp_avg"] = o.m[i]
		m[n+"/exp_avg_sq"] = o.v[i]
	}
	return m
}

// ClipGlobalNorm scales all gradients so that their joint L2 norm is at
// most maxNorm (no-op when maxNorm <= 0 or the norm is smaller). It returns
// the norm before clipping (accumulated in float64, in parameter order).
func ClipGlobalNorm(ps []Param, maxNorm float32) float64 {
	var s float64
	for _, p := range ps {
		for _, g := range p.G {
			s += float64(g) * float64(g)
		}
	}
	norm := math.Sqrt(s)
	if maxNorm > 0 && norm > float64(maxNorm) {
		f := float32(float64(maxNorm) / (norm + 1e-6))
		for _, p := range ps {
			for j := range p.G {
				p.G[j] *= f
			}
		}
	}
	return norm
}

// Schedule maps the step number to a learning-rate factor.
type Schedule struct {
	// Kind is "constant" (default), "step" or "cosine".
	Kind string
	// WarmupSteps ramps the factor linearly from 1/(WarmupSteps+1) to 1.
	WarmupSteps int
	// StepSize and Gamma: "step" multiplies by Gamma (default 0.1) every
	// StepSize steps after warm-up.
	StepSize int
	Gamma    float32
	// MinFactor is the floor "cosine" decays to (fraction of the base LR).
	MinFactor float32
}

// Validate reports an unusable schedule.
func (s Schedule) Validate() error {
	switch strings.ToLower(s.Kind) {
	case "", "constant", "cosine":
	case "step":
		if s.StepSize <= 0 {
			return fmt.Errorf("optim: step schedule needs StepSize > 0")
		}
	default:
		return fmt.Errorf("optim: unknown schedule %q (have constant, step, cosine)", s.Kind)
	}
	if s.WarmupSteps < 0 || s.Gamma < 0 || s.MinFactor < 0 || s.MinFactor > 1 {
		return fmt.Errorf("optim: invalid schedule %+v", s)
	}
	return nil
}

// Factor is the learning-rate multiplier at step (0-based) of total steps.
func (s Schedule) Factor(step, total int) float32 {
	if s.WarmupSteps > 0 && step < s.WarmupSteps {
		return float32(step+1) / float32(s.WarmupSteps+1)
	}
	t := step - s.WarmupSteps
	switch strings.ToLower(s.Kind) {
	case "step":
		g := s.Gamma
		if g == 0 {
			g = 0.1
		}
		if s.StepSize <= 0 {
			return 1
		}
		return float32(math.Pow(float64(g), float64(t/s.StepSize)))
	case "cosine":
		span := total - s.WarmupSteps
		if span <= 1 {
			return 1
		}
		frac := float64(t) / float64(span-1)
		if frac > 1 {
			frac = 1
		}
		c := 0.5 * (1 + math.Cos(math.Pi*frac))
		return s.MinFactor + (1-s.MinFactor)*float32(c)
	}
	return 1
}
