package data

import (
	"context"
	"fmt"
	"sync"
)

// LoaderConfig configures a Loader. The zero value of every field but
// BatchSize is a sensible default.
type LoaderConfig struct {
	BatchSize int  // samples per batch, > 0
	DropLast  bool // drop the final batch when it has fewer than BatchSize samples
	Shuffle   bool // visit samples in a seeded random order, new each epoch
	Seed      uint64

	// Pad > 0 enables random-crop augmentation: the image is padded by Pad
	// pixels on every side with the value a black pixel has (see
	// Dataset.ZeroValue) and a random H x W window is cut out of it, i.e.
	// the image shifts by up to Pad pixels each way.
	Pad int
	// FlipH mirrors each image left-right with probability 1/2.
	FlipH bool

	// Prefetch is how many finished batches may wait in the channel for
	// the consumer (default 2); up to Workers more may be in the making.
	// More smooths out jitter; each costs one batch of memory.
	Prefetch int
	// Workers is the number of goroutines assembling batches (default 1).
	// The output does not depend on it.
	Workers int
}

// Batch is one mini-batch. X is B*C*H*W float32 in NCHW order, Y the labels,
// Indices the dataset index of each sample, in batch order.
//
// Ownership: a received Batch belongs to the consumer until it calls
// Release, which hands its buffers back to the Loader for reuse; X, Y and
// Indices must not be touched after that. Not calling Release is fine (the
// garbage collector takes the batch; the loader allocates a new one).
type Batch struct {
	X       []float32
	Y       []uint8
	B       int
	C, H, W int
	Indices []int
	Epoch   int // epoch this batch belongs to
	Index   int // position of the batch within its epoch

	owner *Loader
}

// Release returns the batch's buffers to its Loader's pool. Calling it twice
// on the same batch, or using the batch afterwards, is a use-after-free bug.
func (b *Batch) Release() {
	l := b.owner
	if l == nil {
		return
	}
	b.owner = nil
	select {
	case l.free <- b:
	default: // pool full: let the garbage collector have it
	}
}

// YInt64 widens the labels into dst (grown as needed) for losses that take
// int64 class indices, such as ONNX SoftmaxCrossEntropyLoss.
func (b *Batch) YInt64(dst []int64) []int64 {
	dst = dst[:0]
	for _, y := range b.Y {
		dst = append(dst, int64(y))
	}
	return dst
}

// Loader turns a Dataset into a stream of batches, one epoch at a time.
//
// Reproducibility: the visiting order of an epoch is a function of (Seed,
// epoch) alone, and each sample's augmentation a function of (Seed, epoch,
// position in the epoch), both drawn from addressable random streams (see
// rng.go). So the same seed gives the same batches, bit for bit, whatever
// Workers, Prefetch, the scheduler or GOMAXPROCS; and resuming at epoch k
// needs no replay of epochs 0..k-1.
type Loader struct {
	d    *Dataset
	cfg  LoaderConfig
	fill []float32 // per-channel padding value
	free chan *Batch
}

// NewLoader validates cfg against d and returns a Loader. d must not be
// modified while the loader's epochs run.
func NewLoader(d *Dataset, cfg LoaderConfig) (*Loader, error) {
	if d == nil {
		return nil, fmt.Errorf("data: NewLoader: nil dataset")
	}
	if cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("data: NewLoader: batch size %d, want > 0", cfg.BatchSize)
	}
	if cfg.Pad < 0 || cfg.Pad > max(d.H, d.W) {
		return nil, fmt.Errorf("data: NewLoader: pad %d, want 0..%d", cfg.Pad, max(d.H, d.W))
	}
	if cfg.Prefetch < 0 || cfg.Workers < 0 {
		return nil, fmt.Errorf("data: NewLoader: negative prefetch %d or workers %d", cfg.Prefetch, cfg.Workers)
	}
	if cfg.Prefetch == 0 {
		cfg.Prefetch = 2
	}
	if cfg.Workers == 0 {
		cfg.Workers = 1
	}
	if len(d.Images) != d.N*d.SampleSize() || len(d.Labels) != d.N {
		return nil, fmt.Errorf("data: NewLoader: %s: inconsistent dataset: %d values and %d labels for %d samples of %dx%dx%d",
			d.Name, len(d.Images), len(d.Labels), d.N, d.C, d.H, d.W)
	}
	l := &Loader{d: d, cfg: cfg, fill: make([]float32, d.C),
		// Enough free slots for every batch that can be alive at once in
		// the pipeline plus a couple held by the consumer.
		free: make(chan *Batch, cfg.Prefetch+2*cfg.Workers+2)}
	for c := range l.fill {
		l.fill[c] = d.ZeroValue(c)
	}
	return l, nil
}

