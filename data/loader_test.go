package data

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"
)

// collect runs one epoch and returns copies of its batches (releasing the
// originals, so pooled buffers are exercised).
func collect(t *testing.T, l *Loader, epoch int) []Batch {
	t.Helper()
	s := l.Start(context.Background(), epoch)
	defer s.Close()
	var out []Batch
	for b := range s.C {
		out = append(out, Batch{X: slices.Clone(b.X), Y: slices.Clone(b.Y), B: b.B, C: b.C, H: b.H, W: b.W,
			Indices: slices.Clone(b.Indices), Epoch: b.Epoch, Index: b.Index})
		b.Release()
	}
	if err := s.Err(); err != nil {
		t.Fatalf("epoch %d: %v", epoch, err)
	}
	return out
}

func TestLoaderEverySampleOncePerEpoch(t *testing.T) {
	d := tinySet(t, 23, 1, 3, 3)
	for _, bs := range []int{1, 4, 5, 23, 30} {
		for _, drop := range []bool{false, true} {
			for _, shuffle := range []bool{false, true} {
				l, err := NewLoader(d, LoaderConfig{BatchSize: bs, DropLast: drop, Shuffle: shuffle, Seed: 3})
				if err != nil {
					t.Fatal(err)
				}
				for epoch := range 2 {
					bat := collect(t, l, epoch)
					if len(bat) != l.NumBatches() {
						t.Fatalf("bs %d drop %v: %d batches, NumBatches %d", bs, drop, len(bat), l.NumBatches())
					}
					seen := make([]int, d.N)
					for i, b := range bat {
						if b.Index != i || b.Epoch != epoch {
							t.Fatalf("batch %d has index %d epoch %d", i, b.Index, b.Epoch)
						}
						if b.B != len(b.Indices) || len(b.X) != b.B*9 || len(b.Y) != b.B {
							t.Fatalf("inconsistent batch: B %d, %d indices, %d values", b.B, len(b.Indices), len(b.X))
						}
						if b.B != bs && !(i == len(bat)-1 && !drop) {
							t.Fatalf("batch %d of size %d with batch size %d", i, b.B, bs)
						}
						for k, idx := range b.Indices {
							seen[idx]++
							// Contents match the dataset sample (no augmentation).
							if b.Y[k] != d.Labels[idx] || !slices.Equal(b.X[k*9:(k+1)*9], d.Image(idx)) {
								t.Fatalf("sample %d in batch %d does not match dataset index %d", k, i, idx)
							}
						}
					}
					total := 0
					for idx, c := range seen {
						total += c
						if c > 1 || (!drop && c != 1) {
							t.Fatalf("bs %d drop %v shuffle %v: sample %d seen %d times", bs, drop, shuffle, idx, c)
						}
					}
					if want := l.NumBatches() * bs; drop && total != want {
						t.Fatalf("dropped epoch has %d samples, want %d", total, want)
					}
					if !shuffle && !slices.IsSorted(flatIndices(bat)) {
						t.Fatal("unshuffled epoch out of order")
					}
				}
			}
		}
	}
}

func flatIndices(bat []Batch) []int {
	var out []int
	for _, b := range bat {
		out = append(out, b.Indices...)
	}
	return out
}

func sameBatches(a, b []Batch) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !slices.Equal(a[i].X, b[i].X) || !slices.Equal(a[i].Y, b[i].Y) || !slices.Equal(a[i].Indices, b[i].Indices) {
			return false
		}
	}
	return true
}

// Same seed -> same batches, bit for bit, whatever the number of workers or
// the prefetch depth; different seeds or epochs -> different orders.
func TestLoaderReproducibleAcrossWorkers(t *testing.T) {
	d := tinySet(t, 50, 2, 5, 5)
	cfg := LoaderConfig{BatchSize: 7, Shuffle: true, Seed: 11, Pad: 2, FlipH: true}
	var ref []Batch
	for _, w := range []int{1, 2, 5} {
		for _, pf := range []int{1, 3, 8} {
			c := cfg
			c.Workers, c.Prefetch = w, pf
			l, err := NewLoader(d, c)
			if err != nil {
				t.Fatal(err)
			}
			got := collect(t, l, 4)
			if ref == nil {
				ref = got
			} else if !sameBatches(ref, got) {
				t.Fatalf("workers %d prefetch %d changed the output", w, pf)
			}
		}
	}
	l, _ := NewLoader(d, cfg)
	if sameBatches(ref, collect(t, l, 5)) {
		t.Fatal("epochs 4 and 5 identical")
	}
	if slices.Equal(l.Order(4), l.Order(5)) {
		t.Fatal("epochs share an order")
	}
	c := cfg
	c.Seed = 12
	l2, _ := NewLoader(d, c)
	if slices.Equal(l.Order(4), l2.Order(4)) {
		t.Fatal("seed ignored")
	}
}

