package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A small pool of helper goroutines for the parallel regions of one GEMM.
//
// Starting a goroutine is cheap, but waking the OS thread that will run it
// costs tens of microseconds, as much as a 256^3 GEMM on one core. Helpers
// therefore spin for a short while after each job (back-to-back GEMMs, as in
// a network's layers, find them awake) and then park. The caller claims
// shares of the job itself too, so it never waits for a helper that is slow
// to wake: a share is run by whoever claims it first.

const spinWindow = 50 * time.Microsecond

type poolJob struct {
	f    func(i int)
	t    int32
	next atomic.Int32 // next unclaimed share
	done atomic.Int32 // finished shares
}

type workerPool struct {
	mu      sync.Mutex // one job at a time; concurrent callers fall back
	started int
	gen     atomic.Uint64
	job     atomic.Pointer[poolJob]
	parked  atomic.Int32
	wake    chan struct{}
}

var pool = &workerPool{wake: make(chan struct{}, 256)}

// Parallel runs f(0), ..., f(t-1), each exactly once, on the caller and the
// GEMM helper pool, and returns when all are done. Other kernel packages
// (sparse, convolution) use it to share the pool's warm helpers.
func Parallel(t int, f func(i int)) { parallel(t, f) }

// parallel runs f(0..t-1), each exactly once, and returns when all are done.
func parallel(t int, f func(i int)) {
	if t <= 1 {
		f(0)
		return
	}
	if !pool.mu.TryLock() {
		spawn(t, f)
		return
	}
	defer pool.mu.Unlock()
	for pool.started < min(t-1, 255) {
		pool.started++
		go pool.worker()
	}
	j := &poolJob{f: f, t: int32(t)}
	pool.job.Store(j)
	pool.gen.Add(1)
	for n := pool.parked.Load(); n > 0; n-- {
		select {
		case pool.wake <- struct{}{}:
		default:
		}
	}
	j.work()
	for spins := 0; j.done.Load() != j.t; spins++ {
		if spins > 64 {
			runtime.Gosched()
		}
	}
	pool.job.Store(nil)
}

// work claims and runs shares until none is left.
func (j *poolJob) work() {
	for {
		i := j.next.Add(1) - 1
		if i >= j.t {
			return
		}
		j.f(int(i))
		j.done.Add(1)
	}
}

func (p *workerPool) worker() {
	seen := p.gen.Load()
	for {
		t0 := time.Now()
		for spins := 0; p.gen.Load() == seen; spins++ {
			if spins&63 == 63 {
				if time.Since(t0) > spinWindow {
					p.parked.Add(1)
					if p.gen.Load() == seen {
						<-p.wake
					}
					p.parked.Add(-1)
					t0 = time.Now()
				} else {
					runtime.Gosched()
				}
			}
		}
		seen = p.gen.Load()
		if j := p.job.Load(); j != nil {
			j.work()
		}
	}
}

// spawn runs f(0..t-1) on fresh goroutines (used when the pool is busy).
func spawn(t int, f func(i int)) {
	var wg sync.WaitGroup
	wg.Add(t - 1)
	for i := 1; i < t; i++ {
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	f(0)
	wg.Wait()
}
