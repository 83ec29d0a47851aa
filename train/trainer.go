// Package train is frugal's training loop: Fit trains a graph.Model on a
// labelled set with autograd over the same IR the runtime executes, fused
// softmax cross-entropy (optionally distilled from a teacher), SGD or AdamW,
// learning-rate schedules and gradient clipping, and reports per-epoch loss,
// accuracy and throughput. Batches are assembled (and augmented) in a
// goroutine ahead of the step that trains on them.
//
// A batch is split across Threads goroutines, each running its own compiled
// Program (forward and backward) on a contiguous shard; their gradients are
// summed in replica order. Training is therefore deterministic: the same
// seed and the same thread count give bit-identical weights.
package train

import (
	"fmt"
	"math/rand/v2"
	goruntime "runtime"
	"sync"
	"sync/atomic"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/frugal-ml/frugal/tensor"
	"github.com/frugal-ml/frugal/train/autograd"
	"github.com/frugal-ml/frugal/train/loss"
	"github.com/frugal-ml/frugal/train/optim"
)

// Trainer holds the state of training one model: compiled replicas, the
// optimizer and the step count. Use it directly for custom loops; Fit
// drives one.
type Trainer struct {
	Model   *graph.Model
	cfg     Config
	input   string
	output  string
	shape   []int // per-sample input shape
	classes int
	intIn   bool // the input takes int64 (token ids), fed as float values

	reps   []*replica
	params []optim.Param
	pnames []string
	opt    optim.Optimizer
	state  []string // BN running statistics names
	step   int
	total  int // planned total steps (for schedules)

	stepCtr atomic.Int64 // step, for stochastic-rounding streams
	scaler  *lossScaler
	update  *rounder // rounding of the stored weights after each step
}

type replica struct {
	ids   []int64
	prog  *autograd.Program
	ctx   *autograd.Ctx
	x     *tensor.Tensor
	g     *tensor.Tensor
	seeds map[string]*tensor.Tensor
	in    map[string]*tensor.Tensor
	loss  float64
	right int
	n     int
	err   error
	// distillation: the teacher's program, its input and its logits' name
	teacher   *autograd.Program
	tfeed     map[string]*tensor.Tensor
	tin, tout string
	kl        []float32 // gradient of the distillation term
}

