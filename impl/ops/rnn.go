package ops

import (
	"fmt"
	"math"
	"strings"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
)

// Recurrent ops RNN, GRU and LSTM: forward, reverse and bidirectional,
// configurable activations (with alpha/beta), clip, sequence_lens,
// initial states, LSTM peepholes and input_forget, GRU
// linear_before_reset, and layout 0 ([seq, batch, ...]) or 1 ([batch, seq,
// ...]). Computes in float64.

func init() {
	for _, op := range []string{"RNN", "GRU", "LSTM"} {
		op := op
		Register(Impl{Op: op, DTypes: floatTypes, Build: func(b *BuildInfo) (Kernel, error) { return buildRNN(op, b) }})
		graph.RegisterShape("", op, func(n *graph.Node, in []graph.Type, c []*tensor.Tensor, v int64) ([]graph.Type, error) {
			dt := in[0].DType
			return []graph.Type{{DType: dt}, {DType: dt}, {DType: dt}}, nil
		})
	}
}

func rnnActivation(name string, alpha, beta float64, hasA, hasB bool) (func(float64) float64, error) {
	def := func(a, b float64) (float64, float64) {
		if !hasA {
			alpha = a
		}
		if !hasB {
			beta = b
		}
		return alpha, beta
	}
	switch strings.ToLower(name) {
	case "relu":
		return func(x float64) float64 { return math.Max(x, 0) }, nil
	case "tanh":
		return math.Tanh, nil
	case "sigmoid":
		return sigmoid, nil
	case "affine":
		a, b := def(1, 0)
		return func(x float64) float64 { return a*x + b }, nil
	case "leakyrelu":
		a, _ := def(0.01, 0)
		return func(x float64) float64 {
			if x < 0 {
				return a * x
			}
			return x
		}, nil
	case "thresholdedrelu":
		a, _ := def(1, 0)
		return func(x float64) float64 {
			if x > a {
				return x
			}
			return 0
		}, nil
	case "scaledtanh":
		a, b := def(1, 1)
		return func(x float64) float64 { return a * math.Tanh(b*x) }, nil
	case "hardsigmoid":
		a, b := def(0.2, 0.5)
		return func(x float64) float64 { return math.Max(0, math.Min(1, a*x+b)) }, nil
	case "elu":
		a, _ := def(1, 0)
		return func(x float64) float64 {
			if x < 0 {
				return a * (math.Exp(x) - 1)
			}
			return x
		}, nil
	case "softsign":
		return func(x float64) float64 { return x / (1 + math.Abs(x)) }, nil
	case "softplus":
		return softplus, nil
	}
	return nil, fmt.Errorf("unknown activation %q", name)
}

