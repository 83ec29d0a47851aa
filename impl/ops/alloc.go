package ops

// Buffer reuse at run time.
//
// Kernels allocate their outputs (and large scratch buffers) through the
// Ctx they are handed rather than with tensor.New or make:
//
//	out := ctx.Empty(tensor.Float32, n, c, h, w) // uninitialized: write every element
//	acc := ctx.NewTensor(tensor.Int64, n)        // zero-filled, like tensor.New
//	y := ctx.Output(x.DType, x.Shape, x)         // elementwise output; may reuse x's buffer in place
//	col := ctx.Float32s(k * ohw)                 // scratch (im2col, packing...), uninitialized
//	defer ctx.Release(col)                       // optional: give scratch back before the step ends
//
// When the runtime runs a session it gives each Run its own Arena (arenas
// are pooled per session, so concurrent Runs never share one, and a second
// Run finds the first one's buffers ready). The arena hands out recycled
// buffers and takes them back when the value holding them dies:
//
//   - After every step the runtime binds each output value to the arena
//     blocks its storage lies in (found by address range, so views such as
//     Reshape, Flatten, Squeeze, Identity or a sub-slice keep their base
//     buffer alive) and counts one reference per live value.
//   - A block goes back to the free list when its last referencing value
//     dies (after its last reader), or at the end of the step that
//     allocated it when no output references it (kernel scratch).
//   - Graph outputs are never recycled: a block still referenced when the
//     Run ends leaves the arena with the value and is garbage collected
//     like any Go slice once the caller drops it.
//   - Constants, initializers and caller-fed inputs are never arena blocks,
//     so they are never written to or recycled.
//
// Rules for kernels: never keep an arena tensor (or a slice of one) in
// kernel state beyond the Run call; write every element of what Empty,
// Output and Float32s return (their contents are whatever the buffer held
// before); Release only scratch that no output references. A Ctx without an
// arena (kernels called directly, constant folding, autograd) allocates
// fresh zeroed memory, so the same kernel code runs everywhere.
// FRUGAL_ARENA_POISON=1 fills every handed-out buffer with all-ones bytes
// (NaN, -1), which makes a forgotten element visible in any test; the
// runtime option NoReuse (FRUGAL_NOREUSE=1) turns the arena off.
//
// Switching a kernel over (Conv is the one large allocator left, in
// conv.go): replace
//
//	out := tensor.New(tensor.Float32, g.OutShape(x.Rank())...)
//
// with ctx.Empty when every path writes the whole output (convGemm and
// ConvForward store with beta 0, the residual path copies z in first;
// ResNet-18 and MobileNetV2 give bit-identical outputs with Empty on a
// poisoned arena), or ctx.NewTensor where a path accumulates into it; take
// temporaries such as depthwise's dw from ctx.Float32s and Release them;
// pass ctx down to helpers that allocate (convGeneric, the broadcasting
// FusedConv addend through tensor.BinaryInto into ctx.Empty). Measured on
// ResNet-18: 10 MB of garbage per Run drops to 0.45 MB, and peak RSS no
// longer depends on the GC's pacing (118 MiB with GOGC=100 instead of 208).
//
// In-place outputs: the runtime offers the inputs that die at a step (and
// that no other live value shares) as donors; Output hands one out as the
// output's storage when the kernel names it as a candidate. StorageReuse
// tells the static memory planner (impl/runtime) which ops do this and
// which return views, so that plan and run-time behaviour agree.

import (
	"os"
	"reflect"
	"sort"
	"sync"
	"unsafe"

	"github.com/frugal-ml/frugal/tensor"
)

// poisonArena (FRUGAL_ARENA_POISON=1) fills every buffer Empty, Output and
// Float32s hand out with all-ones bytes, so that a kernel that leaves an
// element unwritten shows up as NaN or -1 in tests.
var poisonArena = os.Getenv("FRUGAL_ARENA_POISON") == "1"

// minPooledBytes is the smallest buffer the arena recycles; smaller ones
// (shapes, scalars, indices) come from the Go heap, where tracking them
// would cost more than it saves.
const minPooledBytes = 1024

// Empty returns a tensor of the given dtype and shape whose contents are
// unspecified: the kernel must write every element. With an arena the
// buffer may be recycled; without one it is freshly allocated (zeroed).
func (c *Ctx) Empty(dt tensor.DType, shape ...int) *tensor.Tensor {
	if c == nil || c.Arena == nil {
		return newTensor(dt, shape...)
	}
	return c.Arena.tensor(dt, shape, false)
}