// NewTrainer prepares m for training with cfg. It replaces m's trainable
// initializers (and batch-norm running statistics) with private copies,
// which it then updates in place: tensors m shared with other graphs are
// never mutated.
func NewTrainer(m *graph.Model, cfg Config) (*Trainer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("train: model has no graph")
	}
	g := m.Graph
	t := &Trainer{Model: m, cfg: cfg, input: cfg.Input, output: cfg.Output}
	if t.input == "" {
		for _, in := range g.Inputs {
			if _, ok := g.Initializers[in.Name]; !ok {
				t.input = in.Name
				break
			}
		}
	}
	if t.output == "" && len(g.Outputs) > 0 {
		t.output = g.Outputs[0].Name
	}
	if t.input == "" || t.output == "" {
		return nil, fmt.Errorf("train: model %q needs a data input and an output", g.Name)
	}
	for _, in := range g.Inputs {
		if in.Name == t.input {
			t.intIn = in.Type.DType == tensor.Int64
			if s := in.Type.Shape; in.Type.HasShape && len(s) >= 2 {
				for _, d := range s[1:] {
					if !d.Known() {
						t.shape = nil
						break
					}
					t.shape = append(t.shape, int(d.Size))
				}
			}
		}
	}
	for _, o := range g.Outputs {
		if o.Name == t.output && o.Type.HasShape && len(o.Type.Shape) == 2 && o.Type.Shape[1].Known() {
			t.classes = int(o.Type.Shape[1].Size)
		}
	}
	t.scaler = newLossScaler(cfg.Precision)
	t.update, err = newRounder(cfg.Precision.Update, cfg.Precision.UpdateRound, false, true, cfg.Seed^0x7570, &t.stepCtr)
	if err != nil {
		return nil, err
	}
	for r := 0; r < cfg.Threads; r++ {
		hooks, err := cfg.Precision.hooks(cfg.Seed, r, &t.stepCtr)
		if err != nil {
			return nil, err
		}
		p, err := autograd.Compile(m, autograd.Options{Params: cfg.Params, Hooks: hooks, BF16GEMM: cfg.Precision.GEMM == "bf16"})
		if err != nil {
			return nil, err
		}
		rep := &replica{prog: p, ctx: &autograd.Ctx{Training: true, Rand: rand.New(rand.NewPCG(cfg.Seed, uint64(r)+1))},
			seeds: map[string]*tensor.Tensor{}, in: map[string]*tensor.Tensor{}}
		if cfg.Teacher != nil {
			if err := rep.compileTeacher(cfg.Teacher); err != nil {
				return nil, err
			}
		}
		t.reps = append(t.reps, rep)
	}
	t.pnames = t.reps[0].prog.Params()
	if len(t.pnames) == 0 {
		return nil, fmt.Errorf("train: model %q has no trainable parameters", g.Name)
	}
	// Private copies of everything training writes.
	for _, n := range g.Nodes {
		if n.OpType == "BatchNormalization" {
			for _, i := range []int{3, 4} {
				if s := n.Input(i); s != "" {
					if _, ok := g.Initializers[s]; ok {
						t.state = append(t.state, s)
					}
				}
			}
		}
	}
	for _, name := range append(append([]string(nil), t.pnames...), t.state...) {
		g.Initializers[name] = g.Initializers[name].Clone()
	}
	t.params = make([]optim.Param, len(t.pnames))
	for i, name := range t.pnames {
		w := g.Initializers[name]
		t.params[i] = optim.Param{Name: name, W: w.F32(), Decay: w.Rank() >= 2}
	}
	t.opt, err = optim.New(cfg.Optimizer, t.params)
	if err != nil {
		return nil, err
	}
	if t.update != nil {
		// The weights live in the update format from the start.
		for _, p := range t.params {
			t.update.apply(p.Name, p.W, p.W)
		}
	}
	return t, nil
}

// Params returns the trainable parameters (weights and, after a step, the
// gradients of the last batch).
func (t *Trainer) Params() []optim.Param { return t.params }

// Optimizer returns the optimizer (for checkpoints).
func (t *Trainer) Optimizer() optim.Optimizer { return t.opt }

// Steps is the number of optimizer steps taken.
func (t *Trainer) Steps() int { return t.step }

// SetPlannedSteps tells the schedule how many steps training will take.
func (t *Trainer) SetPlannedSteps(n int) { t.total = n }

// LossScale is the current loss scale (1 without loss scaling).
func (t *Trainer) LossScale() float32 { return t.scaler.scale }

// SkippedSteps counts steps dynamic loss scaling skipped (overflow).
func (t *Trainer) SkippedSteps() int { return t.scaler.skipped }

// LR is the learning rate the next step will use.
func (t *Trainer) LR() float32 {
	return t.cfg.Optimizer.LR * t.cfg.Schedule.Factor(t.step, t.total)
}