func buildRNN(op string, b *BuildInfo) (Kernel, error) {
	n := b.Node
	hidden, err := n.Int("hidden_size", 0)
	if err != nil {
		return nil, err
	}
	dir, err := n.String("direction", "forward")
	if err != nil {
		return nil, err
	}
	layout, err := n.Int("layout", 0)
	if err != nil {
		return nil, err
	}
	clip, err := n.Float("clip", 0)
	if err != nil {
		return nil, err
	}
	hasClip := n.Has("clip")
	lbr, err := n.Int("linear_before_reset", 0)
	if err != nil {
		return nil, err
	}
	inForget, err := n.Int("input_forget", 0)
	if err != nil {
		return nil, err
	}
	names, err := nodeStrings(n, "activations")
	if err != nil {
		return nil, err
	}
	alphas, err := n.Floats("activation_alpha", nil)
	if err != nil {
		return nil, err
	}
	betas, err := n.Floats("activation_beta", nil)
	if err != nil {
		return nil, err
	}
	ndir := 1
	switch dir {
	case "forward", "reverse":
	case "bidirectional":
		ndir = 2
	default:
		return nil, fmt.Errorf("unknown direction %q", dir)
	}
	perDir := map[string]int{"RNN": 1, "GRU": 2, "LSTM": 3}[op]
	defaults := map[string][]string{"RNN": {"Tanh"}, "GRU": {"Sigmoid", "Tanh"}, "LSTM": {"Sigmoid", "Tanh", "Tanh"}}[op]
	acts := make([]func(float64) float64, perDir*ndir)
	for i := range acts {
		name := defaults[i%perDir]
		if i < len(names) {
			name = names[i]
		}
		var a, bb float64
		hasA, hasB := i < len(alphas), i < len(betas)
		if hasA {
			a = float64(alphas[i])
		}
		if hasB {
			bb = float64(betas[i])
		}
		if acts[i], err = rnnActivation(name, a, bb, hasA, hasB); err != nil {
			return nil, err
		}
	}
	gates := map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[op]
	return KernelFunc(func(ctx *Ctx, in []Value) ([]Value, error) {
		ts, err := MustTensors(in, 3)
		if err != nil {
			return nil, err
		}
		x, w, r := ts[0], ts[1], ts[2]
		opt := make([]*tensor.Tensor, 8)
		for i := 3; i < 8; i++ {
			if opt[i], err = Tensor(in, i); err != nil {
				return nil, err
			}
		}
		if x.Rank() != 3 {
			return nil, fmt.Errorf("X %v must be rank 3", x.Shape)
		}
		S, B := x.Shape[0], x.Shape[1]
		if layout != 0 {
			S, B = B, S
		}
		I := x.Shape[2]
		H := int(hidden)
		if H <= 0 && w.Rank() == 3 {
			H = w.Shape[1] / gates
		}
		if H <= 0 {
			return nil, fmt.Errorf("hidden_size is unknown (W %v)", w.Shape)
		}
		if !tensor.SameShape(w.Shape, []int{ndir, gates * H, I}) || !tensor.SameShape(r.Shape, []int{ndir, gates * H, H}) {
			return nil, fmt.Errorf("W %v / R %v do not fit %d directions, %d gates of %d for input %d", w.Shape, r.Shape, ndir, gates, H, I)
		}
		xv, _ := ToFloat64(x)
		wv, _ := ToFloat64(w)
		rv, _ := ToFloat64(r)
		bias := make([]float64, ndir*2*gates*H)
		if opt[3] != nil {
			if bias, err = ToFloat64(opt[3]); err != nil {
				return nil, err
			}
			if len(bias) != ndir*2*gates*H {
				return nil, fmt.Errorf("B has %d elements, want %d", len(bias), ndir*2*gates*H)
			}
		}
		lens := make([]int, B)
		for i := range lens {
			lens[i] = S
		}
		if opt[4] != nil {
			l, err := intsOf(opt[4], "sequence_lens")
			if err != nil {
				return nil, err
			}
			for i := range lens {
				if i < len(l) {
					lens[i] = int(l[i])
				}
			}
		}
		// State layout [dir][batch][H].
		loadState := func(t *tensor.Tensor) ([]float64, error) {
			s := make([]float64, ndir*B*H)
			if t == nil {
				return s, nil
			}
			v, err := ToFloat64(t)
			if err != nil {
				return nil, err
			}
			if len(v) != len(s) {
				return nil, fmt.Errorf("initial state has %d elements, want %d", len(v), len(s))
			}
			if layout == 0 {
				return v, nil
			}
			for bb := 0; bb < B; bb++ {
				for d := 0; d < ndir; d++ {
					copy(s[(d*B+bb)*H:(d*B+bb+1)*H], v[(bb*ndir+d)*H:(bb*ndir+d+1)*H])
				}
			}
			return s, nil
		}
		hState, err := loadState(opt[5])
		if err != nil {
			return nil, err
		}
		var cState, peep []float64
		if op == "LSTM" {
			if cState, err = loadState(opt[6]); err != nil {
				return nil, err
			}
			if opt[7] != nil {
				if peep, err = ToFloat64(opt[7]); err != nil {
					return nil, err
				}
			}
		}
		xAt := func(t, bb int) []float64 {
			if layout == 0 {
				return xv[(t*B+bb)*I : (t*B+bb+1)*I]
			}
			return xv[(bb*S+t)*I : (bb*S+t+1)*I]
		}
		y := make([]float64, S*ndir*B*H) // [S][dir][B][H]
		cl := func(v float64) float64 {
			if hasClip {
				return math.Max(-float64(clip), math.Min(float64(clip), v))
			}
			return v
		}
		gx := make([]float64, gates*H)
		gh := make([]float64, gates*H)
		for d := 0; d < ndir; d++ {
			reverse := dir == "reverse" || d == 1
			W := wv[d*gates*H*I : (d+1)*gates*H*I]
			R := rv[d*gates*H*H : (d+1)*gates*H*H]
			Wb := bias[d*2*gates*H : d*2*gates*H+gates*H]
			Rb := bias[d*2*gates*H+gates*H : (d+1)*2*gates*H]
			f := acts[d*perDir:]
			for bb := 0; bb < B; bb++ {
				h := hState[(d*B+bb)*H : (d*B+bb+1)*H]
				var c []float64
				if cState != nil {
					c = cState[(d*B+bb)*H : (d*B+bb+1)*H]
				}
				L := min(lens[bb], S)
				for step := 0; step < L; step++ {
					t := step
					if reverse {
						t = L - 1 - step
					}
					xt := xAt(t, bb)
					for g := 0; g < gates*H; g++ {
						var s float64
						wr := W[g*I : (g+1)*I]
						for k, e := range xt {
							s += wr[k] * e
						}
						gx[g] = s + Wb[g]
						var sh float64
						rr := R[g*H : (g+1)*H]
						for k, e := range h {
							sh += rr[k] * e
						}
						gh[g] = sh + Rb[g]
					}
					nh := make([]float64, H)
					switch op {
					case "RNN":
						for j := 0; j < H; j++ {
							nh[j] = f[0](cl(gx[j] + gh[j]))
						}
					case "GRU":
						for j := 0; j < H; j++ {
							z := f[0](cl(gx[j] + gh[j]))
							rg := f[0](cl(gx[H+j] + gh[H+j]))
							var hh float64
							if lbr != 0 {
								hh = f[1](cl(gx[2*H+j] + rg*gh[2*H+j]))
							} else {
								// (r ⊙ h) R_h^T + Rb_h
								var s float64
								rr := R[(2*H+j)*H : (2*H+j+1)*H]
								for k := 0; k < H; k++ {
									rk := f[0](cl(gx[H+k] + gh[H+k]))
									s += rr[k] * rk * h[k]
								}
								hh = f[1](cl(gx[2*H+j] + s + Rb[2*H+j]))
							}
							nh[j] = (1-z)*hh + z*h[j]
						}
					case "LSTM":
						nc := make([]float64, H)
						for j := 0; j < H; j++ {
							pi, po, pf := 0.0, 0.0, 0.0
							if peep != nil {
								pi, po, pf = peep[d*3*H+j], peep[d*3*H+H+j], peep[d*3*H+2*H+j]
							}
							ig := f[0](cl(gx[j] + gh[j] + pi*c[j]))
							fg := f[0](cl(gx[2*H+j] + gh[2*H+j] + pf*c[j]))
							if inForget != 0 {
								fg = 1 - ig
							}
							cg := f[1](cl(gx[3*H+j] + gh[3*H+j]))
							nc[j] = fg*c[j] + ig*cg
							og := f[0](cl(gx[H+j] + gh[H+j] + po*nc[j]))
							nh[j] = og * f[2](nc[j])
						}
						copy(c, nc)
					}
					copy(h, nh)
					copy(y[((t*ndir+d)*B+bb)*H:], h)
				}
			}
		}
		dt := x.DType
		var yt *tensor.Tensor
		if layout == 0 {
			yt, err = FromFloat64(dt, y, []int{S, ndir, B, H})
		} else {
			t := make([]float64, len(y))
			for s := 0; s < S; s++ {
				for d := 0; d < ndir; d++ {
					for bb := 0; bb < B; bb++ {
						copy(t[((bb*S+s)*ndir+d)*H:((bb*S+s)*ndir+d+1)*H], y[((s*ndir+d)*B+bb)*H:((s*ndir+d)*B+bb+1)*H])
					}
				}
			}
			yt, err = FromFloat64(dt, t, []int{B, S, ndir, H})
		}
		if err != nil {
			return nil, err
		}
		stateOut := func(s []float64) (*tensor.Tensor, error) {
			if layout == 0 {
				return FromFloat64(dt, s, []int{ndir, B, H})
			}
			t := make([]float64, len(s))
			for bb := 0; bb < B; bb++ {
				for d := 0; d < ndir; d++ {
					copy(t[(bb*ndir+d)*H:(bb*ndir+d+1)*H], s[(d*B+bb)*H:(d*B+bb+1)*H])
				}
			}
			return FromFloat64(dt, t, []int{B, ndir, H})
		}
		yh, err := stateOut(hState)
		if err != nil {
			return nil, err
		}
		outs := []Value{yt, yh}
		if op == "LSTM" {
			yc, err := stateOut(cState)
			if err != nil {
				return nil, err
			}
			outs = append(outs, yc)
		}
		return outs, nil
	}), nil
}

// nodeStrings returns a strings attribute (nil when absent).
func nodeStrings(n *graph.Node, name string) ([]string, error) {
	a, ok := n.Attrs[name]
	if !ok {
		return nil, nil
	}
	if a.Type != graph.AttrStrings {
		return nil, fmt.Errorf("%s: attribute %q has type %d, want strings", n.Describe(), name, a.Type)
	}
	return a.Strings, nil
}
