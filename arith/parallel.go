package arith

import (
	"sync"

	"github.com/frugal-ml/frugal/arith/round"
)

// QuantizeParallel fake-quantizes with up to workers goroutines. Chunks are
// whole blocks and each chunk's Options.Offset is its start index, so the
// result — stochastic rounding included — is the same for any worker count.
// Tensor formats (one scale for the whole tensor) run in one piece.
func QuantizeParallel(f Format, dst, src []float32, o round.Options, workers int) error {
	if err := checkLen(len(dst), len(src)); err != nil {
		return err
	}
	bs := f.BlockSize()
	if bs == 0 || workers <= 1 || len(src) < 2*4096 {
		return f.Quantize(dst, src, o)
	}
	chunk := (len(src) + workers - 1) / workers
	chunk = (chunk + bs - 1) / bs * bs
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := 0; w < workers; w++ {
		s := w * chunk
		if s >= len(src) {
			break
		}
		e := min(s+chunk, len(src))
		co := o
		co.Offset = o.Offset + uint64(s)
		wg.Add(1)
		go func(w, s, e int, co round.Options) {
			defer wg.Done()
			errs[w] = f.Quantize(dst[s:e], src[s:e], co)
		}(w, s, e, co)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
