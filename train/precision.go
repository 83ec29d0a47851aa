package train

import (
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/frugal-ml/frugal/arith"
	"github.com/frugal-ml/frugal/arith/convert"
	"github.com/frugal-ml/frugal/arith/fixed"
	"github.com/frugal-ml/frugal/arith/round"
	"github.com/frugal-ml/frugal/train/autograd"
	"github.com/frugal-ml/frugal/train/optim"
)

// Precision is a number-format policy per tensor role, emulated by fake
// quantization (round to the format, compute on in float32):
//
//   - Activations: every node output in the forward pass;
//   - Weights: the copy of the weights the forward pass uses;
//   - Gradients: every activation gradient as it propagates back, and the
//     weight gradients;
//   - Update: the stored weights after each optimizer step. Empty keeps
//     fp32 master weights (the forward still sees Weights); a format makes
//     the weights themselves live in it (no fp32 copy), which is where
//     stochastic rounding of the update matters.
//
// Formats are names of the arithmetic level (arith.Lookup: fp16, bf16,
// fp8_e4m3, fixed3_12, posit16_1, mxfp8_e4m3, ...); "" or "fp32" means no
// rounding. Rounding of the gradients and of the update may be stochastic.
type Precision struct {
	Activations, Weights, Gradients, Update string
	// Rounding per role (round.NearestEven or round.Stochastic).
	ActRound, WeightRound, GradRound, UpdateRound round.Mode
	// Scaled divides activations, weights and gradients by a per-tensor
	// power of two mapping their largest magnitude near the format's
	// largest finite value before rounding (FP8 training recipes).
	Scaled bool
	// LossScale multiplies the loss (and so every gradient) before the
	// backward pass; gradients are divided by it before the update. 0 means
	// 1, or 65536 to start with when DynamicLossScale is set.
	LossScale float32
	// DynamicLossScale skips steps whose gradients overflow (inf/NaN) and
	// halves the scale, and doubles it after GrowthInterval good steps.
	DynamicLossScale bool
	GrowthInterval   int // default 2000
	// GEMM selects the arithmetic of the Conv, Gemm and MatMul GEMMs: ""
	// (or "fp32") multiplies the (rounded) float32 values; "bf16" rounds
	// both operands to bfloat16 and accumulates in float32 on impl/gemm's
	// AVX512_BF16 kernel (VDPBF16PS) where the CPU has one. With act,
	// weight and grad in bf16 the operands already are bf16 values (but
	// for the graph input), so the two differ only in summation order.
	GEMM string
	// ActFP32 names node outputs ("+"-separated, e.g. "logits") whose
	// activations stay fp32 when Activations is set; their gradients are
	// still rounded. It isolates a tensor whose range a format cannot hold
	// (the logits in 16-bit fixed point) from the rest of the policy.
	ActFP32 string
}

// IsFP32 reports whether the policy changes nothing.
func (p Precision) IsFP32() bool {
	is := func(s string) bool { return s == "" || strings.EqualFold(s, "fp32") }
	return is(p.Activations) && is(p.Weights) && is(p.Gradients) && is(p.Update) && is(p.GEMM) && !p.DynamicLossScale && (p.LossScale == 0 || p.LossScale == 1)
}

// ParsePrecision reads a precision spec: a preset ("fp32", "bf16",
// "fp16", "fp8") or comma-separated role=format[:rne|:sr] items with roles
// act, weight, grad, update, and the options scaled, loss-scale=N|dynamic,
// gemm=bf16|fp32.
// Presets keep fp32 master weights: bf16 rounds activations, weights and
// gradients to bf16; fp16 does the same in fp16 with dynamic loss scaling;
// fp8 uses E4M3 forward and E5M2 gradients, both per-tensor scaled.
// Example: "act=fixed3_12,weight=fixed3_12,grad=fixed3_12,update=fixed3_12:sr".
func ParsePrecision(spec string) (Precision, error) {
	var p Precision
	spec = strings.TrimSpace(strings.ToLower(spec))
	switch spec {
	case "", "fp32":
		return p, nil
	case "bf16":
		return Precision{Activations: "bf16", Weights: "bf16", Gradients: "bf16"}, nil
	case "fp16":
		return Precision{Activations: "fp16", Weights: "fp16", Gradients: "fp16", DynamicLossScale: true}, nil
	case "fp8":
		return Precision{Activations: "fp8_e4m3", Weights: "fp8_e4m3", Gradients: "fp8_e5m2", Scaled: true}, nil
	}
	for _, item := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			if k == "scaled" {
				p.Scaled = true
				continue
			}
			return p, fmt.Errorf("precision: %q is not role=format", item)
		}
		if k == "gemm" {
			if v != "bf16" && v != "fp32" {
				return p, fmt.Errorf("precision: gemm=%q (want bf16 or fp32)", v)
			}
			p.GEMM = v
			continue
		}
		if k == "act-fp32" {
			if v == "" {
				return p, fmt.Errorf("precision: act-fp32 needs value names")
			}
			if p.ActFP32 != "" {
				v = p.ActFP32 + "+" + v
			}
			p.ActFP32 = v
			continue
		}
		if k == "loss-scale" || k == "loss_scale" {
			if v == "dynamic" {
				p.DynamicLossScale = true
				continue
			}
			f, err := strconv.ParseFloat(v, 32)
			if err != nil || f <= 0 {
				return p, fmt.Errorf("precision: loss scale %q", v)
			}
			p.LossScale = float32(f)
			continue
		}
		name, rm, _ := strings.Cut(v, ":")
		mode, err := round.ParseMode(rm)
		if err != nil {
			return p, fmt.Errorf("precision: %w", err)
		}
		if name != "fp32" {
			if _, err := arith.Lookup(name); err != nil {
				return p, fmt.Errorf("precision: %w", err)
			}
		}
		switch k {
		case "act", "activations":
			p.Activations, p.ActRound = name, mode
		case "weight", "weights":
			p.Weights, p.WeightRound = name, mode
		case "grad", "gradients":
			p.Gradients, p.GradRound = name, mode
		case "update":
			p.Update, p.UpdateRound = name, mode
		default:
			return p, fmt.Errorf("precision: unknown role %q (act, weight, grad, update)", k)
		}
	}
	return p, nil
}