// Hand-made 1x3x3 image, values 1..9:
//
//	1 2 3
//	4 5 6
//	7 8 9
func TestCropFlipByHand(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	fill := []float32{-1}
	dst := make([]float32, 9)
	cases := []struct {
		pad, dy, dx int
		flip        bool
		want        []float32
	}{
		{0, 0, 0, false, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}},      // identity
		{0, 0, 0, true, []float32{3, 2, 1, 6, 5, 4, 9, 8, 7}},       // mirror
		{1, 1, 1, false, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}},      // centred crop = identity
		{1, 0, 0, false, []float32{-1, -1, -1, -1, 1, 2, -1, 4, 5}}, // window at top-left: image moves down-right
		{1, 2, 2, false, []float32{5, 6, -1, 8, 9, -1, -1, -1, -1}}, // window at bottom-right: image moves up-left
		{1, 1, 2, false, []float32{2, 3, -1, 5, 6, -1, 8, 9, -1}},   // shift left by one
		{1, 1, 2, true, []float32{-1, 3, 2, -1, 6, 5, -1, 9, 8}},    // shift left, then mirror
		{2, 0, 4, false, []float32{-1, -1, -1, -1, -1, -1, 3, -1, -1}},
	}
	for _, c := range cases {
		CropFlip(dst, src, 1, 3, 3, c.pad, c.dy, c.dx, c.flip, fill)
		if !slices.Equal(dst, c.want) {
			t.Errorf("pad %d off (%d,%d) flip %v: got %v, want %v", c.pad, c.dy, c.dx, c.flip, dst, c.want)
		}
	}
	// Two channels use their own fill and their own planes.
	src2 := []float32{1, 2, 3, 4, 10, 20, 30, 40} // 2x2x2
	dst2 := make([]float32, 8)
	CropFlip(dst2, src2, 2, 2, 2, 1, 0, 1, true, []float32{-1, -2})
	if want := []float32{-1, -1, 2, 1, -2, -2, 20, 10}; !slices.Equal(dst2, want) {
		t.Errorf("2 channels: got %v, want %v", dst2, want)
	}
}

