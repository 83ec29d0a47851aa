// Command samples is the frugal side of bench/ort's accuracy comparison: it
// runs a single-input model on every row of a .npy file (one model input per
// row, at the input's declared shape with batch 1; the rows' dtype is the
// input's: float32 images, int64 token ids, ...) and writes the first output
// of each run, flattened, as row i of a float32 .npy file. It is
// what `node bench.js MODEL --samples X.npy --out Y.npy` does with ONNX
// Runtime, with one session loaded once.
//
// Usage: go run ./bench/ort/samples [--threads 2] [--no-optimize] [--cpuprofile F] MODEL.onnx X.npy Y.npy
//
// With --cpuprofile, the whole pass over X is profiled (go tool pprof -top
// names the kernels that dominate).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/frugal-ml/frugal/data/npy"
	"github.com/frugal-ml/frugal/impl/runtime"
	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/tensor"
)

func main() {
	threads := flag.Int("threads", 2, "intra-op threads")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the runs to this file")
	repeat := flag.Int("repeat", 1, "passes over X (for profiling)")
	noOpt := flag.Bool("no-optimize", false, "run the graph as given (no QDQ fusion): ONNX's reference semantics for a QDQ model")
	flag.Parse()
	if flag.NArg() != 3 {
		fmt.Fprintln(os.Stderr, "usage: samples [--threads T] [--no-optimize] [--cpuprofile F [--repeat R]] MODEL.onnx X.npy Y.npy")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Arg(1), flag.Arg(2), runtime.Options{Threads: *threads, NoOptimize: *noOpt}, *prof, *repeat); err != nil {
		fmt.Fprintln(os.Stderr, "samples:", err)
		os.Exit(1)
	}
}

func run(model, xPath, yPath string, opts runtime.Options, prof string, repeat int) error {
	m, err := onnx.Load(model)
	if err != nil {
		return err
	}
	s, err := runtime.NewSession(m, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", model, err)
	}
	if len(s.Inputs()) != 1 {
		return fmt.Errorf("%s has %d inputs; samples feeds single-input models", model, len(s.Inputs()))
	}
	in := s.Inputs()[0]
	dims := make([]int, len(in.Type.Shape))
	per := 1
	for i, d := range in.Type.Shape {
		dims[i] = 1
		if d.Known() {
			dims[i] = int(d.Size)
		}
		per *= dims[i]
	}
	x, err := npy.ReadFile(xPath)
	if err != nil {
		return err
	}
	if x.Rank() == 0 || x.Shape[0] == 0 || tensor.NumElems(x.Shape[1:]) != per {
		return fmt.Errorf("%s: shape %v: rows must have %d elements (input %q is %v)", xPath, x.Shape, per, in.Name, dims)
	}
	if x.DType != in.Type.DType {
		return fmt.Errorf("%s holds %s rows; input %q of %s is %s", xPath, x.DType, in.Name, model, in.Type.DType)
	}
	n := x.Shape[0]
	if prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var y []float32
	outPer := 0
	for r := 0; r < repeat; r++ {
		for i := 0; i < n; i++ {
			row, err := x.Rows(i, i+1)
			if err != nil {
				return err
			}
			// A copy: a session may write over its input's buffer.
			t, err := row.Clone().Reshaped(dims...)
			if err != nil {
				return err
			}
			out, err := s.Run(context.Background(), map[string]any{in.Name: t})
			if err != nil {
				return fmt.Errorf("sample %d: %w", i, err)
			}
			o, ok := out[s.Outputs()[0].Name].(*tensor.Tensor)
			if !ok || o.DType != tensor.Float32 {
				return fmt.Errorf("output %q is not a float32 tensor", s.Outputs()[0].Name)
			}
			if y == nil {
				outPer = o.Len()
				y = make([]float32, n*outPer)
			}
			copy(y[i*outPer:(i+1)*outPer], o.F32())
		}
	}
	return npy.WriteFile(yPath, tensor.MustFromSlice(y, n, outPer))
}
