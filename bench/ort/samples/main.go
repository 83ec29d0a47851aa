// Command samples is the frugal side of bench/ort's accuracy comparison: it
// runs a single-input model on every row of a float32 .npy file (one model
// input per row, at the input's declared shape with batch 1) and writes the
// first output of each run, flattened, as row i of a float32 .npy file. It is
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
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"

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
	xShape, x, err := readNpy(xPath)
	if err != nil {
		return err
	}
	if len(xShape) == 0 || xShape[0] == 0 || len(x)%xShape[0] != 0 || len(x)/xShape[0] != per {
		return fmt.Errorf("%s: shape %v: rows must have %d elements (input %q is %v)", xPath, xShape, per, in.Name, dims)
	}
	n := xShape[0]
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
			t, err := tensor.FromSlice(append([]float32(nil), x[i*per:(i+1)*per]...), dims...)
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
	return writeNpy(yPath, []int{n, outPer}, y)
}

var (
	reDescr = regexp.MustCompile(`'descr':\s*'([^']+)'`)
	reOrder = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	reShape = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

// readNpy reads a little-endian float32, C-order .npy file.
func readNpy(path string) ([]int, []float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if len(b) < 10 || string(b[1:6]) != "NUMPY" || b[0] != 0x93 {
		return nil, nil, fmt.Errorf("%s: not an .npy file", path)
	}
	var hlen, start int
	if b[6] == 1 {
		hlen, start = int(binary.LittleEndian.Uint16(b[8:])), 10
	} else {
		if len(b) < 12 {
			return nil, nil, fmt.Errorf("%s: truncated", path)
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:])), 12
	}
	if start+hlen > len(b) {
		return nil, nil, fmt.Errorf("%s: truncated header", path)
	}
	h := string(b[start : start+hlen])
	d, o, sh := reDescr.FindStringSubmatch(h), reOrder.FindStringSubmatch(h), reShape.FindStringSubmatch(h)
	if d == nil || o == nil || sh == nil {
		return nil, nil, fmt.Errorf("%s: bad header %q", path, h)
	}
	if d[1] != "<f4" || o[1] != "False" {
		return nil, nil, fmt.Errorf("%s: want little-endian float32 in C order, got descr %s fortran_order %s", path, d[1], o[1])
	}
	var shape []int
	n := 1
	for _, f := range strings.Split(sh[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 {
			return nil, nil, fmt.Errorf("%s: bad shape %q", path, sh[1])
		}
		shape = append(shape, v)
		n *= v
	}
	body := b[start+hlen:]
	if len(body) != 4*n {
		return nil, nil, fmt.Errorf("%s: %d data bytes for shape %v", path, len(body), shape)
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
	}
	return shape, x, nil
}

func writeNpy(path string, shape []int, x []float32) error {
	var dims []string
	for _, d := range shape {
		dims = append(dims, strconv.Itoa(d))
	}
	st := strings.Join(dims, ", ")
	if len(shape) == 1 {
		st += ","
	}
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", st)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := make([]byte, 0, 10+len(h)+4*len(x))
	b = append(b, 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h)))
	b = append(b, h...)
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return os.WriteFile(path, b, 0o644)
}