// The loader's augmentation: every output image is some crop/flip of its
// source with the dataset's normalised black as padding; flips and shifts
// both occur; and with pad 0 and no flip the images pass through untouched.
func TestLoaderAugmentation(t *testing.T) {
	// No pixel is 0, so padding is distinguishable from image content.
	pix := make([]uint8, 40*16)
	for i := range pix {
		pix[i] = uint8(1 + (i*37)%255)
	}
	d, err := FromUint8("aug", 40, 1, 4, 4, pix, make([]uint8, 40), 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Normalize([]float32{0.5}, []float32{0.5}); err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(d, LoaderConfig{BatchSize: 8, Seed: 5, Pad: 1, FlipH: true})
	if err != nil {
		t.Fatal(err)
	}
	fill := []float32{d.ZeroValue(0)}
	if fill[0] != -1 {
		t.Fatalf("ZeroValue = %v", fill[0])
	}
	flips, shifts := 0, 0
	cand := make([]float32, 16)
	for _, b := range collect(t, l, 0) {
		for k, idx := range b.Indices {
			got := b.X[k*16 : (k+1)*16]
			found := false
			for dy := 0; dy <= 2 && !found; dy++ {
				for dx := 0; dx <= 2 && !found; dx++ {
					for _, f := range []bool{false, true} {
						CropFlip(cand, d.Image(idx), 1, 4, 4, 1, dy, dx, f, fill)
						if slices.Equal(cand, got) {
							found = true
							if f {
								flips++
							}
							if dy != 1 || dx != 1 {
								shifts++
							}
							break
						}
					}
				}
			}
			if !found {
				t.Fatalf("sample %d is no crop/flip of its source", idx)
			}
		}
	}
	if flips < 8 || flips > 32 || shifts < 20 {
		t.Fatalf("%d flips and %d shifts in 40 samples", flips, shifts)
	}

	// Over many samples every offset 0..2*pad occurs in both directions.
	big, err := FromUint8("big", 2000, 1, 4, 4, make([]uint8, 2000*16), make([]uint8, 2000), 10)
	if err != nil {
		t.Fatal(err)
	}
	for i := range big.Raw {
		big.Raw[i] = 200
	}
	big.fromRaw()
	l, err = NewLoader(big, LoaderConfig{BatchSize: 100, Seed: 9, Pad: 2})
	if err != nil {
		t.Fatal(err)
	}
	var dyCount, dxCount [5]int
	for _, b := range collect(t, l, 0) {
		for k := range b.B {
			img := b.X[k*16 : (k+1)*16]
			// A constant image padded by zeros: the zero rows/cols reveal
			// the offset. Top rows zero <=> dy < pad, etc.
			zeroRow := func(y int) bool { return slices.Equal(img[y*4:y*4+4], []float32{0, 0, 0, 0}) }
			zeroCol := func(x int) bool { return img[x] == 0 && img[4+x] == 0 && img[8+x] == 0 && img[12+x] == 0 }
			dy, dx := 2, 2
			switch {
			case zeroRow(0) && zeroRow(1):
				dy = 0
			case zeroRow(0):
				dy = 1
			case zeroRow(3) && zeroRow(2):
				dy = 4
			case zeroRow(3):
				dy = 3
			}
			switch {
			case zeroCol(0) && zeroCol(1):
				dx = 0
			case zeroCol(0):
				dx = 1
			case zeroCol(3) && zeroCol(2):
				dx = 4
			case zeroCol(3):
				dx = 3
			}
			dyCount[dy]++
			dxCount[dx]++
		}
	}
	for o := range 5 {
		if dyCount[o] < 300 || dxCount[o] < 300 { // expect 400 each
			t.Fatalf("offset histogram dy %v dx %v, want ~uniform over 0..4", dyCount, dxCount)
		}
	}
}

// goroutinesSettle waits until the goroutine count drops to at most n.
func goroutinesSettle(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutine leak: %d > %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLoaderCancellationAndNoLeaks(t *testing.T) {
	d := tinySet(t, 100, 1, 4, 4)
	l, err := NewLoader(d, LoaderConfig{BatchSize: 3, Shuffle: true, Workers: 3, Prefetch: 2})
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()

	// Leave early with Close.
	s := l.Start(context.Background(), 0)
	b := <-s.C
	b.Release()
	if err := s.Close(); err == nil {
		t.Fatal("early Close reported a complete epoch")
	}
	goroutinesSettle(t, base)

	// Cancel the context while the consumer is not reading.
	ctx, cancel := context.WithCancel(context.Background())
	s = l.Start(ctx, 1)
	<-s.C
	cancel()
	n := 0
	for range s.C { // must close promptly
		n++
	}
	if n > 2+3+3 {
		t.Fatalf("%d batches delivered after cancel", n)
	}
	if err := s.Err(); err != context.Canceled {
		t.Fatalf("Err = %v, want context.Canceled", err)
	}
	s.Close()
	goroutinesSettle(t, base)

	// A context cancelled before Start yields nothing, or very little.
	s = l.Start(ctx, 2)
	for range s.C {
	}
	s.Close()
	goroutinesSettle(t, base)

	// Breaking out of the iterator stops the producers.
	cnt := 0
	for b := range l.Batches(context.Background(), 3) {
		b.Release()
		if cnt++; cnt == 2 {
			break
		}
	}
	goroutinesSettle(t, base)

	// A complete epoch reports no error, even when closed afterwards.
	s = l.Start(context.Background(), 4)
	for b := range s.C {
		b.Release()
	}
	if s.Err() != nil || s.Close() != nil {
		t.Fatalf("complete epoch: %v", s.Err())
	}
	goroutinesSettle(t, base)
}

// Released batches are reused: steady state allocates no new buffers.
func TestLoaderPoolReuse(t *testing.T) {
	d := tinySet(t, 64, 1, 8, 8)
	l, err := NewLoader(d, LoaderConfig{BatchSize: 8, Prefetch: 1})
	if err != nil {
		t.Fatal(err)
	}
	bufs := map[*float32]bool{}
	for epoch := range 5 {
		for b := range l.Batches(context.Background(), epoch) {
			bufs[&b.X[0]] = true
			b.Release()
		}
	}
	if len(bufs) > cap(l.free)+2 {
		t.Fatalf("%d distinct buffers over 40 batches; pool not reused", len(bufs))
	}
}

func TestNewLoaderValidates(t *testing.T) {
	d := tinySet(t, 4, 1, 2, 2)
	for _, c := range []LoaderConfig{{}, {BatchSize: -1}, {BatchSize: 1, Pad: 3}, {BatchSize: 1, Workers: -1}} {
		if _, err := NewLoader(d, c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := NewLoader(nil, LoaderConfig{BatchSize: 1}); err == nil {
		t.Error("nil dataset accepted")
	}
	empty, _ := FromUint8("e", 0, 1, 2, 2, nil, nil, 10)
	l, err := NewLoader(empty, LoaderConfig{BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, l, 0); len(got) != 0 {
		t.Fatalf("empty dataset gave %d batches", len(got))
	}
}

func TestYInt64(t *testing.T) {
	b := &Batch{Y: []uint8{3, 255}}
	if got := b.YInt64(nil); !slices.Equal(got, []int64{3, 255}) {
		t.Fatal(got)
	}
}
