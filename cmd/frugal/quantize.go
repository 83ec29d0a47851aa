package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/frugal-ml/frugal/data"
	"github.com/frugal-ml/frugal/data/npy"
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
		Use:   "quantize MODEL.onnx --data mnist|fashion-mnist|DIR|FILE.npy --out INT8.onnx",
		Short: "int8 post-training quantization (QDQ ONNX; per-channel weights, min-max calibrated activations)",
		Long: `int8 post-training quantization to QDQ ONNX: Conv, Gemm and MatMul with constant
weights get symmetric int8 weights (per output channel unless --per-tensor) and asymmetric uint8
activations whose ranges are calibrated by min-max over --calib samples.

--data names the calibration samples: mnist, fashion-mnist or an IDX directory (train split;
images scaled to [0,1], then --mean/--std), or a .npy file whose rows (first axis) are model
inputs without the batch dimension, in the input's dtype: float32 [N, C, H, W] images, already
normalised, int64 [N, T] token ids, ...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("missing --out INT8.onnx")
			}
			m, err := onnx.Load(args[0])
			if err != nil {
				return err
			}
			var x *tensor.Tensor
			if strings.HasSuffix(strings.ToLower(dataName), ".npy") {
				if len(mean) > 0 || len(std) > 0 {
					return fmt.Errorf("--mean/--std normalise image data sets; store %s already normalised", dataName)
				}
				if x, err = npy.ReadFile(dataName); err != nil {
					return err
				}
			} else {
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
				if x, err = datasetSamples(ds); err != nil {
					return err
				}
			}
			cfg := quant.DefaultConfig()
			cfg.PerChannel = !perTensor
			qm, sum, err := quantizeModel(cmd, m, x, dataName, calib, cfg)
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
	cmd.Flags().StringVar(&dataName, "data", "mnist", "calibration data: mnist, fashion-mnist, an IDX directory (train split) or a .npy file of model inputs, one per row")
	cmd.Flags().StringVar(&out, "out", "", "output ONNX file")
	cmd.Flags().IntVar(&calib, "calib", 2048, "number of calibration samples")
	cmd.Flags().BoolVar(&perTensor, "per-tensor", false, "one weight scale per tensor instead of per output channel")
	cmd.Flags().Float32SliceVar(&mean, "mean", nil, "normalise calibration pixels (in [0,1]) as (x-mean)/std: one value or one per channel")
	cmd.Flags().Float32SliceVar(&std, "std", nil, "see --mean")
	return cmd
}

// datasetSamples views a data set's images as one [N, C, H, W] float32
// tensor (no copy).
func datasetSamples(ds *data.Dataset) (*tensor.Tensor, error) {
	return tensor.FromSlice(ds.Images, ds.N, ds.C, ds.H, ds.W)
}

// checkRows verifies that the rows of x (its first axis is the sample) fit
// the model input in: the same dtype, and the input's dimensions after the
// batch dimension. from names x's origin in the error.
func checkRows(x *tensor.Tensor, from string, in graph.ValueInfo) error {
	if x.Rank() == 0 {
		return fmt.Errorf("%s: a scalar, not rows of samples", from)
	}
	if in.Type.DType != tensor.Undefined && x.DType != in.Type.DType {
		return fmt.Errorf("%s holds %s samples; the model's input %q is %s", from, x.DType, in.Name, in.Type.DType)
	}
	if !in.Type.HasShape {
		return nil
	}
	want := in.Type.Shape
	ok := len(want) == x.Rank()
	for i := 1; ok && i < len(want); i++ {
		ok = !want[i].Known() || int(want[i].Size) == x.Shape[i]
	}
	if !ok {
		return fmt.Errorf("%s: samples of shape %v (rows of %v), but the model's input %q is %s: each row must have the input's shape after its batch dimension",
			from, x.Shape[1:], x.Shape, in.Name, want)
	}
	return nil
}

// quantizeModel calibrates activation ranges on the first n rows of x (one
// model input per row, without the batch dimension; from names x's origin
// in errors) and returns the int8 QDQ model.
func quantizeModel(cmd *cobra.Command, m *graph.Model, x *tensor.Tensor, from string, n int, cfg quant.Config) (*graph.Model, *quant.Summary, error) {
	s, err := runtime.NewSession(m, runtime.Options{KeepAll: true, NoOptimize: true})
	if err != nil {
		return nil, nil, err
	}
	if len(s.Inputs()) != 1 {
		return nil, nil, fmt.Errorf("calibration supports single-input models; this one has %d", len(s.Inputs()))
	}
	in := s.Inputs()[0]
	if err := checkRows(x, from, in); err != nil {
		return nil, nil, err
	}
	n = min(n, x.Shape[0])
	if n <= 0 {
		return nil, nil, fmt.Errorf("no calibration samples")
	}
	obs := quant.NewObserver(quant.CalibrationTargets(m))
	batch := 256
	// A model exported with a fixed batch size takes batches of exactly that size.
	if in.Type.HasShape && len(in.Type.Shape) > 0 && in.Type.Shape[0].Size > 0 {
		batch = int(in.Type.Shape[0].Size)
		n -= n % batch
		if n <= 0 {
			return nil, nil, fmt.Errorf("the model's batch size is fixed at %d; need at least that many calibration samples", batch)
		}
	}
	pb := newProgressBar(cmd.ErrOrStderr(), n, "calibrate")
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		xb, err := x.Rows(lo, hi)
		if err != nil {
			return nil, nil, err
		}
		vals, err := s.Trace(context.Background(), map[string]any{in.Name: xb})
		if err != nil {
			return nil, nil, err
		}
		obs.Observe(vals)
		pb.Set(hi)
	}
	pb.Finish()
	return quant.Quantize(m, obs.Ranges, cfg)
}
