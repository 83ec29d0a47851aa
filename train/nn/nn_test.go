package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frugal-ml/frugal/train"
	"github.com/frugal-ml/frugal/train/autograd"
	"github.com/frugal-ml/frugal/train/nn"
	"github.com/frugal-ml/frugal/train/optim"
)

// images: 10 texture classes (stripes of 5 periods, 2 orientations, random
// phase), which global pooling keeps apart.
func images(n int, seed uint64) *train.Arrays {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*16*16)
	y := make([]uint8, n)
	for i := range y {
		c := r.IntN(10)
		y[i] = uint8(c)
		img := x[i*256 : (i+1)*256]
		period := float64(c%5 + 2)
		phase := r.Float64() * 2 * math.Pi
		for py := 0; py < 16; py++ {
			for px := 0; px < 16; px++ {
				u := float64(py)
				if c >= 5 {
					u = float64(px)
				}
				img[py*16+px] = float32(math.Sin(2*math.Pi*u/period+phase) + r.NormFloat64()*0.3)
			}
		}
	}
	a, _ := train.NewArrays(x, y, 1, 16, 16)
	return a
}

// A MobileNet-style net: depthwise-separable blocks with BN, ReLU6,
// HardSwish, a residual add, global pooling, dropout.
func TestMobileNetStyleTrains(t *testing.T) {
	b := nn.New("mobile", 1, 1, 16, 16)
	x := b.ReLU6(b.BatchNorm(b.Conv2D(b.Input(), 16, 3, 1, 1, 1)))
	d := b.ReLU6(b.BatchNorm(b.Conv2D(x, 16, 3, 1, 1, 16))) // depthwise
	x = b.Add(x, b.BatchNorm(b.Conv2D(d, 16, 1, 1, 0, 1)))  // pointwise + residual
	x = b.HardSwish(b.Conv2D(x, 32, 3, 2, 1, 16))           // grouped, stride 2
	x = b.Dropout(b.GlobalAvgPool(b.SiLU(x)), 0.1)
	m := b.Model(b.Linear(x, 10))
	res, err := train.Fit(m, images(1024, 1), images(256, 2), train.Config{Epochs: 3, BatchSize: 32, Threads: 2, Seed: 1,
		Optimizer: optim.Config{LR: 3e-3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.TestAcc < 0.9 {
		t.Fatalf("test accuracy %.3f: %+v", res.TestAcc, res.Epochs)
	}
}

// sequences: label = token at position 2 mod 4 (needs positional attention).
func sequences(n, T, vocab int, seed uint64) *train.Arrays {
	r := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, n*T)
	y := make([]uint8, n)
	for i := range y {
		for j := 0; j < T; j++ {
			x[i*T+j] = float32(r.IntN(vocab))
		}
		y[i] = uint8(int(x[i*T+2]) % 4)
	}
	a, _ := train.NewArrays(x, y, T)
	return a
}

func TestTransformerTrains(t *testing.T) {
	const T, vocab, d = 6, 12, 16
	b := nn.NewTokens("tiny-transformer", 1, T)
	x := b.PositionalEmbedding(b.Embedding(b.Input(), vocab, d))
	x = b.TransformerBlock(x, 2, 32)
	m := b.Model(b.Linear(b.LayerNorm(b.MeanPool(x)), 4))
	res, err := train.Fit(m, sequences(2048, T, vocab, 1), sequences(256, T, vocab, 2), train.Config{Epochs: 6, BatchSize: 32,
		Threads: 2, Seed: 1, Optimizer: optim.Config{LR: 3e-3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.TestAcc < 0.9 {
		t.Fatalf("test accuracy %.3f: %+v", res.TestAcc, res.Epochs)
	}
}

func TestTransformerGradients(t *testing.T) {
	const T, vocab, d = 3, 5, 8
	b := nn.NewTokens("tiny", 2, T)
	x := b.PositionalEmbedding(b.Embedding(b.Input(), vocab, d))
	m := b.Model(b.Linear(b.MeanPool(b.TransformerBlock(x, 2, 8)), 3))
	if err := autograd.CheckGrads(m, tokenInput([]int64{1, 4, 0, 2, 2, 3}, 2, T), nil, autograd.CheckOptions{Eps: 1e-3, ATol: 2e-3}); err != nil {
		t.Fatal(err)
	}
}
