package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/frugal-ml/frugal/data"
	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/model/zoo"
	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/train"
	"github.com/frugal-ml/frugal/train/optim"
	"github.com/spf13/cobra"
)

func init() { addCommand(newTrainCmd) }

// trainFlags are shared by train and demo.
type trainFlags struct {
	model, data, out, logPath, optimizer, schedule, precision string
	epochs, batch, threads                                    int
	lr, weightDecay, momentum                                 float64
	seed                                                      uint64
	// train only: distillation, augmentation and the per-epoch log
	teacher            string
	distillT, distillA float64
	pad                int
	flip               bool
	epochLog           string // rewritten after every epoch when set
}

func (f *trainFlags) register(cmd *cobra.Command, defEpochs int) {
	cmd.Flags().StringVar(&f.data, "data", "mnist", "dataset: mnist, fashion-mnist, or a directory of IDX files")
	cmd.Flags().IntVar(&f.epochs, "epochs", defEpochs, "passes over the training set")
	cmd.Flags().IntVar(&f.batch, "batch", 64, "batch size")
	cmd.Flags().IntVar(&f.threads, "threads", 0, "goroutines per step (0 = all cores); same seed and threads give identical weights")
	cmd.Flags().Float64Var(&f.lr, "lr", 2e-3, "peak learning rate")
	cmd.Flags().Float64Var(&f.weightDecay, "weight-decay", 1e-4, "decoupled weight decay")
	cmd.Flags().Float64Var(&f.momentum, "momentum", 0.9, "momentum (sgd)")
	cmd.Flags().StringVar(&f.optimizer, "optimizer", "adamw", "adamw or sgd")
	cmd.Flags().StringVar(&f.schedule, "schedule", "cosine", "learning-rate schedule: constant, step, cosine")
	cmd.Flags().Uint64Var(&f.seed, "seed", 1, "seed for initialisation and shuffling")
	cmd.Flags().StringVar(&f.precision, "precision", "fp32", "number formats per tensor role: fp32, bf16, fp16, fp8, or role=format[:rne|:sr],... (see train/README.md)")
}

func newTrainCmd() *cobra.Command {
	var f trainFlags
	cmd := &cobra.Command{
		Use:   "train --model NAME|MODEL.onnx --data mnist|fashion-mnist|DIR --epochs E --out OUT.onnx",
		Short: "train a zoo model or an ONNX model on an image-classification dataset",
		Long: "train trains with softmax cross-entropy, showing loss, accuracy and samples/s, evaluates on the\n" +
			"test split after each epoch, writes the model as ONNX and a JSON log of each epoch (OUT.log.json).\n" +
			"Zoo models: " + strings.Join(zoo.Names(), ", "),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.out == "" {
				return fmt.Errorf("missing --out OUT.onnx")
			}
			logPath := f.logPath
			if logPath == "" {
				logPath = strings.TrimSuffix(f.out, ".onnx") + ".log.json"
			}
			f.epochLog = logPath
			var m *graph.Model
			var err error
			if strings.HasSuffix(f.model, ".onnx") {
				m, err = onnx.Load(f.model)
			} else {
				m, err = zoo.Build(f.model, f.seed)
			}
			if err != nil {
				return err
			}
			res, err := trainModel(cmd, m, &f)
			if err != nil {
				return err
			}
			if err := onnx.Save(f.out, m); err != nil {
				return err
			}
			b, _ := json.MarshalIndent(res, "", "  ")
			if err := writeFileAtomic(logPath, append(b, '\n')); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "test accuracy %.2f%%; wrote %s and %s\n", res.TestAcc*100, f.out, logPath)
			return nil
		},
	}
	f.register(cmd, 3)
	cmd.Flags().StringVar(&f.model, "model", "lenet5", "zoo model name or an .onnx file")
	cmd.Flags().StringVar(&f.out, "out", "", "output ONNX file")
	cmd.Flags().StringVar(&f.logPath, "log", "", "JSON log of each epoch, rewritten after every epoch (default OUT.log.json)")
	cmd.Flags().StringVar(&f.teacher, "teacher", "", "distill from this trained TEACHER.onnx (same input, same classes)")
	cmd.Flags().Float64Var(&f.distillT, "distill-t", 4, "distillation temperature (with --teacher)")
	cmd.Flags().Float64Var(&f.distillA, "distill-alpha", 0.5, "weight of the distillation term, in (0, 1] (with --teacher)")
	cmd.Flags().IntVar(&f.pad, "pad", 0, "augment: random crops shifting each training image by up to PAD pixels")
	cmd.Flags().BoolVar(&f.flip, "flip", false, "augment: mirror training images left-right with probability 1/2")
	return cmd
}

