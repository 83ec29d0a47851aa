package main

import (
	"context"
	"fmt"

	"github.com/frugal-ml/frugal/data"
	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/runtime"
	"github.com/frugal-ml/frugal/model/quant"
	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/tensor"
	"github.com/spf13/cobra"
)

func init() { addCommand(newQuantizeCmd) }

func newQuantizeCmd() *cobra.Command {
	var dataName, out string
	var calib int
	var perTensor bool
	var mean, std []float32
	cmd := &cobra.Command{
		Use:   "quantize MODEL.onnx --data mnist|fashion-mnist|DIR --out INT8.onnx",
		Short: "int8 post-training quantization (QDQ ONNX; per-channel weights, min-max calibrated activations)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("missing --out INT8.onnx")
			}
			m, err := onnx.Load(args[0])
			if err != nil {
				return err
			}
			ds, err := data.Load(dataName, "train")
			if err != nil {
				return err
			}
			if len(mean) > 0 || len(std) > 0 {
				if len(mean) == 0 || len(std) == 0 {
					return fmt.Errorf("--mean and --std go together")
				}
				if err := ds.Normalize(mean, std); err != nil {
					return err
				}
			}
			cfg := quant.DefaultConfig()
			cfg.PerChannel = !perTensor
			qm, sum, err := quantizeModel(cmd, m, ds, calib, cfg)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if err := onnx.Save(out, qm); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "quantized %d layers, %d activations; weights %d -> %d bytes; wrote %s\n",
				sum.Layers, sum.Activations, sum.WeightsBytes[0], sum.WeightsBytes[1], out)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataName, "data", "mnist", "calibration data: mnist, fashion-mnist or an IDX directory (train split)")
	cmd.Flags().StringVar(&out, "out", "", "output ONNX file")
	cmd.Flags().IntVar(&calib, "calib", 2048, "number of calibration samples")
	cmd.Flags().BoolVar(&perTensor, "per-tensor", false, "one weight scale per tensor instead of per output channel")
	cmd.Flags().Float32SliceVar(&mean, "mean", nil, "normalise calibration pixels (in [0,1]) as (x-mean)/std: one value or one per channel")
	cmd.Flags().Float32SliceVar(&std, "std", nil, "see --mean")
	return cmd
}

// quantizeModel calibrates activation ranges on the first n samples of ds
// and returns the int8 QDQ model.
func quantizeModel(cmd *cobra.Command, m *graph.Model, ds *data.Dataset, n int, cfg quant.Config) (*graph.Model, *quant.Summary, error) {
	s, err := runtime.NewSession(m, runtime.Options{KeepAll: true, NoOptimize: true})
	if err != nil {
		return nil, nil, err
	}
	if len(s.Inputs()) != 1 {
		return nil, nil, fmt.Errorf("calibration supports single-input models; this one has %d", len(s.Inputs()))
	}
	n = min(n, ds.N)
	if n <= 0 {
		return nil, nil, fmt.Errorf("no calibration samples")
	}
	obs := quant.NewObserver(quant.CalibrationTargets(m))
	per := ds.C * ds.H * ds.W
	batch := 256
	// A model exported with a fixed batch size takes batches of exactly that size.
	if in := s.Inputs()[0]; in.Type.HasShape && len(in.Type.Shape) > 0 && in.Type.Shape[0].Size > 0 {
		batch = int(in.Type.Shape[0].Size)
		n -= n % batch
		if n <= 0 {
			return nil, nil, fmt.Errorf("the model's batch size is fixed at %d; need at least that many calibration samples", batch)
		}
	}
	pb := newProgressBar(cmd.ErrOrStderr(), n, "calibrate")
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		x, err := tensor.FromSlice(ds.Images[lo*per:hi*per], hi-lo, ds.C, ds.H, ds.W)
		if err != nil {
			return nil, nil, err
		}
		vals, err := s.Trace(context.Background(), map[string]any{s.Inputs()[0].Name: x})
		if err != nil {
			return nil, nil, err
		}
		obs.Observe(vals)
		pb.Set(hi)
	}
	pb.Finish()
	return quant.Quantize(m, obs.Ranges, cfg)
}