// NewTensor is Empty with every element zero: the drop-in replacement for
// tensor.New in kernels that accumulate into or only partly write their
// output.
func (c *Ctx) NewTensor(dt tensor.DType, shape ...int) *tensor.Tensor {
	if c == nil || c.Arena == nil {
		return newTensor(dt, shape...)
	}
	return c.Arena.tensor(dt, shape, true)
}

// Output returns an uninitialized output tensor like Empty, but first
// tries to reuse the storage of one of the candidates in place: an input
// tensor of this step whose value dies here, whose buffer nothing else
// references, with the same dtype and element count. Only call it for
// outputs computed elementwise (element i of the output is written after
// element i of every input is read, and no other element of a reused input
// is read afterwards), and do not read a candidate after the output is
// written. Candidates must be the tensors the kernel received in its
// inputs (identity matters).
func (c *Ctx) Output(dt tensor.DType, shape []int, candidates ...*tensor.Tensor) *tensor.Tensor {
	if c == nil || c.Arena == nil {
		return newTensor(dt, shape...)
	}
	if t := c.Arena.takeDonor(dt, shape, candidates); t != nil {
		return t
	}
	return c.Arena.tensor(dt, shape, false)
}

// Float32s returns an uninitialized scratch slice of n float32s, recycled
// when an arena is present. It is released automatically at the end of the
// step unless an output references it; Release gives it back sooner.
func (c *Ctx) Float32s(n int) []float32 {
	if c == nil || c.Arena == nil || n*4 < minPooledBytes {
		return make([]float32, n)
	}
	return c.Arena.tensor(tensor.Float32, []int{n}, false).F32()
}

// Release hands scratch storage (a *tensor.Tensor or a typed slice from
// Empty, NewTensor or Float32s) back to the arena before the step ends. The
// caller promises nothing references it any more. Storage the arena does
// not own, or that a live value references, is left alone.
func (c *Ctx) Release(x any) {
	if c == nil || c.Arena == nil || x == nil {
		return
	}
	if t, ok := x.(*tensor.Tensor); ok {
		x = t.Data
	}
	lo, _, ok := dataRange(x)
	if !ok {
		return
	}
	a := c.Arena
	a.mu.Lock()
	defer a.mu.Unlock()
	if b := a.find(lo); b != nil && b.busy && b.refs == 0 && b.fresh {
		a.recycle(b)
	}
}

// ArenaStats count what an arena did.
type ArenaStats struct {
	Allocs   int64 // buffers handed out (outputs and scratch)
	Reused   int64 // ... of which came from the free list
	InPlace  int64 // outputs written into a dying input's buffer
	Disowned int64 // blocks that left the arena with a live value (graph outputs)
	// InUsePeak is the high-water mark of the bytes of blocks handed out
	// and not yet recycled (a block may be larger than the tensor in it).
	InUsePeak int64
	// Held is the bytes the arena owns when the stats are read (free, kept
	// for the next Run): the run-time counterpart of a memory plan's arena
	// size.
	Held int64
}

// Arena recycles buffers within and across the Runs of one session. It is
// used by one Run at a time (kernels of that Run may call it from several
// goroutines); the runtime drives it with Begin, StartStep, Donate, Bind,
// EndStep, Unbind and Finish.
type Arena struct {
	mu      sync.Mutex
	blocks  []*block // every owned block, sorted by address
	free    []*block // recyclable blocks, sorted by size
	slots   [][]*block
	donors  []*tensor.Tensor
	inUse   int64
	held    int64
	stats   ArenaStats
	broken  bool // an opaque value was produced: stop recycling in this Run
	leaving bool // the current step makes a graph output
}

type block struct {
	mem    []uint64
	lo, hi uintptr
	refs   int32 // live values (slots) referencing the block
	busy   bool  // handed out: not in the free list
	fresh  bool  // handed out during the current step and not yet bound
}

// NewArena returns an empty arena.
func NewArena() *Arena { return &Arena{} }

func (b *block) bytes() int64 { return int64(len(b.mem)) * 8 }

// Begin starts a Run with nslots value slots.
func (a *Arena) Begin(nslots int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if cap(a.slots) < nslots {
		a.slots = make([][]*block, nslots)
	}
	a.slots = a.slots[:nslots]
	a.broken = false
	a.donors = a.donors[:0]
}