// Step trains on one batch: x holds len(y) samples of the model's input
// shape, back to back. It returns the summed loss and the number of
// correctly classified samples (before the update).
func (t *Trainer) Step(x []float32, y []int) (lossSum float64, correct int, err error) {
	b := len(y)
	if b == 0 {
		return 0, 0, fmt.Errorf("train: empty batch")
	}
	if len(x)%b != 0 {
		return 0, 0, fmt.Errorf("train: %d values for %d samples", len(x), b)
	}
	ss := len(x) / b
	shape := t.shape
	if shape == nil || tensor.NumElems(shape) != ss {
		if shape != nil {
			return 0, 0, fmt.Errorf("train: samples have %d values, the model's input %q takes %v", ss, t.input, shape)
		}
		shape = []int{ss}
	}
	nr := len(t.reps)
	if nr > b {
		nr = b
	}
	if nr > 1 {
		// The replicas already use the cores: GEMMs inside them run serially
		// (nested splitting only adds hand-offs). impl/gemm has only a
		// process-wide budget, so it is lowered for the step and restored.
		prev := gemm.Threads()
		gemm.SetThreads(1)
		defer func() {
			if prev == goruntime.GOMAXPROCS(0) {
				gemm.SetThreads(0)
			} else {
				gemm.SetThreads(prev)
			}
		}()
	}
	t.stepCtr.Store(int64(t.step))
	lscale := t.scaler.scale
	scale := lscale / float32(b)
	off := 0
	var wg sync.WaitGroup
	for r := 0; r < nr; r++ {
		n := b / nr
		if r < b%nr {
			n++
		}
		rep := t.reps[r]
		rep.n = n
		lo := off
		off += n
		run := func() {
			rep.loss, rep.right, rep.err = t.runReplica(rep, x[lo*ss:(lo+n)*ss], y[lo:lo+n], shape, scale)
		}
		if r == nr-1 {
			run()
		} else {
			wg.Add(1)
			go func() { defer wg.Done(); run() }()
		}
	}
	wg.Wait()
	for r := 0; r < nr; r++ {
		if err := t.reps[r].err; err != nil {
			return 0, 0, err
		}
		lossSum += t.reps[r].loss
		correct += t.reps[r].right
	}
	// Sum gradients into replica 0's buffers, in replica order.
	p0 := t.reps[0].prog
	for i, name := range t.pnames {
		g0 := p0.Grad(name).F32()
		for r := 1; r < nr; r++ {
			for j, v := range t.reps[r].prog.Grad(name).F32() {
				g0[j] += v
			}
		}
		t.params[i].G = g0
	}
	// Batch-norm running statistics: sample-weighted mean over replicas.
	for _, name := range t.state {
		dst := t.Model.Graph.Initializers[name].F32()
		for j := range dst {
			var s float32
			for r := 0; r < nr; r++ {
				st := t.reps[r].prog.State()[name]
				if st == nil {
					return 0, 0, fmt.Errorf("train: replica %d produced no running statistic %q", r, name)
				}
				s += st.F32()[j] * float32(t.reps[r].n)
			}
			dst[j] = s / float32(b)
		}
	}
	if lscale != 1 {
		ok := !t.scaler.dynamic || finite(t.params)
		if !t.scaler.update(ok) {
			t.step++ // skipped: the gradients overflowed
			return lossSum, correct, nil
		}
		inv := 1 / lscale
		for _, p := range t.params {
			for j := range p.G {
				p.G[j] *= inv
			}
		}
	}
	if t.cfg.ClipNorm > 0 {
		optim.ClipGlobalNorm(t.params, t.cfg.ClipNorm)
	}
	if err := t.opt.Step(t.params, t.LR()); err != nil {
		return 0, 0, err
	}
	if t.update != nil {
		for _, p := range t.params {
			t.update.apply(p.Name, p.W, p.W)
		}
	}
	t.step++
	return lossSum, correct, nil
}

func (t *Trainer) runReplica(rep *replica, x []float32, y []int, shape []int, scale float32) (float64, int, error) {
	n := len(y)
	full := append([]int{n}, shape...)
	if rep.x == nil || !tensor.SameShape(rep.x.Shape, full) {
		rep.x = &tensor.Tensor{DType: tensor.Float32, Shape: full}
	}
	rep.x.Data = x
	if t.intIn {
		ids, err := toIDs(rep.ids, x)
		if err != nil {
			return 0, 0, err
		}
		rep.ids = ids
		rep.x.DType, rep.x.Data = tensor.Int64, ids
	}
	rep.in[t.input] = rep.x
	if err := rep.prog.Forward(rep.ctx, rep.in); err != nil {
		return 0, 0, err
	}
	logits := rep.prog.Value(t.output)
	if logits == nil || logits.DType != tensor.Float32 || logits.Rank() != 2 || logits.Shape[0] != n {
		return 0, 0, fmt.Errorf("train: output %q is %v, want float32 logits [%d, classes]", t.output, logits, n)
	}
	classes := logits.Shape[1]
	if rep.g == nil || !tensor.SameShape(rep.g.Shape, logits.Shape) {
		rep.g = tensor.New(tensor.Float32, logits.Shape...)
	}
	ceScale := scale
	if rep.teacher != nil {
		ceScale = scale * (1 - t.cfg.DistillAlpha)
	}
	sum, right, err := loss.CrossEntropy(logits.F32(), y, classes, t.cfg.LabelSmoothing, ceScale, rep.g.F32())
	if err != nil {
		return 0, 0, err
	}
	if rep.teacher != nil {
		kl, err := rep.distill(logits, scale, t.cfg.DistillT, t.cfg.DistillAlpha)
		if err != nil {
			return 0, 0, err
		}
		a := float64(t.cfg.DistillAlpha)
		sum = (1-a)*sum + a*kl
	}
	rep.seeds[t.output] = rep.g
	if err := rep.prog.Backward(rep.ctx, rep.seeds); err != nil {
		return 0, 0, err
	}
	return sum, right, nil
}

