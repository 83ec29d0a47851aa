package nn_test

import "github.com/frugal-ml/frugal/tensor"

func tokenInput(ids []int64, n, t int) map[string]*tensor.Tensor {
	return map[string]*tensor.Tensor{"input": tensor.MustFromSlice(ids, n, t)}
}
