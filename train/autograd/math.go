package autograd

import "math"

func expf(x float32) float64 { return math.Exp(float64(x)) }

func sqrt64(x float64) float64 { return math.Sqrt(x) }