// String renders the policy in ParsePrecision's syntax.
func (p Precision) String() string {
	if p.IsFP32() {
		return "fp32"
	}
	var parts []string
	add := func(role, f string, m round.Mode) {
		if f != "" && f != "fp32" {
			parts = append(parts, role+"="+f+":"+m.String())
		}
	}
	add("act", p.Activations, p.ActRound)
	add("weight", p.Weights, p.WeightRound)
	add("grad", p.Gradients, p.GradRound)
	add("update", p.Update, p.UpdateRound)
	if p.Scaled {
		parts = append(parts, "scaled")
	}
	if p.GEMM == "bf16" {
		parts = append(parts, "gemm=bf16")
	}
	if p.ActFP32 != "" && p.Activations != "" && p.Activations != "fp32" {
		parts = append(parts, "act-fp32="+p.ActFP32)
	}
	if p.DynamicLossScale {
		parts = append(parts, "loss-scale=dynamic")
	} else if p.LossScale != 0 && p.LossScale != 1 {
		parts = append(parts, fmt.Sprintf("loss-scale=%g", p.LossScale))
	}
	return strings.Join(parts, ",")
}

// rounder applies one role's format.
type rounder struct {
	f        arith.Format
	mode     round.Mode
	scaled   bool
	saturate bool
	maxv     float64 // largest finite value (for scaling)
	seed     uint64
	step     *atomic.Int64
	scratch  []float32
	half     []uint16
	fast     string // "fp16" or "bf16": round-to-nearest through arith/convert
	// fixed, for fixed-point formats, rounds in place without the generic
	// encode/decode round trip (same results, several times faster).
	fixed *fixed.Q
}

func newRounder(name string, mode round.Mode, scaled, saturate bool, seed uint64, step *atomic.Int64) (*rounder, error) {
	if name == "" || name == "fp32" {
		return nil, nil
	}
	f, err := arith.Lookup(name)
	if err != nil {
		return nil, err
	}
	r := &rounder{f: f, mode: mode, scaled: scaled, saturate: saturate, seed: seed, step: step}
	probe := []float32{math.MaxFloat32}
	if err := f.Quantize(probe, probe, round.Options{Saturate: true}); err == nil {
		r.maxv = float64(probe[0])
	}
	if r.scaled && !(r.maxv > 0) || math.IsInf(r.maxv, 0) {
		r.scaled = false
	}
	if n := f.Name(); (n == "fp16" || n == "bf16") && mode == round.NearestEven && !r.scaled {
		r.fast = n
	}
	var m, n int
	if k, err := fmt.Sscanf(f.Name(), "fixed%d_%d", &m, &n); err == nil && k == 2 && f.Name() == fmt.Sprintf("fixed%d_%d", m, n) {
		if q, err := fixed.New(m, n); err == nil {
			r.fixed = &q
		}
	}
	return r, nil
}

// quantizeFixed is q.Quantize (round to a multiple of 2^-N, saturate to
// the code range, NaN to 0) with the scaling by 2^N done by one exact
// multiplication instead of math.Ldexp per element.
func quantizeFixed(q fixed.Q, dst, src []float32, o round.Options) {
	lo64, hi64 := q.Range()
	lo, hi := float64(lo64), float64(hi64)
	scale, inv := math.Ldexp(1, q.N), math.Ldexp(1, -q.N)
	for i, x := range src {
		v := float64(x) * scale
		if v != v {
			dst[i] = 0
			continue
		}
		switch o.Mode {
		case round.NearestEven:
			v = math.RoundToEven(v)
		default:
			v = round.Int(v, o.Mode, o.R(i))
		}
		if v == 0 {
			dst[i] = 0 // the integer code 0 is +0, never -0
			continue
		}
		dst[i] = float32(min(max(v, lo), hi) * inv)
	}
}

func nameHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// apply rounds src into dst (may alias). Stochastic rounding draws from a
// stream keyed by (seed, step, tensor name), so it is reproducible.
func (r *rounder) apply(name string, dst, src []float32) {
	if r.fast != "" {
		r.convert(dst, src)
		return
	}
	o := round.Options{Mode: r.mode, Saturate: r.saturate}
	if r.mode == round.Stochastic {
		o.Seed = round.Bits(r.seed^nameHash(name), uint64(r.step.Load()))
	}
	if !r.scaled {
		if r.fixed != nil {
			quantizeFixed(*r.fixed, dst, src, o)
			return
		}
		if err := r.f.Quantize(dst, src, o); err != nil {
			copy(dst, src)
		}
		return
	}
	var amax float64
	for _, v := range src {
		if a := math.Abs(float64(v)); a > amax && !math.IsInf(a, 0) {
			amax = a
		}
	}
	if amax == 0 {
		copy(dst, src)
		return
	}
	// power-of-two scale so that amax maps into the top binade
	e := math.Ceil(math.Log2(amax / r.maxv))
	s := float32(math.Ldexp(1, int(e)))
	inv := 1 / s
	if cap(r.scratch) < len(src) {
		r.scratch = make([]float32, len(src))
	}
	t := r.scratch[:len(src)]
	for i, v := range src {
		t[i] = v * inv
	}
	if err := r.f.Quantize(t, t, o); err != nil {
		copy(dst, src)
		return
	}
	for i, v := range t {
		dst[i] = v * s
	}
}

// hooks builds the autograd hooks of replica r.
func (p Precision) hooks(seed uint64, r int, step *atomic.Int64) (*autograd.Hooks, error) {
	if p.IsFP32() {
		return nil, nil
	}
	base := seed ^ uint64(r+1)*0x9e3779b97f4a7c15
	act, err := newRounder(p.Activations, p.ActRound, p.Scaled, true, base^1, step)
	if err != nil {
		return nil, err
	}
	w, err := newRounder(p.Weights, p.WeightRound, p.Scaled, true, base^2, step)
	if err != nil {
		return nil, err
	}
	// Gradients overflow to inf (no saturation), which dynamic loss scaling
	// detects.
	g, err := newRounder(p.Gradients, p.GradRound, p.Scaled, false, base^3, step)
	if err != nil {
		return nil, err
	}
	h := &autograd.Hooks{}
	if act != nil {
		keep := map[string]bool{}
		for _, n := range strings.Split(p.ActFP32, "+") {
			if n != "" {
				keep[n] = true
			}
		}
		h.Activation = func(name string, x []float32) {
			if !keep[name] {
				act.apply(name, x, x)
			}
		}
	}
	if w != nil {
		h.Weight = func(name string, m, dst []float32) { w.apply(name, dst, m) }
	}
	if g != nil {
		h.Gradient = func(name string, x []float32) { g.apply(name, x, x) }
	}
	return h, nil
}

// lossScaler implements static and dynamic loss scaling.
type lossScaler struct {
	scale    float32
	dynamic  bool
	interval int
	good     int
	skipped  int
}

func newLossScaler(p Precision) *lossScaler {
	l := &lossScaler{scale: p.LossScale, dynamic: p.DynamicLossScale, interval: p.GrowthInterval}
	if l.scale == 0 {
		l.scale = 1
		if l.dynamic {
			l.scale = 65536
		}
	}
	if l.interval <= 0 {
		l.interval = 2000
	}
	return l
}

// finite reports whether every gradient is finite.
func finite(ps []optim.Param) bool {
	for _, p := range ps {
		for _, g := range p.G {
			if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
				return false
			}
		}
	}
	return true
}

// update adjusts the scale after a step and reports whether to apply it.
func (l *lossScaler) update(ok bool) bool {
	if !l.dynamic {
		return true
	}
	if !ok {
		l.scale /= 2
		if l.scale < 1.0/(1<<24) {
			l.scale = 1.0 / (1 << 24)
		}
		l.good = 0
		l.skipped++
		return false
	}
	l.good++
	if l.good >= l.interval {
		l.scale *= 2
		l.good = 0
	}
	return true
}

// convert rounds to fp16/bf16 (nearest even) with the SIMD converters.
func (r *rounder) convert(dst, src []float32) {
	const chunk = 4096
	if cap(r.half) < chunk {
		r.half = make([]uint16, chunk)
	}
	for lo := 0; lo < len(src); lo += chunk {
		hi := min(lo+chunk, len(src))
		h := r.half[:hi-lo]
		s := src[lo:hi]
		if r.fast == "fp16" {
			if r.saturate {
				for i, v := range s {
					if v > 65504 {
						dst[lo+i] = 65504
					} else if v < -65504 {
						dst[lo+i] = -65504
					} else {
						dst[lo+i] = v
					}
				}
				s = dst[lo:hi]
			}
			convert.F32ToF16(h, s)
			convert.F16ToF32(dst[lo:hi], h)
		} else {
			convert.F32ToBF16(h, s)
			convert.BF16ToF32(dst[lo:hi], h)
		}
	}
}
