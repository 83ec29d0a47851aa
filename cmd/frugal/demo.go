package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/frugal-ml/frugal/model/quant"
	"github.com/frugal-ml/frugal/model/zoo"
	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/report"
	"github.com/frugal-ml/frugal/train"
	"github.com/spf13/cobra"
)

func init() { addCommand(newDemoCmd) }

// demoReport is report.json: both models' measurements and the training log.
type demoReport struct {
	FP32     *report.Report `json:"fp32"`
	Int8     *report.Report `json:"int8"`
	Training *train.Result  `json:"training"`
	Seconds  float64        `json:"seconds"`
	Quant    *quant.Summary `json:"quantization"`
}

func newDemoCmd() *cobra.Command {
	var f trainFlags
	var outDir string
	var calib int
	cmd := &cobra.Command{
		Use:   "demo [--out DIR]",
		Short: "train LeNet-5 on MNIST, quantize it to int8, and report what it bought",
		Long: `demo runs frugal's spine end to end: it trains LeNet-5 (Han et al. 2016) on MNIST,
writes DIR/fp32.onnx, quantizes it to int8 (per-channel weights, min-max calibrated
activations; standard QDQ ONNX that runs on frugal's int8 kernels), writes DIR/int8.onnx,
measures both models (accuracy, size, MACs, BOPs, peak activation memory, latency) and
writes DIR/report.json.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			out := cmd.OutOrStdout()
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return err
			}
			fmt.Fprintf(out, "loading %s...\n", f.data)
			trainSet, testSet, err := loadSplits(f.data)
			if err != nil {
				return err
			}
			m := zoo.LeNet5(f.seed)
			fmt.Fprintf(out, "training LeNet-5 (%d parameters) for %d epochs on %d images\n", zoo.Params(m), f.epochs, trainSet.N)
			res, err := fitModel(cmd, m, trainSet, testSet, &f)
			if err != nil {
				return err
			}
			fp32Path := filepath.Join(outDir, "fp32.onnx")
			if err := onnx.Save(fp32Path, m); err != nil {
				return err
			}
			fmt.Fprintf(out, "quantizing to int8 (calibrating on %d training images)\n", calib)
			x, err := datasetSamples(trainSet)
			if err != nil {
				return err
			}
			qm, sum, err := quantizeModel(cmd, m, x, f.data, calib, quant.DefaultConfig())
			if err != nil {
				return err
			}
			int8Path := filepath.Join(outDir, "int8.onnx")
			if err := onnx.Save(int8Path, qm); err != nil {
				return err
			}
			// Measure both from the files just written, as `frugal eval`
			// and `frugal report` would.
			var reps []*report.Report
			for _, p := range []string{fp32Path, int8Path} {
				r, err := reportFile(p, f.threads, 100)
				if err != nil {
					return err
				}
				mm, err := onnx.Load(p)
				if err != nil {
					return err
				}
				s, err := newSessionFor(mm, f.threads)
				if err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				acc, err := evalSession(cmd, s, testSet, "eval "+filepath.Base(p), true)
				if err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				r.Accuracy, r.Samples = &acc, testSet.N
				r.Layers = nil
				reps = append(reps, r)
			}
			dr := demoReport{FP32: reps[0], Int8: reps[1], Training: res, Quant: sum, Seconds: time.Since(start).Seconds()}
			b, _ := json.MarshalIndent(dr, "", "  ")
			if err := writeFileAtomic(filepath.Join(outDir, "report.json"), append(b, '\n')); err != nil {
				return err
			}
			fmt.Fprintln(out)
			report.WriteComparison(out, reps...)
			fmt.Fprintf(out, "\nfp32 accuracy %.2f%%, int8 accuracy %.2f%% (%+.2f points); int8.onnx is %.1f%% of fp32.onnx\n",
				*reps[0].Accuracy*100, *reps[1].Accuracy*100, (*reps[1].Accuracy-*reps[0].Accuracy)*100,
				100*float64(reps[1].Bytes)/float64(reps[0].Bytes))
			fmt.Fprintf(out, "wrote %s, %s, %s in %.0fs\n", fp32Path, int8Path, filepath.Join(outDir, "report.json"), time.Since(start).Seconds())
			return nil
		},
	}
	f.register(cmd, 3)
	cmd.Flags().StringVar(&outDir, "out", "frugal-demo", "output directory")
	cmd.Flags().IntVar(&calib, "calib", 2048, "calibration samples for int8 quantization")
	return cmd
}
