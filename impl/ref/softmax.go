package ref

import "math"

// Softmax computes softmax over rows of length n (in place allowed), with
// the max subtracted first for stability. log selects LogSoftmax.
func Softmax(x, out []float32, n int, log bool) {
	for r := 0; r+n <= len(x); r += n {
		row, o := x[r:r+n], out[r:r+n]
		mx := float32(math.Inf(-1))
		for _, v := range row {
			if v > mx {
				mx = v
			}
		}
		var sum float64
		for i, v := range row {
			e := math.Exp(float64(v - mx))
			sum += e
			if !log {
				o[i] = float32(e)
			}
		}
		if log {
			ls := float32(math.Log(sum))
			for i, v := range row {
				o[i] = v - mx - ls
			}
		} else {
			inv := float32(1 / sum)
			for i := range o {
				o[i] *= inv
			}
		}
	}
}