// NumBatches is the number of batches in one epoch.
func (l *Loader) NumBatches() int {
	n, bs := l.d.N, l.cfg.BatchSize
	if l.cfg.DropLast {
		return n / bs
	}
	return (n + bs - 1) / bs
}

// Order returns the sample indices of epoch in visiting order: 0..N-1 when
// Shuffle is off, else a permutation determined by (Seed, epoch).
func (l *Loader) Order(epoch int) []int {
	if !l.cfg.Shuffle {
		p := make([]int, l.d.N)
		for i := range p {
			p[i] = i
		}
		return p
	}
	return permutation(l.d.N, newRNG(l.cfg.Seed, 0x0e90c4, uint64(epoch)))
}

// Stream is one epoch in flight. Receive from C until it is closed; then
// Err tells whether the epoch ended by completion (nil) or cancellation.
// Call Close when done, always (defer it): it stops the producers if the
// consumer leaves early and waits until every goroutine has exited, so
// nothing leaks.
type Stream struct {
	C <-chan *Batch

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	err    error
}

// Err is nil if the epoch ran to completion, else the context's error. It
// is meaningful once C is closed.
func (s *Stream) Err() error {
	<-s.done
	return s.err
}

// Close cancels the epoch if still running, releases undelivered batches and
// waits for the producer goroutines to exit. It returns Err. Call it from
// the goroutine that receives from C, since it drains C.
func (s *Stream) Close() error {
	s.once.Do(func() {
		s.cancel()
		for b := range s.C {
			b.Release()
		}
	})
	return s.Err()
}

// job is one batch to build; its result goes to out, which has room for
// exactly one batch so a worker never blocks on delivery.
type job struct {
	index int
	out   chan *Batch
}

// Start begins producing the batches of epoch in background goroutines and
// returns at once. Batches arrive on Stream.C in order; at most Prefetch of
// them wait there, so assembly (copying, cropping, flipping) of the next
// batches overlaps with the consumer's compute on the current one.
// Cancelling ctx, or calling Stream.Close, stops the epoch early.
func (l *Loader) Start(ctx context.Context, epoch int) *Stream {
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan *Batch, l.cfg.Prefetch)
	s := &Stream{C: out, cancel: cancel, done: make(chan struct{})}

	order := l.Order(epoch)
	nb := l.NumBatches()
	jobs := make(chan job)
	// pending carries each batch's result slot to the emitter in batch
	// order; its capacity (one per worker) bounds how far the workers may
	// run ahead of the batch the emitter is waiting for.
	pending := make(chan chan *Batch, l.cfg.Workers)

	var wg sync.WaitGroup
	wg.Add(1 + l.cfg.Workers)
	go func() { // dispatcher
		defer wg.Done()
		defer close(jobs)
		defer close(pending)
		for i := 0; i < nb; i++ {
			slot := make(chan *Batch, 1)
			select {
			case pending <- slot:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{i, slot}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for w := 0; w < l.cfg.Workers; w++ {
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.out <- l.build(epoch, j.index, order)
			}
		}()
	}
	go func() { // emitter: delivers in order, then cleans up
		var err error
		var waiting chan *Batch // slot abandoned on cancellation, if any
		delivered := 0
	loop:
		for slot := range pending {
			var b *Batch
			select {
			case b = <-slot:
			case <-ctx.Done():
				waiting = slot
				break loop
			}
			select {
			case out <- b:
				delivered++
			case <-ctx.Done():
				b.Release()
				break loop
			}
		}
		if delivered < nb {
			// Stopped early, by cancellation: the dispatcher may also have
			// closed pending on it before this loop saw ctx.Done.
			err = ctx.Err()
		}
		cancel() // stop the dispatcher if the loop ended first
		wg.Wait()
		// Every worker has exited, so every slot holds its final value:
		// hand finished but undelivered batches back to the pool.
		if waiting != nil {
			select {
			case b := <-waiting:
				b.Release()
			default:
			}
		}
		for slot := range pending {
			select {
			case b := <-slot:
				b.Release()
			default:
			}
		}
		s.err = err
		close(out)
		close(s.done)
	}()
	return s
}