// trainModel loads the dataset and trains m in place, printing one line per
// epoch and a progress bar within epochs.
func trainModel(cmd *cobra.Command, m *graph.Model, f *trainFlags) (*train.Result, error) {
	trainSet, testSet, err := loadSplits(f.data)
	if err != nil {
		return nil, err
	}
	return fitModel(cmd, m, trainSet, testSet, f)
}

func loadSplits(name string) (*data.Dataset, *data.Dataset, error) {
	tr, err := data.Load(name, "train")
	if err != nil {
		return nil, nil, err
	}
	te, err := data.Load(name, "test")
	if err != nil {
		return nil, nil, err
	}
	return tr, te, nil
}

func fitModel(cmd *cobra.Command, m *graph.Model, trainSet, testSet *data.Dataset, f *trainFlags) (*train.Result, error) {
	tr, err := train.FromDataset(trainSet) // keeps the black value for padding crops
	if err != nil {
		return nil, err
	}
	te, err := train.NewArrays(testSet.Images, testSet.Labels, testSet.C, testSet.H, testSet.W)
	if err != nil {
		return nil, err
	}
	if f.optimizer != "adamw" && f.optimizer != "sgd" {
		return nil, fmt.Errorf("unknown --optimizer %q (adamw or sgd)", f.optimizer)
	}
	sched := optim.Schedule{Kind: f.schedule}
	switch f.schedule {
	case "cosine":
		sched.WarmupSteps = 100
	case "step":
		sched.StepSize, sched.Gamma = (tr.Len()/max(f.batch, 1))*max(1, f.epochs/3), 0.1
	case "constant":
	default:
		return nil, fmt.Errorf("unknown --schedule %q (constant, step, cosine)", f.schedule)
	}
	prec, err := train.ParsePrecision(f.precision)
	if err != nil {
		return nil, fmt.Errorf("--precision: %w", err)
	}
	cfg := train.Config{Precision: prec, Epochs: f.epochs, BatchSize: f.batch, Seed: f.seed, Threads: f.threads,
		Optimizer: optim.Config{Kind: f.optimizer, LR: float32(f.lr), WeightDecay: float32(f.weightDecay), Momentum: float32(f.momentum)},
		Schedule:  sched, Pad: f.pad, FlipH: f.flip}
	if f.teacher != "" {
		t, err := onnx.Load(f.teacher)
		if err != nil {
			return nil, fmt.Errorf("--teacher: %w", err)
		}
		cfg.Teacher, cfg.DistillT, cfg.DistillAlpha = t, float32(f.distillT), float32(f.distillA)
	}
	out := cmd.ErrOrStderr()
	var pb *progressBar
	var epochs []train.EpochStats
	res, err := train.Fit(m, tr, te, cfg, func(p train.Progress) {
		if p.EpochDone {
			if pb != nil {
				pb.Finish()
				pb = nil
			}
			fmt.Fprintf(out, "epoch %d/%d  loss %.4f  train acc %.2f%%  test acc %.2f%%  %.0f samples/s  %.1fs\n",
				p.Epoch, p.Epochs, p.Loss, p.TrainAcc*100, p.TestAcc*100, p.SamplesPerSec, p.Elapsed.Seconds())
			if f.epochLog != "" && p.Stats != nil {
				// The log so far, so that an interrupted run keeps it.
				epochs = append(epochs, *p.Stats)
				b, _ := json.MarshalIndent(map[string]any{"epochs": epochs}, "", "  ")
				if err := writeFileAtomic(f.epochLog, append(b, '\n')); err != nil {
					fmt.Fprintf(out, "warning: writing %s: %v\n", f.epochLog, err)
				}
			}
			return
		}
		if pb == nil {
			pb = newProgressBar(out, tr.Len(), fmt.Sprintf("epoch %d/%d", p.Epoch, p.Epochs))
		}
		if p.Step%10 == 0 || p.Step == p.Steps {
			pb.Describe(fmt.Sprintf("epoch %d/%d loss %.3f acc %.1f%% %.0f/s", p.Epoch, p.Epochs, p.Loss, p.TrainAcc*100, p.SamplesPerSec))
			pb.Set(p.Samples) // the bar counts samples: its rate is samples/s
		}
	})
	if pb != nil {
		pb.Finish()
	}
	if err != nil {
		return nil, err
	}
	if math.IsNaN(res.TestAcc) {
		return nil, fmt.Errorf("training finished without a test accuracy")
	}
	return res, nil
}
