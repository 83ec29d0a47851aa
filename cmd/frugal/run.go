package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/frugal-ml/frugal/impl/runtime"
	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/tensor"
	"github.com/frugal-ml/frugal/train/checkpoint"
	"github.com/spf13/cobra"
)

func init() { addCommand(newRunCmd) }

func newRunCmd() *cobra.Command {
	var inputs []string
	var outDir string
	var threads int
	var showKernels bool
	cmd := &cobra.Command{
		Use:   "run MODEL.onnx -i IN0.pb [-i IN1.pb ...] -o OUTDIR",
		Short: "run an ONNX model on TensorProto inputs and write TensorProto outputs",
		Long: `run feeds the TensorProto files to the model's inputs in order and writes
OUTDIR/output_0.pb, output_1.pb, ... (one per graph output).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return fmt.Errorf("missing -o OUTDIR")
			}
			m, err := onnx.Load(args[0])
			if err != nil {
				return err
			}
			s, err := runtime.NewSession(m, runtime.Options{Threads: threads})
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if showKernels {
				for _, k := range s.Kernels() {
					fmt.Fprintln(cmd.ErrOrStderr(), k)
				}
			}
			ins := s.Inputs()
			if len(inputs) != len(ins) {
				return fmt.Errorf("%s takes %d inputs, %d given with -i", args[0], len(ins), len(inputs))
			}
			feed := map[string]any{}
			for i, path := range inputs {
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				v, err := onnx.DecodeValue(b, ins[i].Type)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				feed[ins[i].Name] = v
			}
			out, err := s.Run(context.Background(), feed)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return err
			}
			for j, o := range s.Outputs() {
				t, ok := out[o.Name].(*tensor.Tensor)
				if !ok {
					return fmt.Errorf("output %q is %T; only tensor outputs can be written", o.Name, out[o.Name])
				}
				b, err := onnx.EncodeTensor(t, o.Name)
				if err != nil {
					return fmt.Errorf("output %q: %w", o.Name, err)
				}
				if err := writeFileAtomic(filepath.Join(outDir, fmt.Sprintf("output_%d.pb", j)), b); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&inputs, "input", "i", nil, "TensorProto file for the next graph input (repeat in input order)")
	cmd.Flags().StringVarP(&outDir, "out", "o", "", "directory for output_N.pb files")
	cmd.Flags().IntVar(&threads, "threads", 0, "intra-op threads (0 = all cores)")
	cmd.Flags().BoolVar(&showKernels, "kernels", false, "print the kernel chosen for each node to stderr")
	return cmd
}

// writeFileAtomic writes via a temporary file, fsync and rename so a crash
// never leaves a half-written file under the final name.
func writeFileAtomic(path string, b []byte) error { return checkpoint.WriteFileAtomic(path, b) }
