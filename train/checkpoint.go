package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/tensor"
	"github.com/frugal-ml/frugal/train/checkpoint"
)

// Checkpoint layout (safetensors): every initializer of the model under its
// own name, so the file doubles as a weights file; optimizer buffers under
// "optimizer/<param>/<slot>"; metadata keys prefixed "frugal.".
const optPrefix = "optimizer/"

// SaveWeights writes m's initializers to path (safetensors, atomically).
func SaveWeights(m *graph.Model, path string, meta map[string]string) error {
	return checkpoint.Write(path, m.Graph.Initializers, meta)
}

// LoadWeights replaces m's initializers with the same-named tensors of a
// safetensors file. Every initializer must be present with its dtype and
// shape; tensors in the file that m lacks (optimizer state) are ignored.
func LoadWeights(m *graph.Model, path string) (map[string]string, error) {
	ts, meta, err := checkpoint.Read(path)
	if err != nil {
		return nil, err
	}
	if err := setWeights(m.Graph, ts, path); err != nil {
		return nil, err
	}
	return meta, nil
}

func setWeights(g *graph.Graph, ts map[string]*tensor.Tensor, path string) error {
	for name, cur := range g.Initializers {
		t, ok := ts[name]
		if !ok {
			return fmt.Errorf("%s: no tensor %q", path, name)
		}
		if t.DType != cur.DType || !tensor.SameShape(t.Shape, cur.Shape) {
			return fmt.Errorf("%s: tensor %q is %s%v, the model has %s%v", path, name, t.DType, t.Shape, cur.DType, cur.Shape)
		}
	}
	for name := range g.Initializers {
		g.Initializers[name] = ts[name]
	}
	return nil
}

// SaveCheckpoint writes the model's weights, the optimizer state and the
// step count to path (safetensors, atomically); meta adds string metadata.
func (t *Trainer) SaveCheckpoint(path string, meta map[string]string) error {
	ts := map[string]*tensor.Tensor{}
	for k, v := range t.Model.Graph.Initializers {
		ts[k] = v
	}
	for k, v := range t.opt.State() {
		ts[optPrefix+k] = tensor.MustFromSlice(v, len(v))
	}
	md := map[string]string{}
	for k, v := range meta {
		md[k] = v
	}
	md["frugal.format"] = "frugal-train-checkpoint/1"
	md["frugal.step"] = strconv.Itoa(t.step)
	md["frugal.optimizer_steps"] = strconv.Itoa(t.opt.Steps())
	md["frugal.loss_scale"] = strconv.FormatFloat(float64(t.scaler.scale), 'g', -1, 32)
	md["frugal.loss_scale_good"] = strconv.Itoa(t.scaler.good)
	md["frugal.skipped_steps"] = strconv.Itoa(t.scaler.skipped)
	md["frugal.precision"] = t.cfg.Precision.String()
	oc, _ := json.Marshal(t.cfg.Optimizer)
	md["frugal.optimizer"] = string(oc)
	return checkpoint.Write(path, ts, md)
}

// LoadCheckpoint restores weights, optimizer state and step count written by
// SaveCheckpoint (for the same model and optimizer kind) and returns the
// metadata.
func (t *Trainer) LoadCheckpoint(path string) (map[string]string, error) {
	ts, meta, err := checkpoint.Read(path)
	if err != nil {
		return nil, err
	}
	if meta["frugal.format"] != "frugal-train-checkpoint/1" {
		return nil, fmt.Errorf("%s: not a frugal training checkpoint", path)
	}
	step, err1 := strconv.Atoi(meta["frugal.step"])
	osteps, err2 := strconv.Atoi(meta["frugal.optimizer_steps"])
	if err1 != nil || err2 != nil || step < 0 || osteps < 0 {
		return nil, fmt.Errorf("%s: bad step metadata", path)
	}
	st := t.opt.State()
	for k, v := range st {
		s, ok := ts[optPrefix+k]
		if !ok {
			return nil, fmt.Errorf("%s: optimizer state %q missing (was the checkpoint written with another optimizer?)", path, k)
		}
		if s.DType != tensor.Float32 || s.Len() != len(v) {
			return nil, fmt.Errorf("%s: optimizer state %q has %s%v, want %d floats", path, k, s.DType, s.Shape, len(v))
		}
	}
	for k := range ts {
		if rest, ok := strings.CutPrefix(k, optPrefix); ok {
			if _, ok := st[rest]; !ok {
				return nil, fmt.Errorf("%s: optimizer state %q does not belong to this optimizer", path, rest)
			}
		}
	}
	// Weights are copied into the trainer's private tensors, which the
	// parameters and replicas alias.
	g := t.Model.Graph
	for name, cur := range g.Initializers {
		s, ok := ts[name]
		if !ok {
			return nil, fmt.Errorf("%s: no tensor %q", path, name)
		}
		if s.DType != cur.DType || !tensor.SameShape(s.Shape, cur.Shape) {
			return nil, fmt.Errorf("%s: tensor %q is %s%v, the model has %s%v", path, name, s.DType, s.Shape, cur.DType, cur.Shape)
		}
	}
	priv := map[string]bool{}
	for _, p := range t.params {
		priv[p.Name] = true
	}
	for _, s := range t.state {
		priv[s] = true
	}
	for name, cur := range g.Initializers {
		if priv[name] {
			copy(cur.F32(), ts[name].F32())
		} else {
			g.Initializers[name] = ts[name]
		}
	}
	for k, v := range st {
		copy(v, ts[optPrefix+k].F32())
	}
	t.opt.SetStep(osteps)
	t.step = step
	if v, err := strconv.ParseFloat(meta["frugal.loss_scale"], 32); err == nil && v > 0 {
		t.scaler.scale = float32(v)
	}
	if v, err := strconv.Atoi(meta["frugal.loss_scale_good"]); err == nil && v >= 0 {
		t.scaler.good = v
	}
	if v, err := strconv.Atoi(meta["frugal.skipped_steps"]); err == nil && v >= 0 {
		t.scaler.skipped = v
	}
	return meta, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
