package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"time"

	"github.com/frugal-ml/frugal/impl/gemm"
	"github.com/spf13/cobra"
)

// newBenchGemmCmd builds `frugal bench gemm`: time one GEMM shape on the
// current dispatch level (FRUGAL_NOASM=1 / FRUGAL_CPU=avx2 select the lower
// ones). It is attached under `frugal bench` by the bench command's owner.
func newBenchGemmCmd() *cobra.Command {
	var m, n, k, threads, runs, warmup int
	var dtype string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "gemm [--m M --n N --k K] [--dtype f32|bf16|int8] [--threads T] [--json]",
		Short: "time a GEMM: warm-up, then the median of repeated runs (GFLOP/s; GOP/s for int8)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if m <= 0 || n <= 0 || k <= 0 {
				return fmt.Errorf("--m, --n and --k must be positive (got %d, %d, %d)", m, n, k)
			}
			if threads < 0 || runs < 0 || warmup < 0 {
				return fmt.Errorf("--threads, --runs and --warmup must not be negative")
			}
			if threads == 0 {
				threads = runtime.GOMAXPROCS(0)
			}
			run, kernel, err := gemmRunner(dtype, m, n, k)
			if err != nil {
				return err
			}
			gemm.SetThreads(threads)
			defer gemm.SetThreads(0)
			if runtime.GOMAXPROCS(0) < threads {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
			}
			ops := 2 * float64(m) * float64(n) * float64(k)
			for i := 0; i < warmup; i++ {
				run()
			}
			if runs == 0 {
				// About half a second of measurement, at least 5 runs.
				t0 := time.Now()
				run()
				per := time.Since(t0).Seconds()
				runs = max(5, min(1000, int(0.5/max(per, 1e-7))))
			}
			times := make([]float64, runs)
			for i := range times {
				t0 := time.Now()
				run()
				times[i] = time.Since(t0).Seconds()
			}
			sort.Float64s(times)
			med := times[len(times)/2]
			rate := ops / med / 1e9
			if asJSON {
				out, err := json.Marshal(struct {
					GFlops   float64 `json:"gflops"`
					M        int     `json:"m"`
					N        int     `json:"n"`
					K        int     `json:"k"`
					DType    string  `json:"dtype"`
					Threads  int     `json:"threads"`
					MedianMS float64 `json:"median_ms"`
				}{rate, m, n, k, dtype, threads, med * 1e3})
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), string(out))
				return nil
			}
			unit := "GFLOP/s"
			if dtype == "int8" {
				unit = "GOP/s"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s gemm %dx%dx%d, %d threads, kernel %s: median %.3f ms over %d runs, %.1f %s\n",
				dtype, m, n, k, threads, kernel, med*1e3, runs, rate, unit)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&m, "m", 512, "rows of A and C")
	f.IntVar(&n, "n", 512, "columns of B and C")
	f.IntVar(&k, "k", 512, "inner dimension")
	f.StringVar(&dtype, "dtype", "f32", "f32 (SGEMM), bf16 (bf16 inputs, f32 accumulation) or int8 (u8 x s8 -> s32)")
	f.IntVar(&threads, "threads", 0, "goroutines (0: GOMAXPROCS)")
	f.IntVar(&runs, "runs", 0, "timed runs (0: about 0.5 s worth, at least 5)")
	f.IntVar(&warmup, "warmup", 2, "untimed warm-up runs")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// gemmRunner allocates operands for one dtype and returns the timed call
// and the kernel's name.
func gemmRunner(dtype string, m, n, k int) (func(), string, error) {
	switch dtype {
	case "f32":
		a, b, c := benchFloats(m*k), benchFloats(k*n), make([]float32, m*n)
		return func() { gemm.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) }, gemm.KernelName(), nil
	case "bf16":
		a, b, c := benchFloats(m*k), benchFloats(k*n), make([]float32, m*n)
		return func() { gemm.SgemmBF16(false, false, m, n, k, a, k, b, n, c, n, gemm.Epilogue{}) }, gemm.BF16KernelName(), nil
	case "int8":
		a := make([]uint8, m*k)
		b := make([]int8, k*n)
		for i := range a {
			a[i] = uint8(i * 7)
		}
		for i := range b {
			b[i] = int8(i * 13)
		}
		c := make([]int32, m*n)
		return func() { gemm.GemmU8S8(m, n, k, a, k, b, n, c, n) }, gemm.QKernelName(), nil
	}
	return nil, "", fmt.Errorf("--dtype %q: want f32, bf16 or int8", dtype)
}

func benchFloats(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i%17)/8 - 1
	}
	return s
}
