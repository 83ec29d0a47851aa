package main

import (
	"fmt"
	"math"

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

// compareTensors checks shapes, dtypes and values, returning the largest
// absolute and relative differences.
func compareTensors(got, want *tensor.Tensor, rtol, atol float64) (float64, float64, error) {
	if got.DType != want.DType {
		return 0, 0, fmt.Errorf("dtype %s, want %s", got.DType, want.DType)
	}
	if !tensor.SameShape(got.Shape, want.Shape) {
		return 0, 0, fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	var maxAbs, maxRel float64
	bad := -1
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
		if !(d <= atol+rtol*math.Abs(w)) && bad < 0 {
			bad = i
		}
	}
	if bad >= 0 {
		return maxAbs, maxRel, fmt.Errorf("element %d: got %g, want %g (max abs diff %.3g, max rel diff %.3g)", bad, got.Float64At(bad), want.Float64At(bad), maxAbs, maxRel)
	}
	return maxAbs, maxRel, nil
}
