// Package loss holds frugal's training losses as fused forward+gradient
// functions over flat float32 slices: softmax cross-entropy on logits (with
// label smoothing), mean squared error and the temperature-scaled KL
// divergence of knowledge distillation.
//
// Each function returns the summed loss over the samples it is given and
// writes the gradient multiplied by scale, so a batch split across
// goroutines can use scale = 1/(whole batch size) and sum the results.
package loss

import (
	"fmt"
	"math"
)

// CrossEntropy computes softmax cross-entropy between logits [n][classes]
// and integer labels, with label smoothing eps (target = (1-eps) one-hot +
// eps/classes). It returns the summed loss over the n samples and the number
// of samples whose arg-max logit equals the label, and writes
// grad = scale * (softmax(logits) - target) when grad is not nil.
func CrossEntropy(logits []float32, labels []int, classes int, smoothing float32, scale float32, grad []float32) (sum float64, correct int, err error) {
	if classes <= 0 {
		return 0, 0, fmt.Errorf("loss: %d classes", classes)
	}
	n := len(labels)
	if len(logits) != n*classes {
		return 0, 0, fmt.Errorf("loss: %d logits for %d samples of %d classes", len(logits), n, classes)
	}
	if grad != nil && len(grad) != len(logits) {
		return 0, 0, fmt.Errorf("loss: gradient has %d elements, logits %d", len(grad), len(logits))
	}
	if smoothing < 0 || smoothing >= 1 {
		return 0, 0, fmt.Errorf("loss: label smoothing %g outside [0, 1)", smoothing)
	}
	off := float64(smoothing) / float64(classes)
	on := 1 - float64(smoothing) + off
	for i := 0; i < n; i++ {
		y := labels[i]
		if y < 0 || y >= classes {
			return 0, 0, fmt.Errorf("loss: label %d of sample %d outside [0, %d)", y, i, classes)
		}
		row := logits[i*classes : (i+1)*classes]
		mx, arg := row[0], 0
		for j, v := range row {
			if v > mx {
				mx, arg = v, j
			}
		}
		if arg == y {
			correct++
		}
		var se float64
		for _, v := range row {
			se += math.Exp(float64(v - mx))
		}
		lse := math.Log(se) + float64(mx)
		// loss = sum_j t_j (lse - z_j)
		var l float64
		if smoothing == 0 {
			l = lse - float64(row[y])
		} else {
			for j, v := range row {
				t := off
				if j == y {
					t = on
				}
				l += t * (lse - float64(v))
			}
		}
		sum += l
		if grad != nil {
			g := grad[i*classes : (i+1)*classes]
			for j, v := range row {
				p := math.Exp(float64(v) - lse)
				t := off
				if j == y {
					t = on
				}
				g[j] = scale * float32(p-t)
			}
		}
	}
	return sum, correct, nil
}

// MSE returns sum((pred-target)^2) and writes grad = scale*2*(pred-target).
// Use scale = 1/len(pred) for the mean.
func MSE(pred, target []float32, scale float32, grad []float32) (float64, error) {
	if len(pred) != len(target) {
		return 0, fmt.Errorf("loss: %d predictions, %d targets", len(pred), len(target))
	}
	if grad != nil && len(grad) != len(pred) {
		return 0, fmt.Errorf("loss: gradient has %d elements, predictions %d", len(grad), len(pred))
	}
	var s float64
	for i, p := range pred {
		d := p - target[i]
		s += float64(d) * float64(d)
		if grad != nil {
			grad[i] = scale * 2 * d
		}
	}
	return s, nil
}

// DistillKL is Hinton et al.'s distillation loss between student and
// teacher logits [n][classes] at temperature T:
//
//	T^2 * sum_i KL(softmax(teacher_i/T) || softmax(student_i/T))
//
// It writes grad = scale * T * (softmax(student/T) - softmax(teacher/T)),
// the gradient with respect to the student logits.
func DistillKL(student, teacher []float32, classes int, T float32, scale float32, grad []float32) (float64, error) {
	if classes <= 0 || len(student)%classes != 0 || len(student) != len(teacher) {
		return 0, fmt.Errorf("loss: student %d and teacher %d logits for %d classes", len(student), len(teacher), classes)
	}
	if T <= 0 {
		return 0, fmt.Errorf("loss: temperature %g must be positive", T)
	}
	if grad != nil && len(grad) != len(student) {
		return 0, fmt.Errorf("loss: gradient has %d elements, logits %d", len(grad), len(student))
	}
	n := len(student) / classes
	t := float64(T)
	ps := make([]float64, classes)
	pt := make([]float64, classes)
	var sum float64
	for i := 0; i < n; i++ {
		logSoftmaxT(student[i*classes:(i+1)*classes], t, ps)
		logSoftmaxT(teacher[i*classes:(i+1)*classes], t, pt)
		var kl float64
		for j := 0; j < classes; j++ {
			// ps, pt hold log-probabilities
			p := math.Exp(pt[j])
			if p > 0 {
				kl += p * (pt[j] - ps[j])
			}
			if grad != nil {
				grad[i*classes+j] = scale * float32(t*(math.Exp(ps[j])-p))
			}
		}
		sum += t * t * kl
	}
	return sum, nil
}

// logSoftmaxT writes log softmax(z/T) into out.
func logSoftmaxT(z []float32, t float64, out []float64) {
	mx := math.Inf(-1)
	for _, v := range z {
		if float64(v)/t > mx {
			mx = float64(v) / t
		}
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v)/t - mx)
	}
	lse := math.Log(s) + mx
	for j, v := range z {
		out[j] = float64(v)/t - lse
	}
}
