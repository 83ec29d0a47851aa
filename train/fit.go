package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/runtime"
	"github.com/frugal-ml/frugal/tensor"
	"github.com/frugal-ml/frugal/train/autograd"
	"github.com/frugal-ml/frugal/train/loss"
	"github.com/frugal-ml/frugal/train/optim"
)

// Config tunes Fit and NewTrainer. The zero value (plus Epochs) is a
// reasonable start: AdamW at 1e-3, batch 64, all cores.
type Config struct {
	Epochs    int    // passes over the training set (default 1)
	BatchSize int    // samples per step (default 64)
	Seed      uint64 // shuffling, dropout
	// Threads is the number of goroutines a batch is split across (default
	// GOMAXPROCS). Results are bit-identical for the same Seed and Threads.
	Threads   int
	Optimizer optim.Config
	// Schedule scales Optimizer.LR per step; Fit plans Epochs*steps/epoch.
	Schedule optim.Schedule
	// ClipNorm clips the global gradient norm (0 = off).
	ClipNorm float32
	// LabelSmoothing for the cross-entropy loss, in [0, 1).
	LabelSmoothing float32
	// Teacher, when set, adds knowledge distillation (Hinton et al. 2015):
	// the teacher runs in inference mode (fp32, batch-norm running
	// statistics, no dropout) on the same, augmented batch, and the loss
	// becomes (1-DistillAlpha)*CE(labels) + DistillAlpha*T^2*KL(softmax(
	// teacher/T) || softmax(student/T)) with T = DistillT (loss.DistillKL).
	// The teacher takes the same input and has as many classes.
	Teacher *graph.Model
	// DistillT is the temperature (default 4); DistillAlpha the weight of
	// the distillation term in (0, 1] (default 0.5).
	DistillT, DistillAlpha float32
	// Precision emulates number formats per tensor role (see Precision);
	// the zero value trains in fp32.
	Precision Precision
	// Params selects the trainable initializers (nil = all float ones).
	Params func(name string) bool
	// Input and Output name the data input and the logits output (default:
	// the first non-initializer graph input and the first output).
	Input, Output string
	// EvalBatch is the batch size of evaluation (default 256).
	EvalBatch int
	// MaxSteps stops training after this many steps in total (0 = no
	// limit); the schedule still spans all Epochs.
	MaxSteps int
	// Prefetch is how many batches a goroutine assembles (Samples.Fill and
	// augmentation) ahead of the step training on the current one (default
	// 2; negative: assemble each batch in line). Results do not depend on it.
	Prefetch int
	// DropLast skips the last, smaller batch of an epoch.
	DropLast bool
	// Pad > 0 augments training images [C H W] with random crops: shifts of
	// up to Pad pixels, padded with the set's black value (Arrays.PadValue).
	// FlipH mirrors each image left-right with probability 1/2.
	Pad   int
	FlipH bool
	// Context cancels training between steps.
	Context context.Context
	// Checkpoint, when set, is a path Fit saves a training checkpoint to
	// (safetensors, atomically) after every epoch.
	Checkpoint string
	// Resume continues from Checkpoint when the file exists: weights,
	// optimizer state, step count and epoch history are restored and
	// training goes on with the next epoch, bit-identical to an
	// uninterrupted run with the same Seed and Threads.
	Resume bool
}

