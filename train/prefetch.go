package train

import (
	"fmt"

	"github.com/frugal-ml/frugal/tensor"
)

// batch is one assembled training batch: x holds n samples back to back.
type batch struct {
	x   []float32
	y   []int
	n   int
	err error
}

// batcher assembles the batches of Fit's epochs: sample order from perm,
// Samples.Fill, then augmentation keyed by (seed, epoch, step). What a batch
// holds depends only on those, never on timing, so prefetching in a
// goroutine gives the same batches as assembling them in line.
type batcher struct {
	set       Samples
	bs, ss    int
	shape     []int
	pad       int
	flip      bool
	fill, tmp []float32
	seed      uint64
	depth     int // batches assembled ahead of the training step (0: in line)
	pool      []*batch
	epoch     int
	perm      []int

	out  chan *batch
	free chan *batch
	stop chan struct{}
	done chan struct{}
	next int // in-line mode: the step to assemble next
}

func newBatcher(set Samples, cfg Config) (*batcher, error) {
	sh := set.SampleShape()
	b := &batcher{set: set, bs: cfg.BatchSize, ss: tensor.NumElems(sh), shape: sh, pad: cfg.Pad, flip: cfg.FlipH,
		seed: cfg.Seed, depth: cfg.Prefetch}
	if b.depth == 0 {
		b.depth = 2
	}
	if b.depth < 0 {
		b.depth = 0
	}
	if cfg.Pad > 0 || cfg.FlipH {
		if len(sh) != 3 || cfg.Pad < 0 || cfg.Pad >= sh[1] || cfg.Pad >= sh[2] {
			return nil, fmt.Errorf("train: augmentation (pad %d) needs [C H W] samples larger than the pad, have %v", cfg.Pad, sh)
		}
		b.tmp = make([]float32, b.ss)
		b.fill = make([]float32, sh[0])
		if a, ok := set.(*Arrays); ok && len(a.PadValue) == sh[0] {
			copy(b.fill, a.PadValue)
		}
	}
	for i := 0; i < b.depth+1; i++ {
		b.pool = append(b.pool, &batch{x: make([]float32, b.bs*b.ss), y: make([]int, b.bs)})
	}
	return b, nil
}

// assemble fills bt with step s of the current epoch.
func (b *batcher) assemble(s int, bt *batch) {
	lo, hi := s*b.bs, min((s+1)*b.bs, len(b.perm))
	bt.n = hi - lo
	bt.err = b.set.Fill(b.perm[lo:hi], bt.x[:bt.n*b.ss], bt.y[:bt.n])
	if bt.err == nil && b.tmp != nil {
		augment(bt.x, b.tmp, bt.n, b.shape, b.pad, b.flip, b.fill, b.seed, b.epoch, s)
	}
}

// start begins epoch ep of steps batches over the visiting order perm.
// With depth > 0 a goroutine assembles up to depth batches ahead of the
// step being trained; each batch must go back through release.
func (b *batcher) start(ep, steps int, perm []int) {
	b.epoch, b.perm, b.next = ep, perm, 0
	if b.depth == 0 {
		return
	}
	b.out = make(chan *batch, b.depth)
	b.free = make(chan *batch, len(b.pool))
	for _, bt := range b.pool {
		b.free <- bt
	}
	b.stop, b.done = make(chan struct{}), make(chan struct{})
	go func(out, free chan *batch, stop, done chan struct{}) {
		defer close(done)
		for s := 0; s < steps; s++ {
			var bt *batch
			select {
			case bt = <-free:
			case <-stop:
				return
			}
			b.assemble(s, bt)
			select {
			case out <- bt:
			case <-stop:
				return
			}
			if bt.err != nil {
				return
			}
		}
	}(b.out, b.free, b.stop, b.done)
}

// get returns the next batch of the epoch, in step order.
func (b *batcher) get() *batch {
	if b.depth == 0 {
		bt := b.pool[0]
		b.assemble(b.next, bt)
		b.next++
		return bt
	}
	return <-b.out
}

// release hands a batch back for reuse.
func (b *batcher) release(bt *batch) {
	if b.depth > 0 {
		b.free <- bt
	}
}

// end stops the epoch's goroutine (if it is still assembling, e.g. after an
// error or MaxSteps) and waits for it, so nothing reads the set afterwards.
func (b *batcher) end() {
	if b.depth == 0 || b.stop == nil {
		return
	}
	close(b.stop)
	<-b.done
	b.stop = nil
}
