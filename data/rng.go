package data

import "math/bits"

// rng is SplitMix64 (Steele, Lea, Flood 2014) with Lemire's unbiased bounded
// integers. It is spelled out here rather than taken from math/rand/v2
// because experiments must replay exactly: the same seed must give the same
// shuffle and the same augmentation on every Go version and platform, and
// the standard library documents no such promise for Shuffle/IntN.
type rng struct{ s uint64 }

// newRNG derives an independent stream from a seed and a list of
// coordinates (epoch, sample position, ...). Streams are addressed, not
// advanced, which is what makes the loader's output independent of how
// many goroutines build batches and in which order they run.
func newRNG(seed uint64, coords ...uint64) *rng {
	h := mix64(seed ^ 0x6a09e667f3bcc909)
	for _, c := range coords {
		h = mix64(h ^ mix64(c+0x9e3779b97f4a7c15))
	}
	return &rng{s: h}
}

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// intn returns a uniform integer in [0, n) for n > 0, without modulo bias.
func (r *rng) intn(n int) int {
	bound := uint64(n)
	hi, lo := bits.Mul64(r.next(), bound)
	if lo < bound {
		thresh := -bound % bound
		for lo < thresh {
			hi, lo = bits.Mul64(r.next(), bound)
		}
	}
	return int(hi)
}

// permutation returns a uniformly random permutation of 0..n-1
// (Fisher-Yates, drawing from the end).
func permutation(n int, r *rng) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