// StartStep begins a kernel call: it clears the donor list. leaving says
// that the step makes (a view of) a graph output, whose buffer leaves the
// arena with it: the arena then serves it only with a block of nearly the
// right size, rather than lose a large free block to the caller.
func (a *Arena) StartStep(leaving bool) {
	a.mu.Lock()
	clear(a.donors)
	a.donors = a.donors[:0]
	a.leaving = leaving
	a.mu.Unlock()
}

// Donate offers t, the value of slot, for in-place reuse by the coming
// kernel call. The runtime calls it for inputs that die at this step; the
// arena accepts only a tensor whose storage is one block that no other live
// value references.
func (a *Arena) Donate(slot int, t *tensor.Tensor) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.broken || slot >= len(a.slots) || len(a.slots[slot]) != 1 {
		return
	}
	b := a.slots[slot][0]
	if b.refs != 1 {
		return
	}
	lo, hi, ok := dataRange(t.Data)
	if !ok || lo < b.lo || hi > b.hi {
		return
	}
	for _, d := range a.donors {
		if d == t {
			return
		}
	}
	a.donors = append(a.donors, t)
}

// Bind records that slot now holds v: every arena block v's storage lies in
// gains a reference.
func (a *Arena) Bind(slot int, v Value) {
	if v == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.broken {
		return
	}
	refs := a.slots[slot][:0]
	ok := walkStorage(v, func(lo uintptr) {
		if b := a.find(lo); b != nil {
			for _, r := range refs {
				if r == b {
					return
				}
			}
			refs = append(refs, b)
			b.refs++
			b.fresh = false
		}
	})
	a.slots[slot] = refs
	if !ok {
		// A value whose storage cannot be inspected may reference any
		// block: stop recycling for the rest of this Run.
		a.disownAll()
	}
}

// Unbind records that slot's value died; blocks left without references
// return to the free list.
func (a *Arena) Unbind(slot int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if slot >= len(a.slots) {
		return
	}
	for i, b := range a.slots[slot] {
		b.refs--
		if b.refs == 0 && b.busy && !a.broken {
			a.recycle(b)
		}
		a.slots[slot][i] = nil
	}
	a.slots[slot] = a.slots[slot][:0]
}

// EndStep ends a kernel call: blocks it allocated that no output
// references (scratch) return to the free list.
func (a *Arena) EndStep() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, b := range a.blocks {
		if b.fresh {
			b.fresh = false
			if b.refs == 0 && b.busy && !a.broken {
				a.recycle(b)
			}
		}
	}
	clear(a.donors)
	a.donors = a.donors[:0]
}

// Finish ends a Run. Blocks still referenced (graph outputs) leave the
// arena; free blocks stay for the next Run. It returns the Run's stats.
func (a *Arena) Finish() ArenaStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropBusy()
	clear(a.donors)
	a.donors = a.donors[:0]
	st := a.stats
	st.Held = a.held
	a.stats = ArenaStats{}
	a.inUse = 0
	return st
}

// disownAll forgets every block in use (it stays valid memory for whoever
// references it and is garbage collected later).
func (a *Arena) disownAll() {
	a.dropBusy()
	a.broken = true
}

// dropBusy lets every block in use leave the arena (its holders keep valid
// memory, collected later) and empties the per-slot bindings.
func (a *Arena) dropBusy() {
	keep := a.blocks[:0]
	for _, b := range a.blocks {
		if b.busy {
			a.stats.Disowned++
			a.held -= b.bytes()
			a.inUse -= b.bytes()
			continue
		}
		keep = append(keep, b)
	}
	clear(a.blocks[len(keep):])
	a.blocks = keep
	for i := range a.slots {
		clear(a.slots[i])
		a.slots[i] = a.slots[i][:0]
	}
}

func (a *Arena) recycle(b *block) {
	b.busy, b.fresh = false, false
	a.inUse -= b.bytes()
	i := sort.Search(len(a.free), func(i int) bool { return len(a.free[i].mem) >= len(b.mem) })
	a.free = append(a.free, nil)
	copy(a.free[i+1:], a.free[i:])
	a.free[i] = b
}

// find returns the owned block containing address p, or nil.
func (a *Arena) find(p uintptr) *block {
	i := sort.Search(len(a.blocks), func(i int) bool { return a.blocks[i].hi > p })
	if i < len(a.blocks) && a.blocks[i].lo <= p {
		return a.blocks[i]
	}
	return nil
}