func (c Config) withDefaults() (Config, error) {
	if c.Epochs == 0 {
		c.Epochs = 1
	}
	if c.BatchSize == 0 {
		c.BatchSize = 64
	}
	if c.Threads <= 0 {
		c.Threads = defaultThreads()
	}
	if c.EvalBatch <= 0 {
		c.EvalBatch = 256
	}
	if c.Context == nil {
		c.Context = context.Background()
	}
	c.Optimizer = c.Optimizer.WithDefaults()
	if c.Epochs < 0 || c.BatchSize < 0 || c.MaxSteps < 0 {
		return c, fmt.Errorf("train: epochs %d, batch size %d and max steps %d must not be negative", c.Epochs, c.BatchSize, c.MaxSteps)
	}
	if c.LabelSmoothing < 0 || c.LabelSmoothing >= 1 {
		return c, fmt.Errorf("train: label smoothing %g outside [0, 1)", c.LabelSmoothing)
	}
	if c.Teacher != nil {
		if c.DistillT == 0 {
			c.DistillT = 4
		}
		if c.DistillAlpha == 0 {
			c.DistillAlpha = 0.5
		}
		if !(c.DistillT > 0) || !(c.DistillAlpha > 0 && c.DistillAlpha <= 1) {
			return c, fmt.Errorf("train: distillation temperature %g must be > 0 and weight %g in (0, 1]", c.DistillT, c.DistillAlpha)
		}
	}
	if c.ClipNorm < 0 {
		return c, fmt.Errorf("train: clip norm %g is negative", c.ClipNorm)
	}
	if err := c.Schedule.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// Progress is reported after every step and at the end of every epoch.
type Progress struct {
	Epoch, Epochs int // 1-based epoch
	Step, Steps   int // 1-based step within the epoch, steps per epoch
	Samples       int // samples seen this epoch
	Loss          float64
	TrainAcc      float64 // running mean over the epoch so far
	LR            float32
	SamplesPerSec float64 // this epoch so far
	Elapsed       time.Duration
	// EpochDone marks the report at the end of an epoch; TestAcc and
	// TestLoss are then set when a test set was given (else NaN).
	EpochDone         bool
	TestAcc, TestLoss float64
	// Stats is the epoch's summary at EpochDone (the entry Result.Epochs
	// gets), nil otherwise.
	Stats *EpochStats
}

// EpochStats summarises one epoch.
type EpochStats struct {
	Epoch         int     `json:"epoch"`
	Loss          float64 `json:"loss"`
	TrainAcc      float64 `json:"train_acc"`
	TestAcc       float64 `json:"test_acc"`
	TestLoss      float64 `json:"test_loss"`
	SamplesPerSec float64 `json:"samples_per_s"`
	Seconds       float64 `json:"seconds"`
	EvalSeconds   float64 `json:"eval_seconds"`
}

// MarshalJSON omits the test metrics when they are NaN (no test set).
func (e EpochStats) MarshalJSON() ([]byte, error) {
	type plain EpochStats
	var v struct {
		plain
		TestAcc  *float64 `json:"test_acc,omitempty"`
		TestLoss *float64 `json:"test_loss,omitempty"`
	}
	v.plain = plain(e)
	if !math.IsNaN(e.TestAcc) {
		v.TestAcc = &e.TestAcc
	}
	if !math.IsNaN(e.TestLoss) {
		v.TestLoss = &e.TestLoss
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads what MarshalJSON writes (absent test metrics: NaN).
func (e *EpochStats) UnmarshalJSON(b []byte) error {
	type plain EpochStats
	var v struct {
		plain
		TestAcc  *float64 `json:"test_acc"`
		TestLoss *float64 `json:"test_loss"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = EpochStats(v.plain)
	e.TestAcc, e.TestLoss = math.NaN(), math.NaN()
	if v.TestAcc != nil {
		e.TestAcc = *v.TestAcc
	}
	if v.TestLoss != nil {
		e.TestLoss = *v.TestLoss
	}
	return nil
}

// Result is what Fit returns.
type Result struct {
	Epochs  []EpochStats `json:"epochs"`
	TestAcc float64      `json:"test_acc"` // after the last epoch (NaN without a test set)
	Steps   int          `json:"steps"`
	Seconds float64      `json:"seconds"` // wall time, evaluation included
	// SkippedSteps counts updates dynamic loss scaling skipped (gradient
	// overflow); LossScale is the final loss scale (1 without scaling).
	SkippedSteps int     `json:"skipped_steps,omitempty"`
	LossScale    float32 `json:"loss_scale,omitempty"`
}

// Fit trains m on trainSet with softmax cross-entropy, evaluating on
// testSet (may be nil) after every epoch. It updates m in place (see
// NewTrainer) and calls progress (may be nil) after every step.
func Fit(m *graph.Model, trainSet, testSet Samples, cfg Config, progress func(Progress)) (*Result, error) {
	if trainSet == nil || trainSet.Len() == 0 {
		return nil, fmt.Errorf("train: empty training set")
	}
	tr, err := NewTrainer(m, cfg)
	if err != nil {
		return nil, err
	}
	cfg = tr.cfg
	if tr.shape != nil && tensor.NumElems(tr.shape) != tensor.NumElems(trainSet.SampleShape()) {
		return nil, fmt.Errorf("train: samples of shape %v do not fit input %q of shape %v", trainSet.SampleShape(), tr.input, tr.shape)
	}
	if tr.shape == nil {
		tr.shape = trainSet.SampleShape()
	}
	n := trainSet.Len()
	bs := cfg.BatchSize
	steps := n / bs
	if !cfg.DropLast && n%bs != 0 {
		steps++
	}
	if steps == 0 {
		return nil, fmt.Errorf("train: %d samples make no batch of %d", n, bs)
	}
	// The schedule spans all epochs; MaxSteps only stops early.
	tr.SetPlannedSteps(steps * cfg.Epochs)
	total := steps * cfg.Epochs
	if cfg.MaxSteps > 0 && cfg.MaxSteps < total {
		total = cfg.MaxSteps
	}
	bat, err := newBatcher(trainSet, cfg)
	if err != nil {
		return nil, err
	}
	defer bat.end()
	res := &Result{TestAcc: math.NaN()}
	first := 1
	if cfg.Resume && cfg.Checkpoint != "" {
		meta, err := tr.LoadCheckpoint(cfg.Checkpoint)
		switch {
		case err == nil:
			ep, err := strconv.Atoi(meta["frugal.epoch"])
			if err != nil || ep < 0 {
				return nil, fmt.Errorf("train: %s: bad epoch metadata", cfg.Checkpoint)
			}
			first = ep + 1
			if h := meta["frugal.history"]; h != "" {
				if err := json.Unmarshal([]byte(h), &res.Epochs); err != nil {
					return nil, fmt.Errorf("train: %s: bad history metadata: %w", cfg.Checkpoint, err)
				}
				if k := len(res.Epochs); k > 0 {
					res.TestAcc = res.Epochs[k-1].TestAcc
				}
			}
		case isNotExist(err):
		default:
			return nil, err
		}
	}
	start := time.Now()
	for ep := first; ep <= cfg.Epochs && tr.step < total; ep++ {
		tr.reseed(ep)
		perm := rand.New(rand.NewPCG(cfg.Seed, uint64(ep))).Perm(n)
		bat.start(ep, steps, perm)
		t0 := time.Now()
		var lossSum float64
		var right, seen int
		for s := 0; s < steps && tr.step < total; s++ {
			if err := cfg.Context.Err(); err != nil {
				return res, err
			}
			bt := bat.get()
			if bt.err != nil {
				return res, bt.err
			}
			b := bt.n
			l, c, err := tr.Step(bt.x[:b*bat.ss], bt.y[:b])
			bat.release(bt)
			if err != nil {
				return res, fmt.Errorf("train: epoch %d step %d: %w", ep, s+1, err)
			}
			if math.IsNaN(l) || math.IsInf(l, 0) {
				return res, fmt.Errorf("train: epoch %d step %d: loss is %g", ep, s+1, l)
			}
			lossSum += l
			right += c
			seen += b
			if progress != nil {
				el := time.Since(t0)
				progress(Progress{Epoch: ep, Epochs: cfg.Epochs, Step: s + 1, Steps: steps, Samples: seen,
					Loss: lossSum / float64(seen), TrainAcc: float64(right) / float64(seen), LR: tr.LR(),
					SamplesPerSec: float64(seen) / el.Seconds(), Elapsed: time.Since(start),
					TestAcc: math.NaN(), TestLoss: math.NaN()})
			}
		}
		bat.end()
		secs := time.Since(t0).Seconds()
		st := EpochStats{Epoch: ep, Loss: lossSum / float64(seen), TrainAcc: float64(right) / float64(seen),
			SamplesPerSec: float64(seen) / secs, Seconds: secs, TestAcc: math.NaN(), TestLoss: math.NaN()}
		if testSet != nil && testSet.Len() > 0 {
			e0 := time.Now()
			ev, err := Evaluate(m, testSet, EvalConfig{Batch: cfg.EvalBatch, Threads: cfg.Threads, Input: tr.input, Output: tr.output, Context: cfg.Context})
			if err != nil {
				return res, err
			}
			st.TestAcc, st.TestLoss = ev.Accuracy, ev.Loss
			st.EvalSeconds = time.Since(e0).Seconds()
			res.TestAcc = ev.Accuracy
		}
		res.Epochs = append(res.Epochs, st)
		if cfg.Checkpoint != "" {
			h, err := json.Marshal(res.Epochs)
			if err != nil {
				return res, err
			}
			if err := tr.SaveCheckpoint(cfg.Checkpoint, map[string]string{"frugal.epoch": strconv.Itoa(ep), "frugal.history": string(h)}); err != nil {
				return res, fmt.Errorf("train: saving checkpoint: %w", err)
			}
		}
		if progress != nil {
			progress(Progress{Epoch: ep, Epochs: cfg.Epochs, Step: steps, Steps: steps, Samples: seen,
				Loss: st.Loss, TrainAcc: st.TrainAcc, LR: tr.LR(), SamplesPerSec: st.SamplesPerSec,
				Elapsed: time.Since(start), EpochDone: true, TestAcc: st.TestAcc, TestLoss: st.TestLoss, Stats: &st})
		}
	}
	res.Steps = tr.step
	res.Seconds = time.Since(start).Seconds()
	res.SkippedSteps, res.LossScale = tr.SkippedSteps(), tr.LossScale()
	return res, nil
}

// EvalConfig tunes Evaluate.
type EvalConfig struct {
	Batch   int // default 256
	Threads int // goroutines, each running whole batches (default GOMAXPROCS)
	// Input and Output default to the first data input and first output.
	Input, Output string
	Context       context.Context
}

// EvalResult is classification accuracy and mean cross-entropy.
type EvalResult struct {
	Accuracy float64 `json:"accuracy"`
	Loss     float64 `json:"loss"`
	Correct  int     `json:"correct"`
	N        int     `json:"n"`
}

// Evaluate runs m on every sample of set with the inference runtime (a
// Session; batch-norm in inference mode) and scores its logits.
func Evaluate(m *graph.Model, set Samples, cfg EvalConfig) (*EvalResult, error) {
	if set == nil || set.Len() == 0 {
		return nil, fmt.Errorf("train: empty evaluation set")
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	if cfg.Threads <= 0 {
		cfg.Threads = defaultThreads()
	}
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	if m == nil || m.Graph == nil || len(m.Graph.Outputs) == 0 {
		return nil, fmt.Errorf("train: model has no graph outputs")
	}
	// The inference runtime is the reference; graphs with ops it lacks run
	// on the training kernels in inference mode.
	var runners []func(ctx context.Context, in string, x *tensor.Tensor) (any, error)
	var inputs []string
	sess, serr := runtime.NewSession(m, runtime.Options{Threads: 1})
	if serr == nil {
		for _, vi := range sess.Inputs() {
			inputs = append(inputs, vi.Name)
		}
		for w := 0; w < cfg.Threads; w++ {
			runners = append(runners, func(ctx context.Context, in string, x *tensor.Tensor) (any, error) {
				res, err := sess.Run(ctx, map[string]any{in: x})
				if err != nil {
					return nil, err
				}
				return res[cfg.Output], nil
			})
		}
	} else {
		for w := 0; w < cfg.Threads; w++ {
			p, err := autograd.Compile(m, autograd.Options{Params: func(string) bool { return false }})
			if err != nil {
				return nil, fmt.Errorf("train: %w (and the inference runtime: %v)", err, serr)
			}
			inputs = p.Inputs()
			feed := map[string]*tensor.Tensor{}
			runners = append(runners, func(ctx context.Context, in string, x *tensor.Tensor) (any, error) {
				feed[in] = x
				if err := p.Forward(&autograd.Ctx{}, feed); err != nil {
					return nil, err
				}
				return p.Value(cfg.Output), nil
			})
		}
	}
	if cfg.Output == "" {
		cfg.Output = m.Graph.Outputs[0].Name
	}
	in := cfg.Input
	if in == "" {
		if len(inputs) == 0 {
			return nil, fmt.Errorf("train: model has no data input")
		}
		in = inputs[0]
	}
	out := cfg.Output
	intIn := false
	for _, vi := range m.Graph.Inputs {
		if vi.Name == in && vi.Type.DType == tensor.Int64 {
			intIn = true
		}
	}
	shape := set.SampleShape()
	ss := tensor.NumElems(shape)
	n := set.Len()
	nb := (n + cfg.Batch - 1) / cfg.Batch
	losses := make([]float64, nb)
	rights := make([]int, nb)
	errs := make([]error, cfg.Threads)
	var wg sync.WaitGroup
	for w := 0; w < cfg.Threads; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			x := make([]float32, cfg.Batch*ss)
			y := make([]int, cfg.Batch)
			idx := make([]int, cfg.Batch)
			for b := w; b < nb; b += cfg.Threads {
				lo, hi := b*cfg.Batch, (b+1)*cfg.Batch
				if hi > n {
					hi = n
				}
				k := hi - lo
				for i := range idx[:k] {
					idx[i] = lo + i
				}
				if err := set.Fill(idx[:k], x[:k*ss], y[:k]); err != nil {
					errs[w] = err
					return
				}
				xt, err := tensor.FromSlice(x[:k*ss], append([]int{k}, shape...)...)
				if err != nil {
					errs[w] = err
					return
				}
				if intIn {
					ids, err := toIDs(nil, x[:k*ss])
					if err != nil {
						errs[w] = err
						return
					}
					xt.DType, xt.Data = tensor.Int64, ids
				}
				res, err := runners[w](cfg.Context, in, xt)
				if err != nil {
					errs[w] = err
					return
				}
				lt, ok := res.(*tensor.Tensor)
				if !ok || lt.DType != tensor.Float32 || lt.Rank() != 2 || lt.Shape[0] != k {
					errs[w] = fmt.Errorf("train: output %q is not float32 logits [%d, classes]", out, k)
					return
				}
				l, c, err := loss.CrossEntropy(lt.F32(), y[:k], lt.Shape[1], 0, 1, nil)
				if err != nil {
					errs[w] = err
					return
				}
				losses[b], rights[b] = l, c
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	r := &EvalResult{N: n}
	var l float64
	for b := range losses {
		l += losses[b]
		r.Correct += rights[b]
	}
	r.Loss = l / float64(n)
	r.Accuracy = float64(r.Correct) / float64(n)
	return r, nil
}
