package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/report"
	"github.com/spf13/cobra"

	frt "github.com/frugal-ml/frugal/impl/runtime"
)

func init() { addCommand(newBenchCmd) }

// benchCommands are the `frugal bench` children; files add to it from init.
var benchCommands []func() *cobra.Command

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "benchmarks: gemm, model, train",
	}
	cmd.AddCommand(newBenchModelCmd())
	for _, f := range benchCommands {
		cmd.AddCommand(f())
	}
	return cmd
}

func newBenchModelCmd() *cobra.Command {
	var threads, batch, runs, warmup int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "model MODEL.onnx [--threads T] [--batch B] [--runs N] [--json]",
		Short: "time a model on random inputs of its declared shapes (median and p90 latency, peak RSS)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if batch <= 0 || runs <= 0 || warmup < 0 {
				return fmt.Errorf("--batch and --runs must be positive, --warmup not negative")
			}
			m, err := onnx.Load(args[0])
			if err != nil {
				return err
			}
			s, err := frt.NewSession(m, frt.Options{Threads: threads})
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			in, err := report.RandomInputs(s.Inputs(), batch, 1)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			med, p90, err := report.Latency(s, in, warmup, runs)
			if err != nil {
				return err
			}
			res := map[string]any{"model": args[0], "median_ms": med, "p90_ms": p90, "runs": runs, "batch": batch,
				"threads": effectiveThreads(threads), "peak_rss_bytes": peakRSS()}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: median %.3f ms, p90 %.3f ms over %d runs (batch %d, %d threads), peak RSS %s\n",
				args[0], med, p90, runs, batch, effectiveThreads(threads), report.HumanBytes(peakRSS()))
			return nil
		},
	}
	cmd.Flags().IntVar(&threads, "threads", 0, "intra-op threads (0 = all cores)")
	cmd.Flags().IntVar(&batch, "batch", 1, "value for symbolic (batch) dimensions")
	cmd.Flags().IntVar(&runs, "runs", 100, "timed runs")
	cmd.Flags().IntVar(&warmup, "warmup", 10, "untimed warm-up runs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func effectiveThreads(t int) int {
	if t <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return t
}

// peakRSS reads the process's peak resident set size (VmHWM) on Linux; 0
// elsewhere.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func init() { benchCommands = append(benchCommands, newBenchTrainCmd) }
func init() { benchCommands = append(benchCommands, newBenchGemmCmd) }