// get hands out a block of at least words 8-byte words.
func (a *Arena) get(words int) *block {
	a.stats.Allocs++
	// Best fit: the smallest free block that holds the request, up to 4x
	// its size (tighter bounds left more blocks idle: with 1.5x ResNet-18
	// held 7.7 MB instead of its 4.0 MB plan, MobileNetV2 15 MB instead of
	// 8.8). A block about to leave with a graph output must fit closely.
	limit := 4*words + 8192
	if a.leaving {
		limit = words + words/8 + 8
	}
	i := sort.Search(len(a.free), func(i int) bool { return len(a.free[i].mem) >= words })
	if i < len(a.free) && len(a.free[i].mem) <= limit && !a.broken {
		b := a.free[i]
		copy(a.free[i:], a.free[i+1:])
		a.free[len(a.free)-1] = nil
		a.free = a.free[:len(a.free)-1]
		b.busy, b.fresh = true, true
		a.stats.Reused++
		a.noteInUse(b.bytes())
		return b
	}
	mem := make([]uint64, words)
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
	b := &block{mem: mem, lo: lo, hi: lo + uintptr(words)*8, busy: true, fresh: true}
	j := sort.Search(len(a.blocks), func(j int) bool { return a.blocks[j].lo > lo })
	a.blocks = append(a.blocks, nil)
	copy(a.blocks[j+1:], a.blocks[j:])
	a.blocks[j] = b
	a.held += b.bytes()
	a.noteInUse(b.bytes())
	return b
}

func (a *Arena) noteInUse(n int64) {
	a.inUse += n
	if a.inUse > a.stats.InUsePeak {
		a.stats.InUsePeak = a.inUse
	}
}

// roundWords rounds a byte count up to whole words, and large requests up
// to 4 KiB so that near-equal sizes share blocks.
func roundWords(bytes int) int {
	if bytes >= 64<<10 {
		bytes = (bytes + 4095) &^ 4095
	} else {
		bytes = (bytes + 63) &^ 63
	}
	return bytes / 8
}

func (a *Arena) tensor(dt tensor.DType, shape []int, zero bool) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return newTensor(dt, shape...) // panics with the usual message
		}
		n *= d
	}
	size := storageSize(dt)
	if size == 0 || n*size < minPooledBytes {
		return newTensor(dt, shape...)
	}
	a.mu.Lock()
	if a.broken {
		a.mu.Unlock()
		return newTensor(dt, shape...)
	}
	b := a.get(roundWords(n * size))
	a.mu.Unlock()
	switch {
	case zero || dt == tensor.Bool:
		clear(b.mem[:(n*size+7)/8])
	case poisonArena:
		for i := range b.mem {
			b.mem[i] = ^uint64(0) // NaN in every float, -1 in every integer
		}
	}
	return &tensor.Tensor{DType: dt, Shape: append([]int(nil), shape...), Data: view(b.mem, dt, n)}
}

func (a *Arena) takeDonor(dt tensor.DType, shape []int, cands []*tensor.Tensor) *tensor.Tensor {
	if len(cands) == 0 {
		return nil
	}
	// A graph output takes a closely fitting block instead: a donor's block
	// would leave the arena with it just the same, whatever its size.
	n := tensor.NumElems(shape)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.leaving {
		return nil
	}
	for i, d := range a.donors {
		if d == nil || d.DType != dt || d.Len() != n {
			continue
		}
		for _, c := range cands {
			if c == d {
				a.donors[i] = nil // at most one output per donor
				a.stats.InPlace++
				return &tensor.Tensor{DType: dt, Shape: append([]int(nil), shape...), Data: d.Data}
			}
		}
	}
	return nil
}

// storageSize is the in-memory element size of dt's storage slice, 0 for
// types the arena does not hold (strings hold pointers).
func storageSize(dt tensor.DType) int {
	switch dt {
	case Float8E8M0, Uint2, Int2:
		return 1
	case tensor.String, tensor.Undefined:
		return 0
	}
	return dt.Size()
}

func viewAs[T any](mem []uint64, n int) []T {
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(mem))), n)
}

// view reinterprets the start of mem as n elements of dt's storage type.
func view(mem []uint64, dt tensor.DType, n int) any {
	switch dt {
	case tensor.Float32:
		return viewAs[float32](mem, n)
	case tensor.Float64:
		return viewAs[float64](mem, n)
	case tensor.Int8, tensor.Int4, Int2:
		return viewAs[int8](mem, n)
	case tensor.Int16:
		return viewAs[int16](mem, n)
	case tensor.Int32:
		return viewAs[int32](mem, n)
	case tensor.Int64:
		return viewAs[int64](mem, n)
	case tensor.Uint16, tensor.Float16, tensor.BFloat16:
		return viewAs[uint16](mem, n)
	case tensor.Uint32:
		return viewAs[uint32](mem, n)
	case tensor.Uint64:
		return viewAs[uint64](mem, n)
	case tensor.Bool:
		return viewAs[bool](mem, n)
	case tensor.Complex64:
		return viewAs[complex64](mem, n)
	case tensor.Complex128:
		return viewAs[complex128](mem, n)
	}
	return viewAs[uint8](mem, n) // uint8 and the 8/4/2-bit raw types
}

