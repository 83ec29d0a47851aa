package ops

import "github.com/frugal-ml/frugal/impl/ref"

func softmaxContig(x, out []float32, n int, log bool) { ref.Softmax(x, out, n, log) }
