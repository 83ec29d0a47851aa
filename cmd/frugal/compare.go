package main

import (
	"fmt"
	"math"

	"github.com/frugal-ml/frugal/conformance"
	"github.com/frugal-ml/frugal/onnx"
	"github.com/frugal-ml/frugal/tensor"
	"github.com/spf13/cobra"
)

func init() { addCommand(newCompareCmd) }

func newCompareCmd() *cobra.Command {
	var rtol, atol float64
	cmd := &cobra.Command{
		Use:   "compare GOT.pb WANT.pb [--rtol R --atol A]",
		Short: "compare two TensorProto files elementwise (|got-want| <= atol + rtol*|want|)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			got, _, err := onnx.LoadTensor(args[0])
			if err != nil {
				return err
			}
			want, _, err := onnx.LoadTensor(args[1])
			if err != nil {
				return err
			}
			maxAbs, maxRel, err := compareTensors(got, want, rtol, atol)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "match: %d elements, max abs diff %.3g, max rel diff %.3g (rtol %g, atol %g)\n", got.Len(), maxAbs, maxRel, rtol, atol)
			return nil
		},
	}
	cmd.Flags().Float64Var(&rtol, "rtol", 1e-5, "relative tolerance")
	cmd.Flags().Float64Var(&atol, "atol", 1e-6, "absolute tolerance")
	return cmd
}

// compareTensors checks shapes, dtypes and values with the conformance
// suite's rule, returning the largest absolute and relative differences.
func compareTensors(got, want *tensor.Tensor, rtol, atol float64) (float64, float64, error) {
	var maxAbs, maxRel float64
	if got.DType == want.DType && tensor.SameShape(got.Shape, want.Shape) {
		for i := 0; i < got.Len(); i++ {
			g, w := got.Float64At(i), want.Float64At(i)
			if math.IsNaN(g) && math.IsNaN(w) {
				continue
			}
			d := math.Abs(g - w)
			maxAbs = math.Max(maxAbs, d)
			if w != 0 {
				maxRel = math.Max(maxRel, d/math.Abs(w))
			}
		}
	}
	if err := conformance.CompareTensors(got, want, rtol, atol); err != nil {
		return maxAbs, maxRel, fmt.Errorf("%w (max abs diff %.3g, max rel diff %.3g)", err, maxAbs, maxRel)
	}
	return maxAbs, maxRel, nil
}