func addrRange[T any](s []T) (uintptr, uintptr, bool) {
	if len(s) == 0 {
		return 0, 0, true
	}
	var z T
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return lo, lo + uintptr(len(s))*unsafe.Sizeof(z), true
}

// dataRange is the address range of a tensor storage slice (lo == hi == 0
// for an empty one); ok is false for something that is not a slice.
func dataRange(data any) (lo, hi uintptr, ok bool) {
	switch d := data.(type) {
	case []float32:
		return addrRange(d)
	case []float64:
		return addrRange(d)
	case []int8:
		return addrRange(d)
	case []int16:
		return addrRange(d)
	case []int32:
		return addrRange(d)
	case []int64:
		return addrRange(d)
	case []uint8:
		return addrRange(d)
	case []uint16:
		return addrRange(d)
	case []uint32:
		return addrRange(d)
	case []uint64:
		return addrRange(d)
	case []bool:
		return addrRange(d)
	case []string:
		return addrRange(d)
	case []complex64:
		return addrRange(d)
	case []complex128:
		return addrRange(d)
	case nil:
		return 0, 0, true
	}
	v := reflect.ValueOf(data)
	if v.Kind() != reflect.Slice {
		return 0, 0, false
	}
	if v.Len() == 0 {
		return 0, 0, true
	}
	lo = v.Pointer()
	return lo, lo + uintptr(v.Len())*v.Type().Elem().Size(), true
}

// walkStorage calls f with the start address of every non-empty storage
// slice v holds (a tensor, a sequence's tensors, an optional's content). It
// returns false when v is of a kind it cannot inspect.
func walkStorage(v Value, f func(lo uintptr)) bool {
	switch x := v.(type) {
	case nil:
		return true
	case *tensor.Tensor:
		if x == nil {
			return true
		}
		lo, hi, ok := dataRange(x.Data)
		if !ok {
			return false
		}
		if hi > lo {
			f(lo)
		}
		return true
	case *tensor.Sequence:
		if x == nil {
			return true
		}
		for _, t := range x.Tensors {
			if !walkStorage(t, f) {
				return false
			}
		}
		return true
	case *tensor.Optional:
		if x == nil {
			return true
		}
		return walkStorage(x.Value, f)
	}
	return false
}

// viewOps return (for their first output) a view sharing the storage of
// their first input.
var viewOps = map[string]bool{"Identity": true, "Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true}

// inPlaceOps write their first output through Ctx.Output, reusing a dying
// input of the same size and dtype.
var inPlaceOps = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true, "Relu": true, "BatchNormalization": true,
	"Clip": true, "Elu": true, "Selu": true, "Celu": true, "LeakyRelu": true, "HardSigmoid": true, "ThresholdedRelu": true,
	"Shrink": true, "Gelu": true, "Swish": true, "Softmax": true,
}

func init() {
	for op := range simpleUnary {
		inPlaceOps[op] = true
	}
}

// inPlaceFrugal are frugal-domain ops whose first output may be written
// over one input (by index) that dies at that step: FusedConv's residual
// addend Z (FusedConv's and ConvNHWC's), which the store reads element by
// element before writing it.
var inPlaceFrugal = map[string]int{"FusedConv": 3, "ConvNHWC": 3}

// StorageReuse tells a memory planner how an op's first output may share
// storage at run time: view when it is a view of input 0 (no allocation),
// inPlace when it may be written over an input that dies at that step
// (MayReuseInput says which).
func StorageReuse(domain, op string) (view, inPlace bool) {
	if domain == FrugalDomain {
		_, ok := inPlaceFrugal[op]
		return false, ok
	}
	if domain != "" && domain != "ai.onnx" {
		return false, false
	}
	return viewOps[op], inPlaceOps[op]
}

// MayReuseInput reports whether an in-place op's first output may take
// the storage of its input i (every input, for the elementwise ONNX ops).
func MayReuseInput(domain, op string, i int) bool {
	if domain == FrugalDomain {
		k, ok := inPlaceFrugal[op]
		return ok && k == i
	}
	return true
}
