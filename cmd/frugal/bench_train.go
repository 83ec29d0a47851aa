package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/model/zoo"
	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/train"
	"github.com/frugal-ml/frugal/train/optim"
	"github.com/spf13/cobra"
)

// newBenchTrainCmd is `frugal bench train`: training throughput of one step
// (forward, cross-entropy, backward, optimizer update) on synthetic data.
func newBenchTrainCmd() *cobra.Command {
	var (
		modelName string
		batch     int
		threads   int
		steps     int
		warmup    int
		opt       string
		lr        float32
		precision string
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "measure training throughput (samples/s) of a zoo model or an ONNX file",
		Long: `train times training steps (forward, softmax cross-entropy, backward and
optimizer update) on synthetic normal inputs and random labels, and prints
samples per second. The batch is split across --threads goroutines.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var m *graph.Model
			var err error
			if strings.HasSuffix(strings.ToLower(modelName), ".onnx") {
				m, err = onnx.Load(modelName)
			} else {
				m, err = zoo.Build(modelName, 1)
			}
			if err != nil {
				return err
			}
			prec, err := train.ParsePrecision(precision)
			if err != nil {
				return fmt.Errorf("--precision: %w", err)
			}
			oc := optim.Config{Kind: opt, LR: lr}
			if strings.EqualFold(opt, "sgd") {
				oc.Momentum = 0.9
			}
			res, err := train.Bench(m, train.BenchConfig{Batch: batch, Threads: threads, Steps: steps, Warmup: warmup,
				Train: train.Config{Optimizer: oc, Precision: prec}})
			if err != nil {
				return err
			}
			if modelName != "" {
				res.Model = modelName
			}
			if asJSON {
				b, err := json.Marshal(res)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: batch %d, %d threads, %s: %.0f samples/s (median step %.2f ms over %d steps, %d parameters)\n",
				res.Model, res.Batch, res.Threads, res.Optimizer, res.SamplesPerSec, res.MedianStepMs, res.Steps, res.Params)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelName, "model", "small-cnn", "zoo model ("+strings.Join(zoo.Names(), ", ")+") or MODEL.onnx")
	f.IntVar(&batch, "batch", 64, "samples per step")
	f.IntVar(&threads, "threads", 0, "goroutines the batch is split across (0 = all cores)")
	f.IntVar(&steps, "steps", 20, "timed steps")
	f.IntVar(&warmup, "warmup", 3, "untimed warm-up steps")
	f.StringVar(&opt, "optimizer", "sgd", "sgd (momentum 0.9) or adamw")
	f.Float32Var(&lr, "lr", 0.01, "learning rate")
	f.StringVar(&precision, "precision", "fp32", "number formats per tensor role, as frugal train takes them (fp32, bf16, fp16, fp8, role=format[:rne|:sr],...)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
