package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/frugal-ml/frugal/data"
	"github.com/frugal-ml/frugal/graph"
	"github.com/frugal-ml/frugal/impl/runtime"
	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/report"
	"github.com/spf13/cobra"
)

func init() { addCommand(newEvalCmd) }

func newEvalCmd() *cobra.Command {
	var dataName string
	var asJSON bool
	var threads int
	cmd := &cobra.Command{
		Use:   "eval MODEL.onnx --data mnist|fashion-mnist|DIR [--json]",
		Short: "measure a classifier's accuracy on a dataset's test split",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			acc, n, err := evalFile(cmd, args[0], dataName, threads, !asJSON)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{
					"accuracy": acc, "samples": n, "model": args[0], "data": dataName, "split": "test"})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: accuracy %.2f%% on %d %s test samples\n", args[0], acc*100, n, dataName)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataName, "data", "mnist", "dataset: mnist, fashion-mnist, or a directory of IDX files")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&threads, "threads", 0, "intra-op threads (0 = all cores)")
	return cmd
}

// evalFile loads a model and measures its test accuracy.
func evalFile(cmd *cobra.Command, path, dataName string, threads int, bar bool) (float64, int, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return 0, 0, err
	}
	ds, err := data.Load(dataName, "test")
	if err != nil {
		return 0, 0, err
	}
	s, err := runtime.NewSession(m, runtime.Options{Threads: threads})
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	acc, err := evalSession(cmd, s, ds, "eval "+dataName, bar)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return acc, ds.N, nil
}

func evalSession(cmd *cobra.Command, s *runtime.Session, ds *data.Dataset, label string, bar bool) (float64, error) {
	var pb *progressBar
	if bar {
		pb = newProgressBar(cmd.ErrOrStderr(), ds.N, label)
	}
	acc, err := report.Accuracy(context.Background(), s, ds.Images, ds.Labels, []int{ds.C, ds.H, ds.W}, 500, func(done int) {
		if pb != nil {
			pb.Set(done)
		}
	})
	if pb != nil {
		pb.Finish()
	}
	return acc, err
}

func newSessionFor(m *graph.Model, threads int) (*runtime.Session, error) {
	return runtime.NewSession(m, runtime.Options{Threads: threads})
}
