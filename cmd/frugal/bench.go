package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
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
	var asJSON, noReuse, profile bool
	cmd := &cobra.Command{
		Use:   "model MODEL.onnx [--threads T] [--batch B] [--runs N] [--json] [--profile]",
		Short: "time a model on random inputs of its declared shapes (median and p90 latency, peak RSS, memory plan)",
		Long: `Times a model on random inputs of its declared shapes after warm-up runs, and reports the
median and p90 latency, the process's peak resident set size (VmHWM), the static memory
plan of the intermediates (arena size with buffers reused by liveness, against one buffer
per value) and what the run-time buffer arena actually held. --profile also times every
node and prints where the time goes, by operator and kernel and for the slowest nodes
(the clock reads add well under a microsecond per node).

Memory: the serialized model is released (garbage collected) once decoded, and a soft
memory limit (the live heap once the session is built + twice the planned activations +
four runs' garbage, + 12.5% + 16 MiB) keeps garbage from piling up between collections;
GOGC or GOMEMLIMIT in the environment turn that off.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if batch <= 0 || runs <= 0 || warmup < 0 {
				return fmt.Errorf("--batch and --runs must be positive, --warmup not negative")
			}
			s, err := loadSession(args[0], frt.Options{Threads: threads, NoReuse: noReuse, Profile: profile})
			if err != nil {
				return err
			}
			in, err := report.RandomInputs(s.Inputs(), batch, 1)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			plan, err := s.MemoryPlanFor(context.Background(), in)
			if err != nil {
				return fmt.Errorf("%s: memory plan: %w", args[0], err)
			}
			garbage, err := garbagePerRun(s, in)
			if err != nil {
				return err
			}
			limit := limitGarbage(plan, garbage)
			if profile {
				// Profile the timed runs only.
				for i := 0; i < warmup; i++ {
					if _, err := s.Run(context.Background(), in); err != nil {
						return err
					}
				}
				s.ResetProfile()
				warmup = 0
			}
			med, p90, err := report.Latency(s, in, warmup, runs)
			if err != nil {
				return err
			}
			rs := s.ReuseStats()
			res := map[string]any{"model": args[0], "median_ms": med, "p90_ms": p90, "runs": runs, "batch": batch,
				"threads": effectiveThreads(threads), "peak_rss_bytes": peakRSS(),
				"plan_arena_bytes": plan.ArenaBytes, "plan_no_reuse_bytes": plan.NoReuseBytes,
				"arena_in_use_peak_bytes": rs.InUsePeakBytes, "arena_held_bytes": rs.HeldBytes,
				"buffers_reused": rs.Reused + rs.InPlace, "buffers_requested": rs.Allocs + rs.InPlace,
				"gc_memory_limit_bytes": limit}
			var prof []opShare
			nodes := s.OpProfile() // nil without --profile
			if profile {
				prof = opShares(nodes, runs)
				res["ops"] = prof
				res["nodes"] = nodeTimes(nodes, runs)
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s: median %.3f ms, p90 %.3f ms over %d runs (batch %d, %d threads), peak RSS %s\n",
				args[0], med, p90, runs, batch, effectiveThreads(threads), report.HumanBytes(peakRSS()))
			writeMemory(w, plan, rs)
			if profile {
				writeProfile(w, prof, nodes, runs)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&threads, "threads", 0, "intra-op threads (0 = all cores)")
	cmd.Flags().IntVar(&batch, "batch", 1, "value for symbolic (batch) dimensions")
	cmd.Flags().IntVar(&runs, "runs", 100, "timed runs")
	cmd.Flags().IntVar(&warmup, "warmup", 10, "untimed warm-up runs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&profile, "profile", false, "time every node and print where the time goes")
	cmd.Flags().BoolVar(&noReuse, "no-reuse", false, "allocate every intermediate afresh (no buffer arena), for comparison")
	return cmd
}

// loadSession decodes a model file and prepares a session, collecting the
// decoder's garbage (the file's bytes, as large as the weights) before the
// session packs its weights, so the two never pile up.
func loadSession(path string, opts frt.Options) (*frt.Session, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	runtime.GC()
	s, err := frt.NewSession(m, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	runtime.GC()
	return s, nil
}

// garbagePerRun measures the bytes one Run allocates once the session's
// buffer arena is warm.
func garbagePerRun(s *frt.Session, in map[string]any) (int64, error) {
	var before, after runtime.MemStats
	for i := 0; i < 2; i++ {
		runtime.ReadMemStats(&before)
		if _, err := s.Run(context.Background(), in); err != nil {
			return 0, err
		}
		runtime.ReadMemStats(&after)
	}
	return int64(after.TotalAlloc - before.TotalAlloc), nil
}

// limitGarbage sets a soft memory limit a little above what Runs need: the
// live heap with the weights, twice the planned activations, inputs and
// outputs, room for four Runs' garbage, plus 12.5% and 16 MiB. Garbage is
// then collected before it doubles the footprint (GOGC=100 lets the heap
// grow to twice the live weights), yet not every Run (a limit too close to
// the live heap makes the collector and the scavenger run constantly, which
// doubled MobileNetV2's latency). It returns the limit, or 0 when GOGC or
// GOMEMLIMIT in the environment choose otherwise.
func limitGarbage(p *frt.MemoryPlan, garbage int64) int64 {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	live := int64(ms.HeapAlloc) + int64(ms.StackSys) + int64(ms.MSpanSys+ms.MCacheSys+ms.GCSys+ms.OtherSys+ms.BuckHashSys)
	act := p.ArenaBytes + p.InputBytes + p.OutputBytes
	if len(p.Unsized) > 0 {
		act = max(act, p.NoReuseBytes)
	}
	limit := live + live/8 + 2*act + 4*garbage + 16<<20
	debug.SetMemoryLimit(limit)
	return limit
}

// writeMemory prints the memory plan and what the buffer arena did.
func writeMemory(w io.Writer, p *frt.MemoryPlan, rs frt.ReuseStats) {
	fmt.Fprintf(w, "memory plan: intermediates in a %s arena (%s with one buffer each, %.0f%% saved; %d buffers, live peak %s)",
		report.HumanBytes(p.ArenaBytes), report.HumanBytes(p.NoReuseBytes), 100*p.SavedFraction(), len(p.Buffers), report.HumanBytes(p.LiveBytes))
	if len(p.Unsized) > 0 {
		fmt.Fprintf(w, ", %d values of unknown size left out", len(p.Unsized))
	}
	fmt.Fprintln(w)
	if rs.Runs > 0 {
		req := rs.Allocs + rs.InPlace
		fmt.Fprintf(w, "buffer arena: %s in use at peak, %s held between runs; %d of %d buffers per run recycled (%d in place)\n",
			report.HumanBytes(rs.InUsePeakBytes), report.HumanBytes(rs.HeldBytes), (rs.Reused+rs.InPlace)/rs.Runs, req/rs.Runs, rs.InPlace/rs.Runs)
	}
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
