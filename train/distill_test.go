package train

import (
	"strings"
	"testing"

	"github.com/frugal-ml/frugal/model/zoo"
	"github.com/frugal-ml/frugal/train/nn"
	"github.com/frugal-ml/frugal/train/optim"
)

// A student distilled with alpha = 1 never sees a label: what it learns
// comes from the teacher's soft targets alone.
func TestDistillFromTeacher(t *testing.T) {
	tr, te := synthetic(2048, 1), synthetic(512, 2)
	teacher := zoo.LeNet5(1)
	tres, err := Fit(teacher, tr, te, Config{Epochs: 2, BatchSize: 64, Seed: 7, Threads: 2,
		Optimizer: optim.Config{Kind: "adamw", LR: 2e-3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Labels scrambled: only the teacher can teach.
	scrambled := *tr
	scrambled.Y = make([]uint8, len(tr.Y))
	for i := range scrambled.Y {
		scrambled.Y[i] = uint8(i % 10)
	}
	student := zoo.LeNet300100(2)
	res, err := Fit(student, &scrambled, te, Config{Epochs: 2, BatchSize: 64, Seed: 3, Threads: 2,
		Optimizer: optim.Config{Kind: "adamw", LR: 2e-3}, Teacher: teacher, DistillT: 4, DistillAlpha: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.TestAcc < 0.9 || res.TestAcc < tres.TestAcc-0.08 {
		t.Fatalf("distilled student %.3f, teacher %.3f", res.TestAcc, tres.TestAcc)
	}
	// Without the teacher the scrambled labels teach nothing.
	plain, err := Fit(zoo.LeNet300100(2), &scrambled, te, Config{Epochs: 2, BatchSize: 64, Seed: 3, Threads: 2,
		Optimizer: optim.Config{Kind: "adamw", LR: 2e-3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("teacher %.3f, distilled student %.3f, student on the scrambled labels %.3f", tres.TestAcc, res.TestAcc, plain.TestAcc)
	if plain.TestAcc > 0.3 {
		t.Fatalf("scrambled labels alone gave %.3f", plain.TestAcc)
	}
}

// A teacher identical to the student gives a zero distillation gradient.
func TestDistillSelfIsZero(t *testing.T) {
	m := zoo.LeNet300100(4)
	teacher := zoo.LeNet300100(4)
	tr, err := NewTrainer(m, Config{Threads: 2, Teacher: teacher, DistillAlpha: 1, DistillT: 2,
		Optimizer: optim.Config{Kind: "sgd", LR: 1}})
	if err != nil {
		t.Fatal(err)
	}
	d := synthetic(32, 5)
	y := make([]int, 32)
	for i := range y {
		y[i] = int(d.Y[i])
	}
	if _, _, err := tr.Step(d.X, y); err != nil {
		t.Fatal(err)
	}
	for _, p := range tr.Params() {
		for i, g := range p.G {
			if g > 1e-6 || g < -1e-6 {
				t.Fatalf("%s[%d]: gradient %g from a teacher equal to the student", p.Name, i, g)
			}
		}
	}
}

func TestDistillErrors(t *testing.T) {
	d := synthetic(64, 1)
	for _, c := range []Config{
		{Teacher: zoo.LeNet5(1), DistillAlpha: 1.5},
		{Teacher: zoo.LeNet5(1), DistillT: -1},
	} {
		if _, err := Fit(zoo.LeNet300100(1), d, nil, c, nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	// a teacher with 20 classes for a 10-class student
	b := nn.New("wide", 1, 1, 28, 28)
	teacher := b.Model(b.Linear(b.Flatten(b.Input()), 20))
	_, err := Fit(zoo.LeNet300100(1), d, nil, Config{Teacher: teacher, Threads: 1}, nil)
	if err == nil || !strings.Contains(err.Error(), "teacher") {
		t.Fatalf("mismatched teacher: %v", err)
	}
}