// Batches is Start as a range-over-func iterator: the epoch stops, and its
// goroutines exit, as soon as the loop body breaks or ctx is cancelled.
// Batches yielded must still be Released (or dropped) by the body.
func (l *Loader) Batches(ctx context.Context, epoch int) func(yield func(*Batch) bool) {
	return func(yield func(*Batch) bool) {
		s := l.Start(ctx, epoch)
		defer s.Close()
		for b := range s.C {
			if !yield(b) {
				return
			}
		}
	}
}

// get takes a batch from the pool or allocates one with full capacity.
func (l *Loader) get() *Batch {
	select {
	case b := <-l.free:
		return b
	default:
	}
	bs, sz := l.cfg.BatchSize, l.d.SampleSize()
	return &Batch{X: make([]float32, bs*sz), Y: make([]uint8, bs), Indices: make([]int, bs)}
}

// build assembles batch i of epoch from the visiting order.
func (l *Loader) build(epoch, i int, order []int) *Batch {
	d := l.d
	lo := i * l.cfg.BatchSize
	hi := min(lo+l.cfg.BatchSize, d.N)
	n, sz := hi-lo, d.SampleSize()
	b := l.get()
	b.X, b.Y, b.Indices = b.X[:n*sz], b.Y[:n], b.Indices[:n]
	b.B, b.C, b.H, b.W, b.Epoch, b.Index, b.owner = n, d.C, d.H, d.W, epoch, i, l
	augment := l.cfg.Pad > 0 || l.cfg.FlipH
	for k := 0; k < n; k++ {
		pos := lo + k
		src := order[pos]
		b.Indices[k], b.Y[k] = src, d.Labels[src]
		dst := b.X[k*sz : (k+1)*sz]
		if !augment {
			copy(dst, d.Image(src))
			continue
		}
		r := newRNG(l.cfg.Seed, 0xa06e, uint64(epoch), uint64(pos))
		dy, dx := l.cfg.Pad, l.cfg.Pad // centre = no shift
		if l.cfg.Pad > 0 {
			dy, dx = r.intn(2*l.cfg.Pad+1), r.intn(2*l.cfg.Pad+1)
		}
		flip := l.cfg.FlipH && r.next()>>63 == 1
		CropFlip(dst, d.Image(src), d.C, d.H, d.W, l.cfg.Pad, dy, dx, flip, l.fill)
	}
	return b
}

// CropFlip writes into dst (C*H*W) the H x W window at offset (dy, dx) of
// src padded by pad pixels on every side with fill[c], then mirrors it
// left-right if flip. Offsets run 0..2*pad; (pad, pad) is the identity
// crop. So dst[c][y][x] = padded[c][y+dy][x'+dx] with x' = W-1-x when
// flipped, else x, and padded[c][i][j] = src[c][i-pad][j-pad] inside the
// image, fill[c] outside.
func CropFlip(dst, src []float32, c, h, w, pad, dy, dx int, flip bool, fill []float32) {
	oy, ox := dy-pad, dx-pad // source row/col of dst (0,0) before flipping
	for ch := 0; ch < c; ch++ {
		s := src[ch*h*w : (ch+1)*h*w]
		o := dst[ch*h*w : (ch+1)*h*w]
		f := fill[ch]
		for y := 0; y < h; y++ {
			row := o[y*w : (y+1)*w]
			sy := y + oy
			if sy < 0 || sy >= h {
				for x := range row {
					row[x] = f
				}
				continue
			}
			srow := s[sy*w : (sy+1)*w]
			for x := 0; x < w; x++ {
				xx := x
				if flip {
					xx = w - 1 - x
				}
				sx := xx + ox
				if sx < 0 || sx >= w {
					row[x] = f
				} else {
					row[x] = srow[sx]
				}
			}
		}
	}
}
