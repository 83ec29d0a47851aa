package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/report"
	"github.com/spf13/cobra"

	frt "github.com/frugal-ml/frugal/impl/runtime"
)

func init() { addCommand(newReportCmd) }

func newReportCmd() *cobra.Command {
	var asJSON, layers bool
	var threads, runs int
	var dataName string
	cmd := &cobra.Command{
		Use:   "report MODEL.onnx [--json] [--data mnist|fashion-mnist|DIR]",
		Short: "measure a model: parameters, bytes, MACs, BOPs, peak activation memory, latency, accuracy",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := reportFile(args[0], threads, runs)
			if err != nil {
				return err
			}
			if dataName != "" {
				acc, n, err := evalFile(cmd, args[0], dataName, threads, !asJSON)
				if err != nil {
					return err
				}
				r.Accuracy, r.Samples = &acc, n
			}
			if !layers {
				r.Layers = nil
			}
			plan, rs, err := memoryPlanFile(args[0], threads)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					*report.Report
					MemoryPlan *memoryPlanJSON `json:"memory_plan"`
				}{r, &memoryPlanJSON{ArenaBytes: plan.ArenaBytes, NoReuseBytes: plan.NoReuseBytes, LiveBytes: plan.LiveBytes,
					Buffers: len(plan.Buffers), Unsized: len(plan.Unsized), ArenaInUsePeakBytes: rs.InUsePeakBytes}})
			}
			r.WriteTable(cmd.OutOrStdout())
			writeMemory(cmd.OutOrStdout(), plan, rs)
			if layers {
				for _, l := range r.Layers {
					fmt.Fprintf(cmd.OutOrStdout(), "  %-24s %-18s %-12s %v %s\n", l.Name, l.Op, report.HumanCount(l.MACs), l.Out, l.Kernel)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&layers, "layers", false, "include the per-layer breakdown")
	cmd.Flags().IntVar(&threads, "threads", 0, "intra-op threads (0 = all cores)")
	cmd.Flags().IntVar(&runs, "runs", 50, "timed runs for latency (after 5 warm-up runs)")
	cmd.Flags().StringVar(&dataName, "data", "", "also measure test accuracy on mnist, fashion-mnist or an IDX directory")
	return cmd
}

// reportFile loads and analyzes a model file.
func reportFile(path string, threads, runs int) (*report.Report, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	m, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	r, err := report.Analyze(m, report.Options{Threads: threads, Runs: runs, FileBytes: st.Size(), Name: filepath.Base(path)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// memoryPlanJSON is the memory plan as `frugal report --json` prints it.
type memoryPlanJSON struct {
	ArenaBytes          int64 `json:"arena_bytes"`
	NoReuseBytes        int64 `json:"no_reuse_bytes"`
	LiveBytes           int64 `json:"live_bytes"`
	Buffers             int   `json:"buffers"`
	Unsized             int   `json:"unsized"`
	ArenaInUsePeakBytes int64 `json:"arena_in_use_peak_bytes"`
}

// memoryPlanFile plans a model's intermediates for batch-1 random inputs and
// runs it once more to see what the buffer arena holds.
func memoryPlanFile(path string, threads int) (*frt.MemoryPlan, frt.ReuseStats, error) {
	s, err := loadSession(path, frt.Options{Threads: threads})
	if err != nil {
		return nil, frt.ReuseStats{}, err
	}
	in, err := report.RandomInputs(s.Inputs(), 1, 1)
	if err != nil {
		return nil, frt.ReuseStats{}, fmt.Errorf("%s: %w", path, err)
	}
	plan, err := s.MemoryPlanFor(context.Background(), in)
	if err != nil {
		return nil, frt.ReuseStats{}, fmt.Errorf("%s: memory plan: %w", path, err)
	}
	if _, err := s.Run(context.Background(), in); err != nil {
		return nil, frt.ReuseStats{}, err
	}
	return plan, s.ReuseStats(), nil
}