// compileTeacher prepares the distillation teacher of a replica: a
// program with no trainable parameters, run in inference mode.
func (rep *replica) compileTeacher(m *graph.Model) error {
	if m == nil || m.Graph == nil || len(m.Graph.Outputs) == 0 {
		return fmt.Errorf("train: teacher has no graph outputs")
	}
	p, err := autograd.Compile(m, autograd.Options{Params: func(string) bool { return false }})
	if err != nil {
		return fmt.Errorf("train: teacher: %w", err)
	}
	ins := p.Inputs()
	if len(ins) == 0 {
		return fmt.Errorf("train: teacher has no data input")
	}
	rep.teacher, rep.tin, rep.tout = p, ins[0], m.Graph.Outputs[0].Name
	rep.tfeed = map[string]*tensor.Tensor{}
	return nil
}

// distill runs the teacher on the replica's input, adds scale*alpha times
// the gradient of T^2*KL(teacher || student) to the logits' gradient
// rep.g and returns the summed (unweighted) distillation loss.
func (rep *replica) distill(logits *tensor.Tensor, scale, temp, alpha float32) (float64, error) {
	rep.tfeed[rep.tin] = rep.x
	if err := rep.teacher.Forward(&autograd.Ctx{}, rep.tfeed); err != nil {
		return 0, fmt.Errorf("train: teacher: %w", err)
	}
	tl := rep.teacher.Value(rep.tout)
	if tl == nil || tl.DType != tensor.Float32 || !tensor.SameShape(tl.Shape, logits.Shape) {
		return 0, fmt.Errorf("train: teacher output %q is %v, the student's logits %v", rep.tout, tl, logits.Shape)
	}
	if cap(rep.kl) < logits.Len() {
		rep.kl = make([]float32, logits.Len())
	}
	kg := rep.kl[:logits.Len()]
	kl, err := loss.DistillKL(logits.F32(), tl.F32(), logits.Shape[1], temp, scale*alpha, kg)
	if err != nil {
		return 0, err
	}
	g := rep.g.F32()
	for i, v := range kg {
		g[i] += v
	}
	return kl, nil
}

// reseed gives every replica the dropout stream of an epoch, so that an
// epoch's randomness does not depend on what ran before it (resuming).
func (t *Trainer) reseed(epoch int) {
	for r, rep := range t.reps {
		rep.ctx.Rand = rand.New(rand.NewPCG(t.cfg.Seed^0x5eed, uint64(epoch)<<20|uint64(r)))
	}
}

// toIDs converts float-coded token ids to int64, reusing buf.
func toIDs(buf []int64, x []float32) ([]int64, error) {
	if cap(buf) < len(x) {
		buf = make([]int64, len(x))
	}
	buf = buf[:len(x)]
	for i, v := range x {
		if v != float32(int64(v)) || v < 0 {
			return nil, fmt.Errorf("train: the model takes int64 ids; input value %v is not one", v)
		}
		buf[i] = int64(v)
	}
	return buf, nil
}

func defaultThreads() int { return goruntime.GOMAXPROCS(0) }
